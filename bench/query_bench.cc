// Query latency of the hot read paths through the real repositories, each
// beside the same SQL run straight on the same table: on SQLite through
// sqlite3 with a prepared statement (what the repository layer costs), on
// PostgreSQL as a superuser, which row-level security does not apply to,
// with the org in the WHERE clause (what RLS and the repository cost).
//
// Setup (not timed): one store per backend holding several orgs' tokens and
// MCP servers with users' instances of them.
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench/bench_support.h"
#include "journal/journal.h"
#include "repositories/operator.h"

namespace annals::bench {
namespace {

using repositories::Store;
using Clock = std::chrono::steady_clock;

constexpr int kOrgs = 4;
constexpr int kTokenUsersPerOrg = 10;  // so a user holds tokens / 40 tokens
constexpr int kMcpUsersPerOrg = 5;     // so a user holds instances / 20 instances
constexpr int kFillThreads = 4;

constexpr const char* kTokenColumns =
    "org_id, id, user_id, name, token_prefix, token_hash, scopes, status, created_at, updated_at,"
    " version, last_deactivated_at";
constexpr const char* kInstanceColumns =
    "m.id, m.created_by, m.mcp_server_id, m.name, m.slug, m.description, m.enabled,"
    " m.tools_cache, m.tools_filter, m.auth_type, m.auth_uuid, m.created_at, m.updated_at,"
    " m.version, s.url, s.name, s.enabled";

std::string org_name(int i) { return "org-" + std::to_string(i); }

struct UserKey {
  std::string org_id;
  std::string user_id;
};

// A filled store; lives until the process exits (every benchmark of a
// backend reads the same data). Members are destroyed in reverse: the store
// closes before its folder and database go.
struct Fixture {
  std::unique_ptr<PgDatabase> pg;
  std::unique_ptr<TempDir> dir;
  std::unique_ptr<Store> store;
  std::vector<std::string> prefixes;
  std::vector<UserKey> token_users;
  std::vector<UserKey> mcp_users;
  std::string error;  // non-empty: the benchmarks skip with it
};

// Runs fill(i) for i in [0, n) on kFillThreads threads; the first error wins.
std::string run_parallel(int64_t n, const std::function<std::string(int64_t)>& fill) {
  std::atomic<int64_t> next{0};
  std::mutex mu;
  std::string first_error;
  std::vector<std::thread> threads;
  for (int t = 0; t < kFillThreads; ++t) {
    threads.emplace_back([&] {
      for (int64_t i = next++; i < n; i = next++) {
        std::string e = fill(i);
        if (!e.empty()) {
          std::lock_guard lock(mu);
          if (first_error.empty()) first_error = e;
          return;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  return first_error;
}

std::unique_ptr<Fixture> make_fixture(Backend backend) {
  auto f = std::make_unique<Fixture>();
  repositories::StoreOptions options;
  if (backend == Backend::kPostgres) {
    f->pg = PgDatabase::create();
    if (!f->pg) {
      f->error = "no PostgreSQL: set ANNALS_BENCH_PG_URL";
      return f;
    }
    options.database_url = f->pg->url();
    options.setup_database = true;  // a superuser URL: set it up first
  }
  f->dir = std::make_unique<TempDir>();
  options.data_dir = f->dir->path();
  options.master_key = bench_master_key();
  options.durability = journal::Durability::kSync;
  auto store = Store::open(options);
  if (!store.is_ok()) {
    f->error = "cannot open the store: " + store.status().to_string();
    return f;
  }
  f->store = std::move(*store);
  Store& s = *f->store;

  const int64_t tokens = scaled(5000, 1000);
  const int64_t servers = scaled(200, 40);
  for (int64_t i = 0; i < tokens; ++i) f->prefixes.push_back("bodhiapp_q" + std::to_string(i));
  f->error = run_parallel(tokens, [&](int64_t i) -> std::string {
    repositories::NewApiToken t;
    t.id = "tok-" + std::to_string(i);
    t.user_id = "user-" + std::to_string((i / kOrgs) % kTokenUsersPerOrg);
    t.name = "token " + std::to_string(i);
    t.token_prefix = f->prefixes[i];
    t.token_hash = std::string(64, 'a' + static_cast<char>(i % 26));
    t.scopes = "scope_token_user";
    auto r = s.tokens().create(org_name(static_cast<int>(i % kOrgs)), t);
    return r.is_ok() ? "" : "token fill: " + r.status().to_string();
  });
  if (!f->error.empty()) return f;
  // Servers, then one instance of each, spread over the org's users.
  f->error = run_parallel(servers, [&](int64_t i) -> std::string {
    repositories::NewMcpServer m;
    m.id = "srv-" + std::to_string(i);
    m.url = "https://mcp" + std::to_string(i) + ".example.com/sse";
    m.name = "server " + std::to_string(i);
    m.description = "an MCP server of the allow-list";
    m.created_by = "admin";
    auto r = s.mcp().servers().create_server(org_name(static_cast<int>(i % kOrgs)), m);
    return r.is_ok() ? "" : "server fill: " + r.status().to_string();
  });
  if (!f->error.empty()) return f;
  f->error = run_parallel(servers, [&](int64_t i) -> std::string {
    repositories::NewMcpInstance m;
    m.id = "mcp-" + std::to_string(i);
    m.created_by = "user-" + std::to_string((i / kOrgs) % kMcpUsersPerOrg);
    m.mcp_server_id = "srv-" + std::to_string(i);
    m.name = "instance " + std::to_string(i);
    m.slug = "mcp" + std::to_string(i);
    m.tools_cache = R"([{"name":"search","description":"web search"}])";
    m.tools_filter = R"(["search"])";
    auto r = s.mcp().servers().create_instance(org_name(static_cast<int>(i % kOrgs)), m);
    return r.is_ok() ? "" : "instance fill: " + r.status().to_string();
  });
  if (!f->error.empty()) return f;
  for (int o = 0; o < kOrgs; ++o) {
    for (int u = 0; u < kTokenUsersPerOrg; ++u) {
      f->token_users.push_back({org_name(o), "user-" + std::to_string(u)});
    }
    for (int u = 0; u < kMcpUsersPerOrg; ++u) {
      f->mcp_users.push_back({org_name(o), "user-" + std::to_string(u)});
    }
  }
  return f;
}

// Opens and closes a throwaway store, so that the statics the libraries make
// on first use (RocksDB's default Env and its threads) exist before the
// fixtures do and are therefore destroyed after them at exit.
bool warm_up() {
  TempDir dir;
  repositories::StoreOptions options;
  options.data_dir = dir.path();
  options.master_key = bench_master_key();
  auto store = Store::open(options);
  return store.is_ok();
}

// The filled stores. main() releases them before it returns: left to the
// exit handlers, the PostgreSQL one would drop its database after libpqxx's
// own statics are gone.
std::unique_ptr<Fixture> sqlite_fixture;
std::unique_ptr<Fixture> postgres_fixture;

Fixture& fixture(Backend backend) {
  [[maybe_unused]] static const bool warmed = warm_up();
  auto& f = backend == Backend::kSqlite ? sqlite_fixture : postgres_fixture;
  if (!f) f = make_fixture(backend);
  return *f;
}

// Spreads consecutive iterations over the keys.
size_t pick(size_t i, size_t n) { return (i * 7919) % n; }

// --- through the repositories -------------------------------------------------

enum class Query { kTokenByPrefix, kMcpInstances, kTokenPage };

std::string pair_of(Query q, Backend backend) {
  switch (q) {
    case Query::kTokenByPrefix:
      return "query/token by prefix/" + std::string(backend_name(backend));
    case Query::kMcpInstances:
      return "query/MCP instances of a user/" + std::string(backend_name(backend));
    case Query::kTokenPage:
      return "query/token list page 1 of 20/" + std::string(backend_name(backend));
  }
  return "";
}

std::string call_of(Query q) {
  switch (q) {
    case Query::kTokenByPrefix:
      return "TokenRepository::get_by_prefix";
    case Query::kMcpInstances:
      return "McpServerRepository::list_instances (instances joined with their servers)";
    case Query::kTokenPage:
      return "TokenRepository::list page 1 of 20 (count + page)";
  }
  return "";
}

void finish(benchmark::State& state, Latencies& latencies) {
  state.SetItemsProcessed(state.iterations());
  latencies.report(state);
}

void BM_Annals(benchmark::State& state, Query q, Backend backend) {
  Fixture& f = fixture(backend);
  set_pair(state, pair_of(q, backend), Side::kAnnals,
           call_of(q) + (backend == Backend::kSqlite
                             ? " on SQLite"
                             : " on PostgreSQL as annals_query under row-level security"));
  if (!f.error.empty()) {
    state.SkipWithError(f.error.c_str());
    return;
  }
  Store& s = *f.store;
  Latencies latencies;
  size_t i = 0;
  for (auto _ : state) {
    Status status;
    auto start = Clock::now();
    if (q == Query::kTokenByPrefix) {
      auto r = s.tokens().get_by_prefix(f.prefixes[pick(i, f.prefixes.size())]);
      status = r.status();
      benchmark::DoNotOptimize(r);
    } else if (q == Query::kMcpInstances) {
      const UserKey& k = f.mcp_users[pick(i, f.mcp_users.size())];
      auto r = s.mcp().servers().list_instances(k.org_id, k.user_id);
      status = r.status();
      if (status.is_ok() && r->empty()) status = Status::internal("a user without instances");
      benchmark::DoNotOptimize(r);
    } else {
      const UserKey& k = f.token_users[pick(i, f.token_users.size())];
      auto r = s.tokens().list(k.org_id, k.user_id, 1, 20);
      status = r.status();
      if (status.is_ok() && r->rows.size() != 20) status = Status::internal("a short page");
      benchmark::DoNotOptimize(r);
    }
    latencies.add(Clock::now() - start);
    ++i;
    if (!status.is_ok()) {
      state.SkipWithError(status.to_string().c_str());
      break;
    }
  }
  finish(state, latencies);
}

// --- the same SQL straight on SQLite ------------------------------------------

// A prepared statement over a read-only connection to the store's read file.
class SqliteQuery {
 public:
  SqliteQuery(const std::string& path, const std::vector<std::string>& sqls) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      error_ = "cannot open " + path;
      return;
    }
    sqlite3_busy_timeout(db_, 5000);
    for (const auto& sql : sqls) {
      sqlite3_stmt* stmt = nullptr;
      if (sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) !=
          SQLITE_OK) {
        error_ = std::string("prepare: ") + sqlite3_errmsg(db_);
        return;
      }
      stmts_.push_back(stmt);
    }
  }
  ~SqliteQuery() {
    for (auto* s : stmts_) sqlite3_finalize(s);
    if (db_) sqlite3_close(db_);
  }
  SqliteQuery(const SqliteQuery&) = delete;
  SqliteQuery& operator=(const SqliteQuery&) = delete;

  const std::string& error() const { return error_; }

  // Runs statement `n` with text parameters (and integer ones after them);
  // copies every column of every row out, as a caller would. Returns the
  // number of rows, or -1 on an error.
  int64_t run(size_t n, const std::vector<std::string>& text, const std::vector<int64_t>& ints,
              std::vector<std::string>& out) {
    sqlite3_stmt* s = stmts_[n];
    int param = 1;
    for (const auto& t : text) {
      sqlite3_bind_text(s, param++, t.data(), static_cast<int>(t.size()), SQLITE_STATIC);
    }
    for (int64_t v : ints) sqlite3_bind_int64(s, param++, v);
    int64_t rows = 0;
    int rc;
    out.clear();
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      ++rows;
      int columns = sqlite3_column_count(s);
      for (int c = 0; c < columns; ++c) {
        const unsigned char* v = sqlite3_column_text(s, c);
        out.emplace_back(v ? reinterpret_cast<const char*>(v) : "");
      }
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc == SQLITE_DONE ? rows : -1;
  }

 private:
  sqlite3* db_ = nullptr;
  std::vector<sqlite3_stmt*> stmts_;
  std::string error_;
};

std::vector<std::string> baseline_sql(Query q, Backend backend) {
  const std::string schema = backend == Backend::kPostgres ? "annals." : "";
  auto p = [backend](int n) {
    return backend == Backend::kPostgres ? "$" + std::to_string(n) : "?" + std::to_string(n);
  };
  switch (q) {
    case Query::kTokenByPrefix:
      return {std::string("SELECT ") + kTokenColumns + " FROM " + schema +
              "api_tokens WHERE token_prefix = " + p(1)};
    case Query::kMcpInstances:
      return {std::string("SELECT ") + kInstanceColumns + " FROM " + schema + "mcps m JOIN " +
              schema +
              "mcp_servers s ON s.org_id = m.org_id AND s.id = m.mcp_server_id"
              " WHERE m.org_id = " +
              p(1) + " AND m.created_by = " + p(2) + " ORDER BY m.created_at, m.created_position"};
    case Query::kTokenPage:
      return {"SELECT COUNT(*) FROM " + schema + "api_tokens WHERE org_id = " + p(1) +
                  " AND user_id = " + p(2),
              std::string("SELECT ") + kTokenColumns + " FROM " + schema +
                  "api_tokens WHERE org_id = " + p(1) + " AND user_id = " + p(2) +
                  " ORDER BY created_at DESC, created_position DESC LIMIT " + p(3) + " OFFSET " +
                  p(4)};
  }
  return {};
}

void BM_SqliteBaseline(benchmark::State& state, Query q) {
  Fixture& f = fixture(Backend::kSqlite);
  set_pair(state, pair_of(q, Backend::kSqlite), Side::kBaseline,
           "the same SQL through sqlite3, prepared statement(s), no explicit transaction");
  if (!f.error.empty()) {
    state.SkipWithError(f.error.c_str());
    return;
  }
  SqliteQuery sql(f.dir->sub("read.sqlite"), baseline_sql(q, Backend::kSqlite));
  if (!sql.error().empty()) {
    state.SkipWithError(sql.error().c_str());
    return;
  }
  Latencies latencies;
  std::vector<std::string> out;
  size_t i = 0;
  for (auto _ : state) {
    bool ok = true;
    auto start = Clock::now();
    if (q == Query::kTokenByPrefix) {
      ok = sql.run(0, {f.prefixes[pick(i, f.prefixes.size())]}, {}, out) == 1;
    } else if (q == Query::kMcpInstances) {
      const UserKey& k = f.mcp_users[pick(i, f.mcp_users.size())];
      ok = sql.run(0, {k.org_id, k.user_id}, {}, out) > 0;
    } else {
      const UserKey& k = f.token_users[pick(i, f.token_users.size())];
      ok = sql.run(0, {k.org_id, k.user_id}, {}, out) == 1 &&
           sql.run(1, {k.org_id, k.user_id}, {20, 0}, out) == 20;
    }
    latencies.add(Clock::now() - start);
    benchmark::DoNotOptimize(out);
    ++i;
    if (!ok) {
      state.SkipWithError("the baseline query failed or found nothing");
      break;
    }
  }
  finish(state, latencies);
}

// --- the same SQL straight on PostgreSQL, as a superuser ------------------------

void BM_PgBaseline(benchmark::State& state, Query q) {
  Fixture& f = fixture(Backend::kPostgres);
  set_pair(state, pair_of(q, Backend::kPostgres), Side::kBaseline,
           "the same SQL as a superuser (bypasses RLS), pqxx prepared statement(s), no explicit "
           "transaction");
  if (!f.error.empty()) {
    state.SkipWithError(f.error.c_str());
    return;
  }
  Latencies latencies;
  try {
    pqxx::connection conn(f.pg->url());
    auto sqls = baseline_sql(q, Backend::kPostgres);
    for (size_t n = 0; n < sqls.size(); ++n) conn.prepare("q" + std::to_string(n), sqls[n]);
    std::vector<std::string> out;
    auto copy_out = [&out](const pqxx::result& r) {
      out.clear();
      for (const auto& row : r) {
        for (const auto& field : row) out.emplace_back(field.c_str(), field.size());
      }
      return static_cast<int64_t>(r.size());
    };
    size_t i = 0;
    for (auto _ : state) {
      bool ok = true;
      auto start = Clock::now();
      pqxx::nontransaction tx(conn);
      if (q == Query::kTokenByPrefix) {
        ok = copy_out(tx.exec_prepared("q0", f.prefixes[pick(i, f.prefixes.size())])) == 1;
      } else if (q == Query::kMcpInstances) {
        const UserKey& k = f.mcp_users[pick(i, f.mcp_users.size())];
        ok = copy_out(tx.exec_prepared("q0", k.org_id, k.user_id)) > 0;
      } else {
        const UserKey& k = f.token_users[pick(i, f.token_users.size())];
        ok = copy_out(tx.exec_prepared("q0", k.org_id, k.user_id)) == 1 &&
             copy_out(tx.exec_prepared("q1", k.org_id, k.user_id, 20, 0)) == 20;
      }
      latencies.add(Clock::now() - start);
      benchmark::DoNotOptimize(out);
      ++i;
      if (!ok) {
        state.SkipWithError("the baseline query found nothing");
        break;
      }
    }
  } catch (const std::exception& e) {
    state.SkipWithError((std::string("PostgreSQL: ") + e.what()).c_str());
    return;
  }
  finish(state, latencies);
}

// Each query on each backend as the Annals side, then its baseline, the same
// number of times: BM_Annals/token_by_prefix_sqlite beside
// BM_SqliteBaseline/token_by_prefix_sqlite, ...
const bool registered = [] {
  const std::pair<Query, const char*> queries[] = {{Query::kTokenByPrefix, "token_by_prefix"},
                                                   {Query::kMcpInstances, "mcp_instances"},
                                                   {Query::kTokenPage, "token_page"}};
  for (const auto& [query, label] : queries) {
    for (Backend backend : {Backend::kSqlite, Backend::kPostgres}) {
      const bool sqlite = backend == Backend::kSqlite;
      const int64_t iterations = sqlite ? scaled(20000, 2000) : scaled(5000, 500);
      const std::string suffix = std::string("/") + label + "_" + backend_name(backend);
      const std::string baseline_name = (sqlite ? "BM_SqliteBaseline" : "BM_PgBaseline") + suffix;
      const Query q = query;
      register_latency_pair(
          "BM_Annals" + suffix, [=](benchmark::State& state) { BM_Annals(state, q, backend); },
          baseline_name,
          [=](benchmark::State& state) {
            sqlite ? BM_SqliteBaseline(state, q) : BM_PgBaseline(state, q);
          },
          iterations);
    }
  }
  return true;
}();

}  // namespace
}  // namespace annals::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  annals::bench::sqlite_fixture.reset();
  annals::bench::postgres_fixture.reset();
  return 0;
}
