// The token-created workload the projection and rebuild benchmarks share:
// token i, a journal filled with the first n of them as the token repository
// writes them, and the baselines that insert the same rows straight into a
// table.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <string>

#include "annals/status.h"
#include "journal/journal.h"
#include "projections/database.h"

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

// A fresh SQLite read database at `path` with every migration applied.
Result<std::unique_ptr<db::Database>> migrated_sqlite(const std::string& path);

// --- Baselines: tokens 0..n-1 inserted directly ------------------------------
// Each is the timed loop of a benchmark (manual time, n items a run): every
// run inserts into a fresh table, 1000 rows a transaction; rows are generated
// a transaction's worth at a time, outside the timed part.

// sqlite3 C API, one prepared INSERT into api_tokens of a freshly migrated
// file (WAL, synchronous=NORMAL).
void run_sqlite_raw_insert(benchmark::State& state, int64_t n, int per_command);

enum class PgInsert {
  kValues,  // multi-row INSERT ... VALUES, 500 rows a statement
  kCopy,    // libpqxx stream_to (COPY)
};
// Into raw_api_tokens, api_tokens without row-level security, of a fresh
// PostgreSQL database, as superuser.
void run_postgres_raw_insert(benchmark::State& state, int64_t n, int per_command, PgInsert method);

}  // namespace annals::bench
