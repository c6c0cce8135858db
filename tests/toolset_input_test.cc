// ToolsetRepository on bad input and at its limits: refused input names its
// field and appends nothing (toolsets and app toolset configs), and fields at
// their size limits and hostile but valid text round-trip.
#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "annals/status.h"
#include "tests/conformance_suites.h"
#include "tests/toolset_repository_fixture.h"

namespace annals::repositories {
namespace {

using namespace toolset_tests;

class ToolsetInputTest : public ToolsetRepositoryTest {};

TEST_P(ToolsetInputTest, BadInputIsRefusedNamingTheFieldAndAppendsNothing) {
  ASSERT_OK(toolsets().create("default", new_toolset("ts-0", "zero")));
  const auto guard = nothing_appended();
  using T = NewToolset;
  const auto rows = testing::rows_of(
      testing::bad_identifier("id", &T::id, kMaxToolsetIdBytes),
      testing::bad_text("user_id", &T::user_id, kMaxToolsetUserIdBytes),
      testing::bad_identifier("toolset_type", &T::toolset_type, kMaxToolsetTypeBytes),
      testing::bad_identifier("slug", &T::slug, kMaxToolsetSlugBytes),
      testing::bad_values("slug", &T::slug,
                          {{"slug with %", "a%"}, {"slug non-ASCII", "s\xc3\xa9"}}),
      testing::bad_text("description", &T::description, kMaxToolsetDescriptionBytes,
                        testing::Empty::kAllowed),
      testing::bad_text("api_key", &T::api_key, kMaxToolsetApiKeyBytes));
  testing::expect_bad_inputs_refused(
      journal(), "create", new_toolset("ts-1", "one"), rows,
      [&](const std::string& org, const T& t) { return toolsets().create(org, t).status(); });

  ToolsetUpdate good{"zero", std::nullopt, true, SecretChange::keep()};
  auto upd = [&](std::string org, std::string user, std::string id, ToolsetUpdate u) {
    return toolsets().update(org, user, id, u).status();
  };
  EXPECT_INVALID(upd("", "user-1", "ts-0", good), "org_id");
  EXPECT_INVALID(upd("default", "", "ts-0", good), "user_id");
  EXPECT_INVALID(upd("default", "user-1", "", good), "id");
  ToolsetUpdate bad = good;
  bad.slug = "bad slug";
  EXPECT_INVALID(upd("default", "user-1", "ts-0", bad), "slug");
  bad = good;
  bad.description = "\xff";
  EXPECT_INVALID(upd("default", "user-1", "ts-0", bad), "description");
  bad = good;
  bad.api_key = SecretChange::set("");
  EXPECT_INVALID(upd("default", "user-1", "ts-0", bad), "api_key");
  bad = good;
  bad.api_key.action = static_cast<SecretChange::Action>(7);
  EXPECT_INVALID(upd("default", "user-1", "ts-0", bad), "api_key");

  EXPECT_INVALID(toolsets().get("a/b", "user-1", "ts-0"), "org_id");
  EXPECT_INVALID(toolsets().get("default", "", "ts-0"), "user_id");
  EXPECT_INVALID(toolsets().get("default", "user-1", "ts 0"), "id");
  EXPECT_INVALID(toolsets().get_by_slug("default", "user-1", "x' OR '1'='1"), "slug");
  EXPECT_INVALID(toolsets().list("default", ""), "user_id");
  EXPECT_INVALID(toolsets().list_by_type("default", "user-1", ""), "toolset_type");
  EXPECT_INVALID(toolsets().remove("default", "user-1", ""), "id");
  EXPECT_INVALID(toolsets().get_api_key("", "user-1", "ts-0"), "org_id");
}

TEST_P(ToolsetInputTest, FieldsAtTheirLimitsAndHostileTextRoundTrip) {
  NewToolset t;
  t.id = std::string(kMaxToolsetIdBytes, 'i');
  t.user_id = std::string(kMaxToolsetUserIdBytes, 'u');
  t.toolset_type = std::string(kMaxToolsetTypeBytes, 't');
  t.slug = std::string(kMaxToolsetSlugBytes, 'S');
  t.description = std::string(kMaxToolsetDescriptionBytes, 'd');
  t.api_key = std::string(kMaxToolsetApiKeyBytes, 'k');
  auto created = toolsets().create(std::string(64, 'o'), t);
  ASSERT_OK(created);
  EXPECT_EQ(*created, expected_row(t, kStart));
  EXPECT_EQ(*toolsets().get_api_key(std::string(64, 'o'), t.user_id, t.id), t.api_key);

  const std::vector<std::string> hostile = {
      "",         "it's", "\"q\"",   "'; DROP TABLE toolsets; --", "%", "_", "emoji 🎉",
      "a\nb\r\n", "$1",   " padded "};
  int n = 0;
  for (const auto& text : hostile) {
    NewToolset h = new_toolset("h-" + std::to_string(n), "h" + std::to_string(n), text);
    if (text.empty()) h.user_id = "user";
    h.description = text;
    h.api_key = text.empty() ? "k" : text;
    SCOPED_TRACE(text);
    ASSERT_OK(toolsets().create("default", h));
    auto got = toolsets().get("default", h.user_id, h.id);
    ASSERT_OK(got);
    EXPECT_EQ(*got, expected_row(h, kStart));
    EXPECT_EQ(*toolsets().get_api_key("default", h.user_id, h.id), h.api_key);
    ++n;
  }
}

TEST_P(ToolsetInputTest, AppConfigInputIsValidated) {
  EXPECT_INVALID(toolsets().set_app_enabled("", "t", true, "a"), "org_id");
  EXPECT_INVALID(toolsets().set_app_enabled("default", "", true, "a"), "toolset_type");
  EXPECT_INVALID(toolsets().set_app_enabled("default", "a b", true, "a"), "toolset_type");
  EXPECT_INVALID(toolsets().set_app_enabled("default", "t", true, ""), "updated_by");
  EXPECT_INVALID(toolsets().set_app_enabled("default", "t", true, std::string(256, 'a')),
                 "updated_by");
  EXPECT_INVALID(toolsets().list_app_configs("a/b"), "org_id");
  EXPECT_INVALID(toolsets().get_app_config("default", "x'--"), "toolset_type");
  EXPECT_EQ(head(), 0u);
}

INSTANTIATE_ON_BOTH_BACKENDS(ToolsetInputTest);

}  // namespace
}  // namespace annals::repositories
