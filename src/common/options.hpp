#pragma once
// Command line + config file, the same settings in both, flags win. Built on Boost.Program_options.
#include <boost/program_options.hpp>
#include <optional>
#include <string>

namespace baker {

namespace po = boost::program_options;

struct ParsedOptions {
  po::variables_map values;
  // Set when the process should exit now (after --help, or on a bad flag/config) with this code.
  std::optional<int> exit_code;
};

// Parses argv and, if the `config` option names a file, that file (INI style "name = value", the
// same names as the long flags). Prints --help (usage line + options) to stdout, and errors (naming
// the bad flag, value or file line) to stderr. Never throws.
ParsedOptions parse_options(int argc, char** argv, const po::options_description& flags,
                            const std::string& usage, const std::string& config_option = "config");

// "ADDR:PORT" or "[v6]:PORT" -> (addr, port); nullopt if malformed or port outside 1..65535
// (0 allowed when allow_zero, meaning "any free port").
std::optional<std::pair<std::string, unsigned short>> parse_host_port(const std::string& text,
                                                                      bool allow_zero = false);

}  // namespace baker
