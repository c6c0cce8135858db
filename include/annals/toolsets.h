// ToolsetRepository: a user's toolsets (with an optional API key, kept only
// sealed) and the org's app-level switch of each toolset type.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "annals/clock.h"
#include "annals/page.h"
#include "annals/secret_change.h"
#include "annals/status.h"

namespace annals::repositories {

struct Toolset {
  std::string id;
  std::string user_id;
  std::string toolset_type;
  std::string slug;  // as given; unique per user, ASCII case-insensitively
  std::optional<std::string> description;
  bool enabled = true;
  bool has_api_key = false;  // the key itself only comes from get_api_key()
  Timestamp created_at;
  Timestamp updated_at;

  bool operator==(const Toolset&) const = default;
};

struct NewToolset {
  std::string id;  // chosen by the caller (a UUID); never reused, even after a delete
  std::string user_id;
  std::string toolset_type;  // e.g. "builtin-exa-search"
  std::string slug;
  std::optional<std::string> description;
  bool enabled = true;
  std::optional<std::string> api_key;  // plain text; stored only sealed

  bool operator==(const NewToolset&) const = default;
};

// The fields an update replaces; toolset_type and user_id never change.
struct ToolsetUpdate {
  std::string slug;
  std::optional<std::string> description;
  bool enabled = true;
  SecretChange api_key;  // keep, set or clear

  bool operator==(const ToolsetUpdate&) const = default;
};

struct AppToolsetConfig {
  std::string toolset_type;
  bool enabled = false;
  std::string updated_by;
  Timestamp created_at;
  Timestamp updated_at;

  bool operator==(const AppToolsetConfig&) const = default;
};

// The builtin toolset type every org has a config for, before it ever sets
// one: disabled, updated_by "system", created_at = updated_at = the epoch
// (1970-01-01T00:00:00Z, meaning "never set"). Nothing is written for it
// until the org sets it.
inline constexpr std::string_view kBuiltinExaSearchType = "builtin-exa-search";
inline constexpr std::string_view kToolsetSystemActor = "system";
AppToolsetConfig default_app_toolset_config(std::string_view toolset_type);

inline constexpr size_t kMaxToolsetIdBytes = 64;             // identifier: [A-Za-z0-9_.:-]
inline constexpr size_t kMaxToolsetUserIdBytes = 255;        // any text
inline constexpr size_t kMaxToolsetTypeBytes = 64;           // identifier
inline constexpr size_t kMaxToolsetSlugBytes = 64;           // identifier
inline constexpr size_t kMaxToolsetDescriptionBytes = 4096;  // any text, may be empty
inline constexpr size_t kMaxToolsetApiKeyBytes = 4096;       // any non-empty text

// Thread-safe. Every call is scoped to one org (org_id first, validated) and
// can also fail with kUnavailable (storage unreachable; retry) or kTimedOut
// (written, not yet visible; read again). Bad input is kInvalidArgument
// naming the field, and nothing is written.
class ToolsetRepository {
 public:
  virtual ~ToolsetRepository() = default;

  // --- toolsets ---

  // kConflict naming "toolset.slug" when the user has a toolset whose slug
  // equals this one ignoring ASCII case, or "toolset.id" when the id was
  // ever used in the org. A given api_key needs the store's master key
  // (kInvalidArgument naming "master_key" otherwise).
  virtual Result<Toolset> create(std::string_view org_id, const NewToolset& toolset) = 0;
  // kNotFound unless the toolset exists and belongs to the user.
  virtual Result<Toolset> get(std::string_view org_id, std::string_view user_id,
                              std::string_view id) = 0;
  // The user's toolset whose slug equals `slug` ignoring ASCII case; kNotFound otherwise.
  virtual Result<Toolset> get_by_slug(std::string_view org_id, std::string_view user_id,
                                      std::string_view slug) = 0;
  // Replaces slug, description and enabled and applies the API-key update.
  // A slug change frees the old slug. kNotFound unless the toolset belongs
  // to the user; kConflict naming "toolset.slug"; kConcurrencyConflict when
  // another write to the toolset got there first (re-read and retry).
  virtual Result<Toolset> update(std::string_view org_id, std::string_view user_id,
                                 std::string_view id, const ToolsetUpdate& update) = 0;
  // The user's toolsets, oldest first (creation order).
  virtual Result<std::vector<Toolset>> list(std::string_view org_id, std::string_view user_id) = 0;
  // The user's toolsets of one type, oldest first.
  virtual Result<std::vector<Toolset>> list_by_type(std::string_view org_id,
                                                    std::string_view user_id,
                                                    std::string_view toolset_type) = 0;
  // Deletes the toolset and frees its slug. kNotFound unless it belongs to
  // the user; kConcurrencyConflict as for update.
  virtual Status remove(std::string_view org_id, std::string_view user_id, std::string_view id) = 0;
  // The decrypted API key, nullopt when the toolset has none. kNotFound
  // unless the toolset belongs to the user; kPermissionDenied or
  // kCorruption when the key cannot be opened (see Secrets::open).
  virtual Result<std::optional<std::string>> get_api_key(std::string_view org_id,
                                                         std::string_view user_id,
                                                         std::string_view id) = 0;

  // --- app toolset configs ---

  // Creates or replaces the org's config of the type; created_at of an
  // existing config survives. Last writer wins.
  virtual Result<AppToolsetConfig> set_app_enabled(std::string_view org_id,
                                                   std::string_view toolset_type, bool enabled,
                                                   std::string_view updated_by) = 0;
  // Every config of the org, ordered by toolset_type, including the builtin
  // default of a builtin type the org never set.
  virtual Result<std::vector<AppToolsetConfig>> list_app_configs(std::string_view org_id) = 0;
  // The config of the type, or its builtin default; kNotFound for a type
  // that is neither set nor builtin.
  virtual Result<AppToolsetConfig> get_app_config(std::string_view org_id,
                                                  std::string_view toolset_type) = 0;
};

}  // namespace annals::repositories
