// AccessRepository: users asking to join the org (user_access_requests).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "annals/clock.h"
#include "annals/page.h"
#include "annals/status.h"

namespace annals::repositories {

enum class UserAccessStatus { kPending, kApproved, kRejected };
std::string_view user_access_status_name(UserAccessStatus status);

struct UserAccessRequest {
  std::string org_id;
  // The journal position of the event that made the request: assigned by
  // the journal, the same on every replay, increasing with creation order.
  int64_t id = 0;
  std::string username;
  std::string user_id;
  std::optional<std::string> reviewer;  // null until reviewed
  UserAccessStatus status = UserAccessStatus::kPending;
  Timestamp created_at;
  Timestamp updated_at;

  bool operator==(const UserAccessRequest&) const = default;
};

inline constexpr size_t kMaxUsernameBytes = 255;
inline constexpr size_t kMaxAccessUserIdBytes = 255;
inline constexpr size_t kMaxReviewerBytes = 255;

// Thread-safe. Every call is scoped to one org and validates org_id first
// (kInvalidArgument naming "org_id"). Every call may also give kUnavailable
// (storage unreachable; retry) and, after a write, kTimedOut (committed but
// not yet visible; read again later).
class AccessRepository {
 public:
  virtual ~AccessRepository() = default;

  // Records a pending request and returns it. A user may hold several
  // requests (e.g. a new one after a rejection). kInvalidArgument naming
  // "username" or "user_id" (empty, over the limit, not UTF-8, NUL).
  virtual Result<UserAccessRequest> insert_pending(std::string_view org_id,
                                                   std::string_view username,
                                                   std::string_view user_id) = 0;
  // The user's pending request; the newest when there are several.
  // kNotFound when the user has none pending.
  virtual Result<UserAccessRequest> get_pending(std::string_view org_id,
                                                std::string_view user_id) = 0;
  // Pending requests, oldest first (ties: by id).
  virtual Result<Page<UserAccessRequest>> list_pending(std::string_view org_id, int64_t page,
                                                       int64_t per_page) = 0;
  // Every request, oldest first (ties: by id).
  virtual Result<Page<UserAccessRequest>> list_all(std::string_view org_id, int64_t page,
                                                   int64_t per_page) = 0;
  // Sets the status and the reviewer; returns the updated row. Any status
  // may follow any other. kNotFound when the org has no such request;
  // kInvalidArgument naming "id" (< 1), "status" (not a known value) or
  // "reviewer" (empty, over the limit, ...); kConcurrencyConflict when
  // another update got there first (re-read and retry).
  virtual Result<UserAccessRequest> update_status(std::string_view org_id, int64_t id,
                                                  UserAccessStatus status,
                                                  std::string_view reviewer) = 0;
  // kNotFound when the org has no such request; kInvalidArgument naming
  // "id" when id < 1.
  virtual Result<UserAccessRequest> get(std::string_view org_id, int64_t id) = 0;
};

}  // namespace annals::repositories
