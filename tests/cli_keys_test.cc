// annals keys rotate, run the way an operator does.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

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

}  // namespace
}  // namespace annals
