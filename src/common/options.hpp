#pragma once
// Command line + config file, the same settings in both, flags win. Built on Boost.Program_options.
#include <boost/program_options.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "common/duration.hpp"

// po::value<Duration> parses with parse_duration (program_options' generic parser would need an
// operator>> for std::chrono types); duration_value below adds a range.
template <>
void boost::program_options::typed_value<baker::Duration, char>::xparse(
    boost::any& store, const std::vector<std::string>& tokens) const;

namespace baker {

namespace po = boost::program_options;

struct ParsedOptions {
  po::variables_map values;
  // Set when the process should exit now (after --help, or on a bad flag/config) with this code.
  std::optional<int> exit_code;
};

// Parses argv and, if the `config` option names a file, that file (INI style "name = value", the
// same names as the long flags). Prints --help (usage line + options) to stdout, and errors (naming
// the bad flag, value or file line, then "(see --help)") to stderr. Never throws.
ParsedOptions parse_options(int argc, char** argv, const po::options_description& flags,
                            const std::string& usage, const std::string& config_option = "config");

// argv[0] without its directory, and the project's version: what --version prints ("directory
// (Baker) 0.1.0"), for every program whose flags define "version".
std::string program_name(int argc, char** argv);
std::string_view baker_version();

// A duration flag in common/duration.hpp's grammar ("250ms", "2s", "1m"), within [min, max]:
// read it with .as<Duration>(). A bad value is a po::error naming the flag:
// "--lease: '5': a duration needs a unit: 250ms, 2s, 1m".
po::typed_value<Duration>* duration_value(Duration min = Duration::zero(),
                                          Duration max = kMaxDuration);
// The same with a default, shown in --help as format_duration prints it ("(=10s)").
po::typed_value<Duration>* duration_value(Duration fallback, Duration min, Duration max);

}  // namespace baker
