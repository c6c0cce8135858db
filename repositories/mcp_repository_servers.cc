// McpServerRepository: servers (the org's allow-list).
#include "core/validate.h"
#include "repositories/columns.h"
#include "repositories/command.h"
#include "repositories/common.h"
#include "repositories/enum_names.h"
#include "repositories/mcp_repository.h"
#include "repositories/mcp_repository_internal.h"
#include "repositories/reservation_rules.h"

namespace annals::repositories {
namespace mcp_internal {
namespace {

constexpr const char* kUrlRule = rules::kMcpServerUrl;
constexpr const char* kIdRule = "mcp_server.id";
const Columns<StoredServer> kColumns{
    {"id", &McpServer::id},
    {"url", &McpServer::url},
    {"name", &McpServer::name},
    {"description", &McpServer::description},
    {"enabled", &McpServer::enabled},
    {"created_by", &McpServer::created_by},
    {"updated_by", &McpServer::updated_by},
    {"created_at", &McpServer::created_at},
    {"updated_at", &McpServer::updated_at},
    {"version", &StoredServer::version},
};

Status validate_id(std::string_view id) { return validate_identifier("id", id, kMaxMcpIdBytes); }

// The fields create and update share; `url` is already trimmed.
Status validate_fields(std::string_view url, std::string_view name,
                       const std::optional<std::string>& description) {
  ANNALS_RETURN_IF_ERROR(validate_text("url", url, {kMaxMcpUrlBytes}));
  ANNALS_RETURN_IF_ERROR(validate_text("name", name, {kMaxMcpNameBytes}));
  if (description.has_value()) {
    ANNALS_RETURN_IF_ERROR(validate_text("description", *description,
                                         {kMaxMcpDescriptionBytes, /*allow_empty=*/true}));
  }
  return Status::ok();
}

void fill(schema::McpServerFields::Builder p, std::string_view id, std::string_view url,
          std::string_view name, const std::optional<std::string>& description, bool enabled,
          std::string_view actor) {
  p.setId(std::string(id));
  p.setUrl(std::string(url));
  p.setName(std::string(name));
  if (description.has_value()) p.getDescription().setValue(*description);
  p.setEnabled(enabled);
  p.setActor(std::string(actor));
}

}  // namespace

Result<McpServer> SqlMcpServerRepository::create_server(std::string_view org_id,
                                                        const NewMcpServer& s) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_id(s.id));
  const std::string_view url = trim(s.url);
  ANNALS_RETURN_IF_ERROR(validate_fields(url, s.name, s.description));
  ANNALS_RETURN_IF_ERROR(validate_text("created_by", s.created_by, {kMaxMcpUserIdBytes}));

  auto cmd = Command::create(ctx_, org_id, server_stream(s.id), s.created_by);
  cmd.claim(kUrlRule, rules::url_value(url));
  fill(cmd.add_event().initMcp().initServerCreated(), s.id, url, s.name, s.description, s.enabled,
       s.created_by);

  return public_value<McpServer>(cmd.append_or_taken_then(
      Status::conflict(kIdRule, "MCP server id '" + s.id + "' is already used"),
      [&] { return find_server(org_id, s.id); }));
}

Result<McpServer> SqlMcpServerRepository::update_server(std::string_view org_id,
                                                        std::string_view id,
                                                        const McpServerUpdate& u) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_id(id));
  const std::string_view url = trim(u.url);
  ANNALS_RETURN_IF_ERROR(validate_fields(url, u.name, u.description));
  ANNALS_RETURN_IF_ERROR(validate_text("updated_by", u.updated_by, {kMaxMcpUserIdBytes}));
  ANNALS_ASSIGN_OR_RETURN(auto stored, find_server(org_id, id));

  auto cmd = Command::change(ctx_, org_id, server_stream(id), u.updated_by, stored.version);
  cmd.rename(kUrlRule, rules::url_value(stored.url), rules::url_value(url));
  fill(cmd.add_event().initMcp().initServerUpdated(), id, url, u.name, u.description, u.enabled,
       u.updated_by);
  return public_value<McpServer>(cmd.append_then([&] { return find_server(org_id, id); }));
}

Result<McpServer> SqlMcpServerRepository::get_server(std::string_view org_id, std::string_view id) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_id(id));
  return public_value<McpServer>(find_server(org_id, id));
}

