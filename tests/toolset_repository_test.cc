// ToolsetRepository over a real Store (RocksDB journal; SQLite or PostgreSQL
// read tables) with a frozen clock, so every timestamp is known exactly.
#include "repositories/toolset_repository.h"

#include <capnp/pretty-print.h>
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
#include "repositories/operator.h"
#include "tests/conformance_helpers.h"
#include "tests/test_support.h"

namespace annals {

void PrintTo(Code code, std::ostream* os) { *os << code_name(code); }

namespace repositories {

void PrintTo(const Toolset& t, std::ostream* os) {
  *os << "{id=\"" << t.id << "\", user_id=\"" << t.user_id << "\", type=\"" << t.toolset_type
      << "\", slug=\"" << t.slug
      << "\", description=" << (t.description ? "\"" + *t.description + "\"" : "null")
      << ", enabled=" << t.enabled << ", has_api_key=" << t.has_api_key
      << ", created_at=" << format_timestamp(t.created_at)
      << ", updated_at=" << format_timestamp(t.updated_at) << "}";
}

void PrintTo(const AppToolsetConfig& c, std::ostream* os) {
  *os << "{type=\"" << c.toolset_type << "\", enabled=" << c.enabled << ", updated_by=\""
      << c.updated_by << "\", created_at=" << format_timestamp(c.created_at)
      << ", updated_at=" << format_timestamp(c.updated_at) << "}";
}

namespace {

using namespace std::chrono_literals;
using testing::expect_conflict;
using testing::expect_invalid;
using testing::race;

const Timestamp kStart = from_micros(1'767'225'600'000'000);  // 2026-01-01T00:00:00Z
const Timestamp kEpoch = from_micros(0);

NewToolset new_toolset(std::string id, std::string slug, std::string user = "user-1",
                       std::string type = "builtin-exa-search") {
  NewToolset t;
  t.id = std::move(id);
  t.user_id = std::move(user);
  t.toolset_type = std::move(type);
  t.slug = std::move(slug);
  t.description = "web search";
  t.enabled = true;
  return t;
}

// The row create() should give for `t`, written at `at`.
Toolset expected_row(const NewToolset& t, Timestamp at) {
  return {t.id, t.user_id, t.toolset_type, t.slug, t.description, t.enabled, t.api_key.has_value(),
          at,   at};
}

ToolsetUpdate update_of(const Toolset& t) {
  return {t.slug, t.description, t.enabled, SecretChange::keep()};
}

std::vector<std::string> ids_of(const std::vector<Toolset>& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.id);
  return out;
}

class ToolsetRepositoryTest : public ::testing::TestWithParam<testing::Backend> {
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

  void open(bool with_master_key = true) {
    repo_.reset();
    context_.reset();
    store_.reset();
    StoreOptions options;
    options.data_dir = dir_.path();
    options.database_url = db_->url();
    options.setup_database = true;  // a superuser URL: set it up first
    options.clock = &clock_;
    if (with_master_key) options.master_key = std::string(32, 'k');
    auto store = Store::open(options);
    ASSERT_OK(store);
    store_ = std::move(store).value();
    context_ = std::make_unique<RepositoryContext>(
        store_->internals().journal(), store_->internals().database(),
        store_->internals().projector(), store_->clock(), RepositoryOptions{},
        store_->internals().secrets());
    repo_ = make_toolset_repository(*context_);
  }

  ToolsetRepository& toolsets() { return *repo_; }
  uint64_t head() { return store_->internals().journal().head(); }

  // Every event of the journal, printed with all its fields.
  std::vector<std::string> printed_events() {
    auto events = store_->internals().journal().read(1, 1'000'000);
    EXPECT_OK(events);
    std::vector<std::string> out;
    if (!events.is_ok()) return out;
    for (const auto& e : *events) {
      out.push_back(capnp::prettyPrint(e.envelope()).flatten().cStr());
    }
    return out;
  }

