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
    ANNALS_ASSIGN_OR_RETURN(m.sql, expand_migration(file.sql, dialect));
    out.push_back(std::move(m));
  }
  return out;
}

namespace {

constexpr std::string_view kDirective = "-- @";

// What "-- @org_isolated <table>" expands to; every "<table>" is replaced.
constexpr std::string_view kOrgIsolated =
    R"(ALTER TABLE <table> ENABLE ROW LEVEL SECURITY;
ALTER TABLE <table> FORCE ROW LEVEL SECURITY;
CREATE POLICY org_isolation ON <table>
  USING (org_id = (SELECT NULLIF(current_setting('app.current_org_id', true), '')))
  WITH CHECK (org_id = (SELECT NULLIF(current_setting('app.current_org_id', true), '')));

GRANT SELECT ON <table> TO annals_query;
GRANT SELECT, INSERT, UPDATE, DELETE ON <table> TO annals_projector;)";

std::string org_isolated(std::string_view table) {
  constexpr std::string_view kPlaceholder = "<table>";
  std::string out;
  size_t from = 0;
  for (size_t at; (at = kOrgIsolated.find(kPlaceholder, from)) != std::string_view::npos;
       from = at + kPlaceholder.size()) {
    out.append(kOrgIsolated.substr(from, at - from)).append(table);
  }
  return out.append(kOrgIsolated.substr(from));
}

bool is_table_name(std::string_view name) {
  if (name.substr(0, 7) != "annals." || name.size() == 7) return false;
  for (char c : name.substr(7)) {
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '_')) {
      return false;
    }
  }
  return true;
}

}  // namespace

Result<std::string> expand_migration(std::string_view source, db::Dialect dialect) {
  std::string out;
  out.reserve(source.size() + 2048);
  size_t start = 0;
  while (start < source.size()) {
    size_t end = source.find('\n', start);
    if (end == std::string_view::npos) end = source.size();
    std::string_view line = source.substr(start, end - start);
    if (line.substr(0, kDirective.size()) != kDirective) {
      out.append(line);
    } else {
      std::string_view rest = line.substr(kDirective.size());
      size_t space = rest.find(' ');
      std::string_view name = rest.substr(0, space);
      std::string_view argument =
          space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
      if (name != "org_isolated") {
        return Status::internal("unknown migration directive '" + std::string(line) + "'");
      }
      if (dialect != db::Dialect::kPostgres) {
        return Status::internal("'" + std::string(line) +
                                "' is for PostgreSQL: SQLite has no row-level security");
      }
      if (!is_table_name(argument)) {
        return Status::internal("'" + std::string(line) +
                                "' must name one table as annals.<lowercase_name>");
      }
      out.append(org_isolated(argument));
    }
    if (end < source.size()) out.push_back('\n');
    start = end + 1;
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
