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
#include "tests/conformance_suites.h"

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
  using R = NewAppAccessRequest;
  const auto rows = testing::rows_of(
      testing::bad_identifier("id", &R::id, kMaxAppAccessRequestIdBytes),
      testing::bad_text("app_client_id", &R::app_client_id, kMaxAppClientIdBytes),
      testing::bad_text("app_name", &R::app_name, kMaxAppNameBytes, testing::Empty::kAllowed),
      testing::bad_text("app_description", &R::app_description, kMaxAppDescriptionBytes,
                        testing::Empty::kAllowed),
      testing::bad_text("redirect_uri", &R::redirect_uri, kMaxRedirectUriBytes,
                        testing::Empty::kAllowed),
      testing::bad_values(
          "requested", &R::requested,
          {{"requested not JSON", "{oops"},
           {"requested empty", ""},
           {"requested too big", "\"" + std::string(kMaxAccessJsonBytes, 'j') + "\""}}),
      testing::BadInputs<R>{{"flow type 9",
                             [](R& r) { r.flow_type = static_cast<AppAccessFlowType>(9); },
                             "flow_type"}});
  testing::expect_bad_inputs_refused(
      journal(), "create", new_request("req-1"), rows,
      [&](const std::string& org, const R& r) { return requests().create(org, r).status(); });
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
  const auto texts = testing::hostile_text("app_access_requests");
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

INSTANTIATE_ON_BOTH_BACKENDS(AccessRequestRepositoryTest);

}  // namespace
}  // namespace annals::repositories
