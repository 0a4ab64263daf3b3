#include "common/key_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace baker {

namespace {

std::string mode_text(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

wire::Keyring load_key_file(const std::string& path, const std::vector<wire::Role>& needs,
                            std::string_view who) {
  const Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) {
    throw KeyFileError("cannot read key file " + path + ": " + std::strerror(errno) +
                       " (check the path and its permissions)");
  }
  // fstat on the file we read, not stat on the name: no window to swap the file in between.
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    throw KeyFileError("cannot read key file " + path + ": " + std::strerror(errno));
  }
  if ((st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
    throw KeyFileError("key file " + path + " is readable by group or others (mode " +
                       mode_text(st.st_mode) + "): run chmod 600 " + path);
  }
  std::string text;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw KeyFileError("cannot read key file " + path + ": " + std::strerror(errno));
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  wire::KeyringError error;
  auto ring = wire::Keyring::parse(text, &error);
  if (!ring) {
    throw KeyFileError("key file " + path +
                       (error.line > 0 ? ", line " + std::to_string(error.line) : std::string()) +
                       ": " + error.message);
  }
  for (const wire::Role role : needs) {
    if (!ring->has_role(role)) {
      throw KeyFileError("key file " + path + " has no key with the " +
                         std::string(wire::to_string(role)) + " role, which " + std::string(who) +
                         " needs (a key line without a role word has both: '<id> <hex> "
                         "[primary] [announce|publish]')");
    }
  }
  return std::move(*ring);
}

KeyReload reload_key_file(const std::string& path, bool have_keys,
                          const std::vector<wire::Role>& needs, std::string_view who) {
  KeyReload r;
  if (path.empty()) {
    if (!have_keys) return r;
    r.outcome = KeyReload::Outcome::refused_no_key_file;
    r.message =
        "reload refused: the new configuration has no key file, which would turn "
        "authentication off; keeping the current keys";
    return r;
  }
  try {
    r.keys = load_key_file(path, needs, who);
    r.outcome = KeyReload::Outcome::loaded;
    r.message = std::to_string(r.keys->size()) + " key(s) from " + path + ", primary key id " +
                std::to_string(*r.keys->primary_id());
  } catch (const KeyFileError& e) {
    r.outcome = KeyReload::Outcome::refused_bad_file;
    r.message = std::string(e.what()) + "; keeping the current keys";
  }
  return r;
}

}  // namespace baker
