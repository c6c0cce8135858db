// The one apply loop: how journal events reach projections' tables.
//
// It reads the journal in batches (never splitting a command), applies each
// event to every projection whose checkpoint is before it, in a write
// transaction that also writes the checkpoints, and reports each batch. The
// live projector runs it under FailurePolicy::kIsolate, rebuild and replay
// under kAbort; that is the only difference. The checkpoint tables
// (projection_checkpoints, projection_failures) are written only through
// the functions below.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "annals/status.h"
#include "events/event.h"
#include "journal/event_log.h"
#include "projections/database.h"
#include "projections/projector.h"

namespace annals::projections {

// Called after each applied batch (committed, when the loop commits) with
// where every projection stands now and the batch's last position;
// returning false stops the loop there.
using AfterBatch = std::function<bool(const std::vector<ProjectionState>& states, uint64_t last)>;

class ApplyLoop {
 public:
  // What run() returns when no projection is running (every one stopped).
  static constexpr uint64_t kNoneRunning = ~uint64_t{0};

  // `projections` and `journal` must outlive the loop.
  ApplyLoop(journal::EventLog& journal, const std::vector<std::unique_ptr<Projection>>& projections,
            FailurePolicy on_failure, size_t batch_size);

  // Applies every event up to `limit` (a position that ends a command) and
  // never past the journal's durable head, starting after the lowest
  // position of the running projections in `states` (one per projection,
  // in order; a projection with failed_at set is left alone). Each batch
  // runs in its own transaction on `database`: all projections at once
  // and, when that fails under kIsolate (and the database is not what
  // failed), again command by command so that only the failing projection
  // stops. Returns the lowest position of the projections still running
  // (kNoneRunning when none is), or the last position of the batch after
  // which `after_batch` returned false. An error leaves the failing batch
  // unapplied; the batches before it stay committed.
  Result<uint64_t> run(db::Database& database, std::vector<ProjectionState> states, uint64_t limit,
                       const AfterBatch& after_batch) const;

  // As above, but every batch in `txn`, which the caller commits (or not).
  // Under kIsolate each batch goes straight to the command-by-command pass:
  // a failed attempt cannot be thrown away without the caller's work.
  Result<uint64_t> run(db::Transaction& txn, std::vector<ProjectionState> states, uint64_t limit,
                       const AfterBatch& after_batch) const;

 private:
  using ApplyBatch = std::function<Status(const std::vector<events::Event>& batch,
                                          const std::vector<ProjectionState>& now,
                                          std::vector<ProjectionState>* next)>;
  Result<uint64_t> loop(std::vector<ProjectionState> states, uint64_t limit,
                        const AfterBatch& after_batch, const ApplyBatch& apply_batch) const;
  Result<std::vector<events::Event>> read_batch(uint64_t from, uint64_t end) const;
  // Applies `batch` in `txn` and writes the checkpoints (and, when a
  // projection stops, its failure) there. isolating: each projection's
  // commands under savepoints, so a failing one stops alone.
  Status apply(db::Transaction& txn, const std::vector<events::Event>& batch, bool isolating,
               const std::vector<ProjectionState>& now, std::vector<ProjectionState>* next) const;

  journal::EventLog& journal_;
  const std::vector<std::unique_ptr<Projection>>& projections_;
  const FailurePolicy on_failure_;
  const size_t batch_size_;
};

// Every stored checkpoint: projection -> position.
Result<std::map<std::string, uint64_t>> read_checkpoints(db::Transaction& txn);
// Every stopped projection: its name, failed_at and error.
Result<std::map<std::string, ProjectionState>> read_failures(db::Transaction& txn);
// Sets a projection's checkpoint (deferred: see Transaction::execute_deferred).
Status write_checkpoint(db::Transaction& txn, const std::string& projection, uint64_t position);
// Records why a projection stopped, and at which position (deferred).
Status write_failure(db::Transaction& txn, const std::string& projection, uint64_t position,
                     const std::string& error);
// Lets a stopped projection run again.
Status clear_failure(db::Transaction& txn, const std::string& projection);

}  // namespace annals::projections
