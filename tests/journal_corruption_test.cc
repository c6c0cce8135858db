// Damaged journal storage is reported as kCorruption naming the position,
// never returned as if it were good data: a byte flipped in a table file
// (caught by RocksDB's block checksums), a record whose payload changed, a
// record moved under another position (caught by the record checksum, which
// covers the key) and a record missing (a gap).
#include <rocksdb/db.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "journal/format.h"
#include "journal/journal.h"
#include "journal/wal_scan.h"
#include "tests/test_support.h"

namespace annals::journal {
namespace {

namespace fs = std::filesystem;

constexpr const char* kOrg = "corrupt-org";

// Poorly compressible text, so that table files are about as big as the data.
std::string noise(uint64_t seed, size_t length) {
  std::string s;
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  while (s.size() < length) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    s.push_back(static_cast<char>('a' + (x >> 33) % 26));
  }
  return s;
}

events::NewEvent setting_event(uint64_t i) {
  std::string key = "key" + std::to_string(i);
  events::NewEvent e(kOrg, "setting/" + key, "tester");
  auto upserted = e.payload().initSettingUpserted();
  upserted.setKey(key);
  upserted.setValue(noise(i, 120));
  upserted.setValueType("string");
  return e;
}

// Appends `count` settingUpserted events, `per_command` to a command, with
// durability sync, and closes the journal (which leaves them in table files).
void write_journal(const std::string& dir, uint64_t count, uint64_t per_command) {
  auto journal = Journal::open_rocksdb(dir, Options{});
  ASSERT_OK(journal);
  for (uint64_t i = 0; i < count;) {
    AppendRequest request;
    request.org_id = kOrg;
    for (uint64_t k = 0; k < per_command && i < count; ++k, ++i) {
      request.events.push_back(setting_event(i));
    }
    ASSERT_OK((*journal)->append(std::move(request)));
  }
  ASSERT_EQ((*journal)->head(), count);
}

// Reads from position 1 on in chunks; returns the first failure, or ok with
// the number of events read in `*read_count`.
Status read_all(Journal* journal, size_t chunk, uint64_t* read_count) {
  *read_count = 0;
  uint64_t position = 1;
  while (position <= journal->head()) {
    auto events = journal->read(position, chunk);
    if (!events.is_ok()) return events.status();
    if (events->empty()) return Status::internal("read returned nothing below the head");
    *read_count += events->size();
    position += events->size();
  }
  return Status::ok();
}

bool is_position_subject(const std::string& subject, uint64_t max_position) {
  constexpr std::string_view kPrefix = "position ";
  if (!subject.starts_with(kPrefix) || subject.size() == kPrefix.size()) return false;
  std::string digits = subject.substr(kPrefix.size());
  if (digits.find_first_not_of("0123456789") != std::string::npos) return false;
  uint64_t position = std::stoull(digits);
  return position >= 1 && position <= max_position;
}

// The write-ahead log as a crash leaves it (synced, never flushed into
// tables), with a byte flipped in the middle: the journal refuses to open,
// and says which file is damaged and where, so an operator knows what the
// backup must replace.
TEST(JournalCorruption, AFlippedByteInTheWriteAheadLogNamesTheFileAndOffset) {
  testing::TempDir tmp;
  const std::string dir = tmp.sub("journal");
  const std::string copy = tmp.sub("copy");
  {
    auto journal = Journal::open_rocksdb(dir, Options{});
    ASSERT_OK(journal);
    for (uint64_t i = 0; i < 300; ++i) {
      AppendRequest request;
      request.org_id = kOrg;
      request.events.push_back(setting_event(i));
      ASSERT_OK((*journal)->append(std::move(request)));
    }
    // Copied while open: what a power cut would leave.
    fs::copy(dir, copy, fs::copy_options::recursive);
  }
  std::string wal;
  uintmax_t wal_size = 0;
  for (const auto& entry : fs::directory_iterator(copy)) {
    if (entry.path().extension() == ".log" && entry.file_size() > wal_size) {
      wal = entry.path().string();
      wal_size = entry.file_size();
    }
  }
  ASSERT_GT(wal_size, 20000u) << "the appends are not in a write-ahead log";
  // Intact, every record of it checks.
  EXPECT_FALSE(find_wal_damage(wal).has_value());
  {
    std::fstream f(wal, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(wal_size / 2));
    char byte = 0;
    ASSERT_TRUE(f.get(byte));
    f.seekp(static_cast<std::streamoff>(wal_size / 2));
    f.put(static_cast<char>(byte ^ 0x5A));
    ASSERT_TRUE(f.flush());
  }
  auto reopened = Journal::open_rocksdb(copy, Options{});
  ASSERT_FALSE(reopened.is_ok()) << "a damaged record in the middle of the log was dropped";
  EXPECT_EQ(reopened.status().code(), Code::kCorruption);
  const std::string message = reopened.status().message();
  EXPECT_NE(message.find(fs::path(wal).filename().string()), std::string::npos) << message;
  EXPECT_NE(message.find("offset"), std::string::npos) << message;
  EXPECT_NE(message.find("backup"), std::string::npos) << message;
  std::cout << message << "\n";
}

TEST(JournalCorruption, FlippedByteInTableFileIsReportedWithItsPosition) {
  testing::TempDir tmp;
  const std::string dir = tmp.sub("journal");
  constexpr uint64_t kEvents = 3000;
  ASSERT_NO_FATAL_FAILURE(write_journal(dir, kEvents, /*per_command=*/10));

  // Flip a byte a third into every table file big enough to hold data blocks
  // of events; the events family's table is one of them.
  std::vector<std::string> flipped;
  std::string sizes;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".sst") continue;
    uintmax_t size = entry.file_size();
    sizes += entry.path().filename().string() + "=" + std::to_string(size) + " ";
    if (size <= 64 * 1024) continue;
    std::fstream f(entry.path(), std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f.is_open()) << entry.path();
    f.seekg(static_cast<std::streamoff>(size / 3));
    char byte = 0;
    ASSERT_TRUE(f.get(byte));
    f.seekp(static_cast<std::streamoff>(size / 3));
    f.put(static_cast<char>(byte ^ 0xFF));
    ASSERT_TRUE(f.flush()) << entry.path();
    flipped.push_back(entry.path().filename().string());
  }
  ASSERT_FALSE(flipped.empty()) << "no table file over 64 KiB; table files: " << sizes;

  std::cout << "flipped a byte in " << ::testing::PrintToString(flipped) << " of " << sizes << "\n";
  auto journal = Journal::open_rocksdb(dir, Options{});
  if (!journal.is_ok()) {
    std::cout << "open: " << journal.status().to_string() << "\n";
    // Refusing to open is an acceptable way to report it.
    EXPECT_EQ(journal.status().code(), Code::kCorruption) << journal.status().to_string();
    return;
  }
  EXPECT_EQ((*journal)->head(), kEvents);
  uint64_t read_count = 0;
  Status s = read_all(journal->get(), /*chunk=*/250, &read_count);
  std::cout << "read: " << s.to_string() << "\n";
  ASSERT_FALSE(s.is_ok()) << "all " << read_count << " events read back after flipping a byte in "
                          << ::testing::PrintToString(flipped);
  EXPECT_EQ(s.code(), Code::kCorruption) << s.to_string();
  EXPECT_TRUE(is_position_subject(s.subject(), kEvents)) << "subject '" << s.subject() << "'";
  EXPECT_NE(s.message().find("position"), std::string::npos) << s.message();
  EXPECT_LT(read_count, kEvents);
}

