#include "repositories/app_instance_repository.h"

#include "core/validate.h"
#include "repositories/command.h"
#include "repositories/secrets.h"

namespace annals::repositories {
namespace {

// The org's one instance lives in one stream.
constexpr const char* kStream = "app-instance";
constexpr const char* kColumns =
    "org_id, client_id, client_secret_sealed, scope, status, created_at, updated_at, version";

std::string purpose_of(std::string_view client_id) {
  return "app_instances.client_secret/" + std::string(client_id);
}

Status validate_status(std::string_view status) {
  return validate_identifier("status", status, kMaxAppInstanceStatusBytes);
}

struct StoredInstance {
  AppInstance instance;  // client_secret holds the sealed text
  uint64_t version;
};

StoredInstance from_row(const db::Row& row) {
  AppInstance a;
  a.org_id = row.text(0);
  a.client_id = row.text(1);
  a.client_secret = row.text(2);
  a.scope = row.text(3);
  a.status = row.text(4);
  a.created_at = from_micros(row.i64(5));
  a.updated_at = from_micros(row.i64(6));
  return {std::move(a), static_cast<uint64_t>(row.i64(7))};
}

class SqlAppInstanceRepository final : public AppInstanceRepository {
 public:
  explicit SqlAppInstanceRepository(RepositoryContext& context) : ctx_(context) {}

  Result<AppInstance> get(std::string_view org_id) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_ASSIGN_OR_RETURN(auto stored, find(org_id));
    ANNALS_ASSIGN_OR_RETURN(Secrets * secrets, ctx_.secrets());
    ANNALS_ASSIGN_OR_RETURN(stored.instance.client_secret,
                            secrets->open(org_id, purpose_of(stored.instance.client_id),
                                          stored.instance.client_secret));
    return stored.instance;
  }

  Result<AppInstance> upsert(std::string_view org_id, const NewAppInstance& a) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_text("client_id", a.client_id, {kMaxAppInstanceClientIdBytes}));
    ANNALS_RETURN_IF_ERROR(
        validate_text("client_secret", a.client_secret, {kMaxAppInstanceClientSecretBytes}));
    ANNALS_RETURN_IF_ERROR(validate_text("scope", a.scope, {kMaxAppInstanceScopeBytes}));
    ANNALS_RETURN_IF_ERROR(validate_status(a.status));
    ANNALS_ASSIGN_OR_RETURN(Secrets * secrets, ctx_.secrets());
    ANNALS_ASSIGN_OR_RETURN(std::string sealed,
                            secrets->seal(org_id, purpose_of(a.client_id), a.client_secret));

    Command cmd(ctx_, org_id, kStream, "system");
    auto p = cmd.add_event().initAccess().initAppInstanceUpserted();
    p.setClientId(a.client_id);
    p.setSealedClientSecret(sealed);
    p.setScope(a.scope);
    p.setStatus(a.status);
    ANNALS_RETURN_IF_ERROR(cmd.append().status());
    ANNALS_ASSIGN_OR_RETURN(auto stored, find(org_id));
    if (stored.instance.client_secret == sealed) {
      stored.instance.client_secret = a.client_secret;
      return stored.instance;
    }
    // A concurrent upsert landed right after this one: as every read-back,
    // return what is stored now.
    ANNALS_ASSIGN_OR_RETURN(stored.instance.client_secret,
                            secrets->open(org_id, purpose_of(stored.instance.client_id),
                                          stored.instance.client_secret));
    return stored.instance;
  }

  Status update_status(std::string_view org_id, std::string_view status) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_status(status));
    ANNALS_ASSIGN_OR_RETURN(auto stored, find(org_id));

    Command cmd(ctx_, org_id, kStream, "system");
    cmd.expect_version(stored.version);
    cmd.add_event().initAccess().initAppInstanceStatusChanged().setStatus(std::string(status));
    return cmd.append().status();
  }

  Status remove(std::string_view org_id) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_ASSIGN_OR_RETURN(auto stored, find(org_id));

    Command cmd(ctx_, org_id, kStream, "system");
    cmd.expect_version(stored.version);
    cmd.add_event().initAccess().initAppInstanceDeleted();
    return cmd.append().status();
  }

 private:
  // The org's one row; its client_secret is still sealed.
  Result<StoredInstance> find(std::string_view org_id) {
    ANNALS_ASSIGN_OR_RETURN(auto txn, ctx_.read(org_id));
    ANNALS_ASSIGN_OR_RETURN(
        auto rows,
        txn->query(std::string("SELECT ") + kColumns +
                       " FROM app_instances WHERE org_id = $1 ORDER BY client_id LIMIT 2",
                   {std::string(org_id)}));
    if (rows.empty()) return Status::not_found("the org has no app instance");
    if (rows.size() > 1) {
      return Status::corruption("the org has more than one app instance", "app_instances");
    }
    return from_row(rows.front());
  }

  RepositoryContext& ctx_;
};

}  // namespace

std::unique_ptr<AppInstanceRepository> make_app_instance_repository(RepositoryContext& context) {
  return std::make_unique<SqlAppInstanceRepository>(context);
}

}  // namespace annals::repositories
