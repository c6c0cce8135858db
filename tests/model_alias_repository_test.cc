// ModelRepository, API model aliases: over a real Store (RocksDB journal;
// SQLite, or PostgreSQL under row-level security) with a frozen clock and a
// master key, so API keys are sealed for real.
#include <capnp/message.h>
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
#include "repositories/model_repository.h"
#include "repositories/operator.h"
#include "tests/test_support.h"

namespace annals {

void PrintTo(Code code, std::ostream* os) { *os << code_name(code); }

namespace repositories {

void PrintTo(const ApiModelAlias& a, std::ostream* os) {
  *os << "{id=\"" << a.id << "\", api_format=\"" << a.api_format << "\", base_url=\"" << a.base_url
      << "\", models=" << a.models << ", prefix=" << (a.prefix ? "\"" + *a.prefix + "\"" : "null")
      << ", forward_all_with_prefix=" << a.forward_all_with_prefix
      << ", models_cache=" << a.models_cache.value_or("null")
      << ", cache_fetched_at=" << format_timestamp(a.cache_fetched_at)
      << ", has_api_key=" << a.has_api_key << ", created_at=" << format_timestamp(a.created_at)
      << ", updated_at=" << format_timestamp(a.updated_at) << "}";
}

namespace {

using namespace std::chrono_literals;

const Timestamp kStart = from_micros(1'767'225'600'000'000);  // 2026-01-01T00:00:00Z
const Timestamp kEpoch = from_micros(0);
const std::string kKey = "sk-live-PLAINTEXT-0123456789abcdef";

NewApiModelAlias new_alias(std::string id, std::optional<std::string> prefix = std::nullopt,
                           std::optional<std::string> key = std::nullopt) {
  NewApiModelAlias a;
  a.id = std::move(id);
  a.api_format = "openai";
  a.base_url = "https://api.openai.com/v1";
  a.models = R"(["gpt-4o", "gpt-4o-mini"])";
  a.prefix = std::move(prefix);
  a.api_key = std::move(key);
  return a;
}

ApiModelAlias expected_row(const NewApiModelAlias& a, Timestamp at) {
  return {a.id,
          a.api_format,
          a.base_url,
          a.models,
          a.prefix,
          a.forward_all_with_prefix,
          std::nullopt,
          kEpoch,
          a.api_key.has_value(),
          at,
          at};
}

ApiModelAliasUpdate update_of(const NewApiModelAlias& a, SecretChange key = SecretChange::keep()) {
  return {a.api_format, a.base_url, a.models, a.prefix, a.forward_all_with_prefix, std::move(key)};
}

std::vector<std::string> ids_of(const std::vector<ApiModelAlias>& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.id);
  return out;
}

class ModelAliasRepositoryTest : public ::testing::TestWithParam<testing::Backend> {
 protected:
  void SetUp() override {
    ANNALS_SETUP_BACKEND(db_, GetParam(), dir_);
    open(std::string(32, 'k'));
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

  void open(const std::string& master_key) {
    close();
    StoreOptions options;
    options.data_dir = dir_.path();
    options.database_url = db_->url();
    options.setup_database = true;  // a superuser URL: set it up first
    options.clock = &clock_;
    options.master_key = master_key;
    auto store = Store::open(options);
    ASSERT_OK(store);
    store_ = std::move(store).value();
    context_ = std::make_unique<RepositoryContext>(
        store_->internals().journal(), store_->internals().database(),
        store_->internals().projector(), store_->clock(), RepositoryOptions{},
        store_->internals().secrets());
    repo_ = make_model_repository(*context_);
  }

  ModelRepository& models() { return *repo_; }
  uint64_t head() { return store_->internals().journal().head(); }

  // Every journalled event's canonical bytes.
  std::vector<std::string> event_bytes() {
    auto events = store_->internals().journal().read(1, 1'000'000);
    EXPECT_OK(events);
    std::vector<std::string> out;
    if (!events.is_ok()) return out;
    for (const auto& e : *events) {
      auto words = capnp::canonicalize(e.envelope());
      auto bytes = words.asBytes();
      out.emplace_back(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
    }
    return out;
  }

  // The encrypted_api_key column as stored.
  std::optional<std::string> stored_key(const std::string& org, const std::string& id) {
    auto txn = store_->internals().database().begin(db::Access::kRead);
    EXPECT_OK(txn);
    EXPECT_OK((*txn)->set_org(org));
    auto rows = (*txn)->query(
        "SELECT encrypted_api_key FROM api_model_aliases WHERE org_id = $1 AND id = $2", {org, id});
    EXPECT_OK(rows);
    if (!rows.is_ok() || rows->empty() || rows->front().is_null(0)) return std::nullopt;
    return rows->front().text(0);
  }

  static void expect_conflict(const Status& s, const std::string& rule, const std::string& what) {
    EXPECT_EQ(s.code(), Code::kConflict) << what << ": " << s.to_string();
    EXPECT_EQ(s.subject(), rule) << what << ": " << s.to_string();
  }
  static void expect_invalid(const Status& s, const std::string& field, const std::string& what) {
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << what << ": " << s.to_string();
    EXPECT_EQ(s.subject(), field) << what << ": " << s.to_string();
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::TestDatabase> db_;
  ManualClock clock_{kStart};
  std::unique_ptr<Store> store_;
  std::unique_ptr<RepositoryContext> context_;
  std::unique_ptr<ModelRepository> repo_;
};

TEST_P(ModelAliasRepositoryTest, CreateReturnsTheAliasWithDefaults) {
  NewApiModelAlias a = new_alias("openai", "oai/");
  a.forward_all_with_prefix = true;
  auto created = models().create_api_alias("default", a);
  ASSERT_OK(created);
  EXPECT_EQ(*created, (ApiModelAlias{"openai", "openai", "https://api.openai.com/v1",
                                     R"(["gpt-4o", "gpt-4o-mini"])", "oai/", true, std::nullopt,
                                     kEpoch, false, kStart, kStart}));
  EXPECT_EQ(head(), 1u);
  clock_.advance(1s);
  auto got = models().get_api_alias("default", "openai");
  ASSERT_OK(got);
  EXPECT_EQ(*got, *created);
  EXPECT_CODE(models().get_api_key("default", "openai"), Code::kNotFound);
  EXPECT_EQ(stored_key("default", "openai"), std::nullopt);
}

TEST_P(ModelAliasRepositoryTest, TheApiKeyIsSealedEverywhereAndOpensOnlyThroughGetApiKey) {
  auto created = models().create_api_alias("default", new_alias("a1", std::nullopt, kKey));
  ASSERT_OK(created);
  EXPECT_TRUE(created->has_api_key);
  auto key = models().get_api_key("default", "a1");
  ASSERT_OK(key);
  EXPECT_EQ(*key, kKey);

  auto sealed = stored_key("default", "a1");
  ASSERT_TRUE(sealed.has_value());
  EXPECT_NE(*sealed, kKey);
  EXPECT_EQ(sealed->rfind("v1.", 0), 0u) << *sealed;
  EXPECT_EQ(sealed->find(kKey), std::string::npos);

  // Replaced and kept through updates: never in plain text in an event.
  const std::string second = "sk-second-PLAINTEXT-key";
  ASSERT_OK(models().update_api_alias("default", "a1",
                                      update_of(new_alias("a1"), SecretChange::set(second))));
  ASSERT_OK(models().update_api_alias("default", "a1", update_of(new_alias("a1"))));
  key = models().get_api_key("default", "a1");
  ASSERT_OK(key);
  EXPECT_EQ(*key, second);
  auto bytes = event_bytes();
  ASSERT_EQ(bytes.size(), 3u);
  for (const auto& b : bytes) {
    EXPECT_EQ(b.find(kKey), std::string::npos);
    EXPECT_EQ(b.find(second), std::string::npos);
    EXPECT_EQ(b.find("PLAINTEXT"), std::string::npos);
  }
  // Another org cannot open it.
  EXPECT_CODE(models().get_api_key("other", "a1"), Code::kNotFound);
}

TEST_P(ModelAliasRepositoryTest, UpdateKeepsSetsOrClearsTheApiKey) {
  NewApiModelAlias a = new_alias("a1", "p/", kKey);
  ASSERT_OK(models().create_api_alias("default", a));
  clock_.advance(10s);

  NewApiModelAlias changed = new_alias("a1", "q/");
  changed.api_format = "openai-responses";
  changed.base_url = "https://example.com/v1";
  changed.models = "[]";
  changed.forward_all_with_prefix = true;
  auto kept = models().update_api_alias("default", "a1", update_of(changed));
  ASSERT_OK(kept);
  ApiModelAlias want = expected_row(changed, kStart);
  want.has_api_key = true;
  want.updated_at = kStart + 10s;
  EXPECT_EQ(*kept, want);
  auto key = models().get_api_key("default", "a1");
  ASSERT_OK(key);
  EXPECT_EQ(*key, kKey);

  clock_.advance(1s);
  auto set =
      models().update_api_alias("default", "a1", update_of(changed, SecretChange::set("k2")));
  ASSERT_OK(set);
  EXPECT_TRUE(set->has_api_key);
  key = models().get_api_key("default", "a1");
  ASSERT_OK(key);
  EXPECT_EQ(*key, "k2");

  clock_.advance(1s);
  auto cleared =
      models().update_api_alias("default", "a1", update_of(changed, SecretChange::clear()));
  ASSERT_OK(cleared);
  want.has_api_key = false;
  want.updated_at = kStart + 12s;
  EXPECT_EQ(*cleared, want);
  EXPECT_CODE(models().get_api_key("default", "a1"), Code::kNotFound);
  EXPECT_EQ(stored_key("default", "a1"), std::nullopt);

  // Setting a key on an alias that had none.
  auto again =
      models().update_api_alias("default", "a1", update_of(changed, SecretChange::set("k3")));
  ASSERT_OK(again);
  key = models().get_api_key("default", "a1");
  ASSERT_OK(key);
  EXPECT_EQ(*key, "k3");
}

TEST_P(ModelAliasRepositoryTest, WithoutAMasterKeyOnlyKeylessWritesWork) {
  open("");
  const uint64_t before = head();
  expect_invalid(models().create_api_alias("default", new_alias("a1", std::nullopt, kKey)).status(),
                 "master_key", "create with key");
  EXPECT_EQ(head(), before);
  ASSERT_OK(models().create_api_alias("default", new_alias("a1")));
  expect_invalid(
      models()
          .update_api_alias("default", "a1", update_of(new_alias("a1"), SecretChange::set("k")))
          .status(),
      "master_key", "update with key");
  EXPECT_OK(models().update_api_alias("default", "a1",
                                      update_of(new_alias("a1"), SecretChange::clear())));
}

TEST_P(ModelAliasRepositoryTest, MissingAndOtherOrgsAliasesAreNotFoundAndAppendNothing) {
  ASSERT_OK(models().create_api_alias("org-a", new_alias("a1", "p/", kKey)));
  const uint64_t before = head();
  EXPECT_CODE(models().get_api_alias("org-b", "a1"), Code::kNotFound);
  EXPECT_CODE(models().get_api_alias("org-a", "a404"), Code::kNotFound);
  EXPECT_CODE(models().update_api_alias("org-b", "a1", update_of(new_alias("a1"))),
              Code::kNotFound);
  EXPECT_CODE(models().update_api_alias_cache("org-b", "a1", "[]", kStart), Code::kNotFound);
  EXPECT_CODE(models().delete_api_alias("org-b", "a1"), Code::kNotFound);
  EXPECT_CODE(models().delete_api_alias("org-a", "a404"), Code::kNotFound);
  EXPECT_CODE(models().get_api_key("org-a", "a404"), Code::kNotFound);
  EXPECT_EQ(head(), before);
  auto list = models().list_api_aliases("org-b");
  ASSERT_OK(list);
  EXPECT_TRUE(list->empty());
  auto exists = models().prefix_exists("org-b", "p/", std::nullopt);
  ASSERT_OK(exists);
  EXPECT_FALSE(*exists);
  auto still = models().get_api_alias("org-a", "a1");
  ASSERT_OK(still);
  EXPECT_EQ(*still, expected_row(new_alias("a1", "p/", kKey), kStart));
}

TEST_P(ModelAliasRepositoryTest, ATakenIdIsConflictUntilTheAliasIsDeleted) {
  ASSERT_OK(models().create_api_alias("default", new_alias("a1", "p/")));
  const uint64_t before = head();
  expect_conflict(models().create_api_alias("default", new_alias("a1")).status(), "api_alias.id",
                  "same id");
  // An update moved the stream on: still the id rule.
  ASSERT_OK(models().update_api_alias("default", "a1", update_of(new_alias("a1", "p/"))));
  expect_conflict(models().create_api_alias("default", new_alias("a1", "p/")).status(),
                  "api_alias.id", "same id after update");
  EXPECT_EQ(head(), before + 1);
  EXPECT_OK(models().create_api_alias("other", new_alias("a1", "p/")));

  // Deleting frees the id and the prefix; the new alias is a fresh row.
  ASSERT_OK(models().delete_api_alias("default", "a1"));
  EXPECT_CODE(models().get_api_alias("default", "a1"), Code::kNotFound);
  EXPECT_CODE(models().delete_api_alias("default", "a1"), Code::kNotFound);
  clock_.advance(5s);
  auto again = models().create_api_alias("default", new_alias("a1", "p/", kKey));
  ASSERT_OK(again);
  EXPECT_EQ(*again, expected_row(new_alias("a1", "p/", kKey), kStart + 5s));
  auto key = models().get_api_key("default", "a1");
  ASSERT_OK(key);
  EXPECT_EQ(*key, kKey);
  expect_conflict(models().create_api_alias("default", new_alias("a1")).status(), "api_alias.id",
                  "recreated id");
  // And once more.
  ASSERT_OK(models().delete_api_alias("default", "a1"));
  EXPECT_OK(models().create_api_alias("default", new_alias("a1", "p/")));
}

TEST_P(ModelAliasRepositoryTest, NonEmptyPrefixesAreUniqueWithinAnOrg) {
  ASSERT_OK(models().create_api_alias("default", new_alias("a1", "azure/")));
  const uint64_t before = head();
  expect_conflict(models().create_api_alias("default", new_alias("a2", "azure/")).status(),
                  "api_alias.prefix", "same prefix");
  EXPECT_EQ(head(), before);
  EXPECT_CODE(models().get_api_alias("default", "a2"), Code::kNotFound);
  // Prefixes are exact: other case, other org, no prefix and empty prefixes are free.
  EXPECT_OK(models().create_api_alias("default", new_alias("a3", "Azure/")));
  EXPECT_OK(models().create_api_alias("other", new_alias("a1", "azure/")));
  EXPECT_OK(models().create_api_alias("default", new_alias("n1")));
  EXPECT_OK(models().create_api_alias("default", new_alias("n2")));
  EXPECT_OK(models().create_api_alias("default", new_alias("e1", "")));
  auto e2 = models().create_api_alias("default", new_alias("e2", ""));
  ASSERT_OK(e2);
  EXPECT_EQ(e2->prefix, std::optional<std::string>(""));
  auto n1 = models().get_api_alias("default", "n1");
  ASSERT_OK(n1);
  EXPECT_EQ(n1->prefix, std::nullopt);

  // An update may take a free prefix but not a taken one.
  expect_conflict(
      models().update_api_alias("default", "a3", update_of(new_alias("a3", "azure/"))).status(),
      "api_alias.prefix", "update to a taken prefix");
  // Keeping one's own prefix is fine.
  EXPECT_OK(models().update_api_alias("default", "a1", update_of(new_alias("a1", "azure/"))));
}

TEST_P(ModelAliasRepositoryTest, ChangingOrDeletingAPrefixReleasesIt) {
  ASSERT_OK(models().create_api_alias("default", new_alias("a1", "one/")));
  ASSERT_OK(models().create_api_alias("default", new_alias("a2", "two/")));
  ASSERT_OK(models().update_api_alias("default", "a1", update_of(new_alias("a1", "uno/"))));
  EXPECT_OK(models().create_api_alias("default", new_alias("b1", "one/")));
  expect_conflict(models().create_api_alias("default", new_alias("b2", "uno/")).status(),
                  "api_alias.prefix", "renamed-to prefix");
  // To no prefix, and to the empty prefix.
  ASSERT_OK(models().update_api_alias("default", "a1", update_of(new_alias("a1"))));
  EXPECT_OK(models().create_api_alias("default", new_alias("b2", "uno/")));
  ASSERT_OK(models().update_api_alias("default", "a2", update_of(new_alias("a2", ""))));
  EXPECT_OK(models().create_api_alias("default", new_alias("b3", "two/")));
  // Delete.
  ASSERT_OK(models().delete_api_alias("default", "b3"));
  EXPECT_OK(models().create_api_alias("default", new_alias("b4", "two/")));
}

TEST_P(ModelAliasRepositoryTest, PrefixExistsExcludingAnAlias) {
  ASSERT_OK(models().create_api_alias("default", new_alias("a1", "p/")));
  ASSERT_OK(models().create_api_alias("default", new_alias("a2", "")));
  ASSERT_OK(models().create_api_alias("other", new_alias("o1", "q/")));
  auto check = [&](std::string org, std::string prefix, std::optional<std::string> excluding) {
    auto r = models().prefix_exists(org, prefix, excluding);
    EXPECT_OK(r);
    return r.is_ok() && *r;
  };
  EXPECT_TRUE(check("default", "p/", std::nullopt));
  EXPECT_TRUE(check("default", "p/", "a2"));
  EXPECT_FALSE(check("default", "p/", "a1"));
  EXPECT_FALSE(check("default", "P/", std::nullopt));
  EXPECT_FALSE(check("default", "p", std::nullopt));
  EXPECT_FALSE(check("default", "%", std::nullopt));
  EXPECT_FALSE(check("default", "q/", std::nullopt));
  EXPECT_TRUE(check("other", "q/", std::nullopt));
  EXPECT_TRUE(check("default", "", std::nullopt));  // matched like any value
  EXPECT_FALSE(check("default", "", "a2"));
  ASSERT_OK(models().delete_api_alias("default", "a1"));
  EXPECT_FALSE(check("default", "p/", std::nullopt));
}

TEST_P(ModelAliasRepositoryTest, UpdateCacheSetsModelsCacheAndFetchedAt) {
  NewApiModelAlias a = new_alias("a1", "p/", kKey);
  ASSERT_OK(models().create_api_alias("default", a));
  clock_.advance(3s);
  const std::string cache = R"({"data": [{"id": "gpt-4o"}, {"id": "o3"}]})";
  auto cached = models().update_api_alias_cache("default", "a1", cache, kStart + 2s);
  ASSERT_OK(cached);
  ApiModelAlias want = expected_row(a, kStart);
  want.models_cache = cache;
  want.cache_fetched_at = kStart + 2s;
  want.updated_at = kStart + 3s;
  EXPECT_EQ(*cached, want);
  // An alias update leaves the cache alone.
  clock_.advance(1s);
  auto updated = models().update_api_alias("default", "a1", update_of(a));
  ASSERT_OK(updated);
  want.updated_at = kStart + 4s;
  EXPECT_EQ(*updated, want);
  const uint64_t before = head();
  expect_invalid(models().update_api_alias_cache("default", "a1", "{not json", kStart).status(),
                 "models_cache", "invalid JSON");
  expect_invalid(models().update_api_alias_cache("default", "a1", "", kStart).status(),
                 "models_cache", "empty");
  EXPECT_CODE(models().update_api_alias_cache("default", "a404", "[]", kStart), Code::kNotFound);
  EXPECT_EQ(head(), before);
}

TEST_P(ModelAliasRepositoryTest, ListIsNewestFirstAndPerOrg) {
  for (const char* id : {"a", "b", "c"}) {
    ASSERT_OK(models().create_api_alias("default", new_alias(id)));
    clock_.advance(1s);
  }
  // Same microsecond: the later create first.
  ASSERT_OK(models().create_api_alias("default", new_alias("d")));
  ASSERT_OK(models().create_api_alias("default", new_alias("e")));
  ASSERT_OK(models().create_api_alias("other", new_alias("x")));
  // An update does not reorder.
  ASSERT_OK(models().update_api_alias("default", "a", update_of(new_alias("a"))));
  auto list = models().list_api_aliases("default");
  ASSERT_OK(list);
  EXPECT_EQ(ids_of(*list), (std::vector<std::string>{"e", "d", "c", "b", "a"}));
  EXPECT_EQ(list->back().created_at, kStart);
  EXPECT_EQ(list->back().updated_at, kStart + 3s);
  auto empty = models().list_api_aliases("nobody");
  ASSERT_OK(empty);
  EXPECT_TRUE(empty->empty());
}

TEST_P(ModelAliasRepositoryTest, BadInputIsRefusedNamingTheFieldAndAppendsNothing) {
  ASSERT_OK(models().create_api_alias("default", new_alias("a0", "p0/")));
  const uint64_t before = head();
  struct Case {
    std::string what;
    std::string org;
    std::function<void(NewApiModelAlias&)> change;
    std::string field;
  };
  auto keep = [](NewApiModelAlias&) {};
  using A = NewApiModelAlias;
  const std::vector<Case> cases = {
      {"empty org", "", keep, "org_id"},
      {"org with quote", "o'1", keep, "org_id"},
      {"empty id", "default", [](A& a) { a.id = ""; }, "id"},
      {"65-byte id", "default", [](A& a) { a.id = std::string(65, 'i'); }, "id"},
      {"id with slash", "default", [](A& a) { a.id = "a/b"; }, "id"},
      {"empty format", "default", [](A& a) { a.api_format = ""; }, "api_format"},
      {"format with space", "default", [](A& a) { a.api_format = "open ai"; }, "api_format"},
      {"33-byte format", "default", [](A& a) { a.api_format = std::string(33, 'f'); },
       "api_format"},
      {"empty base_url", "default", [](A& a) { a.base_url = ""; }, "base_url"},
      {"long base_url", "default", [](A& a) { a.base_url = std::string(2049, 'u'); }, "base_url"},
      {"base_url not UTF-8", "default", [](A& a) { a.base_url = "https://\xff"; }, "base_url"},
      {"models not JSON", "default", [](A& a) { a.models = "[gpt-4"; }, "models"},
      {"models empty", "default", [](A& a) { a.models = ""; }, "models"},
      {"models an object", "default", [](A& a) { a.models = R"({"a": 1})"; }, "models"},
      {"models a string", "default", [](A& a) { a.models = R"("gpt-4")"; }, "models"},
      {"models with NUL", "default", [](A& a) { a.models = std::string("[\0]", 3); }, "models"},
      {"long prefix", "default", [](A& a) { a.prefix = std::string(256, 'p'); }, "prefix"},
      {"prefix not UTF-8", "default", [](A& a) { a.prefix = "\xc3\x28"; }, "prefix"},
      {"empty key", "default", [](A& a) { a.api_key = ""; }, "api_key"},
      {"long key", "default", [](A& a) { a.api_key = std::string(4097, 'k'); }, "api_key"},
  };
  for (const auto& c : cases) {
    A a = new_alias("a1", "p1/", "key");
    c.change(a);
    expect_invalid(models().create_api_alias(c.org, a).status(), c.field, "create " + c.what);
    if (c.field != "id" && c.field != "api_key") {
      A u = new_alias("a0");
      c.change(u);
      expect_invalid(models().update_api_alias(c.org, "a0", update_of(u)).status(), c.field,
                     "update " + c.what);
    }
    EXPECT_EQ(head(), before) << c.what;
  }
  auto upd = [&](std::string id, SecretChange change) {
    return models().update_api_alias("default", id, update_of(new_alias("a0"), change)).status();
  };
  expect_invalid(upd("", SecretChange::keep()), "id", "update empty id");
  expect_invalid(upd("a0", SecretChange::set("")), "api_key", "set empty key");
  expect_invalid(upd("a0", SecretChange{static_cast<SecretChange::Action>(9), "x"}), "api_key",
                 "key change 9");
  expect_invalid(models().get_api_alias("default", "a 0").status(), "id", "get");
  expect_invalid(models().delete_api_alias("default", "").status(), "id", "delete");
  expect_invalid(models().get_api_key("default", "").status(), "id", "get_api_key");
  expect_invalid(models().prefix_exists("default", "\xff", std::nullopt).status(), "prefix",
                 "prefix_exists");
  expect_invalid(models().prefix_exists("default", "p", "").status(), "excluding_id",
                 "prefix_exists excluding");
  expect_invalid(models().list_api_aliases("").status(), "org_id", "list");
  EXPECT_EQ(head(), before);
  auto a0 = models().get_api_alias("default", "a0");
  ASSERT_OK(a0);
  EXPECT_EQ(*a0, expected_row(new_alias("a0", "p0/"), kStart));
}

TEST_P(ModelAliasRepositoryTest, HostileTextAndLimitsRoundTrip) {
  const std::vector<std::string> hostile = {"it's/", "\"q\"/", "'; DROP TABLE api_model_aliases;--",
                                            "%",     "_",      "🎉/",
                                            "a\nb",  "$1",     " padded "};
  int n = 0;
  for (const auto& s : hostile) {
    SCOPED_TRACE(s);
    NewApiModelAlias a = new_alias("h" + std::to_string(n++), s, s);
    a.base_url = "https://example.com/" + s;
    a.models = R"(["m", "x\n", "it's"])";
    auto c = models().create_api_alias("default", a);
    ASSERT_OK(c);
    EXPECT_EQ(*c, expected_row(a, kStart));
    auto key = models().get_api_key("default", a.id);
    ASSERT_OK(key);
    EXPECT_EQ(*key, s);
    auto exists = models().prefix_exists("default", s, std::nullopt);
    ASSERT_OK(exists);
    EXPECT_TRUE(*exists);
  }
  NewApiModelAlias big =
      new_alias(std::string(kMaxApiAliasIdBytes, 'i'), std::string(kMaxApiPrefixBytes, 'p'),
                std::string(kMaxApiKeyBytes, 'k'));
  big.api_format = std::string(kMaxApiFormatBytes, 'f');
  big.base_url = std::string(kMaxBaseUrlBytes, 'u');
  big.models = "[\"" + std::string(kMaxApiModelsBytes - 4, 'm') + "\"]";
  auto c = models().create_api_alias("default", big);
  ASSERT_OK(c);
  EXPECT_EQ(*c, expected_row(big, kStart));
}

TEST_P(ModelAliasRepositoryTest, ConcurrentCreatesClaimAPrefixExactlyOnce) {
  constexpr int kThreads = 8;
  std::barrier start(kThreads);
  std::mutex mu;
  std::vector<std::string> winners;
  int conflicts = 0;
  std::vector<std::string> unexpected;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      const std::string id = "a" + std::to_string(t);
      auto r = models().create_api_alias("default", new_alias(id, "shared/", "k"));
      std::lock_guard lock(mu);
      if (r.is_ok()) {
        winners.push_back(id);
      } else if (r.status().code() == Code::kConflict &&
                 r.status().subject() == "api_alias.prefix") {
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
  auto list = models().list_api_aliases("default");
  ASSERT_OK(list);
  EXPECT_EQ(ids_of(*list), winners);
}

TEST_P(ModelAliasRepositoryTest, ConcurrentRecreatesOfADeletedIdHaveExactlyOneWinner) {
  ASSERT_OK(models().create_api_alias("default", new_alias("a1", "p/")));
  ASSERT_OK(models().delete_api_alias("default", "a1"));
  constexpr int kThreads = 8;
  std::barrier start(kThreads);
  std::mutex mu;
  int wins = 0, conflicts = 0;
  std::vector<std::string> unexpected;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      auto r = models().create_api_alias("default", new_alias("a1", "p" + std::to_string(t) + "/"));
      std::lock_guard lock(mu);
      if (r.is_ok()) {
        ++wins;
      } else if (r.status().code() == Code::kConflict && r.status().subject() == "api_alias.id") {
        ++conflicts;
      } else {
        unexpected.push_back(r.status().to_string());
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& u : unexpected) ADD_FAILURE() << u;
  EXPECT_EQ(wins, 1);
  EXPECT_EQ(conflicts, kThreads - 1);
  EXPECT_EQ(head(), 3u);
  auto list = models().list_api_aliases("default");
  ASSERT_OK(list);
  EXPECT_EQ(list->size(), 1u);
}

TEST_P(ModelAliasRepositoryTest, AliasesKeysAndPrefixesSurviveReopening) {
  ASSERT_OK(models().create_api_alias("default", new_alias("a1", "p/", kKey)));
  clock_.advance(1s);
  auto cached = models().update_api_alias_cache("default", "a1", "[\"m\"]", kStart);
  ASSERT_OK(cached);
  const uint64_t before = head();
  open(std::string(32, 'k'));
  auto got = models().get_api_alias("default", "a1");
  ASSERT_OK(got);
  EXPECT_EQ(*got, *cached);
  auto key = models().get_api_key("default", "a1");
  ASSERT_OK(key);
  EXPECT_EQ(*key, kKey);
  expect_conflict(models().create_api_alias("default", new_alias("a2", "p/")).status(),
                  "api_alias.prefix", "after reopen");
  EXPECT_EQ(head(), before);
  // With another master key the key does not open.
  open(std::string(32, 'x'));
  auto wrong = models().get_api_key("default", "a1");
  EXPECT_FALSE(wrong.is_ok());
  EXPECT_NE(wrong.status().code(), Code::kNotFound) << wrong.status().to_string();
}

INSTANTIATE_TEST_SUITE_P(Backends, ModelAliasRepositoryTest,
                         ::testing::Values(testing::Backend::kSqlite, testing::Backend::kPostgres),
                         testing::BackendName);

}  // namespace
}  // namespace repositories
}  // namespace annals
