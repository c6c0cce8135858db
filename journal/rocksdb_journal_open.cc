// Opening, closing and background syncing of the RocksDB journal.
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <mutex>

#include "journal/format.h"
#include "journal/rocksdb_journal.h"
#include "journal/wal_scan.h"

namespace annals::journal {
namespace {

// RocksDB's own info LOG, written so that a full disk never aborts the
// process: RocksDB's default logger asserts when it writes again after a
// failed write, which is exactly what happens once the disk is full. Lines
// that cannot be written are dropped; the journal's errors reach the caller
// through Status, not through this file.
class JournalInfoLog final : public rocksdb::Logger {
 public:
  JournalInfoLog(const std::string& path, rocksdb::InfoLogLevel level)
      : rocksdb::Logger(level), file_(std::fopen(path.c_str(), "ae")) {}
  ~JournalInfoLog() override {
    if (file_ != nullptr) std::fclose(file_);
  }

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    if (file_ == nullptr) return;
    char line[1024];
    int n = std::vsnprintf(line, sizeof line, format, ap);
    if (n < 0) return;
    size_t length = std::min(static_cast<size_t>(n), sizeof line - 1);
    std::lock_guard lock(mu_);
    if (std::fwrite(line, 1, length, file_) != length || std::fputc('\n', file_) == EOF ||
        std::fflush(file_) != 0) {
      std::clearerr(file_);  // a full disk: drop the line, try again next time
    }
  }

 private:
  std::FILE* file_;
  std::mutex mu_;
};

// What a corruption that refuses the open means: RocksDB names neither the
// file nor the place for a damaged write-ahead log, so the logs are scanned.
std::string describe_corruption(const std::string& dir, const std::string& what) {
  std::string message = "journal " + dir + " is corrupt: " + what;
  std::vector<std::filesystem::path> logs;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".log") logs.push_back(entry.path());
  }
  std::sort(logs.begin(), logs.end());
  for (const auto& log : logs) {
    if (auto damage = find_wal_damage(log.string())) {
      message += "; the write-ahead log " + log.filename().string() +
                 " has a damaged record at byte offset " + std::to_string(damage->offset) + " (" +
                 damage->what + ")";
      break;
    }
  }
  return message +
         ". Restore the journal folder from a backup, or import an export into a new folder";
}

}  // namespace

Result<Durability> parse_durability(std::string_view name) {
  if (name == "sync") return Durability::kSync;
  if (name == "batch") return Durability::kBatch;
  if (name == "none") return Durability::kNone;
  return Status::invalid_argument(
      "durability", "durability '" + std::string(name) + "' is not one of: sync, batch, none");
}

std::string_view durability_name(Durability durability) {
  switch (durability) {
    case Durability::kSync:
      return "sync";
    case Durability::kBatch:
      return "batch";
    case Durability::kNone:
      return "none";
  }
  return "unknown";
}

Result<std::unique_ptr<Journal>> Journal::open_rocksdb(const std::string& dir, Options options) {
  return RocksJournal::open(dir, options);
}

RocksJournal::RocksJournal(Options options, std::string dir)
    : options_(options),
      dir_(std::move(dir)),
      clock_(options.clock ? options.clock : &system_clock_) {}

Result<std::unique_ptr<Journal>> RocksJournal::open(const std::string& dir, Options options) {
  if (dir.empty()) return Status::invalid_argument("dir", "journal directory is empty");
  std::unique_ptr<RocksJournal> journal(new RocksJournal(options, dir));
  ANNALS_RETURN_IF_ERROR(journal->open_db());
  return std::unique_ptr<Journal>(std::move(journal));
}

