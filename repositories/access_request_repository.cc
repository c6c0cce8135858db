#include "repositories/access_request_repository.h"

#include "core/validate.h"
#include "repositories/columns.h"
#include "repositories/command.h"
#include "repositories/common.h"
#include "repositories/enum_names.h"

namespace annals::repositories {
namespace {

constexpr Prefixed stream_of{"app-access-request/"};

Status validate_id(std::string_view id) {
  return validate_identifier("id", id, kMaxAppAccessRequestIdBytes);
}

Status validate_flow_type(AppAccessFlowType flow_type) {
  return validate_enum("flow_type", kAppAccessFlowTypeNames, flow_type);
}

Status validate_user(std::string_view user_id) {
  return validate_text("user_id", user_id, {kMaxApproverIdBytes});
}

Status validate_scope(std::string_view scope) {
  return validate_identifier("access_request_scope", scope, kMaxAccessRequestScopeBytes);
}

schema::AppAccessFlowType to_schema(AppAccessFlowType flow_type) {
  return schema_of(kAppAccessFlowTypeNames, flow_type);
}

using StoredRequest = Versioned<AppAccessRequest>;

using R = AppAccessRequest;
const Columns<StoredRequest> kColumns{
    {"org_id", &R::org_id},
    {"id", &R::id},
    {"app_client_id", &R::app_client_id},
    {"app_name", &R::app_name},
    {"app_description", &R::app_description},
    {"flow_type", &R::flow_type},
    {"redirect_uri", &R::redirect_uri},
    {"status", &R::status},
    {"requested", &R::requested},
    {"approved", &R::approved},
    {"user_id", &R::user_id},
    {"resource_scope", &R::resource_scope},
    {"access_request_scope", &R::access_request_scope},
    {"error_message", &R::error_message},
    {"expires_at", &R::expires_at},
    {"created_at", &R::created_at},
    {"updated_at", &R::updated_at},
    {"version", &StoredRequest::version},
};

std::string_view view(capnp::Text::Reader t) { return {t.begin(), t.size()}; }

class SqlAccessRequestRepository final : public AccessRequestRepository {
 public:
  explicit SqlAccessRequestRepository(RepositoryContext& context) : ctx_(context) {}

  Result<AppAccessRequest> create(std::string_view org_id, const NewAppAccessRequest& r) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_id(r.id));
    ANNALS_RETURN_IF_ERROR(validate_text("app_client_id", r.app_client_id, {kMaxAppClientIdBytes}));
    ANNALS_RETURN_IF_ERROR(validate_text("app_name", r.app_name, {kMaxAppNameBytes, true}));
    ANNALS_RETURN_IF_ERROR(
        validate_text("app_description", r.app_description, {kMaxAppDescriptionBytes, true}));
    ANNALS_RETURN_IF_ERROR(validate_flow_type(r.flow_type));
    ANNALS_RETURN_IF_ERROR(
        validate_text("redirect_uri", r.redirect_uri, {kMaxRedirectUriBytes, true}));
    ANNALS_RETURN_IF_ERROR(validate_json("requested", r.requested, kMaxAccessJsonBytes));

    auto cmd = Command::create(ctx_, org_id, stream_of(r.id), r.app_client_id);
    cmd.idempotency_key("app_access_request.create/" + r.id);
    auto p = cmd.add_event().initAccess().initAppAccessRequestCreated();
    p.setId(r.id);
    p.setAppClientId(r.app_client_id);
    p.setAppName(r.app_name);
    p.setAppDescription(r.app_description);
    p.setFlowType(to_schema(r.flow_type));
    p.setRedirectUri(r.redirect_uri);
    p.setRequested(r.requested);
    p.setExpiresAtMicros(to_micros(r.expires_at));

    auto same = [&](uint64_t position) { return same_as_created(position, r); };
    return public_value<AppAccessRequest>(
        cmd.append_create(id_taken(r.id), same, [&] { return find(org_id, r.id); }));
  }

