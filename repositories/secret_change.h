// The one way a repository checks a SecretChange (annals/secret_change.h)
// and writes it into an event (events/common.capnp SecretChange).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "annals/secret_change.h"
#include "annals/status.h"
#include "events/common.capnp.h"

namespace annals::repositories {

class RepositoryContext;

// Whether the secret may be removed (an API key) or must always have a
// value (a header value, an access token).
enum class Clearable { kNo, kYes };

// kInvalidArgument naming `field` when the action is none of keep, set and
// clear; when it clears what is not Clearable; or when `check_value`
// refuses the value it sets.
Status validate_secret_change(std::string_view field, const SecretChange& change,
                              Clearable clearable,
                              const std::function<Status(std::string_view)>& check_value);

// Writes the change into an event: keep, clear, or set with the value
// sealed for the org under `purpose` (repositories::Secrets). Validate it
// first; kInvalidArgument (naming "master_key") when the store has no
// master key and the change sets a value.
Status write_secret_change(RepositoryContext& ctx, std::string_view org_id,
                           std::string_view purpose, const SecretChange& change,
                           schema::SecretChange::Builder out);

}  // namespace annals::repositories
