#include "projections/apply_loop.h"

#include <kj/exception.h>

#include <algorithm>

namespace annals::projections {
namespace {

std::string failed_at(const Projection& projection, const events::Event& event) {
  return "projection '" + projection.name() + "' failed at position " +
         std::to_string(event.position()) + " (" + events::payload_type_name(event.type()) + ")";
}

// One event into one projection. A payload that does not decode or a
// projection that throws is that projection's failure, not the loop's.
Status apply_event(db::Transaction& txn, Projection& projection, const events::Event& event) {
  Status s;
  try {
    s = txn.set_org(event.org_id());
    if (s.is_ok()) s = projection.apply(txn, event);
  } catch (const kj::Exception& e) {
    s = Status::corruption(std::string("event does not decode: ") + e.getDescription().cStr(),
                           "position " + std::to_string(event.position()));
  } catch (const std::exception& e) {
    s = Status::internal(std::string("projection threw: ") + e.what());
  }
  if (!s.is_ok()) return s.with_context(failed_at(projection, event));
  return s;
}

uint64_t lowest_running(const std::vector<ProjectionState>& states) {
  uint64_t lowest = ApplyLoop::kNoneRunning;
  for (const auto& state : states) {
    if (state.failed_at == 0) lowest = std::min(lowest, state.position);
  }
  return lowest;
}

}  // namespace

ApplyLoop::ApplyLoop(journal::EventLog& journal,
                     const std::vector<std::unique_ptr<Projection>>& projections,
                     FailurePolicy on_failure, size_t batch_size)
    : journal_(journal),
      projections_(projections),
      on_failure_(on_failure),
      batch_size_(batch_size) {}

Result<uint64_t> ApplyLoop::run(db::Database& database, std::vector<ProjectionState> states,
                                uint64_t limit, const AfterBatch& after_batch) const {
  auto in_transaction = [&](const std::vector<events::Event>& batch, bool isolating,
                            const std::vector<ProjectionState>& now,
                            std::vector<ProjectionState>* next) -> Status {
    ANNALS_ASSIGN_OR_RETURN(auto txn, database.begin(db::Access::kWrite));
    ANNALS_RETURN_IF_ERROR(apply(*txn, batch, isolating, now, next));
    return txn->commit();
  };
  // The fast path: every projection in one transaction. When it fails and
  // the policy isolates, the batch is applied again command by command
  // under savepoints, so only the failing projection stops. A database
  // that is unavailable is not a projection's failure: the batch is
  // retried later as a whole.
  return loop(
      std::move(states), limit, after_batch,
      [&](const std::vector<events::Event>& batch, const std::vector<ProjectionState>& now,
          std::vector<ProjectionState>* next) -> Status {
        Status s = in_transaction(batch, /*isolating=*/false, now, next);
        if (s.is_ok() || on_failure_ == FailurePolicy::kAbort || s.code() == Code::kUnavailable) {
          return s;
        }
        return in_transaction(batch, /*isolating=*/true, now, next);
      });
}

Result<uint64_t> ApplyLoop::run(db::Transaction& txn, std::vector<ProjectionState> states,
                                uint64_t limit, const AfterBatch& after_batch) const {
  return loop(std::move(states), limit, after_batch,
              [&](const std::vector<events::Event>& batch, const std::vector<ProjectionState>& now,
                  std::vector<ProjectionState>* next) {
                return apply(txn, batch, on_failure_ == FailurePolicy::kIsolate, now, next);
              });
}

Result<uint64_t> ApplyLoop::loop(std::vector<ProjectionState> states, uint64_t limit,
                                 const AfterBatch& after_batch,
                                 const ApplyBatch& apply_batch) const {
  for (;;) {
    uint64_t lowest = lowest_running(states);
    if (lowest == kNoneRunning) return kNoneRunning;
    uint64_t from = lowest + 1;
    // Never past what a power cut could take back from the journal.
    uint64_t end = std::min(limit, journal_.durable_head());
    if (from > end) return lowest;
    ANNALS_ASSIGN_OR_RETURN(auto batch, read_batch(from, end));
    if (batch.empty()) return lowest;
    std::vector<ProjectionState> next;
    ANNALS_RETURN_IF_ERROR(apply_batch(batch, states, &next));
    states = std::move(next);
    uint64_t last = batch.back().position();
    if (after_batch && !after_batch(states, last)) return last;
  }
}

Result<std::vector<events::Event>> ApplyLoop::read_batch(uint64_t from, uint64_t end) const {
  size_t count = static_cast<size_t>(std::min<uint64_t>(batch_size_, end - from + 1));
  ANNALS_ASSIGN_OR_RETURN(auto batch, journal_.read(from, count));
  if (batch.empty()) return batch;
  // A command's events are applied in one transaction: when the batch ends
  // inside a command, read the rest of it.
  const auto& tail = batch.back().envelope();
  if (tail.getCommandEvents() > tail.getCommandIndex() + 1) {
    uint64_t missing = tail.getCommandEvents() - tail.getCommandIndex() - 1;
    ANNALS_ASSIGN_OR_RETURN(auto rest, journal_.read(batch.back().position() + 1, missing));
    for (auto& e : rest) batch.push_back(std::move(e));
  }
  return batch;
}

Status ApplyLoop::apply(db::Transaction& txn, const std::vector<events::Event>& batch,
                        bool isolating, const std::vector<ProjectionState>& now,
                        std::vector<ProjectionState>* next) const {
  const uint64_t last = batch.back().position();
  *next = now;
  for (size_t i = 0; i < projections_.size(); ++i) {
    if (now[i].failed_at != 0) continue;  // stopped earlier: untouched until a replay
    Projection& projection = *projections_[i];
    const uint64_t position = now[i].position;
    ProjectionState& reached = (*next)[i];
    if (!isolating) {
      for (const auto& event : batch) {
        if (event.position() <= position || !projection.handles(event.type())) continue;
        ANNALS_RETURN_IF_ERROR(apply_event(txn, projection, event));
      }
      reached.position = std::max(position, last);
    } else {
      // Command by command, each under a savepoint; with a savepoint per
      // event inside, so that a deferred statement's error names its event.
      for (size_t k = 0; k < batch.size();) {
        size_t j = k + 1;
        while (j < batch.size() && batch[j].envelope().getCommandIndex() != 0) ++j;
        const uint64_t command_start = batch[k].position();
        bool any = false;
        for (size_t e = k; e < j; ++e) {
          any |= batch[e].position() > position && projection.handles(batch[e].type());
        }
        if (!any) {
          k = j;
          continue;
        }
        ANNALS_RETURN_IF_ERROR(txn.savepoint("annals_command"));
        Status s;
        uint64_t failed = 0;
        for (size_t e = k; e < j && s.is_ok(); ++e) {
          const auto& event = batch[e];
          if (event.position() <= position || !projection.handles(event.type())) continue;
          s = txn.savepoint("annals_event");
          if (s.is_ok()) s = apply_event(txn, projection, event);
          if (s.is_ok()) {
            s = txn.release_savepoint("annals_event");
            if (!s.is_ok()) s = s.with_context(failed_at(projection, event));
          }
          if (!s.is_ok()) failed = event.position();
        }
        if (s.is_ok()) s = txn.release_savepoint("annals_command");
        if (!s.is_ok()) {
          if (s.code() == Code::kUnavailable) return s;  // the database, not the projection
          ANNALS_RETURN_IF_ERROR(txn.rollback_to_savepoint("annals_command"));
          reached.failed_at = failed != 0 ? failed : command_start;
          reached.error = s.to_string();
          reached.position = std::max(position, command_start - 1);
          break;
        }
        k = j;
      }
      if (reached.failed_at == 0) reached.position = std::max(position, last);
    }
    if (reached.position > position || reached.failed_at != 0) {
      ANNALS_RETURN_IF_ERROR(write_checkpoint(txn, projection.name(), reached.position));
    }
    if (reached.failed_at != 0) {
      ANNALS_RETURN_IF_ERROR(
          write_failure(txn, projection.name(), reached.failed_at, reached.error));
    }
  }
  return Status::ok();
}

Result<std::map<std::string, uint64_t>> read_checkpoints(db::Transaction& txn) {
  ANNALS_ASSIGN_OR_RETURN(auto rows,
                          txn.query("SELECT projection, position FROM projection_checkpoints"));
  std::map<std::string, uint64_t> out;
  for (const auto& row : rows) out[row.text(0)] = static_cast<uint64_t>(row.i64(1));
  return out;
}

Result<std::map<std::string, ProjectionState>> read_failures(db::Transaction& txn) {
  ANNALS_ASSIGN_OR_RETURN(auto rows,
                          txn.query("SELECT projection, position, error FROM projection_failures"));
  std::map<std::string, ProjectionState> out;
  for (const auto& row : rows) {
    ProjectionState& state = out[row.text(0)];
    state.name = row.text(0);
    state.failed_at = static_cast<uint64_t>(row.i64(1));
    state.error = row.text(2);
  }
  return out;
}

Status write_checkpoint(db::Transaction& txn, const std::string& projection, uint64_t position) {
  return txn.execute_deferred(
      "INSERT INTO projection_checkpoints (projection, position)"
      " VALUES ($1, $2) ON CONFLICT (projection)"
      " DO UPDATE SET position = excluded.position",
      {projection, static_cast<int64_t>(position)});
}

Status write_failure(db::Transaction& txn, const std::string& projection, uint64_t position,
                     const std::string& error) {
  return txn.execute_deferred(
      "INSERT INTO projection_failures (projection, position, error) VALUES ($1, $2, $3)"
      " ON CONFLICT (projection) DO UPDATE SET position = excluded.position,"
      " error = excluded.error",
      {projection, static_cast<int64_t>(position), error});
}

Status clear_failure(db::Transaction& txn, const std::string& projection) {
  return txn.execute_deferred("DELETE FROM projection_failures WHERE projection = $1",
                              {projection});
}

}  // namespace annals::projections
