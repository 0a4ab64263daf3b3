// libFuzzer target for the status pages' request target ("/?page=N&service=NAME", from anyone who
// reaches the HTTP address): parse_query, page_number and both pages rendered from it, the
// directory's over a small table. Besides "never crash, never leak, no UB": the answer is 200 or
// 400, and no markup from the target reaches the page unescaped.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/html.hpp"
#include "directory/status_pages.hpp"
#include "sherlock/status_page.hpp"

namespace {

void check(bool property) {
  if (!property) std::abort();
}

baker::directory::DirectoryCore& directory() {
  static baker::directory::DirectoryCore core(baker::directory::DirectoryConfig{}, 1,
                                              baker::TimePoint{});
  static const bool filled = [] {
    for (int i = 0; i < 300; ++i) {  // more than a page
      baker::wire::Heartbeat h;
      h.route.service = i % 2 ? "web" : "api";
      h.route.instance = "i" + std::to_string(i);
      h.route.address = baker::wire::IpAddress::v4(10, 0, 0, 1);
      h.route.port = static_cast<std::uint16_t>(8000 + i);
      h.incarnation = 7;
      h.seq = 1;
      h.interval_ms = 1000;
      core.on_datagram(h, baker::wire::Endpoint{baker::wire::IpAddress::v4(10, 0, 0, 9), 9},
                       baker::TimePoint{});
    }
    return true;
  }();
  (void)filled;
  return core;
}

baker::sherlock::DirectoryStreams& streams() {
  static baker::sherlock::DirectoryStreams s({baker::sherlock::ReplicaConfig{}}, {});
  return s;
}

void check_page(const baker::HttpReply& reply) {
  check(reply.status == 200 || reply.status == 400);
  if (reply.status == 200) check(reply.body.find("<script") == std::string::npos);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view target(reinterpret_cast<const char*>(data), size);
  const auto query = baker::parse_query(target);
  check(query.size() <= 16);
  for (const auto& [key, value] : query) check(key.size() <= 256 && value.size() <= 256);
  const auto page = baker::page_number(query);
  check(!page || (*page >= 1 && *page <= 1'000'000'000));
  check_page(baker::directory::render_status_page(directory(), baker::directory::ShellStats{},
                                                  target, baker::TimePoint{}));
  check_page(baker::sherlock::render_status_page(streams(), nullptr, target, baker::TimePoint{}));
  return 0;
}
