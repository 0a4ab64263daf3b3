#include "sherlock/managed_config.hpp"

#include <gtest/gtest.h>

#include "routes.hpp"

namespace baker::sherlock::haproxy {
namespace {

wire::Route route(const std::string& id, const std::string& addr, std::uint16_t port,
                  std::uint16_t weight = 100, wire::InstanceState state = wire::InstanceState::up) {
  return baker::testing::make_route("web", id, baker::testing::ip(addr), port, weight, state);
}

bool has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

ManagedConfig sample() {
  ManagedConfig c;
  c.stable_socket = "/run/b/haproxy.sock";
  c.admin_socket = "/run/b/sherlock-3.sock";
  c.frontend_host = "127.0.0.1";
  c.frontend_port = 8000;
  c.backends.push_back({"web",
                        "web",
                        std::nullopt,
                        {route("a", "10.0.0.1", 8080), std::nullopt,
                         route("b", "::1", 8081, 5, wire::InstanceState::draining)}});
  c.backends.push_back({"api", "api", std::nullopt, {std::nullopt}});
  c.backends.push_back({"db", "db.tcp", std::uint16_t{5432}, {route("d", "10.0.0.9", 5432)}});
  return c;
}

TEST(HaproxyManagedConfig, SocketsForHitlessReloadAndForSherlock) {
  const auto text = write_haproxy_config(sample());
  EXPECT_TRUE(has(text,
                  "    stats socket /run/b/haproxy.sock mode 600 level admin expose-fd "
                  "listeners"));
  EXPECT_TRUE(has(text, "    stats socket /run/b/sherlock-3.sock mode 600 level admin"));
  EXPECT_TRUE(has(text, "    option idle-close-on-response"));
}

TEST(HaproxyManagedConfig, FrontendRoutesTheFirstPathSegmentToItsBackend) {
  const auto text = write_haproxy_config(sample());
  EXPECT_TRUE(has(text, "frontend baker.http"));
  EXPECT_TRUE(has(text, "    bind 127.0.0.1:8000"));
  EXPECT_TRUE(has(text, "    acl baker_service path,field(2,/) -m str web api"));
  EXPECT_TRUE(has(text, "    use_backend %[path,field(2,/)] if baker_service"));
  EXPECT_TRUE(has(text, "    default_backend baker.unknown"));
  EXPECT_TRUE(has(text, "    http-request replace-path ^/[^/]*/?(.*) /\\1"));
}

TEST(HaproxyManagedConfig, SlotsListCurrentServersStatically) {
  const auto text = write_haproxy_config(sample());
  EXPECT_TRUE(has(text, "backend web"));
  EXPECT_TRUE(has(text, "    balance random"));
  EXPECT_TRUE(has(text, "    http-reuse always"));
  EXPECT_TRUE(has(text, "    server slot1 10.0.0.1:8080 weight 100"));
  EXPECT_TRUE(has(text, "    server slot2 127.0.0.1:9 weight 1 disabled"));
  EXPECT_TRUE(has(text, "    server slot3 [::1]:8081 weight 5 disabled"));  // draining
  EXPECT_TRUE(has(text, "backend api"));
  EXPECT_EQ(text.find("enabled"), std::string::npos);
}

TEST(HaproxyManagedConfig, TcpListenerPerService) {
  const auto text = write_haproxy_config(sample());
  EXPECT_TRUE(has(text, "listen db.tcp"));
  EXPECT_TRUE(has(text, "    mode tcp"));
  EXPECT_TRUE(has(text, "    bind 127.0.0.1:5432"));
  EXPECT_TRUE(has(text, "    server slot1 10.0.0.9:5432 weight 100"));
  // Not reachable through the HTTP frontend.
  EXPECT_EQ(text.find("-m str web api db"), std::string::npos);
}

TEST(HaproxyManagedConfig, BackendPrefixGoesIntoUseBackend) {
  ManagedConfig c = sample();
  c.backends = {{"web", "bk_web", std::nullopt, {std::nullopt}}};
  const auto text = write_haproxy_config(c);
  EXPECT_TRUE(has(text, "    use_backend bk_%[path,field(2,/)] if baker_service"));
  EXPECT_TRUE(has(text, "backend bk_web"));
}

TEST(HaproxyManagedConfig, NoServicesYetMeansEverythingIsUnknown) {
  ManagedConfig c = sample();
  c.backends.clear();
  const auto text = write_haproxy_config(c);
  EXPECT_EQ(text.find("use_backend"), std::string::npos);
  EXPECT_EQ(text.find("acl "), std::string::npos);
  EXPECT_TRUE(has(text, "    default_backend baker.unknown"));
}

TEST(HaproxyManagedConfig, ManyServicesSplitAclLines) {
  ManagedConfig c = sample();
  c.backends.clear();
  for (int i = 0; i < 70; ++i) {
    c.backends.push_back({"s" + std::to_string(i), "s" + std::to_string(i), std::nullopt, {}});
  }
  const auto text = write_haproxy_config(c);
  std::size_t lines = 0;
  for (auto p = text.find("acl baker_service"); p != std::string::npos;
       p = text.find("acl baker_service", p + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, 3u);
}

TEST(HaproxyManagedConfig, Ipv6Frontend) {
  ManagedConfig c = sample();
  c.frontend_host = "::1";
  EXPECT_TRUE(has(write_haproxy_config(c), "    bind [::1]:8000"));
}

}  // namespace
}  // namespace baker::sherlock::haproxy
