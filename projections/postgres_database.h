// PostgreSQL implementation of Database, over libpqxx. Private to projections/.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>

#include "projections/database.h"

namespace annals::db {

// One server connection with the statements prepared on it. Used by one
// transaction at a time.
class PgConnection {
 public:
  explicit PgConnection(std::unique_ptr<pqxx::connection> conn) : conn_(std::move(conn)) {}
  pqxx::connection& raw() { return *conn_; }
  // The name of `sql` prepared on this connection, preparing it on first use.
  const std::string& prepared(std::string_view sql);
  bool broken = false;  // set when the connection failed; it is not reused

 private:
  std::unique_ptr<pqxx::connection> conn_;
  std::map<std::string, std::string, std::less<>> names_;
};

class PgDatabase final : public Database {
 public:
  static Result<std::unique_ptr<Database>> open(const std::string& url, DatabaseOptions options);

  Dialect dialect() const override { return Dialect::kPostgres; }
  std::string describe() const override { return redacted_; }
  Result<std::unique_ptr<Transaction>> begin(Access access) override;

  void release(std::unique_ptr<PgConnection> conn);

 private:
  PgDatabase(std::string url, DatabaseOptions options);
  Result<std::unique_ptr<PgConnection>> connect();

  const std::string url_;
  const std::string redacted_;  // the URL without its password
  const DatabaseOptions options_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<PgConnection>> idle_;  // guarded by mu_
  int open_ = 0;                                     // guarded by mu_
};

// libpqxx exceptions as Annals statuses: unique violation -> kConflict,
// a lost connection or an unknown commit outcome -> kUnavailable, ...
Status status_from_pqxx(const std::exception& e, std::string_view context);

// When a PostgreSQL error says that a role, schema or table of Annals is
// missing (the database was never set up): the message to give instead,
// naming `annals setup`; otherwise empty.
std::string not_set_up_message(std::string_view sqlstate, std::string_view message);

}  // namespace annals::db
