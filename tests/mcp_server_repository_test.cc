// McpServerRepository, servers (mcp_servers), and what servers and instances
// both take: bad input, fields at their limits, hostile text, reopening. Over
// a real Store (RocksDB journal; SQLite or PostgreSQL read tables) with a
// frozen clock.
#include <gtest/gtest.h>

#include <barrier>
#include <chrono>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "annals/clock.h"
#include "annals/status.h"
#include "repositories/common.h"
#include "repositories/mcp_repository.h"
#include "tests/conformance_helpers.h"
#include "tests/mcp_server_repository_fixture.h"

namespace annals::repositories {
namespace {

using namespace std::chrono_literals;
using testing::expect_conflict;

// --- servers ---------------------------------------------------------------------

TEST_P(McpServerRepositoryTest, CreateServerStoresTheTrimmedUrlAndStampsTime) {
  NewMcpServer s = new_server("srv-1", " \t https://Example.com/MCP \r\n");
  s.description.reset();
  s.enabled = false;
  auto created = mcp().create_server("default", s);
  ASSERT_OK(created);
  const McpServer want{
      "srv-1", "https://Example.com/MCP", "Server", std::nullopt, false, "admin", "admin", kStart,
      kStart};
  EXPECT_EQ(*created, want);
  EXPECT_EQ(head(), 1u);
  auto got = mcp().get_server("default", "srv-1");
  ASSERT_OK(got);
  EXPECT_EQ(*got, want);
  EXPECT_CODE(mcp().get_server("other", "srv-1"), Code::kNotFound);
  EXPECT_CODE(mcp().get_server("default", "srv-404"), Code::kNotFound);
}

TEST_P(McpServerRepositoryTest, GetServerByUrlIgnoresAsciiCaseAndSurroundingWhitespace) {
  ASSERT_OK(mcp().create_server("default", new_server("srv-1", "https://Example.com/mcp")));
  for (const std::string url : {"https://Example.com/mcp", "HTTPS://EXAMPLE.COM/MCP",
                                "  https://example.com/mcp\n", "\thttps://eXample.com/Mcp "}) {
    auto got = mcp().get_server_by_url("default", url);
    ASSERT_OK(got);
    EXPECT_EQ(got->id, "srv-1") << url;
    EXPECT_EQ(got->url, "https://Example.com/mcp");
  }
  EXPECT_CODE(mcp().get_server_by_url("default", "https://example.com/mcp/"), Code::kNotFound);
  EXPECT_CODE(mcp().get_server_by_url("other", "https://example.com/mcp"), Code::kNotFound);
}

TEST_P(McpServerRepositoryTest, UrlIsUniquePerOrgIgnoringCaseAndWhitespace) {
  ASSERT_OK(mcp().create_server("default", new_server("srv-1", "https://example.com/mcp")));
  {
    const auto guard = nothing_appended();
    for (const std::string url : {"https://example.com/mcp", "HTTPS://Example.COM/mcp",
                                  "  https://example.com/mcp  ", "\nhttps://EXAMPLE.com/mcp\t"}) {
      expect_conflict(mcp().create_server("default", new_server("srv-2", url)).status(),
                      "mcp_server.url", url);
    }
    EXPECT_CODE(mcp().get_server("default", "srv-2"), Code::kNotFound);
    EXPECT_REFUSED(mcp().create_server("default", new_server("srv-1", "https://b.example")),
                   Code::kConflict, "mcp_server.id");
  }
  // Another org has its own allow-list.
  EXPECT_OK(mcp().create_server("other", new_server("srv-2", "https://EXAMPLE.com/mcp")));
}

TEST_P(McpServerRepositoryTest, UpdateServerReplacesFieldsAndMovesTheUrlReservation) {
  ASSERT_OK(mcp().create_server("default", new_server("srv-1", "https://a.example")));
  ASSERT_OK(mcp().create_server("default", new_server("srv-2", "https://b.example")));
  clock_.advance(20s);
  // Onto srv-2's url.
  EXPECT_REFUSED(mcp().update_server("default", "srv-1",
                                     {" HTTPS://B.example ", "Server", std::nullopt, true, "root"}),
                 Code::kConflict, "mcp_server.url");

  // A case-only change of its own url is no conflict.
  ASSERT_OK(mcp().update_server("default", "srv-1",
                                {"https://A.example", "Server", std::nullopt, true, "root"}));
  auto updated = mcp().update_server(
      "default", "srv-1", {"  https://c.example  ", "Renamed", "new text", false, "root-2"});
  ASSERT_OK(updated);
  const McpServer want{
      "srv-1", "https://c.example", "Renamed", "new text", false, "admin", "root-2",
      kStart,  kStart + 20s};
  EXPECT_EQ(*updated, want);
  auto by_url = mcp().get_server_by_url("default", "HTTPS://C.EXAMPLE");
  ASSERT_OK(by_url);
  EXPECT_EQ(*by_url, want);
  EXPECT_CODE(mcp().get_server_by_url("default", "https://a.example"), Code::kNotFound);
  // The old url is free; the new one is taken.
  EXPECT_OK(mcp().create_server("default", new_server("srv-3", "https://a.EXAMPLE")));
  expect_conflict(mcp().create_server("default", new_server("srv-4", "https://C.example")).status(),
                  "mcp_server.url", "the new url");
  EXPECT_CODE(mcp().update_server("default", "srv-404",
                                  {"https://z.example", "x", std::nullopt, true, "root"}),
              Code::kNotFound);
  EXPECT_CODE(
      mcp().update_server("other", "srv-1", {"https://z.example", "x", std::nullopt, true, "root"}),
      Code::kNotFound);
}

TEST_P(McpServerRepositoryTest, ListServersIsInCreationOrderAndFiltersOnEnabled) {
  NewMcpServer a = new_server("srv-a", "https://a.example");
  NewMcpServer b = new_server("srv-b", "https://b.example");
  b.enabled = false;
  NewMcpServer c = new_server("srv-c", "https://c.example");
  ASSERT_OK(mcp().create_server("default", c));
  clock_.advance(1s);
  ASSERT_OK(mcp().create_server("default", b));
  ASSERT_OK(mcp().create_server("default", a));  // same microsecond as b
  ASSERT_OK(mcp().create_server("other", new_server("srv-o", "https://o.example")));

  auto all = mcp().list_servers("default", std::nullopt);
  ASSERT_OK(all);
  EXPECT_EQ(ids_of(*all), (std::vector<std::string>{"srv-c", "srv-b", "srv-a"}));
  auto enabled = mcp().list_servers("default", true);
  ASSERT_OK(enabled);
  EXPECT_EQ(ids_of(*enabled), (std::vector<std::string>{"srv-c", "srv-a"}));
  auto disabled = mcp().list_servers("default", false);
  ASSERT_OK(disabled);
  EXPECT_EQ(ids_of(*disabled), std::vector<std::string>{"srv-b"});
  EXPECT_FALSE(disabled->front().enabled);
  auto none = mcp().list_servers("empty", std::nullopt);
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
}

TEST_P(McpServerRepositoryTest, CountInstancesCountsEveryUsersEnabledAndDisabledInstances) {
  ASSERT_OK(mcp().create_server("default", new_server("srv-1", "https://a.example")));
  ASSERT_OK(mcp().create_server("default", new_server("srv-2", "https://b.example")));
  auto empty = mcp().count_instances("default", "srv-1");
  ASSERT_OK(empty);
  EXPECT_EQ(*empty, (McpInstanceCounts{0, 0}));
  for (int i = 0; i < 5; ++i) {
    NewMcpInstance m = new_instance("m-" + std::to_string(i), "srv-1", "s" + std::to_string(i),
                                    "user-" + std::to_string(i % 2));
    m.enabled = i < 3;
    ASSERT_OK(mcp().create_instance("default", m));
  }
  ASSERT_OK(mcp().create_instance("default", new_instance("m-x", "srv-2", "x")));
  auto counts = mcp().count_instances("default", "srv-1");
  ASSERT_OK(counts);
  EXPECT_EQ(*counts, (McpInstanceCounts{3, 2}));
  auto other = mcp().count_instances("default", "srv-2");
  ASSERT_OK(other);
  EXPECT_EQ(*other, (McpInstanceCounts{1, 0}));
  EXPECT_CODE(mcp().count_instances("default", "srv-404"), Code::kNotFound);
  EXPECT_CODE(mcp().count_instances("other", "srv-1"), Code::kNotFound);
}

TEST_P(McpServerRepositoryTest, ClearInstanceToolsClearsEveryInstanceOfTheServerInOneAppend) {
  ASSERT_OK(mcp().create_server("default", new_server("srv-1", "https://a.example")));
  ASSERT_OK(mcp().create_server("default", new_server("srv-2", "https://b.example")));
  ASSERT_OK(mcp().create_instance("default", new_instance("m-1", "srv-1", "one", "user-1")));
  NewMcpInstance only_filter = new_instance("m-2", "srv-1", "two", "user-2");
  only_filter.tools_cache.reset();
  ASSERT_OK(mcp().create_instance("default", only_filter));
  NewMcpInstance nothing = new_instance("m-3", "srv-1", "three", "user-1");
  nothing.tools_cache.reset();
  nothing.tools_filter.reset();
  ASSERT_OK(mcp().create_instance("default", nothing));
  ASSERT_OK(mcp().create_instance("default", new_instance("m-4", "srv-2", "four", "user-1")));
  clock_.advance(5s);
  const uint64_t before = head();

  auto cleared = mcp().clear_instance_tools("default", "srv-1");
  ASSERT_OK(cleared);
  EXPECT_EQ(*cleared, 2);
  // One command: consecutive positions, one recorded-at, one event per changed instance.
  ASSERT_EQ(head(), before + 2);
  auto events = journal().read(before + 1, 10);
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), 2u);
  std::set<std::string> streams;
  for (const auto& e : *events) {
    EXPECT_EQ(e.type(), events::PayloadType::MCP);
    EXPECT_EQ(e.recorded_at_micros(), to_micros(kStart + 5s));
    streams.insert(std::string(e.stream_id()));
  }
  EXPECT_EQ(streams, (std::set<std::string>{"mcp/m-1", "mcp/m-2"}));

