// GoogleMock classes for every repository interface, for unit tests of code
// that uses Annals without a journal or a database:
//
//   annals::repositories::MockTokenRepository tokens;
//   EXPECT_CALL(tokens, get_by_prefix("bodhiapp_abc")).WillOnce(Return(token));
//
// Header-only; link the test with GTest::gmock.
#pragma once

#include <gmock/gmock.h>

#include "repositories/settings_repository.h"
#include "repositories/token_repository.h"

namespace annals::repositories {

class MockSettingsRepository : public SettingsRepository {
 public:
  MOCK_METHOD(Result<Setting>, get, (std::string_view org_id, std::string_view key), (override));
  MOCK_METHOD(Result<Setting>, upsert,
              (std::string_view org_id, std::string_view key, std::string_view value,
               std::string_view value_type),
              (override));
  MOCK_METHOD(Status, remove, (std::string_view org_id, std::string_view key), (override));
  MOCK_METHOD(Result<std::vector<Setting>>, list, (std::string_view org_id), (override));
};

class MockTokenRepository : public TokenRepository {
 public:
  MOCK_METHOD(Result<ApiToken>, create, (std::string_view org_id, const NewApiToken& token),
              (override));
  MOCK_METHOD(Result<Page<ApiToken>>, list,
              (std::string_view org_id, std::string_view user_id, int64_t page, int64_t per_page),
              (override));
  MOCK_METHOD(Result<ApiToken>, get,
              (std::string_view org_id, std::string_view user_id, std::string_view id), (override));
  MOCK_METHOD(Result<ApiToken>, get_by_prefix, (std::string_view token_prefix), (override));
  MOCK_METHOD(Result<ApiToken>, update,
              (std::string_view org_id, std::string_view user_id, std::string_view id,
               std::string_view name, TokenStatus status),
              (override));
};

}  // namespace annals::repositories
