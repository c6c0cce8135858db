// UserAliasRepository: local model presets (user_aliases). An alias names a
// local model file (repo, filename, snapshot) with its request and context
// parameters. Aliases are unique per org and case-SENSITIVE ("Llama" and
// "llama" are two aliases), as the original's SQLite UNIQUE column was.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "annals/clock.h"
#include "annals/page.h"
#include "annals/status.h"

namespace annals::repositories {

struct UserAlias {
  std::string org_id;
  std::string id;
  std::string alias;
  std::string repo;
  std::string filename;
  std::string snapshot;
  std::string request_params;  // JSON, byte for byte as given
  std::string context_params;  // JSON, byte for byte as given
  Timestamp created_at;
  Timestamp updated_at;

  bool operator==(const UserAlias&) const = default;
};

// What create and update take: every field but the id and the times.
struct UserAliasFields {
  std::string alias;
  std::string repo;
  std::string filename;
  std::string snapshot;
  std::string request_params = "{}";  // JSON
  std::string context_params = "[]";  // JSON

  bool operator==(const UserAliasFields&) const = default;
};

inline constexpr size_t kMaxUserAliasIdBytes = 64;
inline constexpr size_t kMaxUserAliasBytes = 255;
inline constexpr size_t kMaxUserAliasRepoBytes = 255;
inline constexpr size_t kMaxUserAliasFilenameBytes = 1024;
inline constexpr size_t kMaxUserAliasSnapshotBytes = 255;
inline constexpr size_t kMaxUserAliasParamsBytes = 64 * 1024;

// The conflict subjects of this repository.
inline constexpr const char* kUserAliasIdRule = "user_alias.id";
inline constexpr const char* kUserAliasAliasRule = "user_alias.alias";

// Thread-safe. Every call is scoped to one org and validates org_id first
// (kInvalidArgument naming "org_id"); bad input is kInvalidArgument naming the
// field ("id", "alias", "repo", "filename", "snapshot", "request_params",
// "context_params"), and appends nothing. Every call may also give
// kUnavailable (retry) and, after a write, kTimedOut (committed but not yet
// visible; read again later).
class UserAliasRepository {
 public:
  virtual ~UserAliasRepository() = default;

  // kConflict naming "user_alias.alias" when the org has the alias already,
  // or "user_alias.id" when the id is (or was: ids are never reused, even
  // after a delete) another alias's.
  virtual Result<UserAlias> create(std::string_view org_id, std::string_view id,
                                   const UserAliasFields& fields) = 0;
  // kNotFound when the org has no such alias.
  virtual Result<UserAlias> get(std::string_view org_id, std::string_view id) = 0;
  // Exact, case-sensitive match. kNotFound when the org has no such alias.
  virtual Result<UserAlias> get_by_alias(std::string_view org_id, std::string_view alias) = 0;
  // Replaces every field; a new alias releases the old one and claims the
  // new one in the same append. Returns the updated row. kNotFound;
  // kConflict naming "user_alias.alias" when the new alias is taken;
  // kConcurrencyConflict when another write got there first (re-read, retry).
  virtual Result<UserAlias> update(std::string_view org_id, std::string_view id,
                                   const UserAliasFields& fields) = 0;
  // Deletes the alias and releases its name. kNotFound; kConcurrencyConflict.
  virtual Status remove(std::string_view org_id, std::string_view id) = 0;
  // Every alias of the org, ordered by alias (byte order).
  virtual Result<std::vector<UserAlias>> list(std::string_view org_id) = 0;
};

}  // namespace annals::repositories
