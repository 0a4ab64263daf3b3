// Keys with roles (docs/PROTOCOL.md, "Roles") and the MAC-first rule: a keyed receiver checks the
// MAC before it parses one byte of the body, whatever the body's shape.
#include "wire/auth.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "wire/codec.hpp"
#include "wire/sample_messages.hpp"

namespace baker::wire {
namespace {

Key key_of(std::uint8_t fill) {
  Key k;
  k.fill(fill);
  return k;
}
std::string hex_key(char digit) {
  return std::string(64, digit);
}

// The three kinds of host, holding what their daemons need: watson announce, directory both,
// sherlock publish.
struct Cluster {
  Keyring watson, directory, sherlock;
  Cluster() {
    watson.add(1, key_of(0xa1), true, static_cast<Roles>(Role::announce));
    sherlock.add(2, key_of(0xb2), true, static_cast<Roles>(Role::publish));
    directory.add(1, key_of(0xa1), true, static_cast<Roles>(Role::announce));
    directory.add(2, key_of(0xb2), true, static_cast<Roles>(Role::publish));
  }
};

Message sample_of(MessageType t) {
  for (const auto& m : samples::sample_messages()) {
    if (type_of(m) == t) return m;
  }
  throw std::logic_error("no sample");
}

// ---- roles ----

TEST(Roles, EachMessageTypeHasItsRole) {
  EXPECT_EQ(role_of(MessageType::heartbeat), Role::announce);
  EXPECT_EQ(role_of(MessageType::goodbye), Role::announce);
  for (auto t : {MessageType::subscribe, MessageType::unsubscribe, MessageType::delta,
                 MessageType::tick, MessageType::nack, MessageType::snapshot_chunk,
                 MessageType::retry_later, MessageType::challenge}) {
    EXPECT_EQ(role_of(t), Role::publish) << to_string(t);
  }
  EXPECT_EQ(to_string(Role::announce), "announce");
  EXPECT_EQ(to_string(Role::publish), "publish");
  EXPECT_EQ(to_string(DecodeError::wrong_role), "wrong_role");
  EXPECT_EQ(to_string(DecodeError::unknown_version), "unknown_version");
}

TEST(Roles, EveryMessageRoundTripsBetweenTheHostsThatSendAndReceiveIt) {
  Cluster c;
  for (const auto& m : samples::sample_messages()) {
    const MessageType t = type_of(m);
    const MessageType from_sherlock[] = {MessageType::subscribe, MessageType::unsubscribe,
                                         MessageType::nack};
    const bool announce = role_of(t) == Role::announce;
    const bool sherlock_sends =
        std::find(std::begin(from_sherlock), std::end(from_sherlock), t) != std::end(from_sherlock);
    const Keyring& sender = announce ? c.watson : sherlock_sends ? c.sherlock : c.directory;
    const Keyring& receiver = announce || sherlock_sends ? c.directory : c.sherlock;
    auto d = decode(encode(m, &sender), {&receiver});
    ASSERT_TRUE(d.ok()) << to_string(t) << ": " << to_string(d.error());
    EXPECT_EQ(d.value().message, m);
    EXPECT_EQ(d.value().key_id, announce ? 1u : 2u);
    EXPECT_TRUE(d.value().authenticated);
  }
}

TEST(Roles, AWatsonOnlyRingCannotProduceADeltaTheSherlockAccepts) {
  Cluster c;
  const Message delta = sample_of(MessageType::delta);
  // The encoder refuses outright: the ring has no publish key.
  EXPECT_THROW(encode(delta, &c.watson), std::logic_error);
  // Forged by hand with the announce key (what a compromised watson host can do): the sherlock
  // does not know the key; the directory knows it, but not for publishing.
  Keyring announce_as_if_publish;
  announce_as_if_publish.add(1, key_of(0xa1), true);  // both roles: a lie about key 1
  const Bytes forged = encode(delta, &announce_as_if_publish);
  auto at_sherlock = decode(forged, {&c.sherlock});
  ASSERT_FALSE(at_sherlock.ok());
  EXPECT_EQ(at_sherlock.error(), DecodeError::unknown_key);
  auto at_directory = decode(forged, {&c.directory});
  ASSERT_FALSE(at_directory.ok());
  EXPECT_EQ(at_directory.error(), DecodeError::wrong_role);
}

TEST(Roles, AHeartbeatMadeWithAPublishKeyIsWrongRole) {
  Cluster c;
  Keyring publish_both;
  publish_both.add(2, key_of(0xb2), true);
  auto d = decode(encode(sample_of(MessageType::heartbeat), &publish_both), {&c.directory});
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error(), DecodeError::wrong_role);
  // The same bytes with a forged MAC are bad_mac: wrong_role is only ever a key holder's doing.
  Keyring stranger;
  stranger.add(2, key_of(0x00), true);
  auto f = decode(encode(sample_of(MessageType::heartbeat), &stranger), {&c.directory});
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error(), DecodeError::bad_mac);
}

