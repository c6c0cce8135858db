// Private to mcp_repository_*.cc: the SQL implementation of
// McpServerRepository, split by concern across those files.
#pragma once

#include <string>
#include <string_view>

#include "repositories/columns.h"
#include "repositories/common.h"
#include "repositories/mcp_repository.h"

namespace annals::repositories::mcp_internal {

using StoredServer = Versioned<McpServer>;
using StoredInstance = Versioned<McpInstance>;

inline constexpr Prefixed server_stream{"mcp-server/"};
inline constexpr Prefixed instance_stream{"mcp/"};

class SqlMcpServerRepository final : public McpServerRepository {
 public:
  explicit SqlMcpServerRepository(RepositoryContext& context) : ctx_(context) {}

  // mcp_repository_servers.cc
  Result<McpServer> create_server(std::string_view org_id, const NewMcpServer& server) override;
  Result<McpServer> update_server(std::string_view org_id, std::string_view id,
                                  const McpServerUpdate& update) override;
  Result<McpServer> get_server(std::string_view org_id, std::string_view id) override;
  Result<McpServer> get_server_by_url(std::string_view org_id, std::string_view url) override;
  Result<std::vector<McpServer>> list_servers(std::string_view org_id,
                                              std::optional<bool> enabled) override;
  Result<McpInstanceCounts> count_instances(std::string_view org_id,
                                            std::string_view server_id) override;
  Result<int64_t> clear_instance_tools(std::string_view org_id,
                                       std::string_view server_id) override;

  // mcp_repository_instances.cc
  Result<McpInstance> create_instance(std::string_view org_id,
                                      const NewMcpInstance& instance) override;
  Result<McpInstance> get_instance(std::string_view org_id, std::string_view user_id,
                                   std::string_view id) override;
  Result<McpInstance> get_instance_by_slug(std::string_view org_id, std::string_view user_id,
                                           std::string_view slug) override;
  Result<std::vector<McpInstanceWithServer>> list_instances(std::string_view org_id,
                                                            std::string_view user_id) override;
  Result<McpInstance> update_instance(std::string_view org_id, std::string_view user_id,
                                      std::string_view id,
                                      const McpInstanceUpdate& update) override;
  Status delete_instance(std::string_view org_id, std::string_view user_id,
                         std::string_view id) override;

 private:
  // kNotFound naming the server when the org has none with that id.
  Result<StoredServer> find_server(std::string_view org_id, std::string_view id);
  Result<StoredInstance> find_instance(std::string_view org_id, std::string_view id);
  Result<StoredInstance> find_instance_for_user(std::string_view org_id, std::string_view user_id,
                                                std::string_view id);

  RepositoryContext& ctx_;
};

}  // namespace annals::repositories::mcp_internal
