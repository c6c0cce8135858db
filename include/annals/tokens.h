// TokenRepository: API tokens. The token itself is never stored; its prefix
// finds the row and its hash checks it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "annals/clock.h"
#include "annals/page.h"
#include "annals/status.h"

namespace annals::repositories {

enum class TokenStatus { kActive, kInactive };
std::string_view token_status_name(TokenStatus status);

struct ApiToken {
  std::string org_id;
  std::string id;
  std::string user_id;
  std::string name;
  std::string token_prefix;  // unique across all orgs
  std::string token_hash;
  std::string scopes;
  TokenStatus status = TokenStatus::kActive;
  Timestamp created_at;
  Timestamp updated_at;
  // When the token last went from active to inactive; nullopt when never.
  std::optional<Timestamp> last_deactivated_at;

  bool operator==(const ApiToken&) const = default;
};

struct NewApiToken {
  std::string id;  // chosen by the caller (a UUID); creating the same token again is a no-op
  std::string user_id;
  std::string name;  // may be empty
  std::string token_prefix;
  std::string token_hash;
  std::string scopes;
  TokenStatus status = TokenStatus::kActive;
};

inline constexpr size_t kMaxTokenIdBytes = 64;
inline constexpr size_t kMaxUserIdBytes = 255;
inline constexpr size_t kMaxTokenNameBytes = 255;
inline constexpr size_t kMaxTokenPrefixBytes = 64;
inline constexpr size_t kMaxTokenHashBytes = 256;
inline constexpr size_t kMaxScopesBytes = 1024;

// Thread-safe.
class TokenRepository {
 public:
  virtual ~TokenRepository() = default;

  // kConflict naming "token.prefix" when the prefix is taken (in any org),
  // or "token.id" when the id holds a different token.
  virtual Result<ApiToken> create(std::string_view org_id, const NewApiToken& token) = 0;
  // A user's tokens, newest first.
  virtual Result<Page<ApiToken>> list(std::string_view org_id, std::string_view user_id,
                                      int64_t page, int64_t per_page) = 0;
  // kNotFound unless the token exists and belongs to the user.
  virtual Result<ApiToken> get(std::string_view org_id, std::string_view user_id,
                               std::string_view id) = 0;
  // The hot path of every API call: one index lookup, before the org is
  // known. The token carries its org_id.
  virtual Result<ApiToken> get_by_prefix(std::string_view token_prefix) = 0;
  // Sets name and status. kNotFound unless the token belongs to the user;
  // kConcurrencyConflict when another update got there first (retry).
  virtual Result<ApiToken> update(std::string_view org_id, std::string_view user_id,
                                  std::string_view id, std::string_view name,
                                  TokenStatus status) = 0;
};

}  // namespace annals::repositories
