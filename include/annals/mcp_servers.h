// McpServerRepository: the org's allow-list of MCP (Model Context Protocol)
// servers, and users' instances of them. (MCP auth headers, OAuth configs
// and OAuth tokens live in their own repository; they refer to a server by
// its id.)
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "annals/clock.h"
#include "annals/page.h"
#include "annals/status.h"

namespace annals::repositories {

// --- servers -------------------------------------------------------------------

struct McpServer {
  std::string id;
  std::string url;  // trimmed; unique per org, ASCII case-insensitively
  std::string name;
  std::optional<std::string> description;
  bool enabled = true;
  std::string created_by;
  std::string updated_by;
  Timestamp created_at;
  Timestamp updated_at;

  bool operator==(const McpServer&) const = default;
};

struct NewMcpServer {
  std::string id;   // chosen by the caller (a UUID); never reused
  std::string url;  // leading and trailing whitespace is dropped
  std::string name;
  std::optional<std::string> description;
  bool enabled = true;
  std::string created_by;  // also the first updated_by

  bool operator==(const NewMcpServer&) const = default;
};

// The fields an update replaces.
struct McpServerUpdate {
  std::string url;  // trimmed, as for create
  std::string name;
  std::optional<std::string> description;
  bool enabled = true;
  std::string updated_by;

  bool operator==(const McpServerUpdate&) const = default;
};

struct McpInstanceCounts {
  int64_t enabled = 0;
  int64_t disabled = 0;

  bool operator==(const McpInstanceCounts&) const = default;
};

// --- instances -----------------------------------------------------------------

enum class McpAuthType { kPublic, kHeader, kOauth };
std::string_view mcp_auth_type_name(McpAuthType type);  // "public", "header", "oauth"

struct McpInstance {
  std::string id;
  std::string created_by;  // the user owning it
  std::string mcp_server_id;
  std::string name;
  std::string slug;  // as given; unique per user, ASCII case-insensitively
  std::optional<std::string> description;
  bool enabled = true;
  std::optional<std::string> tools_cache;   // JSON, byte for byte as given
  std::optional<std::string> tools_filter;  // JSON, byte for byte as given
  McpAuthType auth_type = McpAuthType::kPublic;
  std::optional<std::string> auth_uuid;  // the auth header / OAuth config it uses
  Timestamp created_at;
  Timestamp updated_at;

  bool operator==(const McpInstance&) const = default;
};

struct NewMcpInstance {
  std::string id;  // chosen by the caller (a UUID); never reused
  std::string created_by;
  std::string mcp_server_id;  // a server of the org
  std::string name;
  std::string slug;
  std::optional<std::string> description;
  bool enabled = true;
  std::optional<std::string> tools_cache;
  std::optional<std::string> tools_filter;
  McpAuthType auth_type = McpAuthType::kPublic;
  std::optional<std::string> auth_uuid;

  bool operator==(const NewMcpInstance&) const = default;
};

// The fields an update replaces; created_by and mcp_server_id never change.
struct McpInstanceUpdate {
  std::string name;
  std::string slug;
  std::optional<std::string> description;
  bool enabled = true;
  std::optional<std::string> tools_cache;
  std::optional<std::string> tools_filter;
  McpAuthType auth_type = McpAuthType::kPublic;
  std::optional<std::string> auth_uuid;

  bool operator==(const McpInstanceUpdate&) const = default;
};

// An instance with what the user's list shows of its server.
struct McpInstanceWithServer {
  McpInstance instance;
  std::string server_url;
  std::string server_name;
  bool server_enabled = true;

  bool operator==(const McpInstanceWithServer&) const = default;
};

inline constexpr size_t kMaxMcpIdBytes = 64;              // identifier: [A-Za-z0-9_.:-]
inline constexpr size_t kMaxMcpUserIdBytes = 255;         // any text
inline constexpr size_t kMaxMcpUrlBytes = 1024;           // any text, after trimming
inline constexpr size_t kMaxMcpNameBytes = 255;           // any non-empty text
inline constexpr size_t kMaxMcpDescriptionBytes = 4096;   // any text, may be empty
inline constexpr size_t kMaxMcpSlugBytes = 64;            // identifier
inline constexpr size_t kMaxMcpToolsJsonBytes = 1 << 20;  // JSON text
inline constexpr size_t kMaxMcpAuthUuidBytes = 64;        // identifier

// Thread-safe. Every call is scoped to one org (org_id first, validated) and
// can also fail with kUnavailable (storage unreachable; retry) or kTimedOut
// (written, not yet visible; read again). Bad input is kInvalidArgument
// naming the field, and nothing is written.
class McpServerRepository {
 public:
  virtual ~McpServerRepository() = default;

