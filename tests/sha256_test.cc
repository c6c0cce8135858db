// SHA-256 as lower-case hex, whole or in parts.
#include "core/sha256.h"

#include <gtest/gtest.h>

namespace annals {
namespace {

TEST(Sha256, KnownDigests) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(std::string_view("a\0b", 3)), sha256_hex(std::string("a\0b", 3)));
  EXPECT_NE(sha256_hex(std::string_view("a\0b", 3)), sha256_hex("a"));
}

TEST(Sha256, PartsDigestAsTheWhole) {
  Sha256 parts;
  parts.update("a");
  parts.update("");
  parts.update("bc");
  EXPECT_EQ(parts.hex(), sha256_hex("abc"));
}

}  // namespace
}  // namespace annals
