// Internal to mcp_auth_repository_*.cc: the SQL implementation of
// McpAuthRepository, split by concern over several files (auth headers,
// shared helpers and the factory in mcp_auth_repository_headers.cc, OAuth
// configs in mcp_auth_repository_oauth.cc, OAuth tokens in
// mcp_auth_repository_tokens.cc). Not for other code to include.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/validate.h"
#include "repositories/columns.h"
#include "repositories/command.h"
#include "repositories/common.h"
#include "repositories/mcp_auth_repository.h"
#include "repositories/reservation_rules.h"
#include "repositories/secrets.h"

namespace annals::repositories::mcp_auth_detail {

// Uniqueness rules, named in kConflict statuses.
inline constexpr const char* kHeaderNameRule = rules::kMcpAuthHeaderName;
inline constexpr const char* kHeaderIdRule = "mcp_auth_header.id";
inline constexpr const char* kConfigNameRule = rules::kMcpOAuthConfigName;
inline constexpr const char* kConfigIdRule = "mcp_oauth_config.id";
inline constexpr const char* kConfigTokensRule = "mcp_oauth_config.tokens";
inline constexpr const char* kTokenIdRule = "mcp_oauth_token.id";

// Streams.
inline constexpr Prefixed header_stream{"mcp_auth_header/"};
inline constexpr Prefixed config_stream{"mcp_oauth_config/"};
inline constexpr Prefixed token_stream{"mcp_oauth_token/"};

// The reserved value of a per-server name: server ids cannot hold '/', so
// the pair is unambiguous.
inline std::string name_reservation(std::string_view server_id, std::string_view name) {
  return rules::name_value(server_id, name);
}

// Secret purposes: the field and the row the sealed value belongs to.
inline constexpr Prefixed header_value_purpose{"mcp_auth_headers.value/"};
inline constexpr Prefixed client_secret_purpose{"mcp_oauth_configs.client_secret/"};
inline constexpr Prefixed registration_token_purpose{
    "mcp_oauth_configs.registration_access_token/"};
inline constexpr Prefixed access_token_purpose{"mcp_oauth_tokens.access_token/"};
inline constexpr Prefixed refresh_token_purpose{"mcp_oauth_tokens.refresh_token/"};

inline std::string text(capnp::Text::Reader t) { return std::string(t.begin(), t.size()); }
inline bool same_text(capnp::Text::Reader a, std::string_view b) {
  return std::string_view(a.begin(), a.size()) == b;
}

inline Status validate_id(std::string_view field, std::string_view id) {
  return validate_identifier(field, id, kMaxMcpAuthIdBytes);
}
inline Status validate_user(std::string_view field, std::string_view user) {
  return validate_text(field, user, {kMaxMcpAuthUserBytes});
}
inline Status validate_name(std::string_view name) {
  return validate_text("name", name, {kMaxMcpAuthNameBytes});
}
inline Status validate_optional(std::string_view field, const std::optional<std::string>& value,
                                TextRule rule) {
  return value.has_value() ? validate_text(field, *value, rule) : Status::ok();
}
// A secret in plain text: non-empty, UTF-8, no NUL, at most kMaxSecretBytes.
inline Status validate_secret(std::string_view field, std::string_view value) {
  return validate_text(field, value, {kMaxSecretBytes});
}

// The rows as read from the tables: the value, the sealed secrets it
// carries and the version of its stream.
struct StoredHeader : McpAuthHeader {
  std::string sealed_value;
  uint64_t version = 0;
};

struct StoredConfig : McpOAuthConfig {
  std::optional<std::string> sealed_client_secret;
  std::optional<std::string> sealed_registration_access_token;
  uint64_t version = 0;
};

struct StoredToken : McpOAuthToken {
  std::string sealed_access_token;
  std::optional<std::string> sealed_refresh_token;
  uint64_t version = 0;
  uint64_t config_version = 0;  // the version of its config's stream
};

class SqlMcpAuthRepository final : public McpAuthRepository {
 public:
  explicit SqlMcpAuthRepository(RepositoryContext& context) : ctx_(context) {}

