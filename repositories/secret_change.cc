#include "repositories/secret_change.h"

#include "repositories/context.h"
#include "repositories/secrets.h"

namespace annals::repositories {

Status validate_secret_change(std::string_view field, const SecretChange& change,
                              Clearable clearable,
                              const std::function<Status(std::string_view)>& check_value) {
  const std::string name(field);
  const bool may_clear = clearable == Clearable::kYes;
  switch (change.action) {
    case SecretChange::Action::kKeep:
      return Status::ok();
    case SecretChange::Action::kSet:
      return check_value(change.value);
    case SecretChange::Action::kClear:
      if (may_clear) return Status::ok();
      return Status::invalid_argument(name, name + " always has a value: keep or set it");
  }
  return Status::invalid_argument(
      name, name + " change " + std::to_string(static_cast<int>(change.action)) +
                " is not one of: keep, set" + (may_clear ? ", clear" : ""));
}

Status write_secret_change(RepositoryContext& ctx, std::string_view org_id,
                           std::string_view purpose, const SecretChange& change,
                           schema::SecretChange::Builder out) {
  switch (change.action) {
    case SecretChange::Action::kSet: {
      ANNALS_ASSIGN_OR_RETURN(Secrets * secrets, ctx.secrets());
      ANNALS_ASSIGN_OR_RETURN(std::string sealed, secrets->seal(org_id, purpose, change.value));
      out.setSet(sealed);
      return Status::ok();
    }
    case SecretChange::Action::kClear:
      out.setClear();
      return Status::ok();
    case SecretChange::Action::kKeep:
      out.setKeep();
      return Status::ok();
  }
  return Status::internal("a secret change that was not validated");
}

}  // namespace annals::repositories
