// TokenRepository on bad input and odd values: every field's limits, refused
// input naming its field and appending nothing, page bounds, and hostile but
// valid names round-tripping byte for byte.
#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "annals/status.h"
#include "core/validate.h"
#include "tests/conformance_suites.h"
#include "tests/token_repository_fixture.h"

namespace annals::repositories {
namespace {

using namespace token_tests;
using testing::expect_invalid;

class TokenInputTest : public TokenRepositoryTest {};

TEST_P(TokenInputTest, ListRefusesPageZeroAndOutOfRangePageSizes) {
  ASSERT_OK(tokens().create("default", new_token("tok-1", "pfx_1")));
  expect_invalid(tokens().list("default", "user-1", 0, 10).status(), "page", "page 0");
  expect_invalid(tokens().list("default", "user-1", -1, 10).status(), "page", "page -1");
  expect_invalid(tokens().list("default", "user-1", 1, 0).status(), "per_page", "per_page 0");
  expect_invalid(tokens().list("default", "user-1", 1, -5).status(), "per_page", "per_page -5");
  expect_invalid(tokens().list("default", "user-1", 1, kMaxPerPage + 1).status(), "per_page",
                 "per_page over the maximum");
  expect_invalid(tokens().list("", "user-1", 1, 10).status(), "org_id", "empty org");
  expect_invalid(tokens().list("default", "", 1, 10).status(), "user_id", "empty user");
}

// The OFFSET (page - 1) * per_page must not overflow into page 1.
TEST_P(TokenInputTest, PageFarPastTheEndIsEmptyEvenWhenItsOffsetWouldOverflow) {
  for (int i = 1; i <= 3; ++i) {
    ASSERT_OK(tokens().create("default",
                              new_token("tok-" + std::to_string(i), "pfx_" + std::to_string(i))));
  }
  EXPECT_EMPTY_PAGE(tokens().list("default", "user-1", 1'000'000, 3), 3);

  // (page - 1) * per_page is past INT64_MAX here. Refusing the page or
  // returning no rows are both right; returning the first page is not.
  const int64_t huge = std::numeric_limits<int64_t>::max() / 3 + 2;
  auto overflow = tokens().list("default", "user-1", huge, 3);
  if (overflow.is_ok()) {
    EXPECT_EQ(ids_of(overflow->rows), std::vector<std::string>{});
    EXPECT_EQ(overflow->total, 3);
  } else {
    EXPECT_EQ(overflow.status().code(), Code::kInvalidArgument) << overflow.status().to_string();
    EXPECT_EQ(overflow.status().subject(), "page");
  }
}

TEST_P(TokenInputTest, BadInputIsRefusedNamingTheFieldAndAppendsNothing) {
  ASSERT_OK(tokens().create("default", new_token("tok-0", "pfx_0")));
  const auto guard = nothing_appended();

  using T = NewApiToken;
  const auto rows = testing::rows_of(
      testing::bad_identifier("id", &T::id, kMaxTokenIdBytes),
      testing::bad_text("user_id", &T::user_id, kMaxUserIdBytes),
      testing::bad_text("name", &T::name, kMaxTokenNameBytes, testing::Empty::kAllowed),
      testing::bad_identifier("token_prefix", &T::token_prefix, kMaxTokenPrefixBytes),
      testing::bad_text("token_hash", &T::token_hash, kMaxTokenHashBytes),
      testing::bad_text("scopes", &T::scopes, kMaxScopesBytes),
      testing::BadInputs<T>{
          {"status 7", [](T& t) { t.status = static_cast<TokenStatus>(7); }, "status"}});
  testing::expect_bad_inputs_refused(
      journal(), "create", new_token("tok-1", "pfx_1"), rows,
      [&](const std::string& org, const T& t) { return tokens().create(org, t).status(); });
  EXPECT_CODE(tokens().get_by_prefix("pfx_1"), Code::kNotFound);

  // update, get and get_by_prefix check their input the same way.
  auto upd = [&](std::string org, std::string user, std::string id, std::string name,
                 TokenStatus status) {
    return tokens().update(org, user, id, name, status).status();
  };
  expect_invalid(upd("", "user-1", "tok-0", "x", TokenStatus::kActive), "org_id", "update org");
  expect_invalid(upd("default", "", "tok-0", "x", TokenStatus::kActive), "user_id", "update user");
  expect_invalid(upd("default", "user-1", "", "x", TokenStatus::kActive), "id", "update id");
  expect_invalid(upd("default", "user-1", "tok-0", "\xff\xfe", TokenStatus::kActive), "name",
                 "update name not UTF-8");
  expect_invalid(upd("default", "user-1", "tok-0", std::string(256, 'n'), TokenStatus::kActive),
                 "name", "update long name");
  expect_invalid(upd("default", "user-1", "tok-0", "x", static_cast<TokenStatus>(7)), "status",
                 "update status 7");
  auto unchanged = tokens().get("default", "user-1", "tok-0");
  ASSERT_OK(unchanged);
  EXPECT_EQ(*unchanged, expected_row("default", new_token("tok-0", "pfx_0"), kStart));

  expect_invalid(tokens().get("a/b", "user-1", "tok-0").status(), "org_id", "get org");
  expect_invalid(tokens().get("default", "", "tok-0").status(), "user_id", "get user");
  expect_invalid(tokens().get("default", "user-1", "tok 0").status(), "id", "get id");
  expect_invalid(tokens().get_by_prefix("").status(), "token_prefix", "empty prefix");
  expect_invalid(tokens().get_by_prefix("pfx' OR '1'='1").status(), "token_prefix",
                 "prefix with SQL");
}

TEST_P(TokenInputTest, FieldsAtTheirSizeLimitsAreAccepted) {
  NewApiToken t;
  t.id = std::string(kMaxTokenIdBytes, 'i');
  t.user_id = std::string(kMaxUserIdBytes, 'u');
  t.name = std::string(kMaxTokenNameBytes, 'n');
  t.token_prefix = std::string(kMaxTokenPrefixBytes, 'p');
  t.token_hash = std::string(kMaxTokenHashBytes, 'h');
  t.scopes = std::string(kMaxScopesBytes, 's');
  const std::string org(kMaxOrgIdLength, 'o');
  auto created = tokens().create(org, t);
  ASSERT_OK(created);
  EXPECT_EQ(*created, expected_row(org, t, kStart));
  auto got = tokens().get_by_prefix(t.token_prefix);
  ASSERT_OK(got);
  EXPECT_EQ(*got, expected_row(org, t, kStart));
}

TEST_P(TokenInputTest, EmptyNameIsAllowed) {
  NewApiToken t = new_token("tok-1", "pfx_1");
  t.name = "";
  auto created = tokens().create("default", t);
  ASSERT_OK(created);
  EXPECT_EQ(created->name, "");
  auto got = tokens().get("default", "user-1", "tok-1");
  ASSERT_OK(got);
  EXPECT_EQ(*got, expected_row("default", t, kStart));
}

TEST_P(TokenInputTest, HostileButValidNamesRoundTripByteForByte) {
  const auto names = testing::hostile_text("api_tokens", {"tab\there"});
  int n = 0;
  for (const auto& name : names) {
    NewApiToken t = new_token("tok-" + std::to_string(n), "pfx_" + std::to_string(n));
    t.name = name;
    auto created = tokens().create("default", t);
    SCOPED_TRACE(name);
    ASSERT_OK(created);
    EXPECT_EQ(created->name, name);
    auto got = tokens().get("default", "user-1", t.id);
    ASSERT_OK(got);
    EXPECT_EQ(got->name, name);
    ++n;
  }
  // And through update.
  for (const auto& name : names) {
    auto updated = tokens().update("default", "user-1", "tok-0", name, TokenStatus::kActive);
    SCOPED_TRACE(name);
    ASSERT_OK(updated);
    EXPECT_EQ(updated->name, name);
    auto got = tokens().get_by_prefix("pfx_0");
    ASSERT_OK(got);
    EXPECT_EQ(got->name, name);
  }
  auto page = tokens().list("default", "user-1", 1, 100);
  ASSERT_OK(page);
  EXPECT_EQ(page->total, static_cast<int64_t>(names.size()));
}

INSTANTIATE_ON_BOTH_BACKENDS(TokenInputTest);

}  // namespace
}  // namespace annals::repositories
