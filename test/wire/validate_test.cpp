#include "wire/validate.hpp"

#include <gtest/gtest.h>

#include "wire/address.hpp"

namespace baker::wire {
namespace {

TEST(Validate, ServiceNamesAsBakerStreetHadThem) {
  for (const char* ok : {"a", "_", "greeting", "my-svc_2", "_internal", "z9"}) {
    EXPECT_TRUE(is_valid_service_name(ok)) << ok;
  }
  EXPECT_TRUE(is_valid_service_name(std::string(100, 'a')));
  for (const char* bad : {"", "9a", "-a", "A", "aB", "a.b", "a b", "a/b", "é"}) {
    EXPECT_FALSE(is_valid_service_name(bad)) << bad;
  }
  EXPECT_FALSE(is_valid_service_name(std::string(101, 'a')));
}

TEST(Validate, InstanceIdsAndTags) {
  EXPECT_TRUE(is_valid_instance_id("10.0.0.1:8080"));
  EXPECT_TRUE(is_valid_instance_id("Web-01.prod_a"));
  EXPECT_FALSE(is_valid_instance_id(""));
  EXPECT_FALSE(is_valid_instance_id("a/b"));
  EXPECT_FALSE(is_valid_instance_id(std::string(65, 'a')));
  EXPECT_TRUE(is_valid_tag("zone=eu-1"));
  EXPECT_FALSE(is_valid_tag("has space"));
  EXPECT_FALSE(is_valid_tag(std::string(65, 't')));
}

TEST(IpAddress, ParsesAndPrintsBothFamilies) {
  EXPECT_EQ(IpAddress::parse("127.0.0.1")->to_string(), "127.0.0.1");
  EXPECT_EQ(IpAddress::parse("127.0.0.1")->size(), 4u);
  EXPECT_EQ(IpAddress::parse("::1")->to_string(), "::1");
  EXPECT_EQ(IpAddress::parse("::1")->size(), 16u);
  for (const char* bad :
       {"", "localhost", "999.1.1.1", "1.2.3", "1.2.3.4:80", "fe80::1%lo", "::g"}) {
    EXPECT_FALSE(IpAddress::parse(bad)) << bad;
  }
}

// Found by watson_config_fuzz: inet_pton stops at a NUL, so "::" followed by NUL and anything
// parsed as "::" and its text no longer read back.
TEST(IpAddress, TextWithANulInsideIsRefused) {
  EXPECT_FALSE(IpAddress::parse(std::string_view("::\0]", 4)));
  EXPECT_FALSE(IpAddress::parse(std::string_view("10.0.0.1\0x", 10)));
  EXPECT_FALSE(IpAddress::parse(std::string_view("::1 ", 4)));
}

}  // namespace
}  // namespace baker::wire
