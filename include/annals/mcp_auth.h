// McpAuthRepository: the credentials half of the McpRepository (domain spec,
// section 7): auth headers, OAuth client configs and OAuth tokens of MCP
// servers.
//
// Every secret (header values, client secrets, registration access tokens,
// access and refresh tokens) is sealed with Secrets::seal before it goes into
// an event, and the read tables hold only the sealed text. Rows say whether a
// nullable secret is present (has_...) but never carry it; only the calls
// named get_..._value / _credentials / _secrets / _bearer open them. Those
// calls, and every call that stores a secret, need a store opened with a
// master key (kInvalidArgument naming "master_key" otherwise).
//
// mcp_server_id is not checked against the servers table (which the other
// half of the McpRepository owns): callers pass the id of an existing server.
// Names are unique per (org, server), ASCII case-insensitively; the same
// name on another server is fine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "annals/clock.h"
#include "annals/page.h"
#include "annals/secret_change.h"
#include "annals/status.h"

namespace annals::repositories {

// --- mcp_auth_headers ---------------------------------------------------------

struct McpAuthHeader {
  std::string org_id;
  std::string id;
  std::string name;  // unique per server, case-insensitive
  std::string mcp_server_id;
  std::string header_key;  // e.g. "Authorization", "X-API-Key"
  std::string created_by;
  Timestamp created_at;
  Timestamp updated_at;

  bool operator==(const McpAuthHeader&) const = default;
};

struct NewMcpAuthHeader {
  std::string id;  // chosen by the caller; creating the same header again is a no-op
  std::string name;
  std::string mcp_server_id;
  std::string header_key;
  std::string value;  // plain text; stored sealed
  std::string created_by;
};

struct McpAuthHeaderUpdate {
  std::string name;
  std::string header_key;
  SecretChange value;  // keep or set; a header always has a value (clear is refused)
};

// --- mcp_oauth_configs --------------------------------------------------------

struct McpOAuthConfig {
  std::string org_id;
  std::string id;
  std::string name;  // unique per server, case-insensitive
  std::string mcp_server_id;
  std::string registration_type;  // e.g. "pre-registered", "dynamic"
  std::string client_id;
  bool has_client_secret = false;
  std::string authorization_endpoint;
  std::string token_endpoint;
  std::optional<std::string> registration_endpoint;
  bool has_registration_access_token = false;
  std::optional<Timestamp> client_id_issued_at;
  std::optional<std::string> token_endpoint_auth_method;  // e.g. "client_secret_basic"
  std::optional<std::string> scopes;
  std::string created_by;
  Timestamp created_at;
  Timestamp updated_at;

  bool operator==(const McpOAuthConfig&) const = default;
};

struct NewMcpOAuthConfig {
  std::string id;  // chosen by the caller; creating the same config again is a no-op
  std::string name;
  std::string mcp_server_id;
  std::string registration_type;
  std::string client_id;
  std::optional<std::string> client_secret;  // plain text; stored sealed
  std::string authorization_endpoint;
  std::string token_endpoint;
  std::optional<std::string> registration_endpoint;
  std::optional<std::string> registration_access_token;  // plain text; stored sealed
  std::optional<Timestamp> client_id_issued_at;
  std::optional<std::string> token_endpoint_auth_method;
  std::optional<std::string> scopes;
  std::string created_by;
};

// What get_oauth_client_credentials returns, decrypted.
struct McpOAuthClientCredentials {
  std::string client_id;
  std::optional<std::string> client_secret;

  bool operator==(const McpOAuthClientCredentials&) const = default;
};

// --- mcp_oauth_tokens ---------------------------------------------------------

struct McpOAuthToken {
  std::string org_id;
  std::string id;
  std::string mcp_oauth_config_id;
  bool has_refresh_token = false;
  std::optional<std::string> scopes_granted;
  std::optional<Timestamp> expires_at;
  std::string created_by;  // the user the token belongs to
  Timestamp created_at;
  Timestamp updated_at;

