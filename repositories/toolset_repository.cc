#include "repositories/toolset_repository.h"
#include "repositories/secret_change.h"

#include <algorithm>

#include "core/validate.h"
#include "repositories/command.h"
#include "repositories/common.h"
#include "repositories/reservation_rules.h"
#include "repositories/secrets.h"

namespace annals::repositories {
namespace {

constexpr const char* kSlugRule = rules::kToolsetSlug;
constexpr const char* kIdRule = "toolset.id";
constexpr const char* kConfigTypeRule = rules::kToolsetConfigType;
constexpr const char* kColumns =
    "id, user_id, toolset_type, slug, description, enabled, sealed_api_key, created_at,"
    " updated_at, version";
constexpr const char* kConfigColumns = "toolset_type, enabled, updated_by, created_at, updated_at";

// The builtin toolset types, sorted: each has a default config until set.
constexpr std::string_view kBuiltinTypes[] = {kBuiltinExaSearchType};

std::string stream_of(std::string_view id) { return "toolset/" + std::string(id); }
std::string config_stream_of(std::string_view type) {
  return "app-toolset-config/" + std::string(type);
}
std::string api_key_purpose(std::string_view id) { return "toolsets.api_key/" + std::string(id); }
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

struct StoredToolset {
  Toolset toolset;
  std::optional<std::string> sealed_api_key;
  uint64_t version;
};

StoredToolset from_row(const db::Row& row) {
  Toolset t;
  t.id = row.text(0);
  t.user_id = row.text(1);
  t.toolset_type = row.text(2);
  t.slug = row.text(3);
  t.description = optional_text(row, 4);
  t.enabled = row.boolean(5);
  auto sealed = optional_text(row, 6);
  t.has_api_key = sealed.has_value();
  t.created_at = from_micros(row.i64(7));
  t.updated_at = from_micros(row.i64(8));
  return {std::move(t), std::move(sealed), static_cast<uint64_t>(row.i64(9))};
}

AppToolsetConfig config_from_row(const db::Row& row) {
  return {row.text(0), row.boolean(1), row.text(2), from_micros(row.i64(3)),
          from_micros(row.i64(4))};
}

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

    Command cmd(ctx_, org_id, stream_of(t.id), t.user_id);
    cmd.expect_new();
    cmd.claim(kSlugRule, slug_value(t.slug, t.user_id));
    auto p = cmd.add_event().initToolset().initToolsetCreated();
    p.setId(t.id);
    p.setUserId(t.user_id);
    p.setToolsetType(t.toolset_type);
    p.setSlug(t.slug);
    if (t.description.has_value()) p.getDescription().setValue(*t.description);
    p.setEnabled(t.enabled);
    if (sealed.has_value()) p.getApiKey().setSealed(*sealed);

    ANNALS_RETURN_IF_ERROR(
        cmd.append_or_taken(Status::conflict(kIdRule, "toolset id '" + t.id + "' is already used"))
            .status());
    ANNALS_ASSIGN_OR_RETURN(auto stored, find(org_id, t.id));
    return stored.toolset;
  }

