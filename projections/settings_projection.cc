// settings table: one row per (org, key); created_at survives updates.
#include "projections/standard_projections.h"
#include "projections/table_projection.h"

namespace annals::projections {
namespace {

using events::Event;
using events::PayloadType;

class SettingsProjection final : public TableProjection {
 public:
  SettingsProjection()
      : TableProjection("settings", {"settings"},
                        {PayloadType::SETTING_UPSERTED, PayloadType::SETTING_DELETED}) {}

  Status apply(db::Transaction& txn, const Event& event) override {
    const auto [org, at, version] = stamp_of(event);
    auto payload = event.payload();
    if (payload.which() == PayloadType::SETTING_UPSERTED) {
      auto p = payload.getSettingUpserted();
      return txn.execute_deferred(
          "INSERT INTO settings (org_id, key, value, value_type, created_at, updated_at, "
          "version)"
          " VALUES ($1, $2, $3, $4, $5, $5, $6)"
          " ON CONFLICT (org_id, key) DO UPDATE SET value = excluded.value,"
          " value_type = excluded.value_type, updated_at = excluded.updated_at,"
          " version = excluded.version",
          {org, text(p.getKey()), text(p.getValue()), events::setting_value_type(p), at, version});
    }
    auto p = payload.getSettingDeleted();
    return txn.execute_deferred("DELETE FROM settings WHERE org_id = $1 AND key = $2",
                                {org, text(p.getKey())});
  }
};

}  // namespace

std::unique_ptr<Projection> make_settings_projection() {
  return std::make_unique<SettingsProjection>();
}

std::vector<std::unique_ptr<Projection>> standard_projections() {
  std::vector<std::unique_ptr<Projection>> out;
  out.push_back(make_settings_projection());
  out.push_back(make_token_projection());
  out.push_back(make_model_projection());
  out.push_back(make_toolset_projection());
  out.push_back(make_mcp_projection());
  out.push_back(make_mcp_auth_projection());
  out.push_back(make_user_access_projection());
  out.push_back(make_app_access_request_projection());
  out.push_back(make_app_instance_projection());
  out.push_back(make_user_alias_projection());
  return out;
}

}  // namespace annals::projections
