#include "projections/migrate.h"

#include <openssl/evp.h>

#include <cstdio>
#include <map>

#include "migrations/embedded.h"

namespace annals::projections {

std::string Migration::checksum() const {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(sql.data(), sql.size(), digest, &len, EVP_sha256(), nullptr);
  std::string hex;
  char buf[3];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", digest[i]);
    hex += buf;
  }
  return hex;
}

Result<std::vector<Migration>> embedded_migrations(db::Dialect dialect) {
  const auto& files =
      dialect == db::Dialect::kSqlite ? migrations::sqlite_files() : migrations::postgres_files();
  std::vector<Migration> out;
  for (const auto& file : files) {
    std::string name(file.name);
    if (name.size() < 10 || name.substr(name.size() - 4) != ".sql" || name[4] != '_') {
      return Status::internal("migration file '" + name + "' is not named NNNN_name.sql");
    }
    Migration m;
    m.version = std::stoi(name.substr(0, 4));
    m.name = name.substr(0, name.size() - 4);
    m.sql = std::string(file.sql);
    out.push_back(std::move(m));
  }
  return out;
}

Result<MigrationReport> migrate(db::Database& database, const std::vector<Migration>& migrations,
                                Clock& clock, MigrateMode mode) {
  for (size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int>(i) + 1) {
      return Status::invalid_argument(
          "migrations", "migration versions must run 1, 2, 3, ... without gaps; '" +
                            migrations[i].name + "' is number " + std::to_string(i + 1));
    }
  }

  const bool apply = mode == MigrateMode::kApply;
  ANNALS_ASSIGN_OR_RETURN(auto txn, database.begin(apply ? db::Access::kWrite : db::Access::kRead));
  if (apply && database.dialect() == db::Dialect::kPostgres) {
    // One migrator at a time per database; the lock ends with the transaction.
    ANNALS_RETURN_IF_ERROR(txn->query("SELECT pg_advisory_xact_lock(4242000001)").status());
  }
  const std::string table = database.dialect() == db::Dialect::kPostgres
                                ? "annals_meta.annals_migrations"
                                : "annals_migrations";
  if (apply) {
    ANNALS_RETURN_IF_ERROR(txn->execute_script("CREATE TABLE IF NOT EXISTS " + table +
                                               " ("
                                               " version INTEGER NOT NULL PRIMARY KEY,"
                                               " name TEXT NOT NULL,"
                                               " checksum TEXT NOT NULL,"
                                               " applied_at BIGINT NOT NULL)"));
  }
  ANNALS_ASSIGN_OR_RETURN(
      auto rows, txn->query("SELECT version, name, checksum FROM " + table + " ORDER BY version"));

  MigrationReport report;
  std::map<int, std::string> applied;
  for (const auto& row : rows) {
    int version = static_cast<int>(row.i64(0));
    const std::string& name = row.text(1);
    if (version < 1 || version > static_cast<int>(migrations.size())) {
      return Status::invalid_argument(
          "migrations",
          database.describe() + " has migration " + name + " (version " + std::to_string(version) +
              "), which this Annals does not know; it knows " + std::to_string(migrations.size()) +
              " migrations. Use the Annals version that wrote it, or a newer one.");
    }
    const Migration& known = migrations[version - 1];
    std::string expected = known.checksum();
    if (row.text(2) != expected) {
      return Status::invalid_argument(
          "migrations",
          "migration " + known.name + " was applied to " + database.describe() + " with checksum " +
              row.text(2).substr(0, 12) + "… but this build's file has " + expected.substr(0, 12) +
              "…: an applied migration must never change; add a new migration instead");
    }
    applied[version] = name;
    report.schema_version = std::max(report.schema_version, version);
  }

  if (!apply) {
    if (report.schema_version < static_cast<int>(migrations.size())) {
      return Status::invalid_argument(
          "migrations", database.describe() + " has " + std::to_string(applied.size()) + " of " +
                            std::to_string(migrations.size()) +
                            " migrations applied: run 'annals setup' with a superuser URL");
    }
    return report;
  }
  int64_t now = to_micros(clock.now());
  for (const auto& m : migrations) {
    if (applied.count(m.version)) continue;
    Status s = txn->execute_script(m.sql);
    if (!s.is_ok()) return s.with_context("migration " + m.name + " failed");
    ANNALS_ASSIGN_OR_RETURN(int64_t n,
                            txn->execute("INSERT INTO " + table +
                                             " (version, name, checksum, applied_at)"
                                             " VALUES ($1, $2, $3, $4)",
                                         {int64_t{m.version}, m.name, m.checksum(), now}));
    (void)n;
    ++report.applied;
    report.schema_version = m.version;
  }
  ANNALS_RETURN_IF_ERROR(txn->commit());
  return report;
}

}  // namespace annals::projections