  for (const auto& [user, id] : std::vector<std::pair<std::string, std::string>>{
           {"user-1", "m-1"}, {"user-2", "m-2"}, {"user-1", "m-3"}}) {
    auto got = mcp().get_instance("default", user, id);
    ASSERT_OK(got);
    EXPECT_EQ(got->tools_cache, std::nullopt) << id;
    EXPECT_EQ(got->tools_filter, std::nullopt) << id;
    EXPECT_EQ(got->updated_at, id == "m-3" ? kStart : kStart + 5s) << id;
    EXPECT_EQ(got->auth_uuid, std::optional<std::string>("auth-1")) << id;
  }
  auto untouched = mcp().get_instance("default", "user-1", "m-4");
  ASSERT_OK(untouched);
  EXPECT_EQ(*untouched, expected_instance(new_instance("m-4", "srv-2", "four", "user-1"), kStart));

  // Nothing left to clear: nothing appended.
  const auto guard = nothing_appended();
  auto again = mcp().clear_instance_tools("default", "srv-1");
  ASSERT_OK(again);
  EXPECT_EQ(*again, 0);
  EXPECT_EQ(head(), before + 2);
  EXPECT_REFUSED(mcp().clear_instance_tools("default", "srv-404"), Code::kNotFound, "");
  EXPECT_REFUSED(mcp().clear_instance_tools("other", "srv-2"), Code::kNotFound, "");
}

