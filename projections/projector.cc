#include "projections/projector.h"

#include <kj/exception.h>

#include <algorithm>

namespace annals::projections {

Projector::Projector(journal::Journal& journal, db::Database& database,
                     std::vector<std::unique_ptr<Projection>> projections, ProjectorOptions options)
    : journal_(journal),
      database_(database),
      projections_(std::move(projections)),
      options_(options),
      positions_(projections_.size(), 0) {}

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
  uint64_t head = journal_.head();
  uint64_t lowest = ~uint64_t{0};
  std::vector<uint64_t> loaded(projections_.size(), 0);
  for (size_t i = 0; i < projections_.size(); ++i) {
    uint64_t p = stored.count(projections_[i]->name()) ? stored[projections_[i]->name()] : 0;
    if (p > head) {
      return Status::invalid_argument(
          "database", "projection '" + projections_[i]->name() + "' in " + database_.describe() +
                          " is at position " + std::to_string(p) + ", past the journal head " +
                          std::to_string(head) +
                          ": this read database was built from another journal; rebuild it");
    }
    loaded[i] = p;
    lowest = std::min(lowest, p);
  }
  {
    std::lock_guard state_lock(state_mu_);
    positions_ = std::move(loaded);
    min_checkpoint_.store(projections_.empty() ? head : lowest);
  }
  progress_cv_.notify_all();
  return Status::ok();
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
    uint64_t from = min_checkpoint_.load() + 1;
    uint64_t end = std::min(limit, journal_.head());
    if (from > end) return min_checkpoint_.load();
    size_t count = static_cast<size_t>(std::min<uint64_t>(options_.batch_size, end - from + 1));
    ANNALS_ASSIGN_OR_RETURN(auto batch, journal_.read(from, count));
    if (batch.empty()) return min_checkpoint_.load();
    // A command's events are applied in one transaction: when the batch
    // ends inside a command, read the rest of it.
    const auto& tail = batch.back().envelope();
    if (tail.getCommandEvents() > tail.getCommandIndex() + 1) {
      uint64_t missing = tail.getCommandEvents() - tail.getCommandIndex() - 1;
      ANNALS_ASSIGN_OR_RETURN(auto rest, journal_.read(batch.back().position() + 1, missing));
      for (auto& e : rest) batch.push_back(std::move(e));
    }
    uint64_t last = batch.back().position();

    ANNALS_ASSIGN_OR_RETURN(auto txn, database_.begin(db::Access::kWrite));
    for (size_t i = 0; i < projections_.size(); ++i) {
      Projection& projection = *projections_[i];
      for (const auto& event : batch) {
        if (event.position() <= positions_[i] || !projection.handles(event.type())) continue;
        Status s;
        try {
          s = txn->set_org(event.org_id());
          if (s.is_ok()) s = projection.apply(*txn, event);
        } catch (const kj::Exception& e) {
          s = Status::corruption(std::string("event does not decode: ") + e.getDescription().cStr(),
                                 "position " + std::to_string(event.position()));
        }
        if (!s.is_ok()) {
          return s.with_context("projection '" + projection.name() + "' failed at position " +
                                std::to_string(event.position()) + " (" +
                                events::payload_type_name(event.type()) + ")");
        }
      }
      if (last > positions_[i]) {
        ANNALS_RETURN_IF_ERROR(
            txn->execute_deferred("INSERT INTO projection_checkpoints (projection, position)"
                                  " VALUES ($1, $2) ON CONFLICT (projection)"
                                  " DO UPDATE SET position = excluded.position",
                                  {projection.name(), static_cast<int64_t>(last)}));
      }
    }
    ANNALS_RETURN_IF_ERROR(txn->commit());
    {
      // Under state_mu_, so a waiter cannot check the checkpoint and then
      // miss this notification.
      std::lock_guard lock(state_mu_);
      for (auto& p : positions_) p = std::max(p, last);
      min_checkpoint_.store(last, std::memory_order_release);
    }
    progress_cv_.notify_all();
    if (observer && !observer(last)) return last;
  }
}

Status Projector::wait_for(uint64_t position, std::chrono::milliseconds timeout) {
  if (checkpoint() >= position) return Status::ok();
  if (options_.mode == ProjectorMode::kInline) {
    auto r = catch_up();
    if (!r.is_ok()) return r.status();
    if (*r >= position) return Status::ok();
  }
  std::unique_lock lock(state_mu_);
  bool reached =
      progress_cv_.wait_for(lock, timeout, [&] { return checkpoint() >= position || stopping_; });
  if (reached && checkpoint() >= position) return Status::ok();
  std::string message = "projections reached position " + std::to_string(checkpoint()) + ", not " +
                        std::to_string(position) + ", within " + std::to_string(timeout.count()) +
                        " ms; the write is committed";
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
      if (journal_.head() > *r) continue;
    }
    if (r.is_ok()) {
      journal_.wait_for_head(*r, wait);
    } else {
      std::unique_lock lock(state_mu_);
      progress_cv_.wait_for(lock, wait, [&] { return stopping_; });
    }
  }
}

}  // namespace annals::projections
