// What the TokenRepository tests share: printers for their values, a token
// builder, the row create() should give, and the fixture (a RepositoryTest
// with the store's token repository).
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "annals/clock.h"
#include "annals/status.h"
#include "repositories/token_repository.h"
#include "tests/conformance_helpers.h"

namespace annals::repositories {

inline void PrintTo(TokenStatus status, std::ostream* os) { *os << token_status_name(status); }

inline void PrintTo(const ApiToken& t, std::ostream* os) {
  *os << "{org_id=\"" << t.org_id << "\", id=\"" << t.id << "\", user_id=\"" << t.user_id
      << "\", name=\"" << t.name << "\", token_prefix=\"" << t.token_prefix << "\", token_hash=\""
      << t.token_hash << "\", scopes=\"" << t.scopes << "\", status=" << token_status_name(t.status)
      << ", created_at=" << format_timestamp(t.created_at)
      << ", updated_at=" << format_timestamp(t.updated_at) << "}";
}

namespace token_tests {

using testing::ids_of;

inline const Timestamp kStart = testing::kFixtureStart;

inline NewApiToken new_token(std::string id, std::string prefix, std::string user = "user-1") {
  NewApiToken t;
  t.id = std::move(id);
  t.user_id = std::move(user);
  t.name = "laptop";
  t.token_prefix = std::move(prefix);
  t.token_hash = "sha256:" + t.token_prefix + ":hash";
  t.scopes = "scope_token_user";
  t.status = TokenStatus::kActive;
  return t;
}

// The row create() should give for `t` in `org`, written at `at`.
inline ApiToken expected_row(const std::string& org, const NewApiToken& t, Timestamp at) {
  return {org,      t.id,     t.user_id, t.name, t.token_prefix, t.token_hash,
          t.scopes, t.status, at,        at,     std::nullopt};
}

class TokenRepositoryTest : public testing::RepositoryTest {
 protected:
  TokenRepository& tokens() { return store().tokens(); }
};

}  // namespace token_tests
}  // namespace annals::repositories
