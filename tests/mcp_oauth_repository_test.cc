// McpAuthRepository, OAuth configs (mcp_oauth_configs), and what configs
// and tokens both take: bad input and hostile text. Over a real Store
// (RocksDB journal; SQLite or PostgreSQL read tables) with a frozen clock.
#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
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
using Pair = std::pair<std::string, std::string>;
using Secret = SecretChange;

const Timestamp kStart = testing::kFixtureStart;

class McpOAuthRepositoryTest : public McpAuthRepositoryTest {};

// --- Configs -----------------------------------------------------------------------

TEST_P(McpOAuthRepositoryTest, CreateConfigReturnsEveryFieldAndNullsStayNull) {
  NewMcpOAuthConfig full = new_config("cfg-1", "Full");
  auto created = repo().create_oauth_config("default", full);
  ASSERT_OK(created);
  EXPECT_EQ(*created, expected_config("default", full, kStart));
  EXPECT_TRUE(created->has_client_secret);
  EXPECT_EQ(created->client_id_issued_at, kIssued);

  NewMcpOAuthConfig minimal = new_config("cfg-2", "Minimal");
  minimal.registration_type = "pre-registered";
  minimal.client_secret.reset();
  minimal.registration_endpoint.reset();
  minimal.registration_access_token.reset();
  minimal.client_id_issued_at.reset();
  minimal.token_endpoint_auth_method.reset();
  minimal.scopes = "";  // empty, not null
  clock_.advance(1s);
  auto min_created = repo().create_oauth_config("default", minimal);
  ASSERT_OK(min_created);
  EXPECT_EQ(*min_created, expected_config("default", minimal, kStart + 1s));
  EXPECT_FALSE(min_created->has_client_secret);
  EXPECT_EQ(min_created->scopes, std::optional<std::string>(""));
  minimal.scopes.reset();
  ASSERT_OK(repo().create_oauth_config("default", [&] {
    auto c = minimal;
    c.id = "cfg-3";
    c.name = "Null scopes";
    return c;
  }()));
  auto got = repo().get_oauth_config("default", "cfg-3");
  ASSERT_OK(got);
  EXPECT_EQ(got->scopes, std::nullopt);

  auto creds = repo().get_oauth_client_credentials("default", "cfg-2");
  ASSERT_OK(creds);
  EXPECT_EQ(*creds, (McpOAuthClientCredentials{"client-cfg-2", std::nullopt}));
  auto rat = repo().get_oauth_registration_access_token("default", "cfg-2");
  ASSERT_OK(rat);
  EXPECT_EQ(*rat, std::nullopt);
  EXPECT_EQ(head(), 3u);
}

TEST_P(McpOAuthRepositoryTest, ConfigSecretsAreSealedAndOpenOnlyThroughTheirCalls) {
  ASSERT_OK(repo().create_oauth_config("default", new_config("cfg-1", "A")));
  ASSERT_OK(repo().create_oauth_token("default", new_token("tok-1", "cfg-1")));
  ASSERT_OK(repo().update_oauth_token(
      "default", "user-1", "tok-1",
      {Secret::set("ACCESS-rotated"), Secret::set("REFRESH-rotated"), "s", std::nullopt}));
  EXPECT_TRUE(journal_contains("client-cfg-1"));  // the scan sees the events' text
  for (const std::string plain : {"CLIENT-SECRET-cfg-1", "REG-TOKEN-cfg-1", "ACCESS-tok-1",
                                  "REFRESH-tok-1", "ACCESS-rotated", "REFRESH-rotated"}) {
    EXPECT_FALSE(journal_contains(plain)) << plain;
    for (const auto& line : dump("default")) {
      EXPECT_EQ(line.find(plain), std::string::npos) << plain << " in " << line;
    }
  }
  auto creds = repo().get_oauth_client_credentials("default", "cfg-1");
  ASSERT_OK(creds);
  EXPECT_EQ(*creds, (McpOAuthClientCredentials{"client-cfg-1", "CLIENT-SECRET-cfg-1"}));
  auto rat = repo().get_oauth_registration_access_token("default", "cfg-1");
  ASSERT_OK(rat);
  EXPECT_EQ(*rat, std::optional<std::string>("REG-TOKEN-cfg-1"));
  auto bearer = repo().get_oauth_bearer("default", "user-1", "tok-1");
  ASSERT_OK(bearer);
  EXPECT_EQ(*bearer, (Pair{"Authorization", "Bearer ACCESS-rotated"}));
  auto secrets = repo().get_oauth_token_secrets("default", "user-1", "tok-1");
  ASSERT_OK(secrets);
  EXPECT_EQ(*secrets, (McpOAuthTokenSecrets{"ACCESS-rotated", "REFRESH-rotated"}));
}