  Result<AppAccessRequest> get(std::string_view org_id, std::string_view id) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_id(id));
    return public_value<AppAccessRequest>(find(org_id, id));
  }

  Result<AppAccessRequest> approve(std::string_view org_id, std::string_view id,
                                   std::string_view user_id, std::string_view approved,
                                   std::string_view resource_scope,
                                   const std::optional<std::string>& scope) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_id(id));
    ANNALS_RETURN_IF_ERROR(validate_user(user_id));
    ANNALS_RETURN_IF_ERROR(validate_json("approved", approved, kMaxAccessJsonBytes));
    ANNALS_RETURN_IF_ERROR(
        validate_text("resource_scope", resource_scope, {kMaxResourceScopeBytes}));
    if (scope.has_value()) ANNALS_RETURN_IF_ERROR(validate_scope(*scope));
    ANNALS_ASSIGN_OR_RETURN(auto stored, find_draft(org_id, id, "approve"));
    if (ctx_.clock().now() >= stored.expires_at) {
      return Status::conflict(kAppAccessRequestExpiredRule,
                              "app access request '" + std::string(id) + "' expired at " +
                                  format_timestamp(stored.expires_at) +
                                  " and can no longer be approved");
    }

    Command cmd(ctx_, org_id, stream_of(id), user_id);
    auto p = cmd.add_event().initAccess().initAppAccessRequestApproved();
    p.setId(std::string(id));
    p.setUserId(std::string(user_id));
    p.setApproved(std::string(approved));
    p.setResourceScope(std::string(resource_scope));
    if (scope.has_value()) {
      p.setAccessRequestScope(*scope);
      // Never released: requests are not deleted and an approval is final.
      cmd.claim(kAppAccessRequestScopeRule, *scope);
    }
    return change(org_id, id, stored.version, std::move(cmd));
  }

  Result<AppAccessRequest> deny(std::string_view org_id, std::string_view id,
                                std::string_view user_id) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_id(id));
    ANNALS_RETURN_IF_ERROR(validate_user(user_id));
    ANNALS_ASSIGN_OR_RETURN(auto stored, find_draft(org_id, id, "deny"));

    Command cmd(ctx_, org_id, stream_of(id), user_id);
    auto p = cmd.add_event().initAccess().initAppAccessRequestDenied();
    p.setId(std::string(id));
    p.setUserId(std::string(user_id));
    return change(org_id, id, stored.version, std::move(cmd));
  }

  Result<AppAccessRequest> fail(std::string_view org_id, std::string_view id,
                                std::string_view error_message) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_id(id));
    ANNALS_RETURN_IF_ERROR(
        validate_text("error_message", error_message, {kMaxAccessErrorMessageBytes}));
    ANNALS_ASSIGN_OR_RETURN(auto stored, find_draft(org_id, id, "fail"));

    Command cmd(ctx_, org_id, stream_of(id), "system");
    auto p = cmd.add_event().initAccess().initAppAccessRequestFailed();
    p.setId(std::string(id));
    p.setErrorMessage(std::string(error_message));
    return change(org_id, id, stored.version, std::move(cmd));
  }

  Result<AppAccessRequest> get_by_access_request_scope(std::string_view org_id,
                                                       std::string_view scope) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_scope(scope));
    return select_one(
        ctx_, org_id,
        kColumns.select("FROM app_access_requests WHERE org_id = $1 AND access_request_scope = $2"),
        {std::string(org_id), std::string(scope)}, "no app access request holds that scope",
        kColumns.reader<AppAccessRequest>());
  }

 private:
  static Status id_taken(std::string_view id) {
    return Status::conflict(kAppAccessRequestIdRule, "app access request id '" + std::string(id) +
                                                         "' already holds another request");
  }

  // Appends a state change of the draft read at `version`, then reads it back.
  Result<AppAccessRequest> change(std::string_view org_id, std::string_view id, uint64_t version,
                                  Command cmd) {
    cmd.expect_version(version);
    return public_value<AppAccessRequest>(cmd.append_then([&] { return find(org_id, id); }));
  }

  // Whether the event at `position` created exactly the request `r`.
  Result<bool> same_as_created(uint64_t position, const NewAppAccessRequest& r) {
    ANNALS_ASSIGN_OR_RETURN(auto events, ctx_.journal().read(position, 1));
    if (events.empty() || events.front().type() != events::PayloadType::ACCESS) return false;
    auto access = events.front().payload().getAccess();
    if (access.which() != schema::AccessEvent::APP_ACCESS_REQUEST_CREATED) return false;
    auto c = access.getAppAccessRequestCreated();
    return view(c.getId()) == r.id && view(c.getAppClientId()) == r.app_client_id &&
           view(c.getAppName()) == r.app_name && view(c.getAppDescription()) == r.app_description &&
           c.getFlowType() == to_schema(r.flow_type) &&
           view(c.getRedirectUri()) == r.redirect_uri && view(c.getRequested()) == r.requested &&
           c.getExpiresAtMicros() == to_micros(r.expires_at);
  }

  Result<StoredRequest> find(std::string_view org_id, std::string_view id) {
    return select_by_id(ctx_, org_id, id, kColumns,
                        "FROM app_access_requests WHERE org_id = $1 AND id = $2",
                        "app access request");
  }

  // The request, which must still be a draft.
  Result<StoredRequest> find_draft(std::string_view org_id, std::string_view id,
                                   std::string_view action) {
    ANNALS_ASSIGN_OR_RETURN(auto stored, find(org_id, id));
    if (stored.status != AppAccessStatus::kDraft) {
      return Status::conflict(kAppAccessRequestStateRule,
                              "cannot " + std::string(action) + " app access request '" +
                                  std::string(id) + "': it is " +
                                  std::string(app_access_status_name(stored.status)) +
                                  ", and only a draft may change state");
    }
    return stored;
  }

  RepositoryContext& ctx_;
};

}  // namespace

std::string_view app_access_flow_type_name(AppAccessFlowType flow_type) {
  return name_of(kAppAccessFlowTypeNames, flow_type);
}

std::string_view app_access_status_name(AppAccessStatus status) {
  return name_of(kAppAccessStatusNames, status);
}

std::unique_ptr<AccessRequestRepository> make_access_request_repository(
    RepositoryContext& context) {
  return std::make_unique<SqlAccessRequestRepository>(context);
}

}  // namespace annals::repositories
