// TokenRepository over a real Store (RocksDB journal, SQLite read tables)
// with a frozen clock, so every timestamp is known exactly.
#include "repositories/token_repository.h"

#include <gtest/gtest.h>

#include <barrier>
#include <chrono>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <set>
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

void PrintTo(TokenStatus status, std::ostream* os) { *os << token_status_name(status); }

void PrintTo(const ApiToken& t, std::ostream* os) {
  *os << "{org_id=\"" << t.org_id << "\", id=\"" << t.id << "\", user_id=\"" << t.user_id
      << "\", name=\"" << t.name << "\", token_prefix=\"" << t.token_prefix << "\", token_hash=\""
      << t.token_hash << "\", scopes=\"" << t.scopes << "\", status=" << token_status_name(t.status)
      << ", created_at=" << format_timestamp(t.created_at)
      << ", updated_at=" << format_timestamp(t.updated_at) << "}";
}

namespace {

using namespace std::chrono_literals;

const Timestamp kStart = from_micros(1'767'225'600'000'000);  // 2026-01-01T00:00:00Z

NewApiToken new_token(std::string id, std::string prefix, std::string user = "user-1") {
  NewApiToken t;
  t.id = std::move(id);
  t.user_id = std::move(user);
  t.name = "laptop";
  t.token_prefix = std::move(prefix);
  t.token_hash = "sha256:" + t.token_prefix + ":hash";
  t.scopes = "scope_token_user";
  t.status = TokenStatus::kActive;
  return t;
}

// The row create() should give for `t` in `org`, written at `at`.
ApiToken expected_row(const std::string& org, const NewApiToken& t, Timestamp at) {
  return {org,      t.id,     t.user_id, t.name, t.token_prefix, t.token_hash,
          t.scopes, t.status, at,        at,     std::nullopt};
}

std::vector<std::string> ids_of(const std::vector<ApiToken>& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.id);
  return out;
}

// Every test body runs on SQLite and on PostgreSQL (under row-level security).
class TokenRepositoryTest : public ::testing::TestWithParam<testing::Backend> {
 protected:
  void SetUp() override {
    ANNALS_SETUP_BACKEND(db_, GetParam(), dir_);
    open();
  }

  void TearDown() override {
    if (store_)
      annals::testing::expect_reservations_follow_the_events(store_->internals().journal());
    store_.reset();
  }

  void open() {
    store_.reset();
    StoreOptions options;
    options.data_dir = dir_.path();
    options.database_url = db_->url();
    options.setup_database = true;  // a superuser URL: set it up first
    options.clock = &clock_;
    auto store = Store::open(options);
    ASSERT_OK(store);
    store_ = std::move(store).value();
  }

  TokenRepository& tokens() { return store_->tokens(); }
  uint64_t head() { return store_->internals().journal().head(); }

  // Every event in the journal, in order.
  std::vector<events::Event> journalled() {
    auto events = store_->internals().journal().read(1, 100000);
    EXPECT_OK(events);
    if (!events.is_ok()) return {};
    return std::move(events).value();
  }

  // The status must be kInvalidArgument naming `field`.
  static void expect_invalid(const Status& s, const std::string& field, const std::string& what) {
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << what << ": " << s.to_string();
    EXPECT_EQ(s.subject(), field) << what << ": " << s.to_string();
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::TestDatabase> db_;
  ManualClock clock_{kStart};
  std::unique_ptr<Store> store_;
};

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

  auto p4 = tokens().list("default", "user-1", 4, 3);
  ASSERT_OK(p4);
  EXPECT_TRUE(p4->rows.empty());
  EXPECT_EQ(p4->total, 7);

  auto all = tokens().list("default", "user-1", 1, kMaxPerPage);
  ASSERT_OK(all);
  EXPECT_EQ(ids_of(all->rows), (std::vector<std::string>{"tok-7", "tok-6", "tok-5", "tok-4",
                                                         "tok-3", "tok-2", "tok-1"}));

