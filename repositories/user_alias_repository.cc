#include "repositories/user_alias_repository.h"

#include "core/validate.h"
#include "repositories/command.h"
#include "repositories/common.h"

namespace annals::repositories {
namespace {

constexpr const char* kColumns =
    "org_id, id, alias, repo, filename, snapshot, request_params, context_params, created_at,"
    " updated_at, version";

std::string stream_of(std::string_view id) { return "user-alias/" + std::string(id); }

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

struct StoredAlias {
  UserAlias alias;
  uint64_t version;
};

StoredAlias from_row(const db::Row& row) {
  UserAlias a;
  a.org_id = row.text(0);
  a.id = row.text(1);
  a.alias = row.text(2);
  a.repo = row.text(3);
  a.filename = row.text(4);
  a.snapshot = row.text(5);
  a.request_params = row.text(6);
  a.context_params = row.text(7);
  a.created_at = from_micros(row.i64(8));
  a.updated_at = from_micros(row.i64(9));
  return {std::move(a), static_cast<uint64_t>(row.i64(10))};
}

UserAlias alias_of(const db::Row& row) { return from_row(row).alias; }

class SqlUserAliasRepository final : public UserAliasRepository {
 public:
  explicit SqlUserAliasRepository(RepositoryContext& context) : ctx_(context) {}

  Result<UserAlias> create(std::string_view org_id, std::string_view id,
                           const UserAliasFields& f) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_id(id));
    ANNALS_RETURN_IF_ERROR(validate_fields(f));

    Command cmd(ctx_, org_id, stream_of(id), "system");
    // A stream that exists (even of a deleted alias) refuses the create.
    cmd.expect_new();
    cmd.claim(kUserAliasAliasRule, f.alias);
    fill(cmd.add_event().initAccess().initUserAliasCreated(), id, f);
    ANNALS_RETURN_IF_ERROR(
        cmd.append_or_taken(Status::conflict(kUserAliasIdRule,
                                             "user alias id '" + std::string(id) + "' is taken"))
            .status());
    ANNALS_ASSIGN_OR_RETURN(auto stored, find(org_id, id));
    return stored.alias;
  }

  Result<UserAlias> get(std::string_view org_id, std::string_view id) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_id(id));
    ANNALS_ASSIGN_OR_RETURN(auto stored, find(org_id, id));
    return stored.alias;
  }

  Result<UserAlias> get_by_alias(std::string_view org_id, std::string_view alias) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_alias(alias));
    return select_one(
        ctx_, org_id,
        std::string("SELECT ") + kColumns + " FROM user_aliases WHERE org_id = $1 AND alias = $2",
        {std::string(org_id), std::string(alias)},
        "user alias '" + std::string(alias) + "' not found", alias_of);
  }

  Result<UserAlias> update(std::string_view org_id, std::string_view id,
                           const UserAliasFields& f) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_id(id));
    ANNALS_RETURN_IF_ERROR(validate_fields(f));
    ANNALS_ASSIGN_OR_RETURN(auto stored, find(org_id, id));

    Command cmd(ctx_, org_id, stream_of(id), "system");
    cmd.expect_version(stored.version);
    // A rename: the old name is free and the new one taken in one append.
    cmd.rename(kUserAliasAliasRule, stored.alias.alias, f.alias);
    fill(cmd.add_event().initAccess().initUserAliasUpdated(), id, f);
    ANNALS_RETURN_IF_ERROR(cmd.append().status());
    ANNALS_ASSIGN_OR_RETURN(auto updated, find(org_id, id));
    return updated.alias;
  }

  Status remove(std::string_view org_id, std::string_view id) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_id(id));
    ANNALS_ASSIGN_OR_RETURN(auto stored, find(org_id, id));

    Command cmd(ctx_, org_id, stream_of(id), "system");
    cmd.expect_version(stored.version);
    cmd.release(kUserAliasAliasRule, stored.alias.alias);
    cmd.add_event().initAccess().initUserAliasDeleted().setId(std::string(id));
    return cmd.append().status();
  }

  Result<std::vector<UserAlias>> list(std::string_view org_id) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    return select_all(ctx_, org_id,
                      std::string("SELECT ") + kColumns +
                          " FROM user_aliases WHERE org_id = $1 ORDER BY alias, id",
                      {std::string(org_id)}, alias_of);
  }

 private:
  Result<StoredAlias> find(std::string_view org_id, std::string_view id) {
    return select_one(
        ctx_, org_id,
        std::string("SELECT ") + kColumns + " FROM user_aliases WHERE org_id = $1 AND id = $2",
        {std::string(org_id), std::string(id)}, "user alias '" + std::string(id) + "' not found",
        from_row);
  }

  RepositoryContext& ctx_;
};

}  // namespace

std::unique_ptr<UserAliasRepository> make_user_alias_repository(RepositoryContext& context) {
  return std::make_unique<SqlUserAliasRepository>(context);
}

}  // namespace annals::repositories
