// The append path: validation, group commit, and the staging of one command
// into the group's atomic WriteBatch.
#include <rocksdb/write_batch.h>

#include <functional>
#include <set>

#include "core/validate.h"
#include "journal/format.h"
#include "journal/rocksdb_journal.h"

namespace annals::journal {
namespace {

constexpr size_t kMaxGroupWriters = 512;
constexpr size_t kMaxGroupBytes = 8 << 20;
constexpr size_t kMaxStreamIdBytes = 512;
constexpr size_t kMaxIdempotencyKeyBytes = 256;
constexpr size_t kMaxReservationValueBytes = 1024;

Status validate_request(const AppendRequest& r) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(r.org_id));
  if (r.events.empty())
    return Status::invalid_argument("events", "a command needs at least one event");
  if (r.events.size() > kMaxCommandEvents) {
    return Status::invalid_argument(
        "events", "a command may hold at most " + std::to_string(kMaxCommandEvents) + " events");
  }
  for (const auto& e : r.events) {
    auto env = const_cast<events::NewEvent&>(e).envelope();
    std::string_view org(env.getOrgId().begin(), env.getOrgId().size());
    if (org != r.org_id) {
      return Status::invalid_argument("events", "an event of org '" + std::string(org) +
                                                    "' in a command of org '" + r.org_id + "'");
    }
    std::string_view stream(env.getStreamId().begin(), env.getStreamId().size());
    ANNALS_RETURN_IF_ERROR(validate_text("stream_id", stream, {kMaxStreamIdBytes}));
    if (env.getPayload().which() == events::PayloadType::UNSET) {
      return Status::invalid_argument("events", "an event has no payload");
    }
  }
  ANNALS_RETURN_IF_ERROR(validate_text("idempotency_key", r.idempotency_key,
                                       {kMaxIdempotencyKeyBytes, /*allow_empty=*/true}));
  std::set<std::string_view> seen;
  for (const auto& x : r.expectations) {
    ANNALS_RETURN_IF_ERROR(validate_text("stream_id", x.stream_id, {kMaxStreamIdBytes}));
    if (!seen.insert(x.stream_id).second) {
      return Status::invalid_argument("expectations",
                                      "stream '" + x.stream_id + "' is expected twice");
    }
  }
  for (const auto& res : r.reservations) {
    ANNALS_RETURN_IF_ERROR(validate_identifier("reservation.rule", res.rule, 128));
    ANNALS_RETURN_IF_ERROR(
        validate_text("reservation.value", res.value, {kMaxReservationValueBytes}));
    ANNALS_RETURN_IF_ERROR(validate_text("reservation.owner", res.owner, {kMaxStreamIdBytes}));
  }
  return Status::ok();
}

std::string current_exception_text() {
  try {
    throw;
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "an unknown exception";
  }
}

}  // namespace

Result<AppendResult> RocksJournal::append(AppendRequest request) {
  if (options_.read_only)
    return Status::invalid_argument("journal", "the journal is open read-only");
  try {
    ANNALS_RETURN_IF_ERROR(validate_request(request));
  } catch (const std::exception& e) {
    return Status::invalid_argument("events",
                                    std::string("a command does not encode: ") + e.what());
  }
  Writer w;
  w.request = &request;
  return enqueue(w);
}

Result<AppendResult> RocksJournal::run_exclusive(const std::function<Result<AppendResult>()>& job) {
  Writer w;
  w.exclusive = &job;
  return enqueue(w);
}

Result<AppendResult> RocksJournal::enqueue(Writer& w) {
  std::unique_lock lock(mu_);
  writers_.push_back(&w);
  while (!w.done && &w != writers_.front()) w.cv.wait(lock);
  if (w.done) return std::move(w.result);

  // This writer leads: it takes every append queued behind it (up to the
  // next exclusive writer) into one group, writes the group with one
  // WriteBatch (and one fsync), and wakes the others with their results.
  // An exclusive writer (an import) is a group of its own.
  std::vector<Writer*> group;
  if (w.exclusive != nullptr) {
    group.push_back(&w);
  } else {
    size_t group_events = 0;
    for (Writer* other : writers_) {
      if (other->exclusive != nullptr) break;
      if (group.size() >= kMaxGroupWriters || group_events >= kMaxCommandEvents) break;
      group.push_back(other);
      group_events += other->request->events.size();
    }
  }
  lock.unlock();

  // Whatever happens below (an exception included), the group leaves the
  // queue and the next writer is woken: a failure never strands a writer.
  struct Dequeue {
    RocksJournal* journal;
    Writer* leader;
    std::vector<Writer*>* group;
    ~Dequeue() {
      std::lock_guard relock(journal->mu_);
      for (Writer* member : *group) {
        journal->writers_.pop_front();
        if (member != leader) {
          member->done = true;
          member->cv.notify_one();
        }
      }
      if (!journal->writers_.empty()) journal->writers_.front()->cv.notify_one();
    }
  } dequeue{this, &w, &group};

  if (write_failed_.load()) {
    // After a failed write (a full disk) RocksDB refuses writes until it
    // is resumed; once space is free again, this lets the same process go
    // on. While RocksDB recovers by itself it answers Busy: retry later.
    rocksdb::Status resumed = db_->Resume();
    if (!resumed.ok()) {
      Status failed = resumed.IsBusy()
                          ? Status::unavailable(
                                "the journal is recovering from a failed write (no space left "
                                "on " +
                                dir_ + "?); nothing was written; retry")
                          : write_failure(resumed);
      for (Writer* member : group) member->result = failed;
      return std::move(w.result);
    }
    write_failed_.store(false);
  }
  if (w.exclusive != nullptr) {
    try {
      w.result = (*w.exclusive)();
    } catch (const std::exception& e) {
      w.result = Status::internal(std::string("journal write failed: ") + e.what());
    } catch (...) {
      w.result = Status::internal("journal write failed: an unknown exception");
    }
    return std::move(w.result);
  }
  try {
    write_group(group);
  } catch (...) {
    // Only reached when the write itself throws (no memory for the batch):
    // nothing of the group was written.
    Status failed = Status::unavailable("journal write failed: an exception while writing");
    for (Writer* member : group) member->result = failed;
  }
  return std::move(w.result);
}