  auto none = tokens().list("default", "nobody", 1, 10);
  ASSERT_OK(none);
  EXPECT_TRUE(none->rows.empty());
  EXPECT_EQ(none->total, 0);
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

TEST_P(TokenRepositoryTest, ListRefusesPageZeroAndOutOfRangePageSizes) {
  ASSERT_OK(tokens().create("default", new_token("tok-1", "pfx_1")));
  expect_invalid(tokens().list("default", "user-1", 0, 10).status(), "page", "page 0");
  expect_invalid(tokens().list("default", "user-1", -1, 10).status(), "page", "page -1");
  expect_invalid(tokens().list("default", "user-1", 1, 0).status(), "per_page", "per_page 0");
  expect_invalid(tokens().list("default", "user-1", 1, -5).status(), "per_page", "per_page -5");
  expect_invalid(tokens().list("default", "user-1", 1, kMaxPerPage + 1).status(), "per_page",
                 "per_page over the maximum");
  expect_invalid(tokens().list("", "user-1", 1, 10).status(), "org_id", "empty org");
  expect_invalid(tokens().list("default", "", 1, 10).status(), "user_id", "empty user");
}

// The OFFSET (page - 1) * per_page must not overflow into page 1.
TEST_P(TokenRepositoryTest, PageFarPastTheEndIsEmptyEvenWhenItsOffsetWouldOverflow) {
  for (int i = 1; i <= 3; ++i) {
    ASSERT_OK(tokens().create("default",
                              new_token("tok-" + std::to_string(i), "pfx_" + std::to_string(i))));
  }
  auto far = tokens().list("default", "user-1", 1'000'000, 3);
  ASSERT_OK(far);
  EXPECT_TRUE(far->rows.empty());
  EXPECT_EQ(far->total, 3);

  // (page - 1) * per_page is past INT64_MAX here. Refusing the page or
  // returning no rows are both right; returning the first page is not.
  const int64_t huge = std::numeric_limits<int64_t>::max() / 3 + 2;
  auto overflow = tokens().list("default", "user-1", huge, 3);
  if (overflow.is_ok()) {
    EXPECT_EQ(ids_of(overflow->rows), std::vector<std::string>{});
    EXPECT_EQ(overflow->total, 3);
  } else {
    EXPECT_EQ(overflow.status().code(), Code::kInvalidArgument) << overflow.status().to_string();
    EXPECT_EQ(overflow.status().subject(), "page");
  }
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
  const uint64_t before = head();
  EXPECT_CODE(tokens().update("default", "user-2", "tok-1", "stolen", TokenStatus::kInactive),
              Code::kNotFound);
  EXPECT_CODE(tokens().update("other-org", "user-1", "tok-1", "stolen", TokenStatus::kInactive),
              Code::kNotFound);
  EXPECT_EQ(head(), before);
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
  const uint64_t before = head();

  auto dup = tokens().create("default", new_token("tok-2", "bodhiapp_dup", "user-2"));
  EXPECT_EQ(dup.status().code(), Code::kConflict) << dup.status().to_string();
  EXPECT_EQ(dup.status().subject(), "token.prefix");
  EXPECT_EQ(head(), before);
  EXPECT_CODE(tokens().get("default", "user-2", "tok-2"), Code::kNotFound);
  auto owner = tokens().get_by_prefix("bodhiapp_dup");
  ASSERT_OK(owner);
  EXPECT_EQ(*owner, expected_row("default", first, kStart));
}

TEST_P(TokenRepositoryTest, DuplicatePrefixInAnotherOrgIsConflictAndAppendsNothing) {
  NewApiToken first = new_token("tok-1", "bodhiapp_dup", "user-1");
  ASSERT_OK(tokens().create("org-a", first));
  const uint64_t before = head();

  auto dup = tokens().create("org-b", new_token("tok-9", "bodhiapp_dup", "user-9"));
  EXPECT_EQ(dup.status().code(), Code::kConflict) << dup.status().to_string();
  EXPECT_EQ(dup.status().subject(), "token.prefix");
  EXPECT_EQ(head(), before);
  EXPECT_CODE(tokens().get("org-b", "user-9", "tok-9"), Code::kNotFound);
  auto owner = tokens().get_by_prefix("bodhiapp_dup");
  ASSERT_OK(owner);
  EXPECT_EQ(owner->org_id, "org-a");
}

TEST_P(TokenRepositoryTest, RetryingTheSameCreateReturnsTheSameTokenAndAppendsNothing) {
  NewApiToken t = new_token("tok-1", "pfx_1");
  auto first = tokens().create("default", t);
  ASSERT_OK(first);
  const uint64_t before = head();
  clock_.advance(10s);

  auto retry = tokens().create("default", t);
  ASSERT_OK(retry);
  EXPECT_EQ(*retry, *first);
  EXPECT_EQ(retry->created_at, kStart);
  EXPECT_EQ(head(), before);
  auto page = tokens().list("default", "user-1", 1, 10);
  ASSERT_OK(page);
  EXPECT_EQ(page->total, 1);
}

TEST_P(TokenRepositoryTest, CreatingADifferentTokenUnderATakenIdIsConflict) {
  NewApiToken original = new_token("tok-1", "pfx_1", "user-1");
  ASSERT_OK(tokens().create("default", original));
  const uint64_t before = head();

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
    auto r = tokens().create("default", t);
    EXPECT_EQ(r.status().code(), Code::kConflict) << what << ": " << r.status().to_string();
    EXPECT_EQ(r.status().subject(), "token.id") << what;
    EXPECT_EQ(head(), before) << what;
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
  const uint64_t before = head();

  NewApiToken renamed = original;
  renamed.name = "desktop";
  auto r1 = tokens().create("default", renamed);
  EXPECT_EQ(r1.status().code(), Code::kConflict) << r1.status().to_string();
  EXPECT_EQ(r1.status().subject(), "token.id");

  NewApiToken inactive = original;
  inactive.status = TokenStatus::kInactive;
  auto r2 = tokens().create("default", inactive);
  EXPECT_EQ(r2.status().code(), Code::kConflict) << r2.status().to_string();
  EXPECT_EQ(r2.status().subject(), "token.id");

  EXPECT_EQ(head(), before);
}

TEST_P(TokenRepositoryTest, RetryingCreateAfterAnUpdateStillReturnsTheToken) {
  NewApiToken t = new_token("tok-1", "pfx_1");
  ASSERT_OK(tokens().create("default", t));
  clock_.advance(5s);
  ASSERT_OK(tokens().update("default", "user-1", "tok-1", "renamed", TokenStatus::kInactive));
  const uint64_t before = head();

  auto retry = tokens().create("default", t);
  ASSERT_OK(retry);
  EXPECT_EQ(retry->id, "tok-1");
  EXPECT_EQ(retry->created_at, kStart);
  EXPECT_EQ(head(), before);
}

TEST_P(TokenRepositoryTest, ConcurrentCreatesClaimEachPrefixOfThePoolExactlyOnce) {
  constexpr int kThreads = 8;
  constexpr int kPrefixes = 20;
  std::barrier start(kThreads);
  std::mutex mu;
  std::map<std::string, std::vector<std::string>> winners;  // prefix -> ids created with it
  int conflicts = 0;
  std::vector<std::string> unexpected;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
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
  }
  for (auto& th : threads) th.join();

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

TEST_P(TokenRepositoryTest, BadInputIsRefusedNamingTheFieldAndAppendsNothing) {
  ASSERT_OK(tokens().create("default", new_token("tok-0", "pfx_0")));
  const uint64_t before = head();

  struct Case {
    std::string what;
    std::string org;
    std::function<void(NewApiToken&)> change;
    std::string field;
  };
  auto keep = [](NewApiToken&) {};
  const std::vector<Case> cases = {
      {"empty org", "", keep, "org_id"},
      {"65-char org", std::string(65, 'o'), keep, "org_id"},
      {"org with slash", "a/b", keep, "org_id"},
      {"org with space", "a b", keep, "org_id"},
      {"org with SQL", "org'; DROP TABLE api_tokens;--", keep, "org_id"},
      {"empty id", "default", [](NewApiToken& t) { t.id = ""; }, "id"},
      {"65-byte id", "default", [](NewApiToken& t) { t.id = std::string(65, 'i'); }, "id"},
      {"id with space", "default", [](NewApiToken& t) { t.id = "tok 1"; }, "id"},
      {"empty user_id", "default", [](NewApiToken& t) { t.user_id = ""; }, "user_id"},
      {"256-byte user_id", "default", [](NewApiToken& t) { t.user_id = std::string(256, 'u'); },
       "user_id"},
      {"user_id not UTF-8", "default", [](NewApiToken& t) { t.user_id = "\xff\xfe"; }, "user_id"},
      {"256-byte name", "default", [](NewApiToken& t) { t.name = std::string(256, 'n'); }, "name"},
      {"name not UTF-8", "default", [](NewApiToken& t) { t.name = "\xff\xfe"; }, "name"},
      {"name with NUL", "default", [](NewApiToken& t) { t.name = std::string("a\0b", 3); }, "name"},
      {"empty prefix", "default", [](NewApiToken& t) { t.token_prefix = ""; }, "token_prefix"},
      {"65-byte prefix", "default", [](NewApiToken& t) { t.token_prefix = std::string(65, 'p'); },
       "token_prefix"},
      {"prefix with space", "default", [](NewApiToken& t) { t.token_prefix = "pfx 1"; },
       "token_prefix"},
      {"prefix with quote", "default", [](NewApiToken& t) { t.token_prefix = "pfx'1"; },
       "token_prefix"},
      {"prefix with double quote", "default", [](NewApiToken& t) { t.token_prefix = "pfx\"1"; },
       "token_prefix"},
      {"empty hash", "default", [](NewApiToken& t) { t.token_hash = ""; }, "token_hash"},
      {"257-byte hash", "default", [](NewApiToken& t) { t.token_hash = std::string(257, 'h'); },
       "token_hash"},
      {"empty scopes", "default", [](NewApiToken& t) { t.scopes = ""; }, "scopes"},
      {"1025-byte scopes", "default", [](NewApiToken& t) { t.scopes = std::string(1025, 's'); },
       "scopes"},
      {"status 7", "default", [](NewApiToken& t) { t.status = static_cast<TokenStatus>(7); },
       "status"},
  };
  for (const auto& c : cases) {
    NewApiToken t = new_token("tok-1", "pfx_1");
    c.change(t);
    expect_invalid(tokens().create(c.org, t).status(), c.field, "create " + c.what);
    EXPECT_EQ(head(), before) << c.what;
  }
  EXPECT_CODE(tokens().get_by_prefix("pfx_1"), Code::kNotFound);

  // update, get and get_by_prefix check their input the same way.
  auto upd = [&](std::string org, std::string user, std::string id, std::string name,
                 TokenStatus status) {
    return tokens().update(org, user, id, name, status).status();
  };
  expect_invalid(upd("", "user-1", "tok-0", "x", TokenStatus::kActive), "org_id", "update org");
  expect_invalid(upd("default", "", "tok-0", "x", TokenStatus::kActive), "user_id", "update user");
  expect_invalid(upd("default", "user-1", "", "x", TokenStatus::kActive), "id", "update id");
  expect_invalid(upd("default", "user-1", "tok-0", "\xff\xfe", TokenStatus::kActive), "name",
                 "update name not UTF-8");
  expect_invalid(upd("default", "user-1", "tok-0", std::string(256, 'n'), TokenStatus::kActive),
                 "name", "update long name");
  expect_invalid(upd("default", "user-1", "tok-0", "x", static_cast<TokenStatus>(7)), "status",
                 "update status 7");
  EXPECT_EQ(head(), before);
  auto unchanged = tokens().get("default", "user-1", "tok-0");
  ASSERT_OK(unchanged);
  EXPECT_EQ(*unchanged, expected_row("default", new_token("tok-0", "pfx_0"), kStart));

  expect_invalid(tokens().get("a/b", "user-1", "tok-0").status(), "org_id", "get org");
  expect_invalid(tokens().get("default", "", "tok-0").status(), "user_id", "get user");
  expect_invalid(tokens().get("default", "user-1", "tok 0").status(), "id", "get id");
  expect_invalid(tokens().get_by_prefix("").status(), "token_prefix", "empty prefix");
  expect_invalid(tokens().get_by_prefix("pfx' OR '1'='1").status(), "token_prefix",
                 "prefix with SQL");
}

TEST_P(TokenRepositoryTest, FieldsAtTheirSizeLimitsAreAccepted) {
  NewApiToken t;
  t.id = std::string(kMaxTokenIdBytes, 'i');
  t.user_id = std::string(kMaxUserIdBytes, 'u');
  t.name = std::string(kMaxTokenNameBytes, 'n');
  t.token_prefix = std::string(kMaxTokenPrefixBytes, 'p');
  t.token_hash = std::string(kMaxTokenHashBytes, 'h');
  t.scopes = std::string(kMaxScopesBytes, 's');
  const std::string org(kMaxOrgIdLength, 'o');
  auto created = tokens().create(org, t);
  ASSERT_OK(created);
  EXPECT_EQ(*created, expected_row(org, t, kStart));
  auto got = tokens().get_by_prefix(t.token_prefix);
  ASSERT_OK(got);
  EXPECT_EQ(*got, expected_row(org, t, kStart));
}

TEST_P(TokenRepositoryTest, EmptyNameIsAllowed) {
  NewApiToken t = new_token("tok-1", "pfx_1");
  t.name = "";
  auto created = tokens().create("default", t);
  ASSERT_OK(created);
  EXPECT_EQ(created->name, "");
  auto got = tokens().get("default", "user-1", "tok-1");
  ASSERT_OK(got);
  EXPECT_EQ(*got, expected_row("default", t, kStart));
}

TEST_P(TokenRepositoryTest, HostileButValidNamesRoundTripByteForByte) {
  const std::vector<std::string> names = {
      "it's",
      "\"double\"",
      "'; DROP TABLE api_tokens; --",
      "%",
      "_",
      "100%_off",
      "emoji 🎉👩‍💻",
      "line1\nline2\r\n",
      "tab\there",
      "back\\slash",
      "$1",
      " padded ",
  };
  int n = 0;
  for (const auto& name : names) {
    NewApiToken t = new_token("tok-" + std::to_string(n), "pfx_" + std::to_string(n));
    t.name = name;
    auto created = tokens().create("default", t);
    SCOPED_TRACE(name);
    ASSERT_OK(created);
    EXPECT_EQ(created->name, name);
    auto got = tokens().get("default", "user-1", t.id);
    ASSERT_OK(got);
    EXPECT_EQ(got->name, name);
    ++n;
  }
  // And through update.
  for (const auto& name : names) {
    auto updated = tokens().update("default", "user-1", "tok-0", name, TokenStatus::kActive);
    SCOPED_TRACE(name);
    ASSERT_OK(updated);
    EXPECT_EQ(updated->name, name);
    auto got = tokens().get_by_prefix("pfx_0");
    ASSERT_OK(got);
    EXPECT_EQ(got->name, name);
  }
  auto page = tokens().list("default", "user-1", 1, 100);
  ASSERT_OK(page);
  EXPECT_EQ(page->total, static_cast<int64_t>(names.size()));
}

TEST_P(TokenRepositoryTest, ConcurrentUpdatesOfOneTokenSucceedOrAskForARetry) {
  ASSERT_OK(tokens().create("default", new_token("tok-1", "pfx_1")));
  constexpr int kThreads = 2;
  constexpr int kRounds = 50;
  // Both threads call update at the same moment in each round.
  std::barrier round(kThreads);
  std::mutex mu;
  std::map<std::string, TokenStatus> succeeded;  // name -> status
  int retryable = 0;
  std::vector<std::string> unexpected;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        const std::string name = "t" + std::to_string(t) + "-" + std::to_string(i);
        const TokenStatus status = (i + t) % 2 ? TokenStatus::kInactive : TokenStatus::kActive;
        round.arrive_and_wait();
        auto r = tokens().update("default", "user-1", "tok-1", name, status);
        std::lock_guard lock(mu);
        if (r.is_ok()) {
          succeeded[name] = status;
        } else if (r.status().code() == Code::kConcurrencyConflict && r.status().retryable()) {
          ++retryable;
        } else {
          unexpected.push_back(name + ": " + r.status().to_string());
        }
      }
    });
  }
  for (auto& th : threads) th.join();

  for (const auto& u : unexpected) ADD_FAILURE() << u;
  EXPECT_EQ(static_cast<int>(succeeded.size()) + retryable, kThreads * kRounds);
  // In each round the first update to reach the journal wins.
  EXPECT_GE(succeeded.size(), static_cast<size_t>(kRounds));
  RecordProperty("retryable_conflicts", retryable);

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

INSTANTIATE_TEST_SUITE_P(Backends, TokenRepositoryTest,
                         ::testing::Values(testing::Backend::kSqlite, testing::Backend::kPostgres),
                         testing::BackendName);

}  // namespace
}  // namespace repositories
}  // namespace annals
