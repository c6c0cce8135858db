// Command issued → visible to a query: a token created through the Store,
// then found by its prefix. With the inline projector create() returns once
// the row is in the read table; with the background projector create()
// returns once the projector thread has applied it (read-your-writes waits
// for it). Baseline: one durable INSERT of the same row straight into a
// table, then the same SELECT.
#include <sqlite3.h>

#include <chrono>
#include <memory>
#include <pqxx/pqxx>
#include <string>

#include "bench/bench_support.h"
#include "journal/journal.h"
#include "repositories/operator.h"

namespace annals::bench {
namespace {

using repositories::Store;
using Clock = std::chrono::steady_clock;

std::string pair_of(Backend backend, projections::ProjectorMode mode) {
  std::string pair = std::string("end to end/") + backend_name(backend);
  if (mode == projections::ProjectorMode::kBackground) pair += "/background projector";
  return pair;
}

repositories::NewApiToken token_number(int64_t i) {
  repositories::NewApiToken t;
  t.id = "tok-" + std::to_string(i);
  t.user_id = "user-" + std::to_string(i % 10);
  t.name = "laptop " + std::to_string(i);
  t.token_prefix = "bodhiapp_e" + std::to_string(i);
  t.token_hash = std::string(64, 'h');
  t.scopes = "scope_token_user";
  return t;
}

void finish(benchmark::State& state, Latencies& latencies) {
  state.SetItemsProcessed(state.iterations());
  latencies.report(state);
}

void BM_Annals(benchmark::State& state, Backend backend, projections::ProjectorMode mode) {
  const bool inline_mode = mode == projections::ProjectorMode::kInline;
  const std::string what = std::string("Store tokens().create (durability sync, ") +
                           (inline_mode ? "inline" : "background") +
                           " projector) then get_by_prefix" +
                           (backend == Backend::kPostgres ? ", PostgreSQL under RLS" : "");
  auto bench = open_bench_store(state, backend, mode, pair_of(backend, mode), what);
  if (!bench) return;
  auto& tokens = bench->store->tokens();
  // Warm up (statements prepared, connections open); not timed.
  int64_t next = 0;
  for (int i = 0; i < 20; ++i) {
    auto r = tokens.create("default", token_number(next++));
    if (!r.is_ok()) {
      state.SkipWithError(("warm-up create: " + r.status().to_string()).c_str());
      return;
    }
  }
  Latencies latencies;
  for (auto _ : state) {
    auto token = token_number(next++);
    auto start = Clock::now();
    auto created = tokens.create("default", token);
    if (!created.is_ok()) {
      state.SkipWithError(("create: " + created.status().to_string()).c_str());
      break;
    }
    auto found = tokens.get_by_prefix(token.token_prefix);
    latencies.add(Clock::now() - start);
    if (!found.is_ok()) {
      state.SkipWithError(("get_by_prefix: " + found.status().to_string()).c_str());
      break;
    }
    benchmark::DoNotOptimize(found);
  }
  finish(state, latencies);
}

// --- baselines: the same row straight into a table -----------------------------

constexpr const char* kSqliteSchema = R"sql(
CREATE TABLE api_tokens (
  org_id TEXT NOT NULL, id TEXT NOT NULL, user_id TEXT NOT NULL, name TEXT NOT NULL,
  token_prefix TEXT NOT NULL, token_hash TEXT NOT NULL, scopes TEXT NOT NULL,
  status TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  PRIMARY KEY (org_id, id)) STRICT;
CREATE UNIQUE INDEX api_tokens_prefix ON api_tokens (token_prefix);
)sql";

constexpr const char* kInsertSqlite =
    "INSERT INTO api_tokens (org_id, id, user_id, name, token_prefix, token_hash, scopes, status,"
    " created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'active', ?8, ?8)";
constexpr const char* kSelectSqlite =
    "SELECT org_id, id, user_id, name, token_prefix, token_hash, scopes, status, created_at,"
    " updated_at FROM api_tokens WHERE token_prefix = ?1";

// Owns a connection and its two statements.
struct SqliteTable {
  sqlite3* db = nullptr;
  sqlite3_stmt* insert = nullptr;
  sqlite3_stmt* select = nullptr;
  ~SqliteTable() {
    sqlite3_finalize(insert);
    sqlite3_finalize(select);
    if (db) sqlite3_close(db);
  }
};

void BM_SqliteBaseline(benchmark::State& state, projections::ProjectorMode mode) {
  set_pair(state, pair_of(Backend::kSqlite, mode), Side::kBaseline,
           "one INSERT (own transaction, WAL, synchronous=FULL) then SELECT by prefix, sqlite3");
  TempDir dir;
  SqliteTable t;
  std::string path = dir.sub("direct.sqlite");
  if (sqlite3_open(path.c_str(), &t.db) != SQLITE_OK ||
      sqlite3_exec(t.db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", nullptr, nullptr,
                   nullptr) != SQLITE_OK ||
      sqlite3_exec(t.db, kSqliteSchema, nullptr, nullptr, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(t.db, kInsertSqlite, -1, &t.insert, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(t.db, kSelectSqlite, -1, &t.select, nullptr) != SQLITE_OK) {
    state.SkipWithError((std::string("SQLite: ") + sqlite3_errmsg(t.db)).c_str());
    return;
  }
  Latencies latencies;
  const std::string org = "default";
  int64_t next = 0;
  for (auto _ : state) {
    auto token = token_number(next++);
    auto start = Clock::now();
    const std::string* text[] = {&org,         &token.id,           &token.user_id,
                                 &token.name,  &token.token_prefix, &token.token_hash,
                                 &token.scopes};
    for (int p = 0; p < 7; ++p) {
      sqlite3_bind_text(t.insert, p + 1, text[p]->data(), static_cast<int>(text[p]->size()),
                        SQLITE_STATIC);
    }
    sqlite3_bind_int64(t.insert, 8, now_micros());
    int rc = sqlite3_step(t.insert);
    sqlite3_reset(t.insert);
    int rows = 0;
    if (rc == SQLITE_DONE) {
      sqlite3_bind_text(t.select, 1, token.token_prefix.data(),
                        static_cast<int>(token.token_prefix.size()), SQLITE_STATIC);
      while (sqlite3_step(t.select) == SQLITE_ROW) {
        ++rows;
        std::string copy(reinterpret_cast<const char*>(sqlite3_column_text(t.select, 4)));
        benchmark::DoNotOptimize(copy);
      }
      sqlite3_reset(t.select);
    }
    latencies.add(Clock::now() - start);
    if (rows != 1) {
      state.SkipWithError((std::string("SQLite: ") + sqlite3_errmsg(t.db)).c_str());
      break;
    }
  }
  finish(state, latencies);
}

void BM_PgBaseline(benchmark::State& state, projections::ProjectorMode mode) {
  const std::string what =
      "one INSERT (autocommit, synchronous_commit on) then SELECT by prefix, superuser, "
      "pqxx prepared";
  auto pg = pg_database_for(state, pair_of(Backend::kPostgres, mode), Side::kBaseline, what);
  if (!pg) return;
  Latencies latencies;
  try {
    pqxx::connection conn(pg->url());
    {
      pqxx::nontransaction tx(conn);
      tx.exec("SET synchronous_commit = on");
      tx.exec(
          "CREATE TABLE api_tokens (org_id TEXT COLLATE \"C\" NOT NULL, id TEXT COLLATE \"C\" "
          "NOT NULL, user_id TEXT COLLATE \"C\" NOT NULL, name TEXT NOT NULL, token_prefix TEXT "
          "COLLATE \"C\" NOT NULL, token_hash TEXT NOT NULL, scopes TEXT NOT NULL, status TEXT "
          "NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, PRIMARY KEY "
          "(org_id, id))");
      tx.exec("CREATE UNIQUE INDEX api_tokens_prefix ON api_tokens (token_prefix)");
    }
    conn.prepare("insert",
                 "INSERT INTO api_tokens (org_id, id, user_id, name, token_prefix, token_hash,"
                 " scopes, status, created_at, updated_at)"
                 " VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, $8)");
    conn.prepare("select",
                 "SELECT org_id, id, user_id, name, token_prefix, token_hash, scopes, status,"
                 " created_at, updated_at FROM api_tokens WHERE token_prefix = $1");
    int64_t next = 0;
    for (auto _ : state) {
      auto token = token_number(next++);
      auto start = Clock::now();
      pqxx::nontransaction tx(conn);
      tx.exec_prepared("insert", "default", token.id, token.user_id, token.name, token.token_prefix,
                       token.token_hash, token.scopes, now_micros());
      auto r = tx.exec_prepared("select", token.token_prefix);
      std::string copy = r.empty() ? "" : r[0][4].c_str();
      latencies.add(Clock::now() - start);
      benchmark::DoNotOptimize(copy);
      if (r.size() != 1) {
        state.SkipWithError("the row is not there");
        break;
      }
    }
  } catch (const std::exception& e) {
    state.SkipWithError((std::string("PostgreSQL: ") + e.what()).c_str());
    return;
  }
  finish(state, latencies);
}

using projections::ProjectorMode;

// Each pair as the Annals side, then its baseline, the same number of times:
// BM_Annals/sqlite_inline beside BM_SqliteBaseline/sqlite, ...
const bool registered = [] {
  for (Backend backend : {Backend::kSqlite, Backend::kPostgres}) {
    const bool sqlite = backend == Backend::kSqlite;
    const int64_t iterations = sqlite ? scaled(2000, 200) : scaled(1000, 100);
    for (ProjectorMode mode : {ProjectorMode::kInline, ProjectorMode::kBackground}) {
      const bool inline_mode = mode == ProjectorMode::kInline;
      const std::string annals_name = std::string("BM_Annals/") + backend_name(backend) +
                                      (inline_mode ? "_inline" : "_background");
      const std::string baseline_name =
          std::string(sqlite ? "BM_SqliteBaseline/" : "BM_PgBaseline/") + backend_name(backend) +
          (inline_mode ? "" : "_for_background");
      register_latency_pair(
          annals_name, [=](benchmark::State& state) { BM_Annals(state, backend, mode); },
          baseline_name,
          [=](benchmark::State& state) {
            sqlite ? BM_SqliteBaseline(state, mode) : BM_PgBaseline(state, mode);
          },
          iterations);
    }
  }
  return true;
}();

}  // namespace
}  // namespace annals::bench
