// GoogleMock classes for every repository interface, for unit tests of code
// that uses Annals without a journal or a database:
//
//   annals::repositories::MockTokenRepository tokens;
//   EXPECT_CALL(tokens, get_by_prefix("bodhiapp_abc")).WillOnce(Return(token));
//
// Header-only; link the test with GTest::gmock. Generated from the
// repository headers' pure virtual methods; keep it in step with them.
#pragma once

#include <gmock/gmock.h>

#include "annals/access.h"
#include "annals/access_requests.h"
#include "annals/app_instance.h"
#include "annals/mcp_auth.h"
#include "annals/mcp_servers.h"
#include "annals/models.h"
#include "annals/settings.h"
#include "annals/tokens.h"
#include "annals/toolsets.h"
#include "annals/user_aliases.h"

namespace annals::repositories {

class MockSettingsRepository : public SettingsRepository {
 public:
  MOCK_METHOD((Result<Setting>), get, (std::string_view org_id, std::string_view key), (override));
  MOCK_METHOD((Result<Setting>), upsert,
              (std::string_view org_id, std::string_view key, std::string_view value,
               std::string_view value_type),
              (override));
  MOCK_METHOD((Status), remove, (std::string_view org_id, std::string_view key), (override));
  MOCK_METHOD((Result<std::vector<Setting>>), list, (std::string_view org_id), (override));
};

class MockTokenRepository : public TokenRepository {
 public:
  MOCK_METHOD((Result<ApiToken>), create, (std::string_view org_id, const NewApiToken& token),
              (override));
  MOCK_METHOD((Result<Page<ApiToken>>), list,
              (std::string_view org_id, std::string_view user_id, int64_t page, int64_t per_page),
              (override));
  MOCK_METHOD((Result<ApiToken>), get,
              (std::string_view org_id, std::string_view user_id, std::string_view id), (override));
  MOCK_METHOD((Result<ApiToken>), get_by_prefix, (std::string_view token_prefix), (override));
  MOCK_METHOD((Result<ApiToken>), update,
              (std::string_view org_id, std::string_view user_id, std::string_view id,
               std::string_view name, TokenStatus status),
              (override));
};

class MockModelRepository : public ModelRepository {
 public:
  MOCK_METHOD((Result<DownloadRequest>), create_download_request,
              (std::string_view org_id, const DownloadRequestInput& request), (override));
  MOCK_METHOD((Result<DownloadRequest>), get_download_request,
              (std::string_view org_id, std::string_view id), (override));
  MOCK_METHOD((Result<DownloadRequest>), update_download_request,
              (std::string_view org_id, const DownloadRequestInput& request), (override));
  MOCK_METHOD((Result<Page<DownloadRequest>>), list_download_requests,
              (std::string_view org_id, int64_t page, int64_t per_page), (override));
  MOCK_METHOD((Result<std::vector<DownloadRequest>>), find_download_requests,
              (std::string_view org_id, std::string_view repo, std::string_view filename),
              (override));
  MOCK_METHOD((Result<ApiModelAlias>), create_api_alias,
              (std::string_view org_id, const NewApiModelAlias& alias), (override));
  MOCK_METHOD((Result<ApiModelAlias>), get_api_alias,
              (std::string_view org_id, std::string_view id), (override));
  MOCK_METHOD((Result<ApiModelAlias>), update_api_alias,
              (std::string_view org_id, std::string_view id, const ApiModelAliasUpdate& update),
              (override));
  MOCK_METHOD((Result<ApiModelAlias>), update_api_alias_cache,
              (std::string_view org_id, std::string_view id, std::string_view models_cache,
               Timestamp fetched_at),
              (override));
  MOCK_METHOD((Status), delete_api_alias, (std::string_view org_id, std::string_view id),
              (override));
  MOCK_METHOD((Result<std::vector<ApiModelAlias>>), list_api_aliases, (std::string_view org_id),
              (override));
  MOCK_METHOD((Result<std::string>), get_api_key, (std::string_view org_id, std::string_view id),
              (override));
  MOCK_METHOD((Result<bool>), prefix_exists,
              (std::string_view org_id, std::string_view prefix,
               std::optional<std::string> excluding_id),
              (override));
  MOCK_METHOD((Result<ModelMetadata>), upsert_model_metadata,
              (std::string_view org_id, const ModelMetadataInput& metadata), (override));
  MOCK_METHOD((Result<ModelMetadata>), get_model_metadata,
              (std::string_view org_id, std::string_view repo, std::string_view filename,
               std::string_view snapshot),
              (override));
  MOCK_METHOD((Result<std::map<ModelFileKey, ModelMetadata>>), get_model_metadata_batch,
              (std::string_view org_id, const std::vector<ModelFileKey>& keys), (override));
  MOCK_METHOD((Result<std::vector<ModelMetadata>>), list_model_metadata, (std::string_view org_id),
              (override));
};

class MockAccessRepository : public AccessRepository {
 public:
  MOCK_METHOD((Result<UserAccessRequest>), insert_pending,
              (std::string_view org_id, std::string_view username, std::string_view user_id),
              (override));
  MOCK_METHOD((Result<UserAccessRequest>), get_pending,
              (std::string_view org_id, std::string_view user_id), (override));
  MOCK_METHOD((Result<Page<UserAccessRequest>>), list_pending,
              (std::string_view org_id, int64_t page, int64_t per_page), (override));
  MOCK_METHOD((Result<Page<UserAccessRequest>>), list_all,
              (std::string_view org_id, int64_t page, int64_t per_page), (override));
  MOCK_METHOD((Result<UserAccessRequest>), update_status,
              (std::string_view org_id, int64_t id, UserAccessStatus status,
               std::string_view reviewer),
              (override));
  MOCK_METHOD((Result<UserAccessRequest>), get, (std::string_view org_id, int64_t id), (override));
};

class MockAccessRequestRepository : public AccessRequestRepository {
 public:
  MOCK_METHOD((Result<AppAccessRequest>), create,
              (std::string_view org_id, const NewAppAccessRequest& request), (override));
  MOCK_METHOD((Result<AppAccessRequest>), get, (std::string_view org_id, std::string_view id),
              (override));
  MOCK_METHOD((Result<AppAccessRequest>), approve,
              (std::string_view org_id, std::string_view id, std::string_view user_id,
               std::string_view approved, std::string_view resource_scope,
               const std::optional<std::string>& access_request_scope),
              (override));
  MOCK_METHOD((Result<AppAccessRequest>), deny,
              (std::string_view org_id, std::string_view id, std::string_view user_id), (override));
  MOCK_METHOD((Result<AppAccessRequest>), fail,
              (std::string_view org_id, std::string_view id, std::string_view error_message),
              (override));
  MOCK_METHOD((Result<AppAccessRequest>), get_by_access_request_scope,
              (std::string_view org_id, std::string_view scope), (override));
};

class MockAppInstanceRepository : public AppInstanceRepository {
 public:
  MOCK_METHOD((Result<AppInstance>), get, (std::string_view org_id), (override));
  MOCK_METHOD((Result<AppInstance>), upsert,
              (std::string_view org_id, const NewAppInstance& instance), (override));
  MOCK_METHOD((Status), update_status, (std::string_view org_id, std::string_view status),
              (override));
  MOCK_METHOD((Status), remove, (std::string_view org_id), (override));
};

class MockToolsetRepository : public ToolsetRepository {
 public:
  MOCK_METHOD((Result<Toolset>), create, (std::string_view org_id, const NewToolset& toolset),
              (override));
  MOCK_METHOD((Result<Toolset>), get,
              (std::string_view org_id, std::string_view user_id, std::string_view id), (override));
  MOCK_METHOD((Result<Toolset>), get_by_slug,
              (std::string_view org_id, std::string_view user_id, std::string_view slug),
              (override));
  MOCK_METHOD((Result<Toolset>), update,
              (std::string_view org_id, std::string_view user_id, std::string_view id,
               const ToolsetUpdate& update),
              (override));
  MOCK_METHOD((Result<std::vector<Toolset>>), list,
              (std::string_view org_id, std::string_view user_id), (override));
  MOCK_METHOD((Result<std::vector<Toolset>>), list_by_type,
              (std::string_view org_id, std::string_view user_id, std::string_view toolset_type),
              (override));
  MOCK_METHOD((Status), remove,
              (std::string_view org_id, std::string_view user_id, std::string_view id), (override));
  MOCK_METHOD((Result<std::optional<std::string>>), get_api_key,
              (std::string_view org_id, std::string_view user_id, std::string_view id), (override));
  MOCK_METHOD((Result<AppToolsetConfig>), set_app_enabled,
              (std::string_view org_id, std::string_view toolset_type, bool enabled,
               std::string_view updated_by),
              (override));
  MOCK_METHOD((Result<std::vector<AppToolsetConfig>>), list_app_configs, (std::string_view org_id),
              (override));
  MOCK_METHOD((Result<AppToolsetConfig>), get_app_config,
              (std::string_view org_id, std::string_view toolset_type), (override));
};

class MockMcpServerRepository : public McpServerRepository {
 public:
  MOCK_METHOD((Result<McpServer>), create_server,
              (std::string_view org_id, const NewMcpServer& server), (override));
  MOCK_METHOD((Result<McpServer>), update_server,
              (std::string_view org_id, std::string_view id, const McpServerUpdate& update),
              (override));
  MOCK_METHOD((Result<McpServer>), get_server, (std::string_view org_id, std::string_view id),
              (override));
  MOCK_METHOD((Result<McpServer>), get_server_by_url,
              (std::string_view org_id, std::string_view url), (override));
  MOCK_METHOD((Result<std::vector<McpServer>>), list_servers,
              (std::string_view org_id, std::optional<bool> enabled), (override));
  MOCK_METHOD((Result<McpInstanceCounts>), count_instances,
              (std::string_view org_id, std::string_view server_id), (override));
  MOCK_METHOD((Result<int64_t>), clear_instance_tools,
              (std::string_view org_id, std::string_view server_id), (override));
  MOCK_METHOD((Result<McpInstance>), create_instance,
              (std::string_view org_id, const NewMcpInstance& instance), (override));
  MOCK_METHOD((Result<McpInstance>), get_instance,
              (std::string_view org_id, std::string_view user_id, std::string_view id), (override));
  MOCK_METHOD((Result<McpInstance>), get_instance_by_slug,
              (std::string_view org_id, std::string_view user_id, std::string_view slug),
              (override));
  MOCK_METHOD((Result<std::vector<McpInstanceWithServer>>), list_instances,
              (std::string_view org_id, std::string_view user_id), (override));
  MOCK_METHOD((Result<McpInstance>), update_instance,
              (std::string_view org_id, std::string_view user_id, std::string_view id,
               const McpInstanceUpdate& update),
              (override));
  MOCK_METHOD((Status), delete_instance,
              (std::string_view org_id, std::string_view user_id, std::string_view id), (override));
};

class MockMcpAuthRepository : public McpAuthRepository {
 public:
  MOCK_METHOD((Result<McpAuthHeader>), create_auth_header,
              (std::string_view org_id, const NewMcpAuthHeader& header), (override));
  MOCK_METHOD((Result<McpAuthHeader>), get_auth_header,
              (std::string_view org_id, std::string_view id), (override));
  MOCK_METHOD((Result<McpAuthHeader>), update_auth_header,
              (std::string_view org_id, std::string_view id, const McpAuthHeaderUpdate& update),
              (override));
  MOCK_METHOD((Status), delete_auth_header, (std::string_view org_id, std::string_view id),
              (override));
  MOCK_METHOD((Result<std::vector<McpAuthHeader>>), list_auth_headers,
              (std::string_view org_id, std::string_view mcp_server_id), (override));
  MOCK_METHOD((Result<std::pair<std::string, std::string>>), get_auth_header_value,
              (std::string_view org_id, std::string_view id), (override));
  MOCK_METHOD((Result<McpOAuthConfig>), create_oauth_config,
              (std::string_view org_id, const NewMcpOAuthConfig& config), (override));
  MOCK_METHOD((Result<McpOAuthConfig>), get_oauth_config,
              (std::string_view org_id, std::string_view id), (override));
  MOCK_METHOD((Result<std::vector<McpOAuthConfig>>), list_oauth_configs,
              (std::string_view org_id, std::string_view mcp_server_id), (override));
  MOCK_METHOD((Status), delete_oauth_config, (std::string_view org_id, std::string_view id),
              (override));
  MOCK_METHOD((Status), delete_oauth_config_with_tokens,
              (std::string_view org_id, std::string_view id), (override));
  MOCK_METHOD((Result<McpOAuthClientCredentials>), get_oauth_client_credentials,
              (std::string_view org_id, std::string_view id), (override));
  MOCK_METHOD((Result<std::optional<std::string>>), get_oauth_registration_access_token,
              (std::string_view org_id, std::string_view id), (override));
  MOCK_METHOD((Result<McpOAuthToken>), create_oauth_token,
              (std::string_view org_id, const NewMcpOAuthToken& token), (override));
  MOCK_METHOD((Result<McpOAuthToken>), get_oauth_token,
              (std::string_view org_id, std::string_view user_id, std::string_view id), (override));
  MOCK_METHOD((Result<McpOAuthToken>), latest_oauth_token,
              (std::string_view org_id, std::string_view mcp_oauth_config_id,
               const std::optional<std::string>& user_id),
              (override));
  MOCK_METHOD((Result<McpOAuthToken>), update_oauth_token,
              (std::string_view org_id, std::string_view user_id, std::string_view id,
               const McpOAuthTokenUpdate& update),
              (override));
  MOCK_METHOD((Status), delete_oauth_token,
              (std::string_view org_id, std::string_view user_id, std::string_view id), (override));
  MOCK_METHOD((Result<int64_t>), delete_oauth_tokens_of_config,
              (std::string_view org_id, std::string_view mcp_oauth_config_id), (override));
  MOCK_METHOD((Result<int64_t>), delete_oauth_tokens_of_config_for_user,
              (std::string_view org_id, std::string_view mcp_oauth_config_id,
               std::string_view user_id),
              (override));
  MOCK_METHOD((Result<std::pair<std::string, std::string>>), get_oauth_bearer,
              (std::string_view org_id, std::string_view user_id, std::string_view id), (override));
  MOCK_METHOD((Result<McpOAuthTokenSecrets>), get_oauth_token_secrets,
              (std::string_view org_id, std::string_view user_id, std::string_view id), (override));
};

class MockUserAliasRepository : public UserAliasRepository {
 public:
  MOCK_METHOD((Result<UserAlias>), create,
              (std::string_view org_id, std::string_view id, const UserAliasFields& fields),
              (override));
  MOCK_METHOD((Result<UserAlias>), get, (std::string_view org_id, std::string_view id), (override));
  MOCK_METHOD((Result<UserAlias>), get_by_alias, (std::string_view org_id, std::string_view alias),
              (override));
  MOCK_METHOD((Result<UserAlias>), update,
              (std::string_view org_id, std::string_view id, const UserAliasFields& fields),
              (override));
  MOCK_METHOD((Status), remove, (std::string_view org_id, std::string_view id), (override));
  MOCK_METHOD((Result<std::vector<UserAlias>>), list, (std::string_view org_id), (override));
};

}  // namespace annals::repositories
