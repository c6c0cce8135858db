// AppInstanceRepository: this org's OAuth client registration (app_instances).
// An org has at most one instance, by construction: the table's key is the
// org and every write goes to the one stream "app-instance".
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "annals/clock.h"
#include "annals/page.h"
#include "annals/status.h"

namespace annals::repositories {

struct AppInstance {
  std::string org_id;
  std::string client_id;
  std::string client_secret;  // plain text: get() and upsert() return it
  std::string scope;
  std::string status;  // "setup", "ready", "resource-admin", ...
  Timestamp created_at;
  Timestamp updated_at;

  bool operator==(const AppInstance&) const = default;
};

struct NewAppInstance {
  std::string client_id;
  std::string client_secret;  // sealed before it is journalled or stored
  std::string scope;
  std::string status = "setup";

  bool operator==(const NewAppInstance&) const = default;
};

inline constexpr size_t kMaxAppInstanceClientIdBytes = 255;
inline constexpr size_t kMaxAppInstanceClientSecretBytes = 4096;
inline constexpr size_t kMaxAppInstanceScopeBytes = 1024;
// The spec leaves the set of statuses open: any identifier ([A-Za-z0-9_.:-]).
inline constexpr size_t kMaxAppInstanceStatusBytes = 64;

// Thread-safe. Every call is scoped to one org and validates org_id first
// (kInvalidArgument naming "org_id"); bad input is kInvalidArgument naming the
// field, and appends nothing. Calls that seal or open the client secret give
// kInvalidArgument naming "master_key" when the store has no master key, and
// the Secrets errors (kPermissionDenied: another master key; kCorruption: an
// altered secret). Every call may also give kUnavailable (retry) and, after a
// write, kTimedOut (committed but not yet visible; read again later).
class AppInstanceRepository {
 public:
  virtual ~AppInstanceRepository() = default;

  // The org's instance with its client secret decrypted. kNotFound when the
  // org has none; kCorruption if the table ever held more than one row.
  virtual Result<AppInstance> get(std::string_view org_id) = 0;
  // Creates the org's instance or replaces every field of it (client_id
  // included); created_at of an existing instance survives. Returns the row
  // read back, with its secret in plain text (the one given, unless a
  // concurrent upsert landed right after). Last writer wins.
  virtual Result<AppInstance> upsert(std::string_view org_id, const NewAppInstance& instance) = 0;
  // Sets the status. kNotFound when the org has none; kConcurrencyConflict
  // when another write got there first (re-read and retry).
  virtual Status update_status(std::string_view org_id, std::string_view status) = 0;
  // Deletes the org's instance. kNotFound when the org has none;
  // kConcurrencyConflict when another write got there first.
  virtual Status remove(std::string_view org_id) = 0;
};

}  // namespace annals::repositories
