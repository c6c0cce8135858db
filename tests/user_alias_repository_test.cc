// UserAliasRepository (user_aliases) over a real Store with a frozen clock,
// on SQLite and on PostgreSQL (under row-level security).
#include "repositories/user_alias_repository.h"

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
#include "repositories/operator.h"
#include "tests/conformance_helpers.h"
#include "tests/conformance_suites.h"

namespace annals::repositories {

void PrintTo(const UserAlias& a, std::ostream* os) {
  *os << "{org_id=\"" << a.org_id << "\", id=\"" << a.id << "\", alias=\"" << a.alias
      << "\", repo=\"" << a.repo << "\", filename=\"" << a.filename << "\", snapshot=\""
      << a.snapshot << "\", request_params=" << a.request_params
      << ", context_params=" << a.context_params
      << ", created_at=" << format_timestamp(a.created_at)
      << ", updated_at=" << format_timestamp(a.updated_at) << "}";
}

namespace {

using namespace std::chrono_literals;

const Timestamp kStart = testing::kFixtureStart;

UserAliasFields fields(std::string alias) {
  UserAliasFields f;
  f.alias = std::move(alias);
  f.repo = "TheBloke/Llama-2-7B-Chat-GGUF";
  f.filename = "llama-2-7b-chat.Q4_K_M.gguf";
  f.snapshot = "191239b3e26b2882fb562ffccdd1cf0f65402adb";
  f.request_params = R"({"temperature":0.7,"stop":["</s>"]})";
  f.context_params = R"(["--ctx-size","4096"])";
  return f;
}

UserAlias row_of(const std::string& org, const std::string& id, const UserAliasFields& f,
                 Timestamp created, Timestamp updated) {
  return {org,        id,         f.alias,          f.repo,
          f.filename, f.snapshot, f.request_params, f.context_params,
          created,    updated};
}

std::vector<std::string> aliases_of(const std::vector<UserAlias>& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.alias);
  return out;
}

class UserAliasRepositoryTest
    : public testing::OwnRepositoryTest<UserAliasRepository, make_user_alias_repository> {
 protected:
  UserAliasRepository& aliases() { return repository(); }
};

TEST_P(UserAliasRepositoryTest, CreateReturnsTheRowAndGetFindsItByIdAndByAlias) {
  UserAliasFields f = fields("llama2:chat");
  auto created = aliases().create("default", "a-1", f);
  ASSERT_OK(created);
  EXPECT_EQ(*created, row_of("default", "a-1", f, kStart, kStart));
  EXPECT_EQ(head(), 1u);
  clock_.advance(1s);
  auto by_id = aliases().get("default", "a-1");
  ASSERT_OK(by_id);
  EXPECT_EQ(*by_id, row_of("default", "a-1", f, kStart, kStart));
  auto by_alias = aliases().get_by_alias("default", "llama2:chat");
  ASSERT_OK(by_alias);
  EXPECT_EQ(*by_alias, *by_id);
}

TEST_P(UserAliasRepositoryTest, ParamsDefaultToAnEmptyObjectAndAnEmptyList) {
  UserAliasFields f;
  f.alias = "plain";
  f.repo = "r";
  f.filename = "f.gguf";
  f.snapshot = "main";
  auto created = aliases().create("default", "a-1", f);
  ASSERT_OK(created);
  EXPECT_EQ(created->request_params, "{}");
  EXPECT_EQ(created->context_params, "[]");
}

TEST_P(UserAliasRepositoryTest, MissingOrForeignAliasesAreNotFound) {
  ASSERT_OK(aliases().create("org-a", "a-1", fields("mine")));
  EXPECT_CODE(aliases().get("org-a", "a-2"), Code::kNotFound);
  EXPECT_CODE(aliases().get("org-b", "a-1"), Code::kNotFound);
  EXPECT_CODE(aliases().get_by_alias("org-b", "mine"), Code::kNotFound);
  EXPECT_CODE(aliases().get_by_alias("org-a", "min"), Code::kNotFound);
  EXPECT_CODE(aliases().get_by_alias("org-a", "m%"), Code::kNotFound);
  EXPECT_REFUSED(aliases().update("org-b", "a-1", fields("stolen")), Code::kNotFound, "");
  EXPECT_REFUSED(aliases().remove("org-b", "a-1"), Code::kNotFound, "");
  EXPECT_REFUSED(aliases().update("org-a", "nope", fields("x")), Code::kNotFound, "");
  EXPECT_REFUSED(aliases().remove("org-a", "nope"), Code::kNotFound, "");
}

TEST_P(UserAliasRepositoryTest, AnAliasIsUniquePerOrgAndCaseSensitive) {
  ASSERT_OK(aliases().create("default", "a-1", fields("llama")));
  EXPECT_REFUSED(aliases().create("default", "a-2", fields("llama")), Code::kConflict,
                 kUserAliasAliasRule);
  EXPECT_CODE(aliases().get("default", "a-2"), Code::kNotFound);
  // Another case is another alias; another org has its own names.
  ASSERT_OK(aliases().create("default", "a-3", fields("Llama")));
  ASSERT_OK(aliases().create("default", "a-4", fields("LLAMA")));
  ASSERT_OK(aliases().create("org-2", "a-1", fields("llama")));
  auto upper = aliases().get_by_alias("default", "LLAMA");
  ASSERT_OK(upper);
  EXPECT_EQ(upper->id, "a-4");
  auto lower = aliases().get_by_alias("default", "llama");
  ASSERT_OK(lower);
  EXPECT_EQ(lower->id, "a-1");
}

TEST_P(UserAliasRepositoryTest, AnIdIsNeverReusedEvenAfterDelete) {
  ASSERT_OK(aliases().create("default", "a-1", fields("one")));
  EXPECT_REFUSED(aliases().create("default", "a-1", fields("two")), Code::kConflict,
                 kUserAliasIdRule);
  // A taken id and a taken alias: the id is named.
  EXPECT_REFUSED(aliases().create("default", "a-1", fields("one")), Code::kConflict,
                 kUserAliasIdRule);
  ASSERT_OK(aliases().remove("default", "a-1"));
  testing::expect_conflict(aliases().create("default", "a-1", fields("one")).status(),
                           kUserAliasIdRule, "id of a deleted alias");
  // Its alias, though, is free again.
  EXPECT_OK(aliases().create("default", "a-2", fields("one")));
}

TEST_P(UserAliasRepositoryTest, UpdateReplacesTheFieldsAndKeepsCreatedAt) {
  ASSERT_OK(aliases().create("default", "a-1", fields("llama")));
  clock_.advance(1min);
  UserAliasFields g = fields("llama");
  g.repo = "other/repo";
  g.filename = "other.gguf";
  g.snapshot = "abc";
  g.request_params = "{\"top_p\":0.9}";
  g.context_params = "[]";
  auto updated = aliases().update("default", "a-1", g);
  ASSERT_OK(updated);
  EXPECT_EQ(*updated, row_of("default", "a-1", g, kStart, kStart + 1min));
  auto got = aliases().get_by_alias("default", "llama");
  ASSERT_OK(got);
  EXPECT_EQ(*got, *updated);
  EXPECT_EQ(head(), 2u);
}

TEST_P(UserAliasRepositoryTest, RenamingReleasesTheOldAliasAndClaimsTheNewOne) {
  ASSERT_OK(aliases().create("default", "a-1", fields("old")));
  ASSERT_OK(aliases().create("default", "a-2", fields("taken")));
  const uint64_t before = head();
  testing::expect_conflict(aliases().update("default", "a-1", fields("taken")).status(),
                           kUserAliasAliasRule, "rename to a taken alias");
  EXPECT_EQ(head(), before);
  auto unchanged = aliases().get("default", "a-1");
  ASSERT_OK(unchanged);
  EXPECT_EQ(unchanged->alias, "old");

  clock_.advance(1s);
  auto renamed = aliases().update("default", "a-1", fields("new"));
  ASSERT_OK(renamed);
  EXPECT_EQ(renamed->alias, "new");
  EXPECT_EQ(head(), before + 1);  // one append: release and claim together
  EXPECT_CODE(aliases().get_by_alias("default", "old"), Code::kNotFound);
  // The old name is free; the new one is held.
  EXPECT_OK(aliases().create("default", "a-3", fields("old")));
  testing::expect_conflict(aliases().create("default", "a-4", fields("new")).status(),
                           kUserAliasAliasRule, "the new name");
  // Renaming back and forth, and by case only, works.
  EXPECT_OK(aliases().update("default", "a-1", fields("NEW")));
  EXPECT_OK(aliases().update("default", "a-1", fields("new")));
  // Two aliases may swap names through a free one.
  ASSERT_OK(aliases().update("default", "a-2", fields("tmp")));
  ASSERT_OK(aliases().update("default", "a-1", fields("taken")));
  ASSERT_OK(aliases().update("default", "a-2", fields("new")));
  auto list = aliases().list("default");
  ASSERT_OK(list);
  EXPECT_EQ(aliases_of(*list), (std::vector<std::string>{"new", "old", "taken"}));
}

TEST_P(UserAliasRepositoryTest, RemoveDeletesAndReleasesTheAlias) {
  ASSERT_OK(aliases().create("default", "a-1", fields("gone")));
  ASSERT_OK(aliases().remove("default", "a-1"));
  EXPECT_CODE(aliases().get("default", "a-1"), Code::kNotFound);
  EXPECT_CODE(aliases().get_by_alias("default", "gone"), Code::kNotFound);
  EXPECT_REFUSED(aliases().remove("default", "a-1"), Code::kNotFound, "");
  EXPECT_REFUSED(aliases().update("default", "a-1", fields("gone")), Code::kNotFound, "");
  clock_.advance(1s);
  auto reused = aliases().create("default", "a-2", fields("gone"));
  ASSERT_OK(reused);
  EXPECT_EQ(reused->created_at, kStart + 1s);
}

TEST_P(UserAliasRepositoryTest, ListIsOrderedByAliasBytesAndScopedToTheOrg) {
  for (const std::string a : {"zeta", "Beta", "alpha", "_under", "Alpha", "beta", "9lives"}) {
    ASSERT_OK(aliases().create("default", "id-" + a, fields(a)));
  }
  ASSERT_OK(aliases().create("other", "x", fields("aaa")));
  auto list = aliases().list("default");
  ASSERT_OK(list);
  EXPECT_EQ(aliases_of(*list), (std::vector<std::string>{"9lives", "Alpha", "Beta", "_under",
                                                         "alpha", "beta", "zeta"}));
  EXPECT_EQ(list->front(), row_of("default", "id-9lives", fields("9lives"), kStart, kStart));
  auto other = aliases().list("other");
  ASSERT_OK(other);
  EXPECT_EQ(aliases_of(*other), std::vector<std::string>{"aaa"});
  auto none = aliases().list("empty-org");
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
}

TEST_P(UserAliasRepositoryTest, BadInputIsRefusedNamingTheFieldAndAppendsNothing) {
  ASSERT_OK(aliases().create("default", "a-0", fields("keep")));
  // create and update check the id and the fields the same way.
  struct Id {
    std::string id;
  };
  const auto id_rows = testing::bad_identifier("id", &Id::id, kMaxUserAliasIdBytes);
  testing::expect_bad_inputs_refused(
      journal(), "create", Id{"a-1"}, id_rows, [&](const std::string& org, const Id& i) {
        return aliases().create(org, i.id, fields("new-alias")).status();
      });
  testing::expect_bad_inputs_refused(
      journal(), "update", Id{"a-0"}, id_rows, [&](const std::string& org, const Id& i) {
        return aliases().update(org, i.id, fields("new-alias")).status();
      });
  using F = UserAliasFields;
  const auto rows = testing::rows_of(
      testing::bad_text("alias", &F::alias, kMaxUserAliasBytes),
      testing::bad_text("repo", &F::repo, kMaxUserAliasRepoBytes),
      testing::bad_text("filename", &F::filename, kMaxUserAliasFilenameBytes),
      testing::bad_text("snapshot", &F::snapshot, kMaxUserAliasSnapshotBytes),
      testing::bad_values(
          "request_params", &F::request_params,
          {{"request params not JSON", "{a:1}"},
           {"request params empty", ""},
           {"request params too big", "\"" + std::string(kMaxUserAliasParamsBytes, 'x') + "\""}}),
      testing::bad_values(
          "context_params", &F::context_params,
          {{"context params not JSON", "[1,]"}, {"context params trailing text", "[] []"}}));
  testing::expect_bad_inputs_refused(
      journal(), "create", fields("new-alias"), rows,
      [&](const std::string& org, const F& f) { return aliases().create(org, "a-1", f).status(); });
  testing::expect_bad_inputs_refused(
      journal(), "update", fields("new-alias"), rows,
      [&](const std::string& org, const F& f) { return aliases().update(org, "a-0", f).status(); });
  const auto guard = nothing_appended();
  testing::expect_invalid(aliases().remove("default", ""), "id", "remove id");
  testing::expect_invalid(aliases().remove("", "a-0"), "org_id", "remove org");
  testing::expect_invalid(aliases().get("default", "a 0").status(), "id", "get id");
  testing::expect_invalid(aliases().get_by_alias("default", "").status(), "alias",
                          "get empty alias");
  testing::expect_invalid(aliases().get_by_alias("default", "\xff").status(), "alias",
                          "get bad alias");
  testing::expect_invalid(aliases().list("").status(), "org_id", "list org");
  auto row = aliases().get("default", "a-0");
  ASSERT_OK(row);
  EXPECT_EQ(*row, row_of("default", "a-0", fields("keep"), kStart, kStart));
}

TEST_P(UserAliasRepositoryTest, FieldsAtTheirSizeLimitsAreAccepted) {
  UserAliasFields f;
  f.alias = std::string(kMaxUserAliasBytes, 'a');
  f.repo = std::string(kMaxUserAliasRepoBytes, 'r');
  f.filename = std::string(kMaxUserAliasFilenameBytes, 'f');
  f.snapshot = std::string(kMaxUserAliasSnapshotBytes, 's');
  f.request_params = "\"" + std::string(kMaxUserAliasParamsBytes - 2, 'p') + "\"";
  f.context_params = "[\"" + std::string(kMaxUserAliasParamsBytes - 4, 'c') + "\"]";
  const std::string org(kMaxOrgIdLength, 'o');
  const std::string id(kMaxUserAliasIdBytes, 'i');
  auto created = aliases().create(org, id, f);
  ASSERT_OK(created);
  EXPECT_EQ(*created, row_of(org, id, f, kStart, kStart));
}

TEST_P(UserAliasRepositoryTest, HostileButValidStringsRoundTripByteForByte) {
  const auto values = testing::hostile_text("user_aliases", {"a/b:c@d"});
  int n = 0;
  for (const auto& v : values) {
    SCOPED_TRACE(v);
    UserAliasFields f{v, v, v, v, "{\"k\" :  [1, 2.50, \"\\u00e9\"]}", "[ ]"};
    const std::string id = "a-" + std::to_string(n++);
    auto created = aliases().create("default", id, f);
    ASSERT_OK(created);
    EXPECT_EQ(*created, row_of("default", id, f, kStart, kStart));
    auto by_alias = aliases().get_by_alias("default", v);
    ASSERT_OK(by_alias);
    EXPECT_EQ(*by_alias, *created);
  }
  // '%' and '_' match only themselves.
  auto pct = aliases().get_by_alias("default", "%");
  ASSERT_OK(pct);
  EXPECT_EQ(pct->id, "a-3");
  auto list = aliases().list("default");
  ASSERT_OK(list);
  EXPECT_EQ(list->size(), values.size());
}

TEST_P(UserAliasRepositoryTest, OfConcurrentCreatesOfOneAliasExactlyOneWins) {
  constexpr int kThreads = 8;
  constexpr int kAliases = 10;
  std::mutex mu;
  std::vector<std::vector<std::string>> winners(kAliases);
  int conflicts = 0;
  testing::run_together(kThreads, [&](int t) {
    for (int i = 0; i < kAliases; ++i) {
      const int a = (i + t) % kAliases;
      const std::string id = "t" + std::to_string(t) + "-a" + std::to_string(a);
      auto r = aliases().create("default", id, fields("alias-" + std::to_string(a)));
      std::lock_guard lock(mu);
      if (r.is_ok()) {
        winners[a].push_back(id);
      } else if (r.status().code() == Code::kConflict &&
                 r.status().subject() == kUserAliasAliasRule) {
        ++conflicts;
      } else {
        ADD_FAILURE() << id << ": " << r.status().to_string();
      }
    }
  });
  for (int a = 0; a < kAliases; ++a) {
    ASSERT_EQ(winners[a].size(), 1u) << a;
    auto got = aliases().get_by_alias("default", "alias-" + std::to_string(a));
    ASSERT_OK(got);
    EXPECT_EQ(got->id, winners[a][0]);
  }
  EXPECT_EQ(conflicts, kThreads * kAliases - kAliases);
  EXPECT_EQ(head(), static_cast<uint64_t>(kAliases));
}

TEST_P(UserAliasRepositoryTest, OfConcurrentRenamesToOneAliasExactlyOneWins) {
  constexpr int kThreads = 8;
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_OK(aliases().create("default", "a-" + std::to_string(t), fields(std::to_string(t))));
  }
  // Every other rename is a conflict naming the alias rule.
  const auto winners = testing::race(kUserAliasAliasRule, kThreads, [&](int t) {
    return aliases().update("default", "a-" + std::to_string(t), fields("the-one")).status();
  });
  ASSERT_EQ(winners.size(), 1u);
  auto list = aliases().list("default");
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), static_cast<size_t>(kThreads));
  // The winner gave up its old name; the losers kept theirs.
  for (int t = 0; t < kThreads; ++t) {
    auto row = aliases().get("default", "a-" + std::to_string(t));
    ASSERT_OK(row);
    EXPECT_EQ(row->alias, t == winners[0] ? "the-one" : std::to_string(t));
  }
  EXPECT_OK(aliases().create("default", "next", fields(std::to_string(winners[0]))));
}