TEST_P(McpOAuthRepositoryTest, ConfigNamesAreUniquePerServerCaseInsensitivelyAndFreedOnDelete) {
  ASSERT_OK(repo().create_oauth_config("default", new_config("cfg-1", "Keycloak")));
  {
    const auto guard = nothing_appended();
    for (const std::string name : {"Keycloak", "KEYCLOAK", "keycloak"}) {
      expect_status(repo().create_oauth_config("default", new_config("cfg-2", name)).status(),
                    Code::kConflict, "mcp_oauth_config.name", name);
    }
  }
  ASSERT_OK(repo().create_oauth_config("default", new_config("cfg-3", "KEYCLOAK", "srv-2")));
  ASSERT_OK(repo().create_oauth_config("other", new_config("cfg-1", "keycloak")));
  // A header may share the name: the rules are per table.
  NewMcpAuthHeader h{"hdr-1", "Keycloak", "srv-1", "X-Key", "v", "admin-1"};
  ASSERT_OK(repo().create_auth_header("default", h));

  ASSERT_OK(repo().delete_oauth_config("default", "cfg-1"));
  EXPECT_CODE(repo().get_oauth_config("default", "cfg-1"), Code::kNotFound);
  ASSERT_OK(repo().create_oauth_config("default", new_config("cfg-4", "KeyCloak")));
  expect_status(repo().create_oauth_config("default", new_config("cfg-1", "x")).status(),
                Code::kConflict, "mcp_oauth_config.id", "a deleted config's id");
}

TEST_P(McpOAuthRepositoryTest, ListConfigsIsTheServersNewestFirstAndMissingIsNotFound) {
  ASSERT_OK(repo().create_oauth_config("default", new_config("c1", "one")));
  clock_.advance(1s);
  ASSERT_OK(repo().create_oauth_config("default", new_config("c2", "two")));
  ASSERT_OK(repo().create_oauth_config("default", new_config("c3", "three")));  // same instant
  ASSERT_OK(repo().create_oauth_config("default", new_config("c4", "four", "srv-2")));
  ASSERT_OK(repo().create_oauth_config("org-2", new_config("c5", "five")));
  auto listed = repo().list_oauth_configs("default", "srv-1");
  ASSERT_OK(listed);
  std::vector<std::string> ids;
  for (const auto& c : *listed) ids.push_back(c.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"c3", "c2", "c1"}));
  EXPECT_EQ(listed->back(), expected_config("default", new_config("c1", "one"), kStart));
  auto none = repo().list_oauth_configs("org-2", "srv-2");
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());

  const auto guard = nothing_appended();
  EXPECT_CODE(repo().get_oauth_config("org-2", "c1"), Code::kNotFound);
  EXPECT_CODE(repo().get_oauth_client_credentials("org-2", "c1"), Code::kNotFound);
  EXPECT_CODE(repo().get_oauth_registration_access_token("default", "c404"), Code::kNotFound);
  EXPECT_REFUSED(repo().delete_oauth_config("org-2", "c1"), Code::kNotFound, "");
  EXPECT_REFUSED(repo().delete_oauth_config_with_tokens("org-2", "c1"), Code::kNotFound, "");
}

TEST_P(McpOAuthRepositoryTest, PlainDeleteIsRefusedWhileTheConfigHasTokens) {
  ASSERT_OK(repo().create_oauth_config("default", new_config("cfg-1", "A")));
  ASSERT_OK(repo().create_oauth_token("default", new_token("tok-1", "cfg-1")));
  // A delete while the config has a token.
  EXPECT_REFUSED(repo().delete_oauth_config("default", "cfg-1"), Code::kConflict,
                 "mcp_oauth_config.tokens");
  EXPECT_OK(repo().get_oauth_config("default", "cfg-1"));
  auto n = repo().delete_oauth_tokens_of_config("default", "cfg-1");
  ASSERT_OK(n);
  EXPECT_EQ(*n, 1);
  ASSERT_OK(repo().delete_oauth_config("default", "cfg-1"));
  EXPECT_CODE(repo().get_oauth_config("default", "cfg-1"), Code::kNotFound);
}