  // --- servers ---

  // kConflict naming "mcp_server.url" when the org has a server whose url
  // equals this one (both trimmed) ignoring ASCII case, or "mcp_server.id"
  // when the id was ever used in the org.
  virtual Result<McpServer> create_server(std::string_view org_id, const NewMcpServer& server) = 0;
  // Replaces url, name, description, enabled and updated_by. A url change
  // frees the old url. kNotFound; kConflict naming "mcp_server.url";
  // kConcurrencyConflict when another write got there first (re-read, retry).
  virtual Result<McpServer> update_server(std::string_view org_id, std::string_view id,
                                          const McpServerUpdate& update) = 0;
  // kNotFound when the org has no such server.
  virtual Result<McpServer> get_server(std::string_view org_id, std::string_view id) = 0;
  // The server whose url equals trim(url) ignoring ASCII case; kNotFound otherwise.
  virtual Result<McpServer> get_server_by_url(std::string_view org_id, std::string_view url) = 0;
  // The org's servers in creation order; only enabled (true) or only
  // disabled (false) ones when `enabled` is given.
  virtual Result<std::vector<McpServer>> list_servers(std::string_view org_id,
                                                      std::optional<bool> enabled) = 0;
  // How many instances of the server (of every user) are enabled and
  // disabled. kNotFound when the org has no such server.
  virtual Result<McpInstanceCounts> count_instances(std::string_view org_id,
                                                    std::string_view server_id) = 0;
  // Sets tools_cache and tools_filter to null on every instance of the
  // server that has either, in one atomic append (one event per instance);
  // returns how many instances changed (0: nothing is appended).
  // kNotFound when the org has no such server; kConcurrencyConflict when an
  // instance changed meanwhile (nothing is cleared; retry).
  virtual Result<int64_t> clear_instance_tools(std::string_view org_id,
                                               std::string_view server_id) = 0;

  // --- instances (each belongs to the user who created it) ---

  // kNotFound naming mcp_server_id when the org has no such server;
  // kConflict naming "mcp.slug" when the user has an instance whose slug
  // equals this one ignoring ASCII case, or "mcp.id" when the id was ever
  // used in the org.
  virtual Result<McpInstance> create_instance(std::string_view org_id,
                                              const NewMcpInstance& instance) = 0;
  // kNotFound unless the instance exists and belongs to the user.
  virtual Result<McpInstance> get_instance(std::string_view org_id, std::string_view user_id,
                                           std::string_view id) = 0;
  // The user's instance whose slug equals `slug` ignoring ASCII case.
  virtual Result<McpInstance> get_instance_by_slug(std::string_view org_id,
                                                   std::string_view user_id,
                                                   std::string_view slug) = 0;
  // The user's instances in creation order, each with its server's url,
  // name and enabled (one query).
  virtual Result<std::vector<McpInstanceWithServer>> list_instances(std::string_view org_id,
                                                                    std::string_view user_id) = 0;
  // Replaces every field of McpInstanceUpdate. A slug change frees the old
  // slug. kNotFound unless the instance belongs to the user; kConflict
  // naming "mcp.slug"; kConcurrencyConflict as for update_server.
  virtual Result<McpInstance> update_instance(std::string_view org_id, std::string_view user_id,
                                              std::string_view id,
                                              const McpInstanceUpdate& update) = 0;
  // Deletes the instance and frees its slug. kNotFound unless it belongs to
  // the user; kConcurrencyConflict as for update_server.
  virtual Status delete_instance(std::string_view org_id, std::string_view user_id,
                                 std::string_view id) = 0;
};

}  // namespace annals::repositories
