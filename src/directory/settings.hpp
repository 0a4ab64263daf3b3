#pragma once
// The daemon's settings: flags and the config file (same names, flags win), checked into one
// struct. Errors name the flag and the bad value.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/host_port.hpp"
#include "directory/config.hpp"
#include "wire/result.hpp"

namespace baker::directory {

struct DaemonSettings {
  HostPort listen{"0.0.0.0", 7400};
  std::optional<HostPort> multicast;  // group:port
  int multicast_ttl = 1;
  std::string multicast_if;  // outgoing interface address; empty = kernel's choice
  std::optional<HostPort> metrics = HostPort{"127.0.0.1", 7401};  // nullopt: "off"
  std::string key_file;                                           // empty: no authentication
  std::string log_level = "info";
  int receive_buffer = 16 << 20;  // SO_RCVBUF request, bytes
  int send_buffer = 4 << 20;
  DirectoryConfig core;
};

struct LoadedSettings {
  DaemonSettings settings;
  std::optional<int> exit_code;  // set: exit now with this status (--help, or an error printed)
};

// Parses argv (and the --config file). Prints --help to stdout and errors to stderr.
LoadedSettings load_settings(int argc, char** argv);

}  // namespace baker::directory