Status RocksJournal::open_db() {
  std::error_code ec;
  bool exists = std::filesystem::exists(std::filesystem::path(dir_) / "CURRENT", ec);
  if (!exists) {
    // A folder that holds journal files but no CURRENT lost it: creating a
    // new, empty journal there would hide (and later delete) the old one.
    std::vector<std::string> leftovers;
    for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
      std::string name = entry.path().filename().string();
      auto ends_with = [&](std::string_view suffix) {
        return name.size() >= suffix.size() &&
               name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
      };
      if (ends_with(".sst") || ends_with(".log") || name.rfind("MANIFEST-", 0) == 0) {
        leftovers.push_back(name);
      }
    }
    if (!leftovers.empty()) {
      return Status::corruption("journal " + dir_ + " has lost its CURRENT file but still holds " +
                                    std::to_string(leftovers.size()) + " journal files (" +
                                    leftovers.front() +
                                    ", ...): refusing to create a new journal over them; "
                                    "restore the folder from a backup",
                                dir_);
    }
    if (!options_.create_if_missing || options_.read_only) {
      return Status::not_found("no journal at " + dir_);
    }
    std::filesystem::create_directories(dir_, ec);
    if (ec)
      return Status::unavailable("cannot create journal directory " + dir_ + ": " + ec.message());
  }

  if (exists) {
    // Never add column families to a RocksDB folder that is not a journal.
    std::vector<std::string> names;
    rocksdb::DBOptions list_options;
    if (options_.env != nullptr) list_options.env = options_.env;
    rocksdb::Status listed = rocksdb::DB::ListColumnFamilies(list_options, dir_, &names);
    if (!listed.ok())
      return Status::unavailable("cannot open journal " + dir_ + ": " + listed.ToString());
    if (std::find(names.begin(), names.end(), format::kEventsFamily) == names.end()) {
      return Status::invalid_argument("dir",
                                      dir_ + " is a RocksDB folder but not an Annals journal");
    }
  }

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options_.create_if_missing;
  if (options_.env != nullptr) db_options.env = options_.env;
  db_options.create_missing_column_families = true;
  db_options.paranoid_checks = true;
  // Acknowledged (synced) records are whole; only a torn, never-acknowledged
  // tail may be dropped. Corruption anywhere else refuses to open.
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 4;
  db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  if (!options_.read_only) {
    db_options.info_log =
        std::make_shared<JournalInfoLog>(dir_ + "/LOG", rocksdb::InfoLogLevel::WARN_LEVEL);
  }

  rocksdb::ColumnFamilyOptions scan_options;    // events, org_events: read in order
  rocksdb::ColumnFamilyOptions lookup_options;  // streams, idempotency, reservations: point reads
  {
    rocksdb::BlockBasedTableOptions table;
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    lookup_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  }

  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, scan_options},
      {format::kEventsFamily, scan_options},
      {format::kOrgEventsFamily, scan_options},
      {format::kStreamsFamily, lookup_options},
      {format::kIdempotencyFamily, lookup_options},
      {format::kReservationsFamily, lookup_options},
      {format::kKeysFamily, lookup_options},
  };

  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  if (options_.read_only) {
    s = rocksdb::DB::OpenForReadOnly(db_options, dir_, families, &handles_, &raw);
  } else {
    s = rocksdb::DB::Open(db_options, dir_, families, &handles_, &raw);
  }
  if (!s.ok()) {
    std::string what = s.ToString();
    if (s.IsCorruption()) return Status::corruption(describe_corruption(dir_, what), dir_);
    if (s.IsIOError() && what.find("lock") != std::string::npos) {
      return Status::unavailable("journal " + dir_ + " is in use by another process (" + what +
                                 ")");
    }
    if (s.IsInvalidArgument()) {
      return Status::invalid_argument("dir", dir_ + " is not an Annals journal: " + what);
    }
    return Status::unavailable("cannot open journal " + dir_ + ": " + what);
  }
  db_.reset(raw);
  meta_cf_ = handles_[0];
  events_cf_ = handles_[1];
  org_events_cf_ = handles_[2];
  streams_cf_ = handles_[3];
  idempotency_cf_ = handles_[4];
  reservations_cf_ = handles_[5];
  keys_cf_ = handles_[6];

  auto format_value = get(meta_cf_, std::string(format::kFormatKey));
  if (!format_value.is_ok()) return format_value.status();
  if (!format_value->has_value()) {
    if (options_.read_only)
      return Status::invalid_argument("dir", dir_ + " is not an Annals journal");
    rocksdb::WriteOptions wo;
    wo.sync = true;
    s = db_->Put(wo, meta_cf_, std::string(format::kFormatKey), std::string(format::kFormatValue));
    if (!s.ok()) return Status::unavailable("cannot initialise journal: " + s.ToString());
  } else if (**format_value != format::kFormatValue) {
    return Status::invalid_argument("dir", dir_ + " holds journal format '" + **format_value +
                                               "'; this Annals reads '" +
                                               std::string(format::kFormatValue) + "'");
  }

  // The head is the last record's position.
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), events_cf_));
  it->SeekToLast();
  if (it->Valid()) {
    if (it->key().size() != 8) {
      return Status::corruption("journal has a malformed event key of " +
                                std::to_string(it->key().size()) + " bytes");
    }
    uint64_t last = format::get_u64_be(it->key().ToStringView());
    head_.store(last);
    durable_head_.store(last);  // recovery leaves what it replayed in synced table files
    next_position_ = last + 1;
    auto payload = format::decode_record(last, it->value().ToStringView());
    if (payload.is_ok()) {
      auto event = events::Event::decode(*payload);
      if (event.is_ok()) last_recorded_at_ = event->recorded_at_micros();
    }
  } else if (!it->status().ok()) {
    return Status::corruption("cannot find the journal head: " + it->status().ToString());
  }

  if (!options_.read_only) {
    // Files lost from one family (a truncated MANIFEST, a deleted table
    // file) leave events without their derived entries: refuse to write
    // over that. Read-only opens go on, so that verify can list it all.
    Status tail = check_tail_families();
    if (!tail.is_ok()) return tail;
  }

  if (options_.durability == Durability::kBatch && !options_.read_only) {
    sync_thread_ = std::thread([this] { batch_sync_loop(); });
  }
  return Status::ok();
}

