#include "projections/sqlite_database.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace annals::db {
namespace {

constexpr int kBusyTimeoutMs = 10000;

class SqliteTransaction final : public Transaction {
 public:
  SqliteTransaction(SqliteDatabase* owner, std::unique_ptr<SqliteConnection> conn, bool writer)
      : owner_(owner), conn_(std::move(conn)), writer_(writer) {}

  ~SqliteTransaction() override {
    if (!done_) (void)conn_->exec_script("ROLLBACK");
    owner_->release(std::move(conn_), writer_);
  }

  Status set_org(std::string_view) override { return Status::ok(); }

  Status execute_script(std::string_view sql) override { return conn_->exec_script(sql); }

  Result<int64_t> execute(std::string_view sql, const std::vector<Value>& params) override {
    ANNALS_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, bind(sql, params));
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    }
    Status s = rc == SQLITE_DONE ? Status::ok() : conn_->error(rc, sql);
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    ANNALS_RETURN_IF_ERROR(s);
    return static_cast<int64_t>(sqlite3_changes(conn_->handle()));
  }

  Result<std::vector<Row>> query(std::string_view sql, const std::vector<Value>& params) override {
    ANNALS_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, bind(sql, params));
    std::vector<Row> rows;
    int columns = sqlite3_column_count(stmt);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      std::vector<Value> values;
      values.reserve(columns);
      for (int c = 0; c < columns; ++c) {
        switch (sqlite3_column_type(stmt, c)) {
          case SQLITE_NULL:
            values.emplace_back(Null{});
            break;
          case SQLITE_INTEGER:
            values.emplace_back(static_cast<int64_t>(sqlite3_column_int64(stmt, c)));
            break;
          case SQLITE_FLOAT:
            values.emplace_back(sqlite3_column_double(stmt, c));
            break;
          default: {
            const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
            int n = sqlite3_column_bytes(stmt, c);
            values.emplace_back(std::string(p ? p : "", static_cast<size_t>(n)));
          }
        }
      }
      rows.emplace_back(std::move(values));
    }
    Status s = rc == SQLITE_DONE ? Status::ok() : conn_->error(rc, sql);
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    ANNALS_RETURN_IF_ERROR(s);
    return rows;
  }

  Status commit() override {
    if (done_) return Status::internal("transaction already ended");
    Status s = conn_->exec_script("COMMIT");
    if (!s.is_ok()) return s;
    done_ = true;
    return Status::ok();
  }

  Status begin() { return conn_->exec_script(writer_ ? "BEGIN IMMEDIATE" : "BEGIN"); }

 private:
  // Binds $N parameters by name, so the same SQL text serves every backend.
  Result<sqlite3_stmt*> bind(std::string_view sql, const std::vector<Value>& params) {
    ANNALS_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, conn_->prepare(sql));
    int count = sqlite3_bind_parameter_count(stmt);
    for (int i = 1; i <= count; ++i) {
      const char* name = sqlite3_bind_parameter_name(stmt, i);
      if (name == nullptr || name[0] != '$') {
        return Status::internal("SQL must use $N parameters: " + std::string(sql));
      }
      size_t n = std::strtoul(name + 1, nullptr, 10);
      if (n == 0 || n > params.size()) {
        return Status::internal("SQL names parameter " + std::string(name) + " but " +
                                std::to_string(params.size()) + " were given: " + std::string(sql));
      }
      const Value& v = params[n - 1];
      int rc = SQLITE_OK;
      if (std::holds_alternative<Null>(v)) {
        rc = sqlite3_bind_null(stmt, i);
      } else if (auto* b = std::get_if<bool>(&v)) {
        rc = sqlite3_bind_int64(stmt, i, *b ? 1 : 0);
      } else if (auto* x = std::get_if<int64_t>(&v)) {
        rc = sqlite3_bind_int64(stmt, i, *x);
      } else if (auto* d = std::get_if<double>(&v)) {
        rc = sqlite3_bind_double(stmt, i, *d);
      } else {
        const auto& s = std::get<std::string>(v);
        rc = sqlite3_bind_text(stmt, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
      }
      if (rc != SQLITE_OK) {
        sqlite3_clear_bindings(stmt);
        return conn_->error(rc, sql);
      }
    }
    return stmt;
  }

  SqliteDatabase* owner_;
  std::unique_ptr<SqliteConnection> conn_;
  bool writer_;
  bool done_ = false;
};

}  // namespace

