// The SQL implementation of the UserAliasRepository (annals/user_aliases.h) over the
// journal and the read database every repository shares.
#pragma once

#include <memory>

#include "annals/user_aliases.h"
#include "repositories/context.h"

namespace annals::repositories {

std::unique_ptr<UserAliasRepository> make_user_alias_repository(RepositoryContext& context);

}  // namespace annals::repositories
