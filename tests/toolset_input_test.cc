// ToolsetRepository on bad input and at its limits: refused input names its
// field and appends nothing (toolsets and app toolset configs), and fields at
// their size limits and hostile but valid text round-trip.
#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "annals/status.h"
#include "tests/toolset_repository_fixture.h"

namespace annals::repositories {
namespace {

using namespace toolset_tests;
using testing::expect_invalid;

class ToolsetInputTest : public ToolsetRepositoryTest {};

TEST_P(ToolsetInputTest, BadInputIsRefusedNamingTheFieldAndAppendsNothing) {
  ASSERT_OK(toolsets().create("default", new_toolset("ts-0", "zero")));
  const auto guard = nothing_appended();
  struct Case {
    std::string what;
    std::string org;
    std::function<void(NewToolset&)> change;
    std::string field;
  };
  auto keep = [](NewToolset&) {};
  const std::vector<Case> cases = {
      {"empty org", "", keep, "org_id"},
      {"org with SQL", "o'; DROP TABLE toolsets;--", keep, "org_id"},
      {"empty id", "default", [](NewToolset& t) { t.id = ""; }, "id"},
      {"65-byte id", "default", [](NewToolset& t) { t.id = std::string(65, 'i'); }, "id"},
      {"id with quote", "default", [](NewToolset& t) { t.id = "ts'1"; }, "id"},
      {"empty user", "default", [](NewToolset& t) { t.user_id = ""; }, "user_id"},
      {"256-byte user", "default", [](NewToolset& t) { t.user_id = std::string(256, 'u'); },
       "user_id"},
      {"user not UTF-8", "default", [](NewToolset& t) { t.user_id = "\xff"; }, "user_id"},
      {"empty type", "default", [](NewToolset& t) { t.toolset_type = ""; }, "toolset_type"},
      {"type with space", "default", [](NewToolset& t) { t.toolset_type = "a b"; }, "toolset_type"},
      {"empty slug", "default", [](NewToolset& t) { t.slug = ""; }, "slug"},
      {"65-byte slug", "default", [](NewToolset& t) { t.slug = std::string(65, 's'); }, "slug"},
      {"slug with slash", "default", [](NewToolset& t) { t.slug = "a/b"; }, "slug"},
      {"slug with %", "default", [](NewToolset& t) { t.slug = "a%"; }, "slug"},
      {"slug non-ASCII", "default", [](NewToolset& t) { t.slug = "s\xc3\xa9"; }, "slug"},
      {"4097-byte description", "default",
       [](NewToolset& t) { t.description = std::string(4097, 'd'); }, "description"},
      {"description with NUL", "default",
       [](NewToolset& t) { t.description = std::string("a\0b", 3); }, "description"},
      {"empty api key", "default", [](NewToolset& t) { t.api_key = ""; }, "api_key"},
      {"4097-byte api key", "default", [](NewToolset& t) { t.api_key = std::string(4097, 'k'); },
       "api_key"},
      {"api key not UTF-8", "default", [](NewToolset& t) { t.api_key = "\xc3"; }, "api_key"},
  };
  for (const auto& c : cases) {
    NewToolset t = new_toolset("ts-1", "one");
    c.change(t);
    expect_invalid(toolsets().create(c.org, t).status(), c.field, "create " + c.what);
  }

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

INSTANTIATE_TEST_SUITE_P(Backends, ToolsetInputTest,
                         ::testing::Values(testing::Backend::kSqlite, testing::Backend::kPostgres),
                         testing::BackendName);

}  // namespace
}  // namespace annals::repositories
