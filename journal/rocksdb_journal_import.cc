// Export and import support: a consistent snapshot of the state beside the
// events, and the writes that rebuild a journal from another one's records.
//
// The import writes take a place in the append queue as a group of their
// own (run_exclusive), so they are serialised with appends exactly as one
// more group would be, without polling.
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/validate.h"
#include "journal/format.h"
#include "journal/rocksdb_journal.h"

namespace annals::journal {
namespace {

constexpr size_t kMaxStreamIdBytes = 512;
constexpr size_t kMaxIdempotencyKeyBytes = 256;
constexpr size_t kMaxActorBytes = events::kMaxEventBytes;

std::string at(uint64_t position) { return "position " + std::to_string(position); }

// Releases a RocksDB snapshot when it goes out of scope.
class SnapshotGuard {
 public:
  explicit SnapshotGuard(rocksdb::DB* db) : db_(db), snapshot_(db->GetSnapshot()) {}
  ~SnapshotGuard() {
    if (snapshot_ != nullptr) db_->ReleaseSnapshot(snapshot_);
  }
  SnapshotGuard(const SnapshotGuard&) = delete;
  SnapshotGuard& operator=(const SnapshotGuard&) = delete;
  const rocksdb::Snapshot* get() const { return snapshot_; }

 private:
  rocksdb::DB* db_;
  const rocksdb::Snapshot* snapshot_;
};

Status storage_failure(const rocksdb::Status& s, const std::string& what) {
  if (s.IsCorruption())
    return Status::corruption("journal storage is corrupt (" + what + "): " + s.ToString());
  return Status::unavailable("journal " + what + " failed: " + s.ToString());
}

// The checks one event of an imported command needs that do not depend on
// the journal's state.
Status check_imported_event(const events::Event& e, const events::Event& first, size_t index,
                            size_t count) {
  std::string where = "the event at " + at(e.position());
  if (e.org_id() != first.org_id()) {
    return Status::invalid_argument("org_id", where + " is of org '" + std::string(e.org_id()) +
                                                  "' in a command of org '" +
                                                  std::string(first.org_id()) + "'");
  }
  if (e.position() != first.position() + index) {
    return Status::invalid_argument(
        "position", where + " is event " + std::to_string(index) + " of a command starting at " +
                        at(first.position()) + ": positions must run on without a gap");
  }
  auto env = e.envelope();
  if (env.getCommandIndex() != index || env.getCommandEvents() != count) {
    return Status::invalid_argument(
        "command_index", where + " says it is event " + std::to_string(env.getCommandIndex()) +
                             " of " + std::to_string(env.getCommandEvents()) + " but it is event " +
                             std::to_string(index) + " of " + std::to_string(count) +
                             ": a command must be imported whole");
  }
  if (e.recorded_at_micros() != first.recorded_at_micros()) {
    return Status::invalid_argument("recorded_at_micros",
                                    where + " has another recorded-at time than its command");
  }
  auto key = events::Event::view(env.getIdempotencyKey());
  auto first_key = events::Event::view(first.envelope().getIdempotencyKey());
  if (key != first_key) {
    return Status::invalid_argument("idempotency_key",
                                    where + " has another idempotency key than its command");
  }
  ANNALS_RETURN_IF_ERROR(validate_text("stream_id", e.stream_id(), {kMaxStreamIdBytes}));
  ANNALS_RETURN_IF_ERROR(validate_text("actor", e.actor(), {kMaxActorBytes, true}));
  ANNALS_RETURN_IF_ERROR(
      validate_text("idempotency_key", key, {kMaxIdempotencyKeyBytes, /*allow_empty=*/true}));
  if (e.stream_version() == 0) {
    return Status::invalid_argument("stream_version", where + " has stream version 0");
  }
  return Status::ok();
}

}  // namespace

Result<JournalState> RocksJournal::snapshot_state() {
  JournalState state;
  SnapshotGuard snapshot(db_.get());
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot.get();

  std::unique_ptr<rocksdb::Iterator> events(db_->NewIterator(ro, events_cf_));
  events->SeekToLast();
  if (events->Valid()) {
    if (events->key().size() != 8) return Status::corruption("journal has a malformed event key");
    state.head = format::get_u64_be(events->key().ToStringView());
  } else if (!events->status().ok()) {
    return storage_failure(events->status(), "read of the head");
  }

  std::unique_ptr<rocksdb::Iterator> keys(db_->NewIterator(ro, keys_cf_));
  for (keys->SeekToFirst(); keys->Valid(); keys->Next()) {
    state.data_keys.emplace_back(keys->key().ToString(), keys->value().ToString());
  }
  if (!keys->status().ok()) return storage_failure(keys->status(), "read of the data keys");

  std::unique_ptr<rocksdb::Iterator> reservations(db_->NewIterator(ro, reservations_cf_));
  for (reservations->SeekToFirst(); reservations->Valid(); reservations->Next()) {
    std::string_view key = reservations->key().ToStringView();
    size_t rule_end = key.find('\0');
    size_t scope_end = rule_end == std::string_view::npos ? rule_end : key.find('\0', rule_end + 1);
    if (scope_end == std::string_view::npos) {
      return Status::corruption("journal has a malformed reservation key");
    }
    StoredReservation r;
    r.rule = std::string(key.substr(0, rule_end));
    r.scope = std::string(key.substr(rule_end + 1, scope_end - rule_end - 1));
    r.value = std::string(key.substr(scope_end + 1));
    r.owner = reservations->value().ToString();
    state.reservations.push_back(std::move(r));
  }
  if (!reservations->status().ok()) {
    return storage_failure(reservations->status(), "read of the reservations");
  }
  return state;
}

Result<std::vector<std::string>> RocksJournal::read_records(uint64_t from, size_t max_events) {
  std::vector<std::string> out;
  uint64_t head = this->head();
  if (from == 0) from = 1;
  if (from > head || max_events == 0) return out;
  uint64_t last = std::min<uint64_t>(head, from + std::min<uint64_t>(max_events, head) - 1);
  std::string lower = format::position_key(from);
  std::string upper = format::position_key(last + 1);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, events_cf_));
  uint64_t expect = from;
  for (it->Seek(lower); it->Valid(); it->Next(), ++expect) {
    if (it->key().size() != 8 || format::get_u64_be(it->key().ToStringView()) != expect) {
      return Status::corruption("journal has a gap: " + at(expect) + " is missing", at(expect));
    }
    ANNALS_ASSIGN_OR_RETURN(std::string_view payload,
                            format::decode_record(expect, it->value().ToStringView()));
    out.emplace_back(payload);
  }
  if (!it->status().ok()) return storage_failure(it->status(), "read at " + at(expect));
  if (expect <= last) {
    return Status::corruption(
        "journal has a gap: " + at(expect) + " is missing below the head " + std::to_string(head),
        at(expect));
  }
  return out;
}

