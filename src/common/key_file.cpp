#include "common/key_file.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace baker {

wire::Keyring load_key_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    throw KeyFileError("cannot read key file " + path + ": " + std::strerror(errno) +
                       " (check the path and its permissions)");
  }
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) throw KeyFileError("cannot read key file " + path + ": " + std::strerror(errno));
  wire::KeyringError error;
  auto ring = wire::Keyring::parse(text.str(), &error);
  if (!ring) {
    throw KeyFileError("key file " + path +
                       (error.line > 0 ? ", line " + std::to_string(error.line) : std::string()) +
                       ": " + error.message);
  }
  return std::move(*ring);
}

}  // namespace baker
