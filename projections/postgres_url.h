// PostgreSQL connection URLs: postgres://user:password@host:port/dbname?params
//
// Parsed by libpq itself (PQconninfoParse), so these functions read a URL
// exactly as a connection does: the user and password from the userinfo or
// from ?user= and ?password=, percent-encoded or not, host lists, every
// other parameter. The URLs they return are rebuilt from libpq's keywords
// (user, password and dbname percent-encoded; each other parameter kept as
// ?name=value) and connect the same way. None of them throws.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace annals::db {

bool is_postgres_url(std::string_view url);

// The URL with every secret it holds (the password, wherever it is given,
// and sslpassword) replaced by "***", for messages and logs. A PostgreSQL
// URL libpq cannot parse comes back as its scheme and "<unparseable URL>",
// never echoed. Anything else (a SQLite path) comes back as it is, unless
// it is a libpq key=value string, whose secrets are hidden the same way, or
// mentions a password without being one.
std::string redact_url(std::string_view url);

// The same server and database as `url`, as another user; with `password`
// when given (none when it is empty), else with the URL's own password.
// A URL libpq cannot parse comes back unchanged (connecting to it reports
// why).
std::string url_with_user(std::string_view url, std::string_view user,
                          const std::optional<std::string>& password = std::nullopt);

// The same server, user and parameters as `url`, another database. A URL
// libpq cannot parse comes back unchanged.
std::string url_with_database(std::string_view url, std::string_view database);

// The URL's user, empty when it names none (or cannot be parsed).
std::string url_user(std::string_view url);

}  // namespace annals::db
