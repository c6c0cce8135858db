// The SQL implementation of the McpAuthRepository (annals/mcp_auth.h) over the
// journal and the read database every repository shares.
#pragma once

#include <memory>

#include "annals/mcp_auth.h"
#include "repositories/context.h"

namespace annals::repositories {

std::unique_ptr<McpAuthRepository> make_mcp_auth_repository(RepositoryContext& context);

}  // namespace annals::repositories