TEST_P(McpOAuthRepositoryTest, DeleteWithTokensIsOneEventThatRemovesTheConfigAndAllItsTokens) {
  ASSERT_OK(repo().create_oauth_config("default", new_config("cfg-1", "A")));
  ASSERT_OK(repo().create_oauth_config("default", new_config("cfg-2", "B")));
  ASSERT_OK(repo().create_oauth_token("default", new_token("t1", "cfg-1", "user-1")));
  ASSERT_OK(repo().create_oauth_token("default", new_token("t2", "cfg-1", "user-2")));
  ASSERT_OK(repo().create_oauth_token("default", new_token("t3", "cfg-1", "user-1")));
  ASSERT_OK(repo().create_oauth_token("default", new_token("t4", "cfg-2", "user-1")));
  const uint64_t before = head();
  ASSERT_OK(repo().delete_oauth_config_with_tokens("default", "cfg-1"));
  ASSERT_EQ(head(), before + 1);
  auto last = journal().read(head(), 1);
  ASSERT_OK(last);
  auto e = last->front().payload().getMcpAuth();
  ASSERT_EQ(e.which(), schema::McpAuthEvent::OAUTH_CONFIG_DELETED);
  EXPECT_TRUE(e.getOauthConfigDeleted().getWithTokens());

  EXPECT_CODE(repo().get_oauth_config("default", "cfg-1"), Code::kNotFound);
  EXPECT_EQ(tokens_of("default", "cfg-1"), 0);
  EXPECT_CODE(repo().get_oauth_token("default", "user-1", "t1"), Code::kNotFound);
  EXPECT_CODE(repo().latest_oauth_token("default", "cfg-1", std::nullopt), Code::kNotFound);
  auto kept = repo().get_oauth_token("default", "user-1", "t4");
  ASSERT_OK(kept);
  EXPECT_EQ(*kept, expected_token("default", new_token("t4", "cfg-2", "user-1"), kStart));
  // Tokens of the deleted config take no more writes; a new config may take its name.
  EXPECT_CODE(repo().create_oauth_token("default", new_token("t5", "cfg-1")), Code::kNotFound);
  EXPECT_CODE(repo().delete_oauth_tokens_of_config("default", "cfg-1"), Code::kNotFound);
  ASSERT_OK(repo().create_oauth_config("default", new_config("cfg-3", "a")));

  // Replaying the journal into a new read database gives the same rows.
  auto rows = dump("default");
  rebuild_from_journal();
  EXPECT_EQ(dump("default"), rows);
}

TEST_P(McpOAuthRepositoryTest, DeleteWithTokensRacingTokenWritesNeverLeavesAHalfOrAnOrphan) {
  for (int round = 0; round < 4; ++round) {
    const std::string cfg = "cfg-" + std::to_string(round);
    ASSERT_OK(repo().create_oauth_config("default", new_config(cfg, cfg)));
    ASSERT_OK(repo().create_oauth_token("default", new_token(cfg + "-t0", cfg)));
    constexpr int kWriters = 4;
    std::barrier start(kWriters + 1);
    std::mutex mu;
    std::vector<std::string> unexpected;
    std::vector<std::thread> threads;
    for (int w = 0; w < kWriters; ++w) {
      threads.emplace_back([&, w] {
        start.arrive_and_wait();
        for (int i = 0; i < 5; ++i) {
          Status s =
              w % 2 ? repo()
                          .update_oauth_token("default", "user-1", cfg + "-t0",
                                              {Secret::set("a" + std::to_string(i)), Secret::keep(),
                                               "s", std::nullopt})
                          .status()
                    : repo()
                          .create_oauth_token("default", new_token(cfg + "-w" + std::to_string(w) +
                                                                       "-" + std::to_string(i),
                                                                   cfg))
                          .status();
          if (s.is_ok() || s.code() == Code::kNotFound || s.code() == Code::kConcurrencyConflict)
            continue;
          std::lock_guard lock(mu);
          unexpected.push_back(s.to_string());
        }
      });
    }
    start.arrive_and_wait();
    Status deleted;
    do {
      deleted = repo().delete_oauth_config_with_tokens("default", cfg);
    } while (deleted.code() == Code::kConcurrencyConflict);
    for (auto& th : threads) th.join();
    for (const auto& u : unexpected) ADD_FAILURE() << u;
    ASSERT_OK(deleted);
    EXPECT_CODE(repo().get_oauth_config("default", cfg), Code::kNotFound);
    EXPECT_EQ(tokens_of("default", cfg), 0) << cfg;
  }
  EXPECT_OK(store_->internals().projector().last_error());
  auto rows = dump("default");
  EXPECT_TRUE(rows.empty());
  rebuild_from_journal();
  EXPECT_EQ(dump("default"), rows);
}

