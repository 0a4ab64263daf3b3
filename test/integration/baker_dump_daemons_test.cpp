// baker-dump on real daemons: a watson heartbeats to a directory on loopback (small interval), a
// subscriber (this test's socket) follows the directory, the watson leaves with Goodbyes;
// baker-dump records it all with -i lo -w, and the capture is decoded and checked field by field.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <set>

#include "dump_test_support.hpp"
#include "json_value.hpp"
#include "process.hpp"
#include "wire/codec.hpp"

namespace baker::dump {
namespace {

using namespace std::chrono_literals;
using namespace baker::testing;

// The JSON objects printed so far by a --json child (its log also holds stderr lines).
std::vector<JsonValue> json_lines(const std::string& log) {
  std::vector<JsonValue> out;
  // Only whole lines: the child may be in the middle of writing the last one.
  std::stringstream ss(log.substr(0, log.rfind('\n') + 1));
  std::string line;
  while (std::getline(ss, line)) {
    if (!line.empty() && line.front() == '{') out.push_back(parse_json(line));
  }
  return out;
}

int count_type(const std::vector<JsonValue>& rows, const std::string& type) {
  int n = 0;
  for (const auto& r : rows) n += r.has("type") && r["type"].str() == type;
  return n;
}

bool has_delta_op(const std::vector<JsonValue>& rows, const std::string& op) {
  for (const auto& r : rows) {
    if (!r.has("type") || r["type"].str() != "delta") continue;
    for (const auto& o : r["ops"].items) {
      if (o["op"].str() == op) return true;
    }
  }
  return false;
}

TEST(BakerDumpDaemons, RecordsWatsonAndDirectoryAndDecodesThem) {
  if (geteuid() != 0) GTEST_SKIP() << "capturing on lo needs root";
  setenv("TZ", "UTC", 1);
  TempDir dir;
  const std::uint16_t directory_port = baker::testing::free_udp_port();
  const std::uint16_t service_port = baker::testing::free_tcp_port();
  const std::string capture_file = dir.file("daemons.pcap");
  const std::string instance = "127.0.0.1:" + std::to_string(service_port);

  ChildProcess capture({bin("baker-dump"), "-i", "lo", "--port", std::to_string(directory_port),
                        "-w", capture_file, "--print", "--json"},
                       dir.file("capture.log"));
  ASSERT_TRUE(
      wait_until([&] { return capture.log().find("listening on lo") != std::string::npos; }, 5s))
      << capture.log();

  ChildProcess directory(
      {bin("directory"), "--listen", "127.0.0.1:" + std::to_string(directory_port), "--metrics",
       "off", "--tick-interval", "100ms", "--warmup-max", "300ms"},
      dir.file("directory.log"));
  // The subscriber: this test, following every service.
  UdpSocket subscriber;
  // A fresh nonce per Subscribe; a Challenge's cookie is sent back (protocol v2).
  wire::Subscribe subscribe{.subscriber_id = 0x5eb};
  ASSERT_TRUE(wait_until(
      [&] {
        ++subscribe.nonce;
        subscriber.send_to(wire::encode(subscribe), "127.0.0.1", directory_port);
        const auto reply = subscriber.receive(100ms);
        if (!reply) return false;
        const auto d = wire::decode(*reply);
        if (!d.ok()) return false;
        if (const auto* c = std::get_if<wire::Challenge>(&d.value().message)) {
          subscribe.cookie = c->cookie;
          return false;
        }
        return true;
      },
      5s))
      << directory.log();

  ChildProcess watson(
      {bin("watson"), "--service-name", "greeting", "--service-url", "http://" + instance,
       "--check", "none", "--directory", "127.0.0.1:" + std::to_string(directory_port),
       "--interval", "50ms", "--goodbye-count", "3", "--goodbye-spacing", "20ms"},
      dir.file("watson.log"));
  // Heartbeats flow and the directory announces the route.
  ASSERT_TRUE(wait_until(
      [&] {
        const auto rows = json_lines(capture.log());
        return count_type(rows, "heartbeat") >= 10 && has_delta_op(rows, "add");
      },
      10s))
      << capture.log() << watson.log() << directory.log();
  // Leaving: Goodbyes, then the directory removes the route.
  EXPECT_EQ(watson.stop(), 0) << watson.log();
  ASSERT_TRUE(wait_until(
      [&] {
        const auto rows = json_lines(capture.log());
        return count_type(rows, "goodbye") >= 3 && has_delta_op(rows, "remove");
      },
      5s))
      << capture.log() << directory.log();
  capture.signal(SIGINT);
  const auto status = capture.wait_exit(5s);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0) << capture.log();
  EXPECT_NE(capture.log().find("dropped by the kernel"), std::string::npos);
  directory.stop();

  // Decode the recording.
  const auto text = testing::run_tool({bin("baker-dump"), "-r", capture_file}, dir);
  ASSERT_EQ(text.status, 0) << text.err;
  const auto json = testing::run_tool({bin("baker-dump"), "-r", capture_file, "--json"}, dir);
  ASSERT_EQ(json.status, 0) << json.err;
  const auto rows = json_lines(json.out);
  ASSERT_FALSE(rows.empty());
  const auto lines = text.lines();
  ASSERT_EQ(rows.size(), lines.size() + 1) << text.out;  // one line, one object; + the summary