// An update racing a clear: each fails only when the other was appended
// between its read and its append, so at least one wins. Whatever happens, the
// clear changed all instances or none, and the target holds whichever of the
// two the journal took last.
TEST_P(McpServerRepositoryTest, ClearInstanceToolsIsAllOrNothingUnderConcurrentUpdates) {
  ASSERT_OK(mcp().create_server("default", new_server("srv-1", "https://a.example")));
  constexpr int kInstances = 8;
  for (int i = 0; i < kInstances; ++i) {
    const std::string id = "m-" + std::to_string(i);
    ASSERT_OK(mcp().create_instance("default", new_instance(id, "srv-1", "s" + id)));
  }
  int clears_refused = 0, updates_refused = 0;
  for (int round = 0; round < 15; ++round) {
    SCOPED_TRACE(round);
    const std::string target = "m-" + std::to_string(round % kInstances);
    auto row = mcp().get_instance("default", "user-1", target);
    ASSERT_OK(row);
    McpInstanceUpdate u = update_of(*row);
    u.tools_cache = R"({"round":)" + std::to_string(round) + "}";
    const uint64_t round_start = head();
    std::barrier start(2);
    Result<int64_t> cleared = Status::internal("not run");
    Result<McpInstance> updated = Status::internal("not run");
    std::thread clearer([&] {
      start.arrive_and_wait();
      cleared = mcp().clear_instance_tools("default", "srv-1");
    });
    std::thread updater([&] {
      start.arrive_and_wait();
      updated = mcp().update_instance("default", "user-1", target, u);
    });
    clearer.join();
    updater.join();
    ASSERT_TRUE(cleared.is_ok() || updated.is_ok());
    if (!cleared.is_ok()) EXPECT_CODE(cleared, Code::kConcurrencyConflict);
    if (!updated.is_ok()) EXPECT_CODE(updated, Code::kConcurrencyConflict);
    clears_refused += cleared.is_ok() ? 0 : 1;
    updates_refused += updated.is_ok() ? 0 : 1;
    bool update_last = !cleared.is_ok();
    auto appended = journal().read(round_start + 1, 100);
    ASSERT_OK(appended);
    for (const auto& e : *appended) {
      if (e.stream_id() == "mcp/" + target) update_last = e.payload().getMcp().isInstanceUpdated();
    }
    for (int i = 0; i < kInstances; ++i) {
      const std::string id = "m-" + std::to_string(i);
      auto now = mcp().get_instance("default", "user-1", id);
      ASSERT_OK(now);
      if (id == target && update_last) {
        EXPECT_EQ(update_of(*now), u) << id;
      } else if (cleared.is_ok()) {
        EXPECT_EQ(now->tools_cache, std::nullopt) << id;
        EXPECT_EQ(now->tools_filter, std::nullopt) << id;
      } else {
        EXPECT_EQ(now->tools_cache, std::optional<std::string>(R"([{"name":"search"}])")) << id;
        EXPECT_EQ(now->tools_filter, std::optional<std::string>(R"(["search"])")) << id;
      }
    }
    if (cleared.is_ok()) {
      EXPECT_EQ(*cleared, kInstances);
    }
    // Give every instance its original tools back for the next round.
    for (int i = 0; i < kInstances; ++i) {
      auto now = mcp().get_instance("default", "user-1", "m-" + std::to_string(i));
      ASSERT_OK(now);
      McpInstanceUpdate back = update_of(*now);
      back.tools_cache = R"([{"name":"search"}])";
      back.tools_filter = R"(["search"])";
      if (back != update_of(*now)) {
        ASSERT_OK(mcp().update_instance("default", "user-1", now->id, back));
      }
    }
  }
  RecordProperty("clears_refused", clears_refused);
  RecordProperty("updates_refused", updates_refused);
}

