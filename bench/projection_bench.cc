// Projection throughput: a Projector (the standard projections, inline)
// catching a fresh read database up with a journal of token-created events,
// into SQLite and into PostgreSQL (as annals_projector, under row-level
// security). Beside each, raw inserts of the same rows into the same table:
// what the projector costs over writing the rows directly.
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <tuple>
#include <vector>

#include "bench/bench_support.h"
#include "bench/token_workload.h"
#include "journal/journal.h"
#include "projections/migrate.h"
#include "projections/postgres_setup.h"
#include "projections/projector.h"
#include "projections/standard_projections.h"
#include "repositories/operator.h"

namespace annals::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kEventsPerCommand = 10;
constexpr int64_t kRowsPerTransaction = 1000;
constexpr int64_t kPgRowsPerStatement = 500;

int64_t sqlite_events() { return scaled(200000, 10000); }
int64_t postgres_events() { return scaled(50000, 3000); }

std::vector<TokenRow> token_rows(int64_t n) {
  std::vector<TokenRow> rows;
  rows.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) rows.push_back(token_row(i, kEventsPerCommand));
  return rows;
}

Result<std::unique_ptr<journal::Journal>> filled_journal(const TempDir& dir, int64_t n) {
  journal::Options options;
  options.durability = journal::Durability::kNone;
  ANNALS_ASSIGN_OR_RETURN(auto journal,
                          journal::Journal::open_rocksdb(dir.sub("journal"), options));
  ANNALS_RETURN_IF_ERROR(fill_journal(*journal, n, kEventsPerCommand));
  return journal;
}

// Times Projector::catch_up over `database` (already migrated).
Result<double> time_catch_up(journal::Journal& journal, db::Database& database) {
  projections::Projector projector(journal, database, projections::standard_projections());
  ANNALS_RETURN_IF_ERROR(projector.start());
  auto start = Clock::now();
  ANNALS_ASSIGN_OR_RETURN(uint64_t reached, projector.catch_up());
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (reached != journal.head()) {
    return Status::internal("projector reached " + std::to_string(reached) + " of " +
                            std::to_string(journal.head()));
  }
  return seconds;
}

void skip(benchmark::State& state, const std::string& why) { state.SkipWithError(why.c_str()); }

// --- SQLite -------------------------------------------------------------------

Result<std::unique_ptr<db::Database>> migrated_sqlite(const std::string& path) {
  SystemClock clock;
  ANNALS_ASSIGN_OR_RETURN(auto database, db::Database::open("sqlite:" + path));
  ANNALS_ASSIGN_OR_RETURN(auto migrations, projections::embedded_migrations(db::Dialect::kSqlite));
  ANNALS_RETURN_IF_ERROR(projections::migrate(*database, migrations, clock).status());
  return database;
}

void BM_ProjectSqlite(benchmark::State& state) {
  const int64_t n = sqlite_events();
  TempDir dir;
  auto journal = filled_journal(dir, n);
  if (!journal.is_ok()) return skip(state, "journal setup failed: " + journal.status().to_string());
  int run = 0;
  for (auto _ : state) {
    auto database = migrated_sqlite(dir.sub("read" + std::to_string(run++) + ".sqlite"));
    if (!database.is_ok())
      return skip(state, "SQLite setup failed: " + database.status().to_string());
    auto seconds = time_catch_up(**journal, **database);
    if (!seconds.is_ok()) return skip(state, "projection failed: " + seconds.status().to_string());
    state.SetIterationTime(*seconds);
  }
  state.SetItemsProcessed(n * state.iterations());
  set_pair(state, "projection/sqlite", Side::kAnnals,
           "Projector::catch_up (standard projections, 1000 events a transaction) of " +
               std::to_string(n) + " token-created events into a fresh SQLite file");
}

// Prepared INSERT of the rows into api_tokens of a freshly migrated file;
// returns the seconds spent inserting.
Result<double> sqlite_raw_insert(const std::string& path, const std::vector<TokenRow>& rows) {
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
  auto start = Clock::now();
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i % kRowsPerTransaction == 0) ANNALS_RETURN_IF_ERROR(exec("BEGIN"));
    const TokenRow& r = rows[i];
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
    if ((i + 1) % kRowsPerTransaction == 0 || i + 1 == rows.size()) {
      ANNALS_RETURN_IF_ERROR(exec("COMMIT"));
    }
  }
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void BM_SqliteRawInsert(benchmark::State& state) {
  const int64_t n = sqlite_events();
  TempDir dir;
  std::vector<TokenRow> rows = token_rows(n);
  int run = 0;
  for (auto _ : state) {
    auto seconds = sqlite_raw_insert(dir.sub("raw" + std::to_string(run++) + ".sqlite"), rows);
    if (!seconds.is_ok()) return skip(state, "raw insert failed: " + seconds.status().to_string());
    state.SetIterationTime(*seconds);
  }
  state.SetItemsProcessed(n * state.iterations());
  set_pair(state, "projection/sqlite", Side::kBaseline,
           "sqlite3 C API: the same rows into the same api_tokens table (WAL, synchronous=NORMAL),"
           " one prepared INSERT, 1000 rows a transaction");
}

// --- PostgreSQL ---------------------------------------------------------------

