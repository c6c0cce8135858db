// Runs the annals binary the way a user does: demo, status, verify (and
// what it finds when a journal or read database is damaged behind its
// back), replay, rebuild, help and bad arguments, and org forget.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "journal/format.h"
#include "projections/database.h"
#include "tests/cli_support.h"
#include "tests/raw_journal.h"
#include "tests/test_support.h"

namespace annals {
namespace {

using annals::testing::annals;
using annals::testing::CliRun;
using annals::testing::RawJournal;
using annals::testing::TempDir;

// A demo of `commands` commands into `data`, which verify then accepts,
// saying `verify_says`.
void verified_demo(const std::string& data, int commands, const std::string& verify_says) {
  ASSERT_EQ(annals("demo --data " + data + " --commands " + std::to_string(commands)).exit_code, 0);
  CliRun verify = annals("verify --data " + data);
  ASSERT_EQ(verify.exit_code, 0) << verify.out;
  EXPECT_NE(verify.out.find(verify_says), std::string::npos) << verify.out;
}

// Runs `script` in one write transaction on the SQLite read database of the
// store in `data`: what a failing projection or a damaged file leaves there.
void write_read_database(const std::string& data, const std::string& script) {
  auto database = db::Database::open("sqlite:" + data + "/read.sqlite");
  ASSERT_OK(database);
  auto txn = (*database)->begin(db::Access::kWrite);
  ASSERT_OK(txn);
  ASSERT_OK((*txn)->execute_script(script));
  ASSERT_OK((*txn)->commit());
}

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
  // What the projector records when the settings projection fails on an
  // event (the projector tests make it happen; here only the record).
  ASSERT_NO_FATAL_FAILURE(
      write_read_database(data,
                          "INSERT INTO projection_failures (projection, position, error)"
                          " VALUES ('settings', 7, 'Internal: injected for the test')"));
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
  ASSERT_NO_FATAL_FAILURE(verified_demo(data, 200, " reservations agree with the events"));
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
  // The token prefix index no longer matches its table, as a damaged
  // index page would: lookups through it miss rows a scan finds.
  ASSERT_NO_FATAL_FAILURE(write_read_database(
      data,
      "PRAGMA writable_schema = ON;"
      "UPDATE sqlite_schema SET sql = 'CREATE INDEX api_tokens_prefix ON api_tokens (name)'"
      " WHERE name = 'api_tokens_prefix';"
      "PRAGMA writable_schema = OFF;"));
  CliRun verify = annals("verify --data " + data);
  EXPECT_EQ(verify.exit_code, 1) << verify.out;
  EXPECT_NE(verify.out.find("is damaged"), std::string::npos) << verify.out;
  EXPECT_NE(verify.out.find("api_tokens_prefix"), std::string::npos) << verify.out;
  EXPECT_NE(verify.out.find("annals rebuild"), std::string::npos) << verify.out;
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
      std::filesystem::path(testing::tests_source_dir()) / "fixtures" / "journal-v1";
  std::filesystem::create_directories(dir.sub("data"));
  std::filesystem::copy(fixture, dir.sub("data/journal"), std::filesystem::copy_options::recursive);
  CliRun verify = annals("verify --data " + dir.sub("data"));
  ASSERT_EQ(verify.exit_code, 0) << verify.out;
  EXPECT_EQ(verify.out.rfind("ok: 27 events", 0), 0u) << verify.out;
}

// The raw value of `org` in the journal's keys family; empty when none.
std::string stored_key_entry(const std::string& journal_dir, const std::string& org) {
  RawJournal raw(journal_dir, RawJournal::Mode::kReadOnly);
  EXPECT_TRUE(raw.opened());
  if (!raw.opened()) return "";
  std::string value;
  rocksdb::Status s = raw.db()->Get(rocksdb::ReadOptions(), raw.handle(6), org, &value);
  return s.ok() ? value : "";
}

TEST(Cli, VerifyFailsWhenAnOrgWithSealedSecretsLostItsKey) {
  TempDir dir;
  const std::string data = dir.sub("data");
  ASSERT_NO_FATAL_FAILURE(verified_demo(data, 100, "4 orgs with sealed secrets"));
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
