// What libpq makes of a connection string: the yardstick the PostgreSQL URL
// functions are checked against, by their tests and their fuzz target.
#pragma once

#include <libpq-fe.h>

#include <map>
#include <optional>
#include <string>

namespace annals::testing {

struct LibpqKeywords {
  std::map<std::string, std::string> values;  // the keywords libpq sets, by name
  std::map<std::string, bool> secret;         // whether libpq hides the keyword's value
};

// nullopt when libpq refuses the connection string.
inline std::optional<LibpqKeywords> libpq_keywords(const std::string& conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (error != nullptr) PQfreemem(error);
  if (options == nullptr) return std::nullopt;
  LibpqKeywords out;
  for (const PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    out.values[o->keyword] = o->val;
    out.secret[o->keyword] = o->dispchar != nullptr && o->dispchar[0] == '*';
  }
  PQconninfoFree(options);
  return out;
}

}  // namespace annals::testing
