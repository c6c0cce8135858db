// The direct-write baseline: one mixed repository workload written through
// Annals (durable journal append + inline projection) and straight into
// tables the way a classic app does it (one transaction per call, prepared
// statements, uniqueness as constraints), with 1 and 4 writer threads.
//
// One mix = 5 calls over 4 repositories, alternating between 2 orgs:
// create a token, update it, upsert a setting, create a toolset, create an
// MCP server. Every call is durable when it returns on both sides.
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "bench/bench_support.h"
#include "journal/journal.h"
#include "repositories/operator.h"

namespace annals::bench {
namespace {

using repositories::Store;
using Clock = std::chrono::steady_clock;

constexpr int kCallsPerMix = 5;

std::string org_of(int64_t n) { return n % 2 == 0 ? "org-a" : "org-b"; }
std::string user_of(int64_t n) { return "user-" + std::to_string(n % 8); }
std::string num(int64_t n) { return std::to_string(n); }

// One writer thread's connection. Not thread-safe; one per thread.
class Session {
 public:
  virtual ~Session() = default;
  // Call `k` (0..kCallsPerMix-1) of mix `n`; an error message, or empty.
  virtual std::string call(int k, int64_t n) = 0;
};

// Runs `mixes` mixes over the sessions (one thread each), timing each call.
// Returns the first error, or empty.
std::string run_mixes(std::vector<std::unique_ptr<Session>>& sessions, int64_t mixes,
                      Latencies& latencies) {
  std::atomic<int64_t> next{0};
  std::mutex mu;
  std::string first_error;
  std::vector<std::thread> threads;
  for (auto& session : sessions) {
    threads.emplace_back([&, s = session.get()] {
      for (int64_t n = next++; n < mixes; n = next++) {
        for (int k = 0; k < kCallsPerMix; ++k) {
          auto start = Clock::now();
          std::string e = s->call(k, n);
          latencies.add(Clock::now() - start);
          if (!e.empty()) {
            std::lock_guard lock(mu);
            if (first_error.empty()) first_error = e;
            next = mixes;
            return;
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  return first_error;
}

// The benchmark body shared by every side: sessions are made before the
// clock starts; the one timed iteration runs every mix.
void run(benchmark::State& state, std::vector<std::unique_ptr<Session>>& sessions) {
  const int64_t mixes = scaled(1000, 120);
  Latencies latencies;
  std::string error;
  for (auto _ : state) error = run_mixes(sessions, mixes, latencies);
  if (!error.empty()) {
    state.SkipWithError(error.c_str());
    return;
  }
  state.SetItemsProcessed(mixes * kCallsPerMix);
  state.counters["threads"] = static_cast<double>(sessions.size());
  latencies.report(state);
}

std::string pair_of(Backend backend, int threads) {
  return std::string("direct write/") + backend_name(backend) + "/" + std::to_string(threads) +
         " threads";
}

// --- through Annals --------------------------------------------------------------

class AnnalsSession final : public Session {
 public:
  explicit AnnalsSession(Store& store) : store_(store) {}

  std::string call(int k, int64_t n) override {
    const std::string org = org_of(n);
    const std::string user = user_of(n);
    Status s;
    switch (k) {
      case 0: {
        repositories::NewApiToken t;
        t.id = "tok-" + num(n);
        t.user_id = user;
        t.name = "laptop";
        t.token_prefix = "bodhiapp_w" + num(n);
        t.token_hash = std::string(64, 'h');
        t.scopes = "scope_token_user";
        s = store_.tokens().create(org, t).status();
        break;
      }
      case 1:
        s = store_.tokens()
                .update(org, user, "tok-" + num(n), "laptop (old)",
                        repositories::TokenStatus::kInactive)
                .status();
        break;
      case 2:
        s = store_.settings()
                .upsert(org, "setting-" + num(n % 20), "value " + num(n), "string")
                .status();
        break;
      case 3: {
        repositories::NewToolset t;
        t.id = "ts-" + num(n);
        t.user_id = user;
        t.toolset_type = "builtin-exa-search";
        t.slug = "search" + num(n);
        t.description = "web search";
        s = store_.toolsets().create(org, t).status();
        break;
      }
      default: {
        repositories::NewMcpServer m;
        m.id = "srv-" + num(n);
        m.url = "https://mcp" + num(n) + ".example.com/sse";
        m.name = "server " + num(n);
        m.description = "an MCP server";
        m.created_by = user;
        s = store_.mcp().servers().create_server(org, m).status();
        break;
      }
    }
    return s.is_ok() ? "" : "call " + num(k) + ": " + s.to_string();
  }

 private:
  Store& store_;
};

void BM_Annals(benchmark::State& state, Backend backend) {
  const int threads = static_cast<int>(state.range(0));
  const std::string what =
      std::string("Store repositories, durability sync, inline projector, read DB ") +
      (backend == Backend::kSqlite ? "SQLite" : "PostgreSQL under RLS");
  auto bench = open_bench_store(state, backend, projections::ProjectorMode::kInline,
                                pair_of(backend, threads), what);
  if (!bench) return;
  std::vector<std::unique_ptr<Session>> sessions;
  for (int t = 0; t < threads; ++t)
    sessions.push_back(std::make_unique<AnnalsSession>(*bench->store));
  run(state, sessions);
}

// --- straight into tables --------------------------------------------------------

// Written with $N parameters and BIGINT; SQLite gets ?N and INTEGER.
constexpr const char* kSchema = R"sql(
CREATE TABLE api_tokens (
  org_id TEXT NOT NULL, id TEXT NOT NULL, user_id TEXT NOT NULL, name TEXT NOT NULL,
  token_prefix TEXT NOT NULL, token_hash TEXT NOT NULL, scopes TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('active', 'inactive')),
  created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, version BIGINT NOT NULL,
  PRIMARY KEY (org_id, id));
CREATE UNIQUE INDEX api_tokens_prefix ON api_tokens (token_prefix);
CREATE INDEX api_tokens_user_created ON api_tokens (org_id, user_id, created_at);
CREATE TABLE settings (
  org_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, value_type TEXT NOT NULL,
  created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, version BIGINT NOT NULL,
  PRIMARY KEY (org_id, key));
CREATE TABLE toolsets (
  org_id TEXT NOT NULL, id TEXT NOT NULL, user_id TEXT NOT NULL, toolset_type TEXT NOT NULL,
  slug TEXT NOT NULL, slug_key TEXT NOT NULL, description TEXT, enabled BIGINT NOT NULL,
  sealed_api_key TEXT, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
  version BIGINT NOT NULL, PRIMARY KEY (org_id, id));
CREATE UNIQUE INDEX toolsets_user_slug ON toolsets (org_id, user_id, slug_key);
CREATE INDEX toolsets_user_created ON toolsets (org_id, user_id, created_at);
CREATE TABLE mcp_servers (
  org_id TEXT NOT NULL, id TEXT NOT NULL, url TEXT NOT NULL, url_key TEXT NOT NULL,
  name TEXT NOT NULL, description TEXT, enabled BIGINT NOT NULL, created_by TEXT NOT NULL,
  updated_by TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
  version BIGINT NOT NULL, PRIMARY KEY (org_id, id));
CREATE UNIQUE INDEX mcp_servers_url ON mcp_servers (org_id, url_key);
CREATE INDEX mcp_servers_created ON mcp_servers (org_id, created_at);
)sql";

// One statement per call, in call order.
const char* const kStatements[kCallsPerMix] = {
    "INSERT INTO api_tokens (org_id, id, user_id, name, token_prefix, token_hash, scopes,"
    " status, created_at, updated_at, version)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, $8, 1)",
    "UPDATE api_tokens SET name = $4, status = $5, updated_at = $6, version = version + 1"
    " WHERE org_id = $1 AND id = $2 AND user_id = $3",
    "INSERT INTO settings (org_id, key, value, value_type, created_at, updated_at, version)"
    " VALUES ($1, $2, $3, $4, $5, $5, 1) ON CONFLICT (org_id, key) DO UPDATE SET"
    " value = excluded.value, value_type = excluded.value_type,"
    " updated_at = excluded.updated_at, version = settings.version + 1",
    "INSERT INTO toolsets (org_id, id, user_id, toolset_type, slug, slug_key, description,"
    " enabled, created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8, 1)",
    "INSERT INTO mcp_servers (org_id, id, url, url_key, name, description, enabled, created_by,"
    " updated_by, created_at, updated_at, version)"
    " VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7, $8, $8, 1)",
};

using Param = std::variant<std::string, int64_t>;

// The parameters of call `k` of mix `n`, for kStatements[k].
std::vector<Param> params_of(int k, int64_t n) {
  const std::string org = org_of(n);
  const std::string user = user_of(n);
  const int64_t now = now_micros();
  switch (k) {
    case 0:
      return {org,
              "tok-" + num(n),
              user,
              std::string("laptop"),
              "bodhiapp_w" + num(n),
              std::string(64, 'h'),
              std::string("scope_token_user"),
              now};
    case 1:
      return {org, "tok-" + num(n), user, std::string("laptop (old)"), std::string("inactive"),
              now};
    case 2:
      return {org, "setting-" + num(n % 20), "value " + num(n), std::string("string"), now};
    case 3:
      return {org,
              "ts-" + num(n),
              user,
              std::string("builtin-exa-search"),
              "search" + num(n),
              "search" + num(n),
              std::string("web search"),
              now};
    default: {
      std::string url = "https://mcp" + num(n) + ".example.com/sse";
      return {
          org, "srv-" + num(n), url, url, "server " + num(n), std::string("an MCP server"), user,
          now};
    }
  }
}

std::string sqlite_dialect(std::string sql) {
  for (auto& c : sql) {
    if (c == '$') c = '?';
  }
  for (size_t at = sql.find("BIGINT"); at != std::string::npos; at = sql.find("BIGINT", at)) {
    sql.replace(at, 6, "INTEGER");
  }
  return sql;
}

// A connection of its own in WAL mode, synchronous=FULL: every COMMIT is
// durable. Writers of the process take turns on `writer` (SQLite has one
// writer at a time; queueing in the process avoids its busy-wait sleeps, the
// fastest way to run concurrent writers). "writer" must outlive the session.
class SqliteSession final : public Session {
 public:
  SqliteSession(const std::string& path, std::mutex& writer) : writer_(writer) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
      error_ = "cannot open " + path;
      return;
    }
    sqlite3_busy_timeout(db_, 10000);
    if (!exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;")) return;
    for (const char* sql : {"BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"}) prepare(sql);
    for (const char* sql : kStatements) prepare(sqlite_dialect(sql));
  }
  ~SqliteSession() override {
    for (auto* s : stmts_) sqlite3_finalize(s);
    if (db_) sqlite3_close(db_);
  }

  const std::string& error() const { return error_; }
  bool exec(const std::string& sql) {
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK) return true;
    error_ = std::string("SQLite: ") + sqlite3_errmsg(db_);
    return false;
  }

  std::string call(int k, int64_t n) override {
    auto params = params_of(k, n);
    std::lock_guard lock(writer_);
    if (!step(stmts_[0])) return message("BEGIN");
    sqlite3_stmt* s = stmts_[3 + k];
    for (size_t i = 0; i < params.size(); ++i) {
      int index = static_cast<int>(i) + 1;
      if (auto* text = std::get_if<std::string>(&params[i])) {
        sqlite3_bind_text(s, index, text->data(), static_cast<int>(text->size()), SQLITE_TRANSIENT);
      } else {
        sqlite3_bind_int64(s, index, std::get<int64_t>(params[i]));
      }
    }
    bool ok = step(s) && sqlite3_changes(db_) == 1;
    std::string error = ok ? "" : message("call " + num(k));
    if (ok && !step(stmts_[1])) error = message("COMMIT");
    if (!error.empty()) step(stmts_[2]);
    return error;
  }

 private:
  void prepare(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) !=
        SQLITE_OK) {
      if (error_.empty()) error_ = std::string("prepare: ") + sqlite3_errmsg(db_);
      return;
    }
    stmts_.push_back(stmt);
  }
  bool step(sqlite3_stmt* s) {
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE;
  }
  std::string message(const std::string& what) {
    return "SQLite " + what + ": " + sqlite3_errmsg(db_);
  }

  std::mutex& writer_;
  sqlite3* db_ = nullptr;
  std::vector<sqlite3_stmt*> stmts_;  // BEGIN, COMMIT, ROLLBACK, then kStatements
  std::string error_;
};

void BM_SqliteDirect(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  set_pair(state, pair_of(Backend::kSqlite, threads), Side::kBaseline,
           "straight into SQLite tables: WAL, synchronous=FULL, one transaction per call, "
           "prepared statements, unique constraints, writers queued on a mutex");
  TempDir dir;
  std::string path = dir.sub("direct.sqlite");
  {
    sqlite3* db = nullptr;
    std::string ddl = "PRAGMA journal_mode=WAL;" + sqlite_dialect(kSchema);
    bool ok = sqlite3_open(path.c_str(), &db) == SQLITE_OK &&
              sqlite3_exec(db, ddl.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
    std::string error = ok ? "" : std::string("SQLite schema: ") + sqlite3_errmsg(db);
    sqlite3_close(db);
    if (!ok) {
      state.SkipWithError(error.c_str());
      return;
    }
  }
  std::mutex writer;  // declared before the sessions: outlives them
  std::vector<std::unique_ptr<Session>> sessions;
  for (int t = 0; t < threads; ++t) {
    auto session = std::make_unique<SqliteSession>(path, writer);
    if (!session->error().empty()) {
      state.SkipWithError(session->error().c_str());
      return;
    }
    sessions.push_back(std::move(session));
  }
  run(state, sessions);
}

// A connection of its own; one transaction per call, synchronous_commit on.
class PgSession final : public Session {
 public:
  explicit PgSession(const std::string& url) : conn_(url) {
    pqxx::nontransaction tx(conn_);
    tx.exec("SET synchronous_commit = on");
    tx.commit();
    for (int k = 0; k < kCallsPerMix; ++k) conn_.prepare("call" + num(k), kStatements[k]);
  }

  std::string call(int k, int64_t n) override {
    try {
      std::vector<std::string> text;
      for (const auto& p : params_of(k, n)) {
        text.push_back(std::holds_alternative<std::string>(p) ? std::get<std::string>(p)
                                                              : num(std::get<int64_t>(p)));
      }
      pqxx::work tx(conn_);
      auto r = tx.exec_prepared("call" + num(k), pqxx::prepare::make_dynamic_params(text));
      if (r.affected_rows() != 1) return "call " + num(k) + ": no row changed";
      tx.commit();
      return "";
    } catch (const std::exception& e) {
      return "PostgreSQL call " + num(k) + ": " + e.what();
    }
  }

 private:
  pqxx::connection conn_;
};

void BM_PgDirect(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  const std::string what =
      "straight into PostgreSQL tables: one transaction per call, synchronous_commit on, "
      "pqxx prepared statements, unique constraints, no RLS";
  auto pg = pg_database_for(state, pair_of(Backend::kPostgres, threads), Side::kBaseline, what);
  if (!pg) return;
  std::vector<std::unique_ptr<Session>> sessions;
  try {
    {
      pqxx::connection conn(pg->url());
      pqxx::nontransaction tx(conn);
      tx.exec(kSchema);
    }
    for (int t = 0; t < threads; ++t) sessions.push_back(std::make_unique<PgSession>(pg->url()));
  } catch (const std::exception& e) {
    state.SkipWithError((std::string("PostgreSQL: ") + e.what()).c_str());
    return;
  }
  run(state, sessions);
}

BENCHMARK_CAPTURE(BM_Annals, sqlite, Backend::kSqlite)
    ->Arg(1)
    ->Arg(4)
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SqliteDirect)
    ->Arg(1)
    ->Arg(4)
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Annals, postgres, Backend::kPostgres)
    ->Arg(1)
    ->Arg(4)
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PgDirect)->Arg(1)->Arg(4)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace annals::bench
