// Migration files may use directives (projections/migrate.h); what reaches
// the database, and the checksum recorded for it, must not change when a
// file switches to one.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "projections/migrate.h"
#include "tests/test_support.h"

namespace annals::projections {
namespace {

// tests/fixtures/migration_checksums.txt: "<dialect> <name> <sha256>" lines.
std::map<std::pair<std::string, std::string>, std::string> pinned_checksums() {
  std::ifstream in(annals::testing::tests_source_dir() + "/fixtures/migration_checksums.txt");
  EXPECT_TRUE(in.good()) << "tests/fixtures/migration_checksums.txt cannot be read";
  std::map<std::pair<std::string, std::string>, std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string dialect, name, checksum;
    EXPECT_TRUE(fields >> dialect >> name >> checksum) << line;
    out[{dialect, name}] = checksum;
  }
  return out;
}

TEST(MigrationDirectives, EveryShippedMigrationKeepsTheChecksumItWasAppliedWith) {
  const auto pinned = pinned_checksums();
  ASSERT_GE(pinned.size(), 20u) << "the first 10 migrations of each dialect are pinned";
  size_t checked = 0;
  for (auto [dialect, label] :
       {std::pair{db::Dialect::kSqlite, "sqlite"}, std::pair{db::Dialect::kPostgres, "postgres"}}) {
    auto embedded = embedded_migrations(dialect);
    ASSERT_OK(embedded);
    for (const auto& m : *embedded) {
      auto it = pinned.find({label, m.name});
      ASSERT_NE(it, pinned.end())
          << label << " " << m.name
          << " has no line in tests/fixtures/migration_checksums.txt; its line is\n"
          << label << " " << m.name << " " << m.checksum();
      EXPECT_EQ(m.checksum(), it->second) << label << " " << m.name;
      ++checked;
    }
  }
  EXPECT_EQ(checked, pinned.size()) << "a pinned migration is no longer shipped";
}

TEST(MigrationDirectives, OrgIsolatedStandsForThePolicyAndTheGrants) {
  auto expanded = expand_migration(
      "CREATE TABLE annals.t (org_id TEXT NOT NULL);\n\n-- @org_isolated annals.t\n-- a note\n",
      db::Dialect::kPostgres);
  ASSERT_OK(expanded);
  EXPECT_EQ(*expanded,
            "CREATE TABLE annals.t (org_id TEXT NOT NULL);\n\n"
            "ALTER TABLE annals.t ENABLE ROW LEVEL SECURITY;\n"
            "ALTER TABLE annals.t FORCE ROW LEVEL SECURITY;\n"
            "CREATE POLICY org_isolation ON annals.t\n"
            "  USING (org_id = (SELECT NULLIF(current_setting('app.current_org_id', true), '')))\n"
            "  WITH CHECK (org_id = (SELECT NULLIF(current_setting('app.current_org_id', true), "
            "'')));\n\n"
            "GRANT SELECT ON annals.t TO annals_query;\n"
            "GRANT SELECT, INSERT, UPDATE, DELETE ON annals.t TO annals_projector;\n"
            "-- a note\n");
}

TEST(MigrationDirectives, TextWithoutDirectivesIsKeptByteForByte) {
  for (std::string_view sql : {"", "\n", "SELECT 1;", "SELECT 1;\n\n", "--@org_isolated x\n",
                               " -- @org_isolated annals.t\n"}) {
    auto expanded = expand_migration(sql, db::Dialect::kPostgres);
    ASSERT_OK(expanded);
    EXPECT_EQ(*expanded, sql);
  }
}

TEST(MigrationDirectives, ABadDirectiveIsADefectOfTheBuild) {
  const std::vector<std::string> bad = {
      "-- @",
      "-- @org_isolated",
      "-- @org_isolated ",
      "-- @org_isolated t",
      "-- @org_isolated annals.",
      "-- @org_isolated annals.Tokens",
      "-- @org_isolated annals.t annals.u",
      "-- @org_isolated annals.t; DROP TABLE annals.u",
      "-- @org_isolated other.t",
      "-- @org_isolated annals.t\xff",
      "-- @org_isolation annals.t",
      "-- @ORG_ISOLATED annals.t",
  };
  for (const auto& line : bad) {
    SCOPED_TRACE(line);
    EXPECT_CODE(expand_migration("SELECT 1;\n" + line + "\n", db::Dialect::kPostgres),
                Code::kInternal);
  }
  // SQLite has no row-level security: the directive cannot mean anything there.
  EXPECT_CODE(expand_migration("-- @org_isolated annals.t\n", db::Dialect::kSqlite),
              Code::kInternal);
}

TEST(MigrationDirectives, EveryPostgresOrgTableIsIsolated) {
  auto embedded = embedded_migrations(db::Dialect::kPostgres);
  ASSERT_OK(embedded);
  size_t tables = 0;
  for (const auto& m : *embedded) {
    for (size_t at = 0; (at = m.sql.find("CREATE TABLE annals.", at)) != std::string::npos; ++at) {
      size_t open = m.sql.find(' ', at + 13);
      std::string table = m.sql.substr(at + 13, open - at - 13);
      if (m.sql.find("org_id", open) > m.sql.find(");", open)) continue;  // not an org table
      ++tables;
      EXPECT_NE(m.sql.find("ALTER TABLE " + table + " FORCE ROW LEVEL SECURITY;"),
                std::string::npos)
          << table << " in " << m.name;
      EXPECT_NE(m.sql.find("CREATE POLICY org_isolation ON " + table + "\n"), std::string::npos)
          << table << " in " << m.name;
    }
  }
  EXPECT_GE(tables, 10u);
}

}  // namespace
}  // namespace annals::projections
