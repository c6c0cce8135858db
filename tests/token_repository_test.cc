// TokenRepository over a real Store (RocksDB journal; SQLite or PostgreSQL
// read tables) with a frozen clock, so every timestamp is known exactly:
// create, get, list, update, prefix and id reservations, retries,
// concurrency and reopening. Bad input and odd values: token_input_test.cc.
#include <gtest/gtest.h>

#include <barrier>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "annals/status.h"
#include "core/validate.h"
#include "tests/token_repository_fixture.h"

namespace annals::repositories {
namespace {

using namespace std::chrono_literals;
using namespace token_tests;

TEST_P(TokenRepositoryTest, CreateReturnsTheTokenStampedWithClockTime) {
  NewApiToken t = new_token("tok-1", "bodhiapp_abc123");
  t.status = TokenStatus::kInactive;
  auto created = tokens().create("default", t);
  ASSERT_OK(created);
  EXPECT_EQ(*created, (ApiToken{"default", "tok-1", "user-1", "laptop", "bodhiapp_abc123",
                                "sha256:bodhiapp_abc123:hash", "scope_token_user",
                                TokenStatus::kInactive, kStart, kStart, std::nullopt}));
  EXPECT_EQ(head(), 1u);
}

TEST_P(TokenRepositoryTest, GetReturnsTheTokenOfItsUser) {
  NewApiToken t = new_token("tok-1", "bodhiapp_abc");
  ASSERT_OK(tokens().create("default", t));
  clock_.advance(1s);
  auto got = tokens().get("default", "user-1", "tok-1");
  ASSERT_OK(got);
  EXPECT_EQ(*got, expected_row("default", t, kStart));
}

TEST_P(TokenRepositoryTest, GetOfAnotherUsersTokenIsNotFound) {
  ASSERT_OK(tokens().create("default", new_token("tok-1", "pfx_1", "user-1")));
  ASSERT_OK(tokens().create("default", new_token("tok-2", "pfx_2", "user-2")));
  EXPECT_CODE(tokens().get("default", "user-2", "tok-1"), Code::kNotFound);
  EXPECT_CODE(tokens().get("default", "user-1", "tok-2"), Code::kNotFound);
  EXPECT_CODE(tokens().get("default", "user-1", "tok-404"), Code::kNotFound);
  // The same user in another org does not see it either.
  EXPECT_CODE(tokens().get("other", "user-1", "tok-1"), Code::kNotFound);
}

TEST_P(TokenRepositoryTest, GetByPrefixFindsTokensOfEveryOrgWithTheirOrg) {
  NewApiToken a = new_token("tok-a", "bodhiapp_aaa", "alice");
  NewApiToken b = new_token("tok-b", "bodhiapp_bbb", "bob");
  ASSERT_OK(tokens().create("org-a", a));
  clock_.advance(1s);
  ASSERT_OK(tokens().create("org-b", b));

  auto got_a = tokens().get_by_prefix("bodhiapp_aaa");
  ASSERT_OK(got_a);
  EXPECT_EQ(*got_a, expected_row("org-a", a, kStart));
  auto got_b = tokens().get_by_prefix("bodhiapp_bbb");
  ASSERT_OK(got_b);
  EXPECT_EQ(*got_b, expected_row("org-b", b, kStart + 1s));

  EXPECT_CODE(tokens().get_by_prefix("bodhiapp_ccc"), Code::kNotFound);
  EXPECT_CODE(tokens().get_by_prefix("bodhiapp_aa"), Code::kNotFound);
  EXPECT_CODE(tokens().get_by_prefix("BODHIAPP_AAA"), Code::kNotFound);
}

TEST_P(TokenRepositoryTest, ListPagesAUsersTokensNewestFirst) {
  for (int i = 1; i <= 7; ++i) {
    ASSERT_OK(tokens().create(
        "default", new_token("tok-" + std::to_string(i), "pfx_" + std::to_string(i), "user-1")));
    clock_.advance(1s);
  }
  // Not counted: another user in the org, and the same user id in another org.
  ASSERT_OK(tokens().create("default", new_token("other-user", "pfx_u2", "user-2")));
  ASSERT_OK(tokens().create("org-2", new_token("other-org", "pfx_o2", "user-1")));

  auto p1 = tokens().list("default", "user-1", 1, 3);
  ASSERT_OK(p1);
  EXPECT_EQ(ids_of(p1->rows), (std::vector<std::string>{"tok-7", "tok-6", "tok-5"}));
  EXPECT_EQ(p1->total, 7);
  EXPECT_EQ(p1->rows.front().created_at, kStart + 6s);
  EXPECT_EQ(p1->rows.front().org_id, "default");

  auto p2 = tokens().list("default", "user-1", 2, 3);
  ASSERT_OK(p2);
  EXPECT_EQ(ids_of(p2->rows), (std::vector<std::string>{"tok-4", "tok-3", "tok-2"}));
  EXPECT_EQ(p2->total, 7);

  auto p3 = tokens().list("default", "user-1", 3, 3);
  ASSERT_OK(p3);
  EXPECT_EQ(ids_of(p3->rows), (std::vector<std::string>{"tok-1"}));
  EXPECT_EQ(p3->total, 7);
  EXPECT_EQ(p3->rows.front(),
            expected_row("default", new_token("tok-1", "pfx_1", "user-1"), kStart));

  EXPECT_EMPTY_PAGE(tokens().list("default", "user-1", 4, 3), 7);

  auto all = tokens().list("default", "user-1", 1, kMaxPerPage);
  ASSERT_OK(all);
  EXPECT_EQ(ids_of(all->rows), (std::vector<std::string>{"tok-7", "tok-6", "tok-5", "tok-4",
                                                         "tok-3", "tok-2", "tok-1"}));

  EXPECT_EMPTY_PAGE(tokens().list("default", "nobody", 1, 10), 0);
}

TEST_P(TokenRepositoryTest, TokensCreatedInTheSameMicrosecondListInReverseCreationOrder) {
  // The clock stays frozen: every token has the same created_at.
  for (int i = 1; i <= 4; ++i) {
    ASSERT_OK(tokens().create("acme", new_token("t" + std::to_string(i), "p" + std::to_string(i))));
  }
  auto page = tokens().list("acme", "user-1", 1, 10);
  ASSERT_OK(page);
  EXPECT_EQ(ids_of(page->rows), (std::vector<std::string>{"t4", "t3", "t2", "t1"}));
}

TEST_P(TokenRepositoryTest, UpdateChangesNameStatusAndUpdatedAtButNotCreatedAt) {
  NewApiToken t = new_token("tok-1", "pfx_1");
  ASSERT_OK(tokens().create("default", t));
  clock_.advance(45s);

  auto updated = tokens().update("default", "user-1", "tok-1", "renamed", TokenStatus::kInactive);
  ASSERT_OK(updated);
  ApiToken want = expected_row("default", t, kStart);
  want.name = "renamed";
  want.status = TokenStatus::kInactive;
  want.updated_at = kStart + 45s;
  want.last_deactivated_at = kStart + 45s;  // from history: when it went inactive
  EXPECT_EQ(*updated, want);
  EXPECT_EQ(head(), 2u);

  auto got = tokens().get("default", "user-1", "tok-1");
  ASSERT_OK(got);
  EXPECT_EQ(*got, want);
  auto by_prefix = tokens().get_by_prefix("pfx_1");
  ASSERT_OK(by_prefix);
  EXPECT_EQ(*by_prefix, want);

  clock_.advance(15s);
  auto back = tokens().update("default", "user-1", "tok-1", "", TokenStatus::kActive);
  ASSERT_OK(back);
  want.name = "";
  want.status = TokenStatus::kActive;
  want.updated_at = kStart + 60s;
  EXPECT_EQ(*back, want);  // reactivating keeps when it was last deactivated

  clock_.advance(5s);
  ASSERT_OK(tokens().update("default", "user-1", "tok-1", "", TokenStatus::kInactive));
  clock_.advance(5s);
  auto again = tokens().update("default", "user-1", "tok-1", "still off", TokenStatus::kInactive);
  ASSERT_OK(again);
  EXPECT_EQ(again->last_deactivated_at, kStart + 65s);  // a rename while inactive keeps it
}

TEST_P(TokenRepositoryTest, UpdateOfAnotherUsersTokenIsNotFoundAndAppendsNothing) {
  NewApiToken t = new_token("tok-1", "pfx_1", "user-1");
  ASSERT_OK(tokens().create("default", t));
  EXPECT_REFUSED(tokens().update("default", "user-2", "tok-1", "stolen", TokenStatus::kInactive),
                 Code::kNotFound, "");
  EXPECT_REFUSED(tokens().update("other-org", "user-1", "tok-1", "stolen", TokenStatus::kInactive),
                 Code::kNotFound, "");
  auto got = tokens().get("default", "user-1", "tok-1");
  ASSERT_OK(got);
  EXPECT_EQ(*got, expected_row("default", t, kStart));
}

TEST_P(TokenRepositoryTest, UpdateOfMissingTokenIsNotFound) {
  EXPECT_CODE(tokens().update("default", "user-1", "tok-404", "x", TokenStatus::kActive),
              Code::kNotFound);
  EXPECT_EQ(head(), 0u);
}

TEST_P(TokenRepositoryTest, DuplicatePrefixInTheSameOrgIsConflictAndAppendsNothing) {
  NewApiToken first = new_token("tok-1", "bodhiapp_dup", "user-1");
  ASSERT_OK(tokens().create("default", first));

  EXPECT_REFUSED(tokens().create("default", new_token("tok-2", "bodhiapp_dup", "user-2")),
                 Code::kConflict, "token.prefix");
  EXPECT_CODE(tokens().get("default", "user-2", "tok-2"), Code::kNotFound);
  auto owner = tokens().get_by_prefix("bodhiapp_dup");
  ASSERT_OK(owner);
  EXPECT_EQ(*owner, expected_row("default", first, kStart));
}

TEST_P(TokenRepositoryTest, DuplicatePrefixInAnotherOrgIsConflictAndAppendsNothing) {
  NewApiToken first = new_token("tok-1", "bodhiapp_dup", "user-1");
  ASSERT_OK(tokens().create("org-a", first));

  EXPECT_REFUSED(tokens().create("org-b", new_token("tok-9", "bodhiapp_dup", "user-9")),
                 Code::kConflict, "token.prefix");
  EXPECT_CODE(tokens().get("org-b", "user-9", "tok-9"), Code::kNotFound);
  auto owner = tokens().get_by_prefix("bodhiapp_dup");
  ASSERT_OK(owner);
  EXPECT_EQ(owner->org_id, "org-a");
}

TEST_P(TokenRepositoryTest, RetryingTheSameCreateReturnsTheSameTokenAndAppendsNothing) {
  NewApiToken t = new_token("tok-1", "pfx_1");
  auto first = tokens().create("default", t);
  ASSERT_OK(first);
  const auto guard = nothing_appended("a retry");
  clock_.advance(10s);

  auto retry = tokens().create("default", t);
  ASSERT_OK(retry);
  EXPECT_EQ(*retry, *first);
  EXPECT_EQ(retry->created_at, kStart);
  auto page = tokens().list("default", "user-1", 1, 10);
  ASSERT_OK(page);
  EXPECT_EQ(page->total, 1);
}

TEST_P(TokenRepositoryTest, CreatingADifferentTokenUnderATakenIdIsConflict) {
  NewApiToken original = new_token("tok-1", "pfx_1", "user-1");
  ASSERT_OK(tokens().create("default", original));

  std::vector<std::pair<std::string, NewApiToken>> others;
  {
    NewApiToken t = original;
    t.token_prefix = "pfx_other";
    others.emplace_back("another prefix", t);
  }
  {
    NewApiToken t = original;
    t.token_hash = "sha256:different";
    others.emplace_back("another hash", t);
  }
  {
    NewApiToken t = original;
    t.user_id = "user-2";
    others.emplace_back("another user", t);
  }
  {
    NewApiToken t = original;
    t.scopes = "scope_token_admin";
    others.emplace_back("other scopes", t);
  }
  for (const auto& [what, t] : others) {
    SCOPED_TRACE(what);
    EXPECT_REFUSED(tokens().create("default", t), Code::kConflict, "token.id");
  }
  EXPECT_CODE(tokens().get_by_prefix("pfx_other"), Code::kNotFound);
  auto got = tokens().get("default", "user-1", "tok-1");
  ASSERT_OK(got);
  EXPECT_EQ(*got, expected_row("default", original, kStart));
}

// A retry is recognised by the whole original request, name and status included.
TEST_P(TokenRepositoryTest, CreatingATokenThatDiffersOnlyInNameOrStatusUnderATakenIdIsConflict) {
  NewApiToken original = new_token("tok-1", "pfx_1", "user-1");
  ASSERT_OK(tokens().create("default", original));

  NewApiToken renamed = original;
  renamed.name = "desktop";
  EXPECT_REFUSED(tokens().create("default", renamed), Code::kConflict, "token.id");

  NewApiToken inactive = original;
  inactive.status = TokenStatus::kInactive;
  EXPECT_REFUSED(tokens().create("default", inactive), Code::kConflict, "token.id");
}

TEST_P(TokenRepositoryTest, RetryingCreateAfterAnUpdateStillReturnsTheToken) {
  NewApiToken t = new_token("tok-1", "pfx_1");
  ASSERT_OK(tokens().create("default", t));
  clock_.advance(5s);
  ASSERT_OK(tokens().update("default", "user-1", "tok-1", "renamed", TokenStatus::kInactive));
  const auto guard = nothing_appended("a retry");

  auto retry = tokens().create("default", t);
  ASSERT_OK(retry);
  EXPECT_EQ(retry->id, "tok-1");
  EXPECT_EQ(retry->created_at, kStart);
}

TEST_P(TokenRepositoryTest, ConcurrentCreatesClaimEachPrefixOfThePoolExactlyOnce) {
  constexpr int kThreads = 8;
  constexpr int kPrefixes = 20;
  std::mutex mu;
  std::map<std::string, std::vector<std::string>> winners;  // prefix -> ids created with it
  int conflicts = 0;
  std::vector<std::string> unexpected;
  testing::run_together(kThreads, [&](int t) {
    for (int i = 0; i < kPrefixes; ++i) {
      const int p = (i + t * 3) % kPrefixes;  // threads walk the pool from different places
      const std::string prefix = "pool_" + std::to_string(p);
      const std::string id = "t" + std::to_string(t) + "-p" + std::to_string(p);
      auto r = tokens().create("org-" + std::to_string(t % 2),
                               new_token(id, prefix, "user-" + std::to_string(t)));
      std::lock_guard lock(mu);
      if (r.is_ok()) {
        winners[prefix].push_back(id);
      } else if (r.status().code() == Code::kConflict && r.status().subject() == "token.prefix") {
        ++conflicts;
      } else {
        unexpected.push_back(id + ": " + r.status().to_string());
      }
    }
  });

  for (const auto& u : unexpected) ADD_FAILURE() << u;
  EXPECT_EQ(winners.size(), static_cast<size_t>(kPrefixes));
  for (const auto& [prefix, ids] : winners) {
    ASSERT_EQ(ids.size(), 1u) << prefix;
    auto got = tokens().get_by_prefix(prefix);
    ASSERT_OK(got);
    EXPECT_EQ(got->id, ids.front());
  }
  EXPECT_EQ(conflicts, kThreads * kPrefixes - kPrefixes);
  EXPECT_EQ(head(), static_cast<uint64_t>(kPrefixes));
}

TEST_P(TokenRepositoryTest, ConcurrentUpdatesOfOneTokenSucceedOrAskForARetry) {
  ASSERT_OK(tokens().create("default", new_token("tok-1", "pfx_1")));
  auto name_of = [](int t, int i) { return "t" + std::to_string(t) + "-" + std::to_string(i); };
  auto status_of = [](int t, int i) {
    return (i + t) % 2 ? TokenStatus::kInactive : TokenStatus::kActive;
  };
  // Both threads call update at the same moment in each round.
  const auto outcome = concurrent_rounds(2, 50, [&](int t, int i) {
    return tokens().update("default", "user-1", "tok-1", name_of(t, i), status_of(t, i)).status();
  });
  std::map<std::string, TokenStatus> succeeded;  // name -> status
  for (const auto& c : outcome.succeeded)
    succeeded[name_of(c.thread, c.round)] = status_of(c.thread, c.round);
  RecordProperty("retryable_conflicts", outcome.retryable);

  // Every successful update, and only those, is in the journal.
  std::vector<std::pair<std::string, TokenStatus>> updates;
  for (const auto& e : journalled()) {
    if (e.type() != events::PayloadType::TOKEN_UPDATED) continue;
    auto p = e.payload().getTokenUpdated();
    updates.emplace_back(std::string(events::Event::view(p.getName())),
                         p.getStatus() == schema::TokenStatus::ACTIVE ? TokenStatus::kActive
                                                                      : TokenStatus::kInactive);
  }
  ASSERT_EQ(updates.size(), succeeded.size());
  for (const auto& [name, status] : updates) {
    ASSERT_TRUE(succeeded.count(name)) << name;
    EXPECT_EQ(succeeded[name], status) << name;
  }
  EXPECT_EQ(head(), 1 + updates.size());

  // The row holds the last successful update.
  auto final_row = tokens().get("default", "user-1", "tok-1");
  ASSERT_OK(final_row);
  EXPECT_EQ(final_row->name, updates.back().first);
  EXPECT_EQ(final_row->status, updates.back().second);
  EXPECT_EQ(final_row->token_prefix, "pfx_1");
  EXPECT_EQ(final_row->created_at, kStart);
}

TEST_P(TokenRepositoryTest, TokensSurviveClosingAndReopeningTheStore) {
  NewApiToken t = new_token("tok-1", "pfx_1");
  ASSERT_OK(tokens().create("default", t));
  clock_.advance(5s);
  auto updated = tokens().update("default", "user-1", "tok-1", "renamed", TokenStatus::kInactive);
  ASSERT_OK(updated);
  const uint64_t before = head();

  open();

  EXPECT_EQ(head(), before);
  auto got = tokens().get_by_prefix("pfx_1");
  ASSERT_OK(got);
  EXPECT_EQ(*got, *updated);
  // The prefix is still reserved, and a retry is still recognised.
  auto dup = tokens().create("other", new_token("tok-2", "pfx_1"));
  EXPECT_EQ(dup.status().subject(), "token.prefix") << dup.status().to_string();
  EXPECT_OK(tokens().create("default", t));
  EXPECT_EQ(head(), before);
}

INSTANTIATE_ON_BOTH_BACKENDS(TokenRepositoryTest);

}  // namespace
}  // namespace annals::repositories