Result<std::unique_ptr<SqliteConnection>> SqliteConnection::open(const std::string& path,
                                                                 bool read_only,
                                                                 const std::string& vfs) {
  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, vfs.empty() ? nullptr : vfs.c_str());
  if (rc != SQLITE_OK) {
    std::string message = raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    sqlite3_close(raw);
    return Status::unavailable("cannot open SQLite database " + path + ": " + message);
  }
  std::unique_ptr<SqliteConnection> conn(new SqliteConnection(raw));
  sqlite3_busy_timeout(raw, kBusyTimeoutMs);
  sqlite3_extended_result_codes(raw, 1);
  // WAL lets reads run beside the projector's writes. synchronous=NORMAL: a
  // power cut may lose the last batches, but rows and checkpoint go together
  // and the journal replays whatever was lost.
  ANNALS_RETURN_IF_ERROR(conn->exec_script(
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"));
  if (read_only) ANNALS_RETURN_IF_ERROR(conn->exec_script("PRAGMA query_only=1;"));
  return conn;
}

SqliteConnection::~SqliteConnection() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Status SqliteConnection::error(int rc, std::string_view context) const {
  std::string message =
      std::string(sqlite3_errmsg(db_)) + " (in: " + std::string(context.substr(0, 200)) + ")";
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return Status::conflict("unique", message);
      }
      return Status::invalid_argument("row", message);
    case SQLITE_FULL: {
      const char* file = sqlite3_db_filename(db_, "main");
      return Status::unavailable("no space left on the read database's disk (" +
                                 std::string(file != nullptr ? file : "") +
                                 "); nothing of this transaction was kept: " + message);
    }
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
      return Status::unavailable(message);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::corruption(message);
    default:
      return Status::internal(message);
  }
}

Status SqliteConnection::exec_script(std::string_view sql) {
  std::string text(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::ok();
  std::string message = err ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  Status s = error(rc, sql);
  return s.with_context(message);
}

Result<sqlite3_stmt*> SqliteConnection::prepare(std::string_view sql) {
  std::string key(sql);
  if (auto it = statements_.find(key); it != statements_.end()) return it->second;
  sqlite3_stmt* stmt = nullptr;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v3(db_, key.c_str(), static_cast<int>(key.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
  if (rc != SQLITE_OK) return error(rc, sql);
  if (stmt == nullptr) return Status::internal("empty SQL statement");
  if (tail != nullptr && *tail != '\0') {
    std::string_view rest(tail);
    if (rest.find_first_not_of(" \t\r\n;") != std::string_view::npos) {
      sqlite3_finalize(stmt);
      return Status::internal("one statement expected: " + key);
    }
  }
  statements_.emplace(std::move(key), stmt);
  return stmt;
}

Result<std::unique_ptr<Database>> SqliteDatabase::open(const std::string& path,
                                                       DatabaseOptions options) {
  if (path.empty()) return Status::invalid_argument("database", "SQLite path is empty");
  std::filesystem::path p(path);
  if (p.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(p.parent_path(), ec);
    if (ec)
      return Status::unavailable("cannot create " + p.parent_path().string() + ": " + ec.message());
  }
  std::unique_ptr<SqliteDatabase> db(new SqliteDatabase(path, options));
  ANNALS_ASSIGN_OR_RETURN(db->writer_,
                          SqliteConnection::open(path, /*read_only=*/false, options.sqlite_vfs));
  return std::unique_ptr<Database>(std::move(db));
}

Result<std::unique_ptr<Database>> SqliteDatabase::open_scratch() {
  // An empty file name is SQLite's private temporary database.
  std::unique_ptr<SqliteDatabase> db(new SqliteDatabase("", DatabaseOptions{}));
  ANNALS_ASSIGN_OR_RETURN(db->writer_, SqliteConnection::open("", /*read_only=*/false));
  return std::unique_ptr<Database>(std::move(db));
}

Result<std::unique_ptr<Transaction>> SqliteDatabase::begin(Access access) {
  bool writer = access == Access::kWrite;
  if (!writer && path_.empty()) {
    return Status::internal("a scratch database is written only: it has no readers");
  }
  std::unique_ptr<SqliteConnection> conn;
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !swapping_; });
    if (!failed_.is_ok()) return failed_;
    if (writer) {
      cv_.wait(lock, [&] { return writer_ != nullptr && !swapping_; });
      conn = std::move(writer_);
    } else {
      cv_.wait(lock, [&] {
        return !swapping_ && (!readers_.empty() || readers_open_ < options_.pool_size);
      });
      if (!readers_.empty()) {
        conn = std::move(readers_.back());
        readers_.pop_back();
      } else {
        ++readers_open_;
      }
    }
  }
  if (!conn) {
    auto opened = SqliteConnection::open(path_, /*read_only=*/true, options_.sqlite_vfs);
    if (!opened.is_ok()) {
      std::lock_guard lock(mu_);
      --readers_open_;
      cv_.notify_all();
      return opened.status();
    }
    conn = std::move(opened).value();
  }
  auto txn = std::make_unique<SqliteTransaction>(this, std::move(conn), writer);
  Status s = txn->begin();
  if (!s.is_ok()) return s;
  return std::unique_ptr<Transaction>(std::move(txn));
}

