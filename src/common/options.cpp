#include "common/options.hpp"

#include <fstream>
#include <iostream>

namespace baker {
namespace {

void parse_duration_token(boost::any& store, const std::vector<std::string>& tokens, Duration min,
                          Duration max) {
  po::validators::check_first_occurrence(store);
  const std::string& text = po::validators::get_single_string(tokens);
  std::string error;
  const auto d = parse_duration_within(text, min, max, &error);
  if (!d) throw po::error_with_option_name("%canonical_option%: " + error);
  store = *d;
}

// po::value<Duration> that parses with parse_duration_within; its errors get the option's name
// from program_options (error_with_option_name), from the command line and the config file alike.
class DurationValue final : public po::typed_value<Duration> {
 public:
  DurationValue(Duration min, Duration max)
      : po::typed_value<Duration>(nullptr), min_(min), max_(max) {
    value_name("DURATION");
  }

  void xparse(boost::any& store, const std::vector<std::string>& tokens) const override {
    parse_duration_token(store, tokens, min_, max_);
  }

 private:
  Duration min_;
  Duration max_;
};

}  // namespace
}  // namespace baker

template <>
void boost::program_options::typed_value<baker::Duration, char>::xparse(
    boost::any& store, const std::vector<std::string>& tokens) const {
  baker::parse_duration_token(store, tokens, baker::Duration::zero(), baker::kMaxDuration);
}

namespace baker {

std::string_view baker_version() {
  return BAKER_VERSION;
}

std::string program_name(int argc, char** argv) {
  if (argc < 1 || !argv[0]) return "baker";
  const std::string_view path = argv[0];
  return std::string(path.substr(path.rfind('/') + 1));
}

ParsedOptions parse_options(int argc, char** argv, const po::options_description& flags,
                            const std::string& usage, const std::string& config_option) {
  ParsedOptions out;
  try {
    po::store(po::parse_command_line(argc, argv, flags), out.values);
    if (out.values.count("help")) {
      std::cout << usage << "\n\n" << flags << "\n";
      out.exit_code = 0;
      return out;
    }
    if (flags.find_nothrow("version", false) && out.values.count("version")) {
      std::cout << program_name(argc, argv) << " (Baker) " << baker_version() << "\n";
      out.exit_code = 0;
      return out;
    }
    if (!config_option.empty() && out.values.count(config_option)) {
      const auto path = out.values[config_option].as<std::string>();
      std::ifstream in(path);
      if (!in) {
        std::cerr << "error: cannot read config file '" << path << "'\n(see --help)\n";
        out.exit_code = 2;
        return out;
      }
      // Values already stored from the command line are kept: flags win over the file.
      po::store(po::parse_config_file(in, flags, /*allow_unregistered=*/false), out.values);
    }
    po::notify(out.values);
  } catch (const po::error& e) {
    std::cerr << "error: " << e.what() << "\n(see --help)\n";
    out.exit_code = 2;
  }
  return out;
}

po::typed_value<Duration>* duration_value(Duration min, Duration max) {
  return new DurationValue(min, max);
}

po::typed_value<Duration>* duration_value(Duration fallback, Duration min, Duration max) {
  return duration_value(min, max)->default_value(fallback, format_duration(fallback));
}

}  // namespace baker
