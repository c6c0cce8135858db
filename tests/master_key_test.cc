// Master keys as an operator gives them: 64 hex digits, nothing else.
#include "cli/master_key.h"

#include <gtest/gtest.h>

#include <set>

#include "tests/test_support.h"

namespace annals::cli {
namespace {

TEST(MasterKey, SixtyFourHexDigitsSpellThirtyTwoBytes) {
  auto lower = master_key_from_hex("KEY", std::string(62, '0') + "ff");
  ASSERT_OK(lower.status());
  ASSERT_EQ(lower->size(), 32u);
  EXPECT_EQ(static_cast<unsigned char>((*lower)[31]), 0xff);
  EXPECT_EQ((*lower)[0], '\0');
  auto upper = master_key_from_hex("KEY", std::string(62, '0') + "FF");
  ASSERT_OK(upper.status());
  EXPECT_EQ(*upper, *lower);
}

TEST(MasterKey, AnythingElseIsRefusedNamingTheKey) {
  const std::string colons = [] {
    std::string s;
    while (s.size() + 3 <= 64) s += "ab:";
    while (s.size() < 64) s += 'a';
    return s;
  }();
  for (const std::string& bad :
       {std::string(), std::string(63, 'a'), std::string(65, 'a'), std::string(63, 'a') + "g",
        std::string(63, 'a') + " ", colons, std::string(32, '\0') + std::string(32, 'a'),
        std::string(64, 'a') + "\n"}) {
    SCOPED_TRACE(bad);
    auto key = master_key_from_hex("ANNALS_MASTER_KEY", bad);
    EXPECT_CODE(key, Code::kInvalidArgument);
    EXPECT_NE(key.status().message().find("ANNALS_MASTER_KEY"), std::string::npos);
  }
}

TEST(MasterKey, NewKeysAreRandomHexThatReadsBack) {
  std::set<std::string> seen;
  for (int i = 0; i < 16; ++i) {
    auto hex = new_master_key_hex();
    ASSERT_OK(hex.status());
    ASSERT_EQ(hex->size(), 64u);
    EXPECT_EQ(hex->find_first_not_of("0123456789abcdef"), std::string::npos) << *hex;
    ASSERT_OK(master_key_from_hex("KEY", *hex).status());
    EXPECT_TRUE(seen.insert(*hex).second) << "a repeated key: " << *hex;
  }
}

}  // namespace
}  // namespace annals::cli
