#include "wire/validate.hpp"

#include <gtest/gtest.h>

#include "wire/address.hpp"
#include "wire/sample_messages.hpp"

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

// The v2 rules of validate.cpp, one message changed at a time from a valid sample.
template <typename T>
T sample() {
  for (const auto& m : samples::sample_messages()) {
    if (const T* t = std::get_if<T>(&m)) return *t;
  }
  return T{};
}
template <typename T, typename F>
std::optional<DecodeError> with(F change) {
  T m = sample<T>();
  EXPECT_FALSE(validate(Message{m}).has_value()) << "the sample itself is valid";
  change(m);
  return validate(Message{m});
}
constexpr auto kBad = DecodeError::invalid_value;

TEST(Validate, WatsonDatagramsNeedIncarnationAndSentMs) {
  EXPECT_EQ(with<Heartbeat>([](auto& m) { m.incarnation = 0; }), kBad);
  EXPECT_EQ(with<Heartbeat>([](auto& m) { m.sent_ms = 0; }), kBad);
  EXPECT_EQ(with<Goodbye>([](auto& m) { m.incarnation = 0; }), kBad);
  EXPECT_EQ(with<Goodbye>([](auto& m) { m.sent_ms = 0; }), kBad);
  EXPECT_EQ(with<Heartbeat>([](auto& m) { m.seq = 0; }), std::nullopt) << "seq is the core's";
}

TEST(Validate, RequestsNeedASubscriberAndANonce) {
  EXPECT_EQ(with<Subscribe>([](auto& m) { m.nonce = 0; }), kBad);
  EXPECT_EQ(with<Subscribe>([](auto& m) { m.subscriber_id = 0; }), kBad);
  EXPECT_EQ(with<Unsubscribe>([](auto& m) { m.nonce = 0; }), kBad);
  EXPECT_EQ(with<Unsubscribe>([](auto& m) { m.subscriber_id = 0; }), kBad);
  EXPECT_EQ(with<Nack>([](auto& m) { m.nonce = 0; }), kBad);
  EXPECT_EQ(with<Nack>([](auto& m) { m.subscriber_id = 0; }), kBad);
}

TEST(Validate, CookiesAreAtMost64BytesAndAChallengeAlwaysCarriesOne) {
  EXPECT_EQ(with<Subscribe>([](auto& m) { m.cookie.assign(64, 1); }), std::nullopt);
  EXPECT_EQ(with<Subscribe>([](auto& m) { m.cookie.clear(); }), std::nullopt) << "none yet";
  EXPECT_EQ(with<Subscribe>([](auto& m) { m.cookie.assign(65, 1); }), DecodeError::limit_exceeded);
  EXPECT_EQ(with<Challenge>([](auto& m) { m.cookie.assign(64, 1); }), std::nullopt);
  EXPECT_EQ(with<Challenge>([](auto& m) { m.cookie.assign(65, 1); }), DecodeError::limit_exceeded);
  EXPECT_EQ(with<Challenge>([](auto& m) { m.cookie.clear(); }), kBad);
  EXPECT_EQ(with<Challenge>([](auto& m) { m.nonce = 0; }), kBad);
  EXPECT_EQ(with<Challenge>([](auto& m) { m.subscriber_id = 0; }), kBad);
}

TEST(Validate, TheGroupStreamAnswersNoRequest) {
  // subscriber 0 (the multicast group) with a nonce is no datagram a directory sends.
  EXPECT_EQ(with<Delta>([](auto& m) { m.subscriber_id = 0; }), kBad);
  EXPECT_EQ(with<Delta>([](auto& m) { m.subscriber_id = 0, m.nonce = 0; }), std::nullopt);
  EXPECT_EQ(with<Delta>([](auto& m) { m.nonce = 0; }), std::nullopt) << "a filtered live stream";
  EXPECT_EQ(with<Tick>([](auto& m) { m.nonce = 5; }), kBad);
  EXPECT_EQ(with<Tick>([](auto& m) { m.subscriber_id = 3, m.nonce = 5; }), std::nullopt);
}

TEST(Validate, AnswersAlwaysNameTheSubscriberAndTheRequest) {
  EXPECT_EQ(with<SnapshotChunk>([](auto& m) { m.nonce = 0; }), kBad);
  EXPECT_EQ(with<SnapshotChunk>([](auto& m) { m.subscriber_id = 0; }), kBad);
  EXPECT_EQ(with<SnapshotChunk>([](auto& m) { m.subscriber_id = 0, m.nonce = 0; }), kBad);
  EXPECT_EQ(with<RetryLater>([](auto& m) { m.nonce = 0; }), kBad);
  EXPECT_EQ(with<RetryLater>([](auto& m) { m.subscriber_id = 0, m.nonce = 0; }), kBad);
}

TEST(Validate, ASnapshotCarriesOneVersionPerRouteOrNone) {
  EXPECT_EQ(with<SnapshotChunk>([](auto& m) { m.versions.clear(); }), std::nullopt)
      << "none: every version unknown";
  EXPECT_EQ(with<SnapshotChunk>([](auto& m) { m.versions.pop_back(); }), kBad);
  EXPECT_EQ(with<SnapshotChunk>([](auto& m) { m.versions.push_back({}); }), kBad);
  EXPECT_EQ(with<SnapshotChunk>([](auto& m) { m.routes.clear(); }), kBad) << "versions, no routes";
  EXPECT_EQ(with<SnapshotChunk>([](auto& m) { m.routes.clear(), m.versions.clear(); }),
            std::nullopt);
}

TEST(Validate, ARemovalIsExpiredOrGoodbye) {
  EXPECT_EQ(with<Delta>([](auto& m) { m.ops.back().removal = static_cast<Removal>(2); }), kBad);
  EXPECT_EQ(with<Delta>([](auto& m) { m.ops.back().removal = Removal::goodbye; }), std::nullopt);
  EXPECT_EQ(with<Delta>([](auto& m) { m.ops.back().version = {}; }), std::nullopt)
      << "{0, 0}: unknown, allowed";
}

TEST(Validate, EpochsAreNeverZero) {
  EXPECT_EQ(with<Delta>([](auto& m) { m.epoch = 0; }), kBad);
  EXPECT_EQ(with<Tick>([](auto& m) { m.epoch = 0; }), kBad);
  EXPECT_EQ(with<Nack>([](auto& m) { m.epoch = 0; }), kBad);
  EXPECT_EQ(with<SnapshotChunk>([](auto& m) { m.epoch = 0; }), kBad);
  EXPECT_EQ(with<RetryLater>([](auto& m) { m.epoch = 0; }), kBad);
}

}  // namespace
}  // namespace baker::wire
