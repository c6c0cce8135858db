// AccessRequestRepository: bad input is refused naming the field and appends
// nothing; hostile but valid strings round-trip byte for byte.
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "annals/status.h"
#include "core/validate.h"
#include "tests/access_request_fixture.h"

namespace annals::repositories {
namespace {

// `s` as a JSON string literal.
std::string json_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

TEST_P(AccessRequestRepositoryTest, BadInputIsRefusedNamingTheFieldAndAppendsNothing) {
  ASSERT_OK(requests().create("default", new_request("req-0")));
  struct Case {
    std::string what;
    std::string org;
    std::function<void(NewAppAccessRequest&)> change;
    std::string field;
  };
  auto keep = [](NewAppAccessRequest&) {};
  using R = NewAppAccessRequest;
  const std::vector<Case> cases = {
      {"empty org", "", keep, "org_id"},
      {"org with slash", "a/b", keep, "org_id"},
      {"65-char org", std::string(65, 'o'), keep, "org_id"},
      {"empty id", "default", [](R& r) { r.id = ""; }, "id"},
      {"65-byte id", "default", [](R& r) { r.id = std::string(65, 'i'); }, "id"},
      {"id with quote", "default", [](R& r) { r.id = "req'1"; }, "id"},
      {"empty client", "default", [](R& r) { r.app_client_id = ""; }, "app_client_id"},
      {"long client", "default",
       [](R& r) { r.app_client_id = std::string(kMaxAppClientIdBytes + 1, 'c'); }, "app_client_id"},
      {"long name", "default", [](R& r) { r.app_name = std::string(kMaxAppNameBytes + 1, 'n'); },
       "app_name"},
      {"name not UTF-8", "default", [](R& r) { r.app_name = "\xff"; }, "app_name"},
      {"description with NUL", "default", [](R& r) { r.app_description = std::string("a\0b", 3); },
       "app_description"},
      {"long description", "default",
       [](R& r) { r.app_description = std::string(kMaxAppDescriptionBytes + 1, 'd'); },
       "app_description"},
      {"flow type 9", "default", [](R& r) { r.flow_type = static_cast<AppAccessFlowType>(9); },
       "flow_type"},
      {"long redirect", "default",
       [](R& r) { r.redirect_uri = std::string(kMaxRedirectUriBytes + 1, 'u'); }, "redirect_uri"},
      {"requested not JSON", "default", [](R& r) { r.requested = "{oops"; }, "requested"},
      {"requested empty", "default", [](R& r) { r.requested = ""; }, "requested"},
      {"requested too big", "default",
       [](R& r) { r.requested = "\"" + std::string(kMaxAccessJsonBytes, 'j') + "\""; },
       "requested"},
  };
  for (const auto& c : cases) {
    const auto guard = nothing_appended(c.what);
    NewAppAccessRequest r = new_request("req-1");
    c.change(r);
    testing::expect_invalid(requests().create(c.org, r).status(), c.field, "create " + c.what);
  }
  EXPECT_CODE(requests().get("default", "req-1"), Code::kNotFound);

  const auto guard = nothing_appended();
  auto approve = [&](std::string org, std::string id, std::string user, std::string json,
                     std::string rs, std::optional<std::string> scope) {
    return requests().approve(org, id, user, json, rs, scope).status();
  };
  testing::expect_invalid(approve("", "req-0", "u", "{}", "rs", std::nullopt), "org_id",
                          "approve org");
  testing::expect_invalid(approve("default", "", "u", "{}", "rs", std::nullopt), "id",
                          "approve id");
  testing::expect_invalid(approve("default", "req-0", "", "{}", "rs", std::nullopt), "user_id",
                          "approve user");
  testing::expect_invalid(approve("default", "req-0", "u", "[1,", "rs", std::nullopt), "approved",
                          "approved not JSON");
  testing::expect_invalid(approve("default", "req-0", "u", "{}", "", std::nullopt),
                          "resource_scope", "empty resource scope");
  testing::expect_invalid(approve("default", "req-0", "u", "{}", "rs", std::string("")),
                          "access_request_scope", "empty scope");
  testing::expect_invalid(approve("default", "req-0", "u", "{}", "rs", std::string("a scope")),
                          "access_request_scope", "scope with space");
  testing::expect_invalid(approve("default", "req-0", "u", "{}", "rs",
                                  std::string(kMaxAccessRequestScopeBytes + 1, 's')),
                          "access_request_scope", "long scope");
  testing::expect_invalid(requests().deny("default", "req-0", "").status(), "user_id", "deny user");
  testing::expect_invalid(requests().deny("default", "re q", "u").status(), "id", "deny id");
  testing::expect_invalid(requests().fail("default", "req-0", "").status(), "error_message",
                          "no message");
  testing::expect_invalid(
      requests()
          .fail("default", "req-0", std::string(kMaxAccessErrorMessageBytes + 1, 'e'))
          .status(),
      "error_message", "long message");
  testing::expect_invalid(requests().get("default", "").status(), "id", "get id");
  testing::expect_invalid(requests().get("", "req-0").status(), "org_id", "get org");
  testing::expect_invalid(
      requests().get_by_access_request_scope("default", "x' OR '1'='1").status(),
      "access_request_scope", "scope lookup with SQL");
  auto row = requests().get("default", "req-0");
  ASSERT_OK(row);
  EXPECT_EQ(row->status, AppAccessStatus::kDraft);
}

TEST_P(AccessRequestRepositoryTest, HostileButValidStringsRoundTripByteForByte) {
  const std::vector<std::string> texts = {
      "it's",
      "\"double\"",
      "'; DROP TABLE app_access_requests; --",
      "%",
      "100%_off",
      "emoji 🎉👩‍💻",
      "line1\nline2\r\n",
      "back\\slash",
      "$1",
      " padded ",
  };
  int n = 0;
  for (const auto& s : texts) {
    SCOPED_TRACE(s);
    NewAppAccessRequest r = new_request("req-" + std::to_string(n++));
    r.app_client_id = s;
    r.app_name = s;
    r.app_description = s;
    r.redirect_uri = s;
    r.requested = "{ \"text\" : " + json_quote(s) + " ,\"n\":1.50 }";
    auto created = requests().create("default", r);
    ASSERT_OK(created);
    EXPECT_EQ(*created, draft_of("default", r, kStart));
    std::string approved_json = "[" + json_quote(s) + "]";
    auto approved = requests().approve("default", r.id, s, approved_json, s, std::nullopt);
    ASSERT_OK(approved);
    EXPECT_EQ(approved->approved, approved_json);
    EXPECT_EQ(approved->user_id, s);
    EXPECT_EQ(approved->resource_scope, s);
    EXPECT_EQ(approved->requested, r.requested);
  }
  NewAppAccessRequest r = new_request("req-fail");
  ASSERT_OK(requests().create("default", r));
  auto failed = requests().fail("default", "req-fail", texts[2]);
  ASSERT_OK(failed);
  EXPECT_EQ(failed->error_message, texts[2]);
}

INSTANTIATE_TEST_SUITE_P(Backends, AccessRequestRepositoryTest,
                         ::testing::Values(testing::Backend::kSqlite, testing::Backend::kPostgres),
                         testing::BackendName);

}  // namespace
}  // namespace annals::repositories
