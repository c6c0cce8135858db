// SettingsRepository: an org's key/value settings.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "annals/clock.h"
#include "annals/page.h"
#include "annals/status.h"

namespace annals::repositories {

struct Setting {
  std::string key;
  std::string value;
  std::string value_type;  // e.g. "string", "number", "boolean", "option"
  Timestamp created_at;
  Timestamp updated_at;

  bool operator==(const Setting&) const = default;
};

inline constexpr size_t kMaxSettingKeyBytes = 255;
inline constexpr size_t kMaxSettingValueBytes = 64 * 1024;
inline constexpr size_t kMaxSettingValueTypeBytes = 32;

// Thread-safe. Every call is scoped to one org.
class SettingsRepository {
 public:
  virtual ~SettingsRepository() = default;

  // kNotFound when the org has no such key.
  virtual Result<Setting> get(std::string_view org_id, std::string_view key) = 0;
  // Creates or replaces the value; created_at of an existing key survives.
  virtual Result<Setting> upsert(std::string_view org_id, std::string_view key,
                                 std::string_view value, std::string_view value_type) = 0;
  // kNotFound when the org has no such key.
  virtual Status remove(std::string_view org_id, std::string_view key) = 0;
  // Ordered by key.
  virtual Result<std::vector<Setting>> list(std::string_view org_id) = 0;
};

}  // namespace annals::repositories
