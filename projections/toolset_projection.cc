// toolsets and app_toolset_configs tables.
#include "core/fold.h"  // the *_key columns fold as the reservations do
#include "events/toolset_events.capnp.h"
#include "projections/standard_projections.h"
#include "projections/table_projection.h"

namespace annals::projections {
namespace {

using events::Event;
using events::PayloadType;
using schema::ToolsetEvent;

template <typename Union>
db::Value optional_value(Union u) {
  if (u.isValue()) return text(u.getValue());
  return db::Null{};
}

class ToolsetProjection final : public TableProjection {
 public:
  ToolsetProjection()
      : TableProjection("toolsets", {"toolsets", "app_toolset_configs"}, {PayloadType::TOOLSET}) {}

  Status apply(db::Transaction& txn, const Event& event) override {
    const auto [org, at, version] = stamp_of(event);
    auto group = event.payload().getToolset();
    switch (group.which()) {
      case ToolsetEvent::APP_TOOLSET_CONFIG_SET: {
        auto p = group.getAppToolsetConfigSet();
        return txn.execute_deferred(
            "INSERT INTO app_toolset_configs (org_id, toolset_type, enabled, updated_by,"
            " created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $5, $6)"
            " ON CONFLICT (org_id, toolset_type) DO UPDATE SET enabled = excluded.enabled,"
            " updated_by = excluded.updated_by, updated_at = excluded.updated_at,"
            " version = excluded.version",
            {org, text(p.getToolsetType()), p.getEnabled(), text(p.getUpdatedBy()), at, version});
      }
      case ToolsetEvent::TOOLSET_CREATED: {
        auto p = group.getToolsetCreated();
        db::Value sealed = db::Null{};
        if (p.getApiKey().isSealed()) sealed = text(p.getApiKey().getSealed());
        return txn.execute_deferred(
            "INSERT INTO toolsets (org_id, id, user_id, toolset_type, slug, slug_key,"
            " description, enabled, sealed_api_key, created_at, updated_at, version,"
            " created_position)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12)",
            {org, text(p.getId()), text(p.getUserId()), text(p.getToolsetType()), text(p.getSlug()),
             slug_key(text(p.getSlug())), optional_value(p.getDescription()), p.getEnabled(),
             sealed, at, version, static_cast<int64_t>(event.position())});
      }
      case ToolsetEvent::TOOLSET_UPDATED: {
        auto p = group.getToolsetUpdated();
        std::vector<db::Value> params = {org,
                                         text(p.getId()),
                                         text(p.getUserId()),
                                         text(p.getSlug()),
                                         slug_key(text(p.getSlug())),
                                         optional_value(p.getDescription()),
                                         p.getEnabled(),
                                         at,
                                         version};
        std::string sql =
            "UPDATE toolsets SET slug = $4, slug_key = $5, description = $6, enabled = $7,"
            " updated_at = $8, version = $9";
        auto change = p.getApiKey();
        if (change.isSet()) {
          sql += ", sealed_api_key = $10";
          params.push_back(text(change.getSet()));
        } else if (change.isClear()) {
          sql += ", sealed_api_key = NULL";
        }
        sql += " WHERE org_id = $1 AND id = $2 AND user_id = $3";
        ANNALS_ASSIGN_OR_RETURN(int64_t changed, txn.execute(sql, params));
        return expect_one(changed, "toolset.updated", p.getId());
      }
      case ToolsetEvent::TOOLSET_DELETED: {
        auto p = group.getToolsetDeleted();
        ANNALS_ASSIGN_OR_RETURN(
            int64_t changed,
            txn.execute("DELETE FROM toolsets WHERE org_id = $1 AND id = $2 AND user_id = $3",
                        {org, text(p.getId()), text(p.getUserId())}));
        return expect_one(changed, "toolset.deleted", p.getId());
      }
      default:
        return Status::internal("toolset event of unknown kind " +
                                std::to_string(static_cast<int>(group.which())) + " at position " +
                                std::to_string(event.position()));
    }
  }

 private:
  static Status expect_one(int64_t changed, const char* what, capnp::Text::Reader id) {
    if (changed == 1) return Status::ok();
    return Status::internal(std::string(what) + " for toolset '" + text(id) +
                            "', which the projection does not hold");
  }
};

}  // namespace

std::unique_ptr<Projection> make_toolset_projection() {
  return std::make_unique<ToolsetProjection>();
}

}  // namespace annals::projections