TEST_P(McpOAuthRepositoryTest, ConcurrentCreatesOfOneConfigNameHaveExactlyOneWinner) {
  constexpr int kThreads = 8;
  std::barrier start(kThreads);
  std::atomic<int> wins{0}, conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto c = new_config("cfg-" + std::to_string(t), t % 2 ? "Shared" : "sHARED");
      start.arrive_and_wait();
      auto r = repo().create_oauth_config("default", c);
      if (r.is_ok()) ++wins;
      if (r.status().subject() == "mcp_oauth_config.name") ++conflicts;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wins.load(), 1);
  EXPECT_EQ(conflicts.load(), kThreads - 1);
  EXPECT_EQ(head(), 1u);
}

TEST_P(McpOAuthRepositoryTest, BadInputIsRefusedNamingTheFieldAndAppendsNothing) {
  ASSERT_OK(repo().create_oauth_config("default", new_config("cfg-0", "zero")));
  ASSERT_OK(repo().create_oauth_token("default", new_token("tok-0", "cfg-0")));
  const auto guard = nothing_appended();
  using C = NewMcpOAuthConfig;
  const std::vector<std::tuple<std::string, std::function<void(C&)>, std::string>> configs = {
      {"empty id", [](C& c) { c.id = ""; }, "id"},
      {"id with quote", [](C& c) { c.id = "a'b"; }, "id"},
      {"empty name", [](C& c) { c.name = ""; }, "name"},
      {"256-byte name", [](C& c) { c.name = std::string(256, 'n'); }, "name"},
      {"server with slash", [](C& c) { c.mcp_server_id = "s/1"; }, "mcp_server_id"},
      {"empty registration type", [](C& c) { c.registration_type = ""; }, "registration_type"},
      {"registration type with space", [](C& c) { c.registration_type = "pre registered"; },
       "registration_type"},
      {"empty client id", [](C& c) { c.client_id = ""; }, "client_id"},
      {"empty client secret", [](C& c) { c.client_secret = ""; }, "client_secret"},
      {"client secret not UTF-8", [](C& c) { c.client_secret = "\xff"; }, "client_secret"},
      {"empty authorization endpoint", [](C& c) { c.authorization_endpoint = ""; },
       "authorization_endpoint"},
      {"2049-byte token endpoint", [](C& c) { c.token_endpoint = std::string(2049, 'u'); },
       "token_endpoint"},
      {"empty registration endpoint", [](C& c) { c.registration_endpoint = ""; },
       "registration_endpoint"},
      {"oversized registration token",
       [](C& c) { c.registration_access_token = std::string(kMaxSecretBytes + 1, 'r'); },
       "registration_access_token"},
      {"auth method with space", [](C& c) { c.token_endpoint_auth_method = "client secret"; },
       "token_endpoint_auth_method"},
      {"scopes with NUL", [](C& c) { c.scopes = std::string("a\0", 2); }, "scopes"},
      {"empty created_by", [](C& c) { c.created_by = ""; }, "created_by"},
  };
  for (const auto& [what, change, field] : configs) {
    C c = new_config("cfg-1", "one");
    change(c);
    expect_status(repo().create_oauth_config("default", c).status(), Code::kInvalidArgument, field,
                  what);
  }
  expect_status(repo().create_oauth_config("", new_config("cfg-1", "one")).status(),
                Code::kInvalidArgument, "org_id", "config org");
  using T = NewMcpOAuthToken;
  const std::vector<std::tuple<std::string, std::function<void(T&)>, std::string>> tokens = {
      {"empty id", [](T& t) { t.id = ""; }, "id"},
      {"65-byte id", [](T& t) { t.id = std::string(65, 'i'); }, "id"},
      {"empty config", [](T& t) { t.mcp_oauth_config_id = ""; }, "mcp_oauth_config_id"},
      {"empty access token", [](T& t) { t.access_token = ""; }, "access_token"},
      {"refresh token with NUL", [](T& t) { t.refresh_token = std::string("\0", 1); },
       "refresh_token"},
      {"oversized scopes", [](T& t) { t.scopes_granted = std::string(4097, 's'); },
       "scopes_granted"},
      {"created_by not UTF-8", [](T& t) { t.created_by = "\xfe"; }, "created_by"},
  };
  for (const auto& [what, change, field] : tokens) {
    T t = new_token("tok-1", "cfg-0");
    change(t);
    expect_status(repo().create_oauth_token("default", t).status(), Code::kInvalidArgument, field,
                  what);
  }
  auto upd = [&](std::string user, std::string id, McpOAuthTokenUpdate u) {
    return repo().update_oauth_token("default", user, id, u).status();
  };
  expect_status(upd("", "tok-0", {}), Code::kInvalidArgument, "user_id", "update user");
  expect_status(upd("user-1", "", {}), Code::kInvalidArgument, "id", "update id");
  expect_status(upd("user-1", "tok-0", {Secret::clear(), Secret::keep(), {}, {}}),
                Code::kInvalidArgument, "access_token", "clear access token");
  expect_status(upd("user-1", "tok-0", {Secret::set(""), Secret::keep(), {}, {}}),
                Code::kInvalidArgument, "access_token", "empty access token");
  Secret bogus;
  bogus.action = static_cast<Secret::Action>(7);
  expect_status(upd("user-1", "tok-0", {Secret::keep(), bogus, {}, {}}), Code::kInvalidArgument,
                "refresh_token", "refresh action 7");
  expect_status(repo().delete_oauth_token("default", "user-1", "a b"), Code::kInvalidArgument, "id",
                "delete id");
  expect_status(repo().delete_oauth_tokens_of_config_for_user("default", "cfg-0", "").status(),
                Code::kInvalidArgument, "user_id", "delete all user");
  expect_status(repo().delete_oauth_tokens_of_config("default", "").status(),
                Code::kInvalidArgument, "mcp_oauth_config_id", "delete all config");
  expect_status(repo().latest_oauth_token("default", "cfg-0", std::string()).status(),
                Code::kInvalidArgument, "user_id", "latest empty user");
  expect_status(repo().get_oauth_bearer("x/y", "user-1", "tok-0").status(), Code::kInvalidArgument,
                "org_id", "bearer org");
  expect_status(repo().delete_oauth_config_with_tokens("default", ""), Code::kInvalidArgument, "id",
                "delete config id");
  expect_status(repo().list_oauth_configs("default", "a b").status(), Code::kInvalidArgument,
                "mcp_server_id", "list server");
}

