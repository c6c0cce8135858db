// Schema migrations: numbered SQL files, applied once each, in order, and
// recorded with a checksum so that a file edited after it was applied is
// refused instead of silently diverging.
#pragma once

#include <string>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "projections/database.h"

namespace annals::projections {

struct Migration {
  int version = 0;   // from the file name: 0002_settings.sql -> 2
  std::string name;  // "0002_settings"
  std::string sql;

  std::string checksum() const;  // SHA-256 of the SQL, hex
};

// The migrations compiled into this binary for a dialect.
Result<std::vector<Migration>> embedded_migrations(db::Dialect dialect);

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
Result<MigrationReport> migrate(db::Database& database, const std::vector<Migration>& migrations,
                                Clock& clock, MigrateMode mode = MigrateMode::kApply);

}  // namespace annals::projections
