#pragma once
// The one JSON string escaper every status page and baker-dump's output use (RFC 8259): '"' and
// '\' are escaped, control characters below 0x20 become \b \f \n \r \t or \u00XX, DEL becomes
// \u007f, and valid UTF-8 passes through unchanged. A byte that is not part of a valid UTF-8
// sequence (Baker's strings are ASCII, but a datagram or a file may hold anything) is written as
// \u00XX with its value, so the output is always valid JSON and valid UTF-8 and the byte stays
// visible (U+FFFD would hide which byte it was). Pure.
#include <string>
#include <string_view>

namespace baker {

// Appends the string literal, quotes included.
void append_json_string(std::string& out, std::string_view s);
std::string json_string(std::string_view s);

}  // namespace baker
