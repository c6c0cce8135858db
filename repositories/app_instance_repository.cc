#include "repositories/app_instance_repository.h"

#include "core/validate.h"
#include "repositories/columns.h"
#include "repositories/command.h"
#include "repositories/common.h"
#include "repositories/secrets.h"

namespace annals::repositories {
namespace {

// The org's one instance lives in one stream.
constexpr const char* kStream = "app-instance";

constexpr Prefixed purpose_of{"app_instances.client_secret/"};

Status validate_status(std::string_view status) {
  return validate_identifier("status", status, kMaxAppInstanceStatusBytes);
}

// The instance as its row holds it: client_secret holds the sealed text.
using StoredInstance = Versioned<AppInstance>;

const Columns<StoredInstance> kColumns{
    {"org_id", &AppInstance::org_id},
    {"client_id", &AppInstance::client_id},
    {"client_secret_sealed", &AppInstance::client_secret},
    {"scope", &AppInstance::scope},
    {"status", &AppInstance::status},
    {"created_at", &AppInstance::created_at},
    {"updated_at", &AppInstance::updated_at},
    {"version", &StoredInstance::version},
};

class SqlAppInstanceRepository final : public AppInstanceRepository {
 public:
  explicit SqlAppInstanceRepository(RepositoryContext& context) : ctx_(context) {}

  Result<AppInstance> get(std::string_view org_id) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_ASSIGN_OR_RETURN(auto stored, find(org_id));
    return opened(org_id, std::move(stored));
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
    ANNALS_ASSIGN_OR_RETURN(auto stored, cmd.append_then([&] { return find(org_id); }));
    if (stored.client_secret == sealed) {
      stored.client_secret = a.client_secret;
      return AppInstance(std::move(stored));
    }
    // A concurrent upsert landed right after this one: as every read-back,
    // return what is stored now.
    return opened(org_id, std::move(stored));
  }

  Status update_status(std::string_view org_id, std::string_view status) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_status(status));
    ANNALS_ASSIGN_OR_RETURN(auto stored, find(org_id));

    auto cmd = Command::change(ctx_, org_id, kStream, "system", stored.version);
    cmd.add_event().initAccess().initAppInstanceStatusChanged().setStatus(std::string(status));
    return cmd.append().status();
  }

  Status remove(std::string_view org_id) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_ASSIGN_OR_RETURN(auto stored, find(org_id));

    auto cmd = Command::change(ctx_, org_id, kStream, "system", stored.version);
    cmd.add_event().initAccess().initAppInstanceDeleted();
    return cmd.append().status();
  }

 private:
  // The instance with its client_secret opened.
  Result<AppInstance> opened(std::string_view org_id, StoredInstance stored) {
    ANNALS_ASSIGN_OR_RETURN(Secrets * secrets, ctx_.secrets());
    ANNALS_ASSIGN_OR_RETURN(
        stored.client_secret,
        secrets->open(org_id, purpose_of(stored.client_id), stored.client_secret));
    return AppInstance(std::move(stored));
  }

  // The org's one row; its client_secret is still sealed.
  Result<StoredInstance> find(std::string_view org_id) {
    ANNALS_ASSIGN_OR_RETURN(auto txn, ctx_.read(org_id));
    ANNALS_ASSIGN_OR_RETURN(
        auto rows,
        txn->query(
            kColumns.select("FROM app_instances WHERE org_id = $1 ORDER BY client_id LIMIT 2"),
            {std::string(org_id)}));
    if (rows.empty()) return Status::not_found("the org has no app instance");
    if (rows.size() > 1) {
      return Status::corruption("the org has more than one app instance", "app_instances");
    }
    return kColumns.read(rows.front());
  }

  RepositoryContext& ctx_;
};

}  // namespace

std::unique_ptr<AppInstanceRepository> make_app_instance_repository(RepositoryContext& context) {
  return std::make_unique<SqlAppInstanceRepository>(context);
}

}  // namespace annals::repositories
