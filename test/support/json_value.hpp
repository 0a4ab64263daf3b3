#pragma once
// A small strict JSON reader for tests: baker-dump's --json output, the daemons' /routes and
// /digest pages, field by field.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace baker::testing {

struct JsonValue {
  enum class Kind { null, boolean, number, string, array, object } kind = Kind::null;
  bool b = false;
  std::string text;  // number literal or string value
  std::vector<JsonValue> items;
  std::map<std::string, JsonValue> fields;

  bool has(const std::string& k) const { return kind == Kind::object && fields.count(k) > 0; }
  const JsonValue& operator[](const std::string& k) const {
    auto it = fields.find(k);
    if (kind != Kind::object || it == fields.end()) throw std::runtime_error("no field " + k);
    return it->second;
  }
  const JsonValue& operator[](std::size_t i) const { return items.at(i); }
  std::string str() const {
    if (kind != Kind::string) throw std::runtime_error("not a string");
    return text;
  }
  std::uint64_t u64() const {
    if (kind != Kind::number) throw std::runtime_error("not a number: " + text);
    return std::stoull(text);
  }
  bool boolean() const {
    if (kind != Kind::boolean) throw std::runtime_error("not a boolean");
    return b;
  }
  std::size_t size() const { return kind == Kind::array ? items.size() : fields.size(); }
};

class JsonParser {
 public:
  explicit JsonParser(std::string_view s) : s_(s) {}
  // Throws std::runtime_error on anything that is not exactly one JSON value.
  JsonValue parse() {
    JsonValue v = value();
    ws();
    if (i_ != s_.size()) fail("trailing characters");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& why) {
    throw std::runtime_error("json: " + why + " at " + std::to_string(i_) + " in " +
                             std::string(s_));
  }
  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t' || s_[i_] == '\r'))
      ++i_;
  }
  bool eat(char c) {
    ws();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail(std::string("expected ") + c);
  }
  bool word(std::string_view w) {
    if (s_.substr(i_, w.size()) == w) {
      i_ += w.size();
      return true;
    }
    return false;
  }
  std::string string_body() {
    std::string out;
    while (true) {
      if (i_ >= s_.size()) fail("unterminated string");
      const char c = s_[i_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size()) fail("bad escape");
      const char e = s_[i_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'u': {
          if (i_ + 4 > s_.size()) fail("bad \\u");
          const unsigned v = std::stoul(std::string(s_.substr(i_, 4)), nullptr, 16);
          i_ += 4;
          if (v > 0xff) fail("\\u beyond latin-1 not needed here");
          out += static_cast<char>(v);
          break;
        }
        default:
          fail("bad escape");
      }
    }
  }
  JsonValue value() {
    ws();
    if (i_ >= s_.size()) fail("unexpected end");
    JsonValue v;
    const char c = s_[i_];
    if (c == '{') {
      ++i_;
      v.kind = JsonValue::Kind::object;
      if (eat('}')) return v;
      do {
        expect('"');
        std::string k = string_body();
        expect(':');
        if (v.fields.count(k)) fail("duplicate key " + k);
        v.fields.emplace(k, value());
      } while (eat(','));
      expect('}');
    } else if (c == '[') {
      ++i_;
      v.kind = JsonValue::Kind::array;
      if (eat(']')) return v;
      do {
        v.items.push_back(value());
      } while (eat(','));
      expect(']');
    } else if (c == '"') {
      ++i_;
      v.kind = JsonValue::Kind::string;
      v.text = string_body();
    } else if (word("true")) {
      v.kind = JsonValue::Kind::boolean;
      v.b = true;
    } else if (word("false")) {
      v.kind = JsonValue::Kind::boolean;
    } else if (word("null")) {
      v.kind = JsonValue::Kind::null;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      v.kind = JsonValue::Kind::number;
      const std::size_t start = i_;
      if (s_[i_] == '-') ++i_;
      while (i_ < s_.size() && ((s_[i_] >= '0' && s_[i_] <= '9') || s_[i_] == '.' ||
                                s_[i_] == 'e' || s_[i_] == 'E' || s_[i_] == '+' || s_[i_] == '-'))
        ++i_;
      v.text = std::string(s_.substr(start, i_ - start));
    } else {
      fail("unexpected character");
    }
    return v;
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

inline JsonValue parse_json(std::string_view s) {
  return JsonParser(s).parse();
}

}  // namespace baker::testing