TEST(Roles, SenderUsesThePrimaryOfTheMessagesRole) {
  Keyring ring;
  ring.add(1, key_of(1), true, static_cast<Roles>(Role::announce));
  ring.add(2, key_of(2), false, static_cast<Roles>(Role::announce));
  ring.add(3, key_of(3), false, static_cast<Roles>(Role::publish));  // the only publish key
  EXPECT_EQ(ring.primary_id(Role::announce), 1u);
  EXPECT_EQ(ring.primary_id(Role::publish), 3u);
  EXPECT_EQ(decode(encode(sample_of(MessageType::goodbye), &ring)).value().key_id, 1u);
  EXPECT_EQ(decode(encode(sample_of(MessageType::tick), &ring)).value().key_id, 3u);
}

TEST(Roles, EncodingWithoutAKeyOfTheRoleThrowsWithoutKeysItIsPlain) {
  Keyring sherlock;
  sherlock.add(2, key_of(2), true, static_cast<Roles>(Role::publish));
  try {
    encode(sample_of(MessageType::heartbeat), &sherlock);
    ADD_FAILURE() << "no throw";
  } catch (const std::logic_error& e) {
    EXPECT_STREQ(e.what(), "keyring holds no announce key to authenticate a heartbeat");
  }
  EXPECT_EQ(decode(encode(sample_of(MessageType::heartbeat), nullptr)).value().key_id, 0u);
}

// ---- key file ----

TEST(KeyFileRoles, RoleWordsInAnyOrderAndEachRolesPrimary) {
  std::string err;
  auto k = Keyring::parse("1 " + hex_key('a') + " announce\n" +             // the only announce key
                              "2 " + hex_key('b') + " publish primary\n" +  // marked
                              "3 " + hex_key('c') + " publish\n" +          // next publish key
                              "4 " + hex_key('d') + "\n",                   // both roles
                          &err);
  ASSERT_FALSE(k) << "4 holds announce too: two announce keys, none marked";
  EXPECT_EQ(err, "key file holds several announce keys but none is marked primary");
  k = Keyring::parse("1 " + hex_key('a') + " announce\n" + "2 " + hex_key('b') +
                         " publish primary\n" + "3 " + hex_key('c') + " publish\n",
                     &err);
  ASSERT_TRUE(k) << err;
  EXPECT_EQ(k->primary_id(Role::announce), 1u);
  EXPECT_EQ(k->primary_id(Role::publish), 2u);
  EXPECT_EQ(k->entry(1)->roles, static_cast<Roles>(Role::announce));
  EXPECT_EQ(k->entry(3)->roles, static_cast<Roles>(Role::publish));
  EXPECT_EQ(k->entry(9), nullptr);
}

