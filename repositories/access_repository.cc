#include "repositories/access_repository.h"

#include "core/validate.h"
#include "repositories/command.h"
#include "repositories/common.h"
#include "repositories/enum_names.h"

namespace annals::repositories {
namespace {

constexpr const char* kColumns =
    "org_id, id, username, user_id, reviewer, status, created_at, updated_at, version, stream_id";

Status validate_status(UserAccessStatus status) {
  return validate_enum("status", kUserAccessStatusNames, status);
}

Status validate_id(int64_t id) {
  if (id >= 1) return Status::ok();
  return Status::invalid_argument(
      "id", "a request id is a journal position (>= 1); got " + std::to_string(id));
}

schema::UserAccessStatus to_schema(UserAccessStatus status) {
  switch (status) {
    case UserAccessStatus::kPending:
      return schema::UserAccessStatus::PENDING;
    case UserAccessStatus::kApproved:
      return schema::UserAccessStatus::APPROVED;
    case UserAccessStatus::kRejected:
      return schema::UserAccessStatus::REJECTED;
  }
  return schema::UserAccessStatus::PENDING;
}

UserAccessStatus parse_status(const std::string& s) {
  return parse(kUserAccessStatusNames, s, UserAccessStatus::kPending);
}

struct StoredRequest {
  UserAccessRequest request;
  uint64_t version;
  std::string stream_id;
};

StoredRequest from_row(const db::Row& row) {
  UserAccessRequest r;
  r.org_id = row.text(0);
  r.id = row.i64(1);
  r.username = row.text(2);
  r.user_id = row.text(3);
  r.reviewer = optional_text(row, 4);
  r.status = parse_status(row.text(5));
  r.created_at = from_micros(row.i64(6));
  r.updated_at = from_micros(row.i64(7));
  return {std::move(r), static_cast<uint64_t>(row.i64(8)), row.text(9)};
}

UserAccessRequest request_of(const db::Row& row) { return from_row(row).request; }

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
    Command cmd(ctx_, org_id, "user-access-request/" + key, user_id);
    cmd.expect_new();
    auto p = cmd.add_event().initAccess().initUserAccessRequested();
    p.setUsername(std::string(username));
    p.setUserId(std::string(user_id));
    p.setKey(key);
    ANNALS_ASSIGN_OR_RETURN(auto appended, cmd.append());
    ANNALS_ASSIGN_OR_RETURN(auto stored,
                            find(org_id, static_cast<int64_t>(appended.first_position)));
    return stored.request;
  }

  Result<UserAccessRequest> get_pending(std::string_view org_id,
                                        std::string_view user_id) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_text("user_id", user_id, {kMaxAccessUserIdBytes}));
    return select_one(ctx_, org_id,
                      std::string("SELECT ") + kColumns +
                          " FROM user_access_requests WHERE org_id = $1 AND user_id = $2"
                          " AND status = 'pending' ORDER BY created_at DESC, id DESC LIMIT 1",
                      {std::string(org_id), std::string(user_id)},
                      "user has no pending access request", request_of);
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

    Command cmd(ctx_, org_id, stored.stream_id, reviewer);
    cmd.expect_version(stored.version);
    auto p = cmd.add_event().initAccess().initUserAccessReviewed();
    p.setId(id);
    p.setStatus(to_schema(status));
    p.setReviewer(std::string(reviewer));
    ANNALS_RETURN_IF_ERROR(cmd.append().status());
    ANNALS_ASSIGN_OR_RETURN(auto updated, find(org_id, id));
    return updated.request;
  }

  Result<UserAccessRequest> get(std::string_view org_id, int64_t id) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_id(id));
    ANNALS_ASSIGN_OR_RETURN(auto stored, find(org_id, id));
    return stored.request;
  }

 private:
  Result<Page<UserAccessRequest>> list(std::string_view org_id, int64_t page, int64_t per_page,
                                       bool pending_only) {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_page(page, per_page));
    const std::string where =
        pending_only ? " WHERE org_id = $1 AND status = 'pending'" : " WHERE org_id = $1";
    return select_page(ctx_, org_id, "SELECT COUNT(*) FROM user_access_requests" + where,
                       std::string("SELECT ") + kColumns + " FROM user_access_requests" + where +
                           " ORDER BY created_at, id LIMIT $2 OFFSET $3",
                       {std::string(org_id)}, page, per_page, request_of);
  }

  Result<StoredRequest> find(std::string_view org_id, int64_t id) {
    return select_one(ctx_, org_id,
                      std::string("SELECT ") + kColumns +
                          " FROM user_access_requests WHERE org_id = $1 AND id = $2",
                      {std::string(org_id), id},
                      "access request " + std::to_string(id) + " not found", from_row);
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
