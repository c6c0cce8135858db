// Journal appends: throughput and per-command latency for commands of 1, 10
// and 100 token-created events, under each durability, from 1, 4 and 16
// concurrent appenders. Beside each cell, raw RocksDB writing the same
// event bytes with the same number of puts per WriteBatch from the same
// number of threads: what the journal adds over the store it is built on
// (validation, stream versions, reservations, idempotency, the org index,
// checksums and the group-commit queue).
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <latch>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_support.h"
#include "journal/journal.h"

namespace annals::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Token ids are UUID-shaped, prefixes and hashes the sizes the app uses.
std::string token_id(uint64_t seq) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-7f3a-4c1e-9b2d-%012llx",
                static_cast<unsigned>(seq >> 40), static_cast<unsigned long long>(seq));
  return buf;
}

std::string token_prefix(uint64_t seq) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "bodhiapp_%016llx", static_cast<unsigned long long>(seq));
  return buf;
}

const std::string& token_hash() {
  static const std::string hash =
      "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
  return hash;
}

std::string org_of(int thread) { return "org-" + std::to_string(thread % 8); }

// One token-created event, built as the token repository builds it.
events::NewEvent token_event(const std::string& org, uint64_t seq) {
  std::string id = token_id(seq);
  std::string user = "user-" + std::to_string(seq % 97);
  events::NewEvent event(org, "token/" + id, user);
  auto p = event.payload().initTokenCreated();
  p.setId(id);
  p.setUserId(user);
  p.setName("laptop");
  p.setTokenPrefix(token_prefix(seq));
  p.setTokenHash(token_hash());
  p.setScopes("scope_token_user");
  p.setStatus(schema::TokenStatus::ACTIVE);
  event.stamp_version();
  return event;
}

// A command creating `n` tokens, with what the token repository asks of the
// journal for each: its stream must be new and its prefix unique across orgs.
journal::AppendRequest token_command(const std::string& org, uint64_t first_seq, int n) {
  journal::AppendRequest request;
  request.org_id = org;
  request.idempotency_key = "token.create/" + token_id(first_seq);
  for (int k = 0; k < n; ++k) {
    uint64_t seq = first_seq + static_cast<uint64_t>(k);
    std::string stream = "token/" + token_id(seq);
    request.events.push_back(token_event(org, seq));
    request.expectations.push_back({stream, journal::ExpectedVersion::no_stream()});
    request.reservations.push_back(journal::Reservation::claim("token.prefix", token_prefix(seq),
                                                               stream, /*across_orgs=*/true));
  }
  return request;
}

std::string be64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[static_cast<size_t>(i)] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

// The options the journal opens RocksDB with (journal/rocksdb_journal_open.cc).
rocksdb::Options journal_like_options() {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.paranoid_checks = true;
  options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  options.max_background_jobs = 2;
  options.keep_log_file_num = 4;
  options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  return options;
}

struct Cell {
  int events_per_command;
  journal::Durability durability;
  int threads;
};

std::string pair_name(const Cell& c) {
  return "append/" + std::to_string(c.events_per_command) + " events/" +
         std::string(journal::durability_name(c.durability)) + "/" + std::to_string(c.threads) +
         " threads";
}

// Commands in one cell, over all threads: a durable command costs an fsync,
// so sync cells run fewer.
int64_t commands_for(const Cell& c) {
  bool sync = c.durability == journal::Durability::kSync;
  switch (c.events_per_command) {
    case 1:
      return sync ? scaled(3000, 300) : scaled(30000, 3000);
    case 10:
      return sync ? scaled(1500, 150) : scaled(6000, 600);
    default:
      return sync ? scaled(500, 60) : scaled(1000, 100);
  }
}

// Runs `command(thread, i)` for i in [0, per_thread) on `threads` threads
// started together. Returns the wall time from the start to the last join;
// each command's duration goes to `latencies`. The first error stops every
// thread and is returned in `error`.
double run_appenders(int threads, int64_t per_thread,
                     const std::function<std::string(int, int64_t, Clock::duration*)>& command,
                     Latencies& latencies, std::string* error) {
  std::latch go(1);
  std::atomic<bool> failed{false};
  std::mutex error_mu;
  std::vector<std::vector<Clock::duration>> took(static_cast<size_t>(threads));
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      auto& mine = took[static_cast<size_t>(t)];
      mine.reserve(static_cast<size_t>(per_thread));
      go.wait();
      for (int64_t i = 0; i < per_thread && !failed.load(std::memory_order_relaxed); ++i) {
        Clock::duration d{};
        std::string e = command(t, i, &d);
        if (!e.empty()) {
          std::lock_guard lock(error_mu);
          if (!failed.exchange(true)) *error = e;
          return;
        }
        mine.push_back(d);
      }
    });
  }
  auto start = Clock::now();
  go.count_down();
  for (auto& th : pool) th.join();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (const auto& v : took) {
    for (auto d : v) latencies.add(std::chrono::duration_cast<std::chrono::nanoseconds>(d));
  }
  return seconds;
}

