// import_journal on any bytes, as an export file: a Status, never a crash,
// and nothing written unless the import succeeds. What imports, imports
// again as a no-op. The journal lives in memory (a RocksDB MemEnv); it is
// kept from one input to the next while it stays empty and made afresh
// after anything was written.
#include <rocksdb/env.h>

#include <cstdint>
#include <memory>
#include <sstream>
#include <string>

#include "journal/export.h"
#include "journal/journal.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using annals::journal::Journal;

class MemoryJournal {
 public:
  Journal& get() {
    if (journal_ == nullptr) open();
    return *journal_;
  }
  // Drops the journal (and its files) when anything is in it.
  void reset_if_written() {
    auto state = journal_->snapshot_state();
    FUZZ_CHECK(state.is_ok(), state.status().to_string());
    if (state->head == 0 && state->data_keys.empty() && state->reservations.empty()) return;
    journal_.reset();
    env_.reset();
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static MemoryJournal* memory = new MemoryJournal();  // lives for the whole run
  Journal& journal = memory->get();
  std::string text(reinterpret_cast<const char*>(data), size);

  std::istringstream in(text);
  auto first = annals::journal::import_journal(journal, in);
  if (!first.is_ok()) {
    // Refused: nothing written.
    auto state = journal.snapshot_state();
    FUZZ_CHECK(state.is_ok(), state.status().to_string());
    FUZZ_CHECK(state->head == 0 && state->data_keys.empty() && state->reservations.empty(),
               "a refused import wrote: " + first.status().to_string());
    return 0;
  }
  FUZZ_CHECK(first->head == journal.head(), "head");

  std::istringstream again(text);
  auto second = annals::journal::import_journal(journal, again);
  FUZZ_CHECK(second.is_ok(), second.status().to_string());
  FUZZ_CHECK(second->events == 0 && second->already_present == first->head,
             "the second import wrote events again");
  FUZZ_CHECK(second->head == first->head, "head moved on the second import");
  memory->reset_if_written();
  return 0;
}
