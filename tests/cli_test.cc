// Runs the annals binary the way a user does.
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <sys/wait.h>
#include <pqxx/pqxx>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "journal/format.h"
#include "projections/database.h"
#include "tests/cli_support.h"
#include "tests/test_support.h"

namespace annals {
namespace {

using annals::testing::annals;
using annals::testing::CliRun;
using annals::testing::TempDir;

// The journal's RocksDB folder opened directly, to change it behind the
// journal's back. handle(i): 1 events, 2 org events, 3 streams, ...
class RawJournal {
 public:
  explicit RawJournal(const std::string& dir) {
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (const char* name :
         {"default", journal::format::kEventsFamily, journal::format::kOrgEventsFamily,
          journal::format::kStreamsFamily, journal::format::kIdempotencyFamily,
          journal::format::kReservationsFamily, journal::format::kKeysFamily}) {
      families.emplace_back(name, rocksdb::ColumnFamilyOptions());
    }
    rocksdb::DB* raw = nullptr;
    opened_ = rocksdb::DB::Open(rocksdb::DBOptions(), dir, families, &handles_, &raw).ok();
    db_.reset(raw);
  }
  ~RawJournal() {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  }
  bool opened() const { return opened_; }
  rocksdb::DB* db() { return db_.get(); }
  rocksdb::ColumnFamilyHandle* handle(size_t i) { return handles_.at(i); }

