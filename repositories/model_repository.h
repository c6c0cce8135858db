// The SQL implementation of the ModelRepository (annals/models.h) over the
// journal and the read database every repository shares.
#pragma once

#include <memory>

#include "annals/models.h"
#include "repositories/context.h"

namespace annals::repositories {

std::unique_ptr<ModelRepository> make_model_repository(RepositoryContext& context);

}  // namespace annals::repositories
