// The SQL implementation of the AccessRequestRepository (annals/access_requests.h) over the
// journal and the read database every repository shares.
#pragma once

#include <memory>

#include "annals/access_requests.h"
#include "repositories/context.h"

namespace annals::repositories {

std::unique_ptr<AccessRequestRepository> make_access_request_repository(RepositoryContext& context);

}  // namespace annals::repositories
