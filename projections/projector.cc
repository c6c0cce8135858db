#include "projections/projector.h"

#include <kj/exception.h>

#include <algorithm>
#include <optional>

namespace annals::projections {

Projector::Projector(journal::EventLog& journal, db::Database& database,
                     std::vector<std::unique_ptr<Projection>> projections, ProjectorOptions options)
    : journal_(journal),
      database_(database),
      projections_(std::move(projections)),
      options_(options),
      positions_(projections_.size(), 0),
      stops_(projections_.size()) {}

Projector::~Projector() { stop(); }

Status Projector::start() {
  std::lock_guard apply_lock(apply_mu_);
  if (started_) return Status::ok();
  ANNALS_RETURN_IF_ERROR(load_checkpoints_locked());
  started_ = true;
  if (options_.mode == ProjectorMode::kBackground) thread_ = std::thread([this] { run(); });
  return Status::ok();
}

Status Projector::load_checkpoints_locked() {
  ANNALS_ASSIGN_OR_RETURN(auto txn, database_.begin(db::Access::kRead));
  ANNALS_ASSIGN_OR_RETURN(auto rows,
                          txn->query("SELECT projection, position FROM projection_checkpoints"));
  std::map<std::string, uint64_t> stored;
  for (const auto& row : rows) stored[row.text(0)] = static_cast<uint64_t>(row.i64(1));
  ANNALS_ASSIGN_OR_RETURN(
      auto failure_rows, txn->query("SELECT projection, position, error FROM projection_failures"));
  std::map<std::string, Stop> failures;
  for (const auto& row : failure_rows) {
    failures[row.text(0)] = Stop{static_cast<uint64_t>(row.i64(1)), row.text(2)};
  }
  uint64_t head = journal_.head();
  std::vector<uint64_t> loaded(projections_.size(), 0);
  std::vector<Stop> stops(projections_.size());
  for (size_t i = 0; i < projections_.size(); ++i) {
    const std::string name = projections_[i]->name();
    uint64_t p = stored.count(name) ? stored[name] : 0;
    if (p > head) {
      return Status::invalid_argument(
          "database", "projection '" + name + "' in " + database_.describe() + " is at position " +
                          std::to_string(p) + ", past the journal head " + std::to_string(head) +
                          ": this read database was built from another journal; rebuild it");
    }
    loaded[i] = p;
    if (auto it = failures.find(name); it != failures.end()) stops[i] = it->second;
  }
  {
    std::lock_guard state_lock(state_mu_);
    positions_ = std::move(loaded);
    stops_ = std::move(stops);
    uint64_t lowest = lowest_running();
    min_checkpoint_.store(lowest == ~uint64_t{0} ? head : lowest);
  }
  progress_cv_.notify_all();
  return Status::ok();
}

uint64_t Projector::lowest_running() const {
  uint64_t lowest = ~uint64_t{0};
  for (size_t i = 0; i < projections_.size(); ++i) {
    if (stops_[i].position == 0) lowest = std::min(lowest, positions_[i]);
  }
  return lowest;
}

Status Projector::with_paused(const std::function<Status()>& fn) {
  std::lock_guard apply_lock(apply_mu_);
  Status s = fn();
  if (started_) {
    Status reloaded = load_checkpoints_locked();
    if (s.is_ok()) s = reloaded;
  }
  return s;
}

void Projector::stop() {
  {
    std::lock_guard lock(state_mu_);
    stopping_ = true;
  }
  progress_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::map<std::string, uint64_t> Projector::checkpoints() const {
  std::lock_guard lock(state_mu_);
  std::map<std::string, uint64_t> out;
  for (size_t i = 0; i < projections_.size(); ++i) out[projections_[i]->name()] = positions_[i];
  return out;
}

std::vector<ProjectionState> Projector::states() const {
  std::lock_guard lock(state_mu_);
  std::vector<ProjectionState> out;
  for (size_t i = 0; i < projections_.size(); ++i) {
    out.push_back({projections_[i]->name(), positions_[i], stops_[i].position, stops_[i].error});
  }
  return out;
}

Status Projector::last_error() const {
  std::lock_guard lock(state_mu_);
  return last_error_;
}

void Projector::set_error(const Status& s) {
  std::lock_guard lock(state_mu_);
  last_error_ = s;
}

Result<uint64_t> Projector::catch_up() {
  std::lock_guard apply_lock(apply_mu_);
  if (!started_) return Status::internal("Projector::start() was not called");
  auto r = catch_up_locked(~uint64_t{0}, nullptr);
  set_error(r.is_ok() ? Status::ok() : r.status());  // under state_mu_
  progress_cv_.notify_all();
  return r;
}

Result<uint64_t> Projector::catch_up_until(uint64_t limit, const BatchObserver& observer) {
  std::lock_guard apply_lock(apply_mu_);
  if (!started_) return Status::internal("Projector::start() was not called");
  auto r = catch_up_locked(limit, observer);
  set_error(r.is_ok() ? Status::ok() : r.status());
  progress_cv_.notify_all();
  return r;
}

Result<uint64_t> Projector::catch_up_locked(uint64_t limit, const BatchObserver& observer) {
  for (;;) {
    uint64_t lowest;
    {
      std::lock_guard lock(state_mu_);
      lowest = lowest_running();
    }
    if (lowest == ~uint64_t{0}) return min_checkpoint_.load();  // every projection is stopped
    uint64_t from = lowest + 1;
    // Never past what a power cut could take back from the journal.
    uint64_t end = std::min(limit, journal_.durable_head());
    if (from > end) return lowest;
    size_t count = static_cast<size_t>(std::min<uint64_t>(options_.batch_size, end - from + 1));
    ANNALS_ASSIGN_OR_RETURN(auto batch, journal_.read(from, count));
    if (batch.empty()) return lowest;
    // A command's events are applied in one transaction: when the batch
    // ends inside a command, read the rest of it.
    const auto& tail = batch.back().envelope();
    if (tail.getCommandEvents() > tail.getCommandIndex() + 1) {
      uint64_t missing = tail.getCommandEvents() - tail.getCommandIndex() - 1;
      ANNALS_ASSIGN_OR_RETURN(auto rest, journal_.read(batch.back().position() + 1, missing));
      for (auto& e : rest) batch.push_back(std::move(e));
    }
    uint64_t last = batch.back().position();

    // The fast path: every projection in one transaction. When it fails
    // and the policy isolates, the batch is applied again command by
    // command under savepoints, so only the failing projection stops. A
    // database that is unavailable is not a projection's failure: the
    // batch is retried later as a whole.
    std::vector<uint64_t> reached;
    std::vector<Stop> stops;
    Status s = apply_batch(batch, /*isolating=*/false, &reached, &stops);
    if (!s.is_ok()) {
      if (options_.on_failure == FailurePolicy::kAbort || s.code() == Code::kUnavailable) return s;
      ANNALS_RETURN_IF_ERROR(apply_batch(batch, /*isolating=*/true, &reached, &stops));
    }
    uint64_t lowest_now;
    {
      // Under state_mu_, so a waiter cannot check the checkpoints and then
      // miss this notification.
      std::lock_guard lock(state_mu_);
      positions_ = std::move(reached);
      for (size_t i = 0; i < stops.size(); ++i) {
        if (stops[i].position != 0) stops_[i] = std::move(stops[i]);
      }
      lowest_now = lowest_running();
      if (lowest_now != ~uint64_t{0}) min_checkpoint_.store(lowest_now, std::memory_order_release);
    }
    progress_cv_.notify_all();
    if (observer && !observer(last)) return last;
  }
}

Status Projector::apply_batch(const std::vector<events::Event>& batch, bool isolating,
                              std::vector<uint64_t>* reached, std::vector<Stop>* stops) {
  const uint64_t last = batch.back().position();
  *reached = positions_;
  stops->assign(projections_.size(), Stop{});
  auto apply_one = [&](db::Transaction& txn, Projection& projection,
                       const events::Event& event) -> Status {
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
    if (!s.is_ok()) {
      return s.with_context("projection '" + projection.name() + "' failed at position " +
                            std::to_string(event.position()) + " (" +
                            events::payload_type_name(event.type()) + ")");
    }
    return s;
  };

  ANNALS_ASSIGN_OR_RETURN(auto txn, database_.begin(db::Access::kWrite));
  for (size_t i = 0; i < projections_.size(); ++i) {
    if (stops_[i].position != 0) continue;  // stopped earlier: untouched until a replay
    Projection& projection = *projections_[i];
    if (!isolating) {
      for (const auto& event : batch) {
        if (event.position() <= positions_[i] || !projection.handles(event.type())) continue;
        ANNALS_RETURN_IF_ERROR(apply_one(*txn, projection, event));
      }
      (*reached)[i] = std::max(positions_[i], last);
    } else {
      // Command by command, each under a savepoint; with a savepoint per
      // event inside, so that a deferred statement's error names its event.
      for (size_t k = 0; k < batch.size();) {
        size_t j = k + 1;
        while (j < batch.size() && batch[j].envelope().getCommandIndex() != 0) ++j;
        const uint64_t command_start = batch[k].position();
        bool any = false;
        for (size_t e = k; e < j; ++e) {
          any |= batch[e].position() > positions_[i] && projection.handles(batch[e].type());
        }
        if (!any) {
          k = j;
          continue;
        }
        ANNALS_RETURN_IF_ERROR(txn->savepoint("annals_command"));
        Status s;
        uint64_t failed_at = 0;
        for (size_t e = k; e < j && s.is_ok(); ++e) {
          const auto& event = batch[e];
          if (event.position() <= positions_[i] || !projection.handles(event.type())) continue;
          s = txn->savepoint("annals_event");
          if (s.is_ok()) s = apply_one(*txn, projection, event);
          if (s.is_ok()) {
            s = txn->release_savepoint("annals_event");
            if (!s.is_ok()) {
              s = s.with_context("projection '" + projection.name() + "' failed at position " +
                                 std::to_string(event.position()) + " (" +
                                 events::payload_type_name(event.type()) + ")");
            }
          }
          if (!s.is_ok()) failed_at = event.position();
        }
        if (s.is_ok()) s = txn->release_savepoint("annals_command");
        if (!s.is_ok()) {
          if (s.code() == Code::kUnavailable) return s;  // the database, not the projection
          ANNALS_RETURN_IF_ERROR(txn->rollback_to_savepoint("annals_command"));
          (*stops)[i] = Stop{failed_at != 0 ? failed_at : command_start, s.to_string()};
          (*reached)[i] = std::max(positions_[i], command_start - 1);
          break;
        }
        k = j;
      }
      if ((*stops)[i].position == 0) (*reached)[i] = std::max(positions_[i], last);
    }
    if ((*reached)[i] > positions_[i] || (*stops)[i].position != 0) {
      ANNALS_RETURN_IF_ERROR(
          txn->execute_deferred("INSERT INTO projection_checkpoints (projection, position)"
                                " VALUES ($1, $2) ON CONFLICT (projection)"
                                " DO UPDATE SET position = excluded.position",
                                {projection.name(), static_cast<int64_t>((*reached)[i])}));
    }
    if ((*stops)[i].position != 0) {
      ANNALS_RETURN_IF_ERROR(txn->execute_deferred(
          "INSERT INTO projection_failures (projection, position, error) VALUES ($1, $2, $3)"
          " ON CONFLICT (projection) DO UPDATE SET position = excluded.position,"
          " error = excluded.error",
          {projection.name(), static_cast<int64_t>((*stops)[i].position), (*stops)[i].error}));
    }
  }
  return txn->commit();
}

Status Projector::wait_for(uint64_t position, std::chrono::milliseconds timeout,
                           const std::vector<events::PayloadType>& types) {
  std::vector<size_t> relevant;
  for (size_t i = 0; i < projections_.size(); ++i) {
    bool handles = types.empty();
    for (auto type : types) handles = handles || projections_[i]->handles(type);
    if (handles) relevant.push_back(i);
  }
  // Under state_mu_: kOk when every relevant projection has applied
  // `position`, kTimedOut when one of them is stopped short of it, empty to
  // keep waiting.
  auto verdict = [&]() -> std::optional<Status> {
    bool all = true;
    for (size_t i : relevant) {
      if (positions_[i] >= position) continue;
      if (stops_[i].position != 0) {
        return Status::timed_out("the write is committed at position " + std::to_string(position) +
                                 " but not visible: projection '" + projections_[i]->name() +
                                 "' is stopped at position " + std::to_string(stops_[i].position) +
                                 " (" + stops_[i].error +
                                 "); once the cause is fixed, `annals replay " +
                                 projections_[i]->name() + "` resumes it");
      }
      all = false;
    }
    if (all) return Status::ok();
    return std::nullopt;
  };
  {
    std::lock_guard lock(state_mu_);
    if (auto v = verdict()) return *v;
  }
  // A projection applies only what is on stable storage: the write that
  // waits to be visible has it synced (under kBatch one fsync serves every
  // writer queued behind it).
  Status durable = journal_.sync_to(position);
  if (!durable.is_ok()) {
    return Status::timed_out("the write is committed at position " + std::to_string(position) +
                             " but not visible: the journal could not sync it (" +
                             durable.to_string() + ")");
  }
  std::unique_lock lock(state_mu_, std::defer_lock);
  std::optional<Status> result;
  if (options_.mode == ProjectorMode::kInline) {
    // Nobody else applies events in inline mode: once this catch-up (which
    // covers `position`) returns, there is nothing to wait for.
    (void)catch_up();  // a database error stays in last_error_ for the message below
    lock.lock();
    result = verdict();
  } else {
    lock.lock();
    progress_cv_.wait_for(lock, timeout, [&] {
      result = verdict();
      return result.has_value() || stopping_;
    });
  }
  if (result.has_value()) return *result;
  std::string message = "projections reached position " + std::to_string(checkpoint()) + ", not " +
                        std::to_string(position) +
                        (options_.mode == ProjectorMode::kInline
                             ? std::string()
                             : ", within " + std::to_string(timeout.count()) + " ms") +
                        "; the write is committed";
  if (!last_error_.is_ok()) message += "; last projector error: " + last_error_.to_string();
  return Status::timed_out(message);
}

void Projector::run() {
  auto backoff = options_.retry_backoff;
  for (;;) {
    {
      std::lock_guard lock(state_mu_);
      if (stopping_) return;
    }
    auto r = catch_up();
    std::chrono::milliseconds wait = options_.idle_wait;
    if (!r.is_ok()) {
      wait = backoff;
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
    } else {
      backoff = options_.retry_backoff;
      if (journal_.durable_head() > *r) continue;
    }
    if (r.is_ok()) {
      journal_.wait_for_durable_head(*r, wait);
    } else {
      std::unique_lock lock(state_mu_);
      progress_cv_.wait_for(lock, wait, [&] { return stopping_; });
    }
  }
}

}  // namespace annals::projections
