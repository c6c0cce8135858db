// annals keys rotate, run the way an operator does.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <random>
#include <thread>

#include "cli/master_key.h"
#include "journal/journal.h"
#include "repositories/secrets.h"
#include "tests/cli_support.h"
#include "tests/test_support.h"

namespace annals {
namespace {

using testing::annals;
using testing::CliRun;
using testing::TempDir;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(CliKeys, RotateRewrapsEveryOrgKeyAndTheOldKeyOpensNothing) {
  TempDir dir;
  const std::string data = dir.sub("data");
  ASSERT_EQ(annals("demo --commands 40 --data " + data).exit_code, 0);
  const std::string old_key = read_file(data + "/demo-master.key").substr(0, 64);
  ASSERT_EQ(old_key.size(), 64u);
  const std::string new_key(64, 'a');
  const std::string old_env = "ANNALS_MASTER_KEY=" + old_key;
  const std::string new_env = "ANNALS_MASTER_KEY=" + new_key;

  // Refused, nothing changed: a wrong current key, a missing or malformed new one.
  CliRun wrong = annals("keys rotate --data " + data, "ANNALS_MASTER_KEY=" + std::string(64, 'b') +
                                                          " ANNALS_NEW_MASTER_KEY=" + new_key);
  EXPECT_EQ(wrong.exit_code, 1) << wrong.out;
  EXPECT_NE(wrong.out.find("does not open"), std::string::npos) << wrong.out;
  for (const std::string& env :
       {old_env, old_env + " ANNALS_NEW_MASTER_KEY=xyz",
        old_env + " ANNALS_NEW_MASTER_KEY=" + std::string(63, 'a') + "g"}) {
    CliRun usage = annals("keys rotate --data " + data, env);
    EXPECT_EQ(usage.exit_code, 2) << env << ": " << usage.out;
    EXPECT_NE(usage.out.find("ANNALS_NEW_MASTER_KEY"), std::string::npos) << usage.out;
  }
  CliRun same = annals("keys rotate --data " + data, old_env + " ANNALS_NEW_MASTER_KEY=" + old_key);
  EXPECT_EQ(same.exit_code, 1) << same.out;
  ASSERT_EQ(annals("demo --commands 10 --data " + data, old_env).exit_code, 0);

  CliRun rotated =
      annals("keys rotate --data " + data, old_env + " ANNALS_NEW_MASTER_KEY=" + new_key);
  ASSERT_EQ(rotated.exit_code, 0) << rotated.out;
  EXPECT_NE(rotated.out.find("org data keys re-wrapped"), std::string::npos) << rotated.out;

  // The demo opens its orgs' secrets (the app instance's client secret) with
  // the new key only.
  CliRun with_new = annals("demo --commands 10 --data " + data, new_env);
  ASSERT_EQ(with_new.exit_code, 0) << with_new.out;
  EXPECT_NE(with_new.out.find("secret decrypts"), std::string::npos) << with_new.out;
  CliRun with_old = annals("demo --commands 10 --data " + data, old_env);
  EXPECT_EQ(with_old.exit_code, 1) << with_old.out;
  EXPECT_NE(with_old.out.find("master key does not open"), std::string::npos) << with_old.out;
  EXPECT_EQ(annals("verify --data " + data).exit_code, 0);
}

// Starts `annals keys rotate --data DIR` from `current` to `next` (hex);
// its pid.
pid_t start_rotation(const std::string& data, const std::string& current, const std::string& next) {
  std::string env_current = "ANNALS_MASTER_KEY=" + current;
  std::string env_next = "ANNALS_NEW_MASTER_KEY=" + next;
  std::string bin = ANNALS_BIN;
  std::vector<char*> argv = {bin.data(),
                             const_cast<char*>("keys"),
                             const_cast<char*>("rotate"),
                             const_cast<char*>("--data"),
                             const_cast<char*>(data.c_str()),
                             nullptr};
  std::vector<char*> envp = {env_current.data(), env_next.data(), nullptr};
  pid_t pid = fork();
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) {
      dup2(null, 1);
      dup2(null, 2);
    }
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  return pid;
}

// How many of the journal's org keys `master_hex` opens, of how many.
std::pair<size_t, size_t> keys_opened_by(const std::string& journal_dir,
                                         const std::string& master_hex) {
  auto journal = journal::Journal::open_rocksdb(journal_dir, {});
  EXPECT_OK(journal.status());
  if (!journal.is_ok()) return {0, 0};
  auto state = (*journal)->snapshot_state();
  EXPECT_OK(state.status());
  auto master = cli::master_key_from_hex("master", master_hex);
  EXPECT_OK(master.status());
  if (!state.is_ok() || !master.is_ok()) return {0, 0};
  auto secrets = repositories::Secrets::create(**journal, *master);
  EXPECT_OK(secrets.status());
  if (!secrets.is_ok()) return {0, 0};
  size_t opened = 0;
  for (const auto& [org, wrapped] : state->data_keys) {
    // Sealing needs the org's data key unwrapped; it writes nothing.
    if ((*secrets)->seal(org, "probe", "x").is_ok()) ++opened;
  }
  return {opened, state->data_keys.size()};
}

// A rotation killed at any moment leaves every org key under the old master
// key or every one under the new: never some of each.
TEST(CliKeys, ARotationKilledAtAnyMomentLeavesAllOldOrAllNew) {
  TempDir dir;
  const std::string data = dir.sub("data");
  ASSERT_EQ(annals("demo --orgs 8 --commands 200 --data " + data).exit_code, 0);
  const std::string a = read_file(data + "/demo-master.key").substr(0, 64);
  const std::string b(64, 'b');
  const std::string journal_dir = data + "/journal";
  ASSERT_EQ(keys_opened_by(journal_dir, a).first, 8u);

  // One rotation run to its end gives how long one takes here; the kills
  // then fall anywhere in that time (opening, re-wrapping, purging).
  auto started = std::chrono::steady_clock::now();
  pid_t first = start_rotation(data, a, b);
  ASSERT_GT(first, 0);
  int first_status = 0;
  ASSERT_EQ(waitpid(first, &first_status, 0), first);
  ASSERT_TRUE(WIFEXITED(first_status) && WEXITSTATUS(first_status) == 0) << first_status;
  const auto full = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - started);
  ASSERT_EQ(keys_opened_by(journal_dir, b).first, 8u);

  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int64_t> kill_after_us(0, full.count());
  std::string current = b;
  int killed = 0;
  int flipped = 0;
  for (int round = 0; round < 16; ++round) {
    const std::string next = current == a ? b : a;
    pid_t pid = start_rotation(data, current, next);
    ASSERT_GT(pid, 0);
    const int64_t delay = kill_after_us(rng);
    std::this_thread::sleep_for(std::chrono::microseconds(delay));
    kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status)) {
      ++killed;
    } else {
      ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
          << "round " << round << ": the rotation failed (status " << status << ")";
    }
    auto [by_current, total] = keys_opened_by(journal_dir, current);
    auto [by_next, total_again] = keys_opened_by(journal_dir, next);
    ASSERT_EQ(total, 8u);
    ASSERT_EQ(total_again, 8u);
    SCOPED_TRACE("round " + std::to_string(round) + ", killed after " + std::to_string(delay) +
                 " us of " + std::to_string(full.count()));
    ASSERT_TRUE((by_current == 8 && by_next == 0) || (by_current == 0 && by_next == 8))
        << "old key opens " << by_current << ", new key " << by_next << " of 8";
    if (by_next == 8) {
      current = next;
      ++flipped;
    }
  }
  std::cout << "a rotation takes " << full.count() << " us; " << killed << " of 16 killed, "
            << flipped << " took effect\n";
  EXPECT_EQ(annals("verify --data " + data).exit_code, 0);
}

}  // namespace
}  // namespace annals
