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
  if (dialect != db::Dialect::kSqlite) {
    return Status::invalid_argument("dialect", "no migrations are compiled in for this dialect");
  }
  std::vector<Migration> out;
  for (const auto& file : migrations::sqlite_files()) {
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
                                Clock& clock) {
  for (size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int>(i) + 1) {
      return Status::invalid_argument(
          "migrations", "migration versions must run 1, 2, 3, ... without gaps; '" +
                            migrations[i].name + "' is number " + std::to_string(i + 1));
    }
  }

  ANNALS_ASSIGN_OR_RETURN(auto txn, database.begin(db::Access::kWrite));
  ANNALS_RETURN_IF_ERROR(
      txn->execute_script("CREATE TABLE IF NOT EXISTS annals_migrations ("
                          " version INTEGER NOT NULL PRIMARY KEY,"
                          " name TEXT NOT NULL,"
                          " checksum TEXT NOT NULL,"
                          " applied_at BIGINT NOT NULL)"));
  ANNALS_ASSIGN_OR_RETURN(
      auto rows,
      txn->query("SELECT version, name, checksum FROM annals_migrations ORDER BY version"));

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

  int64_t now = to_micros(clock.now());
  for (const auto& m : migrations) {
    if (applied.count(m.version)) continue;
    Status s = txn->execute_script(m.sql);
    if (!s.is_ok()) return s.with_context("migration " + m.name + " failed");
    ANNALS_ASSIGN_OR_RETURN(
        int64_t n,
        txn->execute("INSERT INTO annals_migrations (version, name, checksum, applied_at)"
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
