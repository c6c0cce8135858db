// Base64 both ways; only the canonical encoding decodes.
#include "core/base64.h"

#include <gtest/gtest.h>

namespace annals {
namespace {

TEST(Base64, KnownEncodingsBothWays) {
  const std::pair<std::string, std::string> cases[] = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {std::string("\0\xff", 2), "AP8="}};
  for (const auto& [bytes, text] : cases) {
    EXPECT_EQ(base64_encode(bytes), text);
    auto back = base64_decode(text);
    ASSERT_TRUE(back.has_value()) << text;
    EXPECT_EQ(*back, bytes);
  }
}

TEST(Base64, AnythingButTheCanonicalEncodingIsRefused) {
  for (const std::string& bad :
       std::initializer_list<std::string>{"Zg=", "Zh==", "Zm9", "Zm=v", "Z g==", " Zg==", "Zg==\n",
                                          "Zm9v!AAA", "====", std::string("Zg=\0", 4)}) {
    EXPECT_FALSE(base64_decode(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace annals
