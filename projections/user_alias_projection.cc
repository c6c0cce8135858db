// user_aliases table.
#include "projections/standard_projections.h"
#include "projections/table_projection.h"

namespace annals::projections {
namespace {

using events::Event;
using events::PayloadType;
using Access = schema::AccessEvent;

class UserAliasProjection final : public TableProjection {
 public:
  UserAliasProjection()
      : TableProjection("user_aliases", {"user_aliases"}, {PayloadType::ACCESS}) {}

  Status apply(db::Transaction& txn, const Event& event) override {
    auto access = event.payload().getAccess();
    const auto [org, at, version] = stamp_of(event);
    switch (access.which()) {
      case Access::USER_ALIAS_CREATED: {
        auto p = access.getUserAliasCreated();
        return txn.execute_deferred(
            "INSERT INTO user_aliases (org_id, id, alias, repo, filename, snapshot,"
            " request_params, context_params, created_at, updated_at, version)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10)",
            {org, text(p.getId()), text(p.getAlias()), text(p.getRepo()), text(p.getFilename()),
             text(p.getSnapshot()), text(p.getRequestParams()), text(p.getContextParams()), at,
             version});
      }
      case Access::USER_ALIAS_UPDATED: {
        auto p = access.getUserAliasUpdated();
        ANNALS_ASSIGN_OR_RETURN(
            int64_t changed,
            txn.execute("UPDATE user_aliases SET alias = $3, repo = $4, filename = $5,"
                        " snapshot = $6, request_params = $7, context_params = $8,"
                        " updated_at = $9, version = $10 WHERE org_id = $1 AND id = $2",
                        {org, text(p.getId()), text(p.getAlias()), text(p.getRepo()),
                         text(p.getFilename()), text(p.getSnapshot()), text(p.getRequestParams()),
                         text(p.getContextParams()), at, version}));
        if (changed != 1) {
          return Status::internal("access.userAliasUpdated for alias '" + text(p.getId()) +
                                  "', which the projection does not hold");
        }
        return Status::ok();
      }
      case Access::USER_ALIAS_DELETED: {
        auto p = access.getUserAliasDeleted();
        ANNALS_ASSIGN_OR_RETURN(
            int64_t changed, txn.execute("DELETE FROM user_aliases WHERE org_id = $1 AND id = $2",
                                         {org, text(p.getId())}));
        if (changed != 1) {
          return Status::internal("access.userAliasDeleted for alias '" + text(p.getId()) +
                                  "', which the projection does not hold");
        }
        return Status::ok();
      }
      default:
        return Status::ok();  // another projection's event
    }
  }
};

}  // namespace

std::unique_ptr<Projection> make_user_alias_projection() {
  return std::make_unique<UserAliasProjection>();
}

}  // namespace annals::projections
