#include "repositories/settings_repository.h"

#include "core/validate.h"
#include "repositories/command.h"
#include "repositories/common.h"
#include "repositories/reservation_rules.h"

namespace annals::repositories {
namespace {

constexpr const char* kKeyRule = rules::kSettingKey;
constexpr const char* kColumns = "key, value, value_type, created_at, updated_at, version";

std::string stream_of(std::string_view key) { return "setting/" + std::string(key); }

Status validate_key(std::string_view key) {
  return validate_text("key", key, {kMaxSettingKeyBytes});
}

struct StoredSetting {
  Setting setting;
  uint64_t version;
};

StoredSetting from_row(const db::Row& row) {
  return {{row.text(0), row.text(1), row.text(2), from_micros(row.i64(3)), from_micros(row.i64(4))},
          static_cast<uint64_t>(row.i64(5))};
}

class SqlSettingsRepository final : public SettingsRepository {
 public:
  explicit SqlSettingsRepository(RepositoryContext& context) : ctx_(context) {}

  Result<Setting> get(std::string_view org_id, std::string_view key) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_key(key));
    ANNALS_ASSIGN_OR_RETURN(auto stored, find(org_id, key));
    return stored.setting;
  }

  Result<Setting> upsert(std::string_view org_id, std::string_view key, std::string_view value,
                         std::string_view value_type) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_key(key));
    ANNALS_RETURN_IF_ERROR(validate_text("value", value, {kMaxSettingValueBytes, true}));
    ANNALS_RETURN_IF_ERROR(
        validate_identifier("value_type", value_type, kMaxSettingValueTypeBytes));

    Command cmd(ctx_, org_id, stream_of(key), "system");
    cmd.claim(kKeyRule, std::string(key));
    auto p = cmd.add_event().initSettingUpserted();
    p.setKey(std::string(key));
    p.setValue(std::string(value));
    events::set_setting_value_type(p, value_type);
    ANNALS_RETURN_IF_ERROR(cmd.append().status());
    return get(org_id, key);
  }

  Status remove(std::string_view org_id, std::string_view key) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_key(key));
    ANNALS_ASSIGN_OR_RETURN(auto stored, find(org_id, key));

    Command cmd(ctx_, org_id, stream_of(key), "system");
    cmd.expect_version(stored.version);
    cmd.release(kKeyRule, std::string(key));
    cmd.add_event().initSettingDeleted().setKey(std::string(key));
    return cmd.append().status();
  }

  Result<std::vector<Setting>> list(std::string_view org_id) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    return select_all(
        ctx_, org_id,
        std::string("SELECT ") + kColumns + " FROM settings WHERE org_id = $1 ORDER BY key",
        {std::string(org_id)}, [](const db::Row& row) { return from_row(row).setting; });
  }

 private:
  Result<StoredSetting> find(std::string_view org_id, std::string_view key) {
    return select_one(
        ctx_, org_id,
        std::string("SELECT ") + kColumns + " FROM settings WHERE org_id = $1 AND key = $2",
        {std::string(org_id), std::string(key)}, "setting '" + std::string(key) + "' not found",
        from_row);
  }

  RepositoryContext& ctx_;
};

}  // namespace

std::unique_ptr<SettingsRepository> make_settings_repository(RepositoryContext& context) {
  return std::make_unique<SqlSettingsRepository>(context);
}

}  // namespace annals::repositories
