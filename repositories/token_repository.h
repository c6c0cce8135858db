// The SQL implementation of the TokenRepository (annals/tokens.h) over the
// journal and the read database every repository shares.
#pragma once

#include <memory>

#include "annals/tokens.h"
#include "events/event.h"
#include "repositories/context.h"

namespace annals::repositories {

std::unique_ptr<TokenRepository> make_token_repository(RepositoryContext& context);

// The event of a token's create, as TokenRepository::create appends it.
void fill_token_created(schema::TokenCreated::Builder p, const NewApiToken& token);

}  // namespace annals::repositories
