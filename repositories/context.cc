#include "repositories/context.h"

namespace annals::repositories {

Status validate_page(int64_t page, int64_t per_page) {
  if (page < 1)
    return Status::invalid_argument("page", "page starts at 1; got " + std::to_string(page));
  if (per_page < 1 || per_page > kMaxPerPage) {
    return Status::invalid_argument("per_page", "per_page must be between 1 and " +
                                                    std::to_string(kMaxPerPage) + "; got " +
                                                    std::to_string(per_page));
  }
  if (page - 1 > INT64_MAX / per_page) {
    return Status::invalid_argument("page", "page " + std::to_string(page) + " is out of range");
  }
  return Status::ok();
}

Result<journal::AppendResult> RepositoryContext::write(journal::AppendRequest request) {
  std::vector<events::PayloadType> types;
  for (auto& event : request.events) {
    event.stamp_version();
    types.push_back(event.envelope().getPayload().which());
  }
  ANNALS_ASSIGN_OR_RETURN(journal::AppendResult result, journal_.append(std::move(request)));
  if (options_.read_your_writes) {
    // Only the projections that handle these events are waited for.
    ANNALS_RETURN_IF_ERROR(
        projector_.wait_for(result.last_position, options_.visibility_timeout, types));
  }
  return result;
}

Result<std::unique_ptr<db::Transaction>> RepositoryContext::read(std::string_view org_id) {
  ANNALS_ASSIGN_OR_RETURN(auto txn, database_.begin(db::Access::kRead));
  ANNALS_RETURN_IF_ERROR(txn->set_org(org_id));
  return txn;
}

Result<Secrets*> RepositoryContext::secrets() {
  if (secrets_ == nullptr) {
    return Status::invalid_argument("master_key",
                                    "this store was opened without a master key, so it cannot "
                                    "keep secrets: set StoreOptions::master_key");
  }
  return secrets_;
}

Result<std::unique_ptr<db::Transaction>> RepositoryContext::read_unscoped() {
  return database_.begin(db::Access::kRead);
}

}  // namespace annals::repositories
