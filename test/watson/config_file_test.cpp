#include "watson/config_file.hpp"

#include <gtest/gtest.h>

#include "config_examples.hpp"

namespace baker::watson {
namespace {

using examples::kBakerStreetStyle;

TEST(ConfigFile, ReadsBakerStreetStyle) {
  const auto r = parse_config_text(kBakerStreetStyle);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& e = r.value();
  ASSERT_EQ(e.size(), 6u);
  EXPECT_EQ(e[0].name, "directory_host");
  EXPECT_EQ(e[0].value, "10.1.2.3");
  EXPECT_EQ(e[0].line, 2);
  EXPECT_EQ(e[1].name, "service_name");
  EXPECT_EQ(e[1].value, "foo");
  EXPECT_EQ(e[1].line, 6);
  EXPECT_EQ(e[2].value, "http://localhost:5001/health") << "':' inside the value is kept";
  EXPECT_EQ(e[3].name, "period");
  EXPECT_EQ(e[3].value, "3");
  EXPECT_EQ(e[4].value, "DEBUG");
  EXPECT_EQ(e[5].value, "http://localhost:9000/foobar");
}

TEST(ConfigFile, EqualsSignsQuotesAndHyphenatedNames) {
  const auto r = parse_config_text(
      "service-name = bar\r\nexec_check = \"test -f /tmp/x && echo a=b\"\ntags: 'a,b'\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& e = r.value();
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0].name, "service-name");
  EXPECT_EQ(e[0].value, "bar");
  EXPECT_EQ(e[1].value, "test -f /tmp/x && echo a=b");
  EXPECT_EQ(e[2].value, "a,b");
}

TEST(ConfigFile, TheFirstSeparatorSplitsNameFromValue) {
  const auto r = parse_config_text("service_url = http://10.0.0.1:80\nhealth_check_url: a=b\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value()[0].value, "http://10.0.0.1:80");
  EXPECT_EQ(r.value()[1].value, "a=b");
}

TEST(ConfigFile, ErrorsNameTheLine) {
  auto r = parse_config_text("service_name: foo\n\njust some words\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().line, 3);
  EXPECT_NE(r.error().message.find("name: value"), std::string::npos);

  r = parse_config_text("[Watson\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().line, 1);

  r = parse_config_text("a: 1\n  continued\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().line, 2);

  r = parse_config_text(": value\n");
  ASSERT_FALSE(r.ok());

  r = parse_config_text("bad name: 1\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("bad name"), std::string::npos);
}

TEST(ConfigFile, UnexpandedTemplatePlaceholdersAreRejected) {
  const auto r = parse_config_text("[Datawire]\ndirectory_host = ${directory_host}\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().line, 2);
  EXPECT_NE(r.error().message.find("placeholder"), std::string::npos);
}

TEST(ConfigFile, EmptyTextHasNoEntries) {
  const auto r = parse_config_text("");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.value().empty());
  EXPECT_TRUE(parse_config_text("; only\n# comments\n\n").value().empty());
}

}  // namespace
}  // namespace baker::watson
