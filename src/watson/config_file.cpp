#include "watson/config_file.hpp"

#include <cctype>

namespace baker::watson {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
}

}  // namespace

wire::Result<std::vector<ConfigEntry>, ConfigFileError> parse_config_text(std::string_view text) {
  std::vector<ConfigEntry> entries;
  int line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const auto eol = text.find('\n');
    std::string_view raw = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    const std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      if (line.back() != ']' || line.size() < 3) {
        return ConfigFileError{line_no, "malformed section header (expected '[name]')"};
      }
      continue;
    }
    if (std::isspace(static_cast<unsigned char>(raw.front()))) {
      return ConfigFileError{line_no,
                             "indented line: continuation lines are not supported, put the "
                             "whole value on one line"};
    }
    const auto sep = line.find_first_of(":=");
    if (sep == std::string_view::npos) {
      return ConfigFileError{line_no, "expected 'name: value' or 'name = value'"};
    }
    const std::string_view name = trim(line.substr(0, sep));
    std::string_view value = trim(line.substr(sep + 1));
    if (name.empty())
      return ConfigFileError{line_no,
                             "missing setting name before '" + std::string(1, line[sep]) + "'"};
    for (char c : name) {
      if (!is_name_char(c)) {
        return ConfigFileError{line_no, "invalid setting name '" + std::string(name) + "'"};
      }
    }
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    if (value.find("${") != std::string_view::npos || value.find("%(") != std::string_view::npos) {
      return ConfigFileError{line_no, "'" + std::string(name) +
                                          "' holds an unexpanded template placeholder: '" +
                                          std::string(value) + "'"};
    }
    entries.push_back(ConfigEntry{std::string(name), std::string(value), line_no});
  }
  return entries;
}

}  // namespace baker::watson
