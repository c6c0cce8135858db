// McpAuthRepository: OAuth tokens (mcp_oauth_tokens).
//
// Every token command expects its config's stream at the version it read
// (the config's stream holds only its creation and deletion), so no token
// event is accepted once the config is deleted: the projection never meets
// a token event for a row the config's deletion already removed.
#include "repositories/mcp_auth_repository_impl.h"
#include "repositories/secret_change.h"

namespace annals::repositories::mcp_auth_detail {
namespace {

// A token's row "t" joined with its config's "c" (for the config's version).
const Columns<StoredToken> kTokenColumns{
    {"t.org_id", &McpOAuthToken::org_id},
    {"t.id", &McpOAuthToken::id},
    {"t.mcp_oauth_config_id", &McpOAuthToken::mcp_oauth_config_id},
    {"t.scopes_granted", &McpOAuthToken::scopes_granted},
    {"t.expires_at", &McpOAuthToken::expires_at},
    {"t.created_by", &McpOAuthToken::created_by},
    {"t.created_at", &McpOAuthToken::created_at},
    {"t.updated_at", &McpOAuthToken::updated_at},
    {"t.sealed_access_token", &StoredToken::sealed_access_token},
    {"t.sealed_refresh_token", &StoredToken::sealed_refresh_token,
     &McpOAuthToken::has_refresh_token},
    {"t.version", &StoredToken::version},
    {"c.version", &StoredToken::config_version}};
constexpr const char* kTokenFrom =
    "FROM mcp_oauth_tokens t JOIN mcp_oauth_configs c"
    " ON c.org_id = t.org_id AND c.id = t.mcp_oauth_config_id";

Status token_id_taken(std::string_view id) {
  return Status::conflict(kTokenIdRule,
                          "OAuth token id '" + std::string(id) + "' holds, or held, another token");
}

// The arguments that name a user's token.
Status validate_token_key(std::string_view org_id, std::string_view user_id, std::string_view id) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_user("user_id", user_id));
  return validate_id("id", id);
}

Status validate_scopes_granted(const std::optional<std::string>& scopes) {
  return validate_optional("scopes_granted", scopes,
                           {kMaxMcpOAuthScopesBytes, /*allow_empty=*/true});
}

void set_optional_time(schema::McpOptionalTime::Builder b, const std::optional<Timestamp>& t) {
  if (t) {
    b.setMicros(to_micros(*t));
  } else {
    b.setNone();
  }
}

}  // namespace

Result<McpOAuthToken> SqlMcpAuthRepository::create_oauth_token(std::string_view org_id,
                                                               const NewMcpOAuthToken& t) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_id("id", t.id));
  ANNALS_RETURN_IF_ERROR(validate_id("mcp_oauth_config_id", t.mcp_oauth_config_id));
  ANNALS_RETURN_IF_ERROR(validate_secret("access_token", t.access_token));
  if (t.refresh_token) ANNALS_RETURN_IF_ERROR(validate_secret("refresh_token", *t.refresh_token));
  ANNALS_RETURN_IF_ERROR(validate_scopes_granted(t.scopes_granted));
  ANNALS_RETURN_IF_ERROR(validate_user("created_by", t.created_by));
  ANNALS_ASSIGN_OR_RETURN(auto config, find_config(org_id, t.mcp_oauth_config_id));
  ANNALS_ASSIGN_OR_RETURN(std::string sealed_access,
                          seal(org_id, access_token_purpose(t.id), t.access_token));
  std::optional<std::string> sealed_refresh;
  if (t.refresh_token) {
    ANNALS_ASSIGN_OR_RETURN(sealed_refresh,
                            seal(org_id, refresh_token_purpose(t.id), *t.refresh_token));
  }

  auto cmd = Command::create(ctx_, org_id, token_stream(t.id), t.created_by);
  cmd.expect_version(config_stream(t.mcp_oauth_config_id), config.version);
  // Creating the same token twice (a retry) appends it once.
  cmd.idempotency_key("mcp_oauth_token.create/" + t.id);
  auto p = cmd.add_event().initMcpAuth().initOauthTokenCreated();
  p.setId(t.id);
  p.setMcpOauthConfigId(t.mcp_oauth_config_id);
  p.setSealedAccessToken(sealed_access);
  if (sealed_refresh) p.setSealedRefreshToken(*sealed_refresh);
  if (t.scopes_granted) p.setScopesGranted(*t.scopes_granted);
  set_optional_time(p.initExpiresAt(), t.expires_at);
  p.setCreatedBy(t.created_by);

  auto appended = cmd.append();
  if (!appended.is_ok()) {
    if (appended.status().code() != Code::kConcurrencyConflict) return appended.status();
    ANNALS_ASSIGN_OR_RETURN(uint64_t version, ctx_.journal().stream_version(org_id, cmd.stream()));
    if (version > 0) return token_id_taken(t.id);
    // The config moved on (was deleted) since it was read.
    ANNALS_RETURN_IF_ERROR(find_config(org_id, t.mcp_oauth_config_id).status());
    return appended.status();
  }
  auto same = [&](uint64_t position) { return token_same_as_created(org_id, position, t); };
  return public_value<McpOAuthToken>(read_created(*appended, token_id_taken(t.id), same,
                                                  [&] { return find_token(org_id, t.id); }));
}

