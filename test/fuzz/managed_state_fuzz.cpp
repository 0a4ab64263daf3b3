// libFuzzer target for the managed haproxy's state file (<run dir>/sherlock.state), which a
// restarted sherlock reads to adopt a running haproxy. Besides "never crash, never leak, no UB":
// whatever it accepts is within the documented bounds and reads back the same once rewritten.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sherlock/managed_state.hpp"
#include "wire/validate.hpp"

namespace {

namespace haproxy = baker::sherlock::haproxy;

void check(bool property) {
  if (!property) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string why;
  const auto state = haproxy::parse_managed_state(text, &why);
  if (!state) {
    check(!why.empty());
    return 0;
  }
  check(state->master_pid > 1 && state->generation > 0);
  for (const auto* map : {&state->http, &state->tcp}) {
    for (const auto& [service, slots] : *map) {
      check(baker::wire::is_valid_service_name(service));
      check(slots >= 1 && slots <= haproxy::kMaxStateSlots);
    }
  }
  const auto again = haproxy::parse_managed_state(haproxy::write_managed_state(*state));
  check(again && again->master_pid == state->master_pid && again->generation == state->generation &&
        again->settings == state->settings && again->http == state->http &&
        again->tcp == state->tcp);
  return 0;
}
