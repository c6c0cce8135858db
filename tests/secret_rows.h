// One row of every kind that holds a secret, written through a Store: a model
// alias's API key, the app instance's client secret, a toolset's API key, an
// MCP auth header's value, an OAuth config's client secret and registration
// token, and an OAuth token's access and refresh tokens.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>

#include "annals/store.h"
#include "tests/test_support.h"

namespace annals::testing {

// Every file under `root`, concatenated: where a secret must not be found in
// plain text.
inline std::string read_tree(const std::string& root) {
  std::string all;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    all.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return all;
}

// What each call stores, by the call's name: "alias", "app-instance",
// "toolset", "header", "oauth-client", "oauth-regtoken", "token-access",
// "token-refresh", and with updates "alias-update", "toolset-update",
// "header-update", "token-access-v2", "token-refresh-v2".
using SecretFor = std::function<std::string(const std::string& call)>;

// Writes the rows in `org` (ids alias-1, ts-1 of user-1, srv-1, hdr-1, oc-1,
// tok-1 of user-1); with `with_updates`, then changes each updatable secret
// once through its update call. Wrap in ASSERT_NO_FATAL_FAILURE.
inline void write_secret_rows(repositories::Store& store, const std::string& org,
                              const SecretFor& secret, bool with_updates) {
  using namespace repositories;
  NewApiModelAlias alias;
  alias.id = "alias-1";
  alias.api_format = "openai";
  alias.base_url = "https://api.example.com/v1";
  alias.models = "[\"gpt-4\"]";
  alias.api_key = secret("alias");
  ASSERT_OK(store.models().create_api_alias(org, alias));

  NewAppInstance instance;
  instance.client_id = "client-1";
  instance.client_secret = secret("app-instance");
  instance.scope = "scope_user";
  ASSERT_OK(store.app_instance().upsert(org, instance));

  NewToolset toolset;
  toolset.id = "ts-1";
  toolset.user_id = "user-1";
  toolset.toolset_type = "builtin-exa-search";
  toolset.slug = "exa";
  toolset.api_key = secret("toolset");
  ASSERT_OK(store.toolsets().create(org, toolset));

  NewMcpServer server;
  server.id = "srv-1";
  server.url = "https://mcp.example.com";
  server.name = "example";
  server.created_by = "admin";
  ASSERT_OK(store.mcp().servers().create_server(org, server));

  auto& credentials = store.mcp().credentials();
  NewMcpAuthHeader header;
  header.id = "hdr-1";
  header.name = "api key";
  header.mcp_server_id = "srv-1";
  header.header_key = "X-API-Key";
  header.value = secret("header");
  header.created_by = "admin";
  ASSERT_OK(credentials.create_auth_header(org, header));

  NewMcpOAuthConfig config;
  config.id = "oc-1";
  config.name = "oauth";
  config.mcp_server_id = "srv-1";
  config.registration_type = "dynamic";
  config.client_id = "oauth-client-1";
  config.client_secret = secret("oauth-client");
  config.authorization_endpoint = "https://auth.example.com/authorize";
  config.token_endpoint = "https://auth.example.com/token";
  config.registration_endpoint = "https://auth.example.com/register";
  config.registration_access_token = secret("oauth-regtoken");
  config.created_by = "admin";
  ASSERT_OK(credentials.create_oauth_config(org, config));

  NewMcpOAuthToken token;
  token.id = "tok-1";
  token.mcp_oauth_config_id = "oc-1";
  token.access_token = secret("token-access");
  token.refresh_token = secret("token-refresh");
  token.created_by = "user-1";
  ASSERT_OK(credentials.create_oauth_token(org, token));
  if (!with_updates) return;

  ApiModelAliasUpdate alias_update;
  alias_update.api_format = "openai";
  alias_update.base_url = "https://api.example.com/v1";
  alias_update.models = "[\"gpt-4\"]";
  alias_update.api_key = SecretChange::set(secret("alias-update"));
  ASSERT_OK(store.models().update_api_alias(org, "alias-1", alias_update));

  ToolsetUpdate toolset_update;
  toolset_update.slug = "exa";
  toolset_update.api_key = SecretChange::set(secret("toolset-update"));
  ASSERT_OK(store.toolsets().update(org, "user-1", "ts-1", toolset_update));

  McpAuthHeaderUpdate header_update;
  header_update.name = "api key";
  header_update.header_key = "X-API-Key";
  header_update.value = SecretChange::set(secret("header-update"));
  ASSERT_OK(credentials.update_auth_header(org, "hdr-1", header_update));

  McpOAuthTokenUpdate token_update;
  token_update.access_token = SecretChange::set(secret("token-access-v2"));
  token_update.refresh_token = SecretChange::set(secret("token-refresh-v2"));
  ASSERT_OK(credentials.update_oauth_token(org, "user-1", "tok-1", token_update));
}

}  // namespace annals::testing
