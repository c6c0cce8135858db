// A read database's tables as comparable contents: every row as text keyed
// by its primary key, and a digest per table. Rebuilder::check compares a
// live schema with a replayed one this way.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "annals/rebuild.h"
#include "annals/status.h"
#include "projections/database.h"

namespace annals::projections {

// Every table of a read database, row by row (every org's rows: use a
// connection that row-level security does not filter). Used to compare
// schemas; `schema` is the PostgreSQL schema pair's name.
struct TableContents {
  std::vector<std::string> columns;
  std::map<std::string, std::string> rows;  // primary key -> the row as text
  std::string digest;                       // SHA-256 over the rows in key order
};
Result<std::map<std::string, TableContents>> read_all_tables(db::Database& database,
                                                             const std::string& pg_schema);
// As read_all_tables, in a transaction the caller holds (so that the rows
// and, say, the checkpoints come from one snapshot). The migration record
// is left out: it holds when each migration ran, not contents.
Result<std::map<std::string, TableContents>> read_tables(db::Transaction& txn, db::Dialect dialect,
                                                         const std::string& pg_schema);

// Differences between two schemas' tables, at most `limit` of them.
std::vector<TableDifference> compare_tables(const std::map<std::string, TableContents>& live,
                                            const std::map<std::string, TableContents>& rebuilt,
                                            size_t limit, bool* truncated);

}  // namespace annals::projections
