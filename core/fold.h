// How case-insensitive unique values fold: MCP instance and toolset slugs,
// MCP server URLs, auth header and OAuth config names. Defined once, here,
// because two layers must agree on it byte for byte: the repositories claim
// the folded value in the journal (repositories/reservation_rules.h) and
// look rows up by it, and the projections store it in the *_key columns
// those lookups match. ASCII only: SQLite's lower() and PostgreSQL's lower()
// differ outside ASCII, so the folding is done here and never in SQL.
#pragma once

#include <string>
#include <string_view>

namespace annals {

// ASCII upper case to lower case; every other byte as it is.
inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Without leading and trailing ASCII whitespace.
inline std::string_view trim(std::string_view s) {
  auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// The folded keys.
inline std::string slug_key(std::string_view slug) { return ascii_lower(slug); }
inline std::string url_key(std::string_view url) { return ascii_lower(trim(url)); }
inline std::string name_key(std::string_view name) { return ascii_lower(name); }

}  // namespace annals