TEST_P(McpServerRepositoryTest, ConcurrentCreatesOfOneUrlInAnyFormHaveExactlyOneWinner) {
  const std::vector<std::string> variants = {
      "https://race.example/mcp", " HTTPS://RACE.example/mcp", "https://Race.Example/MCP\n",
      "\thttps://race.EXAMPLE/mcp"};
  const int winner = one_winner("mcp_server.url", 8, [&](int t) {
    return mcp()
        .create_server("default",
                       new_server("srv-" + std::to_string(t), variants[t % variants.size()]))
        .status();
  });
  EXPECT_EQ(head(), 1u);
  auto got = mcp().get_server_by_url("default", "https://race.example/mcp");
  ASSERT_OK(got);
  EXPECT_EQ(got->id, "srv-" + std::to_string(winner));
}

TEST_P(McpServerRepositoryTest, ConcurrentUrlChangesOntoOneUrlHaveExactlyOneWinner) {
  constexpr int kThreads = 6;
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_OK(mcp().create_server(
        "default",
        new_server("srv-" + std::to_string(t), "https://" + std::to_string(t) + ".example")));
  }
  const int winner = one_winner("mcp_server.url", kThreads, [&](int t) {
    McpServerUpdate u{t % 2 ? "https://T.example " : " https://t.EXAMPLE", "n", std::nullopt, true,
                      "root"};
    return mcp().update_server("default", "srv-" + std::to_string(t), u).status();
  });
  EXPECT_EQ(head(), static_cast<uint64_t>(kThreads + 1));
  EXPECT_EQ(mcp().get_server_by_url("default", "https://t.example")->id,
            "srv-" + std::to_string(winner));
  for (int t = 0; t < kThreads; ++t) {
    if (t == winner) continue;
    EXPECT_OK(mcp().get_server_by_url("default", "https://" + std::to_string(t) + ".example"));
  }
}

