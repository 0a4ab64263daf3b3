#pragma once
// watson's flags and config file: every setting of config.hpp as a --flag and as a file line;
// flags win over the file.
#include <optional>
#include <string>
#include <vector>

#include "watson/config.hpp"
#include "watson/config_file.hpp"

namespace baker::watson {

// Merges flag values (canonical name -> values, origin "--flag") with the entries of a config
// file named `file_name`: a setting given as a flag ignores the file's; a repeatable setting
// accumulates the file's lines. Errors name the file and line.
wire::Result<Settings, std::string> merge_settings(Settings flags,
                                                   const std::vector<ConfigEntry>& file,
                                                   const std::string& file_name);

struct LoadedConfig {
  std::optional<WatsonConfig> config;
  std::optional<int> exit_code;  // set when the process should exit now (--help: 0, errors: 2)
};

// Parses argv (and --config FILE), validates, prints --help or a clear error. Never throws.
LoadedConfig load_config(int argc, char** argv);

}  // namespace baker::watson