 private:
  bool opened_ = false;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

TEST(Cli, DemoThenVerifySucceed) {
  TempDir dir;
  CliRun demo = annals("demo --data " + dir.sub("data") + " --commands 1200");
  ASSERT_EQ(demo.exit_code, 0) << demo.out;
  EXPECT_NE(demo.out.find("events appended"), std::string::npos) << demo.out;
  EXPECT_NE(demo.out.find("journal head"), std::string::npos);
  EXPECT_NE(demo.out.find("token by prefix"), std::string::npos);

  CliRun verify = annals("verify --data " + dir.sub("data"));
  ASSERT_EQ(verify.exit_code, 0) << verify.out;
  EXPECT_EQ(verify.out.rfind("ok: ", 0), 0u) << verify.out;

  CliRun status = annals("status --data " + dir.sub("data"));
  ASSERT_EQ(status.exit_code, 0) << status.out;
  EXPECT_NE(status.out.find("settings"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("tokens"), std::string::npos);

  // A second run adds to the same folder.
  CliRun again = annals("demo --data " + dir.sub("data") + " --commands 200 --durability batch");
  ASSERT_EQ(again.exit_code, 0) << again.out;
  EXPECT_EQ(annals("verify --data " + dir.sub("data")).exit_code, 0);
}

TEST(Cli, StatusAndVerifyNameAStoppedProjectionAndReplayResumesIt) {
  TempDir dir;
  std::string data = dir.sub("data");
  ASSERT_EQ(annals("demo --data " + data + " --commands 200").exit_code, 0);
  {
    // What the projector records when the settings projection fails on an
    // event (the projector tests make it happen; here only the record).
    auto database = db::Database::open("sqlite:" + data + "/read.sqlite");
    ASSERT_OK(database);
    auto txn = (*database)->begin(db::Access::kWrite);
    ASSERT_OK(txn);
    ASSERT_OK(
        (*txn)->execute("INSERT INTO projection_failures (projection, position, error)"
                        " VALUES ('settings', 7, 'Internal: injected for the test')"));
    ASSERT_OK((*txn)->commit());
  }
  CliRun status = annals("status --data " + data);
  ASSERT_EQ(status.exit_code, 0) << status.out;
  EXPECT_NE(status.out.find("STOPPED"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("projection 'settings' is stopped at position 7: Internal: injected"),
            std::string::npos)
      << status.out;
  EXPECT_NE(status.out.find("annals replay settings"), std::string::npos) << status.out;
  CliRun verify = annals("verify --data " + data);
  EXPECT_EQ(verify.exit_code, 1) << verify.out;
  EXPECT_NE(verify.out.find("'settings' is stopped at position 7"), std::string::npos)
      << verify.out;
  CliRun replay = annals("replay --projection settings --data " + data);
  ASSERT_EQ(replay.exit_code, 0) << replay.out;
  status = annals("status --data " + data);
  EXPECT_EQ(status.out.find("STOPPED"), std::string::npos) << status.out;
  EXPECT_EQ(annals("verify --data " + data).exit_code, 0);
}

TEST(Cli, AReadDatabasePastTheJournalHeadIsExplainedAndRebuildFixesIt) {
  TempDir dir;
  ASSERT_EQ(annals("demo --data " + dir.sub("long") + " --commands 300").exit_code, 0);
  ASSERT_EQ(annals("demo --data " + dir.sub("short") + " --commands 100").exit_code, 0);
  // The read database of the longer history beside the shorter journal, as
  // when a journal lost its tail.
  std::filesystem::copy_file(dir.sub("long") + "/read.sqlite", dir.sub("short") + "/read.sqlite",
                             std::filesystem::copy_options::overwrite_existing);
  CliRun status = annals("status --data " + dir.sub("short"));
  ASSERT_EQ(status.exit_code, 0) << status.out;
  EXPECT_NE(status.out.find("PAST THE HEAD"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("the journal lacks positions"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("restore the journal"), std::string::npos) << status.out;
  CliRun verify = annals("verify --data " + dir.sub("short"));
  EXPECT_EQ(verify.exit_code, 1) << verify.out;
  EXPECT_NE(verify.out.find("the journal lacks positions"), std::string::npos) << verify.out;
  // The rebuild the advice names can run, and fixes it.
  CliRun rebuild = annals("rebuild --data " + dir.sub("short"));
  ASSERT_EQ(rebuild.exit_code, 0) << rebuild.out;
  EXPECT_EQ(annals("verify --data " + dir.sub("short")).exit_code, 0);
  status = annals("status --data " + dir.sub("short"));
  EXPECT_EQ(status.out.find("PAST THE HEAD"), std::string::npos) << status.out;
}

TEST(Cli, VerifyNamesThePositionOfAGap) {
  TempDir dir;
  ASSERT_EQ(annals("demo --data " + dir.sub("data") + " --commands 100").exit_code, 0);
  {
    // Remove the record at position 10 behind the journal's back.
    RawJournal raw(dir.sub("data") + "/journal");
    ASSERT_TRUE(raw.opened());
    ASSERT_TRUE(
        raw.db()
            ->Delete(rocksdb::WriteOptions(), raw.handle(1), journal::format::position_key(10))
            .ok());
  }
  CliRun verify = annals("verify --data " + dir.sub("data"));
  EXPECT_EQ(verify.exit_code, 1) << verify.out;
  EXPECT_NE(verify.out.find("position 10"), std::string::npos) << verify.out;
}

TEST(Cli, VerifyNamesEachDerivedEntryThatDisagreesWithTheEvents) {
  TempDir dir;
  std::string data = dir.sub("data");
  ASSERT_EQ(annals("demo --data " + data + " --commands 100").exit_code, 0);
  {
    // An org index entry lost behind the journal's back.
    RawJournal raw(data + "/journal");
    ASSERT_TRUE(raw.opened());
    std::unique_ptr<rocksdb::Iterator> it(
        raw.db()->NewIterator(rocksdb::ReadOptions(), raw.handle(2)));
    it->SeekToFirst();
    ASSERT_TRUE(it->Valid());
    std::string key = it->key().ToString();
    it.reset();
    ASSERT_TRUE(raw.db()->Delete(rocksdb::WriteOptions(), raw.handle(2), key).ok());
  }
  CliRun verify = annals("verify --data " + data);
  EXPECT_EQ(verify.exit_code, 1) << verify.out;
  EXPECT_NE(verify.out.find("org_events "), std::string::npos) << verify.out;
  EXPECT_NE(verify.out.find("is missing; the events say an entry"), std::string::npos)
      << verify.out;
}

TEST(Cli, VerifyChecksEveryReservationAgainstTheEvents) {
  TempDir dir;
  std::string data = dir.sub("data");
  ASSERT_EQ(annals("demo --data " + data + " --commands 200").exit_code, 0);
  CliRun clean = annals("verify --data " + data);
  ASSERT_EQ(clean.exit_code, 0) << clean.out;
  EXPECT_NE(clean.out.find(" reservations agree with the events"), std::string::npos) << clean.out;
  {
    // Behind the journal's back: one reservation lost, one given to another
    // stream, and one that no event claims.
    RawJournal raw(data + "/journal");
    ASSERT_TRUE(raw.opened());
    std::unique_ptr<rocksdb::Iterator> it(
        raw.db()->NewIterator(rocksdb::ReadOptions(), raw.handle(5)));
    it->SeekToFirst();
    ASSERT_TRUE(it->Valid());
    std::string lost = it->key().ToString();
    it->Next();
    ASSERT_TRUE(it->Valid());
    std::string moved = it->key().ToString();
    it.reset();
    rocksdb::WriteOptions w;
    ASSERT_TRUE(raw.db()->Delete(w, raw.handle(5), lost).ok());
    ASSERT_TRUE(raw.db()->Put(w, raw.handle(5), moved, "setting/somebody-else").ok());
    ASSERT_TRUE(raw.db()
                    ->Put(w, raw.handle(5),
                          journal::format::reservation_key("toolset.slug", "acme", "ghost/u"),
                          "toolset/ghost")
                    .ok());
  }
  CliRun verify = annals("verify --data " + data);
  EXPECT_EQ(verify.exit_code, 1) << verify.out;
  EXPECT_NE(verify.out.find("reservations "), std::string::npos) << verify.out;
  EXPECT_NE(verify.out.find(": missing; the events give it to stream '"), std::string::npos)
      << verify.out;
  EXPECT_NE(verify.out.find(": held by 'setting/somebody-else'; the events give it to stream '"),
            std::string::npos)
      << verify.out;
  EXPECT_NE(verify.out.find("reservations toolset.slug acme 'ghost/u': held by 'toolset/ghost' "
                            "but claimed by no event"),
            std::string::npos)
      << verify.out;
}

TEST(Cli, VerifyRunsSqliteIntegrityCheckOnTheReadDatabase) {
  TempDir dir;
  std::string data = dir.sub("data");
  ASSERT_EQ(annals("demo --data " + data + " --commands 100").exit_code, 0);
  {
    // The token prefix index no longer matches its table, as a damaged
    // index page would: lookups through it miss rows a scan finds.
    auto database = db::Database::open("sqlite:" + data + "/read.sqlite");
    ASSERT_OK(database);
    auto txn = (*database)->begin(db::Access::kWrite);
    ASSERT_OK(txn);
    ASSERT_OK((*txn)->execute_script(
        "PRAGMA writable_schema = ON;"
        "UPDATE sqlite_schema SET sql = 'CREATE INDEX api_tokens_prefix ON api_tokens (name)'"
        " WHERE name = 'api_tokens_prefix';"
        "PRAGMA writable_schema = OFF;"));
    ASSERT_OK((*txn)->commit());
  }
  CliRun verify = annals("verify --data " + data);
  EXPECT_EQ(verify.exit_code, 1) << verify.out;
  EXPECT_NE(verify.out.find("is damaged"), std::string::npos) << verify.out;
  EXPECT_NE(verify.out.find("api_tokens_prefix"), std::string::npos) << verify.out;
  EXPECT_NE(verify.out.find("annals rebuild"), std::string::npos) << verify.out;
}

TEST(Cli, SetupDemoStatusAndVerifyOnPostgres) {
  TempDir dir;
  std::unique_ptr<testing::TestDatabase> db;
  ANNALS_SETUP_BACKEND(db, testing::Backend::kPostgres, dir);
  const std::string url = db->url();  // a superuser URL

  CliRun setup = annals("setup --database '" + url + "'");
  ASSERT_EQ(setup.exit_code, 0) << setup.out;
  EXPECT_NE(setup.out.find("annals_query"), std::string::npos) << setup.out;
  CliRun again = annals("setup --database '" + url + "'");
  ASSERT_EQ(again.exit_code, 0) << again.out;
  EXPECT_NE(again.out.find("0 migrations applied"), std::string::npos) << again.out;

  // Given the privileged URL, the demo serves as the runtime roles.
  CliRun demo =
      annals("demo --data " + dir.sub("data") + " --database '" + url + "' --commands 300");
  ASSERT_EQ(demo.exit_code, 0) << demo.out;
  EXPECT_NE(demo.out.find("postgres://annals_query@"), std::string::npos) << demo.out;
  EXPECT_NE(demo.out.find("postgres://annals_projector@"), std::string::npos) << demo.out;
  EXPECT_NE(demo.out.find("token by prefix"), std::string::npos) << demo.out;

  const std::string as_query = db->url_as("annals_query");
  CliRun status = annals("status --data " + dir.sub("data") + " --database '" + as_query + "'");
  ASSERT_EQ(status.exit_code, 0) << status.out;
  EXPECT_NE(status.out.find("tokens"), std::string::npos) << status.out;
  EXPECT_EQ(annals("verify --data " + dir.sub("data") + " --database '" + as_query + "'").exit_code,
            0);

  // The runtime role can neither set up nor be mistaken for a privileged one.
  CliRun refused = annals("setup --database '" + as_query + "'");
  EXPECT_EQ(refused.exit_code, 1) << refused.out;
  EXPECT_NE(refused.out.find("superuser"), std::string::npos) << refused.out;
  CliRun sqlite_setup = annals("setup --database sqlite:/tmp/x.sqlite");
  EXPECT_EQ(sqlite_setup.exit_code, 2) << sqlite_setup.out;
}

// What setup decides in a database's catalog: the Annals roles with their
// attributes and password verifiers, the schemas with their owners and
// grants, and the migration record.
std::string catalog(const std::string& url) {
  pqxx::connection conn(url);
  pqxx::nontransaction tx(conn);
  std::string out;
  auto add = [&](const std::string& sql) {
    for (const auto& row : tx.exec(sql)) {
      for (const auto& field : row) out += std::string(field.is_null() ? "-" : field.c_str()) + " ";
      out += "\n";
    }
  };
  add("SELECT rolname, rolsuper, rolbypassrls, rolcanlogin, rolinherit, rolpassword"
      " FROM pg_authid WHERE rolname IN ('annals_owner', 'annals_query', 'annals_projector')"
      " ORDER BY rolname");
  add("SELECT nspname, nspowner::regrole::text, nspacl::text FROM pg_namespace ORDER BY nspname");
  if (tx.exec("SELECT to_regclass('annals_meta.annals_migrations')")[0][0].is_null()) return out;
  add("SELECT version, checksum, applied_at FROM annals_meta.annals_migrations ORDER BY version");
  return out;
}

// The read-only commands change nothing, even given a superuser URL and a
// runtime password (which setup would set, locking out an app that uses
// the old one).
TEST(Cli, StatusAndVerifyGivenASuperuserUrlChangeNothing) {
  TempDir dir;
  std::unique_ptr<testing::TestDatabase> db;
  ANNALS_SETUP_BACKEND(db, testing::Backend::kPostgres, dir);
  const std::string url = db->url();
  const std::string data = dir.sub("data");
  // The test server trusts every login: passwords are stored, not checked.
  CliRun demo = annals("demo --data " + data + " --database '" + url + "' --commands 50",
                       "ANNALS_RUNTIME_PASSWORD=first");
  ASSERT_EQ(demo.exit_code, 0) << demo.out;
  EXPECT_NE(demo.out.find("setup          ran through"), std::string::npos) << demo.out;
  const std::string before = catalog(url);
  ASSERT_NE(before.find("SCRAM-SHA-256$"), std::string::npos) << before;
  for (const char* command : {"status", "verify"}) {
    CliRun run = annals(std::string(command) + " --data " + data + " --database '" + url + "'",
                        "ANNALS_RUNTIME_PASSWORD=second");
    EXPECT_EQ(run.exit_code, 0) << command << ": " << run.out;
    EXPECT_EQ(catalog(url), before) << command << " changed the catalog";
  }
}

// On a server where Annals was never set up, status and verify say to run
// setup, and create no role and no schema.
TEST(Cli, StatusAndVerifyOnADatabaseNeverSetUpSayToRunSetup) {
  testing::PrivatePgServer server;
  if (server.url().empty()) {
    if (testing::running_in_ci()) FAIL() << server.why();
    GTEST_SKIP() << "*** PostgreSQL unavailable: " << server.why();
  }
  TempDir dir;
  const std::string data = dir.sub("data");
  ASSERT_EQ(annals("demo --data " + data + " --commands 20").exit_code, 0);  // a journal
  const std::string before = catalog(server.url());
  for (const char* command : {"status", "verify"}) {
    CliRun run =
        annals(std::string(command) + " --data " + data + " --database '" + server.url() + "'");
    EXPECT_EQ(run.exit_code, 1) << command << ": " << run.out;
    EXPECT_NE(run.out.find("run `annals setup"), std::string::npos) << command << ": " << run.out;
    EXPECT_EQ(catalog(server.url()), before) << command << " changed the catalog";
  }
  EXPECT_EQ(before.find("annals"), std::string::npos) << before;
}

TEST(Cli, HelpForEveryCommand) {
  for (const char* args : {"--help", "demo --help", "status --help", "verify --help"}) {
    CliRun r = annals(args);
    EXPECT_EQ(r.exit_code, 0) << args;
    EXPECT_NE(r.out.find("Usage: annals"), std::string::npos) << args << ": " << r.out;
  }
}

TEST(Cli, BadArgumentsGiveOneLineAndNonZeroExit) {
  for (const char* args :
       {"", "frobnicate", "demo --bogus", "demo --commands", "demo --commands -5",
        "demo --commands lots", "demo --durability fast", "status extra", "verify --data"}) {
    CliRun r = annals(args);
    EXPECT_NE(r.exit_code, 0) << args;
    if (std::string(args).empty()) continue;  // bare "annals" prints the usage
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << args << ": " << r.out;
    EXPECT_EQ(r.out.rfind("annals", 0), 0u) << r.out;
  }
}

TEST(Cli, StatusAndVerifyOnAMissingFolderSayWhatToDo) {
  TempDir dir;
  for (const char* cmd : {"status", "verify"}) {
    CliRun r = annals(std::string(cmd) + " --data " + dir.sub("nothing-here"));
    EXPECT_EQ(r.exit_code, 1) << r.out;
    EXPECT_NE(r.out.find("no Annals data"), std::string::npos) << r.out;
  }
}

// A journal written before events had versions (tests/fixtures/journal-v1)
// passes verify: every event decodes (upcast) and passes the deep checks.
TEST(Cli, VerifyPassesOnAJournalWrittenBeforeEventVersions) {
  TempDir dir;
  const std::filesystem::path fixture =
      std::filesystem::path(__FILE__).parent_path() / "fixtures" / "journal-v1";
  std::filesystem::create_directories(dir.sub("data"));
  std::filesystem::copy(fixture, dir.sub("data/journal"), std::filesystem::copy_options::recursive);
  CliRun verify = annals("verify --data " + dir.sub("data"));
  ASSERT_EQ(verify.exit_code, 0) << verify.out;
  EXPECT_EQ(verify.out.rfind("ok: 27 events", 0), 0u) << verify.out;
}

// The whole contents of a file ("" when it cannot be read).
std::string slurp(const std::string& path) {
  std::string out;
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    std::array<char, 4096> buf;
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) out.append(buf.data(), n);
    std::fclose(f);
  }
  return out;
}

TEST(Cli, ExportThenImportGivesTheSameJournal) {
  TempDir dir;
  const std::string source = dir.sub("source");
  const std::string target = dir.sub("target");
  ASSERT_EQ(annals("demo --data " + source + " --commands 300").exit_code, 0);

  CliRun exported =
      annals("export --with-keys --data " + source + " --output " + dir.sub("backup.jsonl"));
  ASSERT_EQ(exported.exit_code, 0) << exported.out;
  EXPECT_NE(exported.out.find("annals export: "), std::string::npos) << exported.out;
  EXPECT_NE(exported.out.find(" reservations -> "), std::string::npos) << exported.out;
  const std::string backup = slurp(dir.sub("backup.jsonl"));
  EXPECT_EQ(backup.rfind("{\"kind\":\"annals-export\",\"format\":1,", 0), 0u);
  EXPECT_EQ(slurp(dir.sub("backup.jsonl.partial")), "");

  // From stdin into a new folder; then the new journal verifies and exports
  // to the same text.
  CliRun imported = annals("import --data " + target + " --input - < " + dir.sub("backup.jsonl"));
  ASSERT_EQ(imported.exit_code, 0) << imported.out;
  EXPECT_NE(imported.out.find("annals import: "), std::string::npos) << imported.out;
  EXPECT_NE(imported.out.find("(0 already present)"), std::string::npos) << imported.out;
  CliRun verify = annals("verify --data " + target);
  ASSERT_EQ(verify.exit_code, 0) << verify.out;
  CliRun again =
      annals("export --with-keys --data " + target + " --output " + dir.sub("again.jsonl"));
  ASSERT_EQ(again.exit_code, 0) << again.out;
  EXPECT_EQ(slurp(dir.sub("again.jsonl")), backup);

  // Importing the same file again adds nothing.
  CliRun twice = annals("import --data " + target + " --input " + dir.sub("backup.jsonl"));
  ASSERT_EQ(twice.exit_code, 0) << twice.out;
  EXPECT_NE(twice.out.find("annals import: 0 events"), std::string::npos) << twice.out;
}

// A demo's export in `dir`/backup.jsonl, as lines.
std::vector<std::string> demo_export_lines(const TempDir& dir) {
  std::vector<std::string> lines;
  EXPECT_EQ(annals("demo --data " + dir.sub("source") + " --commands 120").exit_code, 0);
  EXPECT_EQ(annals("export --with-keys --data " + dir.sub("source") + " --output " +
                   dir.sub("backup.jsonl"))
                .exit_code,
            0);
  std::istringstream in(slurp(dir.sub("backup.jsonl")));
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

void write_lines(const std::string& path, const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::fputs(text.c_str(), f);
  std::fclose(f);
}

TEST(Cli, ImportRefusesWhatNoReadTableCanHold) {
  TempDir dir;
  // The second token created takes the first one's prefix: the journal's
  // own checks pass it, the token table's unique prefix does not.
  std::vector<std::string> lines = demo_export_lines(dir);
  const std::string key = "\"tokenPrefix\":\"";
  std::vector<size_t> creates;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find("\"type\":\"tokenCreated\"") != std::string::npos) creates.push_back(i);
  }
  ASSERT_GE(creates.size(), 2u);
  auto prefix_of = [&](const std::string& line) {
    size_t from = line.find(key) + key.size();
    return line.substr(from, line.find('"', from) - from);
  };
  std::string& second = lines[creates[1]];
  size_t from = second.find(key) + key.size();
  second.replace(from, prefix_of(second).size(), prefix_of(lines[creates[0]]));
  ASSERT_NO_FATAL_FAILURE(write_lines(dir.sub("edited.jsonl"), lines));

  CliRun r = annals("import --data " + dir.sub("data") + " --input " + dir.sub("edited.jsonl"));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  const std::string line = "line " + std::to_string(creates[1] + 1) + " (position ";
  EXPECT_NE(r.out.find(line), std::string::npos) << line << " not in " << r.out;
  EXPECT_NE(r.out.find("projection 'tokens' cannot hold this event"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir.sub("data"))) << "a refused import left a journal";
}

TEST(Cli, ImportRefusesAReservationWhoseOwnerWasRewritten) {
  TempDir dir;
  std::vector<std::string> lines = demo_export_lines(dir);
  size_t at = 0;
  while (at < lines.size() && lines[at].find("\"kind\":\"reservation\"") == std::string::npos) ++at;
  ASSERT_LT(at, lines.size());
  const std::string owner = "\"owner\":\"";
  size_t from = lines[at].find(owner);
  ASSERT_NE(from, std::string::npos) << lines[at];
  from += owner.size();
  lines[at].replace(from, lines[at].find('"', from) - from, "token/someone-else");
  ASSERT_NO_FATAL_FAILURE(write_lines(dir.sub("edited.jsonl"), lines));

  CliRun r = annals("import --data " + dir.sub("data") + " --input " + dir.sub("edited.jsonl"));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("the export's reservations disagree with its events"), std::string::npos)
      << r.out;
  const std::string named = "line " + std::to_string(at + 1) + ": ";
  EXPECT_NE(r.out.find(named), std::string::npos) << named << " not in " << r.out;
  EXPECT_NE(r.out.find("held by 'token/someone-else'; the events give it to stream '"),
            std::string::npos)
      << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir.sub("data"))) << "a refused import left a journal";
  // The unedited export goes in.
  CliRun good = annals("import --data " + dir.sub("data") + " --input " + dir.sub("backup.jsonl"));
  EXPECT_EQ(good.exit_code, 0) << good.out;
}

TEST(Cli, ImportOfBadInputNamesTheLineAndWritesNothing) {
  TempDir dir;
  const std::string bad = dir.sub("bad.jsonl");
  FILE* f = std::fopen(bad.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::fputs(
      "{\"kind\":\"annals-export\",\"format\":1,\"journal_format\":\"annals-journal/1\","
      "\"head\":1,\"org_keys\":0,\"reservations\":0}\nnot json at all\n",
      f);
  std::fclose(f);
  CliRun r = annals("import --data " + dir.sub("data") + " --input " + bad);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  EXPECT_NE(r.out.find("line 2: not valid JSON"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir.sub("data"))) << "a refused import left a journal";

  for (const char* args : {"import", "import --input", "export --bogus", "import --input x y"}) {
    CliRun usage = annals(std::string(args) + " --data " + dir.sub("data"));
    EXPECT_EQ(usage.exit_code, 2) << args << ": " << usage.out;
  }
  CliRun missing = annals("export --data " + dir.sub("nothing-here"));
  EXPECT_EQ(missing.exit_code, 1) << missing.out;
  EXPECT_NE(missing.out.find("no Annals data"), std::string::npos) << missing.out;
  for (const char* args : {"export --help", "import --help"}) {
    CliRun help = annals(args);
    EXPECT_EQ(help.exit_code, 0) << args;
    EXPECT_NE(help.out.find("Usage: annals"), std::string::npos) << help.out;
  }
}

// The raw value of `org` in the journal's keys family; empty when none.
std::string stored_key_entry(const std::string& journal_dir, const std::string& org) {
  rocksdb::DBOptions options;
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const char* name :
       {"default", journal::format::kEventsFamily, journal::format::kOrgEventsFamily,
        journal::format::kStreamsFamily, journal::format::kIdempotencyFamily,
        journal::format::kReservationsFamily, journal::format::kKeysFamily}) {
    families.emplace_back(name, rocksdb::ColumnFamilyOptions());
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  EXPECT_TRUE(rocksdb::DB::OpenForReadOnly(options, journal_dir, families, &handles, &raw).ok());
  if (raw == nullptr) return "";
  std::string value;
  rocksdb::Status s = raw->Get(rocksdb::ReadOptions(), handles.back(), org, &value);
  for (auto* h : handles) raw->DestroyColumnFamilyHandle(h);
  delete raw;
  return s.ok() ? value : "";
}

TEST(Cli, VerifyFailsWhenAnOrgWithSealedSecretsLostItsKey) {
  TempDir dir;
  const std::string data = dir.sub("data");
  ASSERT_EQ(annals("demo --data " + data + " --commands 100").exit_code, 0);
  CliRun before = annals("verify --data " + data);
  ASSERT_EQ(before.exit_code, 0) << before.out;
  EXPECT_NE(before.out.find("4 orgs with sealed secrets"), std::string::npos) << before.out;
  {
    RawJournal raw(data + "/journal");
    ASSERT_TRUE(raw.opened());
    ASSERT_TRUE(raw.db()->Delete(rocksdb::WriteOptions(), raw.handle(6), "globex").ok());
  }
  CliRun verify = annals("verify --data " + data);
  EXPECT_EQ(verify.exit_code, 1) << verify.out;
  EXPECT_NE(verify.out.find("org 'globex' has sealed secrets"), std::string::npos) << verify.out;
  EXPECT_NE(verify.out.find("no data key"), std::string::npos) << verify.out;
}

TEST(Cli, OrgForgetDestroysTheKeyAndKeepsTheHistory) {
  TempDir dir;
  const std::string data = dir.sub("data");
  ASSERT_EQ(annals("demo --data " + data + " --commands 100").exit_code, 0);
  const std::string wrapped = stored_key_entry(data + "/journal", "acme");
  ASSERT_EQ(wrapped.size(), 60u);

  // Irreversible: refused without --yes when nobody can be asked.
  CliRun refused = annals("org forget acme --data " + data + " </dev/null");
  EXPECT_EQ(refused.exit_code, 2) << refused.out;
  EXPECT_NE(refused.out.find("--yes"), std::string::npos) << refused.out;
  EXPECT_EQ(stored_key_entry(data + "/journal", "acme"), wrapped);

  CliRun forgot = annals("org forget acme --data " + data + " --yes");
  ASSERT_EQ(forgot.exit_code, 0) << forgot.out;
  EXPECT_NE(forgot.out.find("ok: org 'acme' forgotten at "), std::string::npos) << forgot.out;
  EXPECT_EQ(stored_key_entry(data + "/journal", "acme").rfind("forgotten at ", 0), 0u);
  EXPECT_EQ(stored_key_entry(data + "/journal", "globex").size(), 60u);
  std::string files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(data + "/journal")) {
    std::ifstream in(entry.path(), std::ios::binary);
    files.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  EXPECT_EQ(files.find(wrapped), std::string::npos) << "acme's wrapped key is still on disk";

  CliRun again = annals("org forget --yes --data " + data + " acme");
  ASSERT_EQ(again.exit_code, 0) << again.out;
  EXPECT_NE(again.out.find("already forgotten"), std::string::npos) << again.out;
  CliRun unknown = annals("org forget newco --data " + data + " --yes");
  ASSERT_EQ(unknown.exit_code, 0) << unknown.out;
  EXPECT_NE(unknown.out.find("had no data key"), std::string::npos) << unknown.out;

  // The history is intact.
  CliRun verify = annals("verify --data " + data);
  EXPECT_EQ(verify.exit_code, 0) << verify.out;

  for (const char* args : {"org", "org frob", "org forget", "org forget a b --yes",
                           "org forget 'bad org' --yes", "org forget acme --bogus"}) {
    CliRun r = annals(std::string(args) + " --data " + data);
    EXPECT_EQ(r.exit_code, 2) << args << ": " << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << args << ": " << r.out;
  }
  CliRun help = annals("org forget --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("Usage: annals org forget"), std::string::npos) << help.out;
  CliRun missing = annals("org forget acme --yes --data " + dir.sub("nothing-here"));
  EXPECT_EQ(missing.exit_code, 1) << missing.out;
  EXPECT_NE(missing.out.find("no Annals data"), std::string::npos) << missing.out;
}

}  // namespace
}  // namespace annals
