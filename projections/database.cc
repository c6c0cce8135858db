#include "projections/database.h"

#include "projections/postgres_database.h"
#include "projections/postgres_url.h"
#include "projections/sqlite_database.h"

namespace annals::db {

const std::string& Row::text(size_t i) const {
  static const std::string kEmpty;
  const auto* s = std::get_if<std::string>(&values_.at(i));
  assert(s && "column is not text");
  return s ? *s : kEmpty;
}

int64_t Row::i64(size_t i) const {
  const Value& v = values_.at(i);
  if (auto* x = std::get_if<int64_t>(&v)) return *x;
  if (auto* b = std::get_if<bool>(&v)) return *b ? 1 : 0;
  assert(false && "column is not an integer");
  return 0;
}

bool Row::boolean(size_t i) const {
  const Value& v = values_.at(i);
  if (auto* b = std::get_if<bool>(&v)) return *b;
  if (auto* x = std::get_if<int64_t>(&v)) return *x != 0;
  assert(false && "column is not a boolean");
  return false;
}

double Row::real(size_t i) const {
  const Value& v = values_.at(i);
  if (auto* d = std::get_if<double>(&v)) return *d;
  if (auto* x = std::get_if<int64_t>(&v)) return static_cast<double>(*x);
  assert(false && "column is not a number");
  return 0;
}

Result<std::unique_ptr<Database>> Database::open(std::string_view url, DatabaseOptions options) {
  std::string u(url);
  if (u.rfind("sqlite:", 0) == 0) return SqliteDatabase::open(u.substr(7), options);
  if (is_postgres_url(u)) return PgDatabase::open(u, options);
  if (u.find("://") != std::string::npos) {
    return Status::invalid_argument(
        "database", "unknown database URL '" + u + "'; expected sqlite:PATH or a file path");
  }
  return SqliteDatabase::open(u, options);
}

}  // namespace annals::db
