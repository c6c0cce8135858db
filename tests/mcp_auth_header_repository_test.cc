// McpAuthRepository, auth headers (mcp_auth_headers), over a real Store
// (RocksDB journal; SQLite or PostgreSQL read tables) with a frozen clock.
#include <gtest/gtest.h>

#include <barrier>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "annals/clock.h"
#include "annals/status.h"
#include "repositories/mcp_auth_repository.h"
#include "tests/conformance_helpers.h"
#include "tests/conformance_suites.h"
#include "tests/mcp_auth_repository_fixture.h"

namespace annals::repositories {

void PrintTo(const McpAuthHeader& h, std::ostream* os) {
  *os << "{org_id=\"" << h.org_id << "\", id=\"" << h.id << "\", name=\"" << h.name
      << "\", mcp_server_id=\"" << h.mcp_server_id << "\", header_key=\"" << h.header_key
      << "\", created_by=\"" << h.created_by << "\", created_at=" << format_timestamp(h.created_at)
      << ", updated_at=" << format_timestamp(h.updated_at) << "}";
}

namespace {

using namespace std::chrono_literals;
using testing::expect_conflict;
using testing::expect_invalid;
using testing::ids_of;
using Pair = std::pair<std::string, std::string>;

const Timestamp kStart = testing::kFixtureStart;

NewMcpAuthHeader new_header(std::string id, std::string name, std::string server = "srv-1") {
  NewMcpAuthHeader h;
  h.id = std::move(id);
  h.name = std::move(name);
  h.mcp_server_id = std::move(server);
  h.header_key = "X-API-Key";
  h.value = "secret-of-" + h.id;
  h.created_by = "admin-1";
  return h;
}

McpAuthHeader expected_row(const std::string& org, const NewMcpAuthHeader& h, Timestamp at) {
  return {org, h.id, h.name, h.mcp_server_id, h.header_key, h.created_by, at, at};
}

class McpAuthHeaderRepositoryTest : public McpAuthRepositoryTest {};

TEST_P(McpAuthHeaderRepositoryTest, CreateReturnsTheHeaderStampedWithClockTime) {
  NewMcpAuthHeader h = new_header("hdr-1", "Production key");
  auto created = repo().create_auth_header("default", h);
  ASSERT_OK(created);
  EXPECT_EQ(*created, (McpAuthHeader{"default", "hdr-1", "Production key", "srv-1", "X-API-Key",
                                     "admin-1", kStart, kStart}));
  EXPECT_EQ(head(), 1u);
  clock_.advance(1s);
  auto got = repo().get_auth_header("default", "hdr-1");
  ASSERT_OK(got);
  EXPECT_EQ(*got, *created);
  auto value = repo().get_auth_header_value("default", "hdr-1");
  ASSERT_OK(value);
  EXPECT_EQ(*value, (Pair{"X-API-Key", "secret-of-hdr-1"}));
}

TEST_P(McpAuthHeaderRepositoryTest, MissingAndOtherOrgsHeadersAreNotFound) {
  ASSERT_OK(repo().create_auth_header("org-a", new_header("hdr-1", "key")));
  {
    const auto guard = nothing_appended();
    EXPECT_CODE(repo().get_auth_header("org-a", "hdr-404"), Code::kNotFound);
    EXPECT_CODE(repo().get_auth_header("org-b", "hdr-1"), Code::kNotFound);
    EXPECT_CODE(repo().get_auth_header_value("org-b", "hdr-1"), Code::kNotFound);
    EXPECT_CODE(repo().update_auth_header("org-b", "hdr-1", {"x", "X-Key", {}}), Code::kNotFound);
    EXPECT_CODE(repo().delete_auth_header("org-b", "hdr-1"), Code::kNotFound);
    EXPECT_CODE(repo().delete_auth_header("org-a", "hdr-404"), Code::kNotFound);
    auto listed = repo().list_auth_headers("org-b", "srv-1");
    ASSERT_OK(listed);
    EXPECT_TRUE(listed->empty());
  }
  auto still = repo().get_auth_header("org-a", "hdr-1");
  ASSERT_OK(still);
  EXPECT_EQ(*still, expected_row("org-a", new_header("hdr-1", "key"), kStart));
}

TEST_P(McpAuthHeaderRepositoryTest, TheValueIsSealedInEventsAndTablesAndOpensOnlyByTheDecryptCall) {
  NewMcpAuthHeader h = new_header("hdr-1", "key");
  h.value = "PLAINTEXT-header-value-7f3a";
  ASSERT_OK(repo().create_auth_header("default", h));
  ASSERT_OK(repo().update_auth_header(
      "default", "hdr-1", {"key", "X-API-Key", SecretChange::set("PLAINTEXT-second-9c1")}));
  EXPECT_TRUE(journal_contains("X-API-Key"));  // the scan sees the events' text
  EXPECT_FALSE(journal_contains("PLAINTEXT-header-value-7f3a"));
  EXPECT_FALSE(journal_contains("PLAINTEXT-second-9c1"));
  const std::string sealed = stored_value("default", "hdr-1");
  EXPECT_EQ(sealed.rfind("v1.", 0), 0u) << sealed;
  EXPECT_EQ(sealed.find("PLAINTEXT"), std::string::npos);
  auto value = repo().get_auth_header_value("default", "hdr-1");
  ASSERT_OK(value);
  EXPECT_EQ(*value, (Pair{"X-API-Key", "PLAINTEXT-second-9c1"}));
}

TEST_P(McpAuthHeaderRepositoryTest, NamesAreUniquePerServerCaseInsensitively) {
  ASSERT_OK(repo().create_auth_header("default", new_header("hdr-1", "Prod Key")));
  {
    const auto guard = nothing_appended();
    for (const std::string name : {"Prod Key", "PROD KEY", "prod key", "pROD kEY"}) {
      expect_conflict(repo().create_auth_header("default", new_header("hdr-2", name)).status(),
                      "mcp_auth_header.name", name);
    }
  }
  // Not the same name: other spacing; the same name on another server or org is fine.
  ASSERT_OK(repo().create_auth_header("default", new_header("hdr-3", "Prod  Key")));
  ASSERT_OK(repo().create_auth_header("default", new_header("hdr-4", "PROD KEY", "srv-2")));
  ASSERT_OK(repo().create_auth_header("other", new_header("hdr-1", "prod key")));
}

TEST_P(McpAuthHeaderRepositoryTest, DeleteRemovesTheHeaderAndFreesItsName) {
  ASSERT_OK(repo().create_auth_header("default", new_header("hdr-1", "Key")));
  ASSERT_OK(repo().delete_auth_header("default", "hdr-1"));
  EXPECT_EQ(head(), 2u);
  EXPECT_CODE(repo().get_auth_header("default", "hdr-1"), Code::kNotFound);
  EXPECT_CODE(repo().get_auth_header_value("default", "hdr-1"), Code::kNotFound);
  EXPECT_CODE(repo().delete_auth_header("default", "hdr-1"), Code::kNotFound);
  EXPECT_EQ(head(), 2u);
  auto reused = repo().create_auth_header("default", new_header("hdr-2", "KEY"));
  ASSERT_OK(reused);
  EXPECT_EQ(reused->name, "KEY");
  // The deleted header's id stays used.
  expect_conflict(repo().create_auth_header("default", new_header("hdr-1", "other")).status(),
                  "mcp_auth_header.id", "reusing a deleted id");
  expect_conflict(repo().create_auth_header("default", new_header("hdr-1", "Key")).status(),
                  "mcp_auth_header.id", "retrying the deleted header's create");
}

TEST_P(McpAuthHeaderRepositoryTest, UpdateSetsNameAndKeyAndKeepsOrReplacesTheValue) {
  NewMcpAuthHeader h = new_header("hdr-1", "Key");
  ASSERT_OK(repo().create_auth_header("default", h));
  clock_.advance(30s);
  auto kept = repo().update_auth_header("default", "hdr-1", {"Renamed", "Authorization", {}});
  ASSERT_OK(kept);
  EXPECT_EQ(*kept, (McpAuthHeader{"default", "hdr-1", "Renamed", "srv-1", "Authorization",
                                  "admin-1", kStart, kStart + 30s}));
  auto value = repo().get_auth_header_value("default", "hdr-1");
  ASSERT_OK(value);
  EXPECT_EQ(*value, (Pair{"Authorization", "secret-of-hdr-1"}));

  clock_.advance(30s);
  auto set = repo().update_auth_header(
      "default", "hdr-1", {"Renamed", "Authorization", SecretChange::set("Bearer new")});
  ASSERT_OK(set);
  EXPECT_EQ(set->updated_at, kStart + 60s);
  EXPECT_EQ(set->created_at, kStart);
  value = repo().get_auth_header_value("default", "hdr-1");
  ASSERT_OK(value);
  EXPECT_EQ(*value, (Pair{"Authorization", "Bearer new"}));
  auto got = repo().get_auth_header("default", "hdr-1");
  ASSERT_OK(got);
  EXPECT_EQ(*got, *set);
  EXPECT_EQ(head(), 3u);
}

TEST_P(McpAuthHeaderRepositoryTest, RenameReleasesTheOldNameAndClaimsTheNewOne) {
  ASSERT_OK(repo().create_auth_header("default", new_header("hdr-1", "alpha")));
  ASSERT_OK(repo().create_auth_header("default", new_header("hdr-2", "beta")));
  // A rename onto a taken name.
  EXPECT_REFUSED(repo().update_auth_header("default", "hdr-1", {"BETA", "X-API-Key", {}}),
                 Code::kConflict, "mcp_auth_header.name");
  auto unchanged = repo().get_auth_header("default", "hdr-1");
  ASSERT_OK(unchanged);
  EXPECT_EQ(unchanged->name, "alpha");

  // A change of case only keeps the name's reservation.
  ASSERT_OK(repo().update_auth_header("default", "hdr-1", {"ALPHA", "X-API-Key", {}}));
  expect_conflict(repo().create_auth_header("default", new_header("hdr-3", "alpha")).status(),
                  "mcp_auth_header.name", "old case of a case-only rename");

  ASSERT_OK(repo().update_auth_header("default", "hdr-1", {"gamma", "X-API-Key", {}}));
  ASSERT_OK(repo().create_auth_header("default", new_header("hdr-3", "Alpha")));  // freed
  expect_conflict(repo().create_auth_header("default", new_header("hdr-4", "GAMMA")).status(),
                  "mcp_auth_header.name", "new name of a rename");
}

TEST_P(McpAuthHeaderRepositoryTest, ListIsTheServersHeadersNewestFirst) {
  for (int i = 1; i <= 3; ++i) {
    ASSERT_OK(repo().create_auth_header(
        "default", new_header("h" + std::to_string(i), "name " + std::to_string(i))));
    clock_.advance(1s);
  }
  // The clock stays frozen: equal created_at, last created first.
  ASSERT_OK(repo().create_auth_header("default", new_header("h4", "name 4")));
  ASSERT_OK(repo().create_auth_header("default", new_header("h5", "name 5")));
  ASSERT_OK(repo().create_auth_header("default", new_header("other-server", "x", "srv-2")));
  ASSERT_OK(repo().create_auth_header("org-2", new_header("other-org", "y")));
  // An update does not reorder.
  ASSERT_OK(repo().update_auth_header("default", "h1", {"name 1b", "X-API-Key", {}}));

  auto listed = repo().list_auth_headers("default", "srv-1");
  ASSERT_OK(listed);
  EXPECT_EQ(ids_of(*listed), (std::vector<std::string>{"h5", "h4", "h3", "h2", "h1"}));
  EXPECT_EQ(listed->back().name, "name 1b");
  EXPECT_EQ(listed->front(), expected_row("default", new_header("h5", "name 5"), kStart + 3s));
  auto other = repo().list_auth_headers("default", "srv-2");
  ASSERT_OK(other);
  EXPECT_EQ(ids_of(*other), std::vector<std::string>{"other-server"});
  auto none = repo().list_auth_headers("default", "srv-404");
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
}

TEST_P(McpAuthHeaderRepositoryTest, RetryingCreateIsANoOpButAnotherHeaderWithTheIdConflicts) {
  NewMcpAuthHeader h = new_header("hdr-1", "key");
  ASSERT_OK(repo().create_auth_header("default", h));
  clock_.advance(5s);
  auto retry = repo().create_auth_header("default", h);
  ASSERT_OK(retry);
  EXPECT_EQ(*retry, expected_row("default", h, kStart));
  EXPECT_EQ(head(), 1u);
  for (auto change : std::vector<std::function<void(NewMcpAuthHeader&)>>{
           [](NewMcpAuthHeader& x) { x.name = "other"; },
           [](NewMcpAuthHeader& x) { x.value = "another value"; },
           [](NewMcpAuthHeader& x) { x.header_key = "X-Other"; },
           [](NewMcpAuthHeader& x) { x.mcp_server_id = "srv-2"; },
           [](NewMcpAuthHeader& x) { x.created_by = "someone"; }}) {
    NewMcpAuthHeader different = h;
    change(different);
    expect_conflict(repo().create_auth_header("default", different).status(), "mcp_auth_header.id",
                    "same id, other header");
  }
  EXPECT_EQ(head(), 1u);
}

TEST_P(McpAuthHeaderRepositoryTest, BadInputIsRefusedNamingTheFieldAndAppendsNothing) {
  ASSERT_OK(repo().create_auth_header("default", new_header("hdr-0", "zero")));
  const auto guard = nothing_appended();
  using H = NewMcpAuthHeader;
  const auto rows = testing::rows_of(
      testing::bad_identifier("id", &H::id, kMaxMcpAuthIdBytes),
      testing::bad_text("name", &H::name, kMaxMcpAuthNameBytes),
      testing::bad_identifier("mcp_server_id", &H::mcp_server_id, kMaxMcpAuthIdBytes),
      testing::bad_values(
          "header_key", &H::header_key,
          {{"empty header key", ""},
           {"header key with colon", "X-A:b"},
           {"header key with space", "X A"},
           {"257-byte header key", std::string(kMaxMcpAuthHeaderKeyBytes + 1, 'k')}}),
      testing::bad_text("value", &H::value, kMaxSecretBytes),
      testing::bad_values("value", &H::value, {{"value with CRLF", "a\r\nX-Evil: 1"}}),
      testing::bad_text("created_by", &H::created_by, kMaxMcpAuthUserBytes));
  testing::expect_bad_inputs_refused(journal(), "create", new_header("hdr-1", "one"), rows,
                                     [&](const std::string& org, const H& h) {
                                       return repo().create_auth_header(org, h).status();
                                     });
  auto upd = [&](std::string org, std::string id, McpAuthHeaderUpdate u) {
    return repo().update_auth_header(org, id, u).status();
  };
  expect_invalid(upd("", "hdr-0", {"n", "K", {}}), "org_id", "update org");
  expect_invalid(upd("default", "", {"n", "K", {}}), "id", "update id");
  expect_invalid(upd("default", "hdr-0", {"", "K", {}}), "name", "update empty name");
  expect_invalid(upd("default", "hdr-0", {"n", "K y", {}}), "header_key", "update key");
  expect_invalid(upd("default", "hdr-0", {"n", "K", SecretChange::set("")}), "value",
                 "update empty value");
  expect_invalid(upd("default", "hdr-0", {"n", "K", SecretChange::set("a\nb")}), "value",
                 "update value with LF");
  expect_invalid(upd("default", "hdr-0", {"n", "K", SecretChange::clear()}), "value",
                 "update clears the value");
  SecretChange bogus;
  bogus.action = static_cast<SecretChange::Action>(9);
  expect_invalid(upd("default", "hdr-0", {"n", "K", bogus}), "value", "update action 9");
  expect_invalid(repo().delete_auth_header("default", "a b"), "id", "delete id");
  expect_invalid(repo().delete_auth_header("a/b", "hdr-0"), "org_id", "delete org");
  expect_invalid(repo().get_auth_header("default", "").status(), "id", "get id");
  expect_invalid(repo().get_auth_header_value("", "hdr-0").status(), "org_id", "value org");
  expect_invalid(repo().list_auth_headers("default", "").status(), "mcp_server_id", "list");
  auto unchanged = repo().get_auth_header("default", "hdr-0");
  ASSERT_OK(unchanged);
  EXPECT_EQ(*unchanged, expected_row("default", new_header("hdr-0", "zero"), kStart));
}

TEST_P(McpAuthHeaderRepositoryTest, HostileNamesAndValuesRoundTripByteForByte) {
  const std::vector<std::string> hostile = {"it's",
                                            "\"double\"",
                                            "'; DROP TABLE mcp_auth_headers; --",
                                            "%",
                                            "_",
                                            "100%_off",
                                            "emoji 🎉👩‍💻",
                                            "tab\there",
                                            "back\\slash",
                                            "$1",
                                            " padded ",
                                            "Ünïcödé ÄÖ"};
  int n = 0;
  for (const auto& s : hostile) {
    SCOPED_TRACE(s);
    NewMcpAuthHeader h = new_header("h" + std::to_string(n++), s);
    h.value = s;
    auto created = repo().create_auth_header("default", h);
    ASSERT_OK(created);
    EXPECT_EQ(created->name, s);
    auto value = repo().get_auth_header_value("default", h.id);
    ASSERT_OK(value);
    EXPECT_EQ(value->second, s);
  }
  // Non-ASCII letters are not folded: "ä" and "Ä" are different names.
  ASSERT_OK(repo().create_auth_header("default", new_header("h-lower", "ünïcödé äö")));
  auto listed = repo().list_auth_headers("default", "srv-1");
  ASSERT_OK(listed);
  EXPECT_EQ(listed->size(), hostile.size() + 1);
}

TEST_P(McpAuthHeaderRepositoryTest, ConcurrentCreatesOfOneNameInAnyCaseHaveExactlyOneWinner) {
  constexpr int kThreads = 8;
  std::barrier start(kThreads);
  std::mutex mu;
  std::vector<std::string> winners, unexpected;
  int conflicts = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::string name = t % 2 ? "Shared Name" : "SHARED name";
      auto h = new_header("hdr-" + std::to_string(t), name);
      start.arrive_and_wait();
      auto r = repo().create_auth_header("default", h);
      std::lock_guard lock(mu);
      if (r.is_ok()) {
        winners.push_back(h.id);
      } else if (r.status().subject() == "mcp_auth_header.name") {
        ++conflicts;
      } else {
        unexpected.push_back(r.status().to_string());
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& u : unexpected) ADD_FAILURE() << u;
  ASSERT_EQ(winners.size(), 1u);
  EXPECT_EQ(conflicts, kThreads - 1);
  EXPECT_EQ(head(), 1u);
  auto listed = repo().list_auth_headers("default", "srv-1");
  ASSERT_OK(listed);
  EXPECT_EQ(ids_of(*listed), winners);
}

TEST_P(McpAuthHeaderRepositoryTest, ConcurrentRenamesOntoOneNameHaveExactlyOneWinner) {
  constexpr int kThreads = 6;
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_OK(repo().create_auth_header(
        "default", new_header("h" + std::to_string(t), "start " + std::to_string(t))));
  }
  std::mutex mu;
  int wins = 0, conflicts = 0;
  std::vector<std::string> unexpected;
  testing::run_together(kThreads, [&](int t) {
    auto r = repo().update_auth_header("default", "h" + std::to_string(t),
                                       {t % 2 ? "Target" : "TARGET", "X-API-Key", {}});
    std::lock_guard lock(mu);
    if (r.is_ok()) {
      ++wins;
    } else if (r.status().subject() == "mcp_auth_header.name") {
      ++conflicts;
    } else {
      unexpected.push_back(r.status().to_string());
    }
  });
  for (const auto& u : unexpected) ADD_FAILURE() << u;
  EXPECT_EQ(wins, 1);
  EXPECT_EQ(conflicts, kThreads - 1);
  EXPECT_EQ(head(), static_cast<uint64_t>(kThreads + 1));
}

TEST_P(McpAuthHeaderRepositoryTest, ConcurrentUpdatesOfOneHeaderSucceedOrAskForARetry) {
  ASSERT_OK(repo().create_auth_header("default", new_header("hdr-1", "key")));
  const auto outcome = concurrent_rounds(2, 20, [&](int t, int i) {
    return repo()
        .update_auth_header(
            "default", "hdr-1",
            {"key", "X-API-Key", SecretChange::set("v" + std::to_string(t * 100 + i))})
        .status();
  });
  EXPECT_EQ(head(), 1 + outcome.succeeded.size());
  EXPECT_OK(repo().get_auth_header_value("default", "hdr-1"));
}

TEST_P(McpAuthHeaderRepositoryTest, WithoutAMasterKeySecretsAreRefusedAndNothingIsAppended) {
  ASSERT_OK(repo().create_auth_header("default", new_header("hdr-1", "key")));
  options().master_key.clear();  // reopen without a master key
  open();
  expect_invalid(repo().create_auth_header("default", new_header("hdr-2", "two")).status(),
                 "master_key", "create");
  expect_invalid(repo().get_auth_header_value("default", "hdr-1").status(), "master_key", "value");
  expect_invalid(
      repo()
          .update_auth_header("default", "hdr-1", {"key", "X-API-Key", SecretChange::set("v")})
          .status(),
      "master_key", "update");
  EXPECT_EQ(head(), 1u);
  // What needs no secret still works.
  EXPECT_OK(repo().get_auth_header("default", "hdr-1"));
  EXPECT_OK(repo().update_auth_header("default", "hdr-1", {"renamed", "X-API-Key", {}}));
}

TEST_P(McpAuthHeaderRepositoryTest, HeadersSurviveReopeningAndNamesStayReserved) {
  NewMcpAuthHeader h = new_header("hdr-1", "Key");
  ASSERT_OK(repo().create_auth_header("default", h));
  open();
  auto got = repo().get_auth_header("default", "hdr-1");
  ASSERT_OK(got);
  EXPECT_EQ(*got, expected_row("default", h, kStart));
  expect_conflict(repo().create_auth_header("default", new_header("hdr-2", "KEY")).status(),
                  "mcp_auth_header.name", "after reopening");
  auto value = repo().get_auth_header_value("default", "hdr-1");
  ASSERT_OK(value);
  EXPECT_EQ(value->second, h.value);
}

INSTANTIATE_ON_BOTH_BACKENDS(McpAuthHeaderRepositoryTest);

}  // namespace
}  // namespace annals::repositories
