#include "common/json.hpp"

#include <gtest/gtest.h>

namespace baker {
namespace {

TEST(Json, QuotesAndBackslashesAreEscaped) {
  EXPECT_EQ(json_string("plain"), "\"plain\"");
  EXPECT_EQ(json_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(json_string(""), "\"\"");
}

TEST(Json, ControlCharactersAreEscaped) {
  EXPECT_EQ(json_string("\n\t\r\b\f"), "\"\\n\\t\\r\\b\\f\"");
  EXPECT_EQ(json_string(std::string_view("\x00\x01\x1f", 3)), "\"\\u0000\\u0001\\u001f\"");
  EXPECT_EQ(json_string("\x7f"), "\"\\u007f\"");
  EXPECT_EQ(json_string("a\"b\\c\n\x01\xff"), "\"a\\\"b\\\\c\\n\\u0001\\u00ff\"");
}

TEST(Json, ValidUtf8PassesThrough) {
  EXPECT_EQ(json_string("caf\xc3\xa9"), "\"caf\xc3\xa9\"");            // U+00E9
  EXPECT_EQ(json_string("\xe2\x82\xac"), "\"\xe2\x82\xac\"");          // U+20AC
  EXPECT_EQ(json_string("\xf0\x9f\x8d\xb0"), "\"\xf0\x9f\x8d\xb0\"");  // U+1F370
  EXPECT_EQ(json_string("\xf4\x8f\xbf\xbf"), "\"\xf4\x8f\xbf\xbf\"");  // U+10FFFF
}

TEST(Json, InvalidUtf8BytesAreShownByValue) {
  EXPECT_EQ(json_string("\xc3"), "\"\\u00c3\"") << "truncated sequence";
  EXPECT_EQ(json_string("\xc3(a"), "\"\\u00c3(a\"");
  EXPECT_EQ(json_string("\x80"), "\"\\u0080\"") << "lone continuation byte";
  EXPECT_EQ(json_string("\xc0\xaf"), "\"\\u00c0\\u00af\"") << "overlong '/'";
  EXPECT_EQ(json_string("\xed\xa0\x80"), "\"\\u00ed\\u00a0\\u0080\"") << "surrogate";
  EXPECT_EQ(json_string("\xf4\x90\x80\x80"), "\"\\u00f4\\u0090\\u0080\\u0080\"")
      << "above U+10FFFF";
  EXPECT_EQ(json_string("\xe2\x82"), "\"\\u00e2\\u0082\"");
}

TEST(Json, AppendsToWhatIsThere) {
  std::string out = "{\"k\":";
  append_json_string(out, "v\"");
  EXPECT_EQ(out, "{\"k\":\"v\\\"\"");
}

}  // namespace
}  // namespace baker
