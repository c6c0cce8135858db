// The SQL implementation of the McpServerRepository (annals/mcp_servers.h) over the
// journal and the read database every repository shares.
#pragma once

#include <memory>

#include "annals/mcp_servers.h"
#include "repositories/context.h"

namespace annals::repositories {

std::unique_ptr<McpServerRepository> make_mcp_server_repository(RepositoryContext& context);

}  // namespace annals::repositories
