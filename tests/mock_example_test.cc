// How downstream code unit-tests itself against Annals' repository
// interfaces with the shipped GoogleMock classes: no journal, no database.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "annals/mock_repositories.h"

namespace {

using annals::Code;
using annals::Result;
using annals::Status;
using annals::repositories::ApiToken;
using annals::repositories::MockSettingsRepository;
using annals::repositories::MockTokenRepository;
using annals::repositories::Setting;
using annals::repositories::TokenStatus;
using ::testing::_;
using ::testing::Return;

// A piece of the app: authenticates an API call by its bearer token.
class ApiAuth {
 public:
  ApiAuth(annals::repositories::TokenRepository& tokens,
          annals::repositories::SettingsRepository& settings)
      : tokens_(tokens), settings_(settings) {}

  // "ok:<org>/<user>", or why not.
  std::string authenticate(const std::string& bearer) {
    if (bearer.size() < 12) return "malformed";
    auto token = tokens_.get_by_prefix(bearer.substr(0, 12));
    if (!token.is_ok()) return token.status().code() == Code::kNotFound ? "unknown" : "unavailable";
    if (token->status != TokenStatus::kActive) return "inactive";
    if (token->token_hash != "hash:" + bearer) return "mismatch";
    auto mode = settings_.get(token->org_id, "api_access");
    if (mode.is_ok() && mode->value == "off") return "disabled";
    return "ok:" + token->org_id + "/" + token->user_id;
  }

 private:
  annals::repositories::TokenRepository& tokens_;
  annals::repositories::SettingsRepository& settings_;
};

ApiToken token(TokenStatus status) {
  ApiToken t;
  t.org_id = "acme";
  t.id = "t1";
  t.user_id = "user-1";
  t.token_prefix = "bodhiapp_abc";
  t.token_hash = "hash:bodhiapp_abcdef";
  t.status = status;
  return t;
}

TEST(ApiAuthWithMocks, AcceptsAnActiveTokenWhoseHashMatches) {
  MockTokenRepository tokens;
  MockSettingsRepository settings;
  EXPECT_CALL(tokens, get_by_prefix("bodhiapp_abc")).WillOnce(Return(token(TokenStatus::kActive)));
  EXPECT_CALL(settings, get("acme", "api_access"))
      .WillOnce(Return(Result<Setting>(Status::not_found("no such setting"))));
  ApiAuth auth(tokens, settings);
  EXPECT_EQ(auth.authenticate("bodhiapp_abcdef"), "ok:acme/user-1");
}

TEST(ApiAuthWithMocks, RefusesInactiveUnknownAndDisabled) {
  MockTokenRepository tokens;
  MockSettingsRepository settings;
  ApiAuth auth(tokens, settings);

  EXPECT_CALL(tokens, get_by_prefix(_)).WillOnce(Return(token(TokenStatus::kInactive)));
  EXPECT_EQ(auth.authenticate("bodhiapp_abcdef"), "inactive");

  EXPECT_CALL(tokens, get_by_prefix(_))
      .WillOnce(Return(Result<ApiToken>(Status::not_found("no token with that prefix"))));
  EXPECT_EQ(auth.authenticate("bodhiapp_zzzzzz"), "unknown");

  EXPECT_CALL(tokens, get_by_prefix(_))
      .WillOnce(Return(Result<ApiToken>(Status::unavailable("database down"))));
  EXPECT_EQ(auth.authenticate("bodhiapp_abcdef"), "unavailable");

  EXPECT_CALL(tokens, get_by_prefix(_)).WillOnce(Return(token(TokenStatus::kActive)));
  Setting off{"api_access", "off", "string", {}, {}};
  EXPECT_CALL(settings, get("acme", "api_access")).WillOnce(Return(off));
  EXPECT_EQ(auth.authenticate("bodhiapp_abcdef"), "disabled");

  EXPECT_EQ(auth.authenticate("short"), "malformed");  // no repository call at all
}

// Another piece of the app: the headers for a call to an MCP server.
std::string mcp_authorization(annals::repositories::McpAuthRepository& credentials,
                              const std::string& org, const std::string& user,
                              const std::string& token_id) {
  auto bearer = credentials.get_oauth_bearer(org, user, token_id);
  if (!bearer.is_ok()) return "none";
  return bearer->first + ": " + bearer->second;
}

TEST(McpWithMocks, UsesTheDecryptedBearer) {
  annals::repositories::MockMcpAuthRepository credentials;
  EXPECT_CALL(credentials, get_oauth_bearer("acme", "user-1", "tok-1"))
      .WillOnce(Return(std::make_pair(std::string("Authorization"), std::string("Bearer abc"))));
  EXPECT_CALL(credentials, get_oauth_bearer("acme", "user-2", _))
      .WillOnce(Return(Result<std::pair<std::string, std::string>>(Status::not_found("no token"))));
  EXPECT_EQ(mcp_authorization(credentials, "acme", "user-1", "tok-1"), "Authorization: Bearer abc");
  EXPECT_EQ(mcp_authorization(credentials, "acme", "user-2", "tok-9"), "none");
}

TEST(Mocks, EveryRepositoryInterfaceHasOne) {
  // Each mock overrides every pure virtual method, so each can be created.
  annals::repositories::MockModelRepository models;
  annals::repositories::MockAccessRepository access;
  annals::repositories::MockAccessRequestRepository access_requests;
  annals::repositories::MockAppInstanceRepository app_instance;
  annals::repositories::MockToolsetRepository toolsets;
  annals::repositories::MockMcpServerRepository mcp_servers;
  annals::repositories::MockUserAliasRepository user_aliases;
  EXPECT_CALL(user_aliases, remove("acme", "a1")).WillOnce(Return(Status::ok()));
  annals::repositories::UserAliasRepository& as_interface = user_aliases;
  EXPECT_TRUE(as_interface.remove("acme", "a1").is_ok());
}

}  // namespace
