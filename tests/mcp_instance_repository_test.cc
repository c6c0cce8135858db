// McpServerRepository, a user's instances of a server (mcps): create, get by
// id or slug, update, delete, list, and the slug's uniqueness. Over a real
// Store (RocksDB journal; SQLite or PostgreSQL read tables) with a frozen
// clock.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "annals/clock.h"
#include "annals/status.h"
#include "repositories/mcp_repository.h"
#include "tests/conformance_helpers.h"
#include "tests/mcp_server_repository_fixture.h"

namespace annals::repositories {
namespace {

using namespace std::chrono_literals;
using testing::expect_conflict;

// --- instances ----------------------------------------------------------------------

TEST_P(McpServerRepositoryTest, CreateInstanceReturnsTheRowAndDefaultsArePublicAndEnabled) {
  ASSERT_OK(mcp().create_server("default", new_server("srv-1", "https://a.example")));
  NewMcpInstance m = new_instance("m-1", "srv-1", "My-Tools");
  auto created = mcp().create_instance("default", m);
  ASSERT_OK(created);
  EXPECT_EQ(*created, expected_instance(m, kStart));
  EXPECT_EQ(head(), 2u);

  NewMcpInstance bare;
  bare.id = "m-2";
  bare.created_by = "user-1";
  bare.mcp_server_id = "srv-1";
  bare.name = "bare";
  bare.slug = "bare";
  auto plain = mcp().create_instance("default", bare);
  ASSERT_OK(plain);
  EXPECT_EQ(*plain,
            (McpInstance{"m-2", "user-1", "srv-1", "bare", "bare", std::nullopt, true, std::nullopt,
                         std::nullopt, McpAuthType::kPublic, std::nullopt, kStart, kStart}));
}

TEST_P(McpServerRepositoryTest, CreateInstanceNeedsAServerOfTheOrg) {
  ASSERT_OK(mcp().create_server("other", new_server("srv-other", "https://a.example")));
  const auto guard = nothing_appended();
  for (const std::string server : {"srv-404", "srv-other"}) {
    auto r = mcp().create_instance("default", new_instance("m-1", server, "slug"));
    EXPECT_EQ(r.status().code(), Code::kNotFound) << r.status().to_string();
    EXPECT_NE(r.status().message().find("mcp_server_id"), std::string::npos)
        << r.status().to_string();
  }
}

TEST_P(McpServerRepositoryTest, GetInstanceFindsOnlyTheOwnersInstanceBySlugIgnoringCase) {
  ASSERT_OK(mcp().create_server("default", new_server("srv-1", "https://a.example")));
  NewMcpInstance m = new_instance("m-1", "srv-1", "GitHub_Tools");
  ASSERT_OK(mcp().create_instance("default", m));
  for (const std::string slug : {"GitHub_Tools", "github_tools", "GITHUB_TOOLS"}) {
    auto got = mcp().get_instance_by_slug("default", "user-1", slug);
    ASSERT_OK(got);
    EXPECT_EQ(*got, expected_instance(m, kStart)) << slug;
  }
  EXPECT_CODE(mcp().get_instance_by_slug("default", "user-2", "github_tools"), Code::kNotFound);
  EXPECT_CODE(mcp().get_instance_by_slug("other", "user-1", "github_tools"), Code::kNotFound);
  EXPECT_CODE(mcp().get_instance_by_slug("default", "user-1", "github"), Code::kNotFound);
  EXPECT_CODE(mcp().get_instance("default", "user-2", "m-1"), Code::kNotFound);
  EXPECT_CODE(mcp().get_instance("other", "user-1", "m-1"), Code::kNotFound);
  EXPECT_CODE(mcp().get_instance("default", "user-1", "m-404"), Code::kNotFound);
}

TEST_P(McpServerRepositoryTest, InstanceSlugIsUniquePerUserIgnoringCaseAndIdsAreNeverReused) {
  ASSERT_OK(mcp().create_server("default", new_server("srv-1", "https://a.example")));
  ASSERT_OK(mcp().create_instance("default", new_instance("m-1", "srv-1", "Tools")));
  {
    const auto guard = nothing_appended();
    for (const std::string slug : {"Tools", "tools", "TOOLS"}) {
      expect_conflict(mcp().create_instance("default", new_instance("m-2", "srv-1", slug)).status(),
                      "mcp.slug", slug);
    }
    EXPECT_REFUSED(mcp().create_instance("default", new_instance("m-1", "srv-1", "fresh")),
                   Code::kConflict, "mcp.id");
  }
  EXPECT_OK(mcp().create_instance("default", new_instance("m-2", "srv-1", "TOOLS", "user-2")));
  ASSERT_OK(mcp().delete_instance("default", "user-1", "m-1"));
  expect_conflict(mcp().create_instance("default", new_instance("m-1", "srv-1", "x")).status(),
                  "mcp.id", "id of a deleted instance");
}

TEST_P(McpServerRepositoryTest, UpdateInstanceReplacesFieldsAndMovesTheSlug) {
  ASSERT_OK(mcp().create_server("default", new_server("srv-1", "https://a.example")));
  NewMcpInstance m = new_instance("m-1", "srv-1", "alpha");
  ASSERT_OK(mcp().create_instance("default", m));
  ASSERT_OK(mcp().create_instance("default", new_instance("m-2", "srv-1", "beta")));
  clock_.advance(7s);
  const McpInstanceUpdate u{
      "Renamed",           "Gamma",  std::nullopt, false, std::nullopt, R"({"allow": ["x"]})",
      McpAuthType::kOauth, "oauth-9"};
  auto updated = mcp().update_instance("default", "user-1", "m-1", u);
  ASSERT_OK(updated);
  const McpInstance want{"m-1",
                         "user-1",
                         "srv-1",
                         "Renamed",
                         "Gamma",
                         std::nullopt,
                         false,
                         std::nullopt,
                         R"({"allow": ["x"]})",
                         McpAuthType::kOauth,
                         "oauth-9",
                         kStart,
                         kStart + 7s};
  EXPECT_EQ(*updated, want);
  auto by_slug = mcp().get_instance_by_slug("default", "user-1", "gamma");
  ASSERT_OK(by_slug);
  EXPECT_EQ(*by_slug, want);

  McpInstanceUpdate onto_beta = u;
  onto_beta.slug = "BETA";
  EXPECT_REFUSED(mcp().update_instance("default", "user-1", "m-1", onto_beta), Code::kConflict,
                 "mcp.slug");
  EXPECT_REFUSED(mcp().update_instance("default", "user-2", "m-1", u), Code::kNotFound, "");
  EXPECT_REFUSED(mcp().update_instance("other", "user-1", "m-1", u), Code::kNotFound, "");
  EXPECT_REFUSED(mcp().update_instance("default", "user-1", "m-404", u), Code::kNotFound, "");
  // The old slug is free again; a case-only change is no conflict.
  EXPECT_OK(mcp().create_instance("default", new_instance("m-3", "srv-1", "ALPHA")));
  McpInstanceUpdate lower = u;
  lower.slug = "gamma";
  EXPECT_OK(mcp().update_instance("default", "user-1", "m-1", lower));
}

TEST_P(McpServerRepositoryTest, DeleteInstanceRemovesItAndFreesItsSlug) {
  ASSERT_OK(mcp().create_server("default", new_server("srv-1", "https://a.example")));
  ASSERT_OK(mcp().create_instance("default", new_instance("m-1", "srv-1", "Tools")));
  const uint64_t before = head();
  EXPECT_REFUSED(mcp().delete_instance("default", "user-2", "m-1"), Code::kNotFound, "");
  EXPECT_REFUSED(mcp().delete_instance("other", "user-1", "m-1"), Code::kNotFound, "");
  ASSERT_OK(mcp().delete_instance("default", "user-1", "m-1"));
  EXPECT_EQ(head(), before + 1);
  EXPECT_CODE(mcp().get_instance("default", "user-1", "m-1"), Code::kNotFound);
  EXPECT_CODE(mcp().delete_instance("default", "user-1", "m-1"), Code::kNotFound);
  EXPECT_EQ(*mcp().count_instances("default", "srv-1"), (McpInstanceCounts{0, 0}));
  EXPECT_OK(mcp().create_instance("default", new_instance("m-2", "srv-1", "tools")));
}

TEST_P(McpServerRepositoryTest, ListInstancesJoinsTheServerAndKeepsToTheUser) {
  ASSERT_OK(mcp().create_server("default", new_server("srv-1", "https://a.example")));
  NewMcpServer off = new_server("srv-2", "https://b.example");
  off.name = "Off";
  off.enabled = false;
  ASSERT_OK(mcp().create_server("default", off));
  NewMcpInstance first = new_instance("m-b", "srv-2", "first");
  ASSERT_OK(mcp().create_instance("default", first));
  clock_.advance(1s);
  NewMcpInstance second = new_instance("m-a", "srv-1", "second");
  ASSERT_OK(mcp().create_instance("default", second));
  ASSERT_OK(mcp().create_instance("default", new_instance("m-c", "srv-1", "third", "user-2")));

  auto listed = mcp().list_instances("default", "user-1");
  ASSERT_OK(listed);
  EXPECT_EQ(*listed,
            (std::vector<McpInstanceWithServer>{
                {expected_instance(first, kStart), "https://b.example", "Off", false},
                {expected_instance(second, kStart + 1s), "https://a.example", "Server", true},
            }));
  // A server change shows in its instances' rows.
  ASSERT_OK(mcp().update_server("default", "srv-2",
                                {"https://B2.example", "On", std::nullopt, true, "root"}));
  listed = mcp().list_instances("default", "user-1");
  ASSERT_OK(listed);
  EXPECT_EQ(listed->front().server_url, "https://B2.example");
  EXPECT_EQ(listed->front().server_name, "On");
  EXPECT_TRUE(listed->front().server_enabled);
  EXPECT_EQ(ids_of(*mcp().list_instances("default", "user-2")), std::vector<std::string>{"m-c"});
  EXPECT_TRUE(mcp().list_instances("other", "user-1")->empty());
}

TEST_P(McpServerRepositoryTest, ConcurrentCreatesOfOneSlugInAnyCaseHaveExactlyOneWinner) {
  ASSERT_OK(mcp().create_server("default", new_server("srv-1", "https://a.example")));
  const std::vector<std::string> variants = {"Race", "race", "RACE", "rAcE"};
  const int winner = one_winner("mcp.slug", 8, [&](int t) {
    return mcp()
        .create_instance("default", new_instance("m-" + std::to_string(t), "srv-1",
                                                 variants[t % variants.size()]))
        .status();
  });
  EXPECT_EQ(head(), 2u);
  EXPECT_EQ(mcp().get_instance_by_slug("default", "user-1", "race")->id,
            "m-" + std::to_string(winner));
}

INSTANTIATE_ON_BOTH_BACKENDS(McpServerRepositoryTest);

}  // namespace
}  // namespace annals::repositories
