#pragma once
// The managed haproxy's state file (<run dir>/sherlock.state): what the next sherlock with the same
// run directory needs to adopt the haproxy this one leaves running (its master, the generation of
// its configuration and admin socket, the backends and their slot counts, and the settings the
// configuration was written from). Pure: text in, struct out.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace baker::sherlock::haproxy {

struct ManagedSettings;

struct ManagedState {
  int master_pid = -1;
  std::uint64_t generation = 0;
  // settings_fingerprint() of the settings the running configuration was written from: another
  // one means the adopter reloads with its own.
  std::string settings;
  std::map<std::string, int> http;  // service -> slots
  std::map<std::string, int> tcp;
};

inline constexpr std::size_t kMaxStateFileBytes = 4 << 20;
inline constexpr int kMaxStateSlots = 1'000'000;

std::string write_managed_state(const ManagedState& state);
// nullopt (with the reason in *why) for anything but a file write_managed_state wrote: unknown
// or repeated keys, bad numbers, invalid service names, too large.
std::optional<ManagedState> parse_managed_state(std::string_view text, std::string* why = nullptr);

// The settings that shape the configuration, as one line of text.
std::string settings_fingerprint(const ManagedSettings& settings);

}  // namespace baker::sherlock::haproxy
