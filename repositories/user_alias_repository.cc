#include "repositories/user_alias_repository.h"

#include "core/validate.h"
#include "repositories/columns.h"
#include "repositories/command.h"
#include "repositories/common.h"

namespace annals::repositories {
namespace {

constexpr Prefixed stream_of{"user-alias/"};

Status validate_id(std::string_view id) {
  return validate_identifier("id", id, kMaxUserAliasIdBytes);
}

Status validate_alias(std::string_view alias) {
  return validate_text("alias", alias, {kMaxUserAliasBytes});
}

Status validate_fields(const UserAliasFields& f) {
  ANNALS_RETURN_IF_ERROR(validate_alias(f.alias));
  ANNALS_RETURN_IF_ERROR(validate_text("repo", f.repo, {kMaxUserAliasRepoBytes}));
  ANNALS_RETURN_IF_ERROR(validate_text("filename", f.filename, {kMaxUserAliasFilenameBytes}));
  ANNALS_RETURN_IF_ERROR(validate_text("snapshot", f.snapshot, {kMaxUserAliasSnapshotBytes}));
  ANNALS_RETURN_IF_ERROR(
      validate_json("request_params", f.request_params, kMaxUserAliasParamsBytes));
  ANNALS_RETURN_IF_ERROR(
      validate_json("context_params", f.context_params, kMaxUserAliasParamsBytes));
  return Status::ok();
}

void fill(schema::UserAlias::Builder p, std::string_view id, const UserAliasFields& f) {
  p.setId(std::string(id));
  p.setAlias(f.alias);
  p.setRepo(f.repo);
  p.setFilename(f.filename);
  p.setSnapshot(f.snapshot);
  p.setRequestParams(f.request_params);
  p.setContextParams(f.context_params);
}

using StoredAlias = Versioned<UserAlias>;

const Columns<StoredAlias> kColumns{
    {"org_id", &UserAlias::org_id},
    {"id", &UserAlias::id},
    {"alias", &UserAlias::alias},
    {"repo", &UserAlias::repo},
    {"filename", &UserAlias::filename},
    {"snapshot", &UserAlias::snapshot},
    {"request_params", &UserAlias::request_params},
    {"context_params", &UserAlias::context_params},
    {"created_at", &UserAlias::created_at},
    {"updated_at", &UserAlias::updated_at},
    {"version", &StoredAlias::version},
};

class SqlUserAliasRepository final : public UserAliasRepository {
 public:
  explicit SqlUserAliasRepository(RepositoryContext& context) : ctx_(context) {}

  Result<UserAlias> create(std::string_view org_id, std::string_view id,
                           const UserAliasFields& f) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_id(id));
    ANNALS_RETURN_IF_ERROR(validate_fields(f));

    // A stream that exists (even of a deleted alias) refuses the create.
    auto cmd = Command::create(ctx_, org_id, stream_of(id), "system");
    cmd.claim(kUserAliasAliasRule, f.alias);
    fill(cmd.add_event().initAccess().initUserAliasCreated(), id, f);
    return public_value<UserAlias>(cmd.append_or_taken_then(
        Status::conflict(kUserAliasIdRule, "user alias id '" + std::string(id) + "' is taken"),
        [&] { return find(org_id, id); }));
  }

  Result<UserAlias> get(std::string_view org_id, std::string_view id) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_id(id));
    return public_value<UserAlias>(find(org_id, id));
  }

  Result<UserAlias> get_by_alias(std::string_view org_id, std::string_view alias) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_alias(alias));
    return select_one(
        ctx_, org_id, kColumns.select("FROM user_aliases WHERE org_id = $1 AND alias = $2"),
        {std::string(org_id), std::string(alias)},
        "user alias '" + std::string(alias) + "' not found", kColumns.reader<UserAlias>());
  }

  Result<UserAlias> update(std::string_view org_id, std::string_view id,
                           const UserAliasFields& f) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_id(id));
    ANNALS_RETURN_IF_ERROR(validate_fields(f));
    ANNALS_ASSIGN_OR_RETURN(auto stored, find(org_id, id));

    auto cmd = Command::change(ctx_, org_id, stream_of(id), "system", stored.version);
    // A rename: the old name is free and the new one taken in one append.
    cmd.rename(kUserAliasAliasRule, stored.alias, f.alias);
    fill(cmd.add_event().initAccess().initUserAliasUpdated(), id, f);
    return public_value<UserAlias>(cmd.append_then([&] { return find(org_id, id); }));
  }

  Status remove(std::string_view org_id, std::string_view id) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_id(id));
    ANNALS_ASSIGN_OR_RETURN(auto stored, find(org_id, id));

    auto cmd = Command::change(ctx_, org_id, stream_of(id), "system", stored.version);
    cmd.release(kUserAliasAliasRule, stored.alias);
    cmd.add_event().initAccess().initUserAliasDeleted().setId(std::string(id));
    return cmd.append().status();
  }

  Result<std::vector<UserAlias>> list(std::string_view org_id) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    return select_all(ctx_, org_id,
                      kColumns.select("FROM user_aliases WHERE org_id = $1 ORDER BY alias, id"),
                      {std::string(org_id)}, kColumns.reader<UserAlias>());
  }

 private:
  Result<StoredAlias> find(std::string_view org_id, std::string_view id) {
    return select_by_id(ctx_, org_id, id, kColumns,
                        "FROM user_aliases WHERE org_id = $1 AND id = $2", "user alias");
  }

  RepositoryContext& ctx_;
};

}  // namespace

std::unique_ptr<UserAliasRepository> make_user_alias_repository(RepositoryContext& context) {
  return std::make_unique<SqlUserAliasRepository>(context);
}

}  // namespace annals::repositories
