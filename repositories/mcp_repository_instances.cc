// McpServerRepository: instances (a user's instances of a server).
#include "core/validate.h"
#include "repositories/columns.h"
#include "repositories/command.h"
#include "repositories/common.h"
#include "repositories/enum_names.h"
#include "repositories/mcp_repository.h"
#include "repositories/mcp_repository_internal.h"
#include "repositories/reservation_rules.h"

namespace annals::repositories::mcp_internal {
namespace {

constexpr const char* kSlugRule = rules::kMcpSlug;
constexpr const char* kIdRule = "mcp.id";

using rules::slug_value;

Status validate_id(std::string_view id) { return validate_identifier("id", id, kMaxMcpIdBytes); }
Status validate_user(std::string_view user_id) {
  return validate_text("user_id", user_id, {kMaxMcpUserIdBytes});
}
// The arguments that name a user's instance.
Status validate_key(std::string_view org_id, std::string_view user_id, std::string_view id) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_user(user_id));
  return validate_id(id);
}
Status validate_slug(std::string_view slug) {
  return validate_identifier("slug", slug, kMaxMcpSlugBytes);
}

Status validate_auth_type(McpAuthType type) {
  return validate_enum("auth_type", kMcpAuthTypeNames, type);
}

// The fields create and update share.
Status validate_fields(std::string_view name, std::string_view slug,
                       const std::optional<std::string>& description,
                       const std::optional<std::string>& tools_cache,
                       const std::optional<std::string>& tools_filter, McpAuthType auth_type,
                       const std::optional<std::string>& auth_uuid) {
  ANNALS_RETURN_IF_ERROR(validate_text("name", name, {kMaxMcpNameBytes}));
  ANNALS_RETURN_IF_ERROR(validate_slug(slug));
  if (description.has_value()) {
    ANNALS_RETURN_IF_ERROR(validate_text("description", *description,
                                         {kMaxMcpDescriptionBytes, /*allow_empty=*/true}));
  }
  if (tools_cache.has_value()) {
    ANNALS_RETURN_IF_ERROR(validate_json("tools_cache", *tools_cache, kMaxMcpToolsJsonBytes));
  }
  if (tools_filter.has_value()) {
    ANNALS_RETURN_IF_ERROR(validate_json("tools_filter", *tools_filter, kMaxMcpToolsJsonBytes));
  }
  ANNALS_RETURN_IF_ERROR(validate_auth_type(auth_type));
  if (auth_uuid.has_value()) {
    ANNALS_RETURN_IF_ERROR(validate_identifier("auth_uuid", *auth_uuid, kMaxMcpAuthUuidBytes));
  }
  return Status::ok();
}

// The columns of mcps, as "m" (the queries may join its server).
const Columns<StoredInstance> kColumns{
    {"m.id", &McpInstance::id},
    {"m.created_by", &McpInstance::created_by},
    {"m.mcp_server_id", &McpInstance::mcp_server_id},
    {"m.name", &McpInstance::name},
    {"m.slug", &McpInstance::slug},
    {"m.description", &McpInstance::description},
    {"m.enabled", &McpInstance::enabled},
    {"m.tools_cache", &McpInstance::tools_cache},
    {"m.tools_filter", &McpInstance::tools_filter},
    {"m.auth_type", &McpInstance::auth_type},
    {"m.auth_uuid", &McpInstance::auth_uuid},
    {"m.created_at", &McpInstance::created_at},
    {"m.updated_at", &McpInstance::updated_at},
    {"m.version", &StoredInstance::version},
};

void set_optional(auto group, const std::optional<std::string>& v) {
  if (v.has_value()) group.setValue(*v);
}
void set_json(auto group, const std::optional<std::string>& v) {
  if (v.has_value()) group.setJson(*v);
}

// The whole row as an event: created_by and mcp_server_id are the stored ones.
void fill(schema::McpInstanceFields::Builder p, std::string_view id, std::string_view created_by,
          std::string_view mcp_server_id, const McpInstanceUpdate& f) {
  p.setId(std::string(id));
  p.setCreatedBy(std::string(created_by));
  p.setMcpServerId(std::string(mcp_server_id));
  p.setName(f.name);
  p.setSlug(f.slug);
  set_optional(p.getDescription(), f.description);
  p.setEnabled(f.enabled);
  set_json(p.getToolsCache(), f.tools_cache);
  set_json(p.getToolsFilter(), f.tools_filter);
  p.setAuthType(schema_of(kMcpAuthTypeNames, f.auth_type));
  set_optional(p.getAuthUuid(), f.auth_uuid);
}

}  // namespace

