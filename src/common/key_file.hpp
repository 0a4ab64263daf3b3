#pragma once
// The one key-file loader (start-up and SIGHUP reloads of every daemon and baker-dump). The format
// and the parser are wire::Keyring's: one key per line, "<id> <64 hex digits> [primary]".
#include <string>

#include "common/startup_error.hpp"
#include "wire/auth.hpp"

namespace baker {

// The file cannot be read or is not a valid key file: a start-up failure (exit 1). A SIGHUP reload
// logs the message and keeps the keys it has.
class KeyFileError : public StartupError {
 public:
  using StartupError::StartupError;
};

// Reads and parses `path`. The keyring always has a primary key (the one marked, or the only one).
// Throws KeyFileError naming the file and, for a bad line, its number:
//   "cannot read key file /etc/baker/keys: No such file or directory"
//   "key file /etc/baker/keys, line 3: key must be exactly 64 hex digits (32 bytes)"
wire::Keyring load_key_file(const std::string& path);

}  // namespace baker
