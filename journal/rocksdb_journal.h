// RocksDB implementation of Journal. Private to journal/.
#pragma once

#include <rocksdb/db.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "journal/journal.h"

namespace annals::journal {

class RocksJournal final : public Journal {
 public:
  static Result<std::unique_ptr<Journal>> open(const std::string& dir, Options options);
  ~RocksJournal() override;

  Result<AppendResult> append(AppendRequest request) override;
  uint64_t head() const override { return head_.load(std::memory_order_acquire); }
  Result<std::vector<events::Event>> read(uint64_t from, size_t max_events) override;
  Result<std::vector<events::Event>> read_org(std::string_view org_id, uint64_t from,
                                              size_t max_events) override;
  Result<uint64_t> stream_version(std::string_view org_id, std::string_view stream_id) override;
  uint64_t wait_for_head(uint64_t after, std::chrono::milliseconds timeout) override;
  Status sync() override;
  uint64_t durable_head() const override { return durable_head_.load(std::memory_order_acquire); }
  Status sync_to(uint64_t position) override;
  uint64_t wait_for_durable_head(uint64_t after, std::chrono::milliseconds timeout) override;
  Result<JournalState> snapshot_state() override;
  Result<std::vector<FamilyDifference>> verify_families(size_t limit) override;
  Result<std::vector<std::string>> read_records(uint64_t from, size_t max_events) override;
  Result<AppendResult> import_command(std::vector<std::string> encoded_envelopes) override;
  Status import_data_key(std::string_view org_id, std::string value) override;
  Status import_reservations(uint64_t at_head,
                             std::vector<StoredReservation> reservations) override;
  Result<std::optional<std::string>> data_key(std::string_view org_id) override;
  Result<std::string> put_data_key_if_absent(std::string_view org_id, std::string wrapped) override;
  Status forget_data_key(std::string_view org_id, int64_t forgotten_at_micros) override;
  Result<size_t> rewrap_data_keys(const Rewrap& rewrap) override;
  Result<std::optional<int64_t>> data_key_forgotten_at(std::string_view org_id) override;

 private:
  // One appender waiting in the queue. Lives on the appender's stack.
  struct Writer {
    AppendRequest* request = nullptr;                                  // an append, or
    const std::function<Result<AppendResult>()>* exclusive = nullptr;  // a write run alone
    Result<AppendResult> result = Status::internal("append was not processed");
    bool done = false;
    std::condition_variable cv;
  };

  // State a group of commands sees before it is written: what earlier
  // commands of the same group changed, over what RocksDB holds.
  struct Overlay {
    std::map<std::string, uint64_t> stream_versions;
    std::map<std::string, std::optional<std::string>> reservations;  // nullopt: released
    std::map<std::string, AppendResult> idempotency;
  };

  RocksJournal(Options options, std::string dir);
  Status open_db();
  // The last command's org index, stream version and idempotency entries exist.
  Status check_tail_families();
  void close();

  // Queues `w` and returns its result once its group is written.
  Result<AppendResult> enqueue(Writer& w);
  // Runs `job` as a group of its own: no append is staged or written while
  // it runs, and it may read and advance next_position_ (imports do).
  Result<AppendResult> run_exclusive(const std::function<Result<AppendResult>()>& job);
  // Stages and writes a group of appends; each member gets its result.
  void write_group(std::vector<Writer*>& group);
  // Makes positions up to next-1 visible after a successful write.
  void publish(uint64_t next, int64_t recorded_at);
  // The Status for a failed RocksDB write ("no space left on ..." for a full disk).
  Status write_failure(const rocksdb::Status& s) const;

  // The parts of import_command and import_reservations that run alone.
  Result<AppendResult> import_staged(const std::vector<events::Event>& decoded,
                                     const std::vector<std::string>& envelopes,
                                     const std::string& org, const std::string& idempotency);
  Status replace_reservations(uint64_t at_head, const std::set<std::string>& keys,
                              const std::vector<StoredReservation>& reservations);

  // Adds one command to `batch` under the group's overlay, or explains why not.
  Result<AppendResult> stage(AppendRequest& request, uint64_t* next_position,
                             int64_t* last_recorded_at, Overlay* overlay,
                             rocksdb::WriteBatch* batch);
  Result<std::optional<std::string>> get(rocksdb::ColumnFamilyHandle* cf, const std::string& key);
  Result<events::Event> read_position(uint64_t position);
  void batch_sync_loop();

  const Options options_;
  const std::string dir_;
  Clock* clock_;
  SystemClock system_clock_;

  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* meta_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* events_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* org_events_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* streams_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* idempotency_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* reservations_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* keys_cf_ = nullptr;
  // Flushes and compacts until no live file holds a data key's old value.
  Status purge_old_keys();
  std::mutex keys_mu_;  // serialises storing, forgetting and rewrapping data keys
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;

  std::mutex mu_;
  std::deque<Writer*> writers_;  // guarded by mu_; the front one leads a group
  // Only the group leader touches these, one leader at a time.
  uint64_t next_position_ = 1;
  // A write failed (a full disk): RocksDB must be resumed before the next
  // write, and its WAL must not be synced until then (RocksDB asserts on a
  // sync after a failed write). Set and cleared in the queue only.
  std::atomic<bool> write_failed_{false};
  // Syncs the WAL unless a write failed; runs in the queue, between groups.
  // Fsyncs the WAL in a place of the append queue, unless by then the
  // durable head has reached `unless_durable`.
  Status sync_wal_in_queue(uint64_t unless_durable = ~uint64_t{0});
  int64_t last_recorded_at_ = 0;

  std::atomic<uint64_t> head_{0};
  std::atomic<uint64_t> durable_head_{0};  // written under head_mu_
  std::mutex head_mu_;
  std::condition_variable head_cv_;

  // kBatch background fsync.
  std::thread sync_thread_;
  bool stopping_ = false;  // guarded by sync_mu_
  std::atomic<bool> unsynced_{false};
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
};

}  // namespace annals::journal