  const std::string d = "127.0.0.1:" + std::to_string(directory_port);
  const std::string s = "127.0.0.1:" + std::to_string(subscriber.port());
  std::uint64_t watson_incarnation = 0;
  std::string watson_src;
  std::uint64_t last_seq = 0;
  int heartbeats = 0;
  int goodbyes = 0;
  std::string directory_epoch;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const JsonValue& r = rows[i];
    if (r.has("summary")) continue;
    const std::string& line = lines[i];
    ASSERT_TRUE(r.has("type")) << line;  // no notes: loopback loses nothing
    const std::string type = r["type"].str();
    seen.insert(type);
    EXPECT_TRUE(r["valid"].boolean()) << line;
    EXPECT_EQ(r["auth"].str(), "none");
    if (type == "heartbeat" || type == "goodbye") {
      EXPECT_EQ(r["dst"].str(), d);
      EXPECT_EQ(r["service"].str(), "greeting");
      EXPECT_EQ(r["instance"].str(), instance);
      if (watson_incarnation == 0) {
        watson_incarnation = r["incarnation"].u64();
        watson_src = r["src"].str();
        last_seq = r["seq"].u64() - 1;
      }
      EXPECT_EQ(r["incarnation"].u64(), watson_incarnation);
      // The watson's start, us since 1970: within the last minute, and before this datagram.
      EXPECT_GT(r["incarnation"].u64(), (r["sent_ms"].u64() - 60'000) * 1000);
      EXPECT_LE(r["incarnation"].u64() / 1000, r["sent_ms"].u64());  // same ms: sent_ms truncates
      EXPECT_LT(std::abs(std::stoll(r["sent_lag_ms"].text)), 5000) << line;
      EXPECT_EQ(r["src"].str(), watson_src);
      EXPECT_EQ(r["seq"].u64(), last_seq + 1) << line;  // +1 per datagram, heartbeat or goodbye
      last_seq = r["seq"].u64();
      if (type == "heartbeat") {
        ++heartbeats;
        EXPECT_EQ(goodbyes, 0) << "heartbeat after goodbye: " << line;
        EXPECT_EQ(r["address"].str(), "127.0.0.1");
        EXPECT_EQ(r["port"].u64(), service_port);
        EXPECT_EQ(r["weight"].u64(), 100u);
        EXPECT_EQ(r["state"].str(), "up");
        EXPECT_EQ(r["interval_ms"].u64(), 50u);
        // The text line says the same.
        const std::string inc =
            " inc=" + std::to_string(watson_incarnation) + " (" + r["incarnation_time"].str() + ")";
        EXPECT_EQ(testing::unlagged(testing::untimed(line)),
                  watson_src + " > " + d + " heartbeat greeting/" + instance + inc +
                      " seq=" + std::to_string(last_seq) + " lag=Xms up w=100 " + instance);
      } else {
        ++goodbyes;
        EXPECT_EQ(testing::unlagged(testing::untimed(line)),
                  watson_src + " > " + d + " goodbye greeting/" + instance + " inc=" +
                      std::to_string(watson_incarnation) + " (" + r["incarnation_time"].str() +
                      ") seq=" + std::to_string(last_seq) + " lag=Xms");
      }
    } else if (type == "subscribe") {
      EXPECT_EQ(r["src"].str(), s);
      EXPECT_EQ(r["subscriber"].str(), "5eb");
    } else if (type == "challenge") {  // address validation: carries no epoch
      EXPECT_EQ(r["src"].str(), d) << line;
      EXPECT_EQ(r["dst"].str(), s) << line;
    } else {
      // Everything else comes from the directory to the subscriber, in one epoch.
      EXPECT_EQ(r["src"].str(), d) << line;
      EXPECT_EQ(r["dst"].str(), s) << line;
      if (directory_epoch.empty()) directory_epoch = r["epoch"].str();
      EXPECT_EQ(r["epoch"].str(), directory_epoch) << line;
      if (type == "delta") {
        for (const auto& op : r["ops"].items) {
          EXPECT_EQ(op["service"].str(), "greeting");
          EXPECT_EQ(op["instance"].str(), instance);
          if (op["op"].str() == "add") {
            EXPECT_EQ(op["address"].str(), "127.0.0.1");
            EXPECT_EQ(op["port"].u64(), service_port);
            EXPECT_NE(line.find(" delta epoch=" + directory_epoch + " to="), std::string::npos);
            EXPECT_NE(line.find("[add greeting/" + instance + "]"), std::string::npos) << line;
          }
        }
      }
    }
  }
  EXPECT_GE(heartbeats, 10);
  EXPECT_EQ(goodbyes, 3);
  for (const char* t : {"heartbeat", "goodbye", "subscribe", "snapshot", "delta", "tick"}) {
    EXPECT_TRUE(seen.count(t)) << "no " << t << " in\n" << text.out;
  }
  const auto& summary = rows.back()["summary"];
  EXPECT_EQ(summary["invalid"].u64(), 0u);
  EXPECT_EQ(summary["gaps"].u64(), 0u) << text.out;
  EXPECT_EQ(summary["duplicates"].u64(), 0u) << text.out;
  EXPECT_EQ(summary["restarts"].u64(), 0u);
  EXPECT_EQ(summary["snapshots_incomplete"].u64(), 0u);
  EXPECT_GE(summary["snapshots_complete"].u64(), 1u);
  EXPECT_NE(text.err.find("sequence: 0 gaps"), std::string::npos) << text.err;
}

}  // namespace
}  // namespace baker::dump
