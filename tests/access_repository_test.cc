// AccessRepository (user_access_requests) over a real Store with a frozen
// clock, on SQLite and on PostgreSQL (under row-level security).
#include "repositories/access_repository.h"

#include <gtest/gtest.h>

#include <barrier>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "annals/clock.h"
#include "annals/status.h"
#include "core/validate.h"
#include "tests/conformance_helpers.h"

namespace annals::repositories {

void PrintTo(UserAccessStatus status, std::ostream* os) { *os << user_access_status_name(status); }

void PrintTo(const UserAccessRequest& r, std::ostream* os) {
  *os << "{org_id=\"" << r.org_id << "\", id=" << r.id << ", username=\"" << r.username
      << "\", user_id=\"" << r.user_id
      << "\", reviewer=" << (r.reviewer ? "\"" + *r.reviewer + "\"" : std::string("null"))
      << ", status=" << user_access_status_name(r.status)
      << ", created_at=" << format_timestamp(r.created_at)
      << ", updated_at=" << format_timestamp(r.updated_at) << "}";
}

namespace {

using namespace std::chrono_literals;
using testing::expect_invalid;
using testing::ids_of;

const Timestamp kStart = testing::kFixtureStart;

class AccessRepositoryTest : public testing::RepositoryTest {
 protected:
  AccessRepository& access() { return store().access(); }

