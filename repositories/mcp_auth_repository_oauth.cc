// McpAuthRepository: OAuth client configs (mcp_oauth_configs).
#include "repositories/mcp_auth_repository_impl.h"

namespace annals::repositories::mcp_auth_detail {
namespace {

using C = McpOAuthConfig;
const Columns<StoredConfig> kConfigColumns{
    {"org_id", &C::org_id},
    {"id", &C::id},
    {"name", &C::name},
    {"mcp_server_id", &C::mcp_server_id},
    {"registration_type", &C::registration_type},
    {"client_id", &C::client_id},
    {"authorization_endpoint", &C::authorization_endpoint},
    {"token_endpoint", &C::token_endpoint},
    {"registration_endpoint", &C::registration_endpoint},
    {"client_id_issued_at", &C::client_id_issued_at},
    {"token_endpoint_auth_method", &C::token_endpoint_auth_method},
    {"scopes", &C::scopes},
    {"created_by", &C::created_by},
    {"created_at", &C::created_at},
    {"updated_at", &C::updated_at},
    {"sealed_client_secret", &StoredConfig::sealed_client_secret, &C::has_client_secret},
    {"sealed_registration_access_token", &StoredConfig::sealed_registration_access_token,
     &C::has_registration_access_token},
    {"version", &StoredConfig::version}};

Status config_id_taken(std::string_view id) {
  return Status::conflict(
      kConfigIdRule, "OAuth config id '" + std::string(id) + "' holds, or held, another config");
}

Status validate_new_config(const NewMcpOAuthConfig& c) {
  ANNALS_RETURN_IF_ERROR(validate_id("id", c.id));
  ANNALS_RETURN_IF_ERROR(validate_name(c.name));
  ANNALS_RETURN_IF_ERROR(validate_id("mcp_server_id", c.mcp_server_id));
  ANNALS_RETURN_IF_ERROR(validate_identifier("registration_type", c.registration_type,
                                             kMaxMcpOAuthRegistrationTypeBytes));
  ANNALS_RETURN_IF_ERROR(validate_text("client_id", c.client_id, {kMaxMcpOAuthClientIdBytes}));
  if (c.client_secret.has_value()) {
    ANNALS_RETURN_IF_ERROR(validate_secret("client_secret", *c.client_secret));
  }
  ANNALS_RETURN_IF_ERROR(validate_text("authorization_endpoint", c.authorization_endpoint,
                                       {kMaxMcpOAuthEndpointBytes}));
  ANNALS_RETURN_IF_ERROR(
      validate_text("token_endpoint", c.token_endpoint, {kMaxMcpOAuthEndpointBytes}));
  ANNALS_RETURN_IF_ERROR(validate_optional("registration_endpoint", c.registration_endpoint,
                                           {kMaxMcpOAuthEndpointBytes}));
  if (c.registration_access_token.has_value()) {
    ANNALS_RETURN_IF_ERROR(
        validate_secret("registration_access_token", *c.registration_access_token));
  }
  if (c.token_endpoint_auth_method.has_value()) {
    ANNALS_RETURN_IF_ERROR(validate_identifier(
        "token_endpoint_auth_method", *c.token_endpoint_auth_method, kMaxMcpOAuthAuthMethodBytes));
  }
  ANNALS_RETURN_IF_ERROR(
      validate_optional("scopes", c.scopes, {kMaxMcpOAuthScopesBytes, /*allow_empty=*/true}));
  return validate_user("created_by", c.created_by);
}

}  // namespace

Result<McpOAuthConfig> SqlMcpAuthRepository::create_oauth_config(std::string_view org_id,
                                                                 const NewMcpOAuthConfig& c) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_new_config(c));
  std::optional<std::string> sealed_secret;
  if (c.client_secret.has_value()) {
    ANNALS_ASSIGN_OR_RETURN(sealed_secret,
                            seal(org_id, client_secret_purpose(c.id), *c.client_secret));
  }
  std::optional<std::string> sealed_rat;
  if (c.registration_access_token.has_value()) {
    ANNALS_ASSIGN_OR_RETURN(
        sealed_rat, seal(org_id, registration_token_purpose(c.id), *c.registration_access_token));
  }

  auto cmd = Command::create(ctx_, org_id, config_stream(c.id), c.created_by);
  // Creating the same config twice (a retry) appends it once.
  cmd.idempotency_key("mcp_oauth_config.create/" + c.id);
  cmd.claim(kConfigNameRule, name_reservation(c.mcp_server_id, c.name));
  auto p = cmd.add_event().initMcpAuth().initOauthConfigCreated();
  p.setId(c.id);
  p.setName(c.name);
  p.setMcpServerId(c.mcp_server_id);
  p.setRegistrationType(c.registration_type);
  p.setClientId(c.client_id);
  if (sealed_secret) p.setSealedClientSecret(*sealed_secret);
  p.setAuthorizationEndpoint(c.authorization_endpoint);
  p.setTokenEndpoint(c.token_endpoint);
  if (c.registration_endpoint) p.setRegistrationEndpoint(*c.registration_endpoint);
  if (sealed_rat) p.setSealedRegistrationAccessToken(*sealed_rat);
  if (c.client_id_issued_at) {
    p.initClientIdIssuedAt().setMicros(to_micros(*c.client_id_issued_at));
  } else {
    p.initClientIdIssuedAt().setNone();
  }
  if (c.token_endpoint_auth_method) p.setTokenEndpointAuthMethod(*c.token_endpoint_auth_method);
  if (c.scopes) p.setScopes(*c.scopes);
  p.setCreatedBy(c.created_by);

  auto same = [&](uint64_t position) { return config_same_as_created(org_id, position, c); };
  return public_value<McpOAuthConfig>(
      cmd.append_create(config_id_taken(c.id), same, [&] { return find_config(org_id, c.id); }));
}

