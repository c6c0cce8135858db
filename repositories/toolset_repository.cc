#include "repositories/toolset_repository.h"
#include "repositories/secret_change.h"

#include <algorithm>

#include "core/validate.h"
#include "repositories/columns.h"
#include "repositories/command.h"
#include "repositories/common.h"
#include "repositories/reservation_rules.h"
#include "repositories/secrets.h"

namespace annals::repositories {
namespace {

constexpr const char* kSlugRule = rules::kToolsetSlug;
constexpr const char* kIdRule = "toolset.id";
constexpr const char* kConfigTypeRule = rules::kToolsetConfigType;

// The builtin toolset types, sorted: each has a default config until set.
constexpr std::string_view kBuiltinTypes[] = {kBuiltinExaSearchType};

constexpr Prefixed stream_of{"toolset/"};
constexpr Prefixed config_stream_of{"app-toolset-config/"};
constexpr Prefixed api_key_purpose{"toolsets.api_key/"};
using rules::slug_value;

bool is_builtin(std::string_view type) {
  return std::find(std::begin(kBuiltinTypes), std::end(kBuiltinTypes), type) !=
         std::end(kBuiltinTypes);
}

Status validate_user(std::string_view user_id) {
  return validate_text("user_id", user_id, {kMaxToolsetUserIdBytes});
}
Status validate_id(std::string_view id) {
  return validate_identifier("id", id, kMaxToolsetIdBytes);
}
// The arguments that name a user's toolset.
Status validate_key(std::string_view org_id, std::string_view user_id, std::string_view id) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_user(user_id));
  return validate_id(id);
}
Status validate_slug(std::string_view slug) {
  return validate_identifier("slug", slug, kMaxToolsetSlugBytes);
}
Status validate_type(std::string_view type) {
  return validate_identifier("toolset_type", type, kMaxToolsetTypeBytes);
}
Status validate_description(const std::optional<std::string>& d) {
  if (!d.has_value()) return Status::ok();
  return validate_text("description", *d, {kMaxToolsetDescriptionBytes, true});
}
Status validate_api_key(std::string_view key) {
  return validate_text("api_key", key, {kMaxToolsetApiKeyBytes});
}

// A toolset as its row holds it: the toolset, its sealed API key and the
// version of its stream.
struct StoredToolset : Toolset {
  std::optional<std::string> sealed_api_key;
  uint64_t version = 0;
};

const Columns<StoredToolset> kColumns{
    {"id", &Toolset::id},
    {"user_id", &Toolset::user_id},
    {"toolset_type", &Toolset::toolset_type},
    {"slug", &Toolset::slug},
    {"description", &Toolset::description},
    {"enabled", &Toolset::enabled},
    {"sealed_api_key", &StoredToolset::sealed_api_key, &Toolset::has_api_key},
    {"created_at", &Toolset::created_at},
    {"updated_at", &Toolset::updated_at},
    {"version", &StoredToolset::version}};

const Columns<AppToolsetConfig> kConfigColumns{
    {"toolset_type", &AppToolsetConfig::toolset_type},
    {"enabled", &AppToolsetConfig::enabled},
    {"updated_by", &AppToolsetConfig::updated_by},
    {"created_at", &AppToolsetConfig::created_at},
    {"updated_at", &AppToolsetConfig::updated_at},
};

class SqlToolsetRepository final : public ToolsetRepository {
 public:
  explicit SqlToolsetRepository(RepositoryContext& context) : ctx_(context) {}

