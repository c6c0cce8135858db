// Projectors: turn journal events into rows of read tables.
//
// A Projection says how one event changes its tables. The Projector runtime
// feeds it events from the journal in batches (through the ApplyLoop of
// projections/apply_loop.h, which rebuild and replay run too); each batch is
// applied in one database transaction that also advances the projection's
// checkpoint, so a crash or an error never loses or doubles an event's
// effect.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "annals/options.h"
#include "annals/status.h"
#include "events/event.h"
#include "journal/event_log.h"
#include "projections/database.h"

namespace annals::projections {

// One read model. apply() must use only what the event holds (no clock, no
// random ids), so that replaying the journal always yields the same rows.
// Called from one thread at a time.
class Projection {
 public:
  virtual ~Projection() = default;
  virtual std::string name() const = 0;
  virtual bool handles(events::PayloadType type) const = 0;
  // The transaction is already scoped to the event's org.
  virtual Status apply(db::Transaction& txn, const events::Event& event) = 0;
  // The tables it writes, and nothing else writes (a replay empties them).
  virtual std::vector<std::string> tables() const = 0;
};

// Called after each applied batch with the position reached; returning false
// stops the catch-up there (what was applied stays applied).
using BatchObserver = std::function<bool(uint64_t reached)>;

using annals::ProjectorMode;  // annals/options.h

// What a failing projection does to the others.
enum class FailurePolicy {
  // The live projector: the failing projection stops at the failing
  // command (its position and error recorded in projection_failures, in the
  // same transaction as the checkpoints); the others carry on.
  kIsolate,
  // Rebuild and replay: the whole catch-up fails and nothing of the batch
  // is kept; the operator sees the error.
  kAbort,
};

struct ProjectorOptions {
  ProjectorMode mode = ProjectorMode::kInline;
  FailurePolicy on_failure = FailurePolicy::kIsolate;
  size_t batch_size = 1000;                      // events per transaction, at most
  std::chrono::milliseconds idle_wait{200};      // background: longest sleep between looks
  std::chrono::milliseconds retry_backoff{100};  // background: first wait after a failure
};

// Where one projection stands.
struct ProjectionState {
  std::string name;
  uint64_t position = 0;   // its checkpoint: every event up to here is applied
  uint64_t failed_at = 0;  // 0, or the position of the event it stopped at
  std::string error;       // why it stopped (when failed_at > 0)
};

// Thread-safe. "journal" and "database" must outlive the Projector.
class Projector {
 public:
  Projector(journal::EventLog& journal, db::Database& database,
            std::vector<std::unique_ptr<Projection>> projections, ProjectorOptions options = {});
  ~Projector();

  // Loads checkpoints (refusing a read database that is ahead of the
  // journal) and, in background mode, starts following the journal.
  Status start();
  void stop();

  // Applies every event up to the journal's head now; returns the lowest
  // checkpoint of the projections still running. A projection that fails
  // is stopped (kIsolate) and is not an error here; an error means the
  // database failed (or, under kAbort, a projection did), and the failed
  // batch changed nothing.
  Result<uint64_t> catch_up();

  // As catch_up(), but stops at `limit` (a position that ends a command)
  // and reports each batch to `observer` (may be empty).
  Result<uint64_t> catch_up_until(uint64_t limit, const BatchObserver& observer);

  // Runs `fn` while no batch is applied (appends still go on), then reloads
  // the checkpoints from the database: a rebuild swaps the tables under the
  // projector this way.
  Status with_paused(const std::function<Status()>& fn);

  // Returns once every projection that handles one of `types` (every
  // projection when `types` is empty) has applied `position`: inline mode
  // catches up itself, background mode waits for the thread. kTimedOut when
  // the timeout passes first (the error that held it up is in the message),
  // and at once when one of those projections is stopped: the write is
  // committed, not visible.
  Status wait_for(uint64_t position, std::chrono::milliseconds timeout,
                  const std::vector<events::PayloadType>& types = {});

  // The lowest checkpoint of the projections still running.
  uint64_t checkpoint() const { return min_checkpoint_.load(std::memory_order_acquire); }
  std::map<std::string, uint64_t> checkpoints() const;
  std::vector<ProjectionState> states() const;
  Status last_error() const;
  ProjectorMode mode() const { return options_.mode; }

 private:
  Result<uint64_t> catch_up_locked(uint64_t limit, const BatchObserver& observer);
  Status load_checkpoints_locked();
  uint64_t lowest_running() const;  // under state_mu_'s writers; ~0 when none runs
  void run();
  void set_error(const Status& s);

  journal::EventLog& journal_;
  db::Database& database_;
  std::vector<std::unique_ptr<Projection>> projections_;
  const ProjectorOptions options_;

  std::mutex apply_mu_;                  // one batch at a time
  std::vector<ProjectionState> states_;  // one per projection; guarded by apply_mu_ and
                                         // state_mu_ for writes
  std::atomic<uint64_t> min_checkpoint_{0};
  bool started_ = false;  // guarded by apply_mu_

  mutable std::mutex state_mu_;
  std::condition_variable progress_cv_;
  Status last_error_;      // guarded by state_mu_
  bool stopping_ = false;  // guarded by state_mu_
  std::thread thread_;
};

}  // namespace annals::projections
