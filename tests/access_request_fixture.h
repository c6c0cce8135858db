// What the AccessRequestRepository tests share: the repository fixture with
// an AccessRequestRepository built over every store it opens, the request
// builders and the printers.
#pragma once

#include <chrono>
#include <memory>
#include <ostream>
#include <string>

#include "annals/clock.h"
#include "annals/status.h"
#include "repositories/access_request_repository.h"
#include "repositories/operator.h"
#include "tests/conformance_helpers.h"

namespace annals::repositories {

inline void PrintTo(AppAccessStatus s, std::ostream* os) { *os << app_access_status_name(s); }

inline void PrintTo(const AppAccessRequest& r, std::ostream* os) {
  auto opt = [](const std::optional<std::string>& v) {
    return v ? "\"" + *v + "\"" : std::string("null");
  };
  *os << "{org_id=\"" << r.org_id << "\", id=\"" << r.id << "\", app_client_id=\""
      << r.app_client_id << "\", app_name=\"" << r.app_name
      << "\", flow_type=" << app_access_flow_type_name(r.flow_type) << ", redirect_uri=\""
      << r.redirect_uri << "\", status=" << app_access_status_name(r.status)
      << ", requested=" << r.requested << ", approved=" << opt(r.approved)
      << ", user_id=" << opt(r.user_id) << ", resource_scope=" << opt(r.resource_scope)
      << ", access_request_scope=" << opt(r.access_request_scope)
      << ", error_message=" << opt(r.error_message)
      << ", expires_at=" << format_timestamp(r.expires_at)
      << ", created_at=" << format_timestamp(r.created_at)
      << ", updated_at=" << format_timestamp(r.updated_at) << "}";
}

inline const Timestamp kStart = testing::kFixtureStart;
inline const Timestamp kExpires = kStart + std::chrono::minutes(10);

inline NewAppAccessRequest new_request(std::string id) {
  NewAppAccessRequest r;
  r.id = std::move(id);
  r.app_client_id = "app-client-1";
  r.app_name = "Notes App";
  r.app_description = "Takes notes";
  r.flow_type = AppAccessFlowType::kRedirect;
  r.redirect_uri = "https://notes.example/callback";
  r.requested = R"({"toolset_types":[{"toolset_type":"builtin-exa-search"}]})";
  r.expires_at = kExpires;
  return r;
}

// The draft create() should give for `r` in `org`, written at `at`.
inline AppAccessRequest draft_of(const std::string& org, const NewAppAccessRequest& r,
                                 Timestamp at) {
  AppAccessRequest a;
  a.org_id = org;
  a.id = r.id;
  a.app_client_id = r.app_client_id;
  a.app_name = r.app_name;
  a.app_description = r.app_description;
  a.flow_type = r.flow_type;
  a.redirect_uri = r.redirect_uri;
  a.status = AppAccessStatus::kDraft;
  a.requested = r.requested;
  a.expires_at = r.expires_at;
  a.created_at = at;
  a.updated_at = at;
  return a;
}

inline const std::string kApproved = R"({"toolsets":[{"id":"t1","enabled":true}]})";

class AccessRequestRepositoryTest
    : public testing::OwnRepositoryTest<AccessRequestRepository, make_access_request_repository> {
 protected:
  AccessRequestRepository& requests() { return repository(); }
};

}  // namespace annals::repositories
