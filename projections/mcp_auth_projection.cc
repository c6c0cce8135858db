// mcp_auth_headers, mcp_oauth_configs and mcp_oauth_tokens tables: the
// McpRepository's credentials. Only sealed secrets reach these tables.
#include "core/fold.h"  // the *_key columns fold as the reservations do
#include "projections/standard_projections.h"
#include "projections/table_projection.h"

namespace annals::projections {
namespace {

using events::Event;
using events::PayloadType;
using schema::McpAuthEvent;

db::Value nullable_text(bool has, capnp::Text::Reader t) {
  return has ? db::Value(text(t)) : db::Value(db::Null{});
}

db::Value nullable_time(schema::McpOptionalTime::Reader t) {
  return t.isMicros() ? db::Value(t.getMicros()) : db::Value(db::Null{});
}

// An UPDATE or DELETE of one row must find it.
Status expect_one(Result<int64_t> changed, const std::string& what, const std::string& id) {
  if (!changed.is_ok()) return changed.status();
  if (*changed != 1) {
    return Status::internal(what + " for '" + id + "', which the projection does not hold");
  }
  return Status::ok();
}

class McpAuthProjection final : public TableProjection {
 public:
  McpAuthProjection()
      : TableProjection("mcp_auth", {"mcp_auth_headers", "mcp_oauth_configs", "mcp_oauth_tokens"},
                        {PayloadType::MCP_AUTH}) {}

