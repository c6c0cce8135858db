#include "bench/token_workload.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <pqxx/pqxx>
#include <tuple>
#include <vector>

#include "bench/bench_support.h"
#include "journal/journal.h"
#include "projections/migrate.h"
#include "repositories/token_repository.h"

namespace annals::bench {

TokenRow token_row(int64_t i, int per_command) {
  constexpr int kOrgs = 8;
  char id[48];
  std::snprintf(id, sizeof id, "00000000-7f3a-4c1e-9b2d-%012llx",
                static_cast<unsigned long long>(i));
  char prefix[32];
  std::snprintf(prefix, sizeof prefix, "bodhiapp_%016llx", static_cast<unsigned long long>(i));
  TokenRow r;
  r.org_id = "org-" + std::to_string((i / per_command) % kOrgs);
  r.id = id;
  r.user_id = "user-" + std::to_string(i % 97);
  r.name = "laptop";
  r.token_prefix = prefix;
  r.token_hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
  r.scopes = "scope_token_user";
  r.status = "active";
  r.at = 1718000000000000 + i;
  r.position = i + 1;
  return r;
}

Status fill_journal(journal::Journal& journal, int64_t n, int per_command) {
  for (int64_t first = 0; first < n; first += per_command) {
    journal::AppendRequest request;
    TokenRow head = token_row(first, per_command);
    request.org_id = head.org_id;
    request.idempotency_key = "token.create/" + head.id;
    for (int64_t i = first; i < std::min(n, first + per_command); ++i) {
      TokenRow r = token_row(i, per_command);
      std::string stream = "token/" + r.id;
      events::NewEvent event(r.org_id, stream, r.user_id);
      repositories::fill_token_created(event.payload().initTokenCreated(),
                                       {r.id, r.user_id, r.name, r.token_prefix, r.token_hash,
                                        r.scopes, repositories::TokenStatus::kActive});
      event.stamp_version();
      request.events.push_back(std::move(event));
      request.expectations.push_back({stream, journal::ExpectedVersion::no_stream()});
      request.reservations.push_back(
          journal::Reservation::claim("token.prefix", r.token_prefix, stream, true));
    }
    auto appended = journal.append(std::move(request));
    if (!appended.is_ok()) return appended.status();
  }
  return Status::ok();
}

Result<std::unique_ptr<db::Database>> migrated_sqlite(const std::string& path) {
  SystemClock clock;
  ANNALS_ASSIGN_OR_RETURN(auto database, db::Database::open("sqlite:" + path));
  ANNALS_ASSIGN_OR_RETURN(auto migrations, projections::embedded_migrations(db::Dialect::kSqlite));
  ANNALS_RETURN_IF_ERROR(projections::migrate(*database, migrations, clock).status());
  return database;
}

namespace {

using Clock = std::chrono::steady_clock;

constexpr int64_t kRowsPerTransaction = 1000;
constexpr size_t kPgRowsPerStatement = 500;

// Tokens first.. of 0..n-1: one transaction's worth.
std::vector<TokenRow> chunk(int64_t first, int64_t n, int per_command) {
  std::vector<TokenRow> rows;
  for (int64_t i = first; i < std::min(n, first + kRowsPerTransaction); ++i) {
    rows.push_back(token_row(i, per_command));
  }
  return rows;
}

// Runs insert(rows), a Status, on each transaction's worth of rows in turn;
// returns the seconds spent in it.
template <typename Insert>
Result<double> time_chunks(int64_t n, int per_command, Insert insert) {
  Clock::duration spent{};
  for (int64_t first = 0; first < n; first += kRowsPerTransaction) {
    std::vector<TokenRow> rows = chunk(first, n, per_command);
    auto start = Clock::now();
    ANNALS_RETURN_IF_ERROR(insert(rows));
    spent += Clock::now() - start;
  }
  return std::chrono::duration<double>(spent).count();
}

Result<double> sqlite_raw_insert(const std::string& path, int64_t n, int per_command) {
  { ANNALS_ASSIGN_OR_RETURN(auto database, migrated_sqlite(path)); }
  sqlite3* raw = nullptr;
  if (sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    sqlite3_close(raw);
    return Status::unavailable("cannot open " + path);
  }
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> db(raw, sqlite3_close);
  auto exec = [&](const char* sql) -> Status {
    char* msg = nullptr;
    if (sqlite3_exec(db.get(), sql, nullptr, nullptr, &msg) == SQLITE_OK) return Status::ok();
    std::string what = msg ? msg : "?";
    sqlite3_free(msg);
    return Status::internal(std::string(sql) + ": " + what);
  };
  ANNALS_RETURN_IF_ERROR(exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"));
  sqlite3_stmt* stmt_raw = nullptr;
  const char* sql =
      "INSERT INTO api_tokens (org_id, id, user_id, name, token_prefix, token_hash, scopes,"
      " status, created_at, updated_at, version, created_position)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10, ?11)";
  if (sqlite3_prepare_v2(db.get(), sql, -1, &stmt_raw, nullptr) != SQLITE_OK) {
    return Status::internal(std::string("prepare: ") + sqlite3_errmsg(db.get()));
  }
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(stmt_raw, sqlite3_finalize);
  auto text = [&](int i, const std::string& v) {
    sqlite3_bind_text(stmt.get(), i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  };
  return time_chunks(n, per_command, [&](const std::vector<TokenRow>& rows) -> Status {
    ANNALS_RETURN_IF_ERROR(exec("BEGIN"));
    for (const TokenRow& r : rows) {
      text(1, r.org_id);
      text(2, r.id);
      text(3, r.user_id);
      text(4, r.name);
      text(5, r.token_prefix);
      text(6, r.token_hash);
      text(7, r.scopes);
      text(8, r.status);
      sqlite3_bind_int64(stmt.get(), 9, r.at);
      sqlite3_bind_int64(stmt.get(), 10, r.version);
      sqlite3_bind_int64(stmt.get(), 11, r.position);
      if (sqlite3_step(stmt.get()) != SQLITE_DONE) {
        return Status::internal(std::string("insert: ") + sqlite3_errmsg(db.get()));
      }
      sqlite3_reset(stmt.get());
    }
    return exec("COMMIT");
  });
}

const std::vector<std::string>& raw_columns() {
  static const std::vector<std::string> columns = {
      "org_id", "id",     "user_id",    "name",       "token_prefix", "token_hash",
      "scopes", "status", "created_at", "updated_at", "version",      "created_position"};
  return columns;
}

// api_tokens as migrations/postgres/0003 creates it, without row-level security.
void create_raw_table(pqxx::connection& conn) {
  pqxx::work tx(conn);
  tx.exec(
      "CREATE TABLE raw_api_tokens ("
      " org_id TEXT COLLATE \"C\" NOT NULL, id TEXT COLLATE \"C\" NOT NULL,"
      " user_id TEXT COLLATE \"C\" NOT NULL, name TEXT NOT NULL DEFAULT '',"
      " token_prefix TEXT COLLATE \"C\" NOT NULL, token_hash TEXT NOT NULL, scopes TEXT NOT NULL,"
      " status TEXT NOT NULL CHECK (status IN ('active', 'inactive')),"
      " created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, version BIGINT NOT NULL,"
      " created_position BIGINT NOT NULL, last_deactivated_at BIGINT, PRIMARY KEY (org_id, id));"
      "CREATE UNIQUE INDEX raw_api_tokens_prefix ON raw_api_tokens (token_prefix);"
      "CREATE INDEX raw_api_tokens_user_created"
      " ON raw_api_tokens (org_id, user_id, created_at DESC, created_position DESC);");
  tx.commit();
}

// "(org_id, ..., created_position)" as SQL literals.
std::string values_of(pqxx::work& tx, const TokenRow& r) {
  return "(" + tx.quote(r.org_id) + "," + tx.quote(r.id) + "," + tx.quote(r.user_id) + "," +
         tx.quote(r.name) + "," + tx.quote(r.token_prefix) + "," + tx.quote(r.token_hash) + "," +
         tx.quote(r.scopes) + "," + tx.quote(r.status) + "," + std::to_string(r.at) + "," +
         std::to_string(r.at) + "," + std::to_string(r.version) + "," + std::to_string(r.position) +
         ")";
}

// Throws on a PostgreSQL error.
Result<double> pg_raw_insert(const std::string& url, int64_t n, int per_command, PgInsert method) {
  pqxx::connection conn(url);
  create_raw_table(conn);
  std::string columns;
  for (const auto& c : raw_columns()) columns += (columns.empty() ? "" : ", ") + c;
  return time_chunks(n, per_command, [&](const std::vector<TokenRow>& rows) -> Status {
    pqxx::work tx(conn);
    if (method == PgInsert::kCopy) {
      pqxx::stream_to copy(tx, "raw_api_tokens", raw_columns());
      for (const TokenRow& r : rows) {
        copy << std::make_tuple(r.org_id, r.id, r.user_id, r.name, r.token_prefix, r.token_hash,
                                r.scopes, r.status, r.at, r.at, r.version, r.position);
      }
      copy.complete();
    } else {
      for (size_t s = 0; s < rows.size(); s += kPgRowsPerStatement) {
        std::string sql = "INSERT INTO raw_api_tokens (" + columns + ") VALUES ";
        for (size_t i = s; i < std::min(rows.size(), s + kPgRowsPerStatement); ++i) {
          sql += (i == s ? "" : ",") + values_of(tx, rows[i]);
        }
        tx.exec(sql);
      }
    }
    tx.commit();
    return Status::ok();
  });
}

}  // namespace

void run_sqlite_raw_insert(benchmark::State& state, int64_t n, int per_command) {
  TempDir dir;
  int run = 0;
  for (auto _ : state) {
    auto seconds =
        sqlite_raw_insert(dir.sub("raw" + std::to_string(run++) + ".sqlite"), n, per_command);
    if (!seconds.is_ok()) return skip(state, "raw insert failed: " + seconds.status().to_string());
    state.SetIterationTime(*seconds);
  }
  state.SetItemsProcessed(n * state.iterations());
}

void run_postgres_raw_insert(benchmark::State& state, int64_t n, int per_command, PgInsert method) {
  for (auto _ : state) {
    auto pg = PgDatabase::create();
    if (!pg) return skip(state, "no PostgreSQL: set ANNALS_BENCH_PG_URL");
    try {
      state.SetIterationTime(*pg_raw_insert(pg->url(), n, per_command, method));
    } catch (const std::exception& e) {
      return skip(state, std::string("raw insert failed: ") + e.what());
    }
  }
  state.SetItemsProcessed(n * state.iterations());
}

}  // namespace annals::bench