  Result<Toolset> create(std::string_view org_id, const NewToolset& t) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_id(t.id));
    ANNALS_RETURN_IF_ERROR(validate_user(t.user_id));
    ANNALS_RETURN_IF_ERROR(validate_type(t.toolset_type));
    ANNALS_RETURN_IF_ERROR(validate_slug(t.slug));
    ANNALS_RETURN_IF_ERROR(validate_description(t.description));
    if (t.api_key.has_value()) ANNALS_RETURN_IF_ERROR(validate_api_key(*t.api_key));

    std::optional<std::string> sealed;
    if (t.api_key.has_value()) {
      ANNALS_ASSIGN_OR_RETURN(Secrets * secrets, ctx_.secrets());
      ANNALS_ASSIGN_OR_RETURN(sealed, secrets->seal(org_id, api_key_purpose(t.id), *t.api_key));
    }

    auto cmd = Command::create(ctx_, org_id, stream_of(t.id), t.user_id);
    cmd.claim(kSlugRule, slug_value(t.slug, t.user_id));
    auto p = cmd.add_event().initToolset().initToolsetCreated();
    p.setId(t.id);
    p.setUserId(t.user_id);
    p.setToolsetType(t.toolset_type);
    p.setSlug(t.slug);
    if (t.description.has_value()) p.getDescription().setValue(*t.description);
    p.setEnabled(t.enabled);
    if (sealed.has_value()) p.getApiKey().setSealed(*sealed);

    return public_value<Toolset>(cmd.append_or_taken_then(
        Status::conflict(kIdRule, "toolset id '" + t.id + "' is already used"),
        [&] { return find(org_id, t.id); }));
  }

  Result<Toolset> get(std::string_view org_id, std::string_view user_id,
                      std::string_view id) override {
    ANNALS_RETURN_IF_ERROR(validate_key(org_id, user_id, id));
    return public_value<Toolset>(find_for_user(org_id, user_id, id));
  }

  Result<Toolset> get_by_slug(std::string_view org_id, std::string_view user_id,
                              std::string_view slug) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_user(user_id));
    ANNALS_RETURN_IF_ERROR(validate_slug(slug));
    return select_one(ctx_, org_id,
                      kColumns.select("FROM toolsets WHERE org_id = $1 AND user_id = $2"
                                      " AND slug_key = $3"),
                      {std::string(org_id), std::string(user_id), slug_key(slug)},
                      "no toolset with slug '" + std::string(slug) + "'",
                      kColumns.reader<Toolset>());
  }

  Result<Toolset> update(std::string_view org_id, std::string_view user_id, std::string_view id,
                         const ToolsetUpdate& u) override {
    ANNALS_RETURN_IF_ERROR(validate_key(org_id, user_id, id));
    ANNALS_RETURN_IF_ERROR(validate_slug(u.slug));
    ANNALS_RETURN_IF_ERROR(validate_description(u.description));
    ANNALS_RETURN_IF_ERROR(
        validate_secret_change("api_key", u.api_key, Clearable::kYes, validate_api_key));
    ANNALS_ASSIGN_OR_RETURN(auto stored, find_for_user(org_id, user_id, id));

    auto cmd = Command::change(ctx_, org_id, stream_of(id), user_id, stored.version);
    cmd.rename(kSlugRule, slug_value(stored.slug, user_id), slug_value(u.slug, user_id));
    auto p = cmd.add_event().initToolset().initToolsetUpdated();
    p.setId(std::string(id));
    p.setUserId(std::string(user_id));
    p.setSlug(u.slug);
    if (u.description.has_value()) p.getDescription().setValue(*u.description);
    p.setEnabled(u.enabled);
    ANNALS_RETURN_IF_ERROR(
        write_secret_change(ctx_, org_id, api_key_purpose(id), u.api_key, p.initApiKey()));
    return public_value<Toolset>(cmd.append_then([&] { return find(org_id, id); }));
  }

  Result<std::vector<Toolset>> list(std::string_view org_id, std::string_view user_id) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_user(user_id));
    return query_list(org_id,
                      "FROM toolsets WHERE org_id = $1 AND user_id = $2"
                      " ORDER BY created_at, created_position",
                      {std::string(org_id), std::string(user_id)});
  }

  Result<std::vector<Toolset>> list_by_type(std::string_view org_id, std::string_view user_id,
                                            std::string_view toolset_type) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_user(user_id));
    ANNALS_RETURN_IF_ERROR(validate_type(toolset_type));
    return query_list(org_id,
                      "FROM toolsets WHERE org_id = $1 AND user_id = $2 AND toolset_type = $3"
                      " ORDER BY created_at, created_position",
                      {std::string(org_id), std::string(user_id), std::string(toolset_type)});
  }

  Status remove(std::string_view org_id, std::string_view user_id, std::string_view id) override {
    ANNALS_RETURN_IF_ERROR(validate_key(org_id, user_id, id));
    ANNALS_ASSIGN_OR_RETURN(auto stored, find_for_user(org_id, user_id, id));

    auto cmd = Command::change(ctx_, org_id, stream_of(id), user_id, stored.version);
    cmd.release(kSlugRule, slug_value(stored.slug, user_id));
    auto p = cmd.add_event().initToolset().initToolsetDeleted();
    p.setId(std::string(id));
    p.setUserId(std::string(user_id));
    p.setSlug(stored.slug);
    return cmd.append().status();
  }

  Result<std::optional<std::string>> get_api_key(std::string_view org_id, std::string_view user_id,
                                                 std::string_view id) override {
    ANNALS_RETURN_IF_ERROR(validate_key(org_id, user_id, id));
    ANNALS_ASSIGN_OR_RETURN(auto stored, find_for_user(org_id, user_id, id));
    if (!stored.sealed_api_key.has_value()) return std::optional<std::string>();
    ANNALS_ASSIGN_OR_RETURN(Secrets * secrets, ctx_.secrets());
    ANNALS_ASSIGN_OR_RETURN(std::string key,
                            secrets->open(org_id, api_key_purpose(id), *stored.sealed_api_key));
    return std::optional<std::string>(std::move(key));
  }

  Result<AppToolsetConfig> set_app_enabled(std::string_view org_id, std::string_view toolset_type,
                                           bool enabled, std::string_view updated_by) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_type(toolset_type));
    ANNALS_RETURN_IF_ERROR(validate_text("updated_by", updated_by, {kMaxToolsetUserIdBytes}));

    Command cmd(ctx_, org_id, config_stream_of(toolset_type), updated_by);
    // One stream per type makes the type unique per org; the claim (always
    // by that stream) records the rule as the settings key does.
    cmd.claim(kConfigTypeRule, std::string(toolset_type));
    auto p = cmd.add_event().initToolset().initAppToolsetConfigSet();
    p.setToolsetType(std::string(toolset_type));
    p.setEnabled(enabled);
    p.setUpdatedBy(std::string(updated_by));
    ANNALS_RETURN_IF_ERROR(cmd.append().status());
    ANNALS_ASSIGN_OR_RETURN(auto stored, find_config(org_id, toolset_type));
    if (!stored.has_value()) {
      return Status::internal("app toolset config '" + std::string(toolset_type) +
                              "' is missing after it was set");
    }
    return *std::move(stored);
  }

  Result<std::vector<AppToolsetConfig>> list_app_configs(std::string_view org_id) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_ASSIGN_OR_RETURN(auto txn, ctx_.read(org_id));
    ANNALS_ASSIGN_OR_RETURN(
        auto rows, txn->query(kConfigColumns.select("FROM app_toolset_configs WHERE org_id = $1"
                                                    " ORDER BY toolset_type"),
                              {std::string(org_id)}));
    std::vector<AppToolsetConfig> out;
    out.reserve(rows.size() + std::size(kBuiltinTypes));
    for (const auto& row : rows) out.push_back(kConfigColumns.read(row));
    for (std::string_view type : kBuiltinTypes) {
      auto at = std::lower_bound(
          out.begin(), out.end(), type,
          [](const AppToolsetConfig& c, std::string_view t) { return c.toolset_type < t; });
      if (at == out.end() || at->toolset_type != type) {
        out.insert(at, default_app_toolset_config(type));
      }
    }
    return out;
  }

  Result<AppToolsetConfig> get_app_config(std::string_view org_id,
                                          std::string_view toolset_type) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_type(toolset_type));
    ANNALS_ASSIGN_OR_RETURN(auto stored, find_config(org_id, toolset_type));
    if (stored.has_value()) return *std::move(stored);
    if (is_builtin(toolset_type)) return default_app_toolset_config(toolset_type);
    return Status::not_found("no app toolset config for type '" + std::string(toolset_type) + "'");
  }

 private:
  Result<std::vector<Toolset>> query_list(std::string_view org_id, const std::string& from_where,
                                          const std::vector<db::Value>& params) {
    return select_all(ctx_, org_id, kColumns.select(from_where), params,
                      kColumns.reader<Toolset>());
  }

  Result<StoredToolset> find(std::string_view org_id, std::string_view id) {
    return select_by_id(ctx_, org_id, id, kColumns, "FROM toolsets WHERE org_id = $1 AND id = $2",
                        "toolset");
  }

  Result<StoredToolset> find_for_user(std::string_view org_id, std::string_view user_id,
                                      std::string_view id) {
    return owned_by(find(org_id, id), &Toolset::user_id, user_id,
                    "toolset '" + std::string(id) + "' not found");
  }

  Result<std::optional<AppToolsetConfig>> find_config(std::string_view org_id,
                                                      std::string_view toolset_type) {
    ANNALS_ASSIGN_OR_RETURN(auto txn, ctx_.read(org_id));
    ANNALS_ASSIGN_OR_RETURN(
        auto rows, txn->query(kConfigColumns.select("FROM app_toolset_configs"
                                                    " WHERE org_id = $1 AND toolset_type = $2"),
                              {std::string(org_id), std::string(toolset_type)}));
    if (rows.empty()) return std::optional<AppToolsetConfig>();
    return std::optional<AppToolsetConfig>(kConfigColumns.read(rows.front()));
  }

  RepositoryContext& ctx_;
};

}  // namespace

AppToolsetConfig default_app_toolset_config(std::string_view toolset_type) {
  return {std::string(toolset_type), false, std::string(kToolsetSystemActor), from_micros(0),
          from_micros(0)};
}

std::unique_ptr<ToolsetRepository> make_toolset_repository(RepositoryContext& context) {
  return std::make_unique<SqlToolsetRepository>(context);
}

}  // namespace annals::repositories