void RocksJournal::write_group(std::vector<Writer*>& group) {
  rocksdb::WriteBatch batch;
  Overlay overlay;
  uint64_t next = next_position_;
  int64_t recorded_at = last_recorded_at_;
  for (size_t i = 0; i < group.size(); ++i) {
    if (batch.GetDataSize() > kMaxGroupBytes) {
      group.resize(i);  // too big for one write: the rest lead the next group
      break;
    }
    Writer* member = group[i];
    batch.SetSavePoint();
    try {
      if (options_.stage_hook) options_.stage_hook(*member->request);
      member->result = stage(*member->request, &next, &recorded_at, &overlay, &batch);
      batch.PopSavePoint();
    } catch (...) {
      // Cap'n Proto or an allocation failed while staging: only this
      // command fails, and whatever it had added to the batch is taken out.
      // The overlay may hold part of it, so the writers behind it lead the
      // next group instead of staging over it.
      batch.RollbackToSavePoint();
      member->result =
          Status::internal("the command could not be staged: " + current_exception_text());
      group.resize(i + 1);
      break;
    }
  }
  if (batch.Count() == 0) return;
  rocksdb::WriteOptions wo;
  wo.sync = options_.durability == Durability::kSync;
  rocksdb::Status s = db_->Write(wo, &batch);
  if (!s.ok()) {
    write_failed_.store(true);
    Status failed = write_failure(s);
    for (Writer* member : group) {
      if (member->result.is_ok()) member->result = failed;
    }
    return;
  }
  publish(next, recorded_at);
}

void RocksJournal::publish(uint64_t next, int64_t recorded_at) {
  next_position_ = next;
  last_recorded_at_ = recorded_at;
  {
    std::lock_guard head_lock(head_mu_);
    head_.store(next - 1, std::memory_order_release);
    // kSync: the write was fsynced; kNone promises nothing about power loss.
    if (options_.durability != Durability::kBatch) {
      durable_head_.store(next - 1, std::memory_order_release);
    }
  }
  head_cv_.notify_all();
  if (options_.durability == Durability::kBatch) unsynced_.store(true);
}

