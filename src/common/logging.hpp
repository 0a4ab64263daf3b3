#pragma once
// One log set-up for every daemon: spdlog to stderr, level by name.
#include <optional>
#include <string>
#include <string_view>

namespace baker {

// Accepts trace, debug, info, warn, error, critical, off. Returns false for anything else.
bool set_log_level(std::string_view level);
// Prefixes every line with the daemon's name, e.g. "[directory]".
void init_logging(const std::string& daemon_name, std::string_view level = "info");

}  // namespace baker
