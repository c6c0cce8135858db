#include "annals/status.h"

#include <gtest/gtest.h>

#include "annals/clock.h"
#include "core/validate.h"

namespace annals {
namespace {

TEST(Status, OkByDefault) {
  Status s;
  EXPECT_TRUE(s.is_ok());
  EXPECT_EQ(s.code(), Code::kOk);
  EXPECT_EQ(s.to_string(), "OK");
}

TEST(Status, ConflictNamesItsRule) {
  Status s = Status::conflict("token.prefix", "token.prefix 'abc' is already taken");
  EXPECT_FALSE(s.is_ok());
  EXPECT_EQ(s.subject(), "token.prefix");
  EXPECT_FALSE(s.retryable());
  EXPECT_EQ(s.to_string(), "Conflict: token.prefix 'abc' is already taken [rule token.prefix]");
}

TEST(Status, RetryableCodes) {
  EXPECT_TRUE(Status::concurrency_conflict("x").retryable());
  EXPECT_TRUE(Status::unavailable("x").retryable());
  EXPECT_TRUE(Status::timed_out("x").retryable());
  EXPECT_FALSE(Status::invalid_argument("f", "x").retryable());
  EXPECT_FALSE(Status::corruption("x").retryable());
  EXPECT_FALSE(Status::not_found("x").retryable());
}

TEST(Status, WithContextKeepsCodeAndSubject) {
  Status s = Status::invalid_argument("name", "name is empty").with_context("create token");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.subject(), "name");
  EXPECT_EQ(s.message(), "create token: name is empty");
}

TEST(Result, HoldsValueOrStatus) {
  Result<int> good = 7;
  ASSERT_TRUE(good.is_ok());
  EXPECT_EQ(*good, 7);
  Result<int> bad = Status::not_found("nope");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), Code::kNotFound);
}

TEST(ValidateOrgId, AcceptsTheAllowedAlphabet) {
  EXPECT_TRUE(validate_org_id("default").is_ok());
  EXPECT_TRUE(validate_org_id("Org_1.eu-west").is_ok());
  EXPECT_TRUE(validate_org_id(std::string(64, 'a')).is_ok());
}

TEST(ValidateOrgId, RefusesEmptyLongAndForeignCharacters) {
  for (std::string bad :
       {std::string(), std::string(65, 'a'), std::string("a b"), std::string("a/b"),
        std::string("o'rg"), std::string("org%"), std::string("org;DROP"),
        std::string("\xc3\xa9t\xc3\xa9"), std::string("a\0b", 3)}) {
    Status s = validate_org_id(bad);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << "accepted '" << bad << "'";
    EXPECT_EQ(s.subject(), "org_id");
  }
}

TEST(ValidateText, ChecksSizeNulAndUtf8) {
  EXPECT_TRUE(validate_text("f", "héllo 'quoted' %_ 🎉", {100}).is_ok());
  EXPECT_EQ(validate_text("f", "", {10}).code(), Code::kInvalidArgument);
  EXPECT_TRUE(validate_text("f", "", {10, true}).is_ok());
  EXPECT_EQ(validate_text("f", std::string(11, 'x'), {10}).code(), Code::kInvalidArgument);
  EXPECT_EQ(validate_text("f", std::string("a\0b", 3), {10}).code(), Code::kInvalidArgument);
  EXPECT_EQ(validate_text("f", "\xff\xfe", {10}).code(), Code::kInvalidArgument);
  EXPECT_EQ(validate_text("f", "\xc0\xaf", {10}).code(), Code::kInvalidArgument);  // overlong '/'
  EXPECT_EQ(validate_text("f", "\xed\xa0\x80", {10}).code(), Code::kInvalidArgument);  // surrogate
  EXPECT_EQ(validate_text("f", "\xe2\x82", {10}).code(), Code::kInvalidArgument);      // truncated
}

TEST(ValidateEnum, ListsTheAllowedValues) {
  EXPECT_TRUE(validate_enum("status", "active", {"active", "inactive"}).is_ok());
  Status s = validate_enum("status", "Active", {"active", "inactive"});
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("active, inactive"), std::string::npos);
}

TEST(Clock, ManualClockMovesOnlyWhenTold) {
  ManualClock clock(from_micros(1'700'000'000'000'000));
  EXPECT_EQ(to_micros(clock.now()), 1'700'000'000'000'000);
  clock.advance(Micros(5));
  EXPECT_EQ(to_micros(clock.now()), 1'700'000'000'000'005);
  EXPECT_EQ(format_timestamp(from_micros(1'700'000'000'000'005)), "2023-11-14T22:13:20.000005Z");
}

}  // namespace
}  // namespace annals