  // Inserts a request and returns its id.
  int64_t insert(const std::string& org, const std::string& username, const std::string& user) {
    auto r = access().insert_pending(org, username, user);
    EXPECT_OK(r);
    return r.is_ok() ? r->id : 0;
  }
};

TEST_P(AccessRepositoryTest, InsertPendingReturnsTheRowWithItsJournalPositionAsId) {
  auto first = access().insert_pending("default", "alice@example.com", "user-a");
  ASSERT_OK(first);
  EXPECT_EQ(*first, (UserAccessRequest{"default", 1, "alice@example.com", "user-a", std::nullopt,
                                       UserAccessStatus::kPending, kStart, kStart}));
  clock_.advance(1s);
  auto second = access().insert_pending("default", "bob@example.com", "user-b");
  ASSERT_OK(second);
  EXPECT_EQ(second->id, 2);
  EXPECT_EQ(second->created_at, kStart + 1s);
  EXPECT_EQ(head(), 2u);
  // The id is the position of the event that made the request.
  auto events = journal().read(2, 1);
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ(events->front().type(), events::PayloadType::ACCESS);
}

TEST_P(AccessRepositoryTest, GetReturnsTheRowAndNotFoundOtherwise) {
  const int64_t id = insert("default", "alice", "user-a");
  clock_.advance(1s);
  auto got = access().get("default", id);
  ASSERT_OK(got);
  EXPECT_EQ(*got, (UserAccessRequest{"default", id, "alice", "user-a", std::nullopt,
                                     UserAccessStatus::kPending, kStart, kStart}));
  EXPECT_CODE(access().get("default", id + 1), Code::kNotFound);
  EXPECT_CODE(access().get("default", 999'999), Code::kNotFound);
  // Another org never sees it.
  EXPECT_CODE(access().get("other", id), Code::kNotFound);
}

TEST_P(AccessRepositoryTest, GetPendingReturnsTheUsersNewestPendingRequest) {
  EXPECT_CODE(access().get_pending("default", "user-a"), Code::kNotFound);
  const int64_t older = insert("default", "alice", "user-a");
  clock_.advance(1s);
  insert("default", "bob", "user-b");
  clock_.advance(1s);
  const int64_t newer = insert("default", "alice2", "user-a");
  insert("org-2", "alice", "user-a");  // another org's request

  auto pending = access().get_pending("default", "user-a");
  ASSERT_OK(pending);
  EXPECT_EQ(pending->id, newer);
  EXPECT_EQ(pending->username, "alice2");

  ASSERT_OK(access().update_status("default", newer, UserAccessStatus::kRejected, "admin"));
  pending = access().get_pending("default", "user-a");
  ASSERT_OK(pending);
  EXPECT_EQ(pending->id, older);

  ASSERT_OK(access().update_status("default", older, UserAccessStatus::kApproved, "admin"));
  EXPECT_CODE(access().get_pending("default", "user-a"), Code::kNotFound);
  EXPECT_CODE(access().get_pending("default", "nobody"), Code::kNotFound);
  auto other_org = access().get_pending("org-2", "user-a");
  ASSERT_OK(other_org);
  EXPECT_EQ(other_org->org_id, "org-2");
}

TEST_P(AccessRepositoryTest, ListPendingPagesOldestFirstWithExactTotals) {
  std::vector<int64_t> ids;
  for (int i = 1; i <= 7; ++i) {
    ids.push_back(insert("default", "u" + std::to_string(i), "user-" + std::to_string(i)));
    clock_.advance(1s);
  }
  // Reviewed requests and other orgs' requests are not pending here.
  ASSERT_OK(access().update_status("default", ids[1], UserAccessStatus::kApproved, "admin"));
  ASSERT_OK(access().update_status("default", ids[4], UserAccessStatus::kRejected, "admin"));
  insert("org-2", "x", "user-x");

  auto p1 = access().list_pending("default", 1, 2);
  ASSERT_OK(p1);
  EXPECT_EQ(ids_of(p1->rows), (std::vector<int64_t>{ids[0], ids[2]}));
  EXPECT_EQ(p1->total, 5);
  auto p2 = access().list_pending("default", 2, 2);
  ASSERT_OK(p2);
  EXPECT_EQ(ids_of(p2->rows), (std::vector<int64_t>{ids[3], ids[5]}));
  auto p3 = access().list_pending("default", 3, 2);
  ASSERT_OK(p3);
  EXPECT_EQ(ids_of(p3->rows), (std::vector<int64_t>{ids[6]}));
  EXPECT_EQ(p3->total, 5);
  EXPECT_EQ(p3->rows.front(),
            (UserAccessRequest{"default", ids[6], "u7", "user-7", std::nullopt,
                               UserAccessStatus::kPending, kStart + 6s, kStart + 6s}));
  EXPECT_EMPTY_PAGE(access().list_pending("default", 4, 2), 5);

  EXPECT_EMPTY_PAGE(access().list_pending("org-empty", 1, 10), 0);
}

TEST_P(AccessRepositoryTest, ListAllPagesOldestFirstAndBreaksTimeTiesById) {
  // The clock stays frozen: equal created_at, ordered by id.
  std::vector<int64_t> ids;
  for (int i = 1; i <= 5; ++i) ids.push_back(insert("acme", "u" + std::to_string(i), "user"));
  ASSERT_OK(access().update_status("acme", ids[0], UserAccessStatus::kRejected, "admin"));
  insert("other", "u", "user");

  auto all = access().list_all("acme", 1, kMaxPerPage);
  ASSERT_OK(all);
  EXPECT_EQ(ids_of(all->rows), ids);
  EXPECT_EQ(all->total, 5);
  EXPECT_EQ(all->rows.front().status, UserAccessStatus::kRejected);

  auto p2 = access().list_all("acme", 2, 3);
  ASSERT_OK(p2);
  EXPECT_EQ(ids_of(p2->rows), (std::vector<int64_t>{ids[3], ids[4]}));
  EXPECT_EQ(p2->total, 5);
  EXPECT_EMPTY_PAGE(access().list_all("acme", 1'000'000, 3), 5);
}

TEST_P(AccessRepositoryTest, UpdateStatusSetsStatusReviewerAndUpdatedAtOnly) {
  const int64_t id = insert("default", "alice", "user-a");
  clock_.advance(30s);
  auto approved = access().update_status("default", id, UserAccessStatus::kApproved, "admin-1");
  ASSERT_OK(approved);
  UserAccessRequest want{"default",
                         id,
                         "alice",
                         "user-a",
                         std::string("admin-1"),
                         UserAccessStatus::kApproved,
                         kStart,
                         kStart + 30s};
  EXPECT_EQ(*approved, want);
  EXPECT_EQ(head(), 2u);
  auto got = access().get("default", id);
  ASSERT_OK(got);
  EXPECT_EQ(*got, want);

  // Any status may follow any other; the latest reviewer is kept.
  clock_.advance(5s);
  auto back = access().update_status("default", id, UserAccessStatus::kPending, "admin-2");
  ASSERT_OK(back);
  want.status = UserAccessStatus::kPending;
  want.reviewer = "admin-2";
  want.updated_at = kStart + 35s;
  EXPECT_EQ(*back, want);
}

TEST_P(AccessRepositoryTest, UpdateStatusOfMissingOrForeignRequestIsNotFoundAndAppendsNothing) {
  const int64_t id = insert("default", "alice", "user-a");
  EXPECT_REFUSED(access().update_status("default", id + 10, UserAccessStatus::kApproved, "admin"),
                 Code::kNotFound, "");
  EXPECT_REFUSED(access().update_status("other-org", id, UserAccessStatus::kApproved, "admin"),
                 Code::kNotFound, "");
  auto got = access().get("default", id);
  ASSERT_OK(got);
  EXPECT_EQ(got->status, UserAccessStatus::kPending);
  EXPECT_EQ(got->reviewer, std::nullopt);
}

TEST_P(AccessRepositoryTest, BadInputIsRefusedNamingTheFieldAndAppendsNothing) {
  const int64_t id = insert("default", "alice", "user-a");
  const auto guard = nothing_appended();
  struct Case {
    std::string what, org, username, user_id, field;
  };
  const std::vector<Case> cases = {
      {"empty org", "", "u", "id", "org_id"},
      {"65-char org", std::string(65, 'o'), "u", "id", "org_id"},
      {"org with slash", "a/b", "u", "id", "org_id"},
      {"org with SQL", "o'; DROP TABLE user_access_requests;--", "u", "id", "org_id"},
      {"empty username", "default", "", "id", "username"},
      {"long username", "default", std::string(kMaxUsernameBytes + 1, 'u'), "id", "username"},
      {"username not UTF-8", "default", "\xff\xfe", "id", "username"},
      {"username with NUL", "default", std::string("a\0b", 3), "id", "username"},
      {"empty user_id", "default", "u", "", "user_id"},
      {"long user_id", "default", "u", std::string(kMaxAccessUserIdBytes + 1, 'i'), "user_id"},
      {"user_id not UTF-8", "default", "u", "\xc3", "user_id"},
  };
  for (const auto& c : cases) {
    expect_invalid(access().insert_pending(c.org, c.username, c.user_id).status(), c.field,
                   "insert " + c.what);
  }

  auto upd = [&](std::string org, int64_t i, UserAccessStatus s, std::string reviewer) {
    return access().update_status(org, i, s, reviewer).status();
  };
  expect_invalid(upd("", id, UserAccessStatus::kApproved, "r"), "org_id", "update org");
  expect_invalid(upd("default", 0, UserAccessStatus::kApproved, "r"), "id", "update id 0");
  expect_invalid(upd("default", -3, UserAccessStatus::kApproved, "r"), "id", "update id -3");
  expect_invalid(upd("default", id, static_cast<UserAccessStatus>(7), "r"), "status", "status 7");
  expect_invalid(upd("default", id, static_cast<UserAccessStatus>(-1), "r"), "status", "status -1");
  expect_invalid(upd("default", id, UserAccessStatus::kApproved, ""), "reviewer", "no reviewer");
  expect_invalid(
      upd("default", id, UserAccessStatus::kApproved, std::string(kMaxReviewerBytes + 1, 'r')),
      "reviewer", "long reviewer");
  expect_invalid(upd("default", id, UserAccessStatus::kApproved, std::string("r\0", 2)), "reviewer",
                 "reviewer with NUL");

  expect_invalid(access().get("default", 0).status(), "id", "get id 0");
  expect_invalid(access().get("a b", id).status(), "org_id", "get org");
  expect_invalid(access().get_pending("default", "").status(), "user_id", "get_pending user");
  expect_invalid(access().get_pending("", "user-a").status(), "org_id", "get_pending org");
  expect_invalid(access().list_pending("default", 0, 10).status(), "page", "pending page 0");
  expect_invalid(access().list_pending("default", 1, 0).status(), "per_page", "pending size 0");
  expect_invalid(access().list_all("default", 1, kMaxPerPage + 1).status(), "per_page",
                 "all size over max");
  expect_invalid(access().list_all("default", -1, 10).status(), "page", "all page -1");
  expect_invalid(access().list_all("%", 1, 10).status(), "org_id", "all org");

  auto unchanged = access().get("default", id);
  ASSERT_OK(unchanged);
  EXPECT_EQ(unchanged->status, UserAccessStatus::kPending);
}

TEST_P(AccessRepositoryTest, FieldsAtTheirSizeLimitsAreAccepted) {
  const std::string org(kMaxOrgIdLength, 'o');
  auto r = access().insert_pending(org, std::string(kMaxUsernameBytes, 'u'),
                                   std::string(kMaxAccessUserIdBytes, 'i'));
  ASSERT_OK(r);
  auto upd = access().update_status(org, r->id, UserAccessStatus::kApproved,
                                    std::string(kMaxReviewerBytes, 'r'));
  ASSERT_OK(upd);
  EXPECT_EQ(upd->reviewer, std::string(kMaxReviewerBytes, 'r'));
  EXPECT_EQ(upd->username, std::string(kMaxUsernameBytes, 'u'));
}

TEST_P(AccessRepositoryTest, HostileButValidStringsRoundTripByteForByte) {
  const auto values = testing::hostile_text("user_access_requests", {"Ünïcödé"});
  for (const auto& v : values) {
    SCOPED_TRACE(v);
    auto r = access().insert_pending("default", v, v);
    ASSERT_OK(r);
    EXPECT_EQ(r->username, v);
    EXPECT_EQ(r->user_id, v);
    auto pending = access().get_pending("default", v);
    ASSERT_OK(pending);
    EXPECT_EQ(pending->id, r->id);
    auto reviewed = access().update_status("default", r->id, UserAccessStatus::kRejected, v);
    ASSERT_OK(reviewed);
    EXPECT_EQ(reviewed->reviewer, v);
    auto got = access().get("default", r->id);
    ASSERT_OK(got);
    EXPECT_EQ(*got, *reviewed);
  }
  // A LIKE-ish user id matches only itself.
  EXPECT_CODE(access().get_pending("default", "100%"), Code::kNotFound);
  auto all = access().list_all("default", 1, 100);
  ASSERT_OK(all);
  EXPECT_EQ(all->total, static_cast<int64_t>(values.size()));
}

TEST_P(AccessRepositoryTest, OrgsNeverSeeOrChangeEachOthersRequests) {
  const int64_t a = insert("org-a", "alice", "user-1");
  const int64_t b = insert("org-b", "bob", "user-1");
  auto list_a = access().list_all("org-a", 1, 10);
  ASSERT_OK(list_a);
  EXPECT_EQ(ids_of(list_a->rows), std::vector<int64_t>{a});
  auto pending_b = access().list_pending("org-b", 1, 10);
  ASSERT_OK(pending_b);
  EXPECT_EQ(ids_of(pending_b->rows), std::vector<int64_t>{b});
  EXPECT_CODE(access().get("org-b", a), Code::kNotFound);
  EXPECT_CODE(access().update_status("org-b", a, UserAccessStatus::kApproved, "evil"),
              Code::kNotFound);
  auto still = access().get("org-a", a);
  ASSERT_OK(still);
  EXPECT_EQ(still->status, UserAccessStatus::kPending);
}

TEST_P(AccessRepositoryTest, ConcurrentReviewsOfOneRequestSucceedOrAskForARetry) {
  const int64_t id = insert("default", "alice", "user-a");
  const auto outcome = concurrent_rounds(4, 20, [&](int t, int i) {
    const std::string reviewer = "r" + std::to_string(t) + "-" + std::to_string(i);
    return access().update_status("default", id, UserAccessStatus::kApproved, reviewer).status();
  });
  EXPECT_EQ(head(), 1 + outcome.succeeded.size());
}

TEST_P(AccessRepositoryTest, ConcurrentInsertsGetDistinctIdsInJournalOrder) {
  constexpr int kThreads = 8;
  constexpr int kEach = 10;
  testing::run_together(kThreads, [&](int t) {
    for (int i = 0; i < kEach; ++i) {
      EXPECT_OK(access().insert_pending("default", "u", "user-" + std::to_string(t)));
    }
  });
  auto all = access().list_all("default", 1, kMaxPerPage);
  ASSERT_OK(all);
  ASSERT_EQ(all->total, kThreads * kEach);
  for (int i = 0; i < kThreads * kEach; ++i) EXPECT_EQ(all->rows[i].id, i + 1);
}

TEST_P(AccessRepositoryTest, RowsSurviveReopeningAndRebuildFromTheJournalAlone) {
  const int64_t a = insert("default", "alice", "user-a");
  clock_.advance(2s);
  const int64_t b = insert("default", "bob", "user-b");
  clock_.advance(2s);
  ASSERT_OK(access().update_status("default", a, UserAccessStatus::kApproved, "admin"));
  auto before = access().list_all("default", 1, 10);
  ASSERT_OK(before);

  rebuild_from_journal();

  auto after = access().list_all("default", 1, 10);
  ASSERT_OK(after);
  EXPECT_EQ(after->rows, before->rows);
  EXPECT_EQ(after->total, 2);
  auto pending = access().get_pending("default", "user-b");
  ASSERT_OK(pending);
  EXPECT_EQ(pending->id, b);
  // The stored version still guards updates after the rebuild.
  EXPECT_OK(access().update_status("default", b, UserAccessStatus::kRejected, "admin"));
}

// An access event with no member set (a bug, or a newer writer's member) is
// refused by the projections rather than skipped, and nothing of its batch
// is applied.
TEST_P(AccessRepositoryTest, AnAccessEventWithoutAMemberStopsOnlyItsProjection) {
  const int64_t id = insert("default", "alice", "user-a");
  journal::AppendRequest request;
  request.org_id = "default";
  events::NewEvent event("default", "user-access-request/bogus", "system");
  event.payload().initAccess();  // the group, with its union left at `unset`
  request.events.push_back(std::move(event));
  ASSERT_OK(journal().append(std::move(request)));
  ASSERT_OK(store_->internals()
                .projector()
                .catch_up());  // the failure stops one projection, not the store
  int stopped = 0;
  for (const auto& state : store_->internals().projector().states()) {
    if (state.failed_at == 0) {
      EXPECT_EQ(state.position, head()) << state.name;
      continue;
    }
    ++stopped;
    EXPECT_EQ(state.failed_at, head());
    EXPECT_LT(state.position, head());
    EXPECT_NE(state.error.find("Corruption"), std::string::npos) << state.error;
  }
  EXPECT_EQ(stopped, 1);
  auto got = access().get("default", id);
  ASSERT_OK(got);
  EXPECT_EQ(got->status, UserAccessStatus::kPending);
  // A write its projection would show is committed but reported not visible, at once.
  auto approved = access().update_status("default", id, UserAccessStatus::kApproved, "admin");
  EXPECT_EQ(approved.status().code(), Code::kTimedOut) << approved.status().to_string();
  EXPECT_NE(approved.status().message().find("annals replay"), std::string::npos);
}

INSTANTIATE_ON_BOTH_BACKENDS(AccessRepositoryTest);

}  // namespace
}  // namespace annals::repositories
