#include "common/logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace baker {

bool set_log_level(std::string_view level) {
  static constexpr std::string_view kNames[] = {"trace", "debug",    "info", "warn",
                                                "error", "critical", "off"};
  for (std::size_t i = 0; i < std::size(kNames); ++i) {
    if (level == kNames[i]) {
      spdlog::set_level(static_cast<spdlog::level::level_enum>(i));
      return true;
    }
  }
  return false;
}

void init_logging(const std::string& daemon_name, std::string_view level) {
  auto logger = spdlog::stderr_color_mt(daemon_name);
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
  set_log_level(level);
}

}  // namespace baker
