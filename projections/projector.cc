#include "projections/projector.h"

#include <algorithm>
#include <optional>

#include "projections/apply_loop.h"

namespace annals::projections {

Projector::Projector(journal::EventLog& journal, db::Database& database,
                     std::vector<std::unique_ptr<Projection>> projections, ProjectorOptions options)
    : journal_(journal),
      database_(database),
      projections_(std::move(projections)),
      options_(options) {
  states_.resize(projections_.size());
  for (size_t i = 0; i < projections_.size(); ++i) states_[i].name = projections_[i]->name();
}

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
  ANNALS_ASSIGN_OR_RETURN(auto stored, read_checkpoints(*txn));
  ANNALS_ASSIGN_OR_RETURN(auto failures, read_failures(*txn));
  uint64_t head = journal_.head();
  std::vector<ProjectionState> loaded;
  for (const auto& projection : projections_) {
    ProjectionState state;
    state.name = projection->name();
    auto stored_at = stored.find(state.name);
    state.position = stored_at != stored.end() ? stored_at->second : 0;
    if (state.position > head) {
      return Status::invalid_argument(
          "database", "projection '" + state.name + "' in " + database_.describe() +
                          " is at position " + std::to_string(state.position) +
                          ", past the journal head " + std::to_string(head) +
                          ": this read database was built from another journal; rebuild it");
    }
    if (auto it = failures.find(state.name); it != failures.end()) {
      state.failed_at = it->second.failed_at;
      state.error = it->second.error;
    }
    loaded.push_back(std::move(state));
  }
  {
    std::lock_guard state_lock(state_mu_);
    states_ = std::move(loaded);
    uint64_t lowest = lowest_running();
    min_checkpoint_.store(lowest == ~uint64_t{0} ? head : lowest);
  }
  progress_cv_.notify_all();
  return Status::ok();
}

uint64_t Projector::lowest_running() const {
  uint64_t lowest = ~uint64_t{0};
  for (const auto& state : states_) {
    if (state.failed_at == 0) lowest = std::min(lowest, state.position);
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
  for (const auto& state : states_) out[state.name] = state.position;
  return out;
}

std::vector<ProjectionState> Projector::states() const {
  std::lock_guard lock(state_mu_);
  return states_;
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
  auto publish = [&](const std::vector<ProjectionState>& states, uint64_t last) {
    {
      // Under state_mu_, so a waiter cannot check the checkpoints and then
      // miss this notification.
      std::lock_guard lock(state_mu_);
      states_ = states;
      uint64_t lowest_now = lowest_running();
      if (lowest_now != ~uint64_t{0}) min_checkpoint_.store(lowest_now, std::memory_order_release);
    }
    progress_cv_.notify_all();
    return !observer || observer(last);
  };
  ApplyLoop loop(journal_, projections_, options_.on_failure, options_.batch_size);
  // states_ changes only under apply_mu_, which this thread holds.
  ANNALS_ASSIGN_OR_RETURN(uint64_t reached, loop.run(database_, states_, limit, publish));
  // Every projection is stopped: the checkpoint stays where the last one was.
  if (reached == ApplyLoop::kNoneRunning) return min_checkpoint_.load();
  return reached;
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
      const ProjectionState& state = states_[i];
      if (state.position >= position) continue;
      if (state.failed_at != 0) {
        return Status::timed_out(
            "the write is committed at position " + std::to_string(position) +
            " but not visible: projection '" + state.name + "' is stopped at position " +
            std::to_string(state.failed_at) + " (" + state.error +
            "); once the cause is fixed, `annals replay " + state.name + "` resumes it");
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
