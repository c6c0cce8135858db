// PostgreSQL connection URLs: postgres://user:password@host:port/dbname?params
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace annals::db {

bool is_postgres_url(std::string_view url);

// The URL with its password replaced by "***", for messages and logs.
std::string redact_url(std::string_view url);

// The same server and database as `url`, as another user; with `password`
// when given (none when it is empty), else with the URL's own password.
std::string url_with_user(std::string_view url, std::string_view user,
                          const std::optional<std::string>& password = std::nullopt);

// The same server, user and parameters as `url`, another database.
std::string url_with_database(std::string_view url, std::string_view database);

// The URL's user, empty when it names none.
std::string url_user(std::string_view url);

}  // namespace annals::db