Result<AppendResult> RocksJournal::import_command(std::vector<std::string> envelopes) {
  if (options_.read_only)
    return Status::invalid_argument("journal", "the journal is open read-only");
  if (envelopes.empty())
    return Status::invalid_argument("events", "a command needs at least one event");
  if (envelopes.size() > kMaxCommandEvents) {
    return Status::invalid_argument(
        "events", "a command may hold at most " + std::to_string(kMaxCommandEvents) + " events");
  }

  size_t command_bytes = 0;
  for (const auto& envelope : envelopes) command_bytes += envelope.size();
  if (command_bytes > kMaxCommandBytes) {
    return Status::invalid_argument(
        "events", "the command's events take " + std::to_string(command_bytes) +
                      " bytes; at most " + std::to_string(kMaxCommandBytes) + " allowed");
  }

  // 1. Everything that holds whatever the journal's state: each envelope
  //    decodes in full and the command is whole.
  std::vector<events::Event> decoded;
  decoded.reserve(envelopes.size());
  for (size_t i = 0; i < envelopes.size(); ++i) {
    if (envelopes[i].size() > events::kMaxEventBytes) {
      return Status::invalid_argument("events",
                                      "event " + std::to_string(i) + " of the command is " +
                                          std::to_string(envelopes[i].size()) + " bytes; at most " +
                                          std::to_string(events::kMaxEventBytes) + " allowed");
    }
    auto event = events::Event::decode(envelopes[i]);
    if (!event.is_ok()) {
      return Status::invalid_argument(
          "events", "event " + std::to_string(i) +
                        " of the command does not decode: " + event.status().message());
    }
    Status deep = events::deep_validate(*event);
    if (!deep.is_ok()) {
      return Status::invalid_argument(
          "events", "the event at " + at(event->position()) + " is malformed: " + deep.message());
    }
    decoded.push_back(std::move(event).value());
  }
  const events::Event& first = decoded.front();
  for (size_t i = 0; i < decoded.size(); ++i) {
    ANNALS_RETURN_IF_ERROR(check_imported_event(decoded[i], first, i, decoded.size()));
  }
  const std::string org(first.org_id());
  const std::string idempotency(events::Event::view(first.envelope().getIdempotencyKey()));

  // 2. Take a place in the append queue as a group of its own: no append
  //    is staged or written while the rest runs.
  return run_exclusive([&]() -> Result<AppendResult> {
    return import_staged(decoded, envelopes, org, idempotency);
  });
}

