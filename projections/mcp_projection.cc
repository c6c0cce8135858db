// mcp_servers and mcps tables.
#include "core/fold.h"  // the *_key columns fold as the reservations do
#include "events/mcp_events.capnp.h"
#include "projections/standard_projections.h"
#include "projections/table_projection.h"

namespace annals::projections {
namespace {

using events::Event;
using events::PayloadType;
using schema::McpEvent;

template <typename Union>
db::Value optional_value(Union u) {
  if (u.isValue()) return text(u.getValue());
  return db::Null{};
}

template <typename Union>
db::Value optional_json(Union u) {
  if (u.isJson()) return text(u.getJson());
  return db::Null{};
}

std::string auth_type_name(schema::McpInstanceAuthType type) {
  switch (type) {
    case schema::McpInstanceAuthType::PUBLIC:
      return "public";
    case schema::McpInstanceAuthType::HEADER:
      return "header";
    case schema::McpInstanceAuthType::OAUTH:
      return "oauth";
  }
  return "unknown";
}

class McpProjection final : public TableProjection {
 public:
  McpProjection() : TableProjection("mcp", {"mcp_servers", "mcps"}, {PayloadType::MCP}) {}

  Status apply(db::Transaction& txn, const Event& event) override {
    const auto [org, at, version] = stamp_of(event);
    int64_t position = static_cast<int64_t>(event.position());
    auto group = event.payload().getMcp();
    switch (group.which()) {
      case McpEvent::SERVER_CREATED: {
        auto p = group.getServerCreated();
        return txn.execute_deferred(
            "INSERT INTO mcp_servers (org_id, id, url, url_key, name, description, enabled,"
            " created_by, updated_by, created_at, updated_at, version, created_position)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $9, $10, $11)",
            {org, text(p.getId()), text(p.getUrl()), url_key(text(p.getUrl())), text(p.getName()),
             optional_value(p.getDescription()), p.getEnabled(), text(p.getActor()), at, version,
             position});
      }
      case McpEvent::SERVER_UPDATED: {
        auto p = group.getServerUpdated();
        ANNALS_ASSIGN_OR_RETURN(
            int64_t changed,
            txn.execute("UPDATE mcp_servers SET url = $3, url_key = $4, name = $5,"
                        " description = $6, enabled = $7, updated_by = $8, updated_at = $9,"
                        " version = $10 WHERE org_id = $1 AND id = $2",
                        {org, text(p.getId()), text(p.getUrl()), url_key(text(p.getUrl())),
                         text(p.getName()), optional_value(p.getDescription()), p.getEnabled(),
                         text(p.getActor()), at, version}));
        return expect_one(changed, "mcp.serverUpdated", "server", p.getId());
      }
      case McpEvent::INSTANCE_CREATED: {
        auto p = group.getInstanceCreated();
        return txn.execute_deferred(
            "INSERT INTO mcps (org_id, id, created_by, mcp_server_id, name, slug, slug_key,"
            " description, enabled, tools_cache, tools_filter, auth_type, auth_uuid,"
            " created_at, updated_at, version, created_position)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15,"
            " $16)",
            {org, text(p.getId()), text(p.getCreatedBy()), text(p.getMcpServerId()),
             text(p.getName()), text(p.getSlug()), slug_key(text(p.getSlug())),
             optional_value(p.getDescription()), p.getEnabled(), optional_json(p.getToolsCache()),
             optional_json(p.getToolsFilter()), auth_type_name(p.getAuthType()),
             optional_value(p.getAuthUuid()), at, version, position});
      }
      case McpEvent::INSTANCE_UPDATED: {
        auto p = group.getInstanceUpdated();
        ANNALS_ASSIGN_OR_RETURN(
            int64_t changed,
            txn.execute(
                "UPDATE mcps SET name = $4, slug = $5, slug_key = $6, description = $7,"
                " enabled = $8, tools_cache = $9, tools_filter = $10, auth_type = $11,"
                " auth_uuid = $12, updated_at = $13, version = $14"
                " WHERE org_id = $1 AND id = $2 AND created_by = $3",
                {org, text(p.getId()), text(p.getCreatedBy()), text(p.getName()), text(p.getSlug()),
                 slug_key(text(p.getSlug())), optional_value(p.getDescription()), p.getEnabled(),
                 optional_json(p.getToolsCache()), optional_json(p.getToolsFilter()),
                 auth_type_name(p.getAuthType()), optional_value(p.getAuthUuid()), at, version}));
        return expect_one(changed, "mcp.instanceUpdated", "instance", p.getId());
      }
      case McpEvent::INSTANCE_DELETED: {
        auto p = group.getInstanceDeleted();
        ANNALS_ASSIGN_OR_RETURN(
            int64_t changed,
            txn.execute("DELETE FROM mcps WHERE org_id = $1 AND id = $2 AND created_by = $3",
                        {org, text(p.getId()), text(p.getCreatedBy())}));
        return expect_one(changed, "mcp.instanceDeleted", "instance", p.getId());
      }
      case McpEvent::INSTANCE_TOOLS_CLEARED: {
        auto p = group.getInstanceToolsCleared();
        ANNALS_ASSIGN_OR_RETURN(
            int64_t changed,
            txn.execute("UPDATE mcps SET tools_cache = NULL, tools_filter = NULL,"
                        " updated_at = $4, version = $5"
                        " WHERE org_id = $1 AND id = $2 AND mcp_server_id = $3",
                        {org, text(p.getId()), text(p.getMcpServerId()), at, version}));
        return expect_one(changed, "mcp.instanceToolsCleared", "instance", p.getId());
      }
      default:
        return Status::internal("mcp event of unknown kind " +
                                std::to_string(static_cast<int>(group.which())) + " at position " +
                                std::to_string(event.position()));
    }
  }

 private:
  static Status expect_one(int64_t changed, const char* what, const char* kind,
                           capnp::Text::Reader id) {
    if (changed == 1) return Status::ok();
    return Status::internal(std::string(what) + " for MCP " + kind + " '" + text(id) +
                            "', which the projection does not hold");
  }
};

}  // namespace

std::unique_ptr<Projection> make_mcp_projection() { return std::make_unique<McpProjection>(); }

}  // namespace annals::projections
