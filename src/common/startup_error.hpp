#pragma once
// The one start-up error type of every main, and the exit statuses (0 clean stop, 1 start-up
// failure, 2 usage error). Exceptions only at start-up (STYLE.md): thrown while flags, files and
// sockets are set up, caught in main, printed once, turned into the status. Pure.
#include <stdexcept>
#include <string_view>

namespace baker {

inline constexpr int kExitOk = 0;
inline constexpr int kExitStartupFailure = 1;
inline constexpr int kExitUsage = 2;

// The flags were fine but start-up failed (a port in use, haproxy did not start, an unreadable
// key file): exit 1. The message says what failed and what to do about it.
class StartupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A bad flag or config value: exit 2. The message names the flag (or file line) and the value;
// main adds "(see --help)".
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What main does with an exception out of start-up: prints "<prefix><message>" to stderr (a
// UsageError followed by "(see --help)") and returns its exit status: 2 for a UsageError, 1 for
// anything else.
int report_startup_failure(const std::exception& e, std::string_view prefix = "error: ");

}  // namespace baker
