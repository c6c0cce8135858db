// ToolsetRepository over a real Store (RocksDB journal; SQLite or PostgreSQL
// read tables) with a frozen clock, so every timestamp is known exactly:
// toolsets and their slugs, sealed API keys, concurrency, the app toolset
// configs and reopening. Bad input and limits: toolset_input_test.cc.
#include <gtest/gtest.h>

#include <barrier>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "annals/status.h"
#include "tests/toolset_repository_fixture.h"

namespace annals::repositories {
namespace {

using namespace std::chrono_literals;
using namespace toolset_tests;
using testing::expect_conflict;
using testing::ids_of;

const Timestamp kEpoch = from_micros(0);

ToolsetUpdate update_of(const Toolset& t) {
  return {t.slug, t.description, t.enabled, SecretChange::keep()};
}

// --- toolsets ------------------------------------------------------------------

TEST_P(ToolsetRepositoryTest, CreateReturnsTheToolsetStampedWithClockTime) {
  NewToolset t = new_toolset("ts-1", "Exa-Search");
  t.enabled = false;
  t.description.reset();
  auto created = toolsets().create("default", t);
  ASSERT_OK(created);
  EXPECT_EQ(*created, (Toolset{"ts-1", "user-1", "builtin-exa-search", "Exa-Search", std::nullopt,
                               false, false, kStart, kStart}));
  EXPECT_EQ(head(), 1u);
  clock_.advance(1s);
  auto got = toolsets().get("default", "user-1", "ts-1");
  ASSERT_OK(got);
  EXPECT_EQ(*got, *created);
  EXPECT_CODE(toolsets().get("default", "user-2", "ts-1"), Code::kNotFound);
  EXPECT_CODE(toolsets().get("other", "user-1", "ts-1"), Code::kNotFound);
  EXPECT_CODE(toolsets().get("default", "user-1", "ts-404"), Code::kNotFound);
}

TEST_P(ToolsetRepositoryTest, GetBySlugIgnoresAsciiCaseAndStaysWithinUserAndOrg) {
  NewToolset t = new_toolset("ts-1", "Exa-Search_1");
  ASSERT_OK(toolsets().create("default", t));
  for (const std::string slug : {"Exa-Search_1", "exa-search_1", "EXA-SEARCH_1", "eXa-sEaRcH_1"}) {
    auto got = toolsets().get_by_slug("default", "user-1", slug);
    ASSERT_OK(got);
    EXPECT_EQ(*got, expected_row(t, kStart)) << slug;
  }
  EXPECT_CODE(toolsets().get_by_slug("default", "user-1", "exa-search"), Code::kNotFound);
  EXPECT_CODE(toolsets().get_by_slug("default", "user-2", "exa-search_1"), Code::kNotFound);
  EXPECT_CODE(toolsets().get_by_slug("other", "user-1", "exa-search_1"), Code::kNotFound);
}

TEST_P(ToolsetRepositoryTest, SlugIsUniquePerUserIgnoringCaseAndConflictsAppendNothing) {
  ASSERT_OK(toolsets().create("default", new_toolset("ts-1", "Search", "user-1")));
  {
    const auto guard = nothing_appended();
    for (const std::string slug : {"Search", "search", "SEARCH", "sEARCh"}) {
      expect_conflict(toolsets().create("default", new_toolset("ts-2", slug, "user-1")).status(),
                      "toolset.slug", slug);
    }
  }
  EXPECT_CODE(toolsets().get("default", "user-1", "ts-2"), Code::kNotFound);
  // Another user, or the same user in another org, may use it.
  EXPECT_OK(toolsets().create("default", new_toolset("ts-2", "SEARCH", "user-2")));
  EXPECT_OK(toolsets().create("other", new_toolset("ts-3", "search", "user-1")));
}

TEST_P(ToolsetRepositoryTest, AnIdIsNeverUsedTwiceEvenAfterADelete) {
  ASSERT_OK(toolsets().create("default", new_toolset("ts-1", "one")));
  EXPECT_REFUSED(toolsets().create("default", new_toolset("ts-1", "two")), Code::kConflict,
                 "toolset.id");
  ASSERT_OK(toolsets().remove("default", "user-1", "ts-1"));
  expect_conflict(toolsets().create("default", new_toolset("ts-1", "one")).status(), "toolset.id",
                  "id of a deleted toolset");
  // Ids are per org.
  EXPECT_OK(toolsets().create("other", new_toolset("ts-1", "one")));
}

TEST_P(ToolsetRepositoryTest, UpdateReplacesFieldsAndKeepsTypeUserAndCreatedAt) {
  NewToolset t = new_toolset("ts-1", "search");
  ASSERT_OK(toolsets().create("default", t));
  clock_.advance(30s);
  auto updated = toolsets().update("default", "user-1", "ts-1",
                                   {"Search-2", std::nullopt, false, SecretChange::keep()});
  ASSERT_OK(updated);
  Toolset want{"ts-1", "user-1", "builtin-exa-search", "Search-2", std::nullopt, false,
               false,  kStart,   kStart + 30s};
  EXPECT_EQ(*updated, want);
  EXPECT_EQ(head(), 2u);
  auto got = toolsets().get_by_slug("default", "user-1", "search-2");
  ASSERT_OK(got);
  EXPECT_EQ(*got, want);
  EXPECT_CODE(toolsets().get_by_slug("default", "user-1", "search"), Code::kNotFound);
}

TEST_P(ToolsetRepositoryTest, RenamingFreesTheOldSlugAndClaimsTheNewOne) {
  ASSERT_OK(toolsets().create("default", new_toolset("ts-1", "alpha")));
  ASSERT_OK(toolsets().create("default", new_toolset("ts-2", "beta")));
  auto a = toolsets().get("default", "user-1", "ts-1");
  ASSERT_OK(a);

  // Onto another toolset's slug (any case): conflict, nothing appended.
  ToolsetUpdate onto_beta = update_of(*a);
  onto_beta.slug = "BETA";
  EXPECT_REFUSED(toolsets().update("default", "user-1", "ts-1", onto_beta), Code::kConflict,
                 "toolset.slug");

  // A case-only change of its own slug is no conflict.
  ToolsetUpdate upper = update_of(*a);
  upper.slug = "ALPHA";
  ASSERT_OK(toolsets().update("default", "user-1", "ts-1", upper));

  // A real rename frees the old slug for others.
  ToolsetUpdate gamma = update_of(*a);
  gamma.slug = "gamma";
  ASSERT_OK(toolsets().update("default", "user-1", "ts-1", gamma));
  EXPECT_OK(toolsets().create("default", new_toolset("ts-3", "Alpha")));
  expect_conflict(toolsets().create("default", new_toolset("ts-4", "GAMMA")).status(),
                  "toolset.slug", "the new slug is taken");
}

TEST_P(ToolsetRepositoryTest, UpdateAndRemoveOfAnotherUsersOrMissingToolsetAreNotFound) {
  NewToolset t = new_toolset("ts-1", "search", "user-1");
  ASSERT_OK(toolsets().create("default", t));
  {
    const auto guard = nothing_appended();
    ToolsetUpdate u{"stolen", "x", false, SecretChange::clear()};
    EXPECT_CODE(toolsets().update("default", "user-2", "ts-1", u), Code::kNotFound);
    EXPECT_CODE(toolsets().update("other", "user-1", "ts-1", u), Code::kNotFound);
    EXPECT_CODE(toolsets().update("default", "user-1", "ts-404", u), Code::kNotFound);
    EXPECT_CODE(toolsets().remove("default", "user-2", "ts-1"), Code::kNotFound);
    EXPECT_CODE(toolsets().remove("other", "user-1", "ts-1"), Code::kNotFound);
    EXPECT_CODE(toolsets().remove("default", "user-1", "ts-404"), Code::kNotFound);
    EXPECT_CODE(toolsets().get_api_key("default", "user-2", "ts-1"), Code::kNotFound);
  }
  auto got = toolsets().get("default", "user-1", "ts-1");
  ASSERT_OK(got);
  EXPECT_EQ(*got, expected_row(t, kStart));
}

TEST_P(ToolsetRepositoryTest, RemoveDeletesTheToolsetAndFreesItsSlug) {
  ASSERT_OK(toolsets().create("default", new_toolset("ts-1", "Search")));
  ASSERT_OK(toolsets().create("default", new_toolset("ts-2", "other")));
  ASSERT_OK(toolsets().remove("default", "user-1", "ts-1"));
  EXPECT_EQ(head(), 3u);
  EXPECT_CODE(toolsets().get("default", "user-1", "ts-1"), Code::kNotFound);
  EXPECT_CODE(toolsets().get_by_slug("default", "user-1", "search"), Code::kNotFound);
  EXPECT_CODE(toolsets().remove("default", "user-1", "ts-1"), Code::kNotFound);
  auto all = toolsets().list("default", "user-1");
  ASSERT_OK(all);
  EXPECT_EQ(ids_of(*all), std::vector<std::string>{"ts-2"});
  // The slug is free again, in any case.
  EXPECT_OK(toolsets().create("default", new_toolset("ts-3", "SEARCH")));
}

TEST_P(ToolsetRepositoryTest, ListsAreInCreationOrderAndFilterByUserTypeAndOrg) {
  ASSERT_OK(toolsets().create("default", new_toolset("ts-c", "c", "user-1", "type-a")));
  clock_.advance(1s);
  ASSERT_OK(toolsets().create("default", new_toolset("ts-a", "a", "user-1", "type-b")));
  // Same microsecond: creation order still decides.
  ASSERT_OK(toolsets().create("default", new_toolset("ts-b", "b", "user-1", "type-a")));
  ASSERT_OK(toolsets().create("default", new_toolset("ts-u2", "a", "user-2", "type-a")));
  ASSERT_OK(toolsets().create("org-2", new_toolset("ts-o2", "z", "user-1", "type-a")));

  auto all = toolsets().list("default", "user-1");
  ASSERT_OK(all);
  EXPECT_EQ(ids_of(*all), (std::vector<std::string>{"ts-c", "ts-a", "ts-b"}));
  EXPECT_EQ(all->front(), expected_row(new_toolset("ts-c", "c", "user-1", "type-a"), kStart));
  auto type_a = toolsets().list_by_type("default", "user-1", "type-a");
  ASSERT_OK(type_a);
  EXPECT_EQ(ids_of(*type_a), (std::vector<std::string>{"ts-c", "ts-b"}));
  auto none = toolsets().list_by_type("default", "user-1", "type-z");
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
  auto nobody = toolsets().list("default", "nobody");
  ASSERT_OK(nobody);
  EXPECT_TRUE(nobody->empty());
  auto other_org = toolsets().list("org-2", "user-1");
  ASSERT_OK(other_org);
  EXPECT_EQ(ids_of(*other_org), std::vector<std::string>{"ts-o2"});
}

// --- API keys -------------------------------------------------------------------

TEST_P(ToolsetRepositoryTest, ApiKeyIsSealedEverywhereAndOpensOnlyThroughGetApiKey) {
  const std::string plain = "exa-PLAINTEXT-KEY-0123456789";
  NewToolset t = new_toolset("ts-1", "search");
  t.api_key = plain;
  auto created = toolsets().create("default", t);
  ASSERT_OK(created);
  EXPECT_TRUE(created->has_api_key);
  auto key = toolsets().get_api_key("default", "user-1", "ts-1");
  ASSERT_OK(key);
  EXPECT_EQ(*key, std::optional<std::string>(plain));

  auto sealed = stored_sealed_keys("default");
  ASSERT_EQ(sealed.size(), 1u);
  EXPECT_EQ(sealed[0].rfind("v1.", 0), 0u) << sealed[0];
  EXPECT_EQ(sealed[0].find(plain), std::string::npos);
  for (const auto& e : printed_events()) {
    EXPECT_EQ(e.find(plain), std::string::npos) << e;
    EXPECT_NE(e.find(sealed[0]), std::string::npos) << "the event holds the sealed key: " << e;
  }
}

TEST_P(ToolsetRepositoryTest, UpdateKeepsSetsOrClearsTheApiKey) {
  NewToolset t = new_toolset("ts-1", "search");
  t.api_key = "key-one";
  ASSERT_OK(toolsets().create("default", t));
  auto row = toolsets().get("default", "user-1", "ts-1");
  ASSERT_OK(row);

  ToolsetUpdate u = update_of(*row);
  u.description = "kept";
  auto kept = toolsets().update("default", "user-1", "ts-1", u);
  ASSERT_OK(kept);
  EXPECT_TRUE(kept->has_api_key);
  EXPECT_EQ(*toolsets().get_api_key("default", "user-1", "ts-1"),
            std::optional<std::string>("key-one"));

  u.api_key = SecretChange::set("key-TWO-secret");
  auto set = toolsets().update("default", "user-1", "ts-1", u);
  ASSERT_OK(set);
  EXPECT_TRUE(set->has_api_key);
  EXPECT_EQ(*toolsets().get_api_key("default", "user-1", "ts-1"),
            std::optional<std::string>("key-TWO-secret"));

  u.api_key = SecretChange::clear();
  auto cleared = toolsets().update("default", "user-1", "ts-1", u);
  ASSERT_OK(cleared);
  EXPECT_FALSE(cleared->has_api_key);
  EXPECT_EQ(*toolsets().get_api_key("default", "user-1", "ts-1"), std::nullopt);
  EXPECT_TRUE(stored_sealed_keys("default").empty());

  // Setting a key on a toolset that had none.
  u.api_key = SecretChange::set("key-three");
  ASSERT_OK(toolsets().update("default", "user-1", "ts-1", u));
  EXPECT_EQ(*toolsets().get_api_key("default", "user-1", "ts-1"),
            std::optional<std::string>("key-three"));
  for (const auto& e : printed_events()) {
    for (const std::string plain : {"key-one", "key-TWO-secret", "key-three"}) {
      EXPECT_EQ(e.find(plain), std::string::npos) << e;
    }
  }
  EXPECT_EQ(head(), 5u);
}

TEST_P(ToolsetRepositoryTest, ASealedKeyDoesNotOpenForAnotherToolsetOrOrg) {
  NewToolset a = new_toolset("ts-a", "a");
  a.api_key = "key-a";
  ASSERT_OK(toolsets().create("org-1", a));
  NewToolset x = new_toolset("ts-x", "x");
  x.api_key = "key-x";
  ASSERT_OK(toolsets().create("org-2", x));
  auto sealed = stored_sealed_keys("org-1");
  ASSERT_EQ(sealed.size(), 1u);
  auto* secrets = store_->internals().secrets();
  ASSERT_NE(secrets, nullptr);
  auto opened = secrets->open("org-1", "toolsets.api_key/ts-a", sealed[0]);
  ASSERT_OK(opened);
  EXPECT_EQ(*opened, "key-a");
  EXPECT_CODE(secrets->open("org-1", "toolsets.api_key/ts-b", sealed[0]), Code::kCorruption);
  EXPECT_CODE(secrets->open("org-2", "toolsets.api_key/ts-a", sealed[0]), Code::kCorruption);
}

TEST_P(ToolsetRepositoryTest, ApiKeysNeedAMasterKeyButPlainToolsetsDoNot) {
  options().master_key.clear();  // no master key
  open();
  NewToolset t = new_toolset("ts-1", "search");
  t.api_key = "secret";
  EXPECT_INVALID(toolsets().create("default", t), "master_key");
  EXPECT_EQ(head(), 0u);
  t.api_key.reset();
  ASSERT_OK(toolsets().create("default", t));
  EXPECT_EQ(*toolsets().get_api_key("default", "user-1", "ts-1"), std::nullopt);
  ToolsetUpdate u{"search", std::nullopt, true, SecretChange::set("secret")};
  EXPECT_INVALID(toolsets().update("default", "user-1", "ts-1", u), "master_key");
  EXPECT_EQ(head(), 1u);
}

// --- concurrency ------------------------------------------------------------------------

TEST_P(ToolsetRepositoryTest, ConcurrentCreatesOfOneSlugInAnyCaseHaveExactlyOneWinner) {
  const std::vector<std::string> variants = {"Search", "search", "SEARCH", "sEaRcH"};
  const int winner = one_winner("toolset.slug", 8, [&](int t) {
    return toolsets()
        .create("default", new_toolset("ts-" + std::to_string(t), variants[t % variants.size()]))
        .status();
  });
  EXPECT_EQ(head(), 1u);
  auto got = toolsets().get_by_slug("default", "user-1", "SEARCH");
  ASSERT_OK(got);
  EXPECT_EQ(got->id, "ts-" + std::to_string(winner));
}

TEST_P(ToolsetRepositoryTest, ConcurrentRenamesOntoOneSlugHaveExactlyOneWinner) {
  constexpr int kThreads = 6;
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_OK(toolsets().create(
        "default", new_toolset("ts-" + std::to_string(t), "slug-" + std::to_string(t))));
  }
  const int winner = one_winner("toolset.slug", kThreads, [&](int t) {
    ToolsetUpdate u{t % 2 ? "Target" : "TARGET", std::nullopt, true, SecretChange::keep()};
    return toolsets().update("default", "user-1", "ts-" + std::to_string(t), u).status();
  });
  EXPECT_EQ(head(), static_cast<uint64_t>(kThreads + 1));
  auto got = toolsets().get_by_slug("default", "user-1", "target");
  ASSERT_OK(got);
  EXPECT_EQ(got->id, "ts-" + std::to_string(winner));
  // The losers kept their slugs.
  for (int t = 0; t < kThreads; ++t) {
    if (t == winner) continue;
    EXPECT_OK(toolsets().get_by_slug("default", "user-1", "slug-" + std::to_string(t)));
  }
}

TEST_P(ToolsetRepositoryTest, ConcurrentUpdatesOfOneToolsetSucceedOrAskForARetry) {
  ASSERT_OK(toolsets().create("default", new_toolset("ts-1", "search")));
  const auto outcome = concurrent_rounds(2, 30, [&](int t, int i) {
    const std::string description = "t" + std::to_string(t) + "-" + std::to_string(i);
    ToolsetUpdate u{"search", description, true, SecretChange::keep()};
    return toolsets().update("default", "user-1", "ts-1", u).status();
  });
  EXPECT_EQ(head(), 1 + outcome.succeeded.size());
  auto row = toolsets().get("default", "user-1", "ts-1");
  ASSERT_OK(row);
  ASSERT_TRUE(row->description.has_value());
  // The row holds the update the journal took last.
  auto events = journal().read(head(), 1);
  ASSERT_OK(events);
  auto last = events->front().payload().getToolset().getToolsetUpdated();
  EXPECT_EQ(*row->description, std::string(events::Event::view(last.getDescription().getValue())));
}

// --- app toolset configs ----------------------------------------------------------------

TEST_P(ToolsetRepositoryTest, AFreshOrgHasTheBuiltinDefaultWithoutAnyWrite) {
  auto all = toolsets().list_app_configs("fresh");
  ASSERT_OK(all);
  const AppToolsetConfig builtin{"builtin-exa-search", false, "system", kEpoch, kEpoch};
  EXPECT_EQ(*all, std::vector<AppToolsetConfig>{builtin});
  auto got = toolsets().get_app_config("fresh", "builtin-exa-search");
  ASSERT_OK(got);
  EXPECT_EQ(*got, builtin);
  EXPECT_CODE(toolsets().get_app_config("fresh", "builtin-other"), Code::kNotFound);
  EXPECT_CODE(toolsets().get_app_config("fresh", "BUILTIN-EXA-SEARCH"), Code::kNotFound);
  EXPECT_EQ(head(), 0u);
}

TEST_P(ToolsetRepositoryTest, SetAppEnabledUpsertsAndCreatedAtSurvives) {
  auto first = toolsets().set_app_enabled("default", "builtin-exa-search", true, "admin-1");
  ASSERT_OK(first);
  EXPECT_EQ(*first, (AppToolsetConfig{"builtin-exa-search", true, "admin-1", kStart, kStart}));
  clock_.advance(10s);
  auto second = toolsets().set_app_enabled("default", "builtin-exa-search", false, "admin-2");
  ASSERT_OK(second);
  const AppToolsetConfig want{"builtin-exa-search", false, "admin-2", kStart, kStart + 10s};
  EXPECT_EQ(*second, want);
  EXPECT_EQ(head(), 2u);
  auto got = toolsets().get_app_config("default", "builtin-exa-search");
  ASSERT_OK(got);
  EXPECT_EQ(*got, want);
  auto all = toolsets().list_app_configs("default");
  ASSERT_OK(all);
  EXPECT_EQ(*all, std::vector<AppToolsetConfig>{want});
  // Another org still has the default.
  auto other = toolsets().get_app_config("other", "builtin-exa-search");
  ASSERT_OK(other);
  EXPECT_FALSE(other->enabled);
  EXPECT_EQ(other->updated_by, "system");
}

TEST_P(ToolsetRepositoryTest, ListConfigsIsOrderedByTypeWithTheBuiltinDefaultInPlace) {
  ASSERT_OK(toolsets().set_app_enabled("default", "zeta", true, "admin"));
  clock_.advance(1s);
  ASSERT_OK(toolsets().set_app_enabled("default", "alpha", false, "admin"));
  ASSERT_OK(toolsets().set_app_enabled("default", "builtin-a", true, "admin"));
  ASSERT_OK(toolsets().set_app_enabled("other", "middle", true, "admin"));
  auto all = toolsets().list_app_configs("default");
  ASSERT_OK(all);
  EXPECT_EQ(*all, (std::vector<AppToolsetConfig>{
                      {"alpha", false, "admin", kStart + 1s, kStart + 1s},
                      {"builtin-a", true, "admin", kStart + 1s, kStart + 1s},
                      {"builtin-exa-search", false, "system", kEpoch, kEpoch},
                      {"zeta", true, "admin", kStart, kStart},
                  }));
  auto set = toolsets().get_app_config("default", "zeta");
  ASSERT_OK(set);
  EXPECT_TRUE(set->enabled);
  EXPECT_CODE(toolsets().get_app_config("default", "middle"), Code::kNotFound);
}

TEST_P(ToolsetRepositoryTest, EverythingSurvivesReopeningTheStore) {
  NewToolset t = new_toolset("ts-1", "Search");
  t.api_key = "persisted-key";
  ASSERT_OK(toolsets().create("default", t));
  ASSERT_OK(toolsets().set_app_enabled("default", "builtin-exa-search", true, "admin"));
  const uint64_t before = head();
  open();
  EXPECT_EQ(head(), before);
  auto got = toolsets().get("default", "user-1", "ts-1");
  ASSERT_OK(got);
  EXPECT_EQ(*got, expected_row(t, kStart));
  EXPECT_EQ(*toolsets().get_api_key("default", "user-1", "ts-1"),
            std::optional<std::string>("persisted-key"));
  expect_conflict(toolsets().create("default", new_toolset("ts-2", "SEARCH")).status(),
                  "toolset.slug", "slug still reserved");
  auto config = toolsets().get_app_config("default", "builtin-exa-search");
  ASSERT_OK(config);
  EXPECT_TRUE(config->enabled);
}

INSTANTIATE_ON_BOTH_BACKENDS(ToolsetRepositoryTest);

}  // namespace
}  // namespace annals::repositories
