// Rebuild throughput: Store::rebuild() of a journal of N
// token-created events (1,000,000; 20,000 in quick mode) into a new SQLite
// file or a new PostgreSQL schema pair, swapped in at the end. Beside each,
// raw inserts of the same N rows into the same table: the ceiling a replay
// that writes one row per event is measured against.
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "bench/bench_support.h"
#include "bench/token_workload.h"
#include "journal/journal.h"
#include "projections/migrate.h"
#include "repositories/operator.h"

namespace annals::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kEventsPerCommand = 100;  // big commands: the journal is setup
constexpr int64_t kRowsPerTransaction = 1000;
constexpr size_t kPgRowsPerStatement = 500;

int64_t rebuild_events() { return scaled(1000000, 20000); }

void skip(benchmark::State& state, const std::string& why) { state.SkipWithError(why.c_str()); }

// Opens a Store over `data_dir` (SQLite when `database_url` is empty) and
// journals `n` events into it: setup, not timed.
Result<std::unique_ptr<repositories::Store>> filled_store(const std::string& data_dir,
                                                          const std::string& database_url,
                                                          int64_t n) {
  repositories::StoreOptions options;
  options.data_dir = data_dir;
  options.database_url = database_url;
  options.setup_database = true;  // a superuser URL: set it up first
  options.durability = journal::Durability::kNone;
  ANNALS_ASSIGN_OR_RETURN(auto store, repositories::Store::open(options));
  ANNALS_RETURN_IF_ERROR(fill_journal(store->internals().journal(), n, kEventsPerCommand));
  return store;
}

// `admin_url`: PostgreSQL's superuser URL, which the rebuild needs (the
// store keeps none); empty for SQLite.
void run_rebuild(benchmark::State& state, repositories::Store& store, int64_t n,
                 const std::string& admin_url = "") {
  for (auto _ : state) {
    repositories::RebuildRequest request;
    request.admin_url = admin_url;
    auto start = Clock::now();
    auto report = store.rebuild(request);
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (!report.is_ok()) return skip(state, "rebuild failed: " + report.status().to_string());
    if (report->position != store.internals().journal().head()) {
      return skip(state, "rebuild stopped at " + std::to_string(report->position));
    }
    state.SetIterationTime(seconds);
  }
  state.SetItemsProcessed(n * state.iterations());
}

void BM_RebuildSqlite(benchmark::State& state) {
  const int64_t n = rebuild_events();
  TempDir dir;
  auto store = filled_store(dir.path(), "", n);
  if (!store.is_ok()) return skip(state, "setup failed: " + store.status().to_string());
  run_rebuild(state, **store, n);
  set_pair(state, "rebuild/sqlite", Side::kAnnals,
           "Store::rebuild() of " + std::to_string(n) +
               " token-created events: migrate a new SQLite file, replay the journal into it"
               " (2000 events a transaction), rename it over the live one");
}

void BM_RebuildPostgres(benchmark::State& state) {
  const int64_t n = rebuild_events();
  auto pg = PgDatabase::create();
  if (!pg) return skip(state, "no PostgreSQL: set ANNALS_BENCH_PG_URL");
  TempDir dir;
  auto store = filled_store(dir.path(), pg->url(), n);
  if (!store.is_ok()) return skip(state, "setup failed: " + store.status().to_string());
  run_rebuild(state, **store, n, pg->url());
  set_pair(state, "rebuild/postgres", Side::kAnnals,
           "Store::rebuild() of " + std::to_string(n) +
               " token-created events: create and migrate a new schema pair, replay the journal"
               " into it (2000 events a transaction, statements deferred into one round trip per "
               "batch), swap it in");
}

// --- Baselines: the same rows, inserted directly ------------------------------
// Rows are generated a transaction's worth at a time, outside the timed part.

std::vector<TokenRow> chunk(int64_t first, int64_t n) {
  std::vector<TokenRow> rows;
  for (int64_t i = first; i < std::min(n, first + kRowsPerTransaction); ++i) {
    rows.push_back(token_row(i, kEventsPerCommand));
  }
  return rows;
}

