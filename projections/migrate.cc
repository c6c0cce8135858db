#include "projections/migrate.h"

#include <cctype>
#include <cstdio>
#include <map>

#include "core/sha256.h"
#include "migrations/embedded.h"

namespace annals::projections {

std::string Migration::checksum() const { return sha256_hex(sql); }

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

std::string retarget_schema(std::string_view sql, std::string_view schema) {
  if (schema == "annals") return std::string(sql);
  auto ident = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$';
  };
  std::string out;
  out.reserve(sql.size() + 64);
  size_t i = 0;
  while (i < sql.size()) {
    if (sql[i] == '$') {
      // A dollar quote: $tag$ ... $tag$ is copied untouched.
      size_t close = sql.find('$', i + 1);
      if (close != std::string_view::npos) {
        std::string_view tag = sql.substr(i, close - i + 1);
        bool is_tag = true;
        for (char c : tag.substr(1, tag.size() - 2)) is_tag = is_tag && (ident(c) && c != '$');
        if (is_tag) {
          size_t end = sql.find(tag, close + 1);
          end = end == std::string_view::npos ? sql.size() : end + tag.size();
          out.append(sql.substr(i, end - i));
          i = end;
          continue;
        }
      }
    }
    if (sql[i] == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      size_t end = sql.find('\n', i);
      end = end == std::string_view::npos ? sql.size() : end;
      out.append(sql.substr(i, end - i));
      i = end;
      continue;
    }
    if (sql[i] == '\'') {
      size_t end = sql.find('\'', i + 1);
      end = end == std::string_view::npos ? sql.size() : end + 1;
      out.append(sql.substr(i, end - i));
      i = end;
      continue;
    }
    bool boundary = i == 0 || !ident(sql[i - 1]);
    if (boundary && sql.substr(i, 12) == "annals_meta.") {
      out.append(schema).append("_meta.");
      i += 12;
    } else if (boundary && sql.substr(i, 7) == "annals.") {
      out.append(schema).append(".");
      i += 7;
    } else {
      out.push_back(sql[i++]);
    }
  }
  return out;
}

Result<MigrationReport> migrate(db::Database& database, const std::vector<Migration>& migrations,
                                Clock& clock, MigrateMode mode, std::string_view pg_schema) {
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
  const bool postgres = database.dialect() == db::Dialect::kPostgres;
  const std::string table =
      postgres ? std::string(pg_schema) + "_meta.annals_migrations" : "annals_migrations";
  if (apply && postgres && pg_schema != "annals") {
    // Function bodies may name tables of the live schema that differ from
    // the ones being built; they are checked when called, not now.
    ANNALS_RETURN_IF_ERROR(txn->execute_script("SET LOCAL check_function_bodies = off"));
  }
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
    Status s = txn->execute_script(postgres ? retarget_schema(m.sql, pg_schema) : m.sql);
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
