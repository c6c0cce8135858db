// The SQL implementation of the SettingsRepository (annals/settings.h) over the
// journal and the read database every repository shares.
#pragma once

#include <memory>

#include "annals/settings.h"
#include "repositories/context.h"

namespace annals::repositories {

std::unique_ptr<SettingsRepository> make_settings_repository(RepositoryContext& context);

}  // namespace annals::repositories