  // mcp_auth_repository_headers.cc
  Result<McpAuthHeader> create_auth_header(std::string_view org_id,
                                           const NewMcpAuthHeader& header) override;
  Result<McpAuthHeader> get_auth_header(std::string_view org_id, std::string_view id) override;
  Result<McpAuthHeader> update_auth_header(std::string_view org_id, std::string_view id,
                                           const McpAuthHeaderUpdate& update) override;
  Status delete_auth_header(std::string_view org_id, std::string_view id) override;
  Result<std::vector<McpAuthHeader>> list_auth_headers(std::string_view org_id,
                                                       std::string_view mcp_server_id) override;
  Result<std::pair<std::string, std::string>> get_auth_header_value(std::string_view org_id,
                                                                    std::string_view id) override;

  // mcp_auth_repository_oauth.cc
  Result<McpOAuthConfig> create_oauth_config(std::string_view org_id,
                                             const NewMcpOAuthConfig& config) override;
  Result<McpOAuthConfig> get_oauth_config(std::string_view org_id, std::string_view id) override;
  Result<std::vector<McpOAuthConfig>> list_oauth_configs(std::string_view org_id,
                                                         std::string_view mcp_server_id) override;
  Status delete_oauth_config(std::string_view org_id, std::string_view id) override;
  Status delete_oauth_config_with_tokens(std::string_view org_id, std::string_view id) override;
  Result<McpOAuthClientCredentials> get_oauth_client_credentials(std::string_view org_id,
                                                                 std::string_view id) override;
  Result<std::optional<std::string>> get_oauth_registration_access_token(
      std::string_view org_id, std::string_view id) override;

  // mcp_auth_repository_tokens.cc
  Result<McpOAuthToken> create_oauth_token(std::string_view org_id,
                                           const NewMcpOAuthToken& token) override;
  Result<McpOAuthToken> get_oauth_token(std::string_view org_id, std::string_view user_id,
                                        std::string_view id) override;
  Result<McpOAuthToken> latest_oauth_token(std::string_view org_id,
                                           std::string_view mcp_oauth_config_id,
                                           const std::optional<std::string>& user_id) override;
  Result<McpOAuthToken> update_oauth_token(std::string_view org_id, std::string_view user_id,
                                           std::string_view id,
                                           const McpOAuthTokenUpdate& update) override;
  Status delete_oauth_token(std::string_view org_id, std::string_view user_id,
                            std::string_view id) override;
  Result<int64_t> delete_oauth_tokens_of_config(std::string_view org_id,
                                                std::string_view mcp_oauth_config_id) override;
  Result<int64_t> delete_oauth_tokens_of_config_for_user(std::string_view org_id,
                                                         std::string_view mcp_oauth_config_id,
                                                         std::string_view user_id) override;
  Result<std::pair<std::string, std::string>> get_oauth_bearer(std::string_view org_id,
                                                               std::string_view user_id,
                                                               std::string_view id) override;
  Result<McpOAuthTokenSecrets> get_oauth_token_secrets(std::string_view org_id,
                                                       std::string_view user_id,
                                                       std::string_view id) override;

 private:
  Result<std::string> seal(std::string_view org_id, const std::string& purpose,
                           std::string_view plaintext);
  Result<std::string> open(std::string_view org_id, const std::string& purpose,
                           std::string_view sealed);
  // Whether `sealed` opens to `plaintext` (false when it does not open).
  bool opens_to(std::string_view org_id, const std::string& purpose, std::string_view sealed,
                std::string_view plaintext);
  // The event at `position`, if it is an mcpAuth event of kind `which`.
  Result<std::optional<events::Event>> mcp_auth_event_at(uint64_t position,
                                                         schema::McpAuthEvent::Which which);

  Result<StoredHeader> find_header(std::string_view org_id, std::string_view id);
  Result<bool> header_same_as_created(std::string_view org_id, uint64_t position,
                                      const NewMcpAuthHeader& h);

  Result<StoredConfig> find_config(std::string_view org_id, std::string_view id);
  Result<bool> config_same_as_created(std::string_view org_id, uint64_t position,
                                      const NewMcpOAuthConfig& c);
  Status delete_config(std::string_view org_id, std::string_view id, bool with_tokens);

  Result<StoredToken> find_token(std::string_view org_id, std::string_view id);
  Result<StoredToken> find_token_for_user(std::string_view org_id, std::string_view user_id,
                                          std::string_view id);
  Result<bool> token_same_as_created(std::string_view org_id, uint64_t position,
                                     const NewMcpOAuthToken& t);
  Result<int64_t> delete_tokens_of_config(std::string_view org_id, std::string_view config_id,
                                          const std::optional<std::string>& user_id);

  RepositoryContext& ctx_;
};

}  // namespace annals::repositories::mcp_auth_detail