// --- input ------------------------------------------------------------------------------

TEST_P(McpServerRepositoryTest, BadInputIsRefusedNamingTheFieldAndAppendsNothing) {
  ASSERT_OK(mcp().create_server("default", new_server("srv-1", "https://a.example")));
  ASSERT_OK(mcp().create_instance("default", new_instance("m-0", "srv-1", "zero")));
  const auto guard = nothing_appended();
  auto server = [&](std::function<void(NewMcpServer&)> change, std::string org = "default") {
    NewMcpServer s = new_server("srv-2", "https://b.example");
    change(s);
    return mcp().create_server(org, s).status();
  };
  EXPECT_INVALID(server([](auto&) {}, ""), "org_id");
  EXPECT_INVALID(server([](auto& s) { s.id = ""; }), "id");
  EXPECT_INVALID(server([](auto& s) { s.id = "a b"; }), "id");
  EXPECT_INVALID(server([](auto& s) { s.url = ""; }), "url");
  EXPECT_INVALID(server([](auto& s) { s.url = " \t\n "; }), "url");
  EXPECT_INVALID(server([](auto& s) { s.url = std::string(kMaxMcpUrlBytes + 1, 'u'); }), "url");
  EXPECT_INVALID(server([](auto& s) { s.url = "https://\xff"; }), "url");
  EXPECT_INVALID(server([](auto& s) { s.name = ""; }), "name");
  EXPECT_INVALID(server([](auto& s) { s.description = std::string(4097, 'd'); }), "description");
  EXPECT_INVALID(server([](auto& s) { s.created_by = ""; }), "created_by");
  const McpServerUpdate server_update{"https://a.example", "n", std::nullopt, true, "root"};
  auto update_server = [&](std::function<void(McpServerUpdate&)> change) {
    McpServerUpdate u = server_update;
    change(u);
    return mcp().update_server("default", "srv-1", u).status();
  };
  EXPECT_INVALID(update_server([](auto& u) { u.updated_by = ""; }), "updated_by");
  EXPECT_INVALID(update_server([](auto& u) { u.url = "  "; }), "url");
  EXPECT_INVALID(update_server([](auto& u) { u.name = std::string(256, 'n'); }), "name");
  EXPECT_INVALID(mcp().update_server("default", "", server_update), "id");

  auto instance = [&](std::function<void(NewMcpInstance&)> change) {
    NewMcpInstance m = new_instance("m-1", "srv-1", "one");
    change(m);
    return mcp().create_instance("default", m).status();
  };
  EXPECT_INVALID(instance([](auto& m) { m.id = ""; }), "id");
  EXPECT_INVALID(instance([](auto& m) { m.created_by = ""; }), "created_by");
  EXPECT_INVALID(instance([](auto& m) { m.mcp_server_id = ""; }), "mcp_server_id");
  EXPECT_INVALID(instance([](auto& m) { m.name = std::string(256, 'n'); }), "name");
  EXPECT_INVALID(instance([](auto& m) { m.slug = "a/b"; }), "slug");
  EXPECT_INVALID(instance([](auto& m) { m.slug = "x' OR 1=1"; }), "slug");
  EXPECT_INVALID(instance([](auto& m) { m.description = "\xc3"; }), "description");
  EXPECT_INVALID(instance([](auto& m) { m.tools_cache = "{not json"; }), "tools_cache");
  EXPECT_INVALID(instance([](auto& m) { m.tools_cache = ""; }), "tools_cache");
  EXPECT_INVALID(instance([](auto& m) { m.tools_filter = "[1,]"; }), "tools_filter");
  EXPECT_INVALID(
      instance([](auto& m) { m.tools_filter = std::string(kMaxMcpToolsJsonBytes + 1, ' '); }),
      "tools_filter");
  EXPECT_INVALID(instance([](auto& m) { m.auth_type = static_cast<McpAuthType>(7); }), "auth_type");
  EXPECT_INVALID(instance([](auto& m) { m.auth_uuid = "not a uuid!"; }), "auth_uuid");

  const McpInstanceUpdate good{"n",          "zero",       std::nullopt,         true,
                               std::nullopt, std::nullopt, McpAuthType::kPublic, std::nullopt};
  auto update = [&](std::function<void(McpInstanceUpdate&)> change) {
    McpInstanceUpdate u = good;
    change(u);
    return mcp().update_instance("default", "user-1", "m-0", u).status();
  };
  EXPECT_INVALID(update([](auto& u) { u.tools_cache = "nope"; }), "tools_cache");
  EXPECT_INVALID(update([](auto& u) { u.auth_type = static_cast<McpAuthType>(-1); }), "auth_type");
  EXPECT_INVALID(update([](auto& u) { u.slug = ""; }), "slug");
  EXPECT_INVALID(update([](auto& u) { u.name = ""; }), "name");
  EXPECT_INVALID(mcp().update_instance("default", "", "m-0", good), "user_id");
  EXPECT_INVALID(mcp().delete_instance("default", "user-1", ""), "id");
  EXPECT_INVALID(mcp().get_instance("default", "user-1", "m 0"), "id");
  EXPECT_INVALID(mcp().get_instance_by_slug("default", "user-1", ""), "slug");
  EXPECT_INVALID(mcp().list_instances("", "user-1"), "org_id");
  EXPECT_INVALID(mcp().get_server("default", ""), "id");
  EXPECT_INVALID(mcp().get_server_by_url("default", "  "), "url");
  EXPECT_INVALID(mcp().count_instances("default", ""), "server_id");
  EXPECT_INVALID(mcp().clear_instance_tools("default", "a b"), "server_id");
  EXPECT_INVALID(mcp().list_servers("o/x", std::nullopt), "org_id");
  EXPECT_EQ(*mcp().get_instance("default", "user-1", "m-0"),
            expected_instance(new_instance("m-0", "srv-1", "zero"), kStart));
}

