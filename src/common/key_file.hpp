#pragma once
// The one key-file loader (start-up and SIGHUP reloads of every daemon and baker-dump). The format
// and the parser are wire::Keyring's: one key per line, "<id> <64 hex digits> [primary]".
#include <optional>
#include <string>
#include <vector>

#include "common/startup_error.hpp"
#include "wire/auth.hpp"

namespace baker {

// The file cannot be read, is readable by group or others, or is not a valid key file: a
// start-up failure (exit 1). A SIGHUP reload logs the message and keeps the keys it has.
class KeyFileError : public StartupError {
 public:
  using StartupError::StartupError;
};

// Reads and parses `path`. The keyring always has a primary key (the one marked, or the only one).
// Throws KeyFileError naming the file and, for a bad line, its number:
//   "cannot read key file /etc/baker/keys: No such file or directory"
//   "key file /etc/baker/keys is readable by group or others (mode 0644): run chmod 600 ..."
//   "key file /etc/baker/keys, line 3: key must be exactly 64 hex digits (32 bytes)"
// `needs`: the roles the caller sends or receives with (watson: announce; sherlock: publish; the
// directory: both). A file without a key of one of them is refused too, naming the role, rather
// than failing later on the first datagram:
//   "key file /etc/baker/keys has no key with the announce role, which watson needs (...)"
// `who` names the caller in that message.
wire::Keyring load_key_file(const std::string& path, const std::vector<wire::Role>& needs = {},
                            std::string_view who = "this program");

// What a SIGHUP does with the keys, the same rule in every daemon: fail closed. A new key file
// that does not load, or a configuration with no key file while keys are in use (which would
// turn authentication off), keeps the current keys; only the key change is refused.
struct KeyReload {
  enum class Outcome {
    loaded,               // `keys` holds the new keyring: use it
    none,                 // no key file before nor now: stay unauthenticated
    refused_no_key_file,  // keys in use and no key file now: keep the current keys
    refused_bad_file,     // the new key file does not load: keep the current keys
  };
  Outcome outcome = Outcome::none;
  std::optional<wire::Keyring> keys;  // set for `loaded` only
  std::string message;                // for the log: an error line when refused
  bool refused() const {
    return outcome == Outcome::refused_no_key_file || outcome == Outcome::refused_bad_file;
  }
};

// `path` is the key file of the new configuration ("" for none); `have_keys` whether the daemon
// runs with keys now. Never throws.
KeyReload reload_key_file(const std::string& path, bool have_keys,
                          const std::vector<wire::Role>& needs = {},
                          std::string_view who = "this program");

}  // namespace baker
