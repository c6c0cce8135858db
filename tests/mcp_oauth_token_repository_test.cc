// McpAuthRepository, OAuth tokens (mcp_oauth_tokens): create and get per
// user, the latest token of a config, updates that keep, set or clear the
// secrets, and deletes of one token, a user's or a config's. Over a real
// Store (RocksDB journal; SQLite or PostgreSQL read tables) with a frozen
// clock.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "annals/clock.h"
#include "annals/status.h"
#include "repositories/mcp_auth_repository.h"
#include "tests/conformance_helpers.h"
#include "tests/mcp_auth_repository_fixture.h"

namespace annals::repositories {
namespace {

using namespace std::chrono_literals;
using testing::expect_status;
using Secret = SecretChange;

const Timestamp kStart = testing::kFixtureStart;

class McpOAuthRepositoryTest : public McpAuthRepositoryTest {};

// --- Tokens ------------------------------------------------------------------------

TEST_P(McpOAuthRepositoryTest, CreateTokenNeedsAConfigOfTheOrgAndGetIsPerUser) {
  ASSERT_OK(repo().create_oauth_config("org-a", new_config("cfg-1", "A")));
  EXPECT_CODE(repo().create_oauth_token("org-a", new_token("t1", "cfg-404")), Code::kNotFound);
  EXPECT_CODE(repo().create_oauth_token("org-b", new_token("t1", "cfg-1")), Code::kNotFound);
  EXPECT_EQ(head(), 1u);

  NewMcpOAuthToken t = new_token("t1", "cfg-1");
  clock_.advance(2s);
  auto created = repo().create_oauth_token("org-a", t);
  ASSERT_OK(created);
  EXPECT_EQ(*created, expected_token("org-a", t, kStart + 2s));
  NewMcpOAuthToken bare = new_token("t2", "cfg-1", "user-2");
  bare.refresh_token.reset();
  bare.scopes_granted.reset();
  bare.expires_at.reset();
  auto bare_created = repo().create_oauth_token("org-a", bare);
  ASSERT_OK(bare_created);
  EXPECT_EQ(*bare_created, expected_token("org-a", bare, kStart + 2s));
  auto secrets = repo().get_oauth_token_secrets("org-a", "user-2", "t2");
  ASSERT_OK(secrets);
  EXPECT_EQ(*secrets, (McpOAuthTokenSecrets{"ACCESS-t2", std::nullopt}));

  auto got = repo().get_oauth_token("org-a", "user-1", "t1");
  ASSERT_OK(got);
  EXPECT_EQ(*got, *created);
  EXPECT_CODE(repo().get_oauth_token("org-a", "user-2", "t1"), Code::kNotFound);
  EXPECT_CODE(repo().get_oauth_token("org-b", "user-1", "t1"), Code::kNotFound);
  EXPECT_CODE(repo().get_oauth_bearer("org-a", "user-2", "t1"), Code::kNotFound);
  EXPECT_CODE(repo().get_oauth_token_secrets("org-b", "user-1", "t1"), Code::kNotFound);

  // A retry is a no-op; another token with the id conflicts.
  const auto guard = nothing_appended("a retry or another token with the id");
  ASSERT_OK(repo().create_oauth_token("org-a", t));
  NewMcpOAuthToken other = t;
  other.access_token = "different";
  expect_status(repo().create_oauth_token("org-a", other).status(), Code::kConflict,
                "mcp_oauth_token.id", "same id, other token");
}

TEST_P(McpOAuthRepositoryTest, LatestIsTheNewestTokenOfTheConfigOptionallyOfOneUser) {
  ASSERT_OK(repo().create_oauth_config("default", new_config("cfg-1", "A")));
  ASSERT_OK(repo().create_oauth_config("default", new_config("cfg-2", "B")));
  EXPECT_CODE(repo().latest_oauth_token("default", "cfg-1", std::nullopt), Code::kNotFound);
  ASSERT_OK(repo().create_oauth_token("default", new_token("t1", "cfg-1", "user-1")));
  clock_.advance(1s);
  ASSERT_OK(repo().create_oauth_token("default", new_token("t2", "cfg-1", "user-2")));
  ASSERT_OK(repo().create_oauth_token("default", new_token("t3", "cfg-1", "user-1")));  // same µs
  clock_.advance(1s);
  ASSERT_OK(repo().create_oauth_token("default", new_token("t4", "cfg-2", "user-1")));
  clock_.advance(1s);
  // An update does not make a token newer.
  ASSERT_OK(repo().update_oauth_token("default", "user-2", "t2",
                                      {Secret::keep(), Secret::keep(), "x", std::nullopt}));
  auto any = repo().latest_oauth_token("default", "cfg-1", std::nullopt);
  ASSERT_OK(any);
  EXPECT_EQ(any->id, "t3");
  auto u2 = repo().latest_oauth_token("default", "cfg-1", std::string("user-2"));
  ASSERT_OK(u2);
  EXPECT_EQ(u2->id, "t2");
  EXPECT_EQ(u2->scopes_granted, std::optional<std::string>("x"));
  EXPECT_CODE(repo().latest_oauth_token("default", "cfg-1", std::string("user-3")),
              Code::kNotFound);
  EXPECT_CODE(repo().latest_oauth_token("other", "cfg-1", std::nullopt), Code::kNotFound);
}

TEST_P(McpOAuthRepositoryTest, UpdateKeepsSetsOrClearsTokensAndReplacesScopesAndExpiry) {
  ASSERT_OK(repo().create_oauth_config("default", new_config("cfg-1", "A")));
  NewMcpOAuthToken t = new_token("t1", "cfg-1");
  ASSERT_OK(repo().create_oauth_token("default", t));
  clock_.advance(10s);
  auto kept = repo().update_oauth_token("default", "user-1", "t1",
                                        {Secret::keep(), Secret::keep(), std::nullopt, kStart});
  ASSERT_OK(kept);
  McpOAuthToken want = expected_token("default", t, kStart);
  want.scopes_granted.reset();
  want.expires_at = kStart;
  want.updated_at = kStart + 10s;
  EXPECT_EQ(*kept, want);
  auto s = repo().get_oauth_token_secrets("default", "user-1", "t1");
  ASSERT_OK(s);
  EXPECT_EQ(*s, (McpOAuthTokenSecrets{"ACCESS-t1", "REFRESH-t1"}));

  clock_.advance(10s);
  auto cleared = repo().update_oauth_token(
      "default", "user-1", "t1", {Secret::set("NEW"), Secret::clear(), "a b", std::nullopt});
  ASSERT_OK(cleared);
  EXPECT_FALSE(cleared->has_refresh_token);
  EXPECT_EQ(cleared->expires_at, std::nullopt);
  EXPECT_EQ(cleared->updated_at, kStart + 20s);
  s = repo().get_oauth_token_secrets("default", "user-1", "t1");
  ASSERT_OK(s);
  EXPECT_EQ(*s, (McpOAuthTokenSecrets{"NEW", std::nullopt}));

  auto set = repo().update_oauth_token("default", "user-1", "t1",
                                       {Secret::keep(), Secret::set("R2"), "a b", std::nullopt});
  ASSERT_OK(set);
  EXPECT_TRUE(set->has_refresh_token);
  s = repo().get_oauth_token_secrets("default", "user-1", "t1");
  ASSERT_OK(s);
  EXPECT_EQ(*s, (McpOAuthTokenSecrets{"NEW", "R2"}));
  auto got = repo().get_oauth_token("default", "user-1", "t1");
  ASSERT_OK(got);
  EXPECT_EQ(*got, *set);

  McpOAuthTokenUpdate u{Secret::keep(), Secret::keep(), std::nullopt, std::nullopt};
  EXPECT_REFUSED(repo().update_oauth_token("default", "user-2", "t1", u), Code::kNotFound, "");
  EXPECT_REFUSED(repo().update_oauth_token("other", "user-1", "t1", u), Code::kNotFound, "");
  EXPECT_REFUSED(repo().update_oauth_token("default", "user-1", "t404", u), Code::kNotFound, "");
}

TEST_P(McpOAuthRepositoryTest, DeletesRemoveOneTokenAllOfAConfigOrAllOfAUserAndCount) {
  ASSERT_OK(repo().create_oauth_config("default", new_config("cfg-1", "A")));
  ASSERT_OK(repo().create_oauth_config("default", new_config("cfg-2", "B")));
  using Row = std::tuple<std::string, std::string, std::string>;
  // clang-format off
  for (const auto& [id, cfg, user] : std::vector<Row>{{"t1", "cfg-1", "u1"}, {"t2", "cfg-1", "u1"},
       {"t3", "cfg-1", "u2"}, {"t4", "cfg-1", "u3"}, {"t5", "cfg-2", "u1"}, {"t6", "cfg-1", "u2"}}) {
    // clang-format on
    ASSERT_OK(repo().create_oauth_token("default", new_token(id, cfg, user)));
  }
  EXPECT_REFUSED(repo().delete_oauth_token("default", "u2", "t1"), Code::kNotFound, "");
  EXPECT_REFUSED(repo().delete_oauth_token("other", "u1", "t1"), Code::kNotFound, "");
  EXPECT_REFUSED(repo().delete_oauth_tokens_of_config("default", "cfg-404"), Code::kNotFound, "");
  EXPECT_REFUSED(repo().delete_oauth_tokens_of_config_for_user("other", "cfg-1", "u1"),
                 Code::kNotFound, "");

  ASSERT_OK(repo().delete_oauth_token("default", "u1", "t1"));
  EXPECT_CODE(repo().get_oauth_token("default", "u1", "t1"), Code::kNotFound);
  EXPECT_CODE(repo().delete_oauth_token("default", "u1", "t1"), Code::kNotFound);

  const uint64_t before = head();
  auto n = repo().delete_oauth_tokens_of_config_for_user("default", "cfg-1", "u2");
  ASSERT_OK(n);
  EXPECT_EQ(*n, 2);
  EXPECT_EQ(head(), before + 2);  // one append of two events
  auto none = repo().delete_oauth_tokens_of_config_for_user("default", "cfg-1", "u2");
  ASSERT_OK(none);
  EXPECT_EQ(*none, 0);
  EXPECT_EQ(head(), before + 2);
  EXPECT_EQ(tokens_of("default", "cfg-1"), 2);  // t2 (u1) and t4 (u3)

  auto all = repo().delete_oauth_tokens_of_config("default", "cfg-1");
  ASSERT_OK(all);
  EXPECT_EQ(*all, 2);
  EXPECT_EQ(tokens_of("default", "cfg-1"), 0);
  EXPECT_EQ(tokens_of("default", "cfg-2"), 1);
  auto zero = repo().delete_oauth_tokens_of_config("default", "cfg-1");
  ASSERT_OK(zero);
  EXPECT_EQ(*zero, 0);
  ASSERT_OK(repo().delete_oauth_config("default", "cfg-1"));
}

INSTANTIATE_ON_BOTH_BACKENDS(McpOAuthRepositoryTest);

}  // namespace
}  // namespace annals::repositories
