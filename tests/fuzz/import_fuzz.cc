// import_journal on any bytes, as an export file: a Status, never a crash,
// and nothing written unless the import succeeds.
//
// Every input goes through the import's first pass, every check, with a
// further check (ImportCheck) that sees each event and refuses the import
// at the end, so nothing is written and the journal stays empty. Opening a
// fresh journal takes far longer than a pass, so only one input in
// kWriteOneIn of those the first pass accepts (chosen by a hash of the
// input, so a run of one input does the same) is imported for real into a
// fresh journal, then imported again, which must write nothing; then the
// journal is dropped. The journal lives in memory (a RocksDB MemEnv).
#include <rocksdb/env.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>

#include "events/event.h"
#include "journal/export.h"
#include "journal/journal.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using annals::Status;
using annals::journal::Journal;

constexpr size_t kWriteOneIn = 256;
constexpr std::string_view kStop = "first pass done; stopping before the writes";

class MemoryJournal {
 public:
  Journal& get() {
    if (journal_ == nullptr) open();
    return *journal_;
  }
  void drop() {
    journal_.reset();
    env_.reset();
  }
  void expect_empty(const std::string& after) {
    auto state = get().snapshot_state();
    FUZZ_CHECK(state.is_ok(), state.status().to_string());
    FUZZ_CHECK(state->head == 0 && state->data_keys.empty() && state->reservations.empty(),
               "the journal was written to by " + after);
  }

 private:
  void open() {
    env_.reset(rocksdb::NewMemEnv(rocksdb::Env::Default()));
    annals::journal::Options options;
    options.env = env_.get();
    options.durability = annals::journal::Durability::kNone;
    auto journal = Journal::open_rocksdb("/fuzz/journal", options);
    FUZZ_CHECK(journal.is_ok(), journal.status().to_string());
    journal_ = std::move(journal).value();
  }

  std::unique_ptr<rocksdb::Env> env_;  // outlives journal_ (declared first)
  std::unique_ptr<Journal> journal_;
};

// Reads what the import hands it, then refuses the import once its first
// pass has accepted every line.
class StopBeforeWrites : public annals::journal::ImportCheck {
 public:
  Status event(const annals::events::Event& event) override {
    FUZZ_CHECK(event.position() == ++events_, "events out of order");
    (void)annals::events::payload_type_name(event.type());
    return Status::ok();
  }
  Status reservations(const std::vector<ReservationLine>& lines) override {
    (void)lines;
    reached_ = true;
    return Status::internal(std::string(kStop));
  }
  bool reached() const { return reached_; }

 private:
  uint64_t events_ = 0;
  bool reached_ = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static MemoryJournal* memory = new MemoryJournal();  // lives for the whole run
  std::string text(reinterpret_cast<const char*>(data), size);

  StopBeforeWrites stop;
  annals::journal::ImportOptions options;
  options.checks.push_back(&stop);
  std::istringstream in(text);
  auto checked = annals::journal::import_journal(memory->get(), in, options);
  FUZZ_CHECK(!checked.is_ok(), "imported despite a check that refuses");
  FUZZ_CHECK(stop.reached() == (checked.status().message() == kStop), checked.status().to_string());
  memory->expect_empty("a refused import: " + checked.status().to_string());
  if (!stop.reached() || std::hash<std::string>()(text) % kWriteOneIn != 0) return 0;

  Journal& journal = memory->get();
  std::istringstream first_in(text);
  auto first = annals::journal::import_journal(journal, first_in);
  if (!first.is_ok()) {
    memory->expect_empty("a refused import: " + first.status().to_string());
    return 0;
  }
  FUZZ_CHECK(first->head == journal.head(), "head");
  std::istringstream again(text);
  auto second = annals::journal::import_journal(journal, again);
  FUZZ_CHECK(second.is_ok(), second.status().to_string());
  FUZZ_CHECK(second->events == 0 && second->already_present == first->head,
             "the second import wrote events again");
  FUZZ_CHECK(second->head == first->head, "head moved on the second import");
  memory->drop();
  return 0;
}