  bool operator==(const McpOAuthToken&) const = default;
};

struct NewMcpOAuthToken {
  std::string id;  // chosen by the caller; creating the same token again is a no-op
  std::string mcp_oauth_config_id;
  std::string access_token;                  // plain text; stored sealed
  std::optional<std::string> refresh_token;  // plain text; stored sealed
  std::optional<std::string> scopes_granted;
  std::optional<Timestamp> expires_at;
  std::string created_by;  // the user
};

// Scopes and expiry are replaced by what is given (nullopt makes them null).
struct McpOAuthTokenUpdate {
  SecretChange access_token;   // keep or set (clear is refused)
  SecretChange refresh_token;  // keep, set or clear
  std::optional<std::string> scopes_granted;
  std::optional<Timestamp> expires_at;
};

// What get_oauth_token_secrets returns, decrypted.
struct McpOAuthTokenSecrets {
  std::string access_token;
  std::optional<std::string> refresh_token;

  bool operator==(const McpOAuthTokenSecrets&) const = default;
};

// Limits (bytes). Secrets are limited by kMaxSecretBytes (secrets.h).
inline constexpr size_t kMaxMcpAuthIdBytes = 64;  // every id, incl. mcp_server_id
inline constexpr size_t kMaxMcpAuthNameBytes = 255;
inline constexpr size_t kMaxMcpAuthHeaderKeyBytes = 256;
inline constexpr size_t kMaxMcpAuthUserBytes = 255;  // created_by / user_id
inline constexpr size_t kMaxMcpOAuthRegistrationTypeBytes = 64;
inline constexpr size_t kMaxMcpOAuthClientIdBytes = 1024;
inline constexpr size_t kMaxMcpOAuthEndpointBytes = 2048;
inline constexpr size_t kMaxMcpOAuthAuthMethodBytes = 64;
inline constexpr size_t kMaxMcpOAuthScopesBytes = 4096;

// Thread-safe. Every call takes org_id first and validates it
// (kInvalidArgument naming "org_id"); bad input is kInvalidArgument naming
// the field and appends nothing. Every call may also give kUnavailable
// (storage unreachable; retry) and, after a write, kTimedOut (committed but
// not yet visible; read again later). Another org's rows are never seen or
// changed: to every call they do not exist (kNotFound).
class McpAuthRepository {
 public:
  virtual ~McpAuthRepository() = default;

  // --- Auth headers. header_key must be an HTTP field name (RFC 9110
  // token); the value may not contain CR or LF (it becomes a header).

  // kConflict naming "mcp_auth_header.name" when the server has a header of
  // that name (ASCII case-insensitive), or "mcp_auth_header.id" when the id
  // holds (or held) another header.
  virtual Result<McpAuthHeader> create_auth_header(std::string_view org_id,
                                                   const NewMcpAuthHeader& header) = 0;
  // kNotFound when the org has no such header.
  virtual Result<McpAuthHeader> get_auth_header(std::string_view org_id, std::string_view id) = 0;
  // Sets name and header key, keeps or replaces the value. kNotFound;
  // kConflict naming "mcp_auth_header.name"; kConcurrencyConflict when
  // another write got there first (retry).
  virtual Result<McpAuthHeader> update_auth_header(std::string_view org_id, std::string_view id,
                                                   const McpAuthHeaderUpdate& update) = 0;
  // Frees the name for reuse. kNotFound; kConcurrencyConflict.
  virtual Status delete_auth_header(std::string_view org_id, std::string_view id) = 0;
  // The server's headers, newest first (same instant: last created first).
  virtual Result<std::vector<McpAuthHeader>> list_auth_headers(std::string_view org_id,
                                                               std::string_view mcp_server_id) = 0;
  // (header_key, value), decrypted. kNotFound.
  virtual Result<std::pair<std::string, std::string>> get_auth_header_value(
      std::string_view org_id, std::string_view id) = 0;

  // --- OAuth configs. There is no update: a changed client is a new config.

