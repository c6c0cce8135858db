// The journal: an event log (event_log.h), the org key store beside it
// (key_store.h) and the import a restore writes through (import.h), kept in
// one place on disk so that one atomic write can span them. Each user takes
// only the interface it needs: repositories and projectors an EventLog,
// Secrets an OrgKeyStore, the importer an Import; a second journal
// implementation implements exactly these three.
//
//   auto journal = Journal::open_rocksdb("/data/journal", options);
//   auto result = (*journal)->append(std::move(cmd));   // positions, or a Status
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "annals/clock.h"
#include "annals/options.h"
#include "annals/status.h"
#include "journal/event_log.h"
#include "journal/import.h"
#include "journal/key_store.h"
#include "journal/types.h"

namespace rocksdb {
class Env;
}

namespace annals::journal {

using annals::Durability;  // annals/options.h

Result<Durability> parse_durability(std::string_view name);
std::string_view durability_name(Durability durability);

struct Options {
  Durability durability = Durability::kSync;
  // Stamps recorded-at. Null means the system clock. Must outlive the journal.
  Clock* clock = nullptr;
  // kBatch: the longest an acknowledged append waits for its fsync.
  std::chrono::milliseconds batch_sync_interval{50};
  bool create_if_missing = true;
  bool read_only = false;  // open without writing (status, verify on a live folder copy)
  // Fault injection for tests: called before each command is staged into a
  // group; an exception it throws is treated as one thrown while staging.
  std::function<void(const AppendRequest&)> stage_hook;
  // Fault injection for tests: the RocksDB Env (and so the file system) the
  // journal's files are written through; null is the operating system's.
  // Must outlive the journal.
  rocksdb::Env* env = nullptr;
};

class Journal : public EventLog, public OrgKeyStore, public Import {
 public:
  // A journal in a RocksDB directory (created when missing and allowed).
  static Result<std::unique_ptr<Journal>> open_rocksdb(const std::string& dir, Options options);
};

}  // namespace annals::journal