Status RocksJournal::check_tail_families() {
  uint64_t head = head_.load();
  if (head == 0) return Status::ok();
  auto last = read_position(head);
  if (!last.is_ok()) return last.status();
  uint64_t first = head - last->envelope().getCommandIndex();
  auto command = read(first, head - first + 1);
  if (!command.is_ok()) return command.status();
  std::string problems;
  for (const auto& e : *command) {
    const std::string org(e.org_id());
    auto indexed = get(org_events_cf_, format::org_event_key(org, e.position()));
    if (!indexed.is_ok()) return indexed.status();
    if (!indexed->has_value()) {
      problems += " the org index lacks position " + std::to_string(e.position()) + ";";
    }
    auto version = get(streams_cf_, format::stream_key(org, e.stream_id()));
    if (!version.is_ok()) return version.status();
    if (!version->has_value() || (*version)->size() != 8 ||
        format::get_u64_be(**version) < e.stream_version()) {
      problems += " the stream versions lack version " + std::to_string(e.stream_version()) +
                  " of " + org + "/" + std::string(e.stream_id()) + ";";
    }
    auto key = events::Event::view(e.envelope().getIdempotencyKey());
    if (!key.empty()) {
      auto entry = get(idempotency_cf_, format::idempotency_key(org, key));
      if (!entry.is_ok()) return entry.status();
      if (!entry->has_value()) {
        problems += " the idempotency entries lack " + org + "/" + std::string(key) + ";";
      }
    }
  }
  if (problems.empty()) return Status::ok();
  problems.pop_back();
  return Status::corruption("journal " + dir_ + " has lost entries its events need:" + problems +
                                ". It was not opened for writing; `annals verify` lists every "
                                "difference; restore it from a backup, or export it and import "
                                "the file into a new folder, which rebuilds them from the events",
                            dir_);
}

void RocksJournal::batch_sync_loop() {
  std::unique_lock lock(sync_mu_);
  while (!stopping_) {
    sync_cv_.wait_for(lock, options_.batch_sync_interval, [this] { return stopping_; });
    if (unsynced_.exchange(false)) {
      lock.unlock();
      (void)sync_wal_in_queue();  // a failure here shows again at close or the next write
      lock.lock();
    }
  }
}

Status RocksJournal::sync() {
  if (options_.read_only || !db_) return Status::ok();
  return sync_wal_in_queue();
}

Status RocksJournal::sync_wal_in_queue(uint64_t unless_durable) {
  // In the queue, so that no write can fail between the check and the sync.
  return run_exclusive([this, unless_durable]() -> Result<AppendResult> {
           if (durable_head() >= unless_durable) return AppendResult{};
           if (write_failed_.load()) {
             return Status::unavailable(
                 "the journal's last write failed (no space left?); nothing was synced");
           }
           uint64_t covered = head();  // no write runs beside this one
           rocksdb::Status s = db_->SyncWAL();
           if (!s.ok()) return Status::unavailable("journal fsync failed: " + s.ToString());
           {
             std::lock_guard head_lock(head_mu_);
             if (durable_head_.load() < covered) durable_head_.store(covered);
           }
           head_cv_.notify_all();
           return AppendResult{};
         })
      .status();
}

Status RocksJournal::sync_to(uint64_t position) {
  if (durable_head() >= position) return Status::ok();
  if (position > head()) {
    return Status::invalid_argument("position", "position " + std::to_string(position) +
                                                    " is past the journal head " +
                                                    std::to_string(head()));
  }
  if (options_.read_only || !db_) return Status::ok();
  return sync_wal_in_queue(position);
}

void RocksJournal::close() {
  if (sync_thread_.joinable()) {
    {
      std::lock_guard lock(sync_mu_);
      stopping_ = true;
    }
    sync_cv_.notify_all();
    sync_thread_.join();
  }
  if (!db_) return;
  if (!options_.read_only && !write_failed_.load()) {
    db_->SyncWAL();
    // Leave the events in table files, so a reopen needs no log replay.
    rocksdb::FlushOptions flush;
    flush.wait = true;
    db_->Flush(flush, handles_);
  }
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  handles_.clear();
  db_->Close();
  db_.reset();
  head_cv_.notify_all();
}

RocksJournal::~RocksJournal() { close(); }

Result<std::optional<std::string>> RocksJournal::get(rocksdb::ColumnFamilyHandle* cf,
                                                     const std::string& key) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf, key, &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (s.IsCorruption()) return Status::corruption("journal storage is corrupt: " + s.ToString());
  if (!s.ok()) return Status::unavailable("journal read failed: " + s.ToString());
  return std::optional<std::string>(std::move(value));
}

}  // namespace annals::journal