Result<McpOAuthConfig> SqlMcpAuthRepository::get_oauth_config(std::string_view org_id,
                                                              std::string_view id) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_id("id", id));
  return public_value<McpOAuthConfig>(find_config(org_id, id));
}

Result<std::vector<McpOAuthConfig>> SqlMcpAuthRepository::list_oauth_configs(
    std::string_view org_id, std::string_view mcp_server_id) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_id("mcp_server_id", mcp_server_id));
  return select_all(
      ctx_, org_id,
      kConfigColumns.select("FROM mcp_oauth_configs WHERE org_id = $1 AND mcp_server_id = $2"
                            " ORDER BY created_at DESC, created_position DESC"),
      {std::string(org_id), std::string(mcp_server_id)}, kConfigColumns.reader<McpOAuthConfig>());
}

Status SqlMcpAuthRepository::delete_oauth_config(std::string_view org_id, std::string_view id) {
  return delete_config(org_id, id, /*with_tokens=*/false);
}

Status SqlMcpAuthRepository::delete_oauth_config_with_tokens(std::string_view org_id,
                                                             std::string_view id) {
  return delete_config(org_id, id, /*with_tokens=*/true);
}

Status SqlMcpAuthRepository::delete_config(std::string_view org_id, std::string_view id,
                                           bool with_tokens) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_id("id", id));
  ANNALS_ASSIGN_OR_RETURN(auto stored, find_config(org_id, id));
  if (!with_tokens) {
    ANNALS_ASSIGN_OR_RETURN(auto txn, ctx_.read(org_id));
    ANNALS_ASSIGN_OR_RETURN(
        auto count,
        txn->query(
            "SELECT COUNT(*) FROM mcp_oauth_tokens WHERE org_id = $1 AND mcp_oauth_config_id = $2",
            {std::string(org_id), std::string(id)}));
    if (count.front().i64(0) > 0) {
      return Status::conflict(kConfigTokensRule,
                              "OAuth config '" + std::string(id) + "' still has " +
                                  std::to_string(count.front().i64(0)) +
                                  " token(s): delete them, or the config with its tokens");
    }
  }

  // One event deletes the config and (in its projection) every token of
  // it. Token commands expect the config's stream at the version they read,
  // so none can follow this one.
  auto cmd = Command::change(ctx_, org_id, config_stream(id), "system", stored.version);
  cmd.release(kConfigNameRule, name_reservation(stored.mcp_server_id, stored.name));
  auto p = cmd.add_event().initMcpAuth().initOauthConfigDeleted();
  p.setId(std::string(id));
  p.setWithTokens(with_tokens);
  return cmd.append().status();
}

