#include "repositories/access_repository.h"

#include "core/validate.h"
#include "repositories/columns.h"
#include "repositories/command.h"
#include "repositories/common.h"
#include "repositories/enum_names.h"

namespace annals::repositories {
namespace {

Status validate_status(UserAccessStatus status) {
  return validate_enum("status", kUserAccessStatusNames, status);
}

Status validate_id(int64_t id) {
  if (id >= 1) return Status::ok();
  return Status::invalid_argument(
      "id", "a request id is a journal position (>= 1); got " + std::to_string(id));
}

// A request as its row holds it: the request, its stream and the stream's
// version.
struct StoredRequest : UserAccessRequest {
  uint64_t version = 0;
  std::string stream_id;
};

const Columns<StoredRequest> kColumns{
    {"org_id", &UserAccessRequest::org_id},         {"id", &UserAccessRequest::id},
    {"username", &UserAccessRequest::username},     {"user_id", &UserAccessRequest::user_id},
    {"reviewer", &UserAccessRequest::reviewer},     {"status", &UserAccessRequest::status},
    {"created_at", &UserAccessRequest::created_at}, {"updated_at", &UserAccessRequest::updated_at},
    {"version", &StoredRequest::version},           {"stream_id", &StoredRequest::stream_id},
};

class SqlAccessRepository final : public AccessRepository {
 public:
  explicit SqlAccessRepository(RepositoryContext& context) : ctx_(context) {}

  Result<UserAccessRequest> insert_pending(std::string_view org_id, std::string_view username,
                                           std::string_view user_id) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_text("username", username, {kMaxUsernameBytes}));
    ANNALS_RETURN_IF_ERROR(validate_text("user_id", user_id, {kMaxAccessUserIdBytes}));

    // Each request is a stream of its own; its id is the position of this
    // event, known only once appended.
    std::string key = new_uuid();
    auto cmd = Command::create(ctx_, org_id, "user-access-request/" + key, user_id);
    auto p = cmd.add_event().initAccess().initUserAccessRequested();
    p.setUsername(std::string(username));
    p.setUserId(std::string(user_id));
    p.setKey(key);
    ANNALS_ASSIGN_OR_RETURN(auto appended, cmd.append());
    return public_value<UserAccessRequest>(
        find(org_id, static_cast<int64_t>(appended.first_position)));
  }

  Result<UserAccessRequest> get_pending(std::string_view org_id,
                                        std::string_view user_id) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_text("user_id", user_id, {kMaxAccessUserIdBytes}));
    return select_one(ctx_, org_id,
                      kColumns.select("FROM user_access_requests WHERE org_id = $1 AND user_id = $2"
                                      " AND status = 'pending' ORDER BY created_at DESC, id DESC"
                                      " LIMIT 1"),
                      {std::string(org_id), std::string(user_id)},
                      "user has no pending access request", kColumns.reader<UserAccessRequest>());
  }

  Result<Page<UserAccessRequest>> list_pending(std::string_view org_id, int64_t page,
                                               int64_t per_page) override {
    return list(org_id, page, per_page, /*pending_only=*/true);
  }

  Result<Page<UserAccessRequest>> list_all(std::string_view org_id, int64_t page,
                                           int64_t per_page) override {
    return list(org_id, page, per_page, /*pending_only=*/false);
  }

  Result<UserAccessRequest> update_status(std::string_view org_id, int64_t id,
                                          UserAccessStatus status,
                                          std::string_view reviewer) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_id(id));
    ANNALS_RETURN_IF_ERROR(validate_status(status));
    ANNALS_RETURN_IF_ERROR(validate_text("reviewer", reviewer, {kMaxReviewerBytes}));
    ANNALS_ASSIGN_OR_RETURN(auto stored, find(org_id, id));

    auto cmd = Command::change(ctx_, org_id, stored.stream_id, reviewer, stored.version);
    auto p = cmd.add_event().initAccess().initUserAccessReviewed();
    p.setId(id);
    p.setStatus(schema_of(kUserAccessStatusNames, status));
    p.setReviewer(std::string(reviewer));
    return public_value<UserAccessRequest>(cmd.append_then([&] { return find(org_id, id); }));
  }

  Result<UserAccessRequest> get(std::string_view org_id, int64_t id) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_id(id));
    return public_value<UserAccessRequest>(find(org_id, id));
  }

 private:
  Result<Page<UserAccessRequest>> list(std::string_view org_id, int64_t page, int64_t per_page,
                                       bool pending_only) {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_page(page, per_page));
    const std::string where =
        pending_only ? " WHERE org_id = $1 AND status = 'pending'" : " WHERE org_id = $1";
    return select_page(ctx_, org_id, "SELECT COUNT(*) FROM user_access_requests" + where,
                       kColumns.select("FROM user_access_requests" + where +
                                       " ORDER BY created_at, id LIMIT $2 OFFSET $3"),
                       {std::string(org_id)}, page, per_page, kColumns.reader<UserAccessRequest>());
  }

  Result<StoredRequest> find(std::string_view org_id, int64_t id) {
    return select_one(ctx_, org_id,
                      kColumns.select("FROM user_access_requests WHERE org_id = $1 AND id = $2"),
                      {std::string(org_id), id},
                      "access request " + std::to_string(id) + " not found", kColumns.reader());
  }

  RepositoryContext& ctx_;
};

}  // namespace

std::string_view user_access_status_name(UserAccessStatus status) {
  return name_of(kUserAccessStatusNames, status);
}

std::unique_ptr<AccessRepository> make_access_repository(RepositoryContext& context) {
  return std::make_unique<SqlAccessRepository>(context);
}

}  // namespace annals::repositories
