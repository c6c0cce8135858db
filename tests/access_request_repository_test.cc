// AccessRequestRepository (app_access_requests) over a real Store with a
// frozen clock, on SQLite and on PostgreSQL (under row-level security).
#include "repositories/access_request_repository.h"

#include <gtest/gtest.h>

#include <barrier>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "annals/clock.h"
#include "annals/status.h"
#include "core/validate.h"
#include "repositories/operator.h"
#include "tests/test_support.h"

namespace annals {

void PrintTo(Code code, std::ostream* os) { *os << code_name(code); }

namespace repositories {

void PrintTo(AppAccessStatus s, std::ostream* os) { *os << app_access_status_name(s); }

void PrintTo(const AppAccessRequest& r, std::ostream* os) {
  auto opt = [](const std::optional<std::string>& v) {
    return v ? "\"" + *v + "\"" : std::string("null");
  };
  *os << "{org_id=\"" << r.org_id << "\", id=\"" << r.id << "\", app_client_id=\""
      << r.app_client_id << "\", app_name=\"" << r.app_name
      << "\", flow_type=" << app_access_flow_type_name(r.flow_type) << ", redirect_uri=\""
      << r.redirect_uri << "\", status=" << app_access_status_name(r.status)
      << ", requested=" << r.requested << ", approved=" << opt(r.approved)
      << ", user_id=" << opt(r.user_id) << ", resource_scope=" << opt(r.resource_scope)
      << ", access_request_scope=" << opt(r.access_request_scope)
      << ", error_message=" << opt(r.error_message)
      << ", expires_at=" << format_timestamp(r.expires_at)
      << ", created_at=" << format_timestamp(r.created_at)
      << ", updated_at=" << format_timestamp(r.updated_at) << "}";
}

namespace {

using namespace std::chrono_literals;

const Timestamp kStart = from_micros(1'767'225'600'000'000);  // 2026-01-01T00:00:00Z
const Timestamp kExpires = kStart + 10min;

NewAppAccessRequest new_request(std::string id) {
  NewAppAccessRequest r;
  r.id = std::move(id);
  r.app_client_id = "app-client-1";
  r.app_name = "Notes App";
  r.app_description = "Takes notes";
  r.flow_type = AppAccessFlowType::kRedirect;
  r.redirect_uri = "https://notes.example/callback";
  r.requested = R"({"toolset_types":[{"toolset_type":"builtin-exa-search"}]})";
  r.expires_at = kExpires;
  return r;
}

// The draft create() should give for `r` in `org`, written at `at`.
AppAccessRequest draft_of(const std::string& org, const NewAppAccessRequest& r, Timestamp at) {
  AppAccessRequest a;
  a.org_id = org;
  a.id = r.id;
  a.app_client_id = r.app_client_id;
  a.app_name = r.app_name;
  a.app_description = r.app_description;
  a.flow_type = r.flow_type;
  a.redirect_uri = r.redirect_uri;
  a.status = AppAccessStatus::kDraft;
  a.requested = r.requested;
  a.expires_at = r.expires_at;
  a.created_at = at;
  a.updated_at = at;
  return a;
}

const std::string kApproved = R"({"toolsets":[{"id":"t1","enabled":true}]})";

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

class AccessRequestRepositoryTest : public ::testing::TestWithParam<testing::Backend> {
 protected:
  void SetUp() override {
    ANNALS_SETUP_BACKEND(db_, GetParam(), dir_);
    open();
  }

  void TearDown() override {
    if (store_)
      annals::testing::expect_reservations_follow_the_events(store_->internals().journal());
    repo_.reset();
    context_.reset();
    store_.reset();
  }

  void open(bool rebuild = false) {
    repo_.reset();
    context_.reset();
    store_.reset();
    if (rebuild && GetParam() == testing::Backend::kSqlite) {
      for (const char* f : {"read.sqlite", "read.sqlite-wal", "read.sqlite-shm"}) {
        std::filesystem::remove(dir_.sub(f));
      }
    }
    StoreOptions options;
    options.data_dir = dir_.path();
    options.database_url = db_->url();
    options.setup_database = true;  // a superuser URL: set it up first
    options.clock = &clock_;
    auto store = Store::open(options);
    ASSERT_OK(store);
    store_ = std::move(store).value();
    context_ = std::make_unique<RepositoryContext>(
        store_->internals().journal(), store_->internals().database(),
        store_->internals().projector(), store_->clock());
    repo_ = make_access_request_repository(*context_);
  }

  AccessRequestRepository& requests() { return *repo_; }
  uint64_t head() { return store_->internals().journal().head(); }

  static void expect_invalid(const Status& s, const std::string& field, const std::string& what) {
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << what << ": " << s.to_string();
    EXPECT_EQ(s.subject(), field) << what << ": " << s.to_string();
  }
  static void expect_conflict(const Status& s, const std::string& rule, const std::string& what) {
    EXPECT_EQ(s.code(), Code::kConflict) << what << ": " << s.to_string();
    EXPECT_EQ(s.subject(), rule) << what << ": " << s.to_string();
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::TestDatabase> db_;
  ManualClock clock_{kStart};
  std::unique_ptr<Store> store_;
  std::unique_ptr<RepositoryContext> context_;
  std::unique_ptr<AccessRequestRepository> repo_;
};

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
  const uint64_t before = head();
  clock_.advance(5s);
  auto retry = requests().create("default", r);
  ASSERT_OK(retry);
  EXPECT_EQ(*retry, draft_of("default", r, kStart));
  NewAppAccessRequest other = r;
  other.app_name = "Different";
  expect_conflict(requests().create("default", other).status(), kAppAccessRequestIdRule,
                  "another request under the id");
  other = r;
  other.expires_at = kExpires + 1s;
  expect_conflict(requests().create("default", other).status(), kAppAccessRequestIdRule,
                  "another expiry under the id");
  EXPECT_EQ(head(), before);
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
  const uint64_t before = head();
  for (const std::string id : {"approved", "denied", "failed"}) {
    auto row = requests().get("default", id);
    ASSERT_OK(row);
    expect_conflict(requests().approve("default", id, "u2", "{}", "rs", std::string("s2")).status(),
                    kAppAccessRequestStateRule, "approve " + id);
    expect_conflict(requests().deny("default", id, "u2").status(), kAppAccessRequestStateRule,
                    "deny " + id);
    expect_conflict(requests().fail("default", id, "again").status(), kAppAccessRequestStateRule,
                    "fail " + id);
    auto after = requests().get("default", id);
    ASSERT_OK(after);
    EXPECT_EQ(*after, *row) << id;
  }
  EXPECT_EQ(head(), before);
  // s2 was never claimed.
  ASSERT_OK(requests().create("default", new_request("fresh")));
  EXPECT_OK(requests().approve("default", "fresh", "u", "{}", "rs", std::string("s2")));
}

TEST_P(AccessRequestRepositoryTest, StateChangesOfMissingOrForeignRequestsAreNotFound) {
  ASSERT_OK(requests().create("org-a", new_request("req-1")));
  const uint64_t before = head();
  EXPECT_CODE(requests().approve("org-a", "nope", "u", "{}", "rs", std::nullopt), Code::kNotFound);
  EXPECT_CODE(requests().approve("org-b", "req-1", "u", "{}", "rs", std::nullopt), Code::kNotFound);
  EXPECT_CODE(requests().deny("org-b", "req-1", "u"), Code::kNotFound);
  EXPECT_CODE(requests().fail("org-b", "req-1", "x"), Code::kNotFound);
  EXPECT_EQ(head(), before);
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
  const uint64_t before = head();
  expect_conflict(requests().approve("default", "exact", "u", "{}", "rs", std::nullopt).status(),
                  kAppAccessRequestExpiredRule, "approve at expires_at");
  clock_.advance(1h);
  expect_conflict(
      requests().approve("default", "late", "u", "{}", "rs", std::string("scope-late")).status(),
      kAppAccessRequestExpiredRule, "approve after expiry");
  EXPECT_EQ(head(), before);
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
  const uint64_t before = head();
  expect_conflict(
      requests().approve("default", "req-2", "u", "{}", "rs", std::string("scope_ar:x")).status(),
      kAppAccessRequestScopeRule, "a taken scope");
  EXPECT_EQ(head(), before);
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
    std::barrier start(kThreads);
    std::mutex mu;
    std::vector<int> winners;
    std::vector<std::string> unexpected;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        start.arrive_and_wait();
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
    }
    for (auto& th : threads) th.join();
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
  RepositoryContext lagging_context(store_->internals().journal(), store_->internals().database(),
                                    store_->internals().projector(), store_->clock(), no_wait);
  auto lagging = make_access_request_repository(lagging_context);
  // Appended, not projected: the inline projector runs only when waited for.
  auto first = lagging->approve("default", "req-1", "first", "{}", "rs", std::string("s-first"));
  ASSERT_OK(first);
  EXPECT_EQ(first->status, AppAccessStatus::kDraft);  // the stale read-back
  const uint64_t before = head();

  auto second =
      requests().approve("default", "req-1", "second", "{}", "rs", std::string("s-second"));
  EXPECT_EQ(second.status().code(), Code::kConcurrencyConflict) << second.status().to_string();
  EXPECT_TRUE(second.status().retryable());
  EXPECT_EQ(head(), before);

  // Once projected, a retry sees the approval and is a state conflict.
  ASSERT_OK(store_->internals().projector().catch_up());
  auto row = requests().get("default", "req-1");
  ASSERT_OK(row);
  EXPECT_EQ(row->user_id, "first");
  EXPECT_EQ(row->access_request_scope, "s-first");
  expect_conflict(requests()
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
  std::barrier start(kThreads);
  std::mutex mu;
  int wins = 0;
  int conflicts = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      auto r = requests().approve("default", "req-" + std::to_string(t), "u", "{}", "rs",
                                  std::string("scope_ar:shared"));
      std::lock_guard lock(mu);
      if (r.is_ok()) {
        ++wins;
      } else if (r.status().code() == Code::kConflict &&
                 r.status().subject() == kAppAccessRequestScopeRule) {
        ++conflicts;
      } else {
        ADD_FAILURE() << r.status().to_string();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wins, 1);
  EXPECT_EQ(conflicts, kThreads - 1);
  EXPECT_EQ(head(), static_cast<uint64_t>(kThreads + 1));
  EXPECT_OK(requests().get_by_access_request_scope("default", "scope_ar:shared"));
}

TEST_P(AccessRequestRepositoryTest, BadInputIsRefusedNamingTheFieldAndAppendsNothing) {
  ASSERT_OK(requests().create("default", new_request("req-0")));
  const uint64_t before = head();
  struct Case {
    std::string what;
    std::string org;
    std::function<void(NewAppAccessRequest&)> change;
    std::string field;
  };
  auto keep = [](NewAppAccessRequest&) {};
  using R = NewAppAccessRequest;
  const std::vector<Case> cases = {
      {"empty org", "", keep, "org_id"},
      {"org with slash", "a/b", keep, "org_id"},
      {"65-char org", std::string(65, 'o'), keep, "org_id"},
      {"empty id", "default", [](R& r) { r.id = ""; }, "id"},
      {"65-byte id", "default", [](R& r) { r.id = std::string(65, 'i'); }, "id"},
      {"id with quote", "default", [](R& r) { r.id = "req'1"; }, "id"},
      {"empty client", "default", [](R& r) { r.app_client_id = ""; }, "app_client_id"},
      {"long client", "default",
       [](R& r) { r.app_client_id = std::string(kMaxAppClientIdBytes + 1, 'c'); }, "app_client_id"},
      {"long name", "default", [](R& r) { r.app_name = std::string(kMaxAppNameBytes + 1, 'n'); },
       "app_name"},
      {"name not UTF-8", "default", [](R& r) { r.app_name = "\xff"; }, "app_name"},
      {"description with NUL", "default", [](R& r) { r.app_description = std::string("a\0b", 3); },
       "app_description"},
      {"long description", "default",
       [](R& r) { r.app_description = std::string(kMaxAppDescriptionBytes + 1, 'd'); },
       "app_description"},
      {"flow type 9", "default", [](R& r) { r.flow_type = static_cast<AppAccessFlowType>(9); },
       "flow_type"},
      {"long redirect", "default",
       [](R& r) { r.redirect_uri = std::string(kMaxRedirectUriBytes + 1, 'u'); }, "redirect_uri"},
      {"requested not JSON", "default", [](R& r) { r.requested = "{oops"; }, "requested"},
      {"requested empty", "default", [](R& r) { r.requested = ""; }, "requested"},
      {"requested too big", "default",
       [](R& r) { r.requested = "\"" + std::string(kMaxAccessJsonBytes, 'j') + "\""; },
       "requested"},
  };
  for (const auto& c : cases) {
    NewAppAccessRequest r = new_request("req-1");
    c.change(r);
    expect_invalid(requests().create(c.org, r).status(), c.field, "create " + c.what);
    EXPECT_EQ(head(), before) << c.what;
  }
  EXPECT_CODE(requests().get("default", "req-1"), Code::kNotFound);

  auto approve = [&](std::string org, std::string id, std::string user, std::string json,
                     std::string rs, std::optional<std::string> scope) {
    return requests().approve(org, id, user, json, rs, scope).status();
  };
  expect_invalid(approve("", "req-0", "u", "{}", "rs", std::nullopt), "org_id", "approve org");
  expect_invalid(approve("default", "", "u", "{}", "rs", std::nullopt), "id", "approve id");
  expect_invalid(approve("default", "req-0", "", "{}", "rs", std::nullopt), "user_id",
                 "approve user");
  expect_invalid(approve("default", "req-0", "u", "[1,", "rs", std::nullopt), "approved",
                 "approved not JSON");
  expect_invalid(approve("default", "req-0", "u", "{}", "", std::nullopt), "resource_scope",
                 "empty resource scope");
  expect_invalid(approve("default", "req-0", "u", "{}", "rs", std::string("")),
                 "access_request_scope", "empty scope");
  expect_invalid(approve("default", "req-0", "u", "{}", "rs", std::string("a scope")),
                 "access_request_scope", "scope with space");
  expect_invalid(approve("default", "req-0", "u", "{}", "rs",
                         std::string(kMaxAccessRequestScopeBytes + 1, 's')),
                 "access_request_scope", "long scope");
  expect_invalid(requests().deny("default", "req-0", "").status(), "user_id", "deny user");
  expect_invalid(requests().deny("default", "re q", "u").status(), "id", "deny id");
  expect_invalid(requests().fail("default", "req-0", "").status(), "error_message", "no message");
  expect_invalid(requests()
                     .fail("default", "req-0", std::string(kMaxAccessErrorMessageBytes + 1, 'e'))
                     .status(),
                 "error_message", "long message");
  EXPECT_EQ(head(), before);
  expect_invalid(requests().get("default", "").status(), "id", "get id");
  expect_invalid(requests().get("", "req-0").status(), "org_id", "get org");
  expect_invalid(requests().get_by_access_request_scope("default", "x' OR '1'='1").status(),
                 "access_request_scope", "scope lookup with SQL");
  auto row = requests().get("default", "req-0");
  ASSERT_OK(row);
  EXPECT_EQ(row->status, AppAccessStatus::kDraft);
}

TEST_P(AccessRequestRepositoryTest, HostileButValidStringsRoundTripByteForByte) {
  const std::vector<std::string> texts = {
      "it's",
      "\"double\"",
      "'; DROP TABLE app_access_requests; --",
      "%",
      "100%_off",
      "emoji 🎉👩‍💻",
      "line1\nline2\r\n",
      "back\\slash",
      "$1",
      " padded ",
  };
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

TEST_P(AccessRequestRepositoryTest, RequestsSurviveReopeningAndRebuildFromTheJournalAlone) {
  ASSERT_OK(requests().create("default", new_request("req-1")));
  ASSERT_OK(requests().create("default", new_request("req-2")));
  clock_.advance(1min);
  auto approved =
      requests().approve("default", "req-1", "u", kApproved, "rs", std::string("scope_ar:1"));
  ASSERT_OK(approved);
  const uint64_t before = head();

  open(/*rebuild=*/true);

  EXPECT_EQ(head(), before);
  auto got = requests().get("default", "req-1");
  ASSERT_OK(got);
  EXPECT_EQ(*got, *approved);
  // The scope is still reserved and the create retry still recognised.
  expect_conflict(
      requests().approve("default", "req-2", "u", "{}", "rs", std::string("scope_ar:1")).status(),
      kAppAccessRequestScopeRule, "scope after reopen");
  EXPECT_OK(requests().create("default", new_request("req-2")));
  EXPECT_EQ(head(), before);
}

INSTANTIATE_TEST_SUITE_P(Backends, AccessRequestRepositoryTest,
                         ::testing::Values(testing::Backend::kSqlite, testing::Backend::kPostgres),
                         testing::BackendName);

}  // namespace
}  // namespace repositories
}  // namespace annals
