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

int64_t rebuild_events() { return scaled(1000000, 20000); }

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
                 const std::string& admin_url) {
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

// Store::rebuild() over SQLite (`admin_url` empty) or over PostgreSQL.
void rebuild_benchmark(benchmark::State& state, Backend backend) {
  const int64_t n = rebuild_events();
  std::unique_ptr<PgDatabase> pg;
  std::string admin_url;
  if (backend == Backend::kPostgres) {
    pg = PgDatabase::create();
    if (!pg) return skip(state, "no PostgreSQL: set ANNALS_BENCH_PG_URL");
    admin_url = pg->url();
  }
  TempDir dir;
  auto store = filled_store(dir.path(), admin_url, n);
  if (!store.is_ok()) return skip(state, "setup failed: " + store.status().to_string());
  run_rebuild(state, **store, n, admin_url);
  set_pair(state, std::string("rebuild/") + backend_name(backend), Side::kAnnals,
           "Store::rebuild() of " + std::to_string(n) + " token-created events: " +
               (backend == Backend::kSqlite
                    ? "migrate a new SQLite file, replay the journal into it (2000 events a"
                      " transaction), rename it over the live one"
                    : "create and migrate a new schema pair, replay the journal into it (2000"
                      " events a transaction, statements deferred into one round trip per batch),"
                      " swap it in"));
}

void BM_RebuildSqlite(benchmark::State& state) { rebuild_benchmark(state, Backend::kSqlite); }
void BM_RebuildPostgres(benchmark::State& state) { rebuild_benchmark(state, Backend::kPostgres); }

// --- Baselines: the same rows, inserted directly ------------------------------

void BM_SqliteRawInsert(benchmark::State& state) {
  const int64_t n = rebuild_events();
  run_sqlite_raw_insert(state, n, kEventsPerCommand);
  set_pair(state, "rebuild/sqlite", Side::kBaseline,
           "sqlite3 C API: the same " + std::to_string(n) +
               " rows into the same api_tokens table of a fresh file (WAL, synchronous=NORMAL),"
               " one prepared INSERT, 1000 rows a transaction");
}

void BM_PostgresRawInsert(benchmark::State& state) {
  const int64_t n = rebuild_events();
  run_postgres_raw_insert(state, n, kEventsPerCommand, PgInsert::kValues);
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
