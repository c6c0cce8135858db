// The token-created workload the projection and rebuild benchmarks share:
// token i, and a journal filled with the first n of them as the token
// repository writes them.
#pragma once

#include <cstdint>
#include <string>

#include "annals/status.h"
#include "journal/journal.h"

namespace annals::bench {

// Token i: commands of `per_command` tokens, one org per command, eight orgs
// taking turns.
struct TokenRow {
  std::string org_id, id, user_id, name, token_prefix, token_hash, scopes, status;
  int64_t at = 0, version = 1, position = 0;
};
TokenRow token_row(int64_t i, int per_command);

// Appends tokens 0..n-1 in commands of `per_command` (new-stream checks,
// prefix reservations, idempotency keys). Setup, not timed.
Status fill_journal(journal::Journal& journal, int64_t n, int per_command);

}  // namespace annals::bench
