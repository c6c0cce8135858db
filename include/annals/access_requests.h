// AccessRequestRepository: third-party apps asking for access
// (app_access_requests). A request starts as a draft; only a draft may move
// to another state (approved, denied or failed), and an expired draft cannot
// be approved.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "annals/clock.h"
#include "annals/page.h"
#include "annals/status.h"

namespace annals::repositories {

enum class AppAccessFlowType { kRedirect, kPopup };
std::string_view app_access_flow_type_name(AppAccessFlowType flow_type);

enum class AppAccessStatus { kDraft, kApproved, kDenied, kFailed };
std::string_view app_access_status_name(AppAccessStatus status);

struct AppAccessRequest {
  std::string org_id;
  std::string id;
  std::string app_client_id;
  std::string app_name;
  std::string app_description;
  AppAccessFlowType flow_type = AppAccessFlowType::kRedirect;
  std::string redirect_uri;
  AppAccessStatus status = AppAccessStatus::kDraft;
  std::string requested;                            // JSON, byte for byte as given
  std::optional<std::string> approved;              // JSON; set by approve
  std::optional<std::string> user_id;               // set by approve or deny
  std::optional<std::string> resource_scope;        // set by approve
  std::optional<std::string> access_request_scope;  // set by approve when given; unique per org
  std::optional<std::string> error_message;         // set by fail
  Timestamp expires_at;
  Timestamp created_at;
  Timestamp updated_at;

  bool operator==(const AppAccessRequest&) const = default;
};

struct NewAppAccessRequest {
  std::string id;  // chosen by the caller (a UUID); creating the same request again is a no-op
  std::string app_client_id;
  std::string app_name;         // may be empty
  std::string app_description;  // may be empty
  AppAccessFlowType flow_type = AppAccessFlowType::kRedirect;
  std::string redirect_uri;      // may be empty (a popup flow has none)
  std::string requested = "{}";  // JSON
  Timestamp expires_at;

  bool operator==(const NewAppAccessRequest&) const = default;
};

inline constexpr size_t kMaxAppAccessRequestIdBytes = 64;
inline constexpr size_t kMaxAppClientIdBytes = 255;
inline constexpr size_t kMaxAppNameBytes = 255;
inline constexpr size_t kMaxAppDescriptionBytes = 4096;
inline constexpr size_t kMaxRedirectUriBytes = 2048;
inline constexpr size_t kMaxAccessJsonBytes = 64 * 1024;
inline constexpr size_t kMaxApproverIdBytes = 255;
inline constexpr size_t kMaxResourceScopeBytes = 1024;
inline constexpr size_t kMaxAccessRequestScopeBytes = 255;  // identifier: [A-Za-z0-9_.:-]
inline constexpr size_t kMaxAccessErrorMessageBytes = 4096;

// The conflict subjects of this repository.
inline constexpr const char* kAppAccessRequestIdRule = "app_access_request.id";
inline constexpr const char* kAppAccessRequestScopeRule = "app_access_request.scope";
// A state change asked of a request that is no longer a draft.
inline constexpr const char* kAppAccessRequestStateRule = "app_access_request.state";
// An approval of a draft whose expires_at has passed (clock().now() >= expires_at).
inline constexpr const char* kAppAccessRequestExpiredRule = "app_access_request.expired";

// Thread-safe. Every call is scoped to one org and validates org_id first
// (kInvalidArgument naming "org_id"); bad input is kInvalidArgument naming the
// field, and appends nothing. Every call may also give kUnavailable (storage
// unreachable; retry) and, after a write, kTimedOut (committed but not yet
// visible; read again later).
//
// State rules: approve, deny and fail of a request that is not a draft give
// kConflict naming "app_access_request.state" (a state conflict, not bad
// input: the same call was fine a moment earlier). Approving an expired draft
// gives kConflict naming "app_access_request.expired"; an expired draft may
// still be denied or failed. Each state change is appended with the version
// the draft was read at, so of two concurrent changes exactly one succeeds;
// the other gets kConcurrencyConflict (on retry it sees the new state and
// gets the state conflict).
class AccessRequestRepository {
 public:
  virtual ~AccessRequestRepository() = default;

  // Creates a draft and returns it. Creating the same request again (a
  // retry) appends nothing and returns the stored row; kConflict naming
  // "app_access_request.id" when the id holds a different request.
  virtual Result<AppAccessRequest> create(std::string_view org_id,
                                          const NewAppAccessRequest& request) = 0;
  // kNotFound when the org has no such request.
  virtual Result<AppAccessRequest> get(std::string_view org_id, std::string_view id) = 0;
  // Approves a draft: records the user, the approved JSON, the resource scope
  // and, when given, the access-request scope (unique per org: kConflict
  // naming "app_access_request.scope" when another request holds it).
  // Returns the updated row. kNotFound; the state conflicts above.
  virtual Result<AppAccessRequest> approve(
      std::string_view org_id, std::string_view id, std::string_view user_id,
      std::string_view approved, std::string_view resource_scope,
      const std::optional<std::string>& access_request_scope) = 0;
  // Denies a draft, recording the user. Returns the updated row.
  virtual Result<AppAccessRequest> deny(std::string_view org_id, std::string_view id,
                                        std::string_view user_id) = 0;
  // Marks a draft failed with a (non-empty) message. Returns the updated row.
  virtual Result<AppAccessRequest> fail(std::string_view org_id, std::string_view id,
                                        std::string_view error_message) = 0;
  // The request holding the access-request scope. kNotFound when none.
  virtual Result<AppAccessRequest> get_by_access_request_scope(std::string_view org_id,
                                                               std::string_view scope) = 0;
};

}  // namespace annals::repositories