Result<McpServer> SqlMcpServerRepository::get_server_by_url(std::string_view org_id,
                                                            std::string_view url) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_text("url", trim(url), {kMaxMcpUrlBytes}));
  return select_one(
      ctx_, org_id, kColumns.select("FROM mcp_servers WHERE org_id = $1 AND url_key = $2"),
      {std::string(org_id), url_key(url)},
      "no MCP server with url '" + std::string(trim(url)) + "'", kColumns.reader<McpServer>());
}

Result<std::vector<McpServer>> SqlMcpServerRepository::list_servers(std::string_view org_id,
                                                                    std::optional<bool> enabled) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  std::vector<db::Value> params = {std::string(org_id)};
  std::string sql = kColumns.select("FROM mcp_servers WHERE org_id = $1");
  if (enabled.has_value()) {
    sql += " AND enabled = $2";
    params.push_back(*enabled);
  }
  sql += " ORDER BY created_at, created_position";
  return select_all(ctx_, org_id, sql, params, kColumns.reader<McpServer>());
}

Result<McpInstanceCounts> SqlMcpServerRepository::count_instances(std::string_view org_id,
                                                                  std::string_view server_id) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_identifier("server_id", server_id, kMaxMcpIdBytes));
  ANNALS_ASSIGN_OR_RETURN(auto txn, ctx_.read(org_id));
  // One snapshot: the server's existence and its counts agree.
  ANNALS_ASSIGN_OR_RETURN(auto server,
                          txn->query("SELECT id FROM mcp_servers WHERE org_id = $1 AND id = $2",
                                     {std::string(org_id), std::string(server_id)}));
  if (server.empty()) {
    return Status::not_found("MCP server '" + std::string(server_id) + "' not found");
  }
  ANNALS_ASSIGN_OR_RETURN(auto rows,
                          txn->query("SELECT enabled, COUNT(*) FROM mcps WHERE org_id = $1"
                                     " AND mcp_server_id = $2 GROUP BY enabled",
                                     {std::string(org_id), std::string(server_id)}));
  McpInstanceCounts out;
  for (const auto& row : rows) (row.boolean(0) ? out.enabled : out.disabled) = row.i64(1);
  return out;
}

Result<int64_t> SqlMcpServerRepository::clear_instance_tools(std::string_view org_id,
                                                             std::string_view server_id) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_identifier("server_id", server_id, kMaxMcpIdBytes));
  ANNALS_ASSIGN_OR_RETURN(auto server, find_server(org_id, server_id));
  (void)server;
  ANNALS_ASSIGN_OR_RETURN(auto txn, ctx_.read(org_id));
  ANNALS_ASSIGN_OR_RETURN(auto rows,
                          txn->query("SELECT id, version FROM mcps WHERE org_id = $1"
                                     " AND mcp_server_id = $2"
                                     " AND (tools_cache IS NOT NULL OR tools_filter IS NOT NULL)"
                                     " ORDER BY created_position",
                                     {std::string(org_id), std::string(server_id)}));
  txn.reset();
  if (rows.empty()) return int64_t{0};

  // One command of the server: every instance is cleared, or (an instance
  // changed since it was read) none is.
  Command cmd(ctx_, org_id, server_stream(server_id), "system");
  for (const auto& row : rows) {
    std::string stream = instance_stream(row.text(0));
    cmd.expect_version(stream, static_cast<uint64_t>(row.i64(1)));
    auto p = cmd.add_event(stream).initMcp().initInstanceToolsCleared();
    p.setId(row.text(0));
    p.setMcpServerId(std::string(server_id));
  }
  ANNALS_RETURN_IF_ERROR(cmd.append().status());
  return static_cast<int64_t>(rows.size());
}

Result<StoredServer> SqlMcpServerRepository::find_server(std::string_view org_id,
                                                         std::string_view id) {
  return select_by_id(ctx_, org_id, id, kColumns, "FROM mcp_servers WHERE org_id = $1 AND id = $2",
                      "MCP server");
}

}  // namespace mcp_internal

std::string_view mcp_auth_type_name(McpAuthType type) { return name_of(kMcpAuthTypeNames, type); }

std::unique_ptr<McpServerRepository> make_mcp_server_repository(RepositoryContext& context) {
  return std::make_unique<mcp_internal::SqlMcpServerRepository>(context);
}

}  // namespace annals::repositories