void BM_ProjectPostgres(benchmark::State& state) {
  const int64_t n = postgres_events();
  if (pg_server_url().empty()) return skip(state, "no PostgreSQL: set ANNALS_BENCH_PG_URL");
  TempDir dir;
  auto journal = filled_journal(dir, n);
  if (!journal.is_ok()) return skip(state, "journal setup failed: " + journal.status().to_string());
  for (auto _ : state) {
    // A fresh database per run: setup (roles, schemas, migrations) as the
    // superuser, then project as annals_projector, as the Store does.
    auto fresh = PgDatabase::create();
    if (!fresh) return skip(state, "no PostgreSQL: set ANNALS_BENCH_PG_URL");
    SystemClock clock;
    auto set_up = db::setup_postgres(fresh->url(), std::nullopt, clock);
    if (!set_up.is_ok())
      return skip(state, "PostgreSQL setup failed: " + set_up.status().to_string());
    auto connections = repositories::connect_postgres(fresh->url(), "", std::nullopt, clock);
    if (!connections.is_ok()) {
      return skip(state, "PostgreSQL setup failed: " + connections.status().to_string());
    }
    auto seconds = time_catch_up(**journal, *connections->projector);
    if (!seconds.is_ok()) return skip(state, "projection failed: " + seconds.status().to_string());
    state.SetIterationTime(*seconds);
  }
  state.SetItemsProcessed(n * state.iterations());
  set_pair(state, "projection/postgres", Side::kAnnals,
           "Projector::catch_up (standard projections, 1000 events a transaction, statements"
           " deferred into one round trip per batch) of " +
               std::to_string(n) +
               " token-created events into fresh PostgreSQL schemas, as annals_projector under"
               " row-level security");
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

std::vector<std::string> row_fields(const TokenRow& r) {
  return {r.org_id,
          r.id,
          r.user_id,
          r.name,
          r.token_prefix,
          r.token_hash,
          r.scopes,
          r.status,
          std::to_string(r.at),
          std::to_string(r.at),
          std::to_string(r.version),
          std::to_string(r.position)};
}

enum class PgMethod { kValues, kCopy };

// Inserts the rows into a fresh raw_api_tokens, 1000 rows a transaction;
// returns the seconds spent inserting.
double pg_raw_insert(const std::string& url, const std::vector<TokenRow>& rows, PgMethod method) {
  pqxx::connection conn(url);
  create_raw_table(conn);
  std::string columns;
  for (const auto& c : raw_columns()) columns += (columns.empty() ? "" : ", ") + c;
  auto start = Clock::now();
  for (size_t first = 0; first < rows.size(); first += kRowsPerTransaction) {
    size_t end = std::min(rows.size(), first + static_cast<size_t>(kRowsPerTransaction));
    pqxx::work tx(conn);
    if (method == PgMethod::kCopy) {
      pqxx::stream_to copy(tx, "raw_api_tokens", raw_columns());
      for (size_t i = first; i < end; ++i) {
        const TokenRow& r = rows[i];
        copy << std::make_tuple(r.org_id, r.id, r.user_id, r.name, r.token_prefix, r.token_hash,
                                r.scopes, r.status, r.at, r.at, r.version, r.position);
      }
      copy.complete();
    } else {
      for (size_t s = first; s < end; s += kPgRowsPerStatement) {
        size_t stop = std::min(end, s + static_cast<size_t>(kPgRowsPerStatement));
        std::string sql = "INSERT INTO raw_api_tokens (" + columns + ") VALUES ";
        for (size_t i = s; i < stop; ++i) {
          sql += i == s ? "(" : ",(";
          bool first_field = true;
          for (const auto& f : row_fields(rows[i])) {
            if (!first_field) sql += ',';
            sql += tx.quote(f);
            first_field = false;
          }
          sql += ')';
        }
        tx.exec(sql);
      }
    }
    tx.commit();
  }
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void BM_PostgresRawInsert(benchmark::State& state, PgMethod method) {
  const int64_t n = postgres_events();
  std::vector<TokenRow> rows = token_rows(n);
  for (auto _ : state) {
    auto pg = PgDatabase::create();
    if (!pg) return skip(state, "no PostgreSQL: set ANNALS_BENCH_PG_URL");
    try {
      state.SetIterationTime(pg_raw_insert(pg->url(), rows, method));
    } catch (const std::exception& e) {
      return skip(state, std::string("raw insert failed: ") + e.what());
    }
  }
  state.SetItemsProcessed(n * state.iterations());
  set_pair(state, "projection/postgres", Side::kBaseline,
           method == PgMethod::kCopy
               ? "libpqxx stream_to (COPY) of the same rows into an equivalent table without"
                 " row-level security, as superuser, 1000 rows a transaction"
               : "multi-row INSERT ... VALUES, 500 rows a statement, of the same rows into an"
                 " equivalent table without row-level security, as superuser, 1000 rows a"
                 " transaction");
}

BENCHMARK(BM_ProjectSqlite)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SqliteRawInsert)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ProjectPostgres)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_PostgresRawInsert, values, PgMethod::kValues)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_PostgresRawInsert, copy, PgMethod::kCopy)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace annals::bench
