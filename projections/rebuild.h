// Rebuilding read schemas from the journal, on a live system.
//
// A rebuild builds a complete read schema from every migration beside the
// live one, replays the whole journal into it, and swaps it in atomically:
//   SQLite      a new file beside the live one ("read.sqlite.rebuild"), then
//               a rename over it. The live database waits for the
//               transactions under way, closes, renames and reopens; a read
//               that arrives meanwhile waits, it does not fail.
//   PostgreSQL  a new schema pair ("annals_rebuild", "annals_rebuild_meta"),
//               then one transaction that renames the live pair away, renames
//               the new pair into place and drops the old one. Readers block
//               on the old tables' locks for that instant and then read the
//               new ones.
// The live projector is paused only for the final catch-up and the swap, so
// events appended during the rebuild are in the new schema before it serves.
// An interrupted rebuild leaves the live schema untouched; its target keeps
// its checkpoints, so running it again resumes (or discard_rebuild drops it).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "annals/clock.h"
#include "annals/rebuild.h"
#include "annals/status.h"
#include "journal/event_log.h"
#include "projections/database.h"
#include "projections/projector.h"
#include "projections/table_contents.h"

namespace annals::projections {

struct RebuildOptions {
  // PostgreSQL: a superuser URL (schemas are created, renamed and dropped).
  std::string admin_url;
  // The live projector, paused for the final catch-up and the swap; null
  // when nothing else projects into the live database.
  Projector* live_projector = nullptr;
  size_t batch_size = 2000;
  ProgressFn progress;
  Clock* clock = nullptr;  // stamps the migration record; null: the system clock
};

// Operations on the read database `live` (the one queries read; on
// PostgreSQL, any connection to it: the swap goes through options.admin_url).
class Rebuilder {
 public:
  Rebuilder(journal::EventLog& journal, db::Database& live, RebuildOptions options);

  // What rebuild() would do; changes nothing.
  Result<RebuildPlan> plan();

  // Builds (or resumes) the target, replays to the journal head, catches up
  // under the paused live projector and swaps. On an error or an
  // interruption the live schema is untouched.
  Result<RebuildReport> rebuild();

  // Drops a partial target; fine when there is none.
  Status discard();

  // Proves determinism: builds a second schema up to the live schema's
  // checkpoint, compares every table, row by row, then drops it.
  Result<CheckReport> check();

  // Re-runs one projection: empties its tables and applies the journal from
  // `from` on (1: all of it), in one transaction under the paused live
  // projector, so readers see the old rows until the new ones replace them.
  // Returns the position reached.
  Result<uint64_t> replay(const std::string& projection, uint64_t from);

  class Target;  // where a rebuild builds (defined in rebuild.cc)

 private:
  std::unique_ptr<Target> target(const std::string& name);
  Result<uint64_t> replay_into(Target& target, uint64_t limit, const std::string& phase,
                               uint64_t* events);

  journal::EventLog& journal_;
  db::Database& live_;
  RebuildOptions options_;
  SystemClock system_clock_;
};

}  // namespace annals::projections
