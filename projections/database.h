// The read database: where projections keep their tables and queries read
// them. One interface, one implementation per backend (SQLite now; others
// plug in behind Database::open).
//
// SQL uses numbered parameters ($1, $2, ...) on every backend; values are
// always bound, never spliced into the text.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "annals/status.h"

namespace annals::db {

using Null = std::monostate;
using Value = std::variant<Null, bool, int64_t, double, std::string>;

// One result row. Accessors assert the column exists; a wrong type is a bug
// in the query, reported as a default value in release builds.
class Row {
 public:
  explicit Row(std::vector<Value> values) : values_(std::move(values)) {}
  size_t size() const { return values_.size(); }
  bool is_null(size_t i) const { return std::holds_alternative<Null>(values_.at(i)); }
  const std::string& text(size_t i) const;
  int64_t i64(size_t i) const;
  bool boolean(size_t i) const;
  double real(size_t i) const;
  const Value& at(size_t i) const { return values_.at(i); }

 private:
  std::vector<Value> values_;
};

enum class Dialect { kSqlite, kPostgres };

enum class Access {
  kRead,   // a consistent snapshot; may run beside other reads and one write
  kWrite,  // one at a time per database
};

// A unit of work. Rolls back on destruction unless commit() succeeded.
// Not thread-safe: one thread uses a transaction at a time.
class Transaction {
 public:
  virtual ~Transaction() = default;

  // Scopes what follows to one org (row-level security where the backend
  // has it). Lasts until the transaction ends or set_org is called again.
  virtual Status set_org(std::string_view org_id) = 0;

  // Runs statements without parameters (DDL scripts).
  virtual Status execute_script(std::string_view sql) = 0;

  // Runs one statement; returns the number of rows it changed.
  virtual Result<int64_t> execute(std::string_view sql, const std::vector<Value>& params = {}) = 0;

  virtual Result<std::vector<Row>> query(std::string_view sql,
                                         const std::vector<Value>& params = {}) = 0;

  // Runs a statement whose changed-row count the caller does not need. A
  // backend may hold it and send many in one round trip (PostgreSQL does,
  // with the values as literals): it runs, in order, before the next
  // execute(), query(), execute_script() or commit(), and its error surfaces
  // there. SQLite runs it at once.
  virtual Status execute_deferred(std::string_view sql, const std::vector<Value>& params = {}) {
    return execute(sql, params).status();
  }

  // Savepoints, nested: a part of the transaction that can be undone alone
  // (the projector isolates a failing projection this way).
  // release_savepoint runs every deferred statement, so their errors surface
  // there (the savepoint then stays open, to be rolled back);
  // rollback_to_savepoint undoes and ends the named savepoint and those
  // inside it, including a set_org and an error that aborted the
  // transaction, which goes on.
  virtual Status savepoint(std::string_view name) {
    return execute_script("SAVEPOINT " + std::string(name));
  }
  virtual Status release_savepoint(std::string_view name) {
    return execute_script("RELEASE SAVEPOINT " + std::string(name));
  }
  virtual Status rollback_to_savepoint(std::string_view name) {
    return execute_script("ROLLBACK TO SAVEPOINT " + std::string(name) + "; RELEASE SAVEPOINT " +
                          std::string(name));
  }
  virtual Status commit() = 0;
};

struct DatabaseOptions {
  // SQLite: reader connections; PostgreSQL: connections in the pool.
  int pool_size = 4;
  // PostgreSQL: SET ROLE to this role on every connection (setup runs
  // migrations as the owner role this way).
  std::string session_role;
  // PostgreSQL: refuse a role that is a superuser, has BYPASSRLS, owns
  // Annals tables or can act as their owner.
  bool require_unprivileged = true;
  // PostgreSQL: the schema pair the connection works in (search_path is
  // "<pg_schema>, <pg_schema>_meta"). A rebuild builds into another pair and
  // then swaps names with the live one.
  std::string pg_schema = "annals";
  // PostgreSQL: every transaction READ ONLY (default_transaction_read_only),
  // for tools that must change nothing (annals status, annals verify).
  bool read_only = false;
  // SQLite: the name of a registered VFS every connection (the writer and
  // each reader) opens its files through; empty is SQLite's default. Tests
  // use it to put the read database on a simulated disk (power cuts).
  std::string sqlite_vfs;
};

// Thread-safe: begin() may be called from any thread.
class Database {
 public:
  // "sqlite:PATH" (or a bare path) opens or creates a SQLite file;
  // "postgres://..." connects to PostgreSQL.
  static Result<std::unique_ptr<Database>> open(std::string_view url, DatabaseOptions options = {});

  virtual ~Database() = default;
  virtual Dialect dialect() const = 0;
  virtual std::string describe() const = 0;  // for messages: "sqlite:/data/read.sqlite"
  virtual Result<std::unique_ptr<Transaction>> begin(Access access) = 0;
};

}  // namespace annals::db