Result<McpOAuthToken> SqlMcpAuthRepository::get_oauth_token(std::string_view org_id,
                                                            std::string_view user_id,
                                                            std::string_view id) {
  ANNALS_RETURN_IF_ERROR(validate_token_key(org_id, user_id, id));
  return public_value<McpOAuthToken>(find_token_for_user(org_id, user_id, id));
}

Result<McpOAuthToken> SqlMcpAuthRepository::latest_oauth_token(
    std::string_view org_id, std::string_view mcp_oauth_config_id,
    const std::optional<std::string>& user_id) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_id("mcp_oauth_config_id", mcp_oauth_config_id));
  if (user_id) ANNALS_RETURN_IF_ERROR(validate_user("user_id", *user_id));
  ANNALS_ASSIGN_OR_RETURN(auto txn, ctx_.read(org_id));
  std::vector<db::Value> params = {std::string(org_id), std::string(mcp_oauth_config_id)};
  std::string sql = kTokenColumns.select(std::string(kTokenFrom) +
                                         " WHERE t.org_id = $1 AND t.mcp_oauth_config_id = $2");
  if (user_id) {
    sql += " AND t.created_by = $3";
    params.push_back(*user_id);
  }
  sql += " ORDER BY t.created_at DESC, t.created_position DESC LIMIT 1";
  ANNALS_ASSIGN_OR_RETURN(auto rows, txn->query(sql, params));
  if (rows.empty()) {
    return Status::not_found("OAuth config '" + std::string(mcp_oauth_config_id) +
                             "' has no token" + (user_id ? " of that user" : ""));
  }
  return McpOAuthToken(kTokenColumns.read(rows.front()));
}

Result<McpOAuthToken> SqlMcpAuthRepository::update_oauth_token(std::string_view org_id,
                                                               std::string_view user_id,
                                                               std::string_view id,
                                                               const McpOAuthTokenUpdate& u) {
  ANNALS_RETURN_IF_ERROR(validate_token_key(org_id, user_id, id));
  ANNALS_RETURN_IF_ERROR(validate_secret_change(
      "access_token", u.access_token, Clearable::kNo,
      [](std::string_view token) { return validate_secret("access_token", token); }));
  ANNALS_RETURN_IF_ERROR(validate_secret_change(
      "refresh_token", u.refresh_token, Clearable::kYes,
      [](std::string_view token) { return validate_secret("refresh_token", token); }));
  ANNALS_RETURN_IF_ERROR(validate_scopes_granted(u.scopes_granted));
  ANNALS_ASSIGN_OR_RETURN(auto stored, find_token_for_user(org_id, user_id, id));

  auto cmd = Command::change(ctx_, org_id, token_stream(id), user_id, stored.version);
  cmd.expect_version(config_stream(stored.mcp_oauth_config_id), stored.config_version);
  auto p = cmd.add_event().initMcpAuth().initOauthTokenUpdated();
  p.setId(std::string(id));
  ANNALS_RETURN_IF_ERROR(write_secret_change(ctx_, org_id, access_token_purpose(id), u.access_token,
                                             p.initAccessToken()));
  ANNALS_RETURN_IF_ERROR(write_secret_change(ctx_, org_id, refresh_token_purpose(id),
                                             u.refresh_token, p.initRefreshToken()));
  if (u.scopes_granted) p.setScopesGranted(*u.scopes_granted);
  set_optional_time(p.initExpiresAt(), u.expires_at);
  return public_value<McpOAuthToken>(cmd.append_then([&] { return find_token(org_id, id); }));
}

Status SqlMcpAuthRepository::delete_oauth_token(std::string_view org_id, std::string_view user_id,
                                                std::string_view id) {
  ANNALS_RETURN_IF_ERROR(validate_token_key(org_id, user_id, id));
  ANNALS_ASSIGN_OR_RETURN(auto stored, find_token_for_user(org_id, user_id, id));

  auto cmd = Command::change(ctx_, org_id, token_stream(id), user_id, stored.version);
  cmd.expect_version(config_stream(stored.mcp_oauth_config_id), stored.config_version);
  auto p = cmd.add_event().initMcpAuth().initOauthTokenDeleted();
  p.setId(std::string(id));
  p.setMcpOauthConfigId(stored.mcp_oauth_config_id);
  return cmd.append().status();
}

Result<int64_t> SqlMcpAuthRepository::delete_oauth_tokens_of_config(
    std::string_view org_id, std::string_view mcp_oauth_config_id) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_id("mcp_oauth_config_id", mcp_oauth_config_id));
  return delete_tokens_of_config(org_id, mcp_oauth_config_id, std::nullopt);
}

Result<int64_t> SqlMcpAuthRepository::delete_oauth_tokens_of_config_for_user(
    std::string_view org_id, std::string_view mcp_oauth_config_id, std::string_view user_id) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_id("mcp_oauth_config_id", mcp_oauth_config_id));
  ANNALS_RETURN_IF_ERROR(validate_user("user_id", user_id));
  return delete_tokens_of_config(org_id, mcp_oauth_config_id, std::string(user_id));
}

