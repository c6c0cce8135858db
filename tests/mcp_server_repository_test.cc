// McpServerRepository (MCP servers and instances) over a real Store (RocksDB
// journal; SQLite or PostgreSQL read tables) with a frozen clock.
#include <gtest/gtest.h>

#include <barrier>
#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "annals/clock.h"
#include "annals/status.h"
#include "repositories/common.h"
#include "repositories/mcp_repository.h"
#include "repositories/operator.h"
#include "tests/conformance_helpers.h"
#include "tests/test_support.h"

namespace annals {

void PrintTo(Code code, std::ostream* os) { *os << code_name(code); }

namespace repositories {

namespace {
std::string opt(const std::optional<std::string>& v) { return v ? "\"" + *v + "\"" : "null"; }
}  // namespace

void PrintTo(const McpServer& s, std::ostream* os) {
  *os << "{id=\"" << s.id << "\", url=\"" << s.url << "\", name=\"" << s.name
      << "\", description=" << opt(s.description) << ", enabled=" << s.enabled << ", created_by=\""
      << s.created_by << "\", updated_by=\"" << s.updated_by
      << "\", created_at=" << format_timestamp(s.created_at)
      << ", updated_at=" << format_timestamp(s.updated_at) << "}";
}

void PrintTo(const McpInstance& m, std::ostream* os) {
  *os << "{id=\"" << m.id << "\", created_by=\"" << m.created_by << "\", server=\""
      << m.mcp_server_id << "\", name=\"" << m.name << "\", slug=\"" << m.slug
      << "\", description=" << opt(m.description) << ", enabled=" << m.enabled
      << ", tools_cache=" << opt(m.tools_cache) << ", tools_filter=" << opt(m.tools_filter)
      << ", auth_type=" << mcp_auth_type_name(m.auth_type) << ", auth_uuid=" << opt(m.auth_uuid)
      << ", created_at=" << format_timestamp(m.created_at)
      << ", updated_at=" << format_timestamp(m.updated_at) << "}";
}

namespace {

using namespace std::chrono_literals;
using testing::expect_conflict;
using testing::expect_invalid;
using testing::race;

const Timestamp kStart = from_micros(1'767'225'600'000'000);  // 2026-01-01T00:00:00Z

NewMcpServer new_server(std::string id, std::string url) {
  return {std::move(id), std::move(url), "Server", "an MCP server", true, "admin"};
}

NewMcpInstance new_instance(std::string id, std::string server, std::string slug,
                            std::string user = "user-1") {
  NewMcpInstance m;
  m.id = std::move(id);
  m.created_by = std::move(user);
  m.mcp_server_id = std::move(server);
  m.name = "My MCP";
  m.slug = std::move(slug);
  m.description = "tools";
  m.tools_cache = R"([{"name":"search"}])";
  m.tools_filter = R"(["search"])";
  m.auth_type = McpAuthType::kHeader;
  m.auth_uuid = "auth-1";
  return m;
}

McpInstance expected_instance(const NewMcpInstance& m, Timestamp at) {
  return {m.id,      m.created_by,  m.mcp_server_id, m.name,      m.slug,      m.description,
          m.enabled, m.tools_cache, m.tools_filter,  m.auth_type, m.auth_uuid, at,
          at};
}

McpInstanceUpdate update_of(const McpInstance& m) {
  return {m.name,        m.slug,         m.description, m.enabled,
          m.tools_cache, m.tools_filter, m.auth_type,   m.auth_uuid};
}

std::vector<std::string> ids_of(const std::vector<McpServer>& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.id);
  return out;
}
std::vector<std::string> ids_of(const std::vector<McpInstanceWithServer>& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.instance.id);
  return out;
}

class McpServerRepositoryTest : public ::testing::TestWithParam<testing::Backend> {
 protected:
  void SetUp() override {
    ANNALS_SETUP_BACKEND(db_, GetParam(), dir_);
    open();
  }

