// ModelRepository: API model aliases.
//
// Journal rules: "api_alias.id" (the id of a live alias; its owner names the
// stream and the stream version of the create, so a deleted alias's id can
// be created again) and "api_alias.prefix" (non-empty prefixes, per org).
#include "repositories/model_repository_internal.h"
#include "repositories/reservation_rules.h"
#include "repositories/secret_change.h"
#include "repositories/secrets.h"

namespace annals::repositories::model_internal {
namespace {

constexpr const char* kIdRule = rules::kApiAliasId;
constexpr const char* kPrefixRule = rules::kApiAliasPrefix;

constexpr Prefixed stream_of{"api_alias/"};

// The owner of the id reservation of the alias created at `created_version`.
std::string id_owner(std::string_view id, uint64_t created_version) {
  return rules::alias_id_owner(stream_of(id), created_version);
}

constexpr Prefixed key_purpose{"api_model_aliases.api_key/"};

Status validate_id(std::string_view id) {
  return validate_identifier("id", id, kMaxApiAliasIdBytes);
}

Status validate_prefix(std::string_view prefix) {
  return validate_text("prefix", prefix, {kMaxApiPrefixBytes, /*allow_empty=*/true});
}

Status validate_api_key(std::string_view key) {
  return validate_text("api_key", key, {kMaxApiKeyBytes});
}

// api_format, base_url, models (a JSON array) and prefix.
Status validate_fields(std::string_view api_format, std::string_view base_url,
                       std::string_view models, const std::optional<std::string>& prefix) {
  ANNALS_RETURN_IF_ERROR(validate_identifier("api_format", api_format, kMaxApiFormatBytes));
  ANNALS_RETURN_IF_ERROR(validate_text("base_url", base_url, {kMaxBaseUrlBytes}));
  ANNALS_RETURN_IF_ERROR(validate_json("models", models, kMaxApiModelsBytes));
  // Valid JSON whose first character is '[' is an array.
  if (trim(models).front() != '[') {
    return Status::invalid_argument("models", "models must be a JSON array of model names");
  }
  if (prefix.has_value()) ANNALS_RETURN_IF_ERROR(validate_prefix(*prefix));
  return Status::ok();
}

bool reserved(const std::optional<std::string>& prefix) {
  return prefix.has_value() && rules::alias_prefix_reserved(true, *prefix);
}

const Columns<StoredAlias> kColumns{
    {"id", &ApiModelAlias::id},
    {"api_format", &ApiModelAlias::api_format},
    {"base_url", &ApiModelAlias::base_url},
    {"models", &ApiModelAlias::models},
    {"prefix", &ApiModelAlias::prefix},
    {"forward_all_with_prefix", &ApiModelAlias::forward_all_with_prefix},
    {"models_cache", &ApiModelAlias::models_cache},
    {"cache_fetched_at", &ApiModelAlias::cache_fetched_at},
    {"encrypted_api_key", &StoredAlias::sealed_api_key, &ApiModelAlias::has_api_key},
    {"created_at", &ApiModelAlias::created_at},
    {"updated_at", &ApiModelAlias::updated_at},
    {"version", &StoredAlias::version},
    {"created_version", &StoredAlias::created_version}};

}  // namespace

Result<ApiModelAlias> SqlModelRepository::create_api_alias(std::string_view org_id,
                                                           const NewApiModelAlias& alias) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_id(alias.id));
  ANNALS_RETURN_IF_ERROR(
      validate_fields(alias.api_format, alias.base_url, alias.models, alias.prefix));
  if (alias.api_key.has_value()) ANNALS_RETURN_IF_ERROR(validate_api_key(*alias.api_key));

  std::optional<std::string> sealed;
  if (alias.api_key.has_value()) {
    ANNALS_ASSIGN_OR_RETURN(Secrets * secrets, ctx_.secrets());
    ANNALS_ASSIGN_OR_RETURN(sealed, secrets->seal(org_id, key_purpose(alias.id), *alias.api_key));
  }

  // A deleted alias leaves its stream behind: the create continues it.
  std::string stream = stream_of(alias.id);
  ANNALS_ASSIGN_OR_RETURN(uint64_t version, ctx_.journal().stream_version(org_id, stream));

  auto cmd = Command::change(ctx_, org_id, stream, "system", version);
  // Taken by a live alias (whatever the version): conflict.
  cmd.claim_for(id_owner(alias.id, version + 1), kIdRule, alias.id);
  if (reserved(alias.prefix)) cmd.claim(kPrefixRule, *alias.prefix);
  auto p = cmd.add_event().initModel().initApiModelAliasCreated();
  p.setId(alias.id);
  p.setApiFormat(alias.api_format);
  p.setBaseUrl(alias.base_url);
  p.setModels(alias.models);
  if (alias.prefix.has_value()) {
    p.setPrefix(*alias.prefix);
    p.setHasPrefix(true);
  }
  p.setForwardAllWithPrefix(alias.forward_all_with_prefix);
  if (sealed.has_value()) {
    p.setSealedApiKey(*sealed);
    p.setHasApiKey(true);
  }
  return public_value<ApiModelAlias>(cmd.append_or_taken_then(
      Status::conflict(kIdRule, "API model alias id '" + alias.id + "' is already taken"),
      [&] { return find_alias(org_id, alias.id); }));
}

Result<ApiModelAlias> SqlModelRepository::get_api_alias(std::string_view org_id,
                                                        std::string_view id) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_id(id));
  return public_value<ApiModelAlias>(find_alias(org_id, id));
}