  // Every sealed_api_key of the org's toolsets, read straight from the table.
  std::vector<std::string> stored_sealed_keys(const std::string& org) {
    std::vector<std::string> out;
    auto txn = store_->internals().database().begin(db::Access::kRead);
    EXPECT_OK(txn);
    if (!txn.is_ok()) return out;
    EXPECT_OK((*txn)->set_org(org));
    auto rows = (*txn)->query(
        "SELECT sealed_api_key FROM toolsets WHERE org_id = $1 AND sealed_api_key IS NOT NULL",
        {org});
    EXPECT_OK(rows);
    if (rows.is_ok()) {
      for (const auto& row : *rows) out.push_back(row.text(0));
    }
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::TestDatabase> db_;
  ManualClock clock_{kStart};
  std::unique_ptr<Store> store_;
  std::unique_ptr<RepositoryContext> context_;
  std::unique_ptr<ToolsetRepository> repo_;
};

// --- toolsets ------------------------------------------------------------------

TEST_P(ToolsetRepositoryTest, CreateReturnsTheToolsetStampedWithClockTime) {
  NewToolset t = new_toolset("ts-1", "Exa-Search");
  t.enabled = false;
  t.description.reset();
  auto created = toolsets().create("default", t);
  ASSERT_OK(created);
  EXPECT_EQ(*created, (Toolset{"ts-1", "user-1", "builtin-exa-search", "Exa-Search", std::nullopt,
                               false, false, kStart, kStart}));
  EXPECT_EQ(head(), 1u);
  clock_.advance(1s);
  auto got = toolsets().get("default", "user-1", "ts-1");
  ASSERT_OK(got);
  EXPECT_EQ(*got, *created);
  EXPECT_CODE(toolsets().get("default", "user-2", "ts-1"), Code::kNotFound);
  EXPECT_CODE(toolsets().get("other", "user-1", "ts-1"), Code::kNotFound);
  EXPECT_CODE(toolsets().get("default", "user-1", "ts-404"), Code::kNotFound);
}

TEST_P(ToolsetRepositoryTest, GetBySlugIgnoresAsciiCaseAndStaysWithinUserAndOrg) {
  NewToolset t = new_toolset("ts-1", "Exa-Search_1");
  ASSERT_OK(toolsets().create("default", t));
  for (const std::string slug : {"Exa-Search_1", "exa-search_1", "EXA-SEARCH_1", "eXa-sEaRcH_1"}) {
    auto got = toolsets().get_by_slug("default", "user-1", slug);
    ASSERT_OK(got);
    EXPECT_EQ(*got, expected_row(t, kStart)) << slug;
  }
  EXPECT_CODE(toolsets().get_by_slug("default", "user-1", "exa-search"), Code::kNotFound);
  EXPECT_CODE(toolsets().get_by_slug("default", "user-2", "exa-search_1"), Code::kNotFound);
  EXPECT_CODE(toolsets().get_by_slug("other", "user-1", "exa-search_1"), Code::kNotFound);
}

TEST_P(ToolsetRepositoryTest, SlugIsUniquePerUserIgnoringCaseAndConflictsAppendNothing) {
  ASSERT_OK(toolsets().create("default", new_toolset("ts-1", "Search", "user-1")));
  const uint64_t before = head();
  for (const std::string slug : {"Search", "search", "SEARCH", "sEARCh"}) {
    expect_conflict(toolsets().create("default", new_toolset("ts-2", slug, "user-1")).status(),
                    "toolset.slug", slug);
  }
  EXPECT_EQ(head(), before);
  EXPECT_CODE(toolsets().get("default", "user-1", "ts-2"), Code::kNotFound);
  // Another user, or the same user in another org, may use it.
  EXPECT_OK(toolsets().create("default", new_toolset("ts-2", "SEARCH", "user-2")));
  EXPECT_OK(toolsets().create("other", new_toolset("ts-3", "search", "user-1")));
}

TEST_P(ToolsetRepositoryTest, AnIdIsNeverUsedTwiceEvenAfterADelete) {
  ASSERT_OK(toolsets().create("default", new_toolset("ts-1", "one")));
  const uint64_t before = head();
  expect_conflict(toolsets().create("default", new_toolset("ts-1", "two")).status(), "toolset.id",
                  "same id");
  EXPECT_EQ(head(), before);
  ASSERT_OK(toolsets().remove("default", "user-1", "ts-1"));
  expect_conflict(toolsets().create("default", new_toolset("ts-1", "one")).status(), "toolset.id",
                  "id of a deleted toolset");
  // Ids are per org.
  EXPECT_OK(toolsets().create("other", new_toolset("ts-1", "one")));
}

TEST_P(ToolsetRepositoryTest, UpdateReplacesFieldsAndKeepsTypeUserAndCreatedAt) {
  NewToolset t = new_toolset("ts-1", "search");
  ASSERT_OK(toolsets().create("default", t));
  clock_.advance(30s);
  auto updated = toolsets().update("default", "user-1", "ts-1",
                                   {"Search-2", std::nullopt, false, SecretChange::keep()});
  ASSERT_OK(updated);
  Toolset want{"ts-1", "user-1", "builtin-exa-search", "Search-2", std::nullopt, false,
               false,  kStart,   kStart + 30s};
  EXPECT_EQ(*updated, want);
  EXPECT_EQ(head(), 2u);
  auto got = toolsets().get_by_slug("default", "user-1", "search-2");
  ASSERT_OK(got);
  EXPECT_EQ(*got, want);
  EXPECT_CODE(toolsets().get_by_slug("default", "user-1", "search"), Code::kNotFound);
}

TEST_P(ToolsetRepositoryTest, RenamingFreesTheOldSlugAndClaimsTheNewOne) {
  ASSERT_OK(toolsets().create("default", new_toolset("ts-1", "alpha")));
  ASSERT_OK(toolsets().create("default", new_toolset("ts-2", "beta")));
  auto a = toolsets().get("default", "user-1", "ts-1");
  ASSERT_OK(a);

  // Onto another toolset's slug (any case): conflict, nothing appended.
  const uint64_t before = head();
  ToolsetUpdate onto_beta = update_of(*a);
  onto_beta.slug = "BETA";
  expect_conflict(toolsets().update("default", "user-1", "ts-1", onto_beta).status(),
                  "toolset.slug", "rename onto beta");
  EXPECT_EQ(head(), before);

  // A case-only change of its own slug is no conflict.
  ToolsetUpdate upper = update_of(*a);
  upper.slug = "ALPHA";
  ASSERT_OK(toolsets().update("default", "user-1", "ts-1", upper));

  // A real rename frees the old slug for others.
  ToolsetUpdate gamma = update_of(*a);
  gamma.slug = "gamma";
  ASSERT_OK(toolsets().update("default", "user-1", "ts-1", gamma));
  EXPECT_OK(toolsets().create("default", new_toolset("ts-3", "Alpha")));
  expect_conflict(toolsets().create("default", new_toolset("ts-4", "GAMMA")).status(),
                  "toolset.slug", "the new slug is taken");
}

TEST_P(ToolsetRepositoryTest, UpdateAndRemoveOfAnotherUsersOrMissingToolsetAreNotFound) {
  NewToolset t = new_toolset("ts-1", "search", "user-1");
  ASSERT_OK(toolsets().create("default", t));
  const uint64_t before = head();
  ToolsetUpdate u{"stolen", "x", false, SecretChange::clear()};
  EXPECT_CODE(toolsets().update("default", "user-2", "ts-1", u), Code::kNotFound);
  EXPECT_CODE(toolsets().update("other", "user-1", "ts-1", u), Code::kNotFound);
  EXPECT_CODE(toolsets().update("default", "user-1", "ts-404", u), Code::kNotFound);
  EXPECT_CODE(toolsets().remove("default", "user-2", "ts-1"), Code::kNotFound);
  EXPECT_CODE(toolsets().remove("other", "user-1", "ts-1"), Code::kNotFound);
  EXPECT_CODE(toolsets().remove("default", "user-1", "ts-404"), Code::kNotFound);
  EXPECT_CODE(toolsets().get_api_key("default", "user-2", "ts-1"), Code::kNotFound);
  EXPECT_EQ(head(), before);
  auto got = toolsets().get("default", "user-1", "ts-1");
  ASSERT_OK(got);
  EXPECT_EQ(*got, expected_row(t, kStart));
}

TEST_P(ToolsetRepositoryTest, RemoveDeletesTheToolsetAndFreesItsSlug) {
  ASSERT_OK(toolsets().create("default", new_toolset("ts-1", "Search")));
  ASSERT_OK(toolsets().create("default", new_toolset("ts-2", "other")));
  ASSERT_OK(toolsets().remove("default", "user-1", "ts-1"));
  EXPECT_EQ(head(), 3u);
  EXPECT_CODE(toolsets().get("default", "user-1", "ts-1"), Code::kNotFound);
  EXPECT_CODE(toolsets().get_by_slug("default", "user-1", "search"), Code::kNotFound);
  EXPECT_CODE(toolsets().remove("default", "user-1", "ts-1"), Code::kNotFound);
  auto all = toolsets().list("default", "user-1");
  ASSERT_OK(all);
  EXPECT_EQ(ids_of(*all), std::vector<std::string>{"ts-2"});
  // The slug is free again, in any case.
  EXPECT_OK(toolsets().create("default", new_toolset("ts-3", "SEARCH")));
}

TEST_P(ToolsetRepositoryTest, ListsAreInCreationOrderAndFilterByUserTypeAndOrg) {
  ASSERT_OK(toolsets().create("default", new_toolset("ts-c", "c", "user-1", "type-a")));
  clock_.advance(1s);
  ASSERT_OK(toolsets().create("default", new_toolset("ts-a", "a", "user-1", "type-b")));
  // Same microsecond: creation order still decides.
  ASSERT_OK(toolsets().create("default", new_toolset("ts-b", "b", "user-1", "type-a")));
  ASSERT_OK(toolsets().create("default", new_toolset("ts-u2", "a", "user-2", "type-a")));
  ASSERT_OK(toolsets().create("org-2", new_toolset("ts-o2", "z", "user-1", "type-a")));

  auto all = toolsets().list("default", "user-1");
  ASSERT_OK(all);
  EXPECT_EQ(ids_of(*all), (std::vector<std::string>{"ts-c", "ts-a", "ts-b"}));
  EXPECT_EQ(all->front(), expected_row(new_toolset("ts-c", "c", "user-1", "type-a"), kStart));
  auto type_a = toolsets().list_by_type("default", "user-1", "type-a");
  ASSERT_OK(type_a);
  EXPECT_EQ(ids_of(*type_a), (std::vector<std::string>{"ts-c", "ts-b"}));
  auto none = toolsets().list_by_type("default", "user-1", "type-z");
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
  auto nobody = toolsets().list("default", "nobody");
  ASSERT_OK(nobody);
  EXPECT_TRUE(nobody->empty());
  auto other_org = toolsets().list("org-2", "user-1");
  ASSERT_OK(other_org);
  EXPECT_EQ(ids_of(*other_org), std::vector<std::string>{"ts-o2"});
}

// --- API keys -------------------------------------------------------------------

TEST_P(ToolsetRepositoryTest, ApiKeyIsSealedEverywhereAndOpensOnlyThroughGetApiKey) {
  const std::string plain = "exa-PLAINTEXT-KEY-0123456789";
  NewToolset t = new_toolset("ts-1", "search");
  t.api_key = plain;
  auto created = toolsets().create("default", t);
  ASSERT_OK(created);
  EXPECT_TRUE(created->has_api_key);
  auto key = toolsets().get_api_key("default", "user-1", "ts-1");
  ASSERT_OK(key);
  EXPECT_EQ(*key, std::optional<std::string>(plain));

  auto sealed = stored_sealed_keys("default");
  ASSERT_EQ(sealed.size(), 1u);
  EXPECT_EQ(sealed[0].rfind("v1.", 0), 0u) << sealed[0];
  EXPECT_EQ(sealed[0].find(plain), std::string::npos);
  for (const auto& e : printed_events()) {
    EXPECT_EQ(e.find(plain), std::string::npos) << e;
    EXPECT_NE(e.find(sealed[0]), std::string::npos) << "the event holds the sealed key: " << e;
  }
}

TEST_P(ToolsetRepositoryTest, UpdateKeepsSetsOrClearsTheApiKey) {
  NewToolset t = new_toolset("ts-1", "search");
  t.api_key = "key-one";
  ASSERT_OK(toolsets().create("default", t));
  auto row = toolsets().get("default", "user-1", "ts-1");
  ASSERT_OK(row);

  ToolsetUpdate u = update_of(*row);
  u.description = "kept";
  auto kept = toolsets().update("default", "user-1", "ts-1", u);
  ASSERT_OK(kept);
  EXPECT_TRUE(kept->has_api_key);
  EXPECT_EQ(*toolsets().get_api_key("default", "user-1", "ts-1"),
            std::optional<std::string>("key-one"));

  u.api_key = SecretChange::set("key-TWO-secret");
  auto set = toolsets().update("default", "user-1", "ts-1", u);
  ASSERT_OK(set);
  EXPECT_TRUE(set->has_api_key);
  EXPECT_EQ(*toolsets().get_api_key("default", "user-1", "ts-1"),
            std::optional<std::string>("key-TWO-secret"));

  u.api_key = SecretChange::clear();
  auto cleared = toolsets().update("default", "user-1", "ts-1", u);
  ASSERT_OK(cleared);
  EXPECT_FALSE(cleared->has_api_key);
  EXPECT_EQ(*toolsets().get_api_key("default", "user-1", "ts-1"), std::nullopt);
  EXPECT_TRUE(stored_sealed_keys("default").empty());

  // Setting a key on a toolset that had none.
  u.api_key = SecretChange::set("key-three");
  ASSERT_OK(toolsets().update("default", "user-1", "ts-1", u));
  EXPECT_EQ(*toolsets().get_api_key("default", "user-1", "ts-1"),
            std::optional<std::string>("key-three"));
  for (const auto& e : printed_events()) {
    for (const std::string plain : {"key-one", "key-TWO-secret", "key-three"}) {
      EXPECT_EQ(e.find(plain), std::string::npos) << e;
    }
  }
  EXPECT_EQ(head(), 5u);
}

TEST_P(ToolsetRepositoryTest, ASealedKeyDoesNotOpenForAnotherToolsetOrOrg) {
  NewToolset a = new_toolset("ts-a", "a");
  a.api_key = "key-a";
  ASSERT_OK(toolsets().create("org-1", a));
  NewToolset x = new_toolset("ts-x", "x");
  x.api_key = "key-x";
  ASSERT_OK(toolsets().create("org-2", x));
  auto sealed = stored_sealed_keys("org-1");
  ASSERT_EQ(sealed.size(), 1u);
  auto* secrets = store_->internals().secrets();
  ASSERT_NE(secrets, nullptr);
  auto opened = secrets->open("org-1", "toolsets.api_key/ts-a", sealed[0]);
  ASSERT_OK(opened);
  EXPECT_EQ(*opened, "key-a");
  EXPECT_CODE(secrets->open("org-1", "toolsets.api_key/ts-b", sealed[0]), Code::kCorruption);
  EXPECT_CODE(secrets->open("org-2", "toolsets.api_key/ts-a", sealed[0]), Code::kCorruption);
}

TEST_P(ToolsetRepositoryTest, ApiKeysNeedAMasterKeyButPlainToolsetsDoNot) {
  open(/*with_master_key=*/false);
  NewToolset t = new_toolset("ts-1", "search");
  t.api_key = "secret";
  EXPECT_INVALID(toolsets().create("default", t), "master_key");
  EXPECT_EQ(head(), 0u);
  t.api_key.reset();
  ASSERT_OK(toolsets().create("default", t));
  EXPECT_EQ(*toolsets().get_api_key("default", "user-1", "ts-1"), std::nullopt);
  ToolsetUpdate u{"search", std::nullopt, true, SecretChange::set("secret")};
  EXPECT_INVALID(toolsets().update("default", "user-1", "ts-1", u), "master_key");
  EXPECT_EQ(head(), 1u);
}

// --- input -------------------------------------------------------------------------

TEST_P(ToolsetRepositoryTest, BadInputIsRefusedNamingTheFieldAndAppendsNothing) {
  ASSERT_OK(toolsets().create("default", new_toolset("ts-0", "zero")));
  const uint64_t before = head();
  struct Case {
    std::string what;
    std::string org;
    std::function<void(NewToolset&)> change;
    std::string field;
  };
  auto keep = [](NewToolset&) {};
  const std::vector<Case> cases = {
      {"empty org", "", keep, "org_id"},
      {"org with SQL", "o'; DROP TABLE toolsets;--", keep, "org_id"},
      {"empty id", "default", [](NewToolset& t) { t.id = ""; }, "id"},
      {"65-byte id", "default", [](NewToolset& t) { t.id = std::string(65, 'i'); }, "id"},
      {"id with quote", "default", [](NewToolset& t) { t.id = "ts'1"; }, "id"},
      {"empty user", "default", [](NewToolset& t) { t.user_id = ""; }, "user_id"},
      {"256-byte user", "default", [](NewToolset& t) { t.user_id = std::string(256, 'u'); },
       "user_id"},
      {"user not UTF-8", "default", [](NewToolset& t) { t.user_id = "\xff"; }, "user_id"},
      {"empty type", "default", [](NewToolset& t) { t.toolset_type = ""; }, "toolset_type"},
      {"type with space", "default", [](NewToolset& t) { t.toolset_type = "a b"; }, "toolset_type"},
      {"empty slug", "default", [](NewToolset& t) { t.slug = ""; }, "slug"},
      {"65-byte slug", "default", [](NewToolset& t) { t.slug = std::string(65, 's'); }, "slug"},
      {"slug with slash", "default", [](NewToolset& t) { t.slug = "a/b"; }, "slug"},
      {"slug with %", "default", [](NewToolset& t) { t.slug = "a%"; }, "slug"},
      {"slug non-ASCII", "default", [](NewToolset& t) { t.slug = "s\xc3\xa9"; }, "slug"},
      {"4097-byte description", "default",
       [](NewToolset& t) { t.description = std::string(4097, 'd'); }, "description"},
      {"description with NUL", "default",
       [](NewToolset& t) { t.description = std::string("a\0b", 3); }, "description"},
      {"empty api key", "default", [](NewToolset& t) { t.api_key = ""; }, "api_key"},
      {"4097-byte api key", "default", [](NewToolset& t) { t.api_key = std::string(4097, 'k'); },
       "api_key"},
      {"api key not UTF-8", "default", [](NewToolset& t) { t.api_key = "\xc3"; }, "api_key"},
  };
  for (const auto& c : cases) {
    NewToolset t = new_toolset("ts-1", "one");
    c.change(t);
    expect_invalid(toolsets().create(c.org, t).status(), c.field, "create " + c.what);
    EXPECT_EQ(head(), before) << c.what;
  }

  ToolsetUpdate good{"zero", std::nullopt, true, SecretChange::keep()};
  auto upd = [&](std::string org, std::string user, std::string id, ToolsetUpdate u) {
    return toolsets().update(org, user, id, u).status();
  };
  EXPECT_INVALID(upd("", "user-1", "ts-0", good), "org_id");
  EXPECT_INVALID(upd("default", "", "ts-0", good), "user_id");
  EXPECT_INVALID(upd("default", "user-1", "", good), "id");
  ToolsetUpdate bad = good;
  bad.slug = "bad slug";
  EXPECT_INVALID(upd("default", "user-1", "ts-0", bad), "slug");
  bad = good;
  bad.description = "\xff";
  EXPECT_INVALID(upd("default", "user-1", "ts-0", bad), "description");
  bad = good;
  bad.api_key = SecretChange::set("");
  EXPECT_INVALID(upd("default", "user-1", "ts-0", bad), "api_key");
  bad = good;
  bad.api_key.action = static_cast<SecretChange::Action>(7);
  EXPECT_INVALID(upd("default", "user-1", "ts-0", bad), "api_key");
  EXPECT_EQ(head(), before);

  EXPECT_INVALID(toolsets().get("a/b", "user-1", "ts-0"), "org_id");
  EXPECT_INVALID(toolsets().get("default", "", "ts-0"), "user_id");
  EXPECT_INVALID(toolsets().get("default", "user-1", "ts 0"), "id");
  EXPECT_INVALID(toolsets().get_by_slug("default", "user-1", "x' OR '1'='1"), "slug");
  EXPECT_INVALID(toolsets().list("default", ""), "user_id");
  EXPECT_INVALID(toolsets().list_by_type("default", "user-1", ""), "toolset_type");
  EXPECT_INVALID(toolsets().remove("default", "user-1", ""), "id");
  EXPECT_INVALID(toolsets().get_api_key("", "user-1", "ts-0"), "org_id");
  EXPECT_EQ(head(), before);
}

TEST_P(ToolsetRepositoryTest, FieldsAtTheirLimitsAndHostileTextRoundTrip) {
  NewToolset t;
  t.id = std::string(kMaxToolsetIdBytes, 'i');
  t.user_id = std::string(kMaxToolsetUserIdBytes, 'u');
  t.toolset_type = std::string(kMaxToolsetTypeBytes, 't');
  t.slug = std::string(kMaxToolsetSlugBytes, 'S');
  t.description = std::string(kMaxToolsetDescriptionBytes, 'd');
  t.api_key = std::string(kMaxToolsetApiKeyBytes, 'k');
  auto created = toolsets().create(std::string(64, 'o'), t);
  ASSERT_OK(created);
  EXPECT_EQ(*created, expected_row(t, kStart));
  EXPECT_EQ(*toolsets().get_api_key(std::string(64, 'o'), t.user_id, t.id), t.api_key);

  const std::vector<std::string> hostile = {
      "",         "it's", "\"q\"",   "'; DROP TABLE toolsets; --", "%", "_", "emoji 🎉",
      "a\nb\r\n", "$1",   " padded "};
  int n = 0;
  for (const auto& text : hostile) {
    NewToolset h = new_toolset("h-" + std::to_string(n), "h" + std::to_string(n), text);
    if (text.empty()) h.user_id = "user";
    h.description = text;
    h.api_key = text.empty() ? "k" : text;
    SCOPED_TRACE(text);
    ASSERT_OK(toolsets().create("default", h));
    auto got = toolsets().get("default", h.user_id, h.id);
    ASSERT_OK(got);
    EXPECT_EQ(*got, expected_row(h, kStart));
    EXPECT_EQ(*toolsets().get_api_key("default", h.user_id, h.id), h.api_key);
    ++n;
  }
}

// --- concurrency ------------------------------------------------------------------------

TEST_P(ToolsetRepositoryTest, ConcurrentCreatesOfOneSlugInAnyCaseHaveExactlyOneWinner) {
  const std::vector<std::string> variants = {"Search", "search", "SEARCH", "sEaRcH"};
  auto winners = race("toolset.slug", 8, [&](int t) {
    return toolsets()
        .create("default", new_toolset("ts-" + std::to_string(t), variants[t % variants.size()]))
        .status();
  });
  ASSERT_EQ(winners.size(), 1u);
  EXPECT_EQ(head(), 1u);
  auto got = toolsets().get_by_slug("default", "user-1", "SEARCH");
  ASSERT_OK(got);
  EXPECT_EQ(got->id, "ts-" + std::to_string(winners.front()));
}

TEST_P(ToolsetRepositoryTest, ConcurrentRenamesOntoOneSlugHaveExactlyOneWinner) {
  constexpr int kThreads = 6;
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_OK(toolsets().create(
        "default", new_toolset("ts-" + std::to_string(t), "slug-" + std::to_string(t))));
  }
  auto winners = race("toolset.slug", kThreads, [&](int t) {
    ToolsetUpdate u{t % 2 ? "Target" : "TARGET", std::nullopt, true, SecretChange::keep()};
    return toolsets().update("default", "user-1", "ts-" + std::to_string(t), u).status();
  });
  ASSERT_EQ(winners.size(), 1u);
  EXPECT_EQ(head(), static_cast<uint64_t>(kThreads + 1));
  auto got = toolsets().get_by_slug("default", "user-1", "target");
  ASSERT_OK(got);
  EXPECT_EQ(got->id, "ts-" + std::to_string(winners.front()));
  // The losers kept their slugs.
  for (int t = 0; t < kThreads; ++t) {
    if (t == winners.front()) continue;
    EXPECT_OK(toolsets().get_by_slug("default", "user-1", "slug-" + std::to_string(t)));
  }
}

TEST_P(ToolsetRepositoryTest, ConcurrentUpdatesOfOneToolsetSucceedOrAskForARetry) {
  ASSERT_OK(toolsets().create("default", new_toolset("ts-1", "search")));
  constexpr int kThreads = 2;
  constexpr int kRounds = 30;
  std::barrier round(kThreads);
  std::mutex mu;
  std::vector<std::string> succeeded, unexpected;
  int retryable = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        const std::string description = "t" + std::to_string(t) + "-" + std::to_string(i);
        ToolsetUpdate u{"search", description, true, SecretChange::keep()};
        round.arrive_and_wait();
        auto r = toolsets().update("default", "user-1", "ts-1", u);
        std::lock_guard lock(mu);
        if (r.is_ok()) {
          succeeded.push_back(description);
        } else if (r.status().code() == Code::kConcurrencyConflict && r.status().retryable()) {
          ++retryable;
        } else {
          unexpected.push_back(description + ": " + r.status().to_string());
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& u : unexpected) ADD_FAILURE() << u;
  EXPECT_EQ(static_cast<int>(succeeded.size()) + retryable, kThreads * kRounds);
  EXPECT_GE(succeeded.size(), static_cast<size_t>(kRounds));
  EXPECT_EQ(head(), 1 + succeeded.size());
  auto row = toolsets().get("default", "user-1", "ts-1");
  ASSERT_OK(row);
  ASSERT_TRUE(row->description.has_value());
  // The row holds the update the journal took last.
  auto events = store_->internals().journal().read(head(), 1);
  ASSERT_OK(events);
  auto last = events->front().payload().getToolset().getToolsetUpdated();
  EXPECT_EQ(*row->description, std::string(events::Event::view(last.getDescription().getValue())));
}

// --- app toolset configs ----------------------------------------------------------------

TEST_P(ToolsetRepositoryTest, AFreshOrgHasTheBuiltinDefaultWithoutAnyWrite) {
  auto all = toolsets().list_app_configs("fresh");
  ASSERT_OK(all);
  const AppToolsetConfig builtin{"builtin-exa-search", false, "system", kEpoch, kEpoch};
  EXPECT_EQ(*all, std::vector<AppToolsetConfig>{builtin});
  auto got = toolsets().get_app_config("fresh", "builtin-exa-search");
  ASSERT_OK(got);
  EXPECT_EQ(*got, builtin);
  EXPECT_CODE(toolsets().get_app_config("fresh", "builtin-other"), Code::kNotFound);
  EXPECT_CODE(toolsets().get_app_config("fresh", "BUILTIN-EXA-SEARCH"), Code::kNotFound);
  EXPECT_EQ(head(), 0u);
}

TEST_P(ToolsetRepositoryTest, SetAppEnabledUpsertsAndCreatedAtSurvives) {
  auto first = toolsets().set_app_enabled("default", "builtin-exa-search", true, "admin-1");
  ASSERT_OK(first);
  EXPECT_EQ(*first, (AppToolsetConfig{"builtin-exa-search", true, "admin-1", kStart, kStart}));
  clock_.advance(10s);
  auto second = toolsets().set_app_enabled("default", "builtin-exa-search", false, "admin-2");
  ASSERT_OK(second);
  const AppToolsetConfig want{"builtin-exa-search", false, "admin-2", kStart, kStart + 10s};
  EXPECT_EQ(*second, want);
  EXPECT_EQ(head(), 2u);
  auto got = toolsets().get_app_config("default", "builtin-exa-search");
  ASSERT_OK(got);
  EXPECT_EQ(*got, want);
  auto all = toolsets().list_app_configs("default");
  ASSERT_OK(all);
  EXPECT_EQ(*all, std::vector<AppToolsetConfig>{want});
  // Another org still has the default.
  auto other = toolsets().get_app_config("other", "builtin-exa-search");
  ASSERT_OK(other);
  EXPECT_FALSE(other->enabled);
  EXPECT_EQ(other->updated_by, "system");
}

TEST_P(ToolsetRepositoryTest, ListConfigsIsOrderedByTypeWithTheBuiltinDefaultInPlace) {
  ASSERT_OK(toolsets().set_app_enabled("default", "zeta", true, "admin"));
  clock_.advance(1s);
  ASSERT_OK(toolsets().set_app_enabled("default", "alpha", false, "admin"));
  ASSERT_OK(toolsets().set_app_enabled("default", "builtin-a", true, "admin"));
  ASSERT_OK(toolsets().set_app_enabled("other", "middle", true, "admin"));
  auto all = toolsets().list_app_configs("default");
  ASSERT_OK(all);
  EXPECT_EQ(*all, (std::vector<AppToolsetConfig>{
                      {"alpha", false, "admin", kStart + 1s, kStart + 1s},
                      {"builtin-a", true, "admin", kStart + 1s, kStart + 1s},
                      {"builtin-exa-search", false, "system", kEpoch, kEpoch},
                      {"zeta", true, "admin", kStart, kStart},
                  }));
  auto set = toolsets().get_app_config("default", "zeta");
  ASSERT_OK(set);
  EXPECT_TRUE(set->enabled);
  EXPECT_CODE(toolsets().get_app_config("default", "middle"), Code::kNotFound);
}

TEST_P(ToolsetRepositoryTest, AppConfigInputIsValidated) {
  EXPECT_INVALID(toolsets().set_app_enabled("", "t", true, "a"), "org_id");
  EXPECT_INVALID(toolsets().set_app_enabled("default", "", true, "a"), "toolset_type");
  EXPECT_INVALID(toolsets().set_app_enabled("default", "a b", true, "a"), "toolset_type");
  EXPECT_INVALID(toolsets().set_app_enabled("default", "t", true, ""), "updated_by");
  EXPECT_INVALID(toolsets().set_app_enabled("default", "t", true, std::string(256, 'a')),
                 "updated_by");
  EXPECT_INVALID(toolsets().list_app_configs("a/b"), "org_id");
  EXPECT_INVALID(toolsets().get_app_config("default", "x'--"), "toolset_type");
  EXPECT_EQ(head(), 0u);
}

TEST_P(ToolsetRepositoryTest, EverythingSurvivesReopeningTheStore) {
  NewToolset t = new_toolset("ts-1", "Search");
  t.api_key = "persisted-key";
  ASSERT_OK(toolsets().create("default", t));
  ASSERT_OK(toolsets().set_app_enabled("default", "builtin-exa-search", true, "admin"));
  const uint64_t before = head();
  open();
  EXPECT_EQ(head(), before);
  auto got = toolsets().get("default", "user-1", "ts-1");
  ASSERT_OK(got);
  EXPECT_EQ(*got, expected_row(t, kStart));
  EXPECT_EQ(*toolsets().get_api_key("default", "user-1", "ts-1"),
            std::optional<std::string>("persisted-key"));
  expect_conflict(toolsets().create("default", new_toolset("ts-2", "SEARCH")).status(),
                  "toolset.slug", "slug still reserved");
  auto config = toolsets().get_app_config("default", "builtin-exa-search");
  ASSERT_OK(config);
  EXPECT_TRUE(config->enabled);
}

INSTANTIATE_TEST_SUITE_P(Backends, ToolsetRepositoryTest,
                         ::testing::Values(testing::Backend::kSqlite, testing::Backend::kPostgres),
                         testing::BackendName);

}  // namespace
}  // namespace repositories
}  // namespace annals
