// The event log: the append-only, ordered record of every event Annals has
// accepted. Repositories append commands to it; projectors read it.
//
//   AppendRequest cmd{.org_id = "acme", ...};
//   auto result = log.append(std::move(cmd));   // positions, or a Status
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
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "annals/status.h"
#include "events/event.h"
#include "journal/types.h"

namespace annals::journal {

class EventLog {
 public:
  virtual ~EventLog() = default;

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
};

}  // namespace annals::journal
