// AccessRequestRepository (app_access_requests) over a real Store with a
// frozen clock, on SQLite and on PostgreSQL (under row-level security). Bad
// and hostile input is in access_request_repository_input_test.cc.
#include "repositories/access_request_repository.h"

#include <gtest/gtest.h>

#include <barrier>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "annals/clock.h"
#include "annals/status.h"
#include "tests/access_request_fixture.h"

namespace annals::repositories {
namespace {

using namespace std::chrono_literals;

TEST_P(AccessRequestRepositoryTest, CreateReturnsADraftWithNothingDecidedYet) {
  NewAppAccessRequest r = new_request("req-1");
  r.flow_type = AppAccessFlowType::kPopup;
  r.redirect_uri = "";
  auto created = requests().create("default", r);
  ASSERT_OK(created);
  EXPECT_EQ(*created, draft_of("default", r, kStart));
  EXPECT_EQ(created->approved, std::nullopt);
  EXPECT_EQ(created->user_id, std::nullopt);
  EXPECT_EQ(created->access_request_scope, std::nullopt);
  EXPECT_EQ(head(), 1u);
  clock_.advance(1s);
  auto got = requests().get("default", "req-1");
  ASSERT_OK(got);
  EXPECT_EQ(*got, draft_of("default", r, kStart));
}

TEST_P(AccessRequestRepositoryTest, GetOfMissingOrForeignRequestIsNotFound) {
  ASSERT_OK(requests().create("org-a", new_request("req-1")));
  EXPECT_CODE(requests().get("org-a", "req-2"), Code::kNotFound);
  EXPECT_CODE(requests().get("org-b", "req-1"), Code::kNotFound);
}

TEST_P(AccessRequestRepositoryTest, RetryingACreateIsANoOpButAnotherRequestUnderTheIdConflicts) {
  NewAppAccessRequest r = new_request("req-1");
  ASSERT_OK(requests().create("default", r));
  {
    const auto guard = nothing_appended();
    clock_.advance(5s);
    auto retry = requests().create("default", r);
    ASSERT_OK(retry);
    EXPECT_EQ(*retry, draft_of("default", r, kStart));
    NewAppAccessRequest other = r;
    other.app_name = "Different";
    testing::expect_conflict(requests().create("default", other).status(), kAppAccessRequestIdRule,
                             "another request under the id");
    other = r;
    other.expires_at = kExpires + 1s;
    testing::expect_conflict(requests().create("default", other).status(), kAppAccessRequestIdRule,
                             "another expiry under the id");
  }
  // The same id in another org is another request.
  EXPECT_OK(requests().create("org-2", r));
}

TEST_P(AccessRequestRepositoryTest, ApproveRecordsTheDecisionAndFindsItByScope) {
  NewAppAccessRequest r = new_request("req-1");
  ASSERT_OK(requests().create("default", r));
  clock_.advance(2min);
  auto approved = requests().approve("default", "req-1", "user-42", kApproved, "scope_resource-abc",
                                     std::string("scope_access_request:req-1"));
  ASSERT_OK(approved);
  AppAccessRequest want = draft_of("default", r, kStart);
  want.status = AppAccessStatus::kApproved;
  want.approved = kApproved;
  want.user_id = "user-42";
  want.resource_scope = "scope_resource-abc";
  want.access_request_scope = "scope_access_request:req-1";
  want.updated_at = kStart + 2min;
  EXPECT_EQ(*approved, want);
  EXPECT_EQ(head(), 2u);

  auto got = requests().get("default", "req-1");
  ASSERT_OK(got);
  EXPECT_EQ(*got, want);
  auto by_scope = requests().get_by_access_request_scope("default", "scope_access_request:req-1");
  ASSERT_OK(by_scope);
  EXPECT_EQ(*by_scope, want);
  EXPECT_CODE(requests().get_by_access_request_scope("default", "scope_access_request:req-2"),
              Code::kNotFound);
  EXPECT_CODE(requests().get_by_access_request_scope("default", "SCOPE_ACCESS_REQUEST:REQ-1"),
              Code::kNotFound);
  EXPECT_CODE(requests().get_by_access_request_scope("other", "scope_access_request:req-1"),
              Code::kNotFound);
}

TEST_P(AccessRequestRepositoryTest, ApproveWithoutAnAccessRequestScopeLeavesItNull) {
  ASSERT_OK(requests().create("default", new_request("req-1")));
  auto approved =
      requests().approve("default", "req-1", "user-1", "{}", "scope_resource-x", std::nullopt);
  ASSERT_OK(approved);
  EXPECT_EQ(approved->status, AppAccessStatus::kApproved);
  EXPECT_EQ(approved->access_request_scope, std::nullopt);
  EXPECT_EQ(approved->approved, "{}");
  // Several approved requests may have no scope at all.
  ASSERT_OK(requests().create("default", new_request("req-2")));
  EXPECT_OK(
      requests().approve("default", "req-2", "user-1", "{}", "scope_resource-x", std::nullopt));
}

TEST_P(AccessRequestRepositoryTest, DenyAndFailRecordTheirOutcome) {
  NewAppAccessRequest r1 = new_request("req-1");
  NewAppAccessRequest r2 = new_request("req-2");
  ASSERT_OK(requests().create("default", r1));
  ASSERT_OK(requests().create("default", r2));
  clock_.advance(1min);
  auto denied = requests().deny("default", "req-1", "user-7");
  ASSERT_OK(denied);
  AppAccessRequest want1 = draft_of("default", r1, kStart);
  want1.status = AppAccessStatus::kDenied;
  want1.user_id = "user-7";
  want1.updated_at = kStart + 1min;
  EXPECT_EQ(*denied, want1);

  auto failed = requests().fail("default", "req-2", "keycloak said: 'no' (500)");
  ASSERT_OK(failed);
  AppAccessRequest want2 = draft_of("default", r2, kStart);
  want2.status = AppAccessStatus::kFailed;
  want2.error_message = "keycloak said: 'no' (500)";
  want2.updated_at = kStart + 1min;
  EXPECT_EQ(*failed, want2);
  auto got = requests().get("default", "req-2");
  ASSERT_OK(got);
  EXPECT_EQ(*got, want2);
}

TEST_P(AccessRequestRepositoryTest, OnlyADraftMayChangeStateAndRefusalsAppendNothing) {
  ASSERT_OK(requests().create("default", new_request("approved")));
  ASSERT_OK(requests().create("default", new_request("denied")));
  ASSERT_OK(requests().create("default", new_request("failed")));
  ASSERT_OK(requests().approve("default", "approved", "u", "{}", "rs", std::string("s1")));
  ASSERT_OK(requests().deny("default", "denied", "u"));
  ASSERT_OK(requests().fail("default", "failed", "boom"));
  for (const std::string id : {"approved", "denied", "failed"}) {
    const auto guard = nothing_appended(id);
    auto row = requests().get("default", id);
    ASSERT_OK(row);
    testing::expect_conflict(
        requests().approve("default", id, "u2", "{}", "rs", std::string("s2")).status(),
        kAppAccessRequestStateRule, "approve " + id);
    testing::expect_conflict(requests().deny("default", id, "u2").status(),
                             kAppAccessRequestStateRule, "deny " + id);
    testing::expect_conflict(requests().fail("default", id, "again").status(),
                             kAppAccessRequestStateRule, "fail " + id);
    auto after = requests().get("default", id);
    ASSERT_OK(after);
    EXPECT_EQ(*after, *row) << id;
  }
  // s2 was never claimed.
  ASSERT_OK(requests().create("default", new_request("fresh")));
  EXPECT_OK(requests().approve("default", "fresh", "u", "{}", "rs", std::string("s2")));
}

TEST_P(AccessRequestRepositoryTest, StateChangesOfMissingOrForeignRequestsAreNotFound) {
  ASSERT_OK(requests().create("org-a", new_request("req-1")));
  EXPECT_REFUSED(requests().approve("org-a", "nope", "u", "{}", "rs", std::nullopt),
                 Code::kNotFound, "");
  EXPECT_REFUSED(requests().approve("org-b", "req-1", "u", "{}", "rs", std::nullopt),
                 Code::kNotFound, "");
  EXPECT_REFUSED(requests().deny("org-b", "req-1", "u"), Code::kNotFound, "");
  EXPECT_REFUSED(requests().fail("org-b", "req-1", "x"), Code::kNotFound, "");
  auto row = requests().get("org-a", "req-1");
  ASSERT_OK(row);
  EXPECT_EQ(row->status, AppAccessStatus::kDraft);
}

TEST_P(AccessRequestRepositoryTest, AnExpiredDraftCannotBeApprovedButMayBeDeniedOrFailed) {
  ASSERT_OK(requests().create("default", new_request("late")));
  ASSERT_OK(requests().create("default", new_request("on-time")));
  ASSERT_OK(requests().create("default", new_request("exact")));
  ASSERT_OK(requests().create("default", new_request("deny-late")));

  clock_.advance(10min - 1us);  // one microsecond before expiry
  EXPECT_OK(requests().approve("default", "on-time", "u", "{}", "rs", std::nullopt));
  clock_.advance(1us);  // exactly expires_at: expired
  EXPECT_REFUSED(requests().approve("default", "exact", "u", "{}", "rs", std::nullopt),
                 Code::kConflict, kAppAccessRequestExpiredRule);
  clock_.advance(1h);
  EXPECT_REFUSED(requests().approve("default", "late", "u", "{}", "rs", std::string("scope-late")),
                 Code::kConflict, kAppAccessRequestExpiredRule);
  auto late = requests().get("default", "late");
  ASSERT_OK(late);
  EXPECT_EQ(late->status, AppAccessStatus::kDraft);

  auto denied = requests().deny("default", "deny-late", "u");
  ASSERT_OK(denied);
  EXPECT_EQ(denied->status, AppAccessStatus::kDenied);
  auto failed = requests().fail("default", "late", "expired");
  ASSERT_OK(failed);
  EXPECT_EQ(failed->status, AppAccessStatus::kFailed);
}

TEST_P(AccessRequestRepositoryTest, AnAccessRequestScopeBelongsToOneRequestPerOrg) {
  ASSERT_OK(requests().create("default", new_request("req-1")));
  ASSERT_OK(requests().create("default", new_request("req-2")));
  ASSERT_OK(requests().create("org-2", new_request("req-3")));
  ASSERT_OK(requests().approve("default", "req-1", "u", "{}", "rs", std::string("scope_ar:x")));
  EXPECT_REFUSED(requests().approve("default", "req-2", "u", "{}", "rs", std::string("scope_ar:x")),
                 Code::kConflict, kAppAccessRequestScopeRule);
  auto req2 = requests().get("default", "req-2");
  ASSERT_OK(req2);
  EXPECT_EQ(req2->status, AppAccessStatus::kDraft);
  // Scopes are exact: another case is another scope. Another org has its own.
  EXPECT_OK(requests().approve("default", "req-2", "u", "{}", "rs", std::string("SCOPE_AR:X")));
  EXPECT_OK(requests().approve("org-2", "req-3", "u", "{}", "rs", std::string("scope_ar:x")));
  auto in_org2 = requests().get_by_access_request_scope("org-2", "scope_ar:x");
  ASSERT_OK(in_org2);
  EXPECT_EQ(in_org2->id, "req-3");
  auto in_default = requests().get_by_access_request_scope("default", "scope_ar:x");
  ASSERT_OK(in_default);
  EXPECT_EQ(in_default->id, "req-1");
}

TEST_P(AccessRequestRepositoryTest, OfConcurrentApprovalsOfOneDraftExactlyOneSucceeds) {
  constexpr int kThreads = 8;
  for (int round = 0; round < 5; ++round) {
    const std::string id = "req-" + std::to_string(round);
    ASSERT_OK(requests().create("default", new_request(id)));
    const uint64_t before = head();
    std::mutex mu;
    std::vector<int> winners;
    std::vector<std::string> unexpected;
    testing::run_together(kThreads, [&](int t) {
      auto r = requests().approve("default", id, "user-" + std::to_string(t), "{}", "rs",
                                  id + "-scope-" + std::to_string(t));
      std::lock_guard lock(mu);
      if (r.is_ok()) {
        winners.push_back(t);
      } else if (r.status().code() != Code::kConcurrencyConflict &&
                 !(r.status().code() == Code::kConflict &&
                   r.status().subject() == kAppAccessRequestStateRule)) {
        unexpected.push_back(r.status().to_string());
      }
    });
    for (const auto& u : unexpected) ADD_FAILURE() << u;
    ASSERT_EQ(winners.size(), 1u);
    EXPECT_EQ(head(), before + 1);
    auto row = requests().get("default", id);
    ASSERT_OK(row);
    EXPECT_EQ(row->user_id, "user-" + std::to_string(winners[0]));
    EXPECT_EQ(row->access_request_scope, id + "-scope-" + std::to_string(winners[0]));
    // The losers' scopes were never claimed.
    const int loser = (winners[0] + 1) % kThreads;
    ASSERT_OK(requests().create("default", new_request(id + "-next")));
    EXPECT_OK(requests().approve("default", id + "-next", "u", "{}", "rs",
                                 id + "-scope-" + std::to_string(loser)));
  }
}

// Deterministic form of the race: the first approval is journalled but not
// yet projected (a writer that does not wait), so the second reads the draft
// at its old version and must be refused by the journal.
TEST_P(AccessRequestRepositoryTest, AnApprovalBasedOnAStaleReadGetsAConcurrencyConflict) {
  ASSERT_OK(requests().create("default", new_request("req-1")));
  RepositoryOptions no_wait;
  no_wait.read_your_writes = false;
  RepositoryContext lagging_context(store().internals().journal(), store().internals().database(),
                                    store().internals().projector(), store().clock(), no_wait);
  auto lagging = make_access_request_repository(lagging_context);
  // Appended, not projected: the inline projector runs only when waited for.
  auto first = lagging->approve("default", "req-1", "first", "{}", "rs", std::string("s-first"));
  ASSERT_OK(first);
  EXPECT_EQ(first->status, AppAccessStatus::kDraft);  // the stale read-back
  {
    const auto guard = nothing_appended();
    auto second =
        requests().approve("default", "req-1", "second", "{}", "rs", std::string("s-second"));
    EXPECT_EQ(second.status().code(), Code::kConcurrencyConflict) << second.status().to_string();
    EXPECT_TRUE(second.status().retryable());
  }

  // Once projected, a retry sees the approval and is a state conflict.
  ASSERT_OK(store().internals().projector().catch_up());
  auto row = requests().get("default", "req-1");
  ASSERT_OK(row);
  EXPECT_EQ(row->user_id, "first");
  EXPECT_EQ(row->access_request_scope, "s-first");
  testing::expect_conflict(
      requests()
          .approve("default", "req-1", "second", "{}", "rs", std::string("s-second"))
          .status(),
      kAppAccessRequestStateRule, "retry after the winner");
  // s-second was never claimed.
  ASSERT_OK(requests().create("default", new_request("req-2")));
  EXPECT_OK(requests().approve("default", "req-2", "u", "{}", "rs", std::string("s-second")));
}

TEST_P(AccessRequestRepositoryTest, OfConcurrentApprovalsClaimingOneScopeExactlyOneWins) {
  constexpr int kThreads = 8;
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_OK(requests().create("default", new_request("req-" + std::to_string(t))));
  }
  // Every other approval is a conflict naming the scope rule.
  const auto winners = testing::race(kAppAccessRequestScopeRule, kThreads, [&](int t) {
    return requests()
        .approve("default", "req-" + std::to_string(t), "u", "{}", "rs",
                 std::string("scope_ar:shared"))
        .status();
  });
  EXPECT_EQ(winners.size(), 1u);
  EXPECT_EQ(head(), static_cast<uint64_t>(kThreads + 1));
  EXPECT_OK(requests().get_by_access_request_scope("default", "scope_ar:shared"));
}

TEST_P(AccessRequestRepositoryTest, RequestsSurviveReopeningAndRebuildFromTheJournalAlone) {
  ASSERT_OK(requests().create("default", new_request("req-1")));
  ASSERT_OK(requests().create("default", new_request("req-2")));
  clock_.advance(1min);
  auto approved =
      requests().approve("default", "req-1", "u", kApproved, "rs", std::string("scope_ar:1"));
  ASSERT_OK(approved);
  const uint64_t before = head();

  rebuild_from_journal();

  EXPECT_EQ(head(), before);
  auto got = requests().get("default", "req-1");
  ASSERT_OK(got);
  EXPECT_EQ(*got, *approved);
  // The scope is still reserved and the create retry still recognised.
  testing::expect_conflict(
      requests().approve("default", "req-2", "u", "{}", "rs", std::string("scope_ar:1")).status(),
      kAppAccessRequestScopeRule, "scope after reopen");
  EXPECT_OK(requests().create("default", new_request("req-2")));
  EXPECT_EQ(head(), before);
}

INSTANTIATE_ON_BOTH_BACKENDS(AccessRequestRepositoryTest);

}  // namespace
}  // namespace annals::repositories