TEST(KeyFileRoles, NoRoleWordMeansBothAndPrimaryMarksEachOfItsRoles) {
  std::string err;
  auto k = Keyring::parse("5 " + hex_key('a') + "\n6 " + hex_key('b') + " primary\n", &err);
  ASSERT_TRUE(k) << err;
  EXPECT_EQ(k->entry(5)->roles, kAllRoles);
  EXPECT_EQ(k->primary_id(Role::announce), 6u);
  EXPECT_EQ(k->primary_id(Role::publish), 6u);
  EXPECT_TRUE(k->has_role(Role::announce));
  EXPECT_TRUE(k->has_role(Role::publish));
}

TEST(KeyFileRoles, ARingOfOneRoleLacksTheOther) {
  std::string err;
  auto k = Keyring::parse("7 " + hex_key('a') + " publish\n", &err);
  ASSERT_TRUE(k) << err;
  EXPECT_FALSE(k->has_role(Role::announce));
  EXPECT_FALSE(k->primary_id(Role::announce));
  EXPECT_EQ(k->primary_id(Role::publish), 7u);
  EXPECT_EQ(k->primary_id(), 7u) << "the log line's primary: publish when there is no announce";
}

TEST(KeyFileRoles, RejectsBadRoleWordsWithLineNumbers) {
  const std::string key = hex_key('a');
  const std::pair<std::string, std::string> cases[] = {
      {"1 " + key + " publish publish\n", "key file line 1: 'publish' given twice"},
      {"1 " + key + " primary announce primary\n", "key file line 1: 'primary' given twice"},
      {"# c\n1 " + key + " watson\n",
       "key file line 2: unknown word 'watson' (expected primary, announce or publish)"},
      {"1 " + key + " Publish\n",
       "key file line 1: unknown word 'Publish' (expected primary, announce or publish)"},
      {"1 " + key + " primary publish\n2 " + key + " publish primary\n",
       "key file line 2: a second primary publish key (the first is on line 1)"},
      {"1 " + key + " primary\n2 " + key + " announce primary\n",
       "key file line 2: a second primary announce key (the first is on line 1)"},
      {"1 " + key + " publish\n2 " + key + " publish\n",
       "key file holds several publish keys but none is marked primary"},
      {"1 " + key + "\n2 " + key + "\n", "key file holds several keys but none is marked primary"},
      {"1 " + key + " primary announce publish x\n",
       "key file line 1: expected '<id> <64 hex digits> [primary] [announce|publish]'"},
  };
  for (const auto& [text, want] : cases) {
    std::string err;
    EXPECT_FALSE(Keyring::parse(text, &err)) << text;
    EXPECT_EQ(err, want);
  }
  // One primary per role: an announce primary and a publish primary on different lines is fine.
  std::string err;
  EXPECT_TRUE(
      Keyring::parse("1 " + key + " primary announce\n2 " + key + " publish primary\n", &err))
      << err;
  EXPECT_TRUE(Keyring::parse("1 " + key + " publish announce\n", &err)) << "both words: both";
}

// ---- MAC first ----

// Raw datagram pieces: [2, type, key_id, <body bytes as given>, <tail as given>].
Bytes keyed_envelope(std::uint8_t type, std::uint32_t key_id, const Bytes& body,
                     const Bytes& tail) {
  Bytes b = {0x95,
             kProtocolVersion,
             type,
             0xce,
             static_cast<std::uint8_t>(key_id >> 24),
             static_cast<std::uint8_t>(key_id >> 16),
             static_cast<std::uint8_t>(key_id >> 8),
             static_cast<std::uint8_t>(key_id)};
  b.insert(b.end(), body.begin(), body.end());
  b.insert(b.end(), tail.begin(), tail.end());
  return b;
}
Bytes mac_field(const Mac& mac) {
  Bytes b = {0xc4, static_cast<std::uint8_t>(kMacSize)};
  b.insert(b.end(), mac.begin(), mac.end());
  return b;
}
// Bytes no msgpack parser accepts (0xc1 is never used): parsing them would give `malformed`.
const Bytes kGarbageBody(40, 0xc1);