// Opens the journal's RocksDB folder directly, to damage single records.
// Lives while the journal is closed; not thread-safe.
class RawJournalDb {
 public:
  explicit RawJournalDb(const std::string& dir) {
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (const char* name :
         {rocksdb::kDefaultColumnFamilyName.c_str(), format::kEventsFamily,
          format::kOrgEventsFamily, format::kStreamsFamily, format::kIdempotencyFamily,
          format::kReservationsFamily, format::kKeysFamily}) {
      families.emplace_back(name, rocksdb::ColumnFamilyOptions());
    }
    rocksdb::DB* raw = nullptr;
    status_ = rocksdb::DB::Open(rocksdb::DBOptions(), dir, families, &handles_, &raw);
    db_.reset(raw);
  }

  ~RawJournalDb() {
    if (!db_) return;
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    db_->Close().PermitUncheckedError();
  }

  const rocksdb::Status& status() const { return status_; }

  std::string get_record(uint64_t position) {
    std::string value;
    status_ = db_->Get(rocksdb::ReadOptions(), events(), format::position_key(position), &value);
    return value;
  }
  void put_record(uint64_t position, const std::string& record) {
    status_ = db_->Put(synced(), events(), format::position_key(position), record);
  }
  void delete_record(uint64_t position) {
    status_ = db_->Delete(synced(), events(), format::position_key(position));
  }
  // family: 2 org events, 3 streams, 4 idempotency, 5 reservations, 6 keys.
  void put(int family, const std::string& key, const std::string& value) {
    status_ = db_->Put(synced(), handles_[family], key, value);
  }
  void remove(int family, const std::string& key) {
    status_ = db_->Delete(synced(), handles_[family], key);
  }

