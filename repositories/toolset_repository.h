// The SQL implementation of the ToolsetRepository (annals/toolsets.h) over the
// journal and the read database every repository shares.
#pragma once

#include <memory>

#include "annals/toolsets.h"
#include "repositories/context.h"

namespace annals::repositories {

std::unique_ptr<ToolsetRepository> make_toolset_repository(RepositoryContext& context);

}  // namespace annals::repositories
