// What the McpServerRepository tests share: the fixture (a RepositoryTest
// with the repository made over the store's internals), how servers and
// instances print, and builders of servers, instances and updates.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "annals/clock.h"
#include "repositories/common.h"
#include "repositories/mcp_repository.h"
#include "tests/conformance_helpers.h"

namespace annals::repositories {

inline const Timestamp kStart = testing::kFixtureStart;

inline std::string mcp_test_opt(const std::optional<std::string>& v) {
  return v ? "\"" + *v + "\"" : "null";
}

inline void PrintTo(const McpServer& s, std::ostream* os) {
  *os << "{id=\"" << s.id << "\", url=\"" << s.url << "\", name=\"" << s.name
      << "\", description=" << mcp_test_opt(s.description) << ", enabled=" << s.enabled
      << ", created_by=\"" << s.created_by << "\", updated_by=\"" << s.updated_by
      << "\", created_at=" << format_timestamp(s.created_at)
      << ", updated_at=" << format_timestamp(s.updated_at) << "}";
}

inline void PrintTo(const McpInstance& m, std::ostream* os) {
  *os << "{id=\"" << m.id << "\", created_by=\"" << m.created_by << "\", server=\""
      << m.mcp_server_id << "\", name=\"" << m.name << "\", slug=\"" << m.slug
      << "\", description=" << mcp_test_opt(m.description) << ", enabled=" << m.enabled
      << ", tools_cache=" << mcp_test_opt(m.tools_cache)
      << ", tools_filter=" << mcp_test_opt(m.tools_filter)
      << ", auth_type=" << mcp_auth_type_name(m.auth_type)
      << ", auth_uuid=" << mcp_test_opt(m.auth_uuid)
      << ", created_at=" << format_timestamp(m.created_at)
      << ", updated_at=" << format_timestamp(m.updated_at) << "}";
}

inline NewMcpServer new_server(std::string id, std::string url) {
  return {std::move(id), std::move(url), "Server", "an MCP server", true, "admin"};
}

inline NewMcpInstance new_instance(std::string id, std::string server, std::string slug,
                                   std::string user = "user-1") {
  NewMcpInstance m;
  m.id = std::move(id);
  m.created_by = std::move(user);
  m.mcp_server_id = std::move(server);
  m.name = "My MCP";
  m.slug = std::move(slug);
  m.description = "tools";
  m.tools_cache = R"([{"name":"search"}])";
  m.tools_filter = R"(["search"])";
  m.auth_type = McpAuthType::kHeader;
  m.auth_uuid = "auth-1";
  return m;
}

inline McpInstance expected_instance(const NewMcpInstance& m, Timestamp at) {
  return {m.id,      m.created_by,  m.mcp_server_id, m.name,      m.slug,      m.description,
          m.enabled, m.tools_cache, m.tools_filter,  m.auth_type, m.auth_uuid, at,
          at};
}

inline McpInstanceUpdate update_of(const McpInstance& m) {
  return {m.name,        m.slug,         m.description, m.enabled,
          m.tools_cache, m.tools_filter, m.auth_type,   m.auth_uuid};
}

using testing::ids_of;
inline std::vector<std::string> ids_of(const std::vector<McpInstanceWithServer>& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.instance.id);
  return out;
}

// The fixture of the McpServerRepository tests: the store's servers half of McpRepository.
class McpServerRepositoryTest : public testing::RepositoryTest {
 protected:
  McpServerRepository& mcp() { return store().mcp().servers(); }
};

}  // namespace annals::repositories