Result<AppendResult> RocksJournal::stage(AppendRequest& request, uint64_t* next_position,
                                         int64_t* last_recorded_at, Overlay* overlay,
                                         rocksdb::WriteBatch* batch) {
  const std::string& org = request.org_id;

  // 1. A retry of a command already appended returns its positions.
  std::string idem_key;
  if (!request.idempotency_key.empty()) {
    idem_key = format::idempotency_key(org, request.idempotency_key);
    if (auto it = overlay->idempotency.find(idem_key); it != overlay->idempotency.end()) {
      AppendResult r = it->second;
      r.replayed = true;
      return r;
    }
    ANNALS_ASSIGN_OR_RETURN(auto stored, get(idempotency_cf_, idem_key));
    if (stored.has_value()) {
      if (stored->size() != 16) return Status::corruption("malformed idempotency entry");
      AppendResult r;
      r.first_position = format::get_u64_be(*stored);
      r.last_position = format::get_u64_be(std::string_view(*stored).substr(8));
      r.replayed = true;
      return r;
    }
  }

  // 2. Stream versions.
  std::map<std::string, uint64_t> initial;   // stream key -> version before this command
  std::map<std::string, uint64_t> versions;  // stream key -> version after it
  auto version_of = [&](const std::string& stream_id) -> Result<uint64_t> {
    std::string key = format::stream_key(org, stream_id);
    if (auto it = versions.find(key); it != versions.end()) return it->second;
    uint64_t v = 0;
    if (auto it = overlay->stream_versions.find(key); it != overlay->stream_versions.end()) {
      v = it->second;
    } else {
      ANNALS_ASSIGN_OR_RETURN(auto stored, get(streams_cf_, key));
      if (stored.has_value()) {
        if (stored->size() != 8) return Status::corruption("malformed stream version entry");
        v = format::get_u64_be(*stored);
      }
    }
    initial[key] = v;
    versions[key] = v;
    return v;
  };
  for (const auto& x : request.expectations) {
    if (x.expected.is_any()) continue;
    ANNALS_ASSIGN_OR_RETURN(uint64_t current, version_of(x.stream_id));
    if (current != x.expected.version()) {
      return Status::concurrency_conflict("stream '" + x.stream_id + "' is at version " +
                                          std::to_string(current) + ", the command expected " +
                                          std::to_string(x.expected.version()));
    }
  }

  // 3. Uniqueness reservations, in order (a rename releases, then claims).
  std::map<std::string, std::optional<std::string>> claims;
  for (const auto& r : request.reservations) {
    std::string scope = r.across_orgs ? std::string(format::kGlobalScope) : org;
    std::string key = format::reservation_key(r.rule, scope, r.value);
    std::optional<std::string> owner;
    if (auto it = claims.find(key); it != claims.end()) {
      owner = it->second;
    } else if (auto it2 = overlay->reservations.find(key); it2 != overlay->reservations.end()) {
      owner = it2->second;
    } else {
      ANNALS_ASSIGN_OR_RETURN(owner, get(reservations_cf_, key));
    }
    if (r.action == Reservation::Action::kClaim) {
      if (owner.has_value() && *owner != r.owner) {
        return Status::conflict(r.rule, r.rule + " '" + r.value + "' is already taken");
      }
      claims[key] = r.owner;
    } else if (owner.has_value() && *owner == r.owner) {
      claims[key] = std::nullopt;
    }
  }

  // 4. Positions, versions and time; encode every record before touching the batch.
  int64_t now = to_micros(clock_->now());
  int64_t recorded_at = std::max(now, *last_recorded_at);
  uint64_t position = *next_position;
  std::vector<std::pair<uint64_t, std::string>> records;
  records.reserve(request.events.size());
  size_t command_bytes = 0;
  for (auto& e : request.events) {
    auto env = e.envelope();
    std::string stream_id(env.getStreamId().begin(), env.getStreamId().size());
    ANNALS_ASSIGN_OR_RETURN(uint64_t v, version_of(stream_id));
    versions[format::stream_key(org, stream_id)] = v + 1;
    env.setPosition(position);
    env.setStreamVersion(v + 1);
    env.setRecordedAtMicros(recorded_at);
    env.setIdempotencyKey(request.idempotency_key);
    env.setCommandIndex(static_cast<uint32_t>(position - *next_position));
    env.setCommandEvents(static_cast<uint32_t>(request.events.size()));
    std::string payload = e.encode();
    if (payload.size() > events::kMaxEventBytes) {
      return Status::invalid_argument(
          "events", "an event is " + std::to_string(payload.size()) + " bytes encoded; at most " +
                        std::to_string(events::kMaxEventBytes) + " allowed");
    }
    command_bytes += payload.size();
    if (command_bytes > kMaxCommandBytes) {
      return Status::invalid_argument("events", "the command's events take more than " +
                                                    std::to_string(kMaxCommandBytes) +
                                                    " bytes encoded");
    }
    records.emplace_back(position, format::encode_record(position, payload));
    ++position;
  }

  // 5. Everything checked: add the command to the group's batch.
  for (auto& [pos, record] : records) {
    batch->Put(events_cf_, format::position_key(pos), record);
    batch->Put(org_events_cf_, format::org_event_key(org, pos), rocksdb::Slice());
  }
  for (auto& [key, version] : versions) {
    if (initial[key] == version) continue;
    std::string value;
    format::put_u64_be(&value, version);
    batch->Put(streams_cf_, key, value);
    overlay->stream_versions[key] = version;
  }
  for (auto& [key, owner] : claims) {
    if (owner.has_value()) {
      batch->Put(reservations_cf_, key, *owner);
    } else {
      batch->Delete(reservations_cf_, key);
    }
    overlay->reservations[key] = owner;
  }
  AppendResult result;
  result.first_position = *next_position;
  result.last_position = position - 1;
  if (!idem_key.empty()) {
    std::string value;
    format::put_u64_be(&value, result.first_position);
    format::put_u64_be(&value, result.last_position);
    batch->Put(idempotency_cf_, idem_key, value);
    overlay->idempotency[idem_key] = result;
  }
  *next_position = position;
  *last_recorded_at = recorded_at;
  return result;
}

Status RocksJournal::write_failure(const rocksdb::Status& s) const {
  if (s.IsNoSpace() || s.subcode() == rocksdb::Status::kNoSpace) {
    return Status::unavailable("no space left on the journal's disk (" + dir_ +
                               "); nothing of this write was committed: " + s.ToString());
  }
  if (s.IsCorruption()) return Status::corruption("journal write failed: " + s.ToString());
  return Status::unavailable("journal write failed: " + s.ToString());
}

}  // namespace annals::journal