  Status apply(db::Transaction& txn, const Event& event) override {
    const auto [org, at, version] = stamp_of(event);
    const int64_t position = static_cast<int64_t>(event.position());
    auto e = event.payload().getMcpAuth();
    switch (e.which()) {
      case McpAuthEvent::AUTH_HEADER_CREATED: {
        auto p = e.getAuthHeaderCreated();
        return txn.execute_deferred(
            "INSERT INTO mcp_auth_headers (org_id, id, name, name_key, mcp_server_id,"
            " header_key, sealed_header_value, created_by, created_at, updated_at, version,"
            " created_position) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11)",
            {org, text(p.getId()), text(p.getName()), name_key(text(p.getName())),
             text(p.getMcpServerId()), text(p.getHeaderKey()), text(p.getSealedHeaderValue()),
             text(p.getCreatedBy()), at, version, position});
      }
      case McpAuthEvent::AUTH_HEADER_UPDATED: {
        auto p = e.getAuthHeaderUpdated();
        std::vector<db::Value> params = {org,
                                         text(p.getId()),
                                         text(p.getName()),
                                         name_key(text(p.getName())),
                                         text(p.getHeaderKey()),
                                         at,
                                         version};
        std::string sql =
            "UPDATE mcp_auth_headers SET name = $3, name_key = $4, header_key = $5,"
            " updated_at = $6, version = $7";
        auto value = p.getHeaderValue();
        if (value.isSet()) {
          sql += ", sealed_header_value = $8";
          params.push_back(text(value.getSet()));
        } else if (!value.isKeep()) {
          return Status::internal("mcp_auth.authHeaderUpdated clears the value of header '" +
                                  text(p.getId()) + "'; a header always has one");
        }
        sql += " WHERE org_id = $1 AND id = $2";
        return expect_one(txn.execute(sql, params), "mcp_auth.authHeaderUpdated", text(p.getId()));
      }
      case McpAuthEvent::AUTH_HEADER_DELETED: {
        auto p = e.getAuthHeaderDeleted();
        return expect_one(txn.execute("DELETE FROM mcp_auth_headers WHERE org_id = $1 AND id = $2",
                                      {org, text(p.getId())}),
                          "mcp_auth.authHeaderDeleted", text(p.getId()));
      }
      case McpAuthEvent::OAUTH_CONFIG_CREATED: {
        auto p = e.getOauthConfigCreated();
        return txn.execute_deferred(
            "INSERT INTO mcp_oauth_configs (org_id, id, name, name_key, mcp_server_id,"
            " registration_type, client_id, sealed_client_secret, authorization_endpoint,"
            " token_endpoint, registration_endpoint, sealed_registration_access_token,"
            " client_id_issued_at, token_endpoint_auth_method, scopes, created_by, created_at,"
            " updated_at, version, created_position) VALUES ($1, $2, $3, $4, $5, $6, $7, $8,"
            " $9, $10, $11, $12, $13, $14, $15, $16, $17, $17, $18, $19)",
            {org, text(p.getId()), text(p.getName()), name_key(text(p.getName())),
             text(p.getMcpServerId()), text(p.getRegistrationType()), text(p.getClientId()),
             nullable_text(p.hasSealedClientSecret(), p.getSealedClientSecret()),
             text(p.getAuthorizationEndpoint()), text(p.getTokenEndpoint()),
             nullable_text(p.hasRegistrationEndpoint(), p.getRegistrationEndpoint()),
             nullable_text(p.hasSealedRegistrationAccessToken(),
                           p.getSealedRegistrationAccessToken()),
             nullable_time(p.getClientIdIssuedAt()),
             nullable_text(p.hasTokenEndpointAuthMethod(), p.getTokenEndpointAuthMethod()),
             nullable_text(p.hasScopes(), p.getScopes()), text(p.getCreatedBy()), at, version,
             position});
      }
      case McpAuthEvent::OAUTH_CONFIG_DELETED: {
        // The config and every token of it, in this one event.
        auto p = e.getOauthConfigDeleted();
        ANNALS_ASSIGN_OR_RETURN(
            int64_t tokens,
            txn.execute(
                "DELETE FROM mcp_oauth_tokens WHERE org_id = $1 AND mcp_oauth_config_id = $2",
                {org, text(p.getId())}));
        (void)tokens;
        return expect_one(txn.execute("DELETE FROM mcp_oauth_configs WHERE org_id = $1 AND id = $2",
                                      {org, text(p.getId())}),
                          "mcp_auth.oauthConfigDeleted", text(p.getId()));
      }
      case McpAuthEvent::OAUTH_TOKEN_CREATED: {
        auto p = e.getOauthTokenCreated();
        return txn.execute_deferred(
            "INSERT INTO mcp_oauth_tokens (org_id, id, mcp_oauth_config_id,"
            " sealed_access_token, sealed_refresh_token, scopes_granted, expires_at,"
            " created_by, created_at, updated_at, version, created_position)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11)",
            {org, text(p.getId()), text(p.getMcpOauthConfigId()), text(p.getSealedAccessToken()),
             nullable_text(p.hasSealedRefreshToken(), p.getSealedRefreshToken()),
             nullable_text(p.hasScopesGranted(), p.getScopesGranted()),
             nullable_time(p.getExpiresAt()), text(p.getCreatedBy()), at, version, position});
      }
      case McpAuthEvent::OAUTH_TOKEN_UPDATED: {
        auto p = e.getOauthTokenUpdated();
        std::vector<db::Value> params = {org,
                                         text(p.getId()),
                                         nullable_text(p.hasScopesGranted(), p.getScopesGranted()),
                                         nullable_time(p.getExpiresAt()),
                                         at,
                                         version};
        std::string sql =
            "UPDATE mcp_oauth_tokens SET scopes_granted = $3, expires_at = $4, updated_at = $5,"
            " version = $6";
        auto access = p.getAccessToken();
        if (access.isSet()) {
          params.push_back(text(access.getSet()));
          sql += ", sealed_access_token = $" + std::to_string(params.size());
        } else if (!access.isKeep()) {
          return Status::internal("mcp_auth.oauthTokenUpdated clears the access token of '" +
                                  text(p.getId()) + "'; a token always has one");
        }
        auto refresh = p.getRefreshToken();
        if (refresh.isSet()) {
          params.push_back(text(refresh.getSet()));
          sql += ", sealed_refresh_token = $" + std::to_string(params.size());
        } else if (refresh.isClear()) {
          sql += ", sealed_refresh_token = NULL";
        }
        sql += " WHERE org_id = $1 AND id = $2";
        return expect_one(txn.execute(sql, params), "mcp_auth.oauthTokenUpdated", text(p.getId()));
      }
      case McpAuthEvent::OAUTH_TOKEN_DELETED: {
        auto p = e.getOauthTokenDeleted();
        return expect_one(txn.execute("DELETE FROM mcp_oauth_tokens WHERE org_id = $1 AND id = $2",
                                      {org, text(p.getId())}),
                          "mcp_auth.oauthTokenDeleted", text(p.getId()));
      }
      case McpAuthEvent::UNSET:
        break;
    }
    return Status::internal("mcp_auth event of unknown kind " +
                            std::to_string(static_cast<int>(e.which())));
  }
};

}  // namespace

std::unique_ptr<Projection> make_mcp_auth_projection() {
  return std::make_unique<McpAuthProjection>();
}

}  // namespace annals::projections
