// user_access_requests table. This projection also rejects access-group
// events no projection knows (unset, or written by a newer Annals); the other
// projections of the group (app access requests, app instance, user aliases)
// skip the members that are not theirs.
#include "projections/standard_projections.h"
#include "projections/table_projection.h"

namespace annals::projections {
namespace {

using events::Event;
using events::PayloadType;
using Access = schema::AccessEvent;

std::string status_name(schema::UserAccessStatus status) {
  switch (status) {
    case schema::UserAccessStatus::PENDING:
      return "pending";
    case schema::UserAccessStatus::APPROVED:
      return "approved";
    case schema::UserAccessStatus::REJECTED:
      return "rejected";
  }
  return "unknown";
}

bool is_known(Access::Which which) {
  switch (which) {
    case Access::USER_ACCESS_REQUESTED:
    case Access::USER_ACCESS_REVIEWED:
    case Access::APP_ACCESS_REQUEST_CREATED:
    case Access::APP_ACCESS_REQUEST_APPROVED:
    case Access::APP_ACCESS_REQUEST_DENIED:
    case Access::APP_ACCESS_REQUEST_FAILED:
    case Access::APP_INSTANCE_UPSERTED:
    case Access::APP_INSTANCE_STATUS_CHANGED:
    case Access::APP_INSTANCE_DELETED:
    case Access::USER_ALIAS_CREATED:
    case Access::USER_ALIAS_UPDATED:
    case Access::USER_ALIAS_DELETED:
      return true;
    case Access::UNSET:
      return false;
  }
  return false;
}

class UserAccessProjection final : public TableProjection {
 public:
  UserAccessProjection()
      : TableProjection("user_access_requests", {"user_access_requests"}, {PayloadType::ACCESS}) {}

  Status apply(db::Transaction& txn, const Event& event) override {
    auto access = event.payload().getAccess();
    const auto which = access.which();
    if (!is_known(which)) {
      return Status::corruption("access event of unknown type " +
                                    std::to_string(static_cast<int>(which)) +
                                    " (unset, or written by a newer Annals?)",
                                "position " + std::to_string(event.position()));
    }
    const auto [org, at, version] = stamp_of(event);
    if (which == Access::USER_ACCESS_REQUESTED) {
      auto p = access.getUserAccessRequested();
      return txn.execute_deferred(
          "INSERT INTO user_access_requests (org_id, id, stream_id, username, user_id,"
          " reviewer, status, created_at, updated_at, version)"
          " VALUES ($1, $2, $3, $4, $5, NULL, 'pending', $6, $6, $7)",
          {org, static_cast<int64_t>(event.position()), std::string(event.stream_id()),
           text(p.getUsername()), text(p.getUserId()), at, version});
    }
    if (which == Access::USER_ACCESS_REVIEWED) {
      auto p = access.getUserAccessReviewed();
      ANNALS_ASSIGN_OR_RETURN(
          int64_t changed,
          txn.execute(
              "UPDATE user_access_requests SET status = $3, reviewer = $4,"
              " updated_at = $5, version = $6 WHERE org_id = $1 AND id = $2",
              {org, p.getId(), status_name(p.getStatus()), text(p.getReviewer()), at, version}));
      if (changed != 1) {
        return Status::internal("access.userAccessReviewed for request " +
                                std::to_string(p.getId()) + ", which the projection does not hold");
      }
    }
    return Status::ok();  // another projection's event
  }
};

}  // namespace

std::unique_ptr<Projection> make_user_access_projection() {
  return std::make_unique<UserAccessProjection>();
}

}  // namespace annals::projections