void BM_JournalAppend(benchmark::State& state, Cell cell) {
  const int64_t per_thread = (commands_for(cell) + cell.threads - 1) / cell.threads;
  const int n = cell.events_per_command;
  Latencies latencies;
  int64_t events = 0;
  for (auto _ : state) {
    TempDir dir;
    journal::Options options;
    options.durability = cell.durability;
    auto opened = journal::Journal::open_rocksdb(dir.sub("journal"), options);
    if (!opened.is_ok()) {
      state.SkipWithError(("cannot open the journal: " + opened.status().to_string()).c_str());
      return;
    }
    journal::Journal& journal = **opened;
    std::string error;
    double seconds = run_appenders(
        cell.threads, per_thread,
        [&](int t, int64_t i, Clock::duration* took) -> std::string {
          uint64_t seq = (static_cast<uint64_t>(t) << 40) | static_cast<uint64_t>(i * n);
          journal::AppendRequest request = token_command(org_of(t), seq, n);
          auto start = Clock::now();
          auto appended = journal.append(std::move(request));
          *took = Clock::now() - start;
          return appended.is_ok() ? std::string() : appended.status().to_string();
        },
        latencies, &error);
    if (!error.empty()) {
      state.SkipWithError(("append failed: " + error).c_str());
      return;
    }
    state.SetIterationTime(seconds);
    events += per_thread * cell.threads * n;
  }
  state.SetItemsProcessed(events);
  latencies.report(state);
  set_pair(state, pair_name(cell), Side::kAnnals,
           "Journal::append of " + std::to_string(n) +
               " token-created event(s) per command (new-stream check, prefix reservation, "
               "idempotency key), durability " +
               std::string(journal::durability_name(cell.durability)) + ", " +
               std::to_string(cell.threads) + " appender thread(s)");
}

void BM_RocksWriteBatch(benchmark::State& state, Cell cell) {
  const int64_t per_thread = (commands_for(cell) + cell.threads - 1) / cell.threads;
  const int n = cell.events_per_command;
  Latencies latencies;
  int64_t events = 0;
  for (auto _ : state) {
    TempDir dir;
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(journal_like_options(), dir.sub("rocks"), &raw);
    if (!s.ok()) {
      state.SkipWithError(("cannot open RocksDB: " + s.ToString()).c_str());
      return;
    }
    std::unique_ptr<rocksdb::DB> db(raw);
    rocksdb::WriteOptions wo;
    wo.sync = cell.durability == journal::Durability::kSync;
    std::atomic<uint64_t> next_position{1};
    std::string error;
    double seconds = run_appenders(
        cell.threads, per_thread,
        [&](int t, int64_t i, Clock::duration* took) -> std::string {
          uint64_t seq = (static_cast<uint64_t>(t) << 40) | static_cast<uint64_t>(i * n);
          uint64_t first = next_position.fetch_add(static_cast<uint64_t>(n));
          // The same event, encoded as the journal stores it: envelope fields
          // stamped, 8 header bytes in front, keyed by position.
          rocksdb::WriteBatch batch;
          for (int k = 0; k < n; ++k) {
            events::NewEvent event = token_event(org_of(t), seq + static_cast<uint64_t>(k));
            auto env = event.envelope();
            env.setPosition(first + static_cast<uint64_t>(k));
            env.setStreamVersion(1);
            env.setRecordedAtMicros(1718000000000000);
            env.setIdempotencyKey("token.create/" + token_id(seq));
            env.setCommandIndex(static_cast<uint32_t>(k));
            env.setCommandEvents(static_cast<uint32_t>(n));
            batch.Put(be64(first + static_cast<uint64_t>(k)), std::string(8, '\1') + event.encode());
          }
          auto start = Clock::now();
          rocksdb::Status w = db->Write(wo, &batch);
          *took = Clock::now() - start;
          return w.ok() ? std::string() : w.ToString();
        },
        latencies, &error);
    if (!error.empty()) {
      state.SkipWithError(("RocksDB write failed: " + error).c_str());
      return;
    }
    state.SetIterationTime(seconds);
    events += per_thread * cell.threads * n;
  }
  state.SetItemsProcessed(events);
  latencies.report(state);
  set_pair(state, pair_name(cell), Side::kBaseline,
           "raw RocksDB: one WriteBatch of " + std::to_string(n) +
               " put(s) of the same encoded event bytes per command, WriteOptions.sync=" +
               std::string(cell.durability == journal::Durability::kSync
                               ? "true"
                               : "false (the journal's batch/none do not fsync per write either)") +
               ", " + std::to_string(cell.threads) + " writer thread(s)");
}

const bool registered = [] {
  std::vector<int> thread_counts = quick() ? std::vector<int>{1, 4} : std::vector<int>{1, 4, 16};
  for (int n : {1, 10, 100}) {
    for (auto d : {journal::Durability::kSync, journal::Durability::kBatch,
                   journal::Durability::kNone}) {
      for (int threads : thread_counts) {
        Cell cell{n, d, threads};
        std::string suffix = "/" + std::to_string(n) + "ev/" +
                             std::string(journal::durability_name(d)) + "/" +
                             std::to_string(threads) + "thr";
        benchmark::RegisterBenchmark(("BM_JournalAppend" + suffix).c_str(), BM_JournalAppend, cell)
            ->Iterations(1)
            ->UseManualTime()
            ->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark(("BM_RocksWriteBatch" + suffix).c_str(), BM_RocksWriteBatch,
                                     cell)
            ->Iterations(1)
            ->UseManualTime()
            ->Unit(benchmark::kMillisecond);
      }
    }
  }
  return true;
}();

}  // namespace
}  // namespace annals::bench