Result<AppendResult> RocksJournal::import_staged(const std::vector<events::Event>& decoded,
                                                 const std::vector<std::string>& envelopes,
                                                 const std::string& org,
                                                 const std::string& idempotency) {
  const events::Event& first = decoded.front();
  // 3. Checks against the journal as it stands.
  const uint64_t head = next_position_ - 1;
  if (first.position() != next_position_) {
    std::string why = first.position() <= head ? at(first.position()) + " is already in the journal"
                                               : at(first.position()) + " would leave a gap (" +
                                                     at(next_position_) + " is next)";
    return Status::invalid_argument("position",
                                    why + "; the journal's head is " + std::to_string(head));
  }
  if (first.recorded_at_micros() < last_recorded_at_) {
    return Status::invalid_argument("recorded_at_micros",
                                    "the command at " + at(first.position()) + " was recorded at " +
                                        std::to_string(first.recorded_at_micros()) +
                                        ", before the journal's last event (" +
                                        std::to_string(last_recorded_at_) + ")");
  }
  std::string idem_key;
  if (!idempotency.empty()) {
    idem_key = format::idempotency_key(org, idempotency);
    ANNALS_ASSIGN_OR_RETURN(auto stored, get(idempotency_cf_, idem_key));
    if (stored.has_value()) {
      return Status::invalid_argument("idempotency_key", "the command at " + at(first.position()) +
                                                             " reuses idempotency key '" +
                                                             idempotency + "' of org '" + org +
                                                             "', already in the journal");
    }
  }
  std::map<std::string, uint64_t> versions;  // stream key -> version after the command
  for (const auto& e : decoded) {
    std::string key = format::stream_key(org, e.stream_id());
    auto it = versions.find(key);
    if (it == versions.end()) {
      uint64_t v = 0;
      ANNALS_ASSIGN_OR_RETURN(auto stored, get(streams_cf_, key));
      if (stored.has_value()) {
        if (stored->size() != 8) return Status::corruption("malformed stream version entry");
        v = format::get_u64_be(*stored);
      }
      it = versions.emplace(key, v).first;
    }
    if (e.stream_version() != it->second + 1) {
      return Status::invalid_argument("stream_version",
                                      "the event at " + at(e.position()) + " has version " +
                                          std::to_string(e.stream_version()) + " of stream '" +
                                          std::string(e.stream_id()) + "', which is at version " +
                                          std::to_string(it->second));
    }
    it->second = e.stream_version();
  }

  // 4. One atomic batch, as append() writes it.
  rocksdb::WriteBatch batch;
  for (size_t i = 0; i < decoded.size(); ++i) {
    uint64_t position = decoded[i].position();
    batch.Put(events_cf_, format::position_key(position),
              format::encode_record(position, envelopes[i]));
    batch.Put(org_events_cf_, format::org_event_key(org, position), rocksdb::Slice());
  }
  for (const auto& [key, version] : versions) {
    std::string value;
    format::put_u64_be(&value, version);
    batch.Put(streams_cf_, key, value);
  }
  AppendResult result;
  result.first_position = first.position();
  result.last_position = decoded.back().position();
  if (!idem_key.empty()) {
    std::string value;
    format::put_u64_be(&value, result.first_position);
    format::put_u64_be(&value, result.last_position);
    batch.Put(idempotency_cf_, idem_key, value);
  }
  rocksdb::WriteOptions wo;
  wo.sync = options_.durability == Durability::kSync;
  rocksdb::Status s = db_->Write(wo, &batch);
  if (!s.ok()) {
    write_failed_.store(true);
    return write_failure(s);
  }
  publish(result.last_position + 1, first.recorded_at_micros());
  return result;
}

