// ModelRepository, API model aliases: bad input is refused naming the field
// and appends nothing; hostile text and values at their limits round-trip.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "annals/status.h"
#include "tests/conformance_suites.h"
#include "tests/model_alias_fixture.h"

namespace annals::repositories {
namespace {

TEST_P(ModelAliasRepositoryTest, BadInputIsRefusedNamingTheFieldAndAppendsNothing) {
  ASSERT_OK(models().create_api_alias("default", new_alias("a0", "p0/")));
  using A = NewApiModelAlias;
  // What update checks as create does; the id and the key it takes apart.
  const auto field_rows = testing::rows_of(
      testing::bad_identifier("api_format", &A::api_format, kMaxApiFormatBytes),
      testing::bad_text("base_url", &A::base_url, kMaxBaseUrlBytes),
      testing::bad_values("base_url", &A::base_url,
                          {{"base_url not UTF-8 after https", "https://\xff"}}),
      testing::bad_values("models", &A::models,
                          {{"models not JSON", "[gpt-4"},
                           {"models empty", ""},
                           {"models an object", R"({"a": 1})"},
                           {"models a string", R"("gpt-4")"},
                           {"models with NUL", std::string("[\0]", 3)}}),
      testing::bad_text("prefix", &A::prefix, kMaxApiPrefixBytes, testing::Empty::kAllowed));
  const auto create_rows =
      testing::rows_of(testing::bad_identifier("id", &A::id, kMaxApiAliasIdBytes), field_rows,
                       testing::bad_text("api_key", &A::api_key, kMaxApiKeyBytes));
  testing::expect_bad_inputs_refused(journal(), "create", new_alias("a1", "p1/", "key"),
                                     create_rows, [&](const std::string& org, const A& a) {
                                       return models().create_api_alias(org, a).status();
                                     });
  testing::expect_bad_inputs_refused(
      journal(), "update", new_alias("a0"), field_rows, [&](const std::string& org, const A& u) {
        return models().update_api_alias(org, "a0", update_of(u)).status();
      });
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

INSTANTIATE_ON_BOTH_BACKENDS(ModelAliasRepositoryTest);

}  // namespace
}  // namespace annals::repositories
