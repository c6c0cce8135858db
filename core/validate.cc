#include "core/validate.h"

#include <string>

namespace annals {
namespace {

std::string shown(std::string_view value) {
  constexpr size_t kShow = 40;
  std::string out;
  for (char c : value.substr(0, kShow)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      out += '?';
    } else {
      out += c;
    }
  }
  if (value.size() > kShow) out += "...";
  return "'" + out + "'";
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
      return false;
    }
    i += len;
  }
  return true;
}

Status validate_org_id(std::string_view org_id) {
  if (org_id.empty()) return Status::invalid_argument("org_id", "org_id is empty");
  if (org_id.size() > kMaxOrgIdLength) {
    return Status::invalid_argument(
        "org_id", "org_id is " + std::to_string(org_id.size()) + " characters; at most 64 allowed");
  }
  for (char c : org_id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) {
      return Status::invalid_argument(
          "org_id", "org_id " + shown(org_id) + " may only hold letters, digits, '_', '.' and '-'");
    }
  }
  return Status::ok();
}

Status validate_text(std::string_view field, std::string_view value, TextRule rule) {
  std::string f(field);
  if (value.empty() && !rule.allow_empty) return Status::invalid_argument(f, f + " is empty");
  if (value.size() > rule.max_bytes) {
    return Status::invalid_argument(f, f + " is " + std::to_string(value.size()) +
                                           " bytes; at most " + std::to_string(rule.max_bytes) +
                                           " allowed");
  }
  if (value.find('\0') != std::string_view::npos) {
    return Status::invalid_argument(f, f + " contains a NUL byte");
  }
  if (!is_valid_utf8(value)) return Status::invalid_argument(f, f + " is not valid UTF-8");
  return Status::ok();
}

Status validate_identifier(std::string_view field, std::string_view value, size_t max_bytes) {
  std::string f(field);
  if (value.empty()) return Status::invalid_argument(f, f + " is empty");
  if (value.size() > max_bytes) {
    return Status::invalid_argument(f, f + " is " + std::to_string(value.size()) +
                                           " bytes; at most " + std::to_string(max_bytes) +
                                           " allowed");
  }
  for (char c : value) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-' || c == ':';
    if (!ok) {
      return Status::invalid_argument(
          f, f + " " + shown(value) + " may only hold letters, digits, '_', '.', ':' and '-'");
    }
  }
  return Status::ok();
}

Status validate_enum(std::string_view field, std::string_view value,
                     std::initializer_list<std::string_view> allowed) {
  std::string list;
  for (auto a : allowed) {
    if (a == value) return Status::ok();
    if (!list.empty()) list += ", ";
    list += a;
  }
  std::string f(field);
  return Status::invalid_argument(f, f + " " + shown(value) + " is not one of: " + list);
}

}  // namespace annals
