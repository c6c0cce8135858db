// The SQL implementation of the AppInstanceRepository (annals/app_instance.h) over the
// journal and the read database every repository shares.
#pragma once

#include <memory>

#include "annals/app_instance.h"
#include "repositories/context.h"

namespace annals::repositories {

std::unique_ptr<AppInstanceRepository> make_app_instance_repository(RepositoryContext& context);

}  // namespace annals::repositories