Result<double> sqlite_raw_insert(const std::string& path, int64_t n) {
  {
    SystemClock clock;
    ANNALS_ASSIGN_OR_RETURN(auto database, db::Database::open("sqlite:" + path));
    ANNALS_ASSIGN_OR_RETURN(auto migrations,
                            projections::embedded_migrations(db::Dialect::kSqlite));
    ANNALS_RETURN_IF_ERROR(projections::migrate(*database, migrations, clock).status());
  }
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
  if (sqlite3_prepare_v2(db.get(),
                         "INSERT INTO api_tokens (org_id, id, user_id, name, token_prefix,"
                         " token_hash, scopes, status, created_at, updated_at, version,"
                         " created_position) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10,"
                         " ?11)",
                         -1, &stmt_raw, nullptr) != SQLITE_OK) {
    return Status::internal(std::string("prepare: ") + sqlite3_errmsg(db.get()));
  }
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(stmt_raw, sqlite3_finalize);
  auto text = [&](int i, const std::string& v) {
    sqlite3_bind_text(stmt.get(), i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  };
  Clock::duration spent{};
  for (int64_t first = 0; first < n; first += kRowsPerTransaction) {
    std::vector<TokenRow> rows = chunk(first, n);
    auto start = Clock::now();
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
    ANNALS_RETURN_IF_ERROR(exec("COMMIT"));
    spent += Clock::now() - start;
  }
  return std::chrono::duration<double>(spent).count();
}

void BM_SqliteRawInsert(benchmark::State& state) {
  const int64_t n = rebuild_events();
  TempDir dir;
  int run = 0;
  for (auto _ : state) {
    auto seconds = sqlite_raw_insert(dir.sub("raw" + std::to_string(run++) + ".sqlite"), n);
    if (!seconds.is_ok()) return skip(state, "raw insert failed: " + seconds.status().to_string());
    state.SetIterationTime(*seconds);
  }
  state.SetItemsProcessed(n * state.iterations());
  set_pair(state, "rebuild/sqlite", Side::kBaseline,
           "sqlite3 C API: the same " + std::to_string(n) +
               " rows into the same api_tokens table of a fresh file (WAL, synchronous=NORMAL),"
               " one prepared INSERT, 1000 rows a transaction");
}

double pg_raw_insert(const std::string& url, int64_t n) {
  pqxx::connection conn(url);
  {
    pqxx::work tx(conn);
    tx.exec(
        "CREATE TABLE raw_api_tokens ("
        " org_id TEXT COLLATE \"C\" NOT NULL, id TEXT COLLATE \"C\" NOT NULL,"
        " user_id TEXT COLLATE \"C\" NOT NULL, name TEXT NOT NULL DEFAULT '',"
        " token_prefix TEXT COLLATE \"C\" NOT NULL, token_hash TEXT NOT NULL,"
        " scopes TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('active', 'inactive')),"
        " created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, version BIGINT NOT NULL,"
        " created_position BIGINT NOT NULL, last_deactivated_at BIGINT,"
        " PRIMARY KEY (org_id, id));"
        "CREATE UNIQUE INDEX raw_api_tokens_prefix ON raw_api_tokens (token_prefix);"
        "CREATE INDEX raw_api_tokens_user_created"
        " ON raw_api_tokens (org_id, user_id, created_at DESC, created_position DESC);");
    tx.commit();
  }
  Clock::duration spent{};
  for (int64_t first = 0; first < n; first += kRowsPerTransaction) {
    std::vector<TokenRow> rows = chunk(first, n);
    auto start = Clock::now();
    pqxx::work tx(conn);
    for (size_t s = 0; s < rows.size(); s += kPgRowsPerStatement) {
      std::string sql =
          "INSERT INTO raw_api_tokens (org_id, id, user_id, name, token_prefix, token_hash,"
          " scopes, status, created_at, updated_at, version, created_position) VALUES ";
      for (size_t i = s; i < std::min(rows.size(), s + kPgRowsPerStatement); ++i) {
        const TokenRow& r = rows[i];
        sql += (i == s ? "(" : ",(") + tx.quote(r.org_id) + "," + tx.quote(r.id) + "," +
               tx.quote(r.user_id) + "," + tx.quote(r.name) + "," + tx.quote(r.token_prefix) + "," +
               tx.quote(r.token_hash) + "," + tx.quote(r.scopes) + "," + tx.quote(r.status) + "," +
               std::to_string(r.at) + "," + std::to_string(r.at) + "," + std::to_string(r.version) +
               "," + std::to_string(r.position) + ")";
      }
      tx.exec(sql);
    }
    tx.commit();
    spent += Clock::now() - start;
  }
  return std::chrono::duration<double>(spent).count();
}

void BM_PostgresRawInsert(benchmark::State& state) {
  const int64_t n = rebuild_events();
  for (auto _ : state) {
    auto pg = PgDatabase::create();
    if (!pg) return skip(state, "no PostgreSQL: set ANNALS_BENCH_PG_URL");
    try {
      state.SetIterationTime(pg_raw_insert(pg->url(), n));
    } catch (const std::exception& e) {
      return skip(state, std::string("raw insert failed: ") + e.what());
    }
  }
  state.SetItemsProcessed(n * state.iterations());
  set_pair(state, "rebuild/postgres", Side::kBaseline,
           "multi-row INSERT ... VALUES, 500 rows a statement, 1000 rows a transaction, of the"
           " same " +
               std::to_string(n) +
               " rows into an equivalent table without row-level security, as superuser");
}

BENCHMARK(BM_RebuildSqlite)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SqliteRawInsert)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RebuildPostgres)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PostgresRawInsert)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace annals::bench
