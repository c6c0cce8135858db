// Import: writing commands, data keys and reservations exactly as another
// journal recorded them (journal/export.h drives it). Only a restore into a
// journal nobody else writes uses it; the app never does.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "annals/status.h"
#include "journal/types.h"

namespace annals::journal {

class Import {
 public:
  virtual ~Import() = default;

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
};

}  // namespace annals::journal
