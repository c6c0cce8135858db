// The operator tools a Store offers over its read database (Store::rebuild
// and the others; docs/OPERATIONS.md, "Rebuilding the read schema"), and what
// they report.
//
//   annals::repositories::RebuildRequest request;
//   request.admin_url = superuser_url;   // PostgreSQL only; empty on SQLite
//   auto report = store->rebuild(request);
//
// A rebuild builds a complete read schema beside the live one, replays the
// whole journal into it and swaps it in atomically, pausing the live
// projector only for the final catch-up and the swap; readers keep reading
// the old schema until then. An interrupted rebuild leaves the live schema
// untouched, and running it again resumes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace annals::projections {

struct Progress {
  std::string phase;      // "replay", "catch-up", "check", "replay <projection>"
  uint64_t position = 0;  // reached
  uint64_t target = 0;    // the journal head when the phase started
};
// Returning false interrupts the work at the next batch boundary.
using ProgressFn = std::function<bool(const Progress&)>;

struct RebuildPlan {
  std::string live;                // what serves reads now
  std::string target;              // where the rebuild builds
  bool target_exists = false;      // a previous rebuild stopped part-way
  uint64_t target_checkpoint = 0;  // where it stopped (when it exists)
  uint64_t journal_head = 0;
  int migrations = 0;
  std::vector<std::string> steps;  // what rebuild() would do, in words
};

struct RebuildReport {
  std::string target;
  bool resumed = false;
  uint64_t from = 0;             // the first position replayed
  uint64_t position = 0;         // the position the swapped-in schema holds
  uint64_t events_replayed = 0;  // events read from the journal this time
  double seconds = 0;
};

// One table whose contents differ, and the row that shows it.
struct TableDifference {
  std::string table;
  std::string key;   // the primary key, "col=value, ..." (the whole row without one)
  std::string what;  // "only in live", "only in rebuilt", "differs"
};

struct CheckReport {
  uint64_t position = 0;                       // both schemas were compared at
  std::map<std::string, std::string> digests;  // table -> SHA-256 of its contents (live)
  std::map<std::string, uint64_t> rows;        // table -> rows (live)
  std::vector<TableDifference> differences;    // empty: identical
  bool truncated = false;                      // more differences than listed
};

}  // namespace annals::projections

namespace annals::repositories {

// What every operator call of a Store takes.
struct RebuildRequest {
  // PostgreSQL: a superuser URL (schemas are created, renamed and dropped).
  // The store keeps none, so each call is given one. Ignored on SQLite.
  std::string admin_url;
  // Called after each batch; returning false interrupts the work.
  projections::ProgressFn progress;
  size_t batch_size = 2000;  // events a transaction
};

}  // namespace annals::repositories