TEST_P(McpOAuthRepositoryTest, HostileTextRoundTripsByteForByte) {
  const std::vector<std::string> hostile = {"it's", "\"q\"",   "'; DROP TABLE mcp_oauth_tokens;--",
                                            "%_",   "emoji 🎉", "line\nbreak",
                                            "$1",   " pad "};
  int n = 0;
  for (const auto& s : hostile) {
    SCOPED_TRACE(s);
    NewMcpOAuthConfig c = new_config("c" + std::to_string(n), s);
    c.client_id = s;
    c.client_secret = s;
    c.scopes = s;
    c.authorization_endpoint = s;
    ASSERT_OK(repo().create_oauth_config("default", c));
    auto got = repo().get_oauth_config("default", c.id);
    ASSERT_OK(got);
    EXPECT_EQ(*got, expected_config("default", c, kStart));
    auto creds = repo().get_oauth_client_credentials("default", c.id);
    ASSERT_OK(creds);
    EXPECT_EQ(*creds, (McpOAuthClientCredentials{s, s}));
    NewMcpOAuthToken t = new_token("t" + std::to_string(n++), c.id, s);
    t.access_token = s;
    t.scopes_granted = s;
    ASSERT_OK(repo().create_oauth_token("default", t));
    auto bearer = repo().get_oauth_bearer("default", s, t.id);
    ASSERT_OK(bearer);
    EXPECT_EQ(bearer->second, "Bearer " + s);
    auto latest = repo().latest_oauth_token("default", c.id, s);
    ASSERT_OK(latest);
    EXPECT_EQ(*latest, expected_token("default", t, kStart));
  }
}

INSTANTIATE_ON_BOTH_BACKENDS(McpOAuthRepositoryTest);

}  // namespace
}  // namespace annals::repositories