  Result<Toolset> get(std::string_view org_id, std::string_view user_id,
                      std::string_view id) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_user(user_id));
    ANNALS_RETURN_IF_ERROR(validate_id(id));
    ANNALS_ASSIGN_OR_RETURN(auto stored, find_for_user(org_id, user_id, id));
    return stored.toolset;
  }

  Result<Toolset> get_by_slug(std::string_view org_id, std::string_view user_id,
                              std::string_view slug) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_user(user_id));
    ANNALS_RETURN_IF_ERROR(validate_slug(slug));
    return select_one(ctx_, org_id,
                      std::string("SELECT ") + kColumns +
                          " FROM toolsets WHERE org_id = $1 AND user_id = $2"
                          " AND slug_key = $3",
                      {std::string(org_id), std::string(user_id), slug_key(slug)},
                      "no toolset with slug '" + std::string(slug) + "'",
                      [](const db::Row& row) { return from_row(row).toolset; });
  }

  Result<Toolset> update(std::string_view org_id, std::string_view user_id, std::string_view id,
                         const ToolsetUpdate& u) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_user(user_id));
    ANNALS_RETURN_IF_ERROR(validate_id(id));
    ANNALS_RETURN_IF_ERROR(validate_slug(u.slug));
    ANNALS_RETURN_IF_ERROR(validate_description(u.description));
    ANNALS_RETURN_IF_ERROR(
        validate_secret_change("api_key", u.api_key, Clearable::kYes, validate_api_key));
    ANNALS_ASSIGN_OR_RETURN(auto stored, find_for_user(org_id, user_id, id));

    Command cmd(ctx_, org_id, stream_of(id), user_id);
    cmd.expect_version(stored.version);
    cmd.rename(kSlugRule, slug_value(stored.toolset.slug, user_id), slug_value(u.slug, user_id));
    auto p = cmd.add_event().initToolset().initToolsetUpdated();
    p.setId(std::string(id));
    p.setUserId(std::string(user_id));
    p.setSlug(u.slug);
    if (u.description.has_value()) p.getDescription().setValue(*u.description);
    p.setEnabled(u.enabled);
    ANNALS_RETURN_IF_ERROR(
        write_secret_change(ctx_, org_id, api_key_purpose(id), u.api_key, p.initApiKey()));
    ANNALS_RETURN_IF_ERROR(cmd.append().status());
    ANNALS_ASSIGN_OR_RETURN(auto updated, find(org_id, id));
    return updated.toolset;
  }

  Result<std::vector<Toolset>> list(std::string_view org_id, std::string_view user_id) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_user(user_id));
    return query_list(org_id,
                      " FROM toolsets WHERE org_id = $1 AND user_id = $2"
                      " ORDER BY created_at, created_position",
                      {std::string(org_id), std::string(user_id)});
  }

  Result<std::vector<Toolset>> list_by_type(std::string_view org_id, std::string_view user_id,
                                            std::string_view toolset_type) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_user(user_id));
    ANNALS_RETURN_IF_ERROR(validate_type(toolset_type));
    return query_list(org_id,
                      " FROM toolsets WHERE org_id = $1 AND user_id = $2 AND toolset_type = $3"
                      " ORDER BY created_at, created_position",
                      {std::string(org_id), std::string(user_id), std::string(toolset_type)});
  }

  Status remove(std::string_view org_id, std::string_view user_id, std::string_view id) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_user(user_id));
    ANNALS_RETURN_IF_ERROR(validate_id(id));
    ANNALS_ASSIGN_OR_RETURN(auto stored, find_for_user(org_id, user_id, id));

    Command cmd(ctx_, org_id, stream_of(id), user_id);
    cmd.expect_version(stored.version);
    cmd.release(kSlugRule, slug_value(stored.toolset.slug, user_id));
    auto p = cmd.add_event().initToolset().initToolsetDeleted();
    p.setId(std::string(id));
    p.setUserId(std::string(user_id));
    p.setSlug(stored.toolset.slug);
    return cmd.append().status();
  }

  Result<std::optional<std::string>> get_api_key(std::string_view org_id, std::string_view user_id,
                                                 std::string_view id) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_user(user_id));
    ANNALS_RETURN_IF_ERROR(validate_id(id));
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
    ANNALS_ASSIGN_OR_RETURN(auto rows, txn->query(std::string("SELECT ") + kConfigColumns +
                                                      " FROM app_toolset_configs WHERE org_id = $1"
                                                      " ORDER BY toolset_type",
                                                  {std::string(org_id)}));
    std::vector<AppToolsetConfig> out;
    out.reserve(rows.size() + std::size(kBuiltinTypes));
    for (const auto& row : rows) out.push_back(config_from_row(row));
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
    return select_all(ctx_, org_id, std::string("SELECT ") + kColumns + from_where, params,
                      [](const db::Row& row) { return from_row(row).toolset; });
  }

  Result<StoredToolset> find(std::string_view org_id, std::string_view id) {
    return select_one(
        ctx_, org_id,
        std::string("SELECT ") + kColumns + " FROM toolsets WHERE org_id = $1 AND id = $2",
        {std::string(org_id), std::string(id)}, "toolset '" + std::string(id) + "' not found",
        from_row);
  }

  Result<StoredToolset> find_for_user(std::string_view org_id, std::string_view user_id,
                                      std::string_view id) {
    auto stored = find(org_id, id);
    if (stored.is_ok() && stored->toolset.user_id != user_id) {
      return Status::not_found("toolset '" + std::string(id) + "' not found");
    }
    return stored;
  }

  Result<std::optional<AppToolsetConfig>> find_config(std::string_view org_id,
                                                      std::string_view toolset_type) {
    ANNALS_ASSIGN_OR_RETURN(auto txn, ctx_.read(org_id));
    ANNALS_ASSIGN_OR_RETURN(auto rows,
                            txn->query(std::string("SELECT ") + kConfigColumns +
                                           " FROM app_toolset_configs WHERE org_id = $1"
                                           " AND toolset_type = $2",
                                       {std::string(org_id), std::string(toolset_type)}));
    if (rows.empty()) return std::optional<AppToolsetConfig>();
    return std::optional<AppToolsetConfig>(config_from_row(rows.front()));
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
