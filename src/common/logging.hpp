#pragma once
// One log set-up for every daemon: spdlog to stderr, level by name. Under systemd (stderr is the
// journal's stream, $JOURNAL_STREAM) each line carries its priority as sd-daemon(3)'s "<N>" prefix
// and no timestamp: the journal stamps lines itself.
#include <optional>
#include <string>
#include <string_view>

namespace baker {

// Accepts trace, debug, info, warn, error, critical, off. Returns false for anything else.
bool set_log_level(std::string_view level);
// Prefixes every line with the daemon's name, e.g. "[directory]".
void init_logging(const std::string& daemon_name, std::string_view level = "info");

// Whether $JOURNAL_STREAM ("<device>:<inode>") names this stderr (device and inode of fd 2).
bool journal_stream_matches(std::string_view journal_stream, unsigned long long device,
                            unsigned long long inode);
// The syslog priority of an spdlog level (trace, debug -> 7 ... critical -> 2).
int journal_priority(int spdlog_level);

}  // namespace baker
