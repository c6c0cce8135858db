// The "keys" column family: per-org data keys, and the tombstones that
// replace them when an org is forgotten (see journal/format.h).
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <charconv>

#include "core/validate.h"
#include "journal/format.h"
#include "journal/rocksdb_journal.h"

namespace annals::journal {
namespace {

std::string tombstone(int64_t forgotten_at_micros) {
  return std::string(format::kForgottenKeyPrefix) + std::to_string(forgotten_at_micros);
}

// When a stored value is a tombstone, the time it records; nullopt when the
// value is a wrapped key.
Result<std::optional<int64_t>> forgotten_at(std::string_view org_id, std::string_view value) {
  if (!value.starts_with(format::kForgottenKeyPrefix)) return std::optional<int64_t>();
  std::string_view digits = value.substr(format::kForgottenKeyPrefix.size());
  int64_t at = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), at);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
    return Status::corruption("the data key entry of org '" + std::string(org_id) +
                              "' is a malformed tombstone");
  }
  return std::optional<int64_t>(at);
}

}  // namespace

Result<std::optional<std::string>> RocksJournal::data_key(std::string_view org_id) {
  ANNALS_ASSIGN_OR_RETURN(auto stored, get(keys_cf_, std::string(org_id)));
  if (!stored.has_value()) return stored;
  ANNALS_ASSIGN_OR_RETURN(auto forgotten, forgotten_at(org_id, *stored));
  if (forgotten.has_value()) return std::optional<std::string>();
  return stored;
}

Result<std::optional<int64_t>> RocksJournal::data_key_forgotten_at(std::string_view org_id) {
  ANNALS_ASSIGN_OR_RETURN(auto stored, get(keys_cf_, std::string(org_id)));
  if (!stored.has_value()) return std::optional<int64_t>();
  return forgotten_at(org_id, *stored);
}

Result<std::string> RocksJournal::put_data_key_if_absent(std::string_view org_id,
                                                         std::string wrapped) {
  if (options_.read_only)
    return Status::invalid_argument("journal", "the journal is open read-only");
  if (std::string_view(wrapped).starts_with(format::kForgottenKeyPrefix)) {
    return Status::invalid_argument("wrapped", "a wrapped data key may not look like a tombstone");
  }
  std::lock_guard lock(keys_mu_);
  ANNALS_ASSIGN_OR_RETURN(auto existing, get(keys_cf_, std::string(org_id)));
  if (existing.has_value()) {
    ANNALS_ASSIGN_OR_RETURN(auto forgotten, forgotten_at(org_id, *existing));
    if (forgotten.has_value()) {
      return Status::not_found("org '" + std::string(org_id) + "' was forgotten at " +
                               format_timestamp(from_micros(*forgotten)) +
                               ": it gets no data key again");
    }
    return *existing;
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;  // a key must never be lost once data was sealed with it
  rocksdb::Status s = db_->Put(wo, keys_cf_, std::string(org_id), wrapped);
  if (!s.ok()) return Status::unavailable("cannot store the data key: " + s.ToString());
  return wrapped;
}

Status RocksJournal::forget_data_key(std::string_view org_id, int64_t forgotten_at_micros) {
  if (options_.read_only)
    return Status::invalid_argument("journal", "the journal is open read-only");
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  {
    std::lock_guard lock(keys_mu_);
    ANNALS_ASSIGN_OR_RETURN(auto existing, get(keys_cf_, std::string(org_id)));
    bool already = false;
    if (existing.has_value()) {
      ANNALS_ASSIGN_OR_RETURN(auto forgotten, forgotten_at(org_id, *existing));
      already = forgotten.has_value();
    }
    if (!already) {
      rocksdb::WriteOptions wo;
      wo.sync = true;
      rocksdb::Status s =
          db_->Put(wo, keys_cf_, std::string(org_id), tombstone(forgotten_at_micros));
      if (!s.ok()) return Status::unavailable("cannot forget the data key: " + s.ToString());
    }
  }
  // Done even when the org was forgotten already: a crash after the
  // tombstone but before the compaction is finished by forgetting again.
  return purge_old_keys();
}

Result<size_t> RocksJournal::rewrap_data_keys(const Rewrap& rewrap) {
  if (options_.read_only)
    return Status::invalid_argument("journal", "the journal is open read-only");
  size_t count = 0;
  {
    std::lock_guard lock(keys_mu_);
    rocksdb::WriteBatch batch;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), keys_cf_));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      std::string org = it->key().ToString();
      std::string_view value(it->value().data(), it->value().size());
      ANNALS_ASSIGN_OR_RETURN(auto forgotten, forgotten_at(org, value));
      if (forgotten.has_value()) continue;
      ANNALS_ASSIGN_OR_RETURN(std::string rewrapped, rewrap(org, value));
      if (std::string_view(rewrapped).starts_with(format::kForgottenKeyPrefix)) {
        return Status::invalid_argument("wrapped",
                                        "a wrapped data key may not look like a tombstone");
      }
      rocksdb::Status put = batch.Put(keys_cf_, org, rewrapped);
      if (!put.ok()) return Status::internal("cannot stage a data key: " + put.ToString());
      ++count;
    }
    if (!it->status().ok()) {
      return Status::unavailable("cannot read the data keys: " + it->status().ToString());
    }
    rocksdb::WriteOptions wo;
    wo.sync = true;
    rocksdb::Status s = db_->Write(wo, &batch);
    if (!s.ok()) return Status::unavailable("cannot store the rewrapped keys: " + s.ToString());
  }
  ANNALS_RETURN_IF_ERROR(purge_old_keys());
  return count;
}

Status RocksJournal::purge_old_keys() {
  // The write-ahead log that holds the key's Put is shared by every family
  // and is deleted only once all of them are flushed past it.
  rocksdb::FlushOptions flush;
  flush.wait = true;
  flush.allow_write_stall = true;
  rocksdb::Status s = db_->Flush(flush, handles_);
  if (!s.ok()) return Status::unavailable("cannot flush the data keys: " + s.ToString());
  // Table files that hold the wrapped key are rewritten without it; the
  // bottommost level is compacted too, since that is where old keys rest.
  rocksdb::CompactRangeOptions compact;
  compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  s = db_->CompactRange(compact, keys_cf_, nullptr, nullptr);
  if (!s.ok()) return Status::unavailable("cannot compact the data keys: " + s.ToString());
  // Re-enabling file deletions scans the folder and deletes every obsolete
  // file (old tables and logs) before returning, rather than in the
  // background some time later.
  s = db_->DisableFileDeletions();
  if (s.ok()) s = db_->EnableFileDeletions(/*force=*/false);
  if (!s.ok()) return Status::unavailable("cannot delete obsolete files: " + s.ToString());
  return Status::ok();
}

}  // namespace annals::journal
