// ModelRepository, API model aliases: bad input is refused naming the field
// and appends nothing; hostile text and values at their limits round-trip.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "annals/status.h"
#include "tests/model_alias_fixture.h"

namespace annals::repositories {
namespace {

TEST_P(ModelAliasRepositoryTest, BadInputIsRefusedNamingTheFieldAndAppendsNothing) {
  ASSERT_OK(models().create_api_alias("default", new_alias("a0", "p0/")));
  struct Case {
    std::string what;
    std::string org;
    std::function<void(NewApiModelAlias&)> change;
    std::string field;
  };
  auto keep = [](NewApiModelAlias&) {};
  using A = NewApiModelAlias;
  const std::vector<Case> cases = {
      {"empty org", "", keep, "org_id"},
      {"org with quote", "o'1", keep, "org_id"},
      {"empty id", "default", [](A& a) { a.id = ""; }, "id"},
      {"65-byte id", "default", [](A& a) { a.id = std::string(65, 'i'); }, "id"},
      {"id with slash", "default", [](A& a) { a.id = "a/b"; }, "id"},
      {"empty format", "default", [](A& a) { a.api_format = ""; }, "api_format"},
      {"format with space", "default", [](A& a) { a.api_format = "open ai"; }, "api_format"},
      {"33-byte format", "default", [](A& a) { a.api_format = std::string(33, 'f'); },
       "api_format"},
      {"empty base_url", "default", [](A& a) { a.base_url = ""; }, "base_url"},
      {"long base_url", "default", [](A& a) { a.base_url = std::string(2049, 'u'); }, "base_url"},
      {"base_url not UTF-8", "default", [](A& a) { a.base_url = "https://\xff"; }, "base_url"},
      {"models not JSON", "default", [](A& a) { a.models = "[gpt-4"; }, "models"},
      {"models empty", "default", [](A& a) { a.models = ""; }, "models"},
      {"models an object", "default", [](A& a) { a.models = R"({"a": 1})"; }, "models"},
      {"models a string", "default", [](A& a) { a.models = R"("gpt-4")"; }, "models"},
      {"models with NUL", "default", [](A& a) { a.models = std::string("[\0]", 3); }, "models"},
      {"long prefix", "default", [](A& a) { a.prefix = std::string(256, 'p'); }, "prefix"},
      {"prefix not UTF-8", "default", [](A& a) { a.prefix = "\xc3\x28"; }, "prefix"},
      {"empty key", "default", [](A& a) { a.api_key = ""; }, "api_key"},
      {"long key", "default", [](A& a) { a.api_key = std::string(4097, 'k'); }, "api_key"},
  };
  for (const auto& c : cases) {
    const auto guard = nothing_appended(c.what);
    A a = new_alias("a1", "p1/", "key");
    c.change(a);
    testing::expect_invalid(models().create_api_alias(c.org, a).status(), c.field,
                            "create " + c.what);
    if (c.field != "id" && c.field != "api_key") {
      A u = new_alias("a0");
      c.change(u);
      testing::expect_invalid(models().update_api_alias(c.org, "a0", update_of(u)).status(),
                              c.field, "update " + c.what);
    }
  }
  const auto guard = nothing_appended();
  auto upd = [&](std::string id, SecretChange change) {
    return models().update_api_alias("default", id, update_of(new_alias("a0"), change)).status();
  };
  testing::expect_invalid(upd("", SecretChange::keep()), "id", "update empty id");
  testing::expect_invalid(upd("a0", SecretChange::set("")), "api_key", "set empty key");
  testing::expect_invalid(upd("a0", SecretChange{static_cast<SecretChange::Action>(9), "x"}),
                          "api_key", "key change 9");
  testing::expect_invalid(models().get_api_alias("default", "a 0").status(), "id", "get");
  testing::expect_invalid(models().delete_api_alias("default", "").status(), "id", "delete");
  testing::expect_invalid(models().get_api_key("default", "").status(), "id", "get_api_key");
  testing::expect_invalid(models().prefix_exists("default", "\xff", std::nullopt).status(),
                          "prefix", "prefix_exists");
  testing::expect_invalid(models().prefix_exists("default", "p", "").status(), "excluding_id",
                          "prefix_exists excluding");
  testing::expect_invalid(models().list_api_aliases("").status(), "org_id", "list");
  auto a0 = models().get_api_alias("default", "a0");
  ASSERT_OK(a0);
  EXPECT_EQ(*a0, expected_row(new_alias("a0", "p0/"), kStart));
}

TEST_P(ModelAliasRepositoryTest, HostileTextAndLimitsRoundTrip) {
  const std::vector<std::string> hostile = {"it's/", "\"q\"/", "'; DROP TABLE api_model_aliases;--",
                                            "%",     "_",      "🎉/",
                                            "a\nb",  "$1",     " padded "};
  int n = 0;
  for (const auto& s : hostile) {
    SCOPED_TRACE(s);
    NewApiModelAlias a = new_alias("h" + std::to_string(n++), s, s);
    a.base_url = "https://example.com/" + s;
    a.models = R"(["m", "x\n", "it's"])";
    auto c = models().create_api_alias("default", a);
    ASSERT_OK(c);
    EXPECT_EQ(*c, expected_row(a, kStart));
    auto key = models().get_api_key("default", a.id);
    ASSERT_OK(key);
    EXPECT_EQ(*key, s);
    auto exists = models().prefix_exists("default", s, std::nullopt);
    ASSERT_OK(exists);
    EXPECT_TRUE(*exists);
  }
  NewApiModelAlias big =
      new_alias(std::string(kMaxApiAliasIdBytes, 'i'), std::string(kMaxApiPrefixBytes, 'p'),
                std::string(kMaxApiKeyBytes, 'k'));
  big.api_format = std::string(kMaxApiFormatBytes, 'f');
  big.base_url = std::string(kMaxBaseUrlBytes, 'u');
  big.models = "[\"" + std::string(kMaxApiModelsBytes - 4, 'm') + "\"]";
  auto c = models().create_api_alias("default", big);
  ASSERT_OK(c);
  EXPECT_EQ(*c, expected_row(big, kStart));
}

INSTANTIATE_TEST_SUITE_P(Backends, ModelAliasRepositoryTest,
                         ::testing::Values(testing::Backend::kSqlite, testing::Backend::kPostgres),
                         testing::BackendName);

}  // namespace
}  // namespace annals::repositories