Result<McpOAuthClientCredentials> SqlMcpAuthRepository::get_oauth_client_credentials(
    std::string_view org_id, std::string_view id) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_id("id", id));
  ANNALS_ASSIGN_OR_RETURN(auto stored, find_config(org_id, id));
  McpOAuthClientCredentials out;
  out.client_id = stored.client_id;
  if (stored.sealed_client_secret) {
    ANNALS_ASSIGN_OR_RETURN(out.client_secret,
                            open(org_id, client_secret_purpose(id), *stored.sealed_client_secret));
  }
  return out;
}

Result<std::optional<std::string>> SqlMcpAuthRepository::get_oauth_registration_access_token(
    std::string_view org_id, std::string_view id) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_id("id", id));
  ANNALS_ASSIGN_OR_RETURN(auto stored, find_config(org_id, id));
  if (!stored.sealed_registration_access_token) return std::optional<std::string>();
  ANNALS_ASSIGN_OR_RETURN(std::string token, open(org_id, registration_token_purpose(id),
                                                  *stored.sealed_registration_access_token));
  return std::optional<std::string>(std::move(token));
}

Result<StoredConfig> SqlMcpAuthRepository::find_config(std::string_view org_id,
                                                       std::string_view id) {
  return select_by_id(ctx_, org_id, id, kConfigColumns,
                      "FROM mcp_oauth_configs WHERE org_id = $1 AND id = $2", "OAuth config");
}

Result<bool> SqlMcpAuthRepository::config_same_as_created(std::string_view org_id,
                                                          uint64_t position,
                                                          const NewMcpOAuthConfig& c) {
  ANNALS_ASSIGN_OR_RETURN(auto event,
                          mcp_auth_event_at(position, schema::McpAuthEvent::OAUTH_CONFIG_CREATED));
  if (!event.has_value()) return false;
  auto p = event->payload().getMcpAuth().getOauthConfigCreated();
  auto same_optional = [](bool has, capnp::Text::Reader t, const std::optional<std::string>& v) {
    return has == v.has_value() && (!has || same_text(t, *v));
  };
  auto same_secret = [&](bool has, capnp::Text::Reader sealed, const std::string& purpose,
                         const std::optional<std::string>& v) {
    return has == v.has_value() && (!has || opens_to(org_id, purpose, text(sealed), *v));
  };
  std::optional<Timestamp> issued;
  if (p.getClientIdIssuedAt().isMicros()) issued = from_micros(p.getClientIdIssuedAt().getMicros());
  return same_text(p.getId(), c.id) && same_text(p.getName(), c.name) &&
         same_text(p.getMcpServerId(), c.mcp_server_id) &&
         same_text(p.getRegistrationType(), c.registration_type) &&
         same_text(p.getClientId(), c.client_id) &&
         same_text(p.getAuthorizationEndpoint(), c.authorization_endpoint) &&
         same_text(p.getTokenEndpoint(), c.token_endpoint) &&
         same_optional(p.hasRegistrationEndpoint(), p.getRegistrationEndpoint(),
                       c.registration_endpoint) &&
         issued == c.client_id_issued_at &&
         same_optional(p.hasTokenEndpointAuthMethod(), p.getTokenEndpointAuthMethod(),
                       c.token_endpoint_auth_method) &&
         same_optional(p.hasScopes(), p.getScopes(), c.scopes) &&
         same_text(p.getCreatedBy(), c.created_by) &&
         same_secret(p.hasSealedClientSecret(), p.getSealedClientSecret(),
                     client_secret_purpose(c.id), c.client_secret) &&
         same_secret(p.hasSealedRegistrationAccessToken(), p.getSealedRegistrationAccessToken(),
                     registration_token_purpose(c.id), c.registration_access_token);
}

}  // namespace annals::repositories::mcp_auth_detail
