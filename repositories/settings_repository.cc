#include "repositories/settings_repository.h"

#include "core/validate.h"
#include "repositories/columns.h"
#include "repositories/command.h"
#include "repositories/common.h"
#include "repositories/reservation_rules.h"

namespace annals::repositories {
namespace {

constexpr const char* kKeyRule = rules::kSettingKey;

constexpr Prefixed stream_of{"setting/"};

Status validate_key(std::string_view key) {
  return validate_text("key", key, {kMaxSettingKeyBytes});
}

using StoredSetting = Versioned<Setting>;

const Columns<StoredSetting> kColumns{
    {"key", &Setting::key},
    {"value", &Setting::value},
    {"value_type", &Setting::value_type},
    {"created_at", &Setting::created_at},
    {"updated_at", &Setting::updated_at},
    {"version", &StoredSetting::version},
};

class SqlSettingsRepository final : public SettingsRepository {
 public:
  explicit SqlSettingsRepository(RepositoryContext& context) : ctx_(context) {}

  Result<Setting> get(std::string_view org_id, std::string_view key) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_key(key));
    return public_value<Setting>(find(org_id, key));
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

    auto cmd = Command::change(ctx_, org_id, stream_of(key), "system", stored.version);
    cmd.release(kKeyRule, std::string(key));
    cmd.add_event().initSettingDeleted().setKey(std::string(key));
    return cmd.append().status();
  }

  Result<std::vector<Setting>> list(std::string_view org_id) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    return select_all(ctx_, org_id, kColumns.select("FROM settings WHERE org_id = $1 ORDER BY key"),
                      {std::string(org_id)}, kColumns.reader<Setting>());
  }

 private:
  Result<StoredSetting> find(std::string_view org_id, std::string_view key) {
    return select_by_id(ctx_, org_id, key, kColumns, "FROM settings WHERE org_id = $1 AND key = $2",
                        "setting");
  }

  RepositoryContext& ctx_;
};

}  // namespace

std::unique_ptr<SettingsRepository> make_settings_repository(RepositoryContext& context) {
  return std::make_unique<SqlSettingsRepository>(context);
}

}  // namespace annals::repositories