TEST_P(McpServerRepositoryTest, FieldsAtTheirLimitsAreAccepted) {
  const std::string org(64, 'o');
  NewMcpServer s{std::string(kMaxMcpIdBytes, 's'),
                 "  " + std::string(kMaxMcpUrlBytes, 'U') + "  ",
                 std::string(kMaxMcpNameBytes, 'n'),
                 std::string(kMaxMcpDescriptionBytes, 'd'),
                 true,
                 std::string(kMaxMcpUserIdBytes, 'a')};
  auto server = mcp().create_server(org, s);
  ASSERT_OK(server);
  EXPECT_EQ(server->url, std::string(kMaxMcpUrlBytes, 'U'));
  EXPECT_EQ(mcp().get_server_by_url(org, std::string(kMaxMcpUrlBytes, 'u'))->id, s.id);

  NewMcpInstance m;
  m.id = std::string(kMaxMcpIdBytes, 'i');
  m.created_by = std::string(kMaxMcpUserIdBytes, 'u');
  m.mcp_server_id = s.id;
  m.name = std::string(kMaxMcpNameBytes, 'n');
  m.slug = std::string(kMaxMcpSlugBytes, 'S');
  m.description = std::string(kMaxMcpDescriptionBytes, 'd');
  m.tools_cache = "\"" + std::string(kMaxMcpToolsJsonBytes - 2, 'c') + "\"";
  m.tools_filter = "[" + std::string(kMaxMcpToolsJsonBytes - 2, ' ') + "]";
  m.auth_uuid = std::string(kMaxMcpAuthUuidBytes, 'a');
  ASSERT_OK(mcp().create_instance(org, m));
  auto got = mcp().get_instance(org, m.created_by, m.id);
  ASSERT_OK(got);
  EXPECT_EQ(*got, expected_instance(m, kStart));
}