Result<int64_t> SqlMcpAuthRepository::delete_tokens_of_config(
    std::string_view org_id, std::string_view config_id,
    const std::optional<std::string>& user_id) {
  ANNALS_ASSIGN_OR_RETURN(auto config, find_config(org_id, config_id));
  ANNALS_ASSIGN_OR_RETURN(auto txn, ctx_.read(org_id));
  std::vector<db::Value> params = {std::string(org_id), std::string(config_id)};
  std::string sql =
      "SELECT id, version FROM mcp_oauth_tokens WHERE org_id = $1 AND mcp_oauth_config_id = $2";
  if (user_id) {
    sql += " AND created_by = $3";
    params.push_back(*user_id);
  }
  sql += " ORDER BY created_position";
  ANNALS_ASSIGN_OR_RETURN(auto rows, txn->query(sql, params));
  if (rows.empty()) return int64_t{0};

  // One append of the config: every token goes, or (a token changed
  // meanwhile) none does.
  Command cmd(ctx_, org_id, config_stream(config_id), user_id.value_or("system"));
  for (const auto& row : rows) {
    std::string stream = token_stream(row.text(0));
    cmd.expect_version(stream, static_cast<uint64_t>(row.i64(1)));
    auto p = cmd.add_event(stream).initMcpAuth().initOauthTokenDeleted();
    p.setId(row.text(0));
    p.setMcpOauthConfigId(std::string(config_id));
  }
  cmd.expect_version(config.version);
  ANNALS_RETURN_IF_ERROR(cmd.append().status());
  return static_cast<int64_t>(rows.size());
}

Result<std::pair<std::string, std::string>> SqlMcpAuthRepository::get_oauth_bearer(
    std::string_view org_id, std::string_view user_id, std::string_view id) {
  ANNALS_ASSIGN_OR_RETURN(auto secrets, get_oauth_token_secrets(org_id, user_id, id));
  return std::make_pair(std::string("Authorization"), "Bearer " + secrets.access_token);
}

Result<McpOAuthTokenSecrets> SqlMcpAuthRepository::get_oauth_token_secrets(std::string_view org_id,
                                                                           std::string_view user_id,
                                                                           std::string_view id) {
  ANNALS_RETURN_IF_ERROR(validate_token_key(org_id, user_id, id));
  ANNALS_ASSIGN_OR_RETURN(auto stored, find_token_for_user(org_id, user_id, id));
  McpOAuthTokenSecrets out;
  ANNALS_ASSIGN_OR_RETURN(out.access_token,
                          open(org_id, access_token_purpose(id), stored.sealed_access_token));
  if (stored.sealed_refresh_token) {
    ANNALS_ASSIGN_OR_RETURN(out.refresh_token,
                            open(org_id, refresh_token_purpose(id), *stored.sealed_refresh_token));
  }
  return out;
}

Result<StoredToken> SqlMcpAuthRepository::find_token(std::string_view org_id, std::string_view id) {
  return select_by_id(ctx_, org_id, id, kTokenColumns,
                      std::string(kTokenFrom) + " WHERE t.org_id = $1 AND t.id = $2",
                      "OAuth token");
}

Result<StoredToken> SqlMcpAuthRepository::find_token_for_user(std::string_view org_id,
                                                              std::string_view user_id,
                                                              std::string_view id) {
  return owned_by(find_token(org_id, id), &McpOAuthToken::created_by, user_id,
                  "OAuth token '" + std::string(id) + "' not found");
}

Result<bool> SqlMcpAuthRepository::token_same_as_created(std::string_view org_id, uint64_t position,
                                                         const NewMcpOAuthToken& t) {
  ANNALS_ASSIGN_OR_RETURN(auto event,
                          mcp_auth_event_at(position, schema::McpAuthEvent::OAUTH_TOKEN_CREATED));
  if (!event.has_value()) return false;
  auto p = event->payload().getMcpAuth().getOauthTokenCreated();
  std::optional<Timestamp> expires;
  if (p.getExpiresAt().isMicros()) expires = from_micros(p.getExpiresAt().getMicros());
  const bool same_scopes =
      p.hasScopesGranted() == t.scopes_granted.has_value() &&
      (!t.scopes_granted.has_value() || same_text(p.getScopesGranted(), *t.scopes_granted));
  const bool same_refresh =
      p.hasSealedRefreshToken() == t.refresh_token.has_value() &&
      (!t.refresh_token.has_value() || opens_to(org_id, refresh_token_purpose(t.id),
                                                text(p.getSealedRefreshToken()), *t.refresh_token));
  return same_text(p.getId(), t.id) && same_text(p.getMcpOauthConfigId(), t.mcp_oauth_config_id) &&
         same_text(p.getCreatedBy(), t.created_by) && expires == t.expires_at && same_scopes &&
         same_refresh &&
         opens_to(org_id, access_token_purpose(t.id), text(p.getSealedAccessToken()),
                  t.access_token);
}

}  // namespace annals::repositories::mcp_auth_detail