Result<McpInstance> SqlMcpServerRepository::create_instance(std::string_view org_id,
                                                            const NewMcpInstance& m) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_id(m.id));
  ANNALS_RETURN_IF_ERROR(validate_text("created_by", m.created_by, {kMaxMcpUserIdBytes}));
  ANNALS_RETURN_IF_ERROR(validate_identifier("mcp_server_id", m.mcp_server_id, kMaxMcpIdBytes));
  ANNALS_RETURN_IF_ERROR(validate_fields(m.name, m.slug, m.description, m.tools_cache,
                                         m.tools_filter, m.auth_type, m.auth_uuid));
  // Servers are never deleted, so one that exists now still exists at the append.
  auto server = find_server(org_id, m.mcp_server_id);
  if (!server.is_ok()) {
    if (server.status().code() != Code::kNotFound) return server.status();
    return Status::not_found("mcp_server_id '" + m.mcp_server_id +
                             "' is not an MCP server of this org");
  }

  const McpInstanceUpdate fields{m.name,        m.slug,         m.description, m.enabled,
                                 m.tools_cache, m.tools_filter, m.auth_type,   m.auth_uuid};
  auto cmd = Command::create(ctx_, org_id, instance_stream(m.id), m.created_by);
  cmd.claim(kSlugRule, slug_value(m.slug, m.created_by));
  fill(cmd.add_event().initMcp().initInstanceCreated(), m.id, m.created_by, m.mcp_server_id,
       fields);

  return public_value<McpInstance>(cmd.append_or_taken_then(
      Status::conflict(kIdRule, "MCP instance id '" + m.id + "' is already used"),
      [&] { return find_instance(org_id, m.id); }));
}

Result<McpInstance> SqlMcpServerRepository::get_instance(std::string_view org_id,
                                                         std::string_view user_id,
                                                         std::string_view id) {
  ANNALS_RETURN_IF_ERROR(validate_key(org_id, user_id, id));
  return public_value<McpInstance>(find_instance_for_user(org_id, user_id, id));
}

Result<McpInstance> SqlMcpServerRepository::get_instance_by_slug(std::string_view org_id,
                                                                 std::string_view user_id,
                                                                 std::string_view slug) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_user(user_id));
  ANNALS_RETURN_IF_ERROR(validate_slug(slug));
  return select_one(ctx_, org_id,
                    kColumns.select("FROM mcps m WHERE m.org_id = $1 AND m.created_by = $2"
                                    " AND m.slug_key = $3"),
                    {std::string(org_id), std::string(user_id), slug_key(slug)},
                    "no MCP instance with slug '" + std::string(slug) + "'",
                    kColumns.reader<McpInstance>());
}

Result<std::vector<McpInstanceWithServer>> SqlMcpServerRepository::list_instances(
    std::string_view org_id, std::string_view user_id) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_user(user_id));
  ANNALS_ASSIGN_OR_RETURN(auto txn, ctx_.read(org_id));
  ANNALS_ASSIGN_OR_RETURN(auto rows,
                          txn->query("SELECT " + kColumns.list() +
                                         ", s.url, s.name, s.enabled FROM mcps m JOIN mcp_servers s"
                                         " ON s.org_id = m.org_id AND s.id = m.mcp_server_id"
                                         " WHERE m.org_id = $1 AND m.created_by = $2"
                                         " ORDER BY m.created_at, m.created_position",
                                     {std::string(org_id), std::string(user_id)}));
  std::vector<McpInstanceWithServer> out;
  out.reserve(rows.size());
  const size_t server = kColumns.size();  // the server's columns follow the instance's
  for (const auto& row : rows) {
    out.push_back({McpInstance(kColumns.read(row)), row.text(server), row.text(server + 1),
                   row.boolean(server + 2)});
  }
  return out;
}

Result<McpInstance> SqlMcpServerRepository::update_instance(std::string_view org_id,
                                                            std::string_view user_id,
                                                            std::string_view id,
                                                            const McpInstanceUpdate& u) {
  ANNALS_RETURN_IF_ERROR(validate_key(org_id, user_id, id));
  ANNALS_RETURN_IF_ERROR(validate_fields(u.name, u.slug, u.description, u.tools_cache,
                                         u.tools_filter, u.auth_type, u.auth_uuid));
  ANNALS_ASSIGN_OR_RETURN(auto stored, find_instance_for_user(org_id, user_id, id));

  auto cmd = Command::change(ctx_, org_id, instance_stream(id), user_id, stored.version);
  cmd.rename(kSlugRule, slug_value(stored.slug, user_id), slug_value(u.slug, user_id));
  fill(cmd.add_event().initMcp().initInstanceUpdated(), id, user_id, stored.mcp_server_id, u);
  return public_value<McpInstance>(cmd.append_then([&] { return find_instance(org_id, id); }));
}

Status SqlMcpServerRepository::delete_instance(std::string_view org_id, std::string_view user_id,
                                               std::string_view id) {
  ANNALS_RETURN_IF_ERROR(validate_key(org_id, user_id, id));
  ANNALS_ASSIGN_OR_RETURN(auto stored, find_instance_for_user(org_id, user_id, id));

  auto cmd = Command::change(ctx_, org_id, instance_stream(id), user_id, stored.version);
  cmd.release(kSlugRule, slug_value(stored.slug, user_id));
  auto p = cmd.add_event().initMcp().initInstanceDeleted();
  p.setId(std::string(id));
  p.setCreatedBy(std::string(user_id));
  p.setSlug(stored.slug);
  return cmd.append().status();
}

Result<StoredInstance> SqlMcpServerRepository::find_instance(std::string_view org_id,
                                                             std::string_view id) {
  return select_by_id(ctx_, org_id, id, kColumns, "FROM mcps m WHERE m.org_id = $1 AND m.id = $2",
                      "MCP instance");
}

Result<StoredInstance> SqlMcpServerRepository::find_instance_for_user(std::string_view org_id,
                                                                      std::string_view user_id,
                                                                      std::string_view id) {
  return owned_by(find_instance(org_id, id), &McpInstance::created_by, user_id,
                  "MCP instance '" + std::string(id) + "' not found");
}

}  // namespace annals::repositories::mcp_internal