TEST_P(McpServerRepositoryTest, HostileTextAndJsonRoundTripByteForByte) {
  const std::vector<std::string> texts = {
      "it's", "\"q\"", "'; DROP TABLE mcps; --", "%", "_", "emoji 🎉", "a\nb", "$1", " padded ", ""};
  const std::vector<std::string> jsons = {R"( { "a" : [1, 2.50, "é"] } )", "null", "\"%\"",
                                          R"([{"q":"'; DROP TABLE mcps;--"}])", "0"};
  int n = 0;
  for (const auto& text : texts) {
    SCOPED_TRACE(text);
    const std::string id = "h" + std::to_string(n);
    NewMcpServer s = new_server("srv-" + id, "https://h.example/" + text + id);
    s.name = text.empty() ? "x" : text;
    s.description = text;
    s.created_by = text.empty() ? "x" : text;
    auto server = mcp().create_server("default", s);
    ASSERT_OK(server);
    EXPECT_EQ(server->url, std::string(trim(s.url)));
    EXPECT_EQ(server->description, s.description);
    EXPECT_EQ(mcp().get_server_by_url("default", s.url)->id, s.id);

    NewMcpInstance m = new_instance("m-" + id, s.id, "slug-" + id, s.created_by);
    m.name = s.name;
    m.description = text;
    m.tools_cache = jsons[n % jsons.size()];
    m.tools_filter = jsons[(n + 1) % jsons.size()];
    ASSERT_OK(mcp().create_instance("default", m));
    auto got = mcp().get_instance("default", m.created_by, m.id);
    ASSERT_OK(got);
    EXPECT_EQ(*got, expected_instance(m, kStart));
    ++n;
  }
}

TEST_P(McpServerRepositoryTest, EverythingSurvivesReopeningTheStore) {
  ASSERT_OK(mcp().create_server("default", new_server("srv-1", "https://a.example")));
  NewMcpInstance m = new_instance("m-1", "srv-1", "Tools");
  ASSERT_OK(mcp().create_instance("default", m));
  const uint64_t before = head();
  open();
  EXPECT_EQ(head(), before);
  EXPECT_EQ(*mcp().get_instance("default", "user-1", "m-1"), expected_instance(m, kStart));
  const auto guard = nothing_appended();
  expect_conflict(mcp().create_server("default", new_server("srv-2", "HTTPS://A.EXAMPLE")).status(),
                  "mcp_server.url", "url still reserved");
  expect_conflict(mcp().create_instance("default", new_instance("m-2", "srv-1", "tools")).status(),
                  "mcp.slug", "slug still reserved");
}

INSTANTIATE_ON_BOTH_BACKENDS(McpServerRepositoryTest);

}  // namespace
}  // namespace annals::repositories