 private:
  rocksdb::ColumnFamilyHandle* events() { return handles_[1]; }
  static rocksdb::WriteOptions synced() {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    return wo;
  }

  rocksdb::Status status_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

class JournalRecordDamage : public ::testing::Test {
 protected:
  static constexpr uint64_t kEvents = 20;

  void SetUp() override { ASSERT_NO_FATAL_FAILURE(write_journal(dir_, kEvents, 1)); }

  std::unique_ptr<Journal> reopen() {
    auto journal = Journal::open_rocksdb(dir_, Options{});
    EXPECT_TRUE(journal.is_ok()) << journal.status().to_string();
    return journal.is_ok() ? std::move(journal).value() : nullptr;
  }

  // Positions first..last read back without error.
  static void expect_readable(Journal* journal, uint64_t first, uint64_t last) {
    auto events = journal->read(first, last - first + 1);
    ASSERT_OK(events);
    ASSERT_EQ(events->size(), last - first + 1);
    for (uint64_t p = first; p <= last; ++p) EXPECT_EQ((*events)[p - first].position(), p);
  }

  // Reading the whole journal fails as corruption at `position`, saying
  // `what`; the damage is confined to that record.
  static void expect_damaged_only_at(Journal* journal, uint64_t position, const std::string& what) {
    auto events = journal->read(1, 100);
    EXPECT_CODE(events, Code::kCorruption);
    EXPECT_EQ(events.status().subject(), "position " + std::to_string(position));
    EXPECT_NE(events.status().message().find(what), std::string::npos) << events.status().message();
    expect_readable(journal, 1, position - 1);
    expect_readable(journal, position + 1, kEvents);
  }

  testing::TempDir tmp_;
  const std::string dir_ = tmp_.sub("journal");
};

TEST_F(JournalRecordDamage, EveryDerivedEntryThatDisagreesWithTheEventsIsNamed) {
  {
    auto journal = reopen();
    ASSERT_NE(journal, nullptr);
    auto clean = journal->verify_families(100);
    ASSERT_OK(clean);
    EXPECT_TRUE(clean->empty());
  }
  {
    RawJournalDb raw(dir_);
    ASSERT_TRUE(raw.status().ok()) << raw.status().ToString();
    raw.remove(2, format::org_event_key(kOrg, 3));      // an org index entry lost
    raw.put(2, format::org_event_key("other", 7), "");  // one that no event backs
    std::string v99;
    format::put_u64_be(&v99, 99);
    raw.put(3, format::stream_key(kOrg, "setting/key4"), v99);  // a wrong version
    raw.remove(3, format::stream_key(kOrg, "setting/key5"));    // a lost version
    std::string positions;
    format::put_u64_be(&positions, 1);
    format::put_u64_be(&positions, 1);
    raw.put(4, format::idempotency_key(kOrg, "never-used"), positions);  // a forged retry
    ASSERT_TRUE(raw.status().ok()) << raw.status().ToString();
  }
  auto journal = reopen();
  ASSERT_NE(journal, nullptr);
  auto found = journal->verify_families(100);
  ASSERT_OK(found);
  std::set<std::string> seen;
  for (const auto& d : *found) seen.insert(d.family + " " + d.key + ": " + d.what);
  EXPECT_EQ(seen,
            (std::set<std::string>{
                "idempotency corrupt-org/never-used: holds positions 1..1 that no event backs",
                "org_events corrupt-org/3: is missing; the events say an entry",
                "org_events other/7: holds an entry that no event backs",
                "streams corrupt-org/setting/key4: holds version 99; the events say version 1",
                "streams corrupt-org/setting/key5: is missing; the events say version 1",
            }));
  auto limited = journal->verify_families(2);
  ASSERT_OK(limited);
  EXPECT_EQ(limited->size(), 2u);
}

TEST_F(JournalRecordDamage, LostDerivedEntriesOfTheLastCommandRefuseAWritableOpen) {
  {
    RawJournalDb raw(dir_);
    ASSERT_TRUE(raw.status().ok()) << raw.status().ToString();
    raw.remove(3, format::stream_key(kOrg, "setting/key" + std::to_string(kEvents - 1)));
    ASSERT_TRUE(raw.status().ok()) << raw.status().ToString();
  }
  auto journal = Journal::open_rocksdb(dir_, Options{});
  ASSERT_FALSE(journal.is_ok());
  EXPECT_EQ(journal.status().code(), Code::kCorruption) << journal.status().to_string();
  EXPECT_NE(journal.status().message().find("stream versions lack version 1"), std::string::npos)
      << journal.status().to_string();
  // Read-only, it opens: verify and export can still read it.
  Options read_only;
  read_only.read_only = true;
  read_only.create_if_missing = false;
  auto reader = Journal::open_rocksdb(dir_, read_only);
  ASSERT_OK(reader);
  auto found = (*reader)->verify_families(10);
  ASSERT_OK(found);
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].family, "streams");
}

