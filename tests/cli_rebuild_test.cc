// annals rebuild / replay / status as an operator runs them, including a
// rebuild killed with SIGKILL part-way.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>

#include "tests/cli_support.h"
#include "tests/test_support.h"

namespace annals {
namespace {

using annals::testing::annals;
using annals::testing::CliRun;
using annals::testing::file_contents;
using annals::testing::TempDir;

TEST(CliRebuild, DryRunChecksRebuildsAndReportsLag) {
  TempDir dir;
  const std::string data = dir.sub("data");
  ASSERT_EQ(annals("demo --data " + data + " --commands 400").exit_code, 0);
  std::string before = file_contents(data + "/read.sqlite");

  CliRun dry = annals("rebuild --dry-run --data " + data);
  ASSERT_EQ(dry.exit_code, 0) << dry.out;
  EXPECT_NE(dry.out.find("nothing is changed"), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("read.sqlite.rebuild"), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("rename"), std::string::npos) << dry.out;
  EXPECT_FALSE(std::filesystem::exists(data + "/read.sqlite.rebuild"));
  EXPECT_EQ(file_contents(data + "/read.sqlite"), before);

  CliRun check = annals("rebuild --check --data " + data);
  ASSERT_EQ(check.exit_code, 0) << check.out;
  EXPECT_NE(check.out.find("identical"), std::string::npos) << check.out;
  EXPECT_NE(check.out.find("api_tokens"), std::string::npos) << check.out;

  CliRun rebuild = annals("rebuild --data " + data, "ANNALS_PROGRESS_INTERVAL=0");
  ASSERT_EQ(rebuild.exit_code, 0) << rebuild.out;
  EXPECT_NE(rebuild.out.find("swapped in"), std::string::npos) << rebuild.out;
  EXPECT_NE(rebuild.out.find("replay: done"), std::string::npos) << rebuild.out;
  EXPECT_FALSE(std::filesystem::exists(data + "/read.sqlite.rebuild"));

  CliRun status = annals("status --data " + data);
  ASSERT_EQ(status.exit_code, 0) << status.out;
  EXPECT_NE(status.out.find("lag seconds"), std::string::npos) << status.out;
  CliRun verify = annals("verify --data " + data, "ANNALS_PROGRESS_INTERVAL=0");
  ASSERT_EQ(verify.exit_code, 0) << verify.out;
  EXPECT_NE(verify.out.find("verify: done"), std::string::npos) << verify.out;
  CliRun quiet = annals("verify --data " + data);  // quick work in a log: no progress lines
  ASSERT_EQ(quiet.exit_code, 0) << quiet.out;
  EXPECT_EQ(quiet.out.rfind("ok: ", 0), 0u) << quiet.out;

  CliRun replay = annals("replay --projection tokens --data " + data);
  ASSERT_EQ(replay.exit_code, 0) << replay.out;
  EXPECT_NE(replay.out.find("replayed"), std::string::npos) << replay.out;
  EXPECT_EQ(annals("rebuild --check --data " + data).exit_code, 0);
}

TEST(CliRebuild, BadArgumentsAreRefused) {
  TempDir dir;
  const std::string data = dir.sub("data");
  ASSERT_EQ(annals("demo --data " + data + " --commands 50").exit_code, 0);
  EXPECT_EQ(annals("rebuild --dry-run --check --data " + data).exit_code, 2);
  EXPECT_EQ(annals("rebuild --batch 0 --data " + data).exit_code, 2);
  EXPECT_EQ(annals("rebuild --batch lots --data " + data).exit_code, 2);
  EXPECT_EQ(annals("replay --data " + data).exit_code, 2);
  CliRun unknown = annals("replay --projection 'nope; DROP TABLE api_tokens' --data " + data);
  EXPECT_EQ(unknown.exit_code, 1) << unknown.out;
  EXPECT_NE(unknown.out.find("tokens"), std::string::npos) << unknown.out;  // lists the real ones
  EXPECT_EQ(annals("replay --projection tokens --from 0 --data " + data).exit_code, 2);
  CliRun missing = annals("rebuild --data " + dir.sub("nothing-here"));
  EXPECT_EQ(missing.exit_code, 1) << missing.out;
  EXPECT_EQ(annals("rebuild --check --data " + data).exit_code, 0);
}

// SIGKILL in the middle of the replay: the live database goes on serving,
// and the next rebuild resumes from the partial one's checkpoint.
TEST(CliRebuild, ARebuildKilledMidwayLeavesTheLiveSchemaAndResumes) {
  TempDir dir;
  const std::string data = dir.sub("data");
  ASSERT_EQ(annals("demo --data " + data + " --commands 3000").exit_code, 0);
  std::string live_before = file_contents(data + "/read.sqlite");

  int out[2];
  ASSERT_EQ(pipe(out), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    dup2(out[1], STDERR_FILENO);
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    setenv("ANNALS_PROGRESS_INTERVAL", "0", 1);
    execl(ANNALS_BIN, ANNALS_BIN, "rebuild", "--batch", "20", "--data", data.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  // Kill it once it reports a position past the start of the replay.
  std::string seen;
  char buf[512];
  bool killed = false;
  ssize_t n;
  while ((n = read(out[0], buf, sizeof buf)) > 0) {
    seen.append(buf, static_cast<size_t>(n));
    size_t lines = 0;
    for (size_t at = seen.find("replay: position"); at != std::string::npos;
         at = seen.find("replay: position", at + 1)) {
      ++lines;
    }
    if (lines >= 10) {
      kill(child, SIGKILL);
      killed = true;
      break;
    }
  }
  close(out[0]);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(killed) << "the rebuild finished before it could be killed:\n" << seen;
  ASSERT_TRUE(WIFSIGNALED(status));

  EXPECT_TRUE(std::filesystem::exists(data + "/read.sqlite.rebuild"));
  EXPECT_EQ(file_contents(data + "/read.sqlite"), live_before);
  CliRun verify = annals("verify --data " + data);
  ASSERT_EQ(verify.exit_code, 0) << verify.out;
  CliRun check = annals("rebuild --check --data " + data);
  ASSERT_EQ(check.exit_code, 0) << check.out;

  CliRun dry = annals("rebuild --dry-run --data " + data);
  EXPECT_NE(dry.out.find("resume"), std::string::npos) << dry.out;
  CliRun resumed = annals("rebuild --data " + data);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.out;
  EXPECT_NE(resumed.out.find("resumed"), std::string::npos) << resumed.out;
  EXPECT_EQ(annals("rebuild --check --data " + data).exit_code, 0);
}

TEST(CliRebuild, RebuildCheckAndReplayOnPostgres) {
  TempDir dir;
  std::unique_ptr<testing::TestDatabase> db;
  ANNALS_SETUP_BACKEND(db, testing::Backend::kPostgres, dir);
  const std::string data = dir.sub("data");
  const std::string url = "'" + db->url() + "'";
  ASSERT_EQ(annals("demo --data " + data + " --database " + url + " --commands 300").exit_code, 0);

  CliRun dry = annals("rebuild --dry-run --data " + data + " --database " + url);
  ASSERT_EQ(dry.exit_code, 0) << dry.out;
  EXPECT_NE(dry.out.find("annals_rebuild"), std::string::npos) << dry.out;
  CliRun rebuild = annals("rebuild --data " + data + " --database " + url);
  ASSERT_EQ(rebuild.exit_code, 0) << rebuild.out;
  CliRun check = annals("rebuild --check --data " + data + " --database " + url);
  ASSERT_EQ(check.exit_code, 0) << check.out;
  CliRun replay = annals("replay --projection mcp --data " + data + " --database " + url);
  ASSERT_EQ(replay.exit_code, 0) << replay.out;

  // The runtime role may serve, not rebuild.
  const std::string as_query = "'" + db->url_as("annals_query") + "'";
  CliRun refused = annals("rebuild --data " + data + " --database " + as_query);
  EXPECT_EQ(refused.exit_code, 1) << refused.out;
  EXPECT_NE(refused.out.find("superuser"), std::string::npos) << refused.out;
  CliRun status = annals("status --data " + data + " --database " + as_query);
  ASSERT_EQ(status.exit_code, 0) << status.out;
}

}  // namespace
}  // namespace annals
