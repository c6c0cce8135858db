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
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace annals::bench {

// ANNALS_BENCH_QUICK=1: small sizes, for a smoke run.
bool quick();
// `full` normally, `small` in quick mode.
int64_t scaled(int64_t full, int64_t small);

enum class Side { kAnnals, kBaseline };
void set_pair(benchmark::State& state, std::string_view pair, Side side, std::string_view what);

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

}  // namespace annals::bench