  void TearDown() override {
    if (store_)
      annals::testing::expect_reservations_follow_the_events(store_->internals().journal());
    close();
  }

  void close() {
    repo_.reset();
    context_.reset();
    store_.reset();
  }

  void open() {
    close();
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
    repo_ = make_mcp_server_repository(*context_);
  }

  McpServerRepository& mcp() { return *repo_; }
  uint64_t head() { return store_->internals().journal().head(); }

  testing::TempDir dir_;
  std::unique_ptr<testing::TestDatabase> db_;
  ManualClock clock_{kStart};
  std::unique_ptr<Store> store_;
  std::unique_ptr<RepositoryContext> context_;
  std::unique_ptr<McpServerRepository> repo_;
};

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
  const uint64_t before = head();
  for (const std::string url : {"https://example.com/mcp", "HTTPS://Example.COM/mcp",
                                "  https://example.com/mcp  ", "\nhttps://EXAMPLE.com/mcp\t"}) {
    expect_conflict(mcp().create_server("default", new_server("srv-2", url)).status(),
                    "mcp_server.url", url);
  }
  EXPECT_EQ(head(), before);
  EXPECT_CODE(mcp().get_server("default", "srv-2"), Code::kNotFound);
  expect_conflict(mcp().create_server("default", new_server("srv-1", "https://b.example")).status(),
                  "mcp_server.id", "same id");
  EXPECT_EQ(head(), before);
  // Another org has its own allow-list.
  EXPECT_OK(mcp().create_server("other", new_server("srv-2", "https://EXAMPLE.com/mcp")));
}

TEST_P(McpServerRepositoryTest, UpdateServerReplacesFieldsAndMovesTheUrlReservation) {
  ASSERT_OK(mcp().create_server("default", new_server("srv-1", "https://a.example")));
  ASSERT_OK(mcp().create_server("default", new_server("srv-2", "https://b.example")));
  clock_.advance(20s);
  const uint64_t before = head();
  expect_conflict(mcp()
                      .update_server("default", "srv-1",
                                     {" HTTPS://B.example ", "Server", std::nullopt, true, "root"})
                      .status(),
                  "mcp_server.url", "onto srv-2's url");
  EXPECT_EQ(head(), before);

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
  auto events = store_->internals().journal().read(before + 1, 10);
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
  auto again = mcp().clear_instance_tools("default", "srv-1");
  ASSERT_OK(again);
  EXPECT_EQ(*again, 0);
  EXPECT_EQ(head(), before + 2);
  EXPECT_CODE(mcp().clear_instance_tools("default", "srv-404"), Code::kNotFound);
  EXPECT_CODE(mcp().clear_instance_tools("other", "srv-2"), Code::kNotFound);
  EXPECT_EQ(head(), before + 2);
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
    auto appended = store_->internals().journal().read(round_start + 1, 100);
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
  auto winners = race("mcp_server.url", 8, [&](int t) {
    return mcp()
        .create_server("default",
                       new_server("srv-" + std::to_string(t), variants[t % variants.size()]))
        .status();
  });
  ASSERT_EQ(winners.size(), 1u);
  EXPECT_EQ(head(), 1u);
  auto got = mcp().get_server_by_url("default", "https://race.example/mcp");
  ASSERT_OK(got);
  EXPECT_EQ(got->id, "srv-" + std::to_string(winners.front()));
}

TEST_P(McpServerRepositoryTest, ConcurrentUrlChangesOntoOneUrlHaveExactlyOneWinner) {
  constexpr int kThreads = 6;
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_OK(mcp().create_server(
        "default",
        new_server("srv-" + std::to_string(t), "https://" + std::to_string(t) + ".example")));
  }
  auto winners = race("mcp_server.url", kThreads, [&](int t) {
    McpServerUpdate u{t % 2 ? "https://T.example " : " https://t.EXAMPLE", "n", std::nullopt, true,
                      "root"};
    return mcp().update_server("default", "srv-" + std::to_string(t), u).status();
  });
  ASSERT_EQ(winners.size(), 1u);
  EXPECT_EQ(head(), static_cast<uint64_t>(kThreads + 1));
  EXPECT_EQ(mcp().get_server_by_url("default", "https://t.example")->id,
            "srv-" + std::to_string(winners.front()));
  for (int t = 0; t < kThreads; ++t) {
    if (t == winners.front()) continue;
    EXPECT_OK(mcp().get_server_by_url("default", "https://" + std::to_string(t) + ".example"));
  }
}

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
  const uint64_t before = head();
  for (const std::string server : {"srv-404", "srv-other"}) {
    auto r = mcp().create_instance("default", new_instance("m-1", server, "slug"));
    EXPECT_EQ(r.status().code(), Code::kNotFound) << r.status().to_string();
    EXPECT_NE(r.status().message().find("mcp_server_id"), std::string::npos)
        << r.status().to_string();
  }
  EXPECT_EQ(head(), before);
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
  const uint64_t before = head();
  for (const std::string slug : {"Tools", "tools", "TOOLS"}) {
    expect_conflict(mcp().create_instance("default", new_instance("m-2", "srv-1", slug)).status(),
                    "mcp.slug", slug);
  }
  expect_conflict(mcp().create_instance("default", new_instance("m-1", "srv-1", "fresh")).status(),
                  "mcp.id", "same id");
  EXPECT_EQ(head(), before);
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

  const uint64_t before = head();
  McpInstanceUpdate onto_beta = u;
  onto_beta.slug = "BETA";
  expect_conflict(mcp().update_instance("default", "user-1", "m-1", onto_beta).status(), "mcp.slug",
                  "onto beta");
  EXPECT_CODE(mcp().update_instance("default", "user-2", "m-1", u), Code::kNotFound);
  EXPECT_CODE(mcp().update_instance("other", "user-1", "m-1", u), Code::kNotFound);
  EXPECT_CODE(mcp().update_instance("default", "user-1", "m-404", u), Code::kNotFound);
  EXPECT_EQ(head(), before);
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
  EXPECT_CODE(mcp().delete_instance("default", "user-2", "m-1"), Code::kNotFound);
  EXPECT_CODE(mcp().delete_instance("other", "user-1", "m-1"), Code::kNotFound);
  EXPECT_EQ(head(), before);
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
  auto winners = race("mcp.slug", 8, [&](int t) {
    return mcp()
        .create_instance("default", new_instance("m-" + std::to_string(t), "srv-1",
                                                 variants[t % variants.size()]))
        .status();
  });
  ASSERT_EQ(winners.size(), 1u);
  EXPECT_EQ(head(), 2u);
  EXPECT_EQ(mcp().get_instance_by_slug("default", "user-1", "race")->id,
            "m-" + std::to_string(winners.front()));
}

// --- input ------------------------------------------------------------------------------

TEST_P(McpServerRepositoryTest, BadInputIsRefusedNamingTheFieldAndAppendsNothing) {
  ASSERT_OK(mcp().create_server("default", new_server("srv-1", "https://a.example")));
  ASSERT_OK(mcp().create_instance("default", new_instance("m-0", "srv-1", "zero")));
  const uint64_t before = head();
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
  EXPECT_EQ(head(), before);
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
  expect_conflict(mcp().create_server("default", new_server("srv-2", "HTTPS://A.EXAMPLE")).status(),
                  "mcp_server.url", "url still reserved");
  expect_conflict(mcp().create_instance("default", new_instance("m-2", "srv-1", "tools")).status(),
                  "mcp.slug", "slug still reserved");
  EXPECT_EQ(head(), before);
}

INSTANTIATE_TEST_SUITE_P(Backends, McpServerRepositoryTest,
                         ::testing::Values(testing::Backend::kSqlite, testing::Backend::kPostgres),
                         testing::BackendName);

}  // namespace
}  // namespace repositories
}  // namespace annals
