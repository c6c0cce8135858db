// What the benchmarks share: quick mode, latency percentiles, the label that
// pairs an Annals figure with its baseline, temporary folders and where
// PostgreSQL is. bench/report.py reads the labels.
//
// Pairing: every benchmark calls set_pair(state, "<pair>", Side::k..., "<what>").
// Benchmarks with the same pair name are one row of the report: the Annals
// figure, its baseline(s) and the ratio between them. Throughput is
// items_per_second (state.SetItemsProcessed); latencies are the counters
// p50_us and p99_us (Latencies::report).
#pragma once

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "repositories/operator.h"

namespace annals::bench {

// ANNALS_BENCH_QUICK=1: small sizes, for a smoke run.
bool quick();
// `full` normally, `small` in quick mode.
int64_t scaled(int64_t full, int64_t small);

enum class Side { kAnnals, kBaseline };
void set_pair(benchmark::State& state, std::string_view pair, Side side, std::string_view what);

// Registers the two sides of a latency pair, in report order: `annals`, then
// `baseline`, each run `iterations` times, in real time and microseconds.
using BenchmarkBody = std::function<void(benchmark::State&)>;
void register_latency_pair(const std::string& annals_name, BenchmarkBody annals,
                           const std::string& baseline_name, BenchmarkBody baseline,
                           int64_t iterations);

// Ends the benchmark with `why` as its error: the report says it was skipped.
void skip(benchmark::State& state, const std::string& why);

// The read database a benchmark runs against.
enum class Backend { kSqlite, kPostgres };
const char* backend_name(Backend backend);  // "sqlite", "postgres"

// Microseconds since the epoch: what a row's created_at holds.
int64_t now_micros();

// Per-operation latencies; thread-safe add().
class Latencies {
 public:
  void add(std::chrono::nanoseconds d);
  // Sets the counters p50_us, p99_us (and ops) on the state.
  void report(benchmark::State& state);
  double percentile_us(double p);  // p in [0, 100]
  size_t size();

 private:
  std::mutex mu_;
  std::vector<int64_t> ns_;  // guarded by mu_
};

// A fresh folder under $ANNALS_BENCH_TMP (default /tmp) removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A superuser URL of the benchmark PostgreSQL server ($ANNALS_BENCH_PG_URL),
// or empty: PostgreSQL benchmarks then SkipWithError and the report says so.
std::string pg_server_url();

// A fresh database on that server, dropped by the destructor. url() is a
// superuser URL of it (a Store given it runs setup and serves as the
// runtime roles).
class PgDatabase {
 public:
  static std::unique_ptr<PgDatabase> create();  // null without a server
  ~PgDatabase();
  const std::string& url() const { return url_; }
  std::string url_as(const std::string& role) const;  // trust auth: no password

 private:
  PgDatabase() = default;
  std::string admin_url_;
  std::string url_;
  std::string name_;
};

// 32 fixed bytes: benchmarks need a master key, not a secret one.
std::string bench_master_key();

// " (server fsync=off: not durable)" when the PostgreSQL server at `url` does
// not flush its commits (a throwaway test server), else empty: the figure is
// then not the durable one and the label says so.
std::string pg_durability_note(const std::string& url);

// Labels `state` the `side` of `pair` doing `what` and creates a fresh
// PostgreSQL database for it, adding the server's durability note to the
// label; null once the benchmark is skipped for want of a server.
std::unique_ptr<PgDatabase> pg_database_for(benchmark::State& state, const std::string& pair,
                                            Side side, const std::string& what);

// A Store as the Annals side of a benchmark writes through it: durability
// sync, the benchmark master key, the projector in `mode`, its files in a
// temporary folder; over SQLite or over a fresh PostgreSQL database set up
// first. Members go in reverse: the store closes before its files go.
struct BenchStore {
  std::unique_ptr<PgDatabase> pg;  // PostgreSQL only
  TempDir dir;
  std::unique_ptr<repositories::Store> store;
};
// Labels `state` the Annals side of `pair` doing `what` (with the server's
// durability note on PostgreSQL) and opens the store; null once the
// benchmark is skipped (no PostgreSQL server, or the store did not open).
std::unique_ptr<BenchStore> open_bench_store(benchmark::State& state, Backend backend,
                                             projections::ProjectorMode mode,
                                             const std::string& pair, const std::string& what);

}  // namespace annals::bench