Status RocksJournal::import_data_key(std::string_view org_id, std::string value) {
  if (options_.read_only)
    return Status::invalid_argument("journal", "the journal is open read-only");
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  std::lock_guard lock(keys_mu_);
  ANNALS_ASSIGN_OR_RETURN(auto existing, get(keys_cf_, std::string(org_id)));
  if (existing.has_value()) {
    if (*existing == value) return Status::ok();
    return Status::conflict("org_key", "org '" + std::string(org_id) +
                                           "' already has another data key entry in this journal");
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;  // a key must never be lost once data was sealed with it
  rocksdb::Status s = db_->Put(wo, keys_cf_, std::string(org_id), value);
  if (!s.ok()) return Status::unavailable("cannot store the data key: " + s.ToString());
  return Status::ok();
}

Status RocksJournal::import_reservations(uint64_t at_head,
                                         std::vector<StoredReservation> reservations) {
  if (options_.read_only)
    return Status::invalid_argument("journal", "the journal is open read-only");
  std::set<std::string> keys;
  for (const auto& r : reservations) {
    ANNALS_RETURN_IF_ERROR(validate_identifier("reservation.rule", r.rule, 128));
    if (r.scope != format::kGlobalScope) {
      Status scope = validate_org_id(r.scope);
      if (!scope.is_ok()) {
        return Status::invalid_argument("reservation.scope", "reservation scope '" + r.scope +
                                                                 "' is neither an org id nor '*'");
      }
    }
    ANNALS_RETURN_IF_ERROR(validate_text("reservation.value", r.value, {1024}));
    ANNALS_RETURN_IF_ERROR(validate_text("reservation.owner", r.owner, {kMaxStreamIdBytes}));
    if (!keys.insert(format::reservation_key(r.rule, r.scope, r.value)).second) {
      return Status::invalid_argument(
          "reservation",
          "reservation " + r.rule + " '" + r.value + "' in scope '" + r.scope + "' is given twice");
    }
  }

  return run_exclusive([&]() -> Result<AppendResult> {
           ANNALS_RETURN_IF_ERROR(replace_reservations(at_head, keys, reservations));
           return AppendResult{};
         })
      .status();
}

Status RocksJournal::replace_reservations(uint64_t at_head, const std::set<std::string>& keys,
                                          const std::vector<StoredReservation>& reservations) {
  if (next_position_ - 1 != at_head) {
    return Status::concurrency_conflict(
        "the journal's head is " + std::to_string(next_position_ - 1) + ", not the imported head " +
        std::to_string(at_head) + "; reservations were not replaced");
  }

  rocksdb::WriteBatch batch;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), reservations_cf_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (!keys.count(it->key().ToString())) batch.Delete(reservations_cf_, it->key());
  }
  if (!it->status().ok()) return storage_failure(it->status(), "read of the reservations");
  for (const auto& r : reservations) {
    batch.Put(reservations_cf_, format::reservation_key(r.rule, r.scope, r.value), r.owner);
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  rocksdb::Status s = db_->Write(wo, &batch);
  if (!s.ok()) {
    write_failed_.store(true);
    return write_failure(s);
  }
  return Status::ok();
}

}  // namespace annals::journal
