#include "bench/bench_support.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <pqxx/pqxx>
#include <random>

#include "projections/postgres_url.h"

namespace annals::bench {

bool quick() {
  const char* env = std::getenv("ANNALS_BENCH_QUICK");
  return env != nullptr && std::string(env) == "1";
}

int64_t scaled(int64_t full, int64_t small) { return quick() ? small : full; }

void set_pair(benchmark::State& state, std::string_view pair, Side side, std::string_view what) {
  state.SetLabel("pair=" + std::string(pair) + ";side=" +
                 (side == Side::kAnnals ? "annals" : "baseline") + ";what=" + std::string(what));
}

void register_latency_pair(const std::string& annals_name, BenchmarkBody annals,
                           const std::string& baseline_name, BenchmarkBody baseline,
                           int64_t iterations) {
  for (benchmark::internal::Benchmark* b :
       {benchmark::RegisterBenchmark(annals_name.c_str(), std::move(annals)),
        benchmark::RegisterBenchmark(baseline_name.c_str(), std::move(baseline))}) {
    b->Iterations(iterations)->UseRealTime()->Unit(benchmark::kMicrosecond);
  }
}

void skip(benchmark::State& state, const std::string& why) { state.SkipWithError(why.c_str()); }

const char* backend_name(Backend backend) {
  return backend == Backend::kSqlite ? "sqlite" : "postgres";
}

int64_t now_micros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void Latencies::add(std::chrono::nanoseconds d) {
  std::lock_guard lock(mu_);
  ns_.push_back(d.count());
}

size_t Latencies::size() {
  std::lock_guard lock(mu_);
  return ns_.size();
}

double Latencies::percentile_us(double p) {
  std::lock_guard lock(mu_);
  if (ns_.empty()) return 0;
  std::sort(ns_.begin(), ns_.end());
  size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(ns_.size() - 1) + 0.5);
  return static_cast<double>(ns_[std::min(i, ns_.size() - 1)]) / 1000.0;
}

void Latencies::report(benchmark::State& state) {
  state.counters["p50_us"] = percentile_us(50);
  state.counters["p99_us"] = percentile_us(99);
  state.counters["ops"] = static_cast<double>(size());
}

TempDir::TempDir() {
  const char* base = std::getenv("ANNALS_BENCH_TMP");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/annals-bench.XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  char* made = ::mkdtemp(buf.data());
  path_ = made ? made : tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string pg_server_url() {
  const char* env = std::getenv("ANNALS_BENCH_PG_URL");
  return env ? env : "";
}

std::unique_ptr<PgDatabase> PgDatabase::create() {
  std::unique_ptr<PgDatabase> db(new PgDatabase());
  db->admin_url_ = pg_server_url();
  if (db->admin_url_.empty()) return nullptr;
  static std::atomic<int> counter{0};
  std::random_device rd;
  db->name_ = "annals_b_" + std::to_string(getpid()) + "_" + std::to_string(counter++) + "_" +
              std::to_string(rd() % 1000000);
  try {
    pqxx::connection conn(db->admin_url_);
    pqxx::nontransaction tx(conn);
    tx.exec("CREATE DATABASE " + tx.quote_name(db->name_));
  } catch (const std::exception&) {
    return nullptr;
  }
  db->url_ = db::url_with_database(db->admin_url_, db->name_);
  return db;
}

std::string PgDatabase::url_as(const std::string& role) const {
  return db::url_with_user(url_, role, std::string());
}

PgDatabase::~PgDatabase() {
  try {
    pqxx::connection conn(admin_url_);
    pqxx::nontransaction tx(conn);
    tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(name_) + " WITH (FORCE)");
  } catch (const std::exception&) {
  }
}

std::string bench_master_key() { return std::string(32, '\x5a'); }

std::string pg_durability_note(const std::string& url) {
  try {
    pqxx::connection conn(url);
    pqxx::nontransaction tx(conn);
    auto r = tx.exec("SHOW fsync");
    if (!r.empty() && std::string(r[0][0].c_str()) == "off") {
      return " (server fsync=off: not durable)";
    }
  } catch (const std::exception&) {
  }
  return "";
}

std::unique_ptr<PgDatabase> pg_database_for(benchmark::State& state, const std::string& pair,
                                            Side side, const std::string& what) {
  set_pair(state, pair, side, what);
  auto pg = PgDatabase::create();
  if (!pg) {
    skip(state, "no PostgreSQL: set ANNALS_BENCH_PG_URL");
    return nullptr;
  }
  set_pair(state, pair, side, what + pg_durability_note(pg->url()));
  return pg;
}

std::unique_ptr<BenchStore> open_bench_store(benchmark::State& state, Backend backend,
                                             projections::ProjectorMode mode,
                                             const std::string& pair, const std::string& what) {
  set_pair(state, pair, Side::kAnnals, what);
  auto bench = std::make_unique<BenchStore>();
  repositories::StoreOptions options;
  if (backend == Backend::kPostgres) {
    bench->pg = pg_database_for(state, pair, Side::kAnnals, what);
    if (!bench->pg) return nullptr;
    options.database_url = bench->pg->url();
    options.setup_database = true;  // a superuser URL: set it up first
  }
  options.data_dir = bench->dir.path();
  options.master_key = bench_master_key();
  options.durability = journal::Durability::kSync;
  options.projector_mode = mode;
  auto opened = repositories::Store::open(options);
  if (!opened.is_ok()) {
    skip(state, "cannot open the store: " + opened.status().to_string());
    return nullptr;
  }
  bench->store = std::move(*opened);
  return bench;
}

}  // namespace annals::bench
