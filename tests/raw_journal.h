// The journal's RocksDB folder opened directly, every column family, for the
// tests that read it or change it behind the journal's back.
#pragma once

#include <rocksdb/db.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "journal/format.h"

namespace annals::testing {

// The journal's RocksDB folder opened directly, every column family, to read
// it or change it behind the journal's back. handle(i) is the family
// names()[i]: 0 default, 1 events, 2 org events, 3 streams, 4 idempotency,
// 5 reservations, 6 keys.
class RawJournal {
 public:
  enum class Mode { kReadWrite, kReadOnly };

  explicit RawJournal(const std::string& dir, Mode mode = Mode::kReadWrite) {
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (const auto& name : names()) families.emplace_back(name, rocksdb::ColumnFamilyOptions());
    rocksdb::DB* raw = nullptr;
    status_ =
        mode == Mode::kReadOnly
            ? rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), dir, families, &handles_, &raw)
            : rocksdb::DB::Open(rocksdb::DBOptions(), dir, families, &handles_, &raw);
    db_.reset(raw);
  }
  ~RawJournal() {
    if (db_ == nullptr) return;
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  }
  RawJournal(const RawJournal&) = delete;
  RawJournal& operator=(const RawJournal&) = delete;

  static const std::vector<std::string>& names() {
    static const std::vector<std::string> kNames = {"default",
                                                    journal::format::kEventsFamily,
                                                    journal::format::kOrgEventsFamily,
                                                    journal::format::kStreamsFamily,
                                                    journal::format::kIdempotencyFamily,
                                                    journal::format::kReservationsFamily,
                                                    journal::format::kKeysFamily};
    return kNames;
  }

  bool opened() const { return status_.ok(); }
  const rocksdb::Status& status() const { return status_; }
  rocksdb::DB* db() { return db_.get(); }
  rocksdb::ColumnFamilyHandle* handle(size_t i) { return handles_.at(i); }

  // Every entry of every family: family -> key -> value.
  std::map<std::string, std::map<std::string, std::string>> contents() {
    std::map<std::string, std::map<std::string, std::string>> out;
    for (size_t i = 0; i < handles_.size(); ++i) {
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handles_[i]));
      auto& family = out[names()[i]];
      for (it->SeekToFirst(); it->Valid(); it->Next())
        family[it->key().ToString()] = it->value().ToString();
    }
    return out;
  }

 private:
  rocksdb::Status status_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

}  // namespace annals::testing
