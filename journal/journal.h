// The journal: the append-only, ordered record of every event Annals has
// accepted. Repositories append commands to it; projectors read it.
//
//   auto journal = Journal::open_rocksdb("/data/journal", options);
//   AppendRequest cmd{.org_id = "acme", ...};
//   auto result = (*journal)->append(std::move(cmd));   // positions, or a Status
//
// Guarantees of every implementation:
//   - a command's events are appended atomically, with global positions that
//     are gap-free and strictly increasing from 1;
//   - per-stream optimistic concurrency: a command may state the version each
//     stream must be at, and is refused with kConcurrencyConflict otherwise;
//   - idempotent retry: a command whose (org, idempotency key) was already
//     appended appends nothing and returns the first command's positions;
//   - uniqueness reservations are checked and written in the same atomic
//     write as the events, so a rule holds under any number of writers;
//   - once append returns (durability kSync) the command survives a crash.
//
// Thread-safe: any number of threads may append and read at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "events/event.h"

namespace rocksdb {
class Env;
}

namespace annals::journal {

enum class Durability {
  kSync,   // fsync before acknowledging; concurrent appenders share one fsync
  kBatch,  // acknowledged once written to the OS; fsync'd in the background
  kNone,   // acknowledged once written to the OS; fsync'd only on close
};

Result<Durability> parse_durability(std::string_view name);
std::string_view durability_name(Durability durability);

struct AppendRequest;

// One way a family derived from the events disagrees with them.
struct FamilyDifference {
  std::string family;  // "org_events", "streams" or "idempotency"
  std::string key;     // readable: "acme/42", "acme/token/t1"
  std::string what;    // "missing", "not backed by any event", "holds 3; the events say 4"
};

struct Options {
  Durability durability = Durability::kSync;
  // Stamps recorded-at. Null means the system clock. Must outlive the journal.
  Clock* clock = nullptr;
  // kBatch: the longest an acknowledged append waits for its fsync.
  std::chrono::milliseconds batch_sync_interval{50};
  bool create_if_missing = true;
  bool read_only = false;  // open without writing (status, verify on a live folder copy)
  // Fault injection for tests: called before each command is staged into a
  // group; an exception it throws is treated as one thrown while staging.
  std::function<void(const AppendRequest&)> stage_hook;
  // Fault injection for tests: the RocksDB Env (and so the file system) the
  // journal's files are written through; null is the operating system's.
  // Must outlive the journal.
  rocksdb::Env* env = nullptr;
};

// The version a stream must be at before the command.
class ExpectedVersion {
 public:
  static ExpectedVersion any() { return ExpectedVersion(kAny); }
  static ExpectedVersion no_stream() { return ExpectedVersion(0); }
  static ExpectedVersion exactly(uint64_t version) { return ExpectedVersion(version); }
  bool is_any() const { return v_ == kAny; }
  uint64_t version() const { return v_; }

 private:
  static constexpr uint64_t kAny = ~uint64_t{0};
  explicit ExpectedVersion(uint64_t v) : v_(v) {}
  uint64_t v_;
};

struct StreamExpectation {
  std::string stream_id;
  ExpectedVersion expected = ExpectedVersion::any();
};

// A uniqueness rule's value claimed for, or released by, a stream.
struct Reservation {
  enum class Action { kClaim, kRelease };
  Action action = Action::kClaim;
  std::string rule;          // e.g. "token.prefix"; named in the conflict
  std::string value;         // already normalised (e.g. lower-cased) by the caller
  std::string owner;         // the stream that holds it
  bool across_orgs = false;  // unique in the whole journal, not just in the org

  static Reservation claim(std::string rule, std::string value, std::string owner,
                           bool across_orgs = false) {
    return {Action::kClaim, std::move(rule), std::move(value), std::move(owner), across_orgs};
  }
  static Reservation release(std::string rule, std::string value, std::string owner,
                             bool across_orgs = false) {
    return {Action::kRelease, std::move(rule), std::move(value), std::move(owner), across_orgs};
  }
};

// One command: its events (all of the same org) and its preconditions.
struct AppendRequest {
  std::string org_id;
  std::vector<events::NewEvent> events;
  std::vector<StreamExpectation> expectations;
  std::vector<Reservation> reservations;
  std::string idempotency_key;  // empty: no idempotency
};

struct AppendResult {
  uint64_t first_position = 0;
  uint64_t last_position = 0;
  // True when an earlier command with the same idempotency key is what these
  // positions belong to: nothing was appended this time.
  bool replayed = false;
};

// Commands with more events than this are refused.
inline constexpr size_t kMaxCommandEvents = 10000;
// Commands whose events take more than this encoded are refused.
inline constexpr size_t kMaxCommandBytes = 64 << 20;

// A uniqueness reservation as the journal stores it.
struct StoredReservation {
  std::string rule;
  std::string scope;  // the org id, or "*" for a rule that holds across orgs
  std::string value;
  std::string owner;  // the stream that holds it
};

// What the journal holds beside its events, as of one head: what an export
// carries so that a move to another journal loses nothing.
struct JournalState {
  uint64_t head = 0;
  // org id -> the stored value of the "keys" family, verbatim (a wrapped key
  // or whatever else the journal keeps there), in org id order.
  std::vector<std::pair<std::string, std::string>> data_keys;
  std::vector<StoredReservation> reservations;  // in key order
};

class Journal {
 public:
  // A journal in a RocksDB directory (created when missing and allowed).
  static Result<std::unique_ptr<Journal>> open_rocksdb(const std::string& dir, Options options);

