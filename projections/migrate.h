// Schema migrations: numbered SQL files, applied once each, in order, and
// recorded with a checksum so that a file edited after it was applied is
// refused instead of silently diverging.
#pragma once

#include <string>
#include <vector>

#include "annals/clock.h"
#include "annals/status.h"
#include "projections/database.h"

namespace annals::projections {

struct Migration {
  int version = 0;   // from the file name: 0002_settings.sql -> 2
  std::string name;  // "0002_settings"
  std::string sql;

  std::string checksum() const;  // SHA-256 of the SQL, hex
};

// The migrations compiled into this binary for a dialect, their directives
// expanded (see expand_migration).
Result<std::vector<Migration>> embedded_migrations(db::Dialect dialect);

// A migration file as written, with its directives expanded. One directive
// exists, for PostgreSQL files: the line
//   -- @org_isolated annals.<table>
// stands for the table's row-level security (enabled, forced, and the
// org_isolation policy on app.current_org_id, so a query that forgets its
// WHERE clause still sees one org) and its grants (SELECT to annals_query;
// SELECT, INSERT, UPDATE, DELETE to annals_projector). A new org table gets
// its isolation from this one line instead of a copy of eight.
//
// A migration's checksum is of the expanded text, so an applied file may
// switch to a directive only where the expansion is byte for byte what it
// replaces (tests/migrate_test.cc pins every shipped checksum). An unknown
// directive, a bad table name or a directive in a SQLite file is kInternal:
// it is a defect of the build, not of the database.
Result<std::string> expand_migration(std::string_view source, db::Dialect dialect);

struct MigrationReport {
  int applied = 0;         // migrations run this time
  int schema_version = 0;  // highest version now applied
};

enum class MigrateMode {
  kApply,  // apply what is missing
  kCheck,  // change nothing; fail unless every migration is applied (a runtime role)
};

// Applies every migration not yet recorded in annals_migrations, in one
// transaction. Refuses (changing nothing) when an applied migration's
// checksum differs from the given one, or when the database holds a version
// this list does not know.
//
// PostgreSQL: `pg_schema` names the schema pair to migrate ("annals" and
// "annals_meta" unless a rebuild builds "<name>" and "<name>_meta"); the
// migrations are retargeted to it (see retarget_schema) and recorded under
// their original checksums, so the pair can later be renamed into place.
Result<MigrationReport> migrate(db::Database& database, const std::vector<Migration>& migrations,
                                Clock& clock, MigrateMode mode = MigrateMode::kApply,
                                std::string_view pg_schema = "annals");

// PostgreSQL migration text with the schema names "annals." and
// "annals_meta." replaced by "<schema>." and "<schema>_meta.". Function
// bodies (dollar-quoted) are left alone: they resolve names when called,
// by which time a rebuilt schema carries the live name.
std::string retarget_schema(std::string_view sql, std::string_view schema);

}  // namespace annals::projections