  // kConflict naming "mcp_oauth_config.name" (per server, ASCII
  // case-insensitive) or "mcp_oauth_config.id".
  virtual Result<McpOAuthConfig> create_oauth_config(std::string_view org_id,
                                                     const NewMcpOAuthConfig& config) = 0;
  // kNotFound.
  virtual Result<McpOAuthConfig> get_oauth_config(std::string_view org_id, std::string_view id) = 0;
  // The server's configs, newest first (same instant: last created first).
  virtual Result<std::vector<McpOAuthConfig>> list_oauth_configs(
      std::string_view org_id, std::string_view mcp_server_id) = 0;
  // Deletes a config that has no tokens; frees its name. kNotFound;
  // kConflict naming "mcp_oauth_config.tokens" while it has tokens (use
  // delete_oauth_config_with_tokens); kConcurrencyConflict. A token created
  // concurrently, after the check, is deleted with the config (never left
  // pointing at a missing config).
  virtual Status delete_oauth_config(std::string_view org_id, std::string_view id) = 0;
  // Deletes the config and every token of it in one event: the two are
  // never seen half done. kNotFound; kConcurrencyConflict.
  virtual Status delete_oauth_config_with_tokens(std::string_view org_id, std::string_view id) = 0;
  // (client_id, client secret), decrypted. kNotFound.
  virtual Result<McpOAuthClientCredentials> get_oauth_client_credentials(std::string_view org_id,
                                                                         std::string_view id) = 0;
  // The registration access token (RFC 7592), decrypted; nullopt when the
  // config has none. kNotFound.
  virtual Result<std::optional<std::string>> get_oauth_registration_access_token(
      std::string_view org_id, std::string_view id) = 0;

  // --- OAuth tokens. A token belongs to the user who created it
  // (created_by); calls taking a user_id see only that user's tokens.

  // kNotFound when the org has no config mcp_oauth_config_id (also when the
  // config, and with it this token, was deleted right after the create);
  // kConflict naming "mcp_oauth_token.id" when the id holds (or held)
  // another token; kConcurrencyConflict when the config was deleted while
  // the call ran (a retry gives kNotFound).
  virtual Result<McpOAuthToken> create_oauth_token(std::string_view org_id,
                                                   const NewMcpOAuthToken& token) = 0;
  // kNotFound unless the token exists and belongs to the user.
  virtual Result<McpOAuthToken> get_oauth_token(std::string_view org_id, std::string_view user_id,
                                                std::string_view id) = 0;
  // The newest token of the config (created last; same instant: last
  // created first) — of any user when user_id is nullopt, else of that
  // user. kNotFound when there is none.
  virtual Result<McpOAuthToken> latest_oauth_token(std::string_view org_id,
                                                   std::string_view mcp_oauth_config_id,
                                                   const std::optional<std::string>& user_id) = 0;
  // Keeps or replaces the tokens and sets scopes and expiry. kNotFound
  // unless the token belongs to the user; kConcurrencyConflict.
  virtual Result<McpOAuthToken> update_oauth_token(std::string_view org_id,
                                                   std::string_view user_id, std::string_view id,
                                                   const McpOAuthTokenUpdate& update) = 0;
  // kNotFound unless the token belongs to the user; kConcurrencyConflict.
  virtual Status delete_oauth_token(std::string_view org_id, std::string_view user_id,
                                    std::string_view id) = 0;
  // Deletes every token of the config in one append (one event per token,
  // so at most journal::kMaxCommandEvents - 1 of them); returns how many (0
  // appends nothing). kNotFound when the config does not exist;
  // kConcurrencyConflict when one of them changed meanwhile (nothing is
  // deleted then).
  virtual Result<int64_t> delete_oauth_tokens_of_config(std::string_view org_id,
                                                        std::string_view mcp_oauth_config_id) = 0;
  // As above, for the tokens of one user only.
  virtual Result<int64_t> delete_oauth_tokens_of_config_for_user(
      std::string_view org_id, std::string_view mcp_oauth_config_id, std::string_view user_id) = 0;
  // ("Authorization", "Bearer <access token>"), decrypted. kNotFound unless
  // the token belongs to the user.
  virtual Result<std::pair<std::string, std::string>> get_oauth_bearer(std::string_view org_id,
                                                                       std::string_view user_id,
                                                                       std::string_view id) = 0;
  // Access and refresh token, decrypted (for a refresh). kNotFound unless
  // the token belongs to the user.
  virtual Result<McpOAuthTokenSecrets> get_oauth_token_secrets(std::string_view org_id,
                                                               std::string_view user_id,
                                                               std::string_view id) = 0;
};

}  // namespace annals::repositories
