// app_access_requests table: a draft per create, then one state change.
#include "projections/standard_projections.h"
#include "projections/table_projection.h"

namespace annals::projections {
namespace {

using events::Event;
using events::PayloadType;
using Access = schema::AccessEvent;

class AppAccessRequestProjection final : public TableProjection {
 public:
  AppAccessRequestProjection()
      : TableProjection("app_access_requests", {"app_access_requests"}, {PayloadType::ACCESS}) {}

  Status apply(db::Transaction& txn, const Event& event) override {
    auto access = event.payload().getAccess();
    const auto [org, at, version] = stamp_of(event);
    switch (access.which()) {
      case Access::APP_ACCESS_REQUEST_CREATED: {
        auto p = access.getAppAccessRequestCreated();
        return txn.execute_deferred(
            "INSERT INTO app_access_requests (org_id, id, app_client_id, app_name,"
            " app_description, flow_type, redirect_uri, status, requested, approved, user_id,"
            " resource_scope, access_request_scope, error_message, expires_at, created_at,"
            " updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, 'draft', $8, NULL,"
            " NULL, NULL, NULL, NULL, $9, $10, $10, $11)",
            {org, text(p.getId()), text(p.getAppClientId()), text(p.getAppName()),
             text(p.getAppDescription()),
             std::string(p.getFlowType() == schema::AppAccessFlowType::POPUP ? "popup"
                                                                             : "redirect"),
             text(p.getRedirectUri()), text(p.getRequested()), p.getExpiresAtMicros(), at,
             version});
      }
      case Access::APP_ACCESS_REQUEST_APPROVED: {
        auto p = access.getAppAccessRequestApproved();
        db::Value scope = p.hasAccessRequestScope() ? db::Value(text(p.getAccessRequestScope()))
                                                    : db::Value(db::Null{});
        return changed(
            txn.execute("UPDATE app_access_requests SET status = 'approved', user_id = $3,"
                        " approved = $4, resource_scope = $5, access_request_scope = $6,"
                        " updated_at = $7, version = $8 WHERE org_id = $1 AND id = $2",
                        {org, text(p.getId()), text(p.getUserId()), text(p.getApproved()),
                         text(p.getResourceScope()), scope, at, version}),
            "approved", text(p.getId()));
      }
      case Access::APP_ACCESS_REQUEST_DENIED: {
        auto p = access.getAppAccessRequestDenied();
        return changed(txn.execute("UPDATE app_access_requests SET status = 'denied', user_id = $3,"
                                   " updated_at = $4, version = $5 WHERE org_id = $1 AND id = $2",
                                   {org, text(p.getId()), text(p.getUserId()), at, version}),
                       "denied", text(p.getId()));
      }
      case Access::APP_ACCESS_REQUEST_FAILED: {
        auto p = access.getAppAccessRequestFailed();
        return changed(
            txn.execute("UPDATE app_access_requests SET status = 'failed', error_message = $3,"
                        " updated_at = $4, version = $5 WHERE org_id = $1 AND id = $2",
                        {org, text(p.getId()), text(p.getErrorMessage()), at, version}),
            "failed", text(p.getId()));
      }
      default:
        return Status::ok();  // another projection's event
    }
  }

 private:
  static Status changed(const Result<int64_t>& result, const std::string& what,
                        const std::string& id) {
    ANNALS_RETURN_IF_ERROR(result.status());
    if (*result != 1) {
      return Status::internal("access.appAccessRequest" + what + " for request '" + id +
                              "', which the projection does not hold");
    }
    return Status::ok();
  }
};

}  // namespace

std::unique_ptr<Projection> make_app_access_request_projection() {
  return std::make_unique<AppAccessRequestProjection>();
}

}  // namespace annals::projections