  virtual ~Journal() = default;

  virtual Result<AppendResult> append(AppendRequest request) = 0;

  // The position of the last acknowledged event; 0 when empty.
  virtual uint64_t head() const = 0;

  // Up to max_events events from position `from` on, in order. Each record's
  // checksum is checked and its event decoded; a bad record is kCorruption
  // naming its position.
  virtual Result<std::vector<events::Event>> read(uint64_t from, size_t max_events) = 0;

  // As read(), for one org's events only.
  virtual Result<std::vector<events::Event>> read_org(std::string_view org_id, uint64_t from,
                                                      size_t max_events) = 0;

  // The stream's current version; 0 when it has no events.
  virtual Result<uint64_t> stream_version(std::string_view org_id, std::string_view stream_id) = 0;

  // Blocks until head() > after or the timeout passes; returns head().
  virtual uint64_t wait_for_head(uint64_t after, std::chrono::milliseconds timeout) = 0;

  // Flushes and fsyncs everything appended so far.
  virtual Status sync() = 0;

  // The last position on stable storage, which a power cut cannot take
  // back: head() under kSync (an append is acknowledged after its fsync)
  // and kNone (which promises nothing about power loss); under kBatch the
  // head as of the last fsync. Projectors never apply past it, so a read
  // database is never ahead of the journal a power cut leaves.
  virtual uint64_t durable_head() const = 0;
  // Makes durable_head() reach `position` (at most head()), fsyncing when
  // it has not; callers queued behind one fsync are served by it.
  virtual Status sync_to(uint64_t position) = 0;
  // Blocks until durable_head() > after or the timeout passes; returns
  // durable_head().
  virtual uint64_t wait_for_durable_head(uint64_t after, std::chrono::milliseconds timeout) = 0;

  // Export and import (journal/export.h drives these).
  //
  // Recomputes the families derived from the events (the org index, stream
  // versions and idempotency entries) from events 1..head and compares them
  // with what is stored: every difference, by family and key, at most
  // `limit` of them. Holds an entry per event in memory while it runs.
  virtual Result<std::vector<FamilyDifference>> verify_families(size_t limit) = 0;

  // The head, data keys and reservations read from one consistent snapshot:
  // events 1..head, read afterwards, are exactly what these belong with.
  virtual Result<JournalState> snapshot_state() = 0;
  // As read(), but the stored envelope bytes, checksum checked and neither
  // decoded nor upcast: an export keeps each event as it was written.
  virtual Result<std::vector<std::string>> read_records(uint64_t from, size_t max_events) = 0;
  // Writes one command exactly as another journal recorded it: the encoded
  // envelopes (position, stream version, recorded-at, idempotency key and
  // command index already set) of one whole command. Checks that positions
  // continue the head, that the command is whole and of one org, that each
  // stream version is the stream's next, that recorded-at does not go back
  // and that the idempotency key is new; then writes events, the org index,
  // stream versions and the idempotency entry in one atomic batch, with the
  // same record format and checksum as append(). Takes a place in the
  // append queue as a group of its own: appends queued before it are
  // written first, those queued after it wait until it is written.
  virtual Result<AppendResult> import_command(std::vector<std::string> encoded_envelopes) = 0;
  // Stores `value` verbatim as the org's "keys" entry when it has none; an
  // equal entry is a no-op, a different one kConflict (rule "org_key").
  virtual Status import_data_key(std::string_view org_id, std::string value) = 0;
  // Replaces every reservation with `reservations` in one atomic write,
  // provided the head is still `at_head` (kConcurrencyConflict otherwise).
  virtual Status import_reservations(uint64_t at_head,
                                     std::vector<StoredReservation> reservations) = 0;

  // Per-org data keys, wrapped by the app's master key. They live beside the
  // journal, not in it: destroying one (crypto-shredding an org) must not
  // rewrite history. The stored (wrapped) key, or nullopt when none.
  virtual Result<std::optional<std::string>> data_key(std::string_view org_id) = 0;
  // Stores `wrapped` unless the org has a key already; returns the stored one.
  // A forgotten org gets no key again: kNotFound naming when it was forgotten.
  virtual Result<std::string> put_data_key_if_absent(std::string_view org_id,
                                                     std::string wrapped) = 0;

  // Crypto-shreds the org: replaces its data key (if any) with a tombstone
  // recording `forgotten_at_micros`, then flushes and compacts until no live
  // journal file (table or write-ahead log) holds the wrapped key any more.
  // The org's events are untouched. Idempotent: forgetting again keeps the
  // first time. kInvalidArgument for a bad org id, nothing written.
  virtual Status forget_data_key(std::string_view org_id, int64_t forgotten_at_micros) = 0;
  // When the org was forgotten, or nullopt when it was not. data_key() of a
  // forgotten org is nullopt.
  virtual Result<std::optional<int64_t>> data_key_forgotten_at(std::string_view org_id) = 0;

  // Master-key rotation: replaces every stored data key (tombstones stay as
  // they are) with rewrap(org, wrapped), in one synced atomic write, then
  // purges the old values from the journal's files as forget_data_key does.
  // A rewrap that fails writes nothing: its error is returned. No data key
  // is stored or forgotten meanwhile. Returns how many keys were rewrapped.
  using Rewrap =
      std::function<Result<std::string>(std::string_view org_id, std::string_view wrapped)>;
  virtual Result<size_t> rewrap_data_keys(const Rewrap& rewrap) = 0;
};

}  // namespace annals::journal