Result<ApiModelAlias> SqlModelRepository::update_api_alias(std::string_view org_id,
                                                           std::string_view id,
                                                           const ApiModelAliasUpdate& update) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_id(id));
  ANNALS_RETURN_IF_ERROR(
      validate_fields(update.api_format, update.base_url, update.models, update.prefix));
  ANNALS_RETURN_IF_ERROR(
      validate_secret_change("api_key", update.api_key, Clearable::kYes, validate_api_key));
  ANNALS_ASSIGN_OR_RETURN(auto stored, find_alias(org_id, id));

  auto cmd = Command::change(ctx_, org_id, stream_of(id), "system", stored.version);
  const auto& old_prefix = stored.prefix;
  const auto& new_prefix = update.prefix;
  bool renamed = reserved(old_prefix) != reserved(new_prefix) ||
                 (reserved(old_prefix) && *old_prefix != *new_prefix);
  if (renamed && reserved(old_prefix)) cmd.release(kPrefixRule, *old_prefix);
  if (renamed && reserved(new_prefix)) cmd.claim(kPrefixRule, *new_prefix);
  auto p = cmd.add_event().initModel().initApiModelAliasUpdated();
  p.setId(std::string(id));
  p.setApiFormat(update.api_format);
  p.setBaseUrl(update.base_url);
  p.setModels(update.models);
  if (update.prefix.has_value()) {
    p.setPrefix(*update.prefix);
    p.setHasPrefix(true);
  }
  p.setForwardAllWithPrefix(update.forward_all_with_prefix);
  ANNALS_RETURN_IF_ERROR(
      write_secret_change(ctx_, org_id, key_purpose(id), update.api_key, p.initApiKey()));
  return public_value<ApiModelAlias>(cmd.append_then([&] { return find_alias(org_id, id); }));
}

Result<ApiModelAlias> SqlModelRepository::update_api_alias_cache(std::string_view org_id,
                                                                 std::string_view id,
                                                                 std::string_view models_cache,
                                                                 Timestamp fetched_at) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_id(id));
  ANNALS_RETURN_IF_ERROR(validate_json("models_cache", models_cache, kMaxModelsCacheBytes));
  ANNALS_ASSIGN_OR_RETURN(auto stored, find_alias(org_id, id));

  auto cmd = Command::change(ctx_, org_id, stream_of(id), "system", stored.version);
  auto p = cmd.add_event().initModel().initApiModelAliasModelsCached();
  p.setId(std::string(id));
  p.setModelsCache(std::string(models_cache));
  p.setFetchedAtMicros(to_micros(fetched_at));
  return public_value<ApiModelAlias>(cmd.append_then([&] { return find_alias(org_id, id); }));
}

Status SqlModelRepository::delete_api_alias(std::string_view org_id, std::string_view id) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_id(id));
  ANNALS_ASSIGN_OR_RETURN(auto stored, find_alias(org_id, id));

  auto cmd = Command::change(ctx_, org_id, stream_of(id), "system", stored.version);
  cmd.release_for(id_owner(id, stored.created_version), kIdRule, std::string(id));
  if (reserved(stored.prefix)) cmd.release(kPrefixRule, *stored.prefix);
  cmd.add_event().initModel().initApiModelAliasDeleted().setId(std::string(id));
  return cmd.append().status();
}

Result<std::vector<ApiModelAlias>> SqlModelRepository::list_api_aliases(std::string_view org_id) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  return select_all(ctx_, org_id,
                    kColumns.select("FROM api_model_aliases WHERE org_id = $1"
                                    " ORDER BY created_at DESC, created_position DESC"),
                    {std::string(org_id)}, kColumns.reader<ApiModelAlias>());
}

Result<std::string> SqlModelRepository::get_api_key(std::string_view org_id, std::string_view id) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_id(id));
  ANNALS_ASSIGN_OR_RETURN(auto stored, find_alias(org_id, id));
  if (!stored.sealed_api_key.has_value()) {
    return Status::not_found("API model alias '" + std::string(id) + "' has no API key");
  }
  ANNALS_ASSIGN_OR_RETURN(Secrets * secrets, ctx_.secrets());
  return secrets->open(org_id, key_purpose(id), *stored.sealed_api_key);
}

Result<bool> SqlModelRepository::prefix_exists(std::string_view org_id, std::string_view prefix,
                                               std::optional<std::string> excluding_id) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_prefix(prefix));
  if (excluding_id.has_value()) {
    ANNALS_RETURN_IF_ERROR(validate_identifier("excluding_id", *excluding_id, kMaxApiAliasIdBytes));
  }
  ANNALS_ASSIGN_OR_RETURN(auto txn, ctx_.read(org_id));
  std::vector<db::Value> params = {std::string(org_id), std::string(prefix)};
  std::string sql = "SELECT COUNT(*) FROM api_model_aliases WHERE org_id = $1 AND prefix = $2";
  if (excluding_id.has_value()) {
    sql += " AND id <> $3";
    params.push_back(*excluding_id);
  }
  ANNALS_ASSIGN_OR_RETURN(auto rows, txn->query(sql, params));
  return rows.front().i64(0) > 0;
}

Result<StoredAlias> SqlModelRepository::find_alias(std::string_view org_id, std::string_view id) {
  return select_by_id(ctx_, org_id, id, kColumns,
                      "FROM api_model_aliases WHERE org_id = $1 AND id = $2", "API model alias");
}

}  // namespace annals::repositories::model_internal
