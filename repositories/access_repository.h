// The SQL implementation of the AccessRepository (annals/access.h) over the
// journal and the read database every repository shares.
#pragma once

#include <memory>

#include "annals/access.h"
#include "repositories/context.h"

namespace annals::repositories {

std::unique_ptr<AccessRepository> make_access_repository(RepositoryContext& context);

}  // namespace annals::repositories
