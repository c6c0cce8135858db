// McpServerRepository: instances (a user's instances of a server).
#include "core/validate.h"
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
constexpr const char* kColumns =
    "m.id, m.created_by, m.mcp_server_id, m.name, m.slug, m.description, m.enabled,"
    " m.tools_cache, m.tools_filter, m.auth_type, m.auth_uuid, m.created_at, m.updated_at,"
    " m.version";
constexpr size_t kColumnCount = 14;

using rules::slug_value;

Status validate_id(std::string_view id) { return validate_identifier("id", id, kMaxMcpIdBytes); }
Status validate_user(std::string_view user_id) {
  return validate_text("user_id", user_id, {kMaxMcpUserIdBytes});
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

schema::McpInstanceAuthType to_schema(McpAuthType type) {
  switch (type) {
    case McpAuthType::kHeader:
      return schema::McpInstanceAuthType::HEADER;
    case McpAuthType::kOauth:
      return schema::McpInstanceAuthType::OAUTH;
    case McpAuthType::kPublic:
      break;
  }
  return schema::McpInstanceAuthType::PUBLIC;
}

McpAuthType auth_type_of(const std::string& name) {
  return parse(kMcpAuthTypeNames, name, McpAuthType::kPublic);
}

StoredInstance from_row(const db::Row& row) {
  McpInstance m;
  m.id = row.text(0);
  m.created_by = row.text(1);
  m.mcp_server_id = row.text(2);
  m.name = row.text(3);
  m.slug = row.text(4);
  m.description = optional_text(row, 5);
  m.enabled = row.boolean(6);
  m.tools_cache = optional_text(row, 7);
  m.tools_filter = optional_text(row, 8);
  m.auth_type = auth_type_of(row.text(9));
  m.auth_uuid = optional_text(row, 10);
  m.created_at = from_micros(row.i64(11));
  m.updated_at = from_micros(row.i64(12));
  return {std::move(m), static_cast<uint64_t>(row.i64(13))};
}

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
  p.setAuthType(to_schema(f.auth_type));
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
  Command cmd(ctx_, org_id, instance_stream(m.id), m.created_by);
  cmd.expect_new();
  cmd.claim(kSlugRule, slug_value(m.slug, m.created_by));
  fill(cmd.add_event().initMcp().initInstanceCreated(), m.id, m.created_by, m.mcp_server_id,
       fields);

  ANNALS_RETURN_IF_ERROR(cmd.append_or_taken(Status::conflict(kIdRule, "MCP instance id '" + m.id +
                                                                           "' is already used"))
                             .status());
  ANNALS_ASSIGN_OR_RETURN(auto stored, find_instance(org_id, m.id));
  return stored.instance;
}

Result<McpInstance> SqlMcpServerRepository::get_instance(std::string_view org_id,
                                                         std::string_view user_id,
                                                         std::string_view id) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_user(user_id));
  ANNALS_RETURN_IF_ERROR(validate_id(id));
  ANNALS_ASSIGN_OR_RETURN(auto stored, find_instance_for_user(org_id, user_id, id));
  return stored.instance;
}

Result<McpInstance> SqlMcpServerRepository::get_instance_by_slug(std::string_view org_id,
                                                                 std::string_view user_id,
                                                                 std::string_view slug) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_user(user_id));
  ANNALS_RETURN_IF_ERROR(validate_slug(slug));
  return select_one(ctx_, org_id,
                    std::string("SELECT ") + kColumns +
                        " FROM mcps m WHERE m.org_id = $1 AND m.created_by = $2"
                        " AND m.slug_key = $3",
                    {std::string(org_id), std::string(user_id), slug_key(slug)},
                    "no MCP instance with slug '" + std::string(slug) + "'",
                    [](const db::Row& row) { return from_row(row).instance; });
}

Result<std::vector<McpInstanceWithServer>> SqlMcpServerRepository::list_instances(
    std::string_view org_id, std::string_view user_id) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_user(user_id));
  ANNALS_ASSIGN_OR_RETURN(auto txn, ctx_.read(org_id));
  ANNALS_ASSIGN_OR_RETURN(auto rows,
                          txn->query(std::string("SELECT ") + kColumns +
                                         ", s.url, s.name, s.enabled FROM mcps m JOIN mcp_servers s"
                                         " ON s.org_id = m.org_id AND s.id = m.mcp_server_id"
                                         " WHERE m.org_id = $1 AND m.created_by = $2"
                                         " ORDER BY m.created_at, m.created_position",
                                     {std::string(org_id), std::string(user_id)}));
  std::vector<McpInstanceWithServer> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    out.push_back({from_row(row).instance, row.text(kColumnCount), row.text(kColumnCount + 1),
                   row.boolean(kColumnCount + 2)});
  }
  return out;
}

Result<McpInstance> SqlMcpServerRepository::update_instance(std::string_view org_id,
                                                            std::string_view user_id,
                                                            std::string_view id,
                                                            const McpInstanceUpdate& u) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_user(user_id));
  ANNALS_RETURN_IF_ERROR(validate_id(id));
  ANNALS_RETURN_IF_ERROR(validate_fields(u.name, u.slug, u.description, u.tools_cache,
                                         u.tools_filter, u.auth_type, u.auth_uuid));
  ANNALS_ASSIGN_OR_RETURN(auto stored, find_instance_for_user(org_id, user_id, id));

  Command cmd(ctx_, org_id, instance_stream(id), user_id);
  cmd.expect_version(stored.version);
  cmd.rename(kSlugRule, slug_value(stored.instance.slug, user_id), slug_value(u.slug, user_id));
  fill(cmd.add_event().initMcp().initInstanceUpdated(), id, user_id, stored.instance.mcp_server_id,
       u);
  ANNALS_RETURN_IF_ERROR(cmd.append().status());
  ANNALS_ASSIGN_OR_RETURN(auto updated, find_instance(org_id, id));
  return updated.instance;
}

Status SqlMcpServerRepository::delete_instance(std::string_view org_id, std::string_view user_id,
                                               std::string_view id) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_user(user_id));
  ANNALS_RETURN_IF_ERROR(validate_id(id));
  ANNALS_ASSIGN_OR_RETURN(auto stored, find_instance_for_user(org_id, user_id, id));

  Command cmd(ctx_, org_id, instance_stream(id), user_id);
  cmd.expect_version(stored.version);
  cmd.release(kSlugRule, slug_value(stored.instance.slug, user_id));
  auto p = cmd.add_event().initMcp().initInstanceDeleted();
  p.setId(std::string(id));
  p.setCreatedBy(std::string(user_id));
  p.setSlug(stored.instance.slug);
  return cmd.append().status();
}

Result<StoredInstance> SqlMcpServerRepository::find_instance(std::string_view org_id,
                                                             std::string_view id) {
  return select_one(
      ctx_, org_id,
      std::string("SELECT ") + kColumns + " FROM mcps m WHERE m.org_id = $1 AND m.id = $2",
      {std::string(org_id), std::string(id)}, "MCP instance '" + std::string(id) + "' not found",
      from_row);
}

Result<StoredInstance> SqlMcpServerRepository::find_instance_for_user(std::string_view org_id,
                                                                      std::string_view user_id,
                                                                      std::string_view id) {
  auto stored = find_instance(org_id, id);
  if (stored.is_ok() && stored->instance.created_by != user_id) {
    return Status::not_found("MCP instance '" + std::string(id) + "' not found");
  }
  return stored;
}

}  // namespace annals::repositories::mcp_internal
