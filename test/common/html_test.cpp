#include "common/html.hpp"

#include <gtest/gtest.h>

namespace baker {
namespace {

TEST(Html, EscapesEveryCharacterThatCouldOpenMarkup) {
  EXPECT_EQ(html("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
  EXPECT_EQ(html("plain-name_1.2:3"), "plain-name_1.2:3");
}

TEST(Html, QueryIsDecodedBoundedAndThePathIgnored) {
  const auto q = parse_query("/x?page=2&service=web%2Dapi&empty=&flag&a+b=c+d&page=3");
  EXPECT_EQ(q.at("page"), "3");  // later wins
  EXPECT_EQ(q.at("service"), "web-api");
  EXPECT_EQ(q.at("empty"), "");
  EXPECT_EQ(q.at("flag"), "");
  EXPECT_EQ(q.at("a b"), "c d");
  EXPECT_TRUE(parse_query("/").empty());
  EXPECT_EQ(parse_query("/?s=%zz%4").at("s"), "%zz%4");  // a bad escape stays as written

  std::string many = "/?";
  for (int i = 0; i < 100; ++i) many += "k" + std::to_string(i) + "=v&";
  EXPECT_EQ(parse_query(many).size(), 16u);
  EXPECT_EQ(parse_query("/?long=" + std::string(10'000, 'x')).at("long").size(), 256u);
}

TEST(Html, PageNumbersAreOneToABillionOrRefused) {
  EXPECT_EQ(page_number({}), 1u);
  EXPECT_EQ(page_number({{"page", "7"}}), 7u);
  EXPECT_EQ(page_number({{"page", "1000000000"}}), 1'000'000'000u);
  for (const char* bad :
       {"0", "-1", "", "1e3", "abc", "1000000001", "99999999999999999999", " 2", "2 "}) {
    EXPECT_FALSE(page_number({{"page", bad}})) << bad;
  }
}

TEST(Html, TablesSayWhenTheyAreCapped) {
  std::string out;
  HtmlTable t(out, {"a", "b<"});
  t.row({"1", "<2>"});
  t.finish(1, 12345, "routes");
  EXPECT_NE(out.find("<th>b&lt;</th>"), std::string::npos) << out;
  EXPECT_NE(out.find("<td>&lt;2&gt;</td>"), std::string::npos) << out;
  EXPECT_NE(out.find("Showing 1 of 12,345 routes."), std::string::npos) << out;

  std::string whole;
  HtmlTable u(whole, {"a"});
  u.finish(3, 3, "rows");
  EXPECT_EQ(whole.find("Showing"), std::string::npos);
}

TEST(Html, PageRefreshesItselfAndFetchesNothing) {
  HtmlPage page("t<", 5);
  page.banner("warn", "<b>");
  const auto text = page.finish();
  EXPECT_NE(text.find("<meta http-equiv=\"refresh\" content=\"5\">"), std::string::npos);
  EXPECT_NE(text.find("<title>t&lt;</title>"), std::string::npos);
  EXPECT_NE(text.find("<div class=\"banner warn\">&lt;b&gt;</div>"), std::string::npos);
  EXPECT_EQ(text.find("http://"), std::string::npos);  // no CDN, no external anything
  EXPECT_EQ(text.find("https://"), std::string::npos);
  EXPECT_EQ(text.find("<script"), std::string::npos);
}

TEST(Html, NumbersAndDurationsReadAtAGlance) {
  EXPECT_EQ(group_digits(0), "0");
  EXPECT_EQ(group_digits(999), "999");
  EXPECT_EQ(group_digits(1000), "1,000");
  EXPECT_EQ(group_digits(1234567), "1,234,567");
  EXPECT_EQ(short_duration_ms(850), "850ms");
  EXPECT_EQ(short_duration_ms(12'340), "12.3s");
  EXPECT_EQ(short_duration_ms(200'000), "3m 20s");
  EXPECT_EQ(short_duration_ms(7'500'000), "2h 05m");
  EXPECT_EQ(short_duration_ms(3 * 86'400'000LL + 4 * 3'600'000LL), "3d 4h");
  EXPECT_EQ(short_duration_ms(-1500), "-1.5s");
}

}  // namespace
}  // namespace baker
