#pragma once
// Reads a watson config file. Accepts Baker Street's watson.conf (Python ConfigParser style:
// `[Watson]` sections, `name: value`, `;` and `#` comments) as well as `name = value` lines.
// Section headers are accepted and ignored: every name lives in one flat namespace.
#include <string>
#include <string_view>
#include <vector>

#include "wire/result.hpp"

namespace baker::watson {

struct ConfigEntry {
  std::string name;   // as written, e.g. "service_name" or "health-check-url"
  std::string value;  // trimmed, surrounding quotes removed
  int line = 0;       // 1-based
};

struct ConfigFileError {
  int line = 0;
  std::string message;
};

wire::Result<std::vector<ConfigEntry>, ConfigFileError> parse_config_text(std::string_view text);

}  // namespace baker::watson