TEST(MacFirst, AFiveFieldDatagramWithoutAMacTrailerIsMissingMac) {
  Cluster c;
  const Bytes tails[] = {
      {},               // nothing after the body
      Bytes(18, 0x00),  // 18 bytes, not a bin8 header
      {0xc4, 15, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},        // bin8 of 15 + 1
      {0xc5, 0x00, 16, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},  // bin16 of 16
  };
  for (const auto& tail : tails) {
    auto d = decode(keyed_envelope(5, 2, kGarbageBody, tail), {&c.sherlock});
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.error(), DecodeError::missing_mac) << tail.size();
  }
  // Too short to hold a MAC field at all.
  auto d = decode(Bytes{0x95, kProtocolVersion, 5, 2, 0xc4, 0x10, 1, 2, 3}, {&c.sherlock});
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error(), DecodeError::missing_mac);
}

TEST(MacFirst, AFourFieldDatagramIsMissingMacWhateverItsBody) {
  Cluster c;
  Bytes garbage = {0x94, kProtocolVersion, 5, 0x00};
  garbage.insert(garbage.end(), kGarbageBody.begin(), kGarbageBody.end());
  for (const Bytes& b : {garbage, encode(sample_of(MessageType::delta))}) {
    auto d = decode(b, {&c.sherlock});
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.error(), DecodeError::missing_mac);
  }
}

TEST(MacFirst, AGarbageBodyWithAWrongMacIsBadMacNotMalformed) {
  Cluster c;
  for (std::uint8_t type = 1; type <= 10; ++type) {
    auto d = decode(keyed_envelope(type, 2, kGarbageBody, mac_field(Mac{})), {&c.directory});
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.error(), DecodeError::bad_mac) << "type " << +type;
    auto u = decode(keyed_envelope(type, 9, kGarbageBody, mac_field(Mac{})), {&c.directory});
    ASSERT_FALSE(u.ok());
    EXPECT_EQ(u.error(), DecodeError::unknown_key) << "type " << +type;
  }
}

TEST(MacFirst, AGarbageBodyIsParsedOnlyOnceItsMacIsRight) {
  // The same garbage with a genuine MAC (a key holder's bug) reaches the parser: now malformed.
  // Together with the test above: the MAC decided before any body byte was read.
  Cluster c;
  const Key& publish = *c.directory.find(2);
  const Bytes head =
      keyed_envelope(5, 2, kGarbageBody, {0xc4, static_cast<std::uint8_t>(kMacSize)});
  Bytes good = head;
  const Mac mac = compute_mac(publish, good);
  good.insert(good.end(), mac.begin(), mac.end());
  auto d = decode(good, {&c.directory});
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error(), DecodeError::malformed);
  // And with an announce key's genuine MAC on a publish type: wrong_role, still unparsed.
  Bytes announce = keyed_envelope(5, 1, kGarbageBody, {0xc4, static_cast<std::uint8_t>(kMacSize)});
  const Mac amac = compute_mac(*c.directory.find(1), announce);
  announce.insert(announce.end(), amac.begin(), amac.end());
  auto w = decode(announce, {&c.directory});
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error(), DecodeError::wrong_role);
}

TEST(MacFirst, EveryCutOfEveryKeyedMessageIsRefusedBeforeParsing) {
  // A cut datagram has lost its MAC trailer (or has garbage where it ends): missing_mac or
  // bad_mac, never a parse error, for every message and every cut but the envelope head's.
  Cluster c;
  for (const auto& m : samples::sample_messages()) {
    const bool announce = role_of(type_of(m)) == Role::announce;
    const Bytes full = encode(m, announce ? &c.watson : &c.directory);
    for (std::size_t n = 8; n < full.size(); ++n) {  // 8: past [v, type, key id (uint32)]
      auto d = decode(std::span(full.data(), n), {&c.directory});
      ASSERT_FALSE(d.ok());
      EXPECT_TRUE(d.error() == DecodeError::missing_mac || d.error() == DecodeError::bad_mac)
          << to_string(type_of(m)) << " cut at " << n << ": " << to_string(d.error());
    }
  }
}

}  // namespace
}  // namespace baker::wire
