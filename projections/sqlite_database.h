// SQLite implementation of Database. Private to projections/.
#pragma once

#include <sqlite3.h>

#include <condition_variable>
#include <mutex>
#include <unordered_map>

#include "projections/database.h"

namespace annals::db {

// One SQLite connection with its prepared-statement cache. Used by one
// thread at a time (the Database hands it out under a lock).
class SqliteConnection {
 public:
  // `vfs`: a registered SQLite VFS name; empty is the default one.
  static Result<std::unique_ptr<SqliteConnection>> open(const std::string& path, bool read_only,
                                                        const std::string& vfs = "");
  ~SqliteConnection();

  Status exec_script(std::string_view sql);
  Result<sqlite3_stmt*> prepare(std::string_view sql);
  Status error(int rc, std::string_view context) const;
  sqlite3* handle() const { return db_; }

 private:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

class SqliteDatabase final : public Database {
 public:
  static Result<std::unique_ptr<Database>> open(const std::string& path, DatabaseOptions options);
  // A private scratch database, deleted when it is closed: SQLite keeps it
  // in memory and spills it to a temporary file when it grows. Writes only
  // (it has one connection); begin(kRead) is refused.
  static Result<std::unique_ptr<Database>> open_scratch();

  Dialect dialect() const override { return Dialect::kSqlite; }
  std::string describe() const override {
    return path_.empty() ? "sqlite scratch database" : "sqlite:" + path_;
  }
  Result<std::unique_ptr<Transaction>> begin(Access access) override;

  // Connections go back here when a transaction ends.
  void release(std::unique_ptr<SqliteConnection> conn, bool writer);

  // Moves the SQLite file `source` (closed, so without a -wal file) over this
  // database's file. Waits for open transactions to end and holds new ones
  // off meanwhile (they wait, they do not fail), closes every connection,
  // renames, fsyncs the folder and reopens. Refuses, changing nothing, while
  // another process keeps the current file open.
  Status replace_file(const std::string& source);

 private:
  SqliteDatabase(std::string path, DatabaseOptions options)
      : path_(std::move(path)), options_(options) {}

  const std::string path_;
  const DatabaseOptions options_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::unique_ptr<SqliteConnection> writer_;                // guarded by mu_; null while lent
  std::vector<std::unique_ptr<SqliteConnection>> readers_;  // guarded by mu_; idle ones
  int readers_open_ = 0;                                    // guarded by mu_
  bool swapping_ = false;                                   // guarded by mu_
  Status failed_;  // guarded by mu_; set when a swap could not reopen the file
};

}  // namespace annals::db