TEST_F(JournalRecordDamage, AFolderThatLostItsCurrentFileIsNotReplacedByANewJournal) {
  fs::remove(fs::path(dir_) / "CURRENT");
  std::vector<std::string> before;
  for (const auto& e : fs::directory_iterator(dir_)) before.push_back(e.path().filename().string());
  std::sort(before.begin(), before.end());
  auto journal = Journal::open_rocksdb(dir_, Options{});
  ASSERT_FALSE(journal.is_ok());
  EXPECT_EQ(journal.status().code(), Code::kCorruption) << journal.status().to_string();
  EXPECT_NE(journal.status().message().find("lost its CURRENT file"), std::string::npos)
      << journal.status().to_string();
  std::vector<std::string> after;
  for (const auto& e : fs::directory_iterator(dir_)) after.push_back(e.path().filename().string());
  std::sort(after.begin(), after.end());
  EXPECT_EQ(before, after);  // nothing created, nothing deleted
}

TEST_F(JournalRecordDamage, ChangedPayloadByteFailsTheRecordChecksum) {
  {
    RawJournalDb db(dir_);
    ASSERT_TRUE(db.status().ok()) << db.status().ToString();
    std::string record = db.get_record(5);
    ASSERT_TRUE(db.status().ok()) << db.status().ToString();
    ASSERT_GT(record.size(), format::kRecordHeaderBytes);
    size_t payload_bytes = record.size() - format::kRecordHeaderBytes;
    record[format::kRecordHeaderBytes + payload_bytes / 2] ^= 0x01;
    db.put_record(5, record);
    ASSERT_TRUE(db.status().ok()) << db.status().ToString();
  }
  auto journal = reopen();
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(journal->head(), kEvents);

  expect_damaged_only_at(journal.get(), 5, "checksum");
}

TEST_F(JournalRecordDamage, RecordMovedUnderAnotherPositionFailsItsChecksum) {
  {
    RawJournalDb db(dir_);
    ASSERT_TRUE(db.status().ok()) << db.status().ToString();
    std::string record7 = db.get_record(7);
    ASSERT_TRUE(db.status().ok()) << db.status().ToString();
    db.put_record(8, record7);
    ASSERT_TRUE(db.status().ok()) << db.status().ToString();
  }
  auto journal = reopen();
  ASSERT_NE(journal, nullptr);

  expect_damaged_only_at(journal.get(), 8, "checksum");
}

TEST_F(JournalRecordDamage, DeletedRecordIsReportedAsAGap) {
  {
    RawJournalDb db(dir_);
    ASSERT_TRUE(db.status().ok()) << db.status().ToString();
    db.delete_record(10);
    ASSERT_TRUE(db.status().ok()) << db.status().ToString();
  }
  auto journal = reopen();
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(journal->head(), kEvents);

  expect_damaged_only_at(journal.get(), 10, "gap");
  // A read that starts on the missing position reports it too.
  auto from_gap = journal->read(10, 5);
  EXPECT_CODE(from_gap, Code::kCorruption);
  EXPECT_EQ(from_gap.status().subject(), "position 10");
}

}  // namespace
}  // namespace annals::journal
