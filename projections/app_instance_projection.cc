// app_instances table: at most one row per org (the org is the key);
// created_at survives an upsert of an existing row.
#include "projections/standard_projections.h"
#include "projections/table_projection.h"

namespace annals::projections {
namespace {

using events::Event;
using events::PayloadType;
using Access = schema::AccessEvent;

class AppInstanceProjection final : public TableProjection {
 public:
  AppInstanceProjection()
      : TableProjection("app_instances", {"app_instances"}, {PayloadType::ACCESS}) {}

  Status apply(db::Transaction& txn, const Event& event) override {
    auto access = event.payload().getAccess();
    const auto [org, at, version] = stamp_of(event);
    switch (access.which()) {
      case Access::APP_INSTANCE_UPSERTED: {
        auto p = access.getAppInstanceUpserted();
        return txn.execute_deferred(
            "INSERT INTO app_instances (org_id, client_id, client_secret_sealed, scope, status,"
            " created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $6, $7)"
            " ON CONFLICT (org_id) DO UPDATE SET client_id = excluded.client_id,"
            " client_secret_sealed = excluded.client_secret_sealed, scope = excluded.scope,"
            " status = excluded.status, updated_at = excluded.updated_at,"
            " version = excluded.version",
            {org, text(p.getClientId()), text(p.getSealedClientSecret()), text(p.getScope()),
             text(p.getStatus()), at, version});
      }
      case Access::APP_INSTANCE_STATUS_CHANGED: {
        auto p = access.getAppInstanceStatusChanged();
        ANNALS_ASSIGN_OR_RETURN(
            int64_t changed,
            txn.execute("UPDATE app_instances SET status = $2, updated_at = $3, version = $4"
                        " WHERE org_id = $1",
                        {org, text(p.getStatus()), at, version}));
        if (changed != 1) {
          return Status::internal(
              "access.appInstanceStatusChanged for an org whose app instance the projection "
              "does not hold");
        }
        return Status::ok();
      }
      case Access::APP_INSTANCE_DELETED: {
        ANNALS_ASSIGN_OR_RETURN(int64_t changed,
                                txn.execute("DELETE FROM app_instances WHERE org_id = $1", {org}));
        if (changed != 1) {
          return Status::internal(
              "access.appInstanceDeleted for an org whose app instance the projection does not "
              "hold");
        }
        return Status::ok();
      }
      default:
        return Status::ok();  // another projection's event
    }
  }
};

}  // namespace

std::unique_ptr<Projection> make_app_instance_projection() {
  return std::make_unique<AppInstanceProjection>();
}

}  // namespace annals::projections
