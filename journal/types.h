// What goes into and comes out of the journal: commands and their
// preconditions, append results, reservations, and the state an export
// carries. Shared by the journal's three interfaces (event_log.h,
// key_store.h, import.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "events/event.h"

namespace annals::journal {

// One way a family derived from the events disagrees with them.
struct FamilyDifference {
  std::string family;  // "org_events", "streams" or "idempotency"
  std::string key;     // readable: "acme/42", "acme/token/t1"
  std::string what;    // "missing", "not backed by any event", "holds 3; the events say 4"
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

}  // namespace annals::journal
