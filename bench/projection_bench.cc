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

int64_t sqlite_events() { return scaled(200000, 10000); }
int64_t postgres_events() { return scaled(50000, 3000); }

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

// --- SQLite -------------------------------------------------------------------

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

void BM_SqliteRawInsert(benchmark::State& state) {
  run_sqlite_raw_insert(state, sqlite_events(), kEventsPerCommand);
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

void BM_PostgresRawInsert(benchmark::State& state, PgInsert method) {
  run_postgres_raw_insert(state, postgres_events(), kEventsPerCommand, method);
  set_pair(state, "projection/postgres", Side::kBaseline,
           method == PgInsert::kCopy
               ? "libpqxx stream_to (COPY) of the same rows into an equivalent table without"
                 " row-level security, as superuser, 1000 rows a transaction"
               : "multi-row INSERT ... VALUES, 500 rows a statement, of the same rows into an"
                 " equivalent table without row-level security, as superuser, 1000 rows a"
                 " transaction");
}

BENCHMARK(BM_ProjectSqlite)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SqliteRawInsert)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ProjectPostgres)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_PostgresRawInsert, values, PgInsert::kValues)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_PostgresRawInsert, copy, PgInsert::kCopy)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace annals::bench