TEST_P(UserAliasRepositoryTest, ConcurrentUpdatesOfOneAliasSucceedOrAskForARetry) {
  ASSERT_OK(aliases().create("default", "a-1", fields("one")));
  const auto outcome = concurrent_rounds(4, 20, [&](int t, int i) {
    UserAliasFields f = fields("one");
    f.snapshot = "s" + std::to_string(t) + "-" + std::to_string(i);
    return aliases().update("default", "a-1", f).status();
  });
  EXPECT_EQ(head(), 1 + outcome.succeeded.size());
}

TEST_P(UserAliasRepositoryTest, AliasesAndTheirReservationsSurviveReopeningTheStore) {
  ASSERT_OK(aliases().create("default", "a-1", fields("kept")));
  ASSERT_OK(aliases().create("default", "a-2", fields("renamed-from")));
  ASSERT_OK(aliases().update("default", "a-2", fields("renamed-to")));
  ASSERT_OK(aliases().create("default", "a-3", fields("deleted")));
  ASSERT_OK(aliases().remove("default", "a-3"));
  ASSERT_NO_FATAL_FAILURE(expect_same_after_reopening([&] { return aliases().list("default"); }));
  testing::expect_conflict(aliases().create("default", "b-1", fields("kept")).status(),
                           kUserAliasAliasRule, "kept");
  testing::expect_conflict(aliases().create("default", "b-2", fields("renamed-to")).status(),
                           kUserAliasAliasRule, "renamed-to");
  EXPECT_OK(aliases().create("default", "b-3", fields("renamed-from")));
  EXPECT_OK(aliases().create("default", "b-4", fields("deleted")));
}

INSTANTIATE_ON_BOTH_BACKENDS(UserAliasRepositoryTest);

}  // namespace
}  // namespace annals::repositories