void SqliteDatabase::release(std::unique_ptr<SqliteConnection> conn, bool writer) {
  std::lock_guard lock(mu_);
  if (writer) {
    writer_ = std::move(conn);
  } else {
    readers_.push_back(std::move(conn));
  }
  cv_.notify_all();
}

namespace {

Status fsync_path(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDWR);
  if (fd < 0) return Status::unavailable("cannot open " + path + ": " + std::strerror(errno));
  int rc = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  if (rc != 0) return Status::unavailable("cannot fsync " + path + ": " + std::strerror(saved));
  return Status::ok();
}

bool nonempty(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec) && std::filesystem::file_size(path, ec) > 0;
}

}  // namespace

Status SqliteDatabase::replace_file(const std::string& source) {
  if (nonempty(source + "-wal")) {
    return Status::unavailable(source + " is still open (it has a -wal file): close it first");
  }
  if (!std::filesystem::exists(source)) return Status::not_found(source + " does not exist");
  ANNALS_RETURN_IF_ERROR(fsync_path(source, false));

  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !swapping_; });
  swapping_ = true;
  // Every lent connection comes back: transactions under way finish on the
  // old file.
  cv_.wait(lock, [&] {
    return writer_ != nullptr && static_cast<int>(readers_.size()) == readers_open_;
  });
  writer_.reset();
  readers_.clear();
  readers_open_ = 0;

  Status s;
  if (nonempty(path_ + "-wal")) {
    s = Status::unavailable("another process has " + path_ +
                            " open; stop it (or retry once it is done) before swapping");
  } else {
    std::error_code ec;
    std::filesystem::remove(path_ + "-wal", ec);
    std::filesystem::remove(path_ + "-shm", ec);
    std::filesystem::remove(source + "-shm", ec);
    if (::rename(source.c_str(), path_.c_str()) != 0) {
      s = Status::unavailable("cannot rename " + source + " to " + path_ + ": " +
                              std::strerror(errno));
    } else {
      std::string dir = std::filesystem::path(path_).parent_path().string();
      s = fsync_path(dir.empty() ? "." : dir, true);
    }
  }
  auto reopened = SqliteConnection::open(path_, /*read_only=*/false, options_.sqlite_vfs);
  if (reopened.is_ok()) {
    writer_ = std::move(reopened).value();
  } else {
    failed_ = reopened.status().with_context("reopening " + path_ + " after a swap");
    if (s.is_ok()) s = failed_;
  }
  swapping_ = false;
  cv_.notify_all();
  return s;
}

}  // namespace annals::db
