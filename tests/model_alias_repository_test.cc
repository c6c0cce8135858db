// ModelRepository, API model aliases: over a real Store (RocksDB journal;
// SQLite, or PostgreSQL under row-level security) with a frozen clock and a
// master key, so API keys are sealed for real. Bad and hostile input is in
// model_alias_repository_input_test.cc.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "annals/clock.h"
#include "annals/status.h"
#include "tests/model_alias_fixture.h"

namespace annals::repositories {
namespace {

using namespace std::chrono_literals;

TEST_P(ModelAliasRepositoryTest, CreateReturnsTheAliasWithDefaults) {
  NewApiModelAlias a = new_alias("openai", "oai/");
  a.forward_all_with_prefix = true;
  auto created = models().create_api_alias("default", a);
  ASSERT_OK(created);
  EXPECT_EQ(*created, (ApiModelAlias{"openai", "openai", "https://api.openai.com/v1",
                                     R"(["gpt-4o", "gpt-4o-mini"])", "oai/", true, std::nullopt,
                                     kEpoch, false, kStart, kStart}));
  EXPECT_EQ(head(), 1u);
  clock_.advance(1s);
  auto got = models().get_api_alias("default", "openai");
  ASSERT_OK(got);
  EXPECT_EQ(*got, *created);
  EXPECT_CODE(models().get_api_key("default", "openai"), Code::kNotFound);
  EXPECT_EQ(stored_key("default", "openai"), std::nullopt);
}

TEST_P(ModelAliasRepositoryTest, TheApiKeyIsSealedEverywhereAndOpensOnlyThroughGetApiKey) {
  auto created = models().create_api_alias("default", new_alias("a1", std::nullopt, kKey));
  ASSERT_OK(created);
  EXPECT_TRUE(created->has_api_key);
  auto key = models().get_api_key("default", "a1");
  ASSERT_OK(key);
  EXPECT_EQ(*key, kKey);

  auto sealed = stored_key("default", "a1");
  ASSERT_TRUE(sealed.has_value());
  EXPECT_NE(*sealed, kKey);
  EXPECT_EQ(sealed->rfind("v1.", 0), 0u) << *sealed;
  EXPECT_EQ(sealed->find(kKey), std::string::npos);

  // Replaced and kept through updates: never in plain text in an event.
  const std::string second = "sk-second-PLAINTEXT-key";
  ASSERT_OK(models().update_api_alias("default", "a1",
                                      update_of(new_alias("a1"), SecretChange::set(second))));
  ASSERT_OK(models().update_api_alias("default", "a1", update_of(new_alias("a1"))));
  key = models().get_api_key("default", "a1");
  ASSERT_OK(key);
  EXPECT_EQ(*key, second);
  auto bytes = event_bytes();
  ASSERT_EQ(bytes.size(), 3u);
  for (const auto& b : bytes) {
    EXPECT_EQ(b.find(kKey), std::string::npos);
    EXPECT_EQ(b.find(second), std::string::npos);
    EXPECT_EQ(b.find("PLAINTEXT"), std::string::npos);
  }
  // Another org cannot open it.
  EXPECT_CODE(models().get_api_key("other", "a1"), Code::kNotFound);
}

TEST_P(ModelAliasRepositoryTest, UpdateKeepsSetsOrClearsTheApiKey) {
  NewApiModelAlias a = new_alias("a1", "p/", kKey);
  ASSERT_OK(models().create_api_alias("default", a));
  clock_.advance(10s);

  NewApiModelAlias changed = new_alias("a1", "q/");
  changed.api_format = "openai-responses";
  changed.base_url = "https://example.com/v1";
  changed.models = "[]";
  changed.forward_all_with_prefix = true;
  auto kept = models().update_api_alias("default", "a1", update_of(changed));
  ASSERT_OK(kept);
  ApiModelAlias want = expected_row(changed, kStart);
  want.has_api_key = true;
  want.updated_at = kStart + 10s;
  EXPECT_EQ(*kept, want);
  auto key = models().get_api_key("default", "a1");
  ASSERT_OK(key);
  EXPECT_EQ(*key, kKey);

  clock_.advance(1s);
  auto set =
      models().update_api_alias("default", "a1", update_of(changed, SecretChange::set("k2")));
  ASSERT_OK(set);
  EXPECT_TRUE(set->has_api_key);
  key = models().get_api_key("default", "a1");
  ASSERT_OK(key);
  EXPECT_EQ(*key, "k2");

  clock_.advance(1s);
  auto cleared =
      models().update_api_alias("default", "a1", update_of(changed, SecretChange::clear()));
  ASSERT_OK(cleared);
  want.has_api_key = false;
  want.updated_at = kStart + 12s;
  EXPECT_EQ(*cleared, want);
  EXPECT_CODE(models().get_api_key("default", "a1"), Code::kNotFound);
  EXPECT_EQ(stored_key("default", "a1"), std::nullopt);

  // Setting a key on an alias that had none.
  auto again =
      models().update_api_alias("default", "a1", update_of(changed, SecretChange::set("k3")));
  ASSERT_OK(again);
  key = models().get_api_key("default", "a1");
  ASSERT_OK(key);
  EXPECT_EQ(*key, "k3");
}

TEST_P(ModelAliasRepositoryTest, WithoutAMasterKeyOnlyKeylessWritesWork) {
  options().master_key = "";
  open();
  EXPECT_REFUSED(models().create_api_alias("default", new_alias("a1", std::nullopt, kKey)),
                 Code::kInvalidArgument, "master_key");
  ASSERT_OK(models().create_api_alias("default", new_alias("a1")));
  EXPECT_REFUSED(models().update_api_alias("default", "a1",
                                           update_of(new_alias("a1"), SecretChange::set("k"))),
                 Code::kInvalidArgument, "master_key");
  EXPECT_OK(models().update_api_alias("default", "a1",
                                      update_of(new_alias("a1"), SecretChange::clear())));
}

TEST_P(ModelAliasRepositoryTest, MissingAndOtherOrgsAliasesAreNotFoundAndAppendNothing) {
  ASSERT_OK(models().create_api_alias("org-a", new_alias("a1", "p/", kKey)));
  {
    const auto guard = nothing_appended();
    EXPECT_CODE(models().get_api_alias("org-b", "a1"), Code::kNotFound);
    EXPECT_CODE(models().get_api_alias("org-a", "a404"), Code::kNotFound);
    EXPECT_CODE(models().update_api_alias("org-b", "a1", update_of(new_alias("a1"))),
                Code::kNotFound);
    EXPECT_CODE(models().update_api_alias_cache("org-b", "a1", "[]", kStart), Code::kNotFound);
    EXPECT_CODE(models().delete_api_alias("org-b", "a1"), Code::kNotFound);
    EXPECT_CODE(models().delete_api_alias("org-a", "a404"), Code::kNotFound);
    EXPECT_CODE(models().get_api_key("org-a", "a404"), Code::kNotFound);
  }
  auto list = models().list_api_aliases("org-b");
  ASSERT_OK(list);
  EXPECT_TRUE(list->empty());
  auto exists = models().prefix_exists("org-b", "p/", std::nullopt);
  ASSERT_OK(exists);
  EXPECT_FALSE(*exists);
  auto still = models().get_api_alias("org-a", "a1");
  ASSERT_OK(still);
  EXPECT_EQ(*still, expected_row(new_alias("a1", "p/", kKey), kStart));
}

TEST_P(ModelAliasRepositoryTest, ATakenIdIsConflictUntilTheAliasIsDeleted) {
  ASSERT_OK(models().create_api_alias("default", new_alias("a1", "p/")));
  const uint64_t before = head();
  testing::expect_conflict(models().create_api_alias("default", new_alias("a1")).status(),
                           "api_alias.id", "same id");
  // An update moved the stream on: still the id rule.
  ASSERT_OK(models().update_api_alias("default", "a1", update_of(new_alias("a1", "p/"))));
  testing::expect_conflict(models().create_api_alias("default", new_alias("a1", "p/")).status(),
                           "api_alias.id", "same id after update");
  EXPECT_EQ(head(), before + 1);
  EXPECT_OK(models().create_api_alias("other", new_alias("a1", "p/")));

  // Deleting frees the id and the prefix; the new alias is a fresh row.
  ASSERT_OK(models().delete_api_alias("default", "a1"));
  EXPECT_CODE(models().get_api_alias("default", "a1"), Code::kNotFound);
  EXPECT_CODE(models().delete_api_alias("default", "a1"), Code::kNotFound);
  clock_.advance(5s);
  auto again = models().create_api_alias("default", new_alias("a1", "p/", kKey));
  ASSERT_OK(again);
  EXPECT_EQ(*again, expected_row(new_alias("a1", "p/", kKey), kStart + 5s));
  auto key = models().get_api_key("default", "a1");
  ASSERT_OK(key);
  EXPECT_EQ(*key, kKey);
  testing::expect_conflict(models().create_api_alias("default", new_alias("a1")).status(),
                           "api_alias.id", "recreated id");
  // And once more.
  ASSERT_OK(models().delete_api_alias("default", "a1"));
  EXPECT_OK(models().create_api_alias("default", new_alias("a1", "p/")));
}

TEST_P(ModelAliasRepositoryTest, NonEmptyPrefixesAreUniqueWithinAnOrg) {
  ASSERT_OK(models().create_api_alias("default", new_alias("a1", "azure/")));
  EXPECT_REFUSED(models().create_api_alias("default", new_alias("a2", "azure/")), Code::kConflict,
                 "api_alias.prefix");
  EXPECT_CODE(models().get_api_alias("default", "a2"), Code::kNotFound);
  // Prefixes are exact: other case, other org, no prefix and empty prefixes are free.
  EXPECT_OK(models().create_api_alias("default", new_alias("a3", "Azure/")));
  EXPECT_OK(models().create_api_alias("other", new_alias("a1", "azure/")));
  EXPECT_OK(models().create_api_alias("default", new_alias("n1")));
  EXPECT_OK(models().create_api_alias("default", new_alias("n2")));
  EXPECT_OK(models().create_api_alias("default", new_alias("e1", "")));
  auto e2 = models().create_api_alias("default", new_alias("e2", ""));
  ASSERT_OK(e2);
  EXPECT_EQ(e2->prefix, std::optional<std::string>(""));
  auto n1 = models().get_api_alias("default", "n1");
  ASSERT_OK(n1);
  EXPECT_EQ(n1->prefix, std::nullopt);

  // An update may take a free prefix but not a taken one.
  testing::expect_conflict(
      models().update_api_alias("default", "a3", update_of(new_alias("a3", "azure/"))).status(),
      "api_alias.prefix", "update to a taken prefix");
  // Keeping one's own prefix is fine.
  EXPECT_OK(models().update_api_alias("default", "a1", update_of(new_alias("a1", "azure/"))));
}

TEST_P(ModelAliasRepositoryTest, ChangingOrDeletingAPrefixReleasesIt) {
  ASSERT_OK(models().create_api_alias("default", new_alias("a1", "one/")));
  ASSERT_OK(models().create_api_alias("default", new_alias("a2", "two/")));
  ASSERT_OK(models().update_api_alias("default", "a1", update_of(new_alias("a1", "uno/"))));
  EXPECT_OK(models().create_api_alias("default", new_alias("b1", "one/")));
  testing::expect_conflict(models().create_api_alias("default", new_alias("b2", "uno/")).status(),
                           "api_alias.prefix", "renamed-to prefix");
  // To no prefix, and to the empty prefix.
  ASSERT_OK(models().update_api_alias("default", "a1", update_of(new_alias("a1"))));
  EXPECT_OK(models().create_api_alias("default", new_alias("b2", "uno/")));
  ASSERT_OK(models().update_api_alias("default", "a2", update_of(new_alias("a2", ""))));
  EXPECT_OK(models().create_api_alias("default", new_alias("b3", "two/")));
  // Delete.
  ASSERT_OK(models().delete_api_alias("default", "b3"));
  EXPECT_OK(models().create_api_alias("default", new_alias("b4", "two/")));
}

TEST_P(ModelAliasRepositoryTest, PrefixExistsExcludingAnAlias) {
  ASSERT_OK(models().create_api_alias("default", new_alias("a1", "p/")));
  ASSERT_OK(models().create_api_alias("default", new_alias("a2", "")));
  ASSERT_OK(models().create_api_alias("other", new_alias("o1", "q/")));
  auto check = [&](std::string org, std::string prefix, std::optional<std::string> excluding) {
    auto r = models().prefix_exists(org, prefix, excluding);
    EXPECT_OK(r);
    return r.is_ok() && *r;
  };
  EXPECT_TRUE(check("default", "p/", std::nullopt));
  EXPECT_TRUE(check("default", "p/", "a2"));
  EXPECT_FALSE(check("default", "p/", "a1"));
  EXPECT_FALSE(check("default", "P/", std::nullopt));
  EXPECT_FALSE(check("default", "p", std::nullopt));
  EXPECT_FALSE(check("default", "%", std::nullopt));
  EXPECT_FALSE(check("default", "q/", std::nullopt));
  EXPECT_TRUE(check("other", "q/", std::nullopt));
  EXPECT_TRUE(check("default", "", std::nullopt));  // matched like any value
  EXPECT_FALSE(check("default", "", "a2"));
  ASSERT_OK(models().delete_api_alias("default", "a1"));
  EXPECT_FALSE(check("default", "p/", std::nullopt));
}

TEST_P(ModelAliasRepositoryTest, UpdateCacheSetsModelsCacheAndFetchedAt) {
  NewApiModelAlias a = new_alias("a1", "p/", kKey);
  ASSERT_OK(models().create_api_alias("default", a));
  clock_.advance(3s);
  const std::string cache = R"({"data": [{"id": "gpt-4o"}, {"id": "o3"}]})";
  auto cached = models().update_api_alias_cache("default", "a1", cache, kStart + 2s);
  ASSERT_OK(cached);
  ApiModelAlias want = expected_row(a, kStart);
  want.models_cache = cache;
  want.cache_fetched_at = kStart + 2s;
  want.updated_at = kStart + 3s;
  EXPECT_EQ(*cached, want);
  // An alias update leaves the cache alone.
  clock_.advance(1s);
  auto updated = models().update_api_alias("default", "a1", update_of(a));
  ASSERT_OK(updated);
  want.updated_at = kStart + 4s;
  EXPECT_EQ(*updated, want);
  EXPECT_REFUSED(models().update_api_alias_cache("default", "a1", "{not json", kStart),
                 Code::kInvalidArgument, "models_cache");
  EXPECT_REFUSED(models().update_api_alias_cache("default", "a1", "", kStart),
                 Code::kInvalidArgument, "models_cache");
  EXPECT_REFUSED(models().update_api_alias_cache("default", "a404", "[]", kStart), Code::kNotFound,
                 "");
}

TEST_P(ModelAliasRepositoryTest, ListIsNewestFirstAndPerOrg) {
  for (const char* id : {"a", "b", "c"}) {
    ASSERT_OK(models().create_api_alias("default", new_alias(id)));
    clock_.advance(1s);
  }
  // Same microsecond: the later create first.
  ASSERT_OK(models().create_api_alias("default", new_alias("d")));
  ASSERT_OK(models().create_api_alias("default", new_alias("e")));
  ASSERT_OK(models().create_api_alias("other", new_alias("x")));
  // An update does not reorder.
  ASSERT_OK(models().update_api_alias("default", "a", update_of(new_alias("a"))));
  auto list = models().list_api_aliases("default");
  ASSERT_OK(list);
  EXPECT_EQ(ids_of(*list), (std::vector<std::string>{"e", "d", "c", "b", "a"}));
  EXPECT_EQ(list->back().created_at, kStart);
  EXPECT_EQ(list->back().updated_at, kStart + 3s);
  auto empty = models().list_api_aliases("nobody");
  ASSERT_OK(empty);
  EXPECT_TRUE(empty->empty());
}

TEST_P(ModelAliasRepositoryTest, ConcurrentCreatesClaimAPrefixExactlyOnce) {
  // Every other create is a conflict naming the prefix rule.
  const int winner = one_winner("api_alias.prefix", 8, [&](int t) {
    return models()
        .create_api_alias("default", new_alias("a" + std::to_string(t), "shared/", "k"))
        .status();
  });
  EXPECT_EQ(head(), 1u);
  auto list = models().list_api_aliases("default");
  ASSERT_OK(list);
  EXPECT_EQ(ids_of(*list), (std::vector<std::string>{"a" + std::to_string(winner)}));
}

TEST_P(ModelAliasRepositoryTest, ConcurrentRecreatesOfADeletedIdHaveExactlyOneWinner) {
  ASSERT_OK(models().create_api_alias("default", new_alias("a1", "p/")));
  ASSERT_OK(models().delete_api_alias("default", "a1"));
  // Every other create is a conflict naming the id rule.
  one_winner("api_alias.id", 8, [&](int t) {
    return models()
        .create_api_alias("default", new_alias("a1", "p" + std::to_string(t) + "/"))
        .status();
  });
  EXPECT_EQ(head(), 3u);
  auto list = models().list_api_aliases("default");
  ASSERT_OK(list);
  EXPECT_EQ(list->size(), 1u);
}

TEST_P(ModelAliasRepositoryTest, AliasesKeysAndPrefixesSurviveReopening) {
  ASSERT_OK(models().create_api_alias("default", new_alias("a1", "p/", kKey)));
  clock_.advance(1s);
  auto cached = models().update_api_alias_cache("default", "a1", "[\"m\"]", kStart);
  ASSERT_OK(cached);
  const uint64_t before = head();
  open();
  auto got = models().get_api_alias("default", "a1");
  ASSERT_OK(got);
  EXPECT_EQ(*got, *cached);
  auto key = models().get_api_key("default", "a1");
  ASSERT_OK(key);
  EXPECT_EQ(*key, kKey);
  testing::expect_conflict(models().create_api_alias("default", new_alias("a2", "p/")).status(),
                           "api_alias.prefix", "after reopen");
  EXPECT_EQ(head(), before);
  // With another master key the key does not open.
  options().master_key = std::string(32, 'x');
  open();
  auto wrong = models().get_api_key("default", "a1");
  EXPECT_FALSE(wrong.is_ok());
  EXPECT_NE(wrong.status().code(), Code::kNotFound) << wrong.status().to_string();
}

INSTANTIATE_ON_BOTH_BACKENDS(ModelAliasRepositoryTest);

}  // namespace
}  // namespace annals::repositories
