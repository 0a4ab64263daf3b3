#include "watson/watson_options.hpp"

#include <fstream>
#include <sstream>

#include "common/options.hpp"
#include "common/startup_error.hpp"

namespace baker::watson {
namespace {

std::string flag_name(std::string_view canonical) {
  std::string f(canonical);
  for (auto& c : f) {
    if (c == '_') c = '-';
  }
  return f;
}

constexpr const char* kUsage =
    "usage: watson --service-name NAME --service-url http://ADDR:PORT[/path] "
    "(--health-check-url URL | --tcp-check HOST:PORT | --exec-check CMD | --check none) "
    "[options]\n"
    "       watson --config watson.conf [options]\n"
    "\n"
    "Runs beside one service instance: checks its health and, while it is healthy, sends\n"
    "heartbeats to the directory (or directories). Says Goodbye when the instance turns unhealthy\n"
    "or on SIGTERM/SIGINT. Signals: SIGUSR1 = drain (heartbeats say draining, clients send no new\n"
    "requests), SIGUSR2 = undrain, SIGHUP = reload the key file.\n"
    "\n"
    "The config file takes the same settings, one per line, as 'name: value' or 'name = value'\n"
    "(Baker Street's watson.conf works: service_name, service_url, health_check_url, period,\n"
    "directory_host, logging; [sections] and ;/# comments are ignored). Flags win over the file.\n"
    "DURATION is a number and a unit: 300ms, 2s, 1.5s, 1m (a bare number is refused; period alone\n"
    "is a bare number of seconds, as in Baker Street).";

po::options_description describe_flags() {
  po::options_description flags("options");
  flags.add_options()("help,h", "show this help and exit")("version", "print the version and exit")(
      "config,c", po::value<std::string>()->value_name("FILE"), "config file");
  for (const auto& s : all_settings()) {
    const auto name = flag_name(s.name);
    const std::string help(s.help);
    if (s.value_name.empty()) {
      flags.add_options()(name.c_str(), po::bool_switch(), help.c_str());
    } else if (s.repeatable) {
      flags.add_options()(
          name.c_str(),
          po::value<std::vector<std::string>>()->composing()->value_name(std::string(s.value_name)),
          help.c_str());
    } else {
      flags.add_options()(name.c_str(),
                          po::value<std::string>()->value_name(std::string(s.value_name)),
                          help.c_str());
    }
  }
  return flags;
}

Settings settings_from_flags(const po::variables_map& vm) {
  Settings out;
  for (const auto& s : all_settings()) {
    const auto name = flag_name(s.name);
    if (!vm.count(name) || vm[name].defaulted()) continue;
    SettingValue v{{}, "--" + name};
    if (s.value_name.empty()) {
      if (!vm[name].as<bool>()) continue;
      v.values.emplace_back("true");
    } else if (s.repeatable) {
      v.values = vm[name].as<std::vector<std::string>>();
    } else {
      v.values.push_back(vm[name].as<std::string>());
    }
    out.emplace(std::string(s.name), std::move(v));
  }
  return out;
}

}  // namespace

wire::Result<Settings, std::string> merge_settings(Settings flags,
                                                   const std::vector<ConfigEntry>& file,
                                                   const std::string& file_name) {
  Settings from_file;
  std::map<std::string, int> first_line;
  for (const auto& e : file) {
    const auto where = file_name + " line " + std::to_string(e.line);
    const auto canonical = canonical_setting_name(e.name);
    if (!canonical) return where + ": unknown setting '" + e.name + "'";
    const auto* info = find_setting(*canonical);
    auto [it, fresh] = from_file.try_emplace(*canonical, SettingValue{{}, where});
    if (!fresh && !info->repeatable) {
      return where + ": '" + e.name + "' already set on line " +
             std::to_string(first_line[*canonical]);
    }
    if (fresh) first_line[*canonical] = e.line;
    it->second.values.push_back(e.value);
  }
  for (auto& [name, value] : from_file) {
    flags.try_emplace(name, std::move(value));  // a flag given wins over the file
  }
  return flags;
}

LoadedConfig load_config(int argc, char** argv) {
  LoadedConfig out;
  const auto flags = describe_flags();
  auto parsed = parse_options(argc, argv, flags, kUsage, /*config_option=*/"");
  if (parsed.exit_code) {
    out.exit_code = parsed.exit_code;
    return out;
  }
  try {
    Settings settings = settings_from_flags(parsed.values);
    if (parsed.values.count("config")) {
      const auto path = parsed.values["config"].as<std::string>();
      std::ifstream in(path);
      if (!in) throw UsageError("cannot read config file '" + path + "'");
      std::stringstream text;
      text << in.rdbuf();
      auto entries = parse_config_text(text.str());
      if (!entries) {
        throw UsageError(path + " line " + std::to_string(entries.error().line) + ": " +
                         entries.error().message);
      }
      auto merged = merge_settings(std::move(settings), entries.value(), path);
      if (!merged) throw UsageError(merged.error());
      settings = std::move(merged).value();
    }
    auto config = build_config(settings);
    if (!config) throw UsageError(config.error());
    out.config = std::move(config).value();
  } catch (const UsageError& e) {
    out.exit_code = report_startup_failure(e);
  }
  return out;
}

}  // namespace baker::watson
