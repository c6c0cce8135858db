// SettingsRepository over a real Store (RocksDB journal, SQLite read tables)
// with a frozen clock, so every timestamp is known exactly.
#include "repositories/settings_repository.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <barrier>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "annals/clock.h"
#include "annals/status.h"
#include "core/validate.h"
#include "tests/conformance_helpers.h"

namespace annals::repositories {

void PrintTo(const Setting& s, std::ostream* os) {
  *os << "{key=\"" << s.key << "\", value=\"" << s.value << "\", value_type=\"" << s.value_type
      << "\", created_at=" << format_timestamp(s.created_at)
      << ", updated_at=" << format_timestamp(s.updated_at) << "}";
}

namespace {

using namespace std::chrono_literals;

const Timestamp kStart = testing::kFixtureStart;

class SettingsRepositoryTest : public testing::RepositoryTest {
 protected:
  SettingsRepository& settings() { return store().settings(); }

  // The last SettingUpserted event in the journal.
  std::string last_journalled_value() {
    std::string value;
    for (const auto& e : journalled()) {
      if (e.type() == events::PayloadType::SETTING_UPSERTED) {
        value = std::string(events::Event::view(e.payload().getSettingUpserted().getValue()));
      }
    }
    return value;
  }
};

TEST_P(SettingsRepositoryTest, UpsertOfNewKeyReturnsRowStampedWithClockTime) {
  EXPECT_EQ(head(), 0u);
  auto s = settings().upsert("default", "theme", "dark", "string");
  ASSERT_OK(s);
  EXPECT_EQ(*s, (Setting{"theme", "dark", "string", kStart, kStart}));
  EXPECT_EQ(head(), 1u);
}

TEST_P(SettingsRepositoryTest, GetReturnsTheUpsertedRow) {
  ASSERT_OK(settings().upsert("default", "theme", "dark", "string"));
  clock_.advance(5s);
  auto got = settings().get("default", "theme");
  ASSERT_OK(got);
  EXPECT_EQ(*got, (Setting{"theme", "dark", "string", kStart, kStart}));
}

TEST_P(SettingsRepositoryTest, UpsertOfExistingKeyKeepsCreatedAtAndReplacesTheRest) {
  ASSERT_OK(settings().upsert("default", "limit", "10", "string"));
  clock_.advance(90s);
  const Timestamp later = kStart + 90s;

  auto s = settings().upsert("default", "limit", "25", "number");
  ASSERT_OK(s);
  EXPECT_EQ(*s, (Setting{"limit", "25", "number", kStart, later}));

  auto got = settings().get("default", "limit");
  ASSERT_OK(got);
  EXPECT_EQ(*got, (Setting{"limit", "25", "number", kStart, later}));
  auto all = settings().list("default");
  ASSERT_OK(all);
  EXPECT_EQ(all->size(), 1u);
  EXPECT_EQ(head(), 2u);
}

TEST_P(SettingsRepositoryTest, GetOfMissingKeyIsNotFound) {
  ASSERT_OK(settings().upsert("default", "theme", "dark", "string"));
  EXPECT_CODE(settings().get("default", "missing"), Code::kNotFound);
  EXPECT_CODE(settings().get("default", "THEME"), Code::kNotFound);  // keys are case-sensitive
  EXPECT_CODE(settings().get("default", "them"), Code::kNotFound);
}

TEST_P(SettingsRepositoryTest, ListIsOrderedByKeyBytesWhateverTheInsertOrder) {
  // Inserted out of order; includes keys that differ only by case, and unicode.
  const std::vector<std::string> inserted = {"beta", "日本",  "alpha", "Zed",
                                             "a",    "Alpha", "ünï",   "emoji🎉"};
  for (const auto& key : inserted) {
    ASSERT_OK(settings().upsert("default", key, "v:" + key, "string"));
    clock_.advance(1s);
  }
  auto all = settings().list("default");
  ASSERT_OK(all);
  std::vector<std::string> keys;
  for (const auto& s : *all) {
    keys.push_back(s.key);
    EXPECT_EQ(s.value, "v:" + s.key);
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"Alpha", "Zed", "a", "alpha", "beta", "emoji🎉", "ünï",
                                            "日本"}));

  // Keys that differ only by case are separate rows.
  auto upper = settings().get("default", "Alpha");
  auto lower = settings().get("default", "alpha");
  ASSERT_OK(upper);
  ASSERT_OK(lower);
  EXPECT_EQ(upper->value, "v:Alpha");
  EXPECT_EQ(lower->value, "v:alpha");
  EXPECT_EQ(upper->created_at, kStart + 5s);
  EXPECT_EQ(lower->created_at, kStart + 2s);
}

TEST_P(SettingsRepositoryTest, ListOfOrgWithoutSettingsIsEmpty) {
  auto all = settings().list("default");
  ASSERT_OK(all);
  EXPECT_TRUE(all->empty());
}

TEST_P(SettingsRepositoryTest, RemoveThenGetIsNotFound) {
  ASSERT_OK(settings().upsert("default", "theme", "dark", "string"));
  ASSERT_OK(settings().upsert("default", "lang", "en", "string"));
  EXPECT_OK(settings().remove("default", "theme"));
  EXPECT_EQ(head(), 3u);
  EXPECT_CODE(settings().get("default", "theme"), Code::kNotFound);

  auto all = settings().list("default");
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().key, "lang");
}

TEST_P(SettingsRepositoryTest, RemoveOfMissingKeyIsNotFoundAndAppendsNothing) {
  EXPECT_CODE(settings().remove("default", "never-set"), Code::kNotFound);
  ASSERT_OK(settings().upsert("default", "theme", "dark", "string"));
  ASSERT_OK(settings().remove("default", "theme"));
  EXPECT_REFUSED(settings().remove("default", "theme"), Code::kNotFound, "");
}

TEST_P(SettingsRepositoryTest, UpsertAfterRemoveStartsAFreshCreatedAt) {
  ASSERT_OK(settings().upsert("default", "theme", "dark", "string"));
  clock_.advance(10s);
  ASSERT_OK(settings().remove("default", "theme"));
  clock_.advance(10s);
  auto s = settings().upsert("default", "theme", "light", "option");
  ASSERT_OK(s);
  EXPECT_EQ(*s, (Setting{"theme", "light", "option", kStart + 20s, kStart + 20s}));
  auto got = settings().get("default", "theme");
  ASSERT_OK(got);
  EXPECT_EQ(*got, *s);
}

TEST_P(SettingsRepositoryTest, OrgsNeverSeeOrChangeEachOthersSettings) {
  ASSERT_OK(settings().upsert("org-a", "theme", "dark", "string"));
  ASSERT_OK(settings().upsert("org-a", "only-a", "secret-a", "string"));
  clock_.advance(1s);
  ASSERT_OK(settings().upsert("org-b", "theme", "light", "string"));

  EXPECT_CODE(settings().get("org-b", "only-a"), Code::kNotFound);
  auto b = settings().list("org-b");
  ASSERT_OK(b);
  ASSERT_EQ(b->size(), 1u);
  EXPECT_EQ(b->front(), (Setting{"theme", "light", "string", kStart + 1s, kStart + 1s}));

  // Removing in B leaves A alone.
  EXPECT_REFUSED(settings().remove("org-b", "only-a"), Code::kNotFound, "");
  EXPECT_OK(settings().remove("org-b", "theme"));
  EXPECT_CODE(settings().get("org-b", "theme"), Code::kNotFound);

  auto a = settings().list("org-a");
  ASSERT_OK(a);
  EXPECT_EQ(*a, (std::vector<Setting>{{"only-a", "secret-a", "string", kStart, kStart},
                                      {"theme", "dark", "string", kStart, kStart}}));
  auto c = settings().list("org-c");
  ASSERT_OK(c);
  EXPECT_TRUE(c->empty());
}

TEST_P(SettingsRepositoryTest, BadInputIsRefusedNamingTheFieldAndAppendsNothing) {
  ASSERT_OK(settings().upsert("default", "theme", "dark", "string"));
  const auto guard = nothing_appended();

  struct Case {
    std::string what, org, key, value, value_type, field;
  };
  const std::vector<Case> cases = {
      {"empty org", "", "theme", "x", "string", "org_id"},
      {"65-char org", std::string(65, 'o'), "theme", "x", "string", "org_id"},
      {"org with slash", "a/b", "theme", "x", "string", "org_id"},
      {"org with space", "a b", "theme", "x", "string", "org_id"},
      {"org with SQL", "org'; DROP TABLE settings;--", "theme", "x", "string", "org_id"},
      {"empty key", "default", "", "x", "string", "key"},
      {"256-byte key", "default", std::string(256, 'k'), "x", "string", "key"},
      {"key with NUL", "default", std::string("the\0me", 6), "x", "string", "key"},
      {"key not UTF-8", "default", "\xff\xfe", "x", "string", "key"},
      {"value over 64 KiB", "default", "theme", std::string(64 * 1024 + 1, 'v'), "string", "value"},
      {"value with NUL", "default", "theme", std::string("a\0b", 3), "string", "value"},
      {"value not UTF-8", "default", "theme", "ok\xc3(", "string", "value"},
      {"empty value_type", "default", "theme", "x", "", "value_type"},
      {"33-byte value_type", "default", "theme", "x", std::string(33, 't'), "value_type"},
      {"value_type with space", "default", "theme", "x", "str ing", "value_type"},
      {"value_type with quote", "default", "theme", "x", "str'ing", "value_type"},
  };
  for (const auto& c : cases) {
    testing::expect_invalid(settings().upsert(c.org, c.key, c.value, c.value_type).status(),
                            c.field, "upsert " + c.what);
    if (c.field == "org_id" || c.field == "key") {
      testing::expect_invalid(settings().get(c.org, c.key).status(), c.field, "get " + c.what);
      testing::expect_invalid(settings().remove(c.org, c.key), c.field, "remove " + c.what);
    }
    if (c.field == "org_id") {
      testing::expect_invalid(settings().list(c.org).status(), c.field, "list " + c.what);
    }
  }

  auto got = settings().get("default", "theme");
  ASSERT_OK(got);
  EXPECT_EQ(*got, (Setting{"theme", "dark", "string", kStart, kStart}));
}

TEST_P(SettingsRepositoryTest, ValuesAtTheSizeLimitsAreAccepted) {
  const std::string key(kMaxSettingKeyBytes, 'k');
  const std::string value(kMaxSettingValueBytes, 'v');
  const std::string value_type(kMaxSettingValueTypeBytes, 't');
  auto s = settings().upsert("default", key, value, value_type);
  ASSERT_OK(s);
  auto got = settings().get("default", key);
  ASSERT_OK(got);
  EXPECT_EQ(got->key, key);
  EXPECT_EQ(got->value, value);
  EXPECT_EQ(got->value_type, value_type);

  const std::string org(kMaxOrgIdLength, 'o');
  EXPECT_OK(settings().upsert(org, "theme", "dark", "string"));
  EXPECT_OK(settings().get(org, "theme"));
}

TEST_P(SettingsRepositoryTest, HostileButValidStringsRoundTripByteForByte) {
  const auto strings = testing::hostile_text("settings", {"a_c",
                                                          "abc",  // would match "a_c" under LIKE
                                                          "tab\there", "\x7f\x01control"});
  for (const auto& str : strings) {
    SCOPED_TRACE(str);
    ASSERT_OK(settings().upsert("default", str, "value of " + str, "string"));
  }
  for (const auto& str : strings) {
    auto got = settings().get("default", str);
    ASSERT_OK(got);
    EXPECT_EQ(got->key, str);
    EXPECT_EQ(got->value, "value of " + str);
  }
  // A value may hold the same content.
  for (const auto& str : strings) {
    auto s = settings().upsert("default", "v", str, "string");
    ASSERT_OK(s);
    EXPECT_EQ(s->value, str);
    auto got = settings().get("default", "v");
    ASSERT_OK(got);
    EXPECT_EQ(got->value, str);
  }
  auto all = settings().list("default");
  ASSERT_OK(all);
  EXPECT_EQ(all->size(), strings.size() + 1);
}

TEST_P(SettingsRepositoryTest, EmptyValueIsAllowed) {
  auto s = settings().upsert("default", "motd", "", "string");
  ASSERT_OK(s);
  EXPECT_EQ(*s, (Setting{"motd", "", "string", kStart, kStart}));
  auto got = settings().get("default", "motd");
  ASSERT_OK(got);
  EXPECT_EQ(got->value, "");
}

TEST_P(SettingsRepositoryTest, ConcurrentUpsertsOfOneKeyAllSucceedAndLeaveOneRow) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 10;
  std::mutex mu;
  std::set<std::string> written;
  testing::run_together(kThreads, [&](int t) {
    for (int i = 0; i < kRounds; ++i) {
      std::string value = "t" + std::to_string(t) + "-" + std::to_string(i);
      auto s = settings().upsert("default", "shared", value, "string");
      EXPECT_OK(s);
      std::lock_guard lock(mu);
      if (s.is_ok()) written.insert(value);
    }
  });
  EXPECT_EQ(written.size(), static_cast<size_t>(kThreads * kRounds));
  EXPECT_EQ(head(), static_cast<uint64_t>(kThreads * kRounds));

  auto all = settings().list("default");
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 1u);
  const Setting& row = all->front();
  EXPECT_EQ(row.key, "shared");
  EXPECT_TRUE(written.count(row.value)) << row.value;
  EXPECT_EQ(row.value, last_journalled_value());  // the journal's last word wins
  EXPECT_EQ(row.created_at, kStart);
}

TEST_P(SettingsRepositoryTest, SettingsSurviveClosingAndReopeningTheStore) {
  ASSERT_OK(settings().upsert("default", "theme", "dark", "string"));
  ASSERT_OK(settings().upsert("default", "gone", "soon", "string"));
  ASSERT_OK(settings().upsert("other", "lang", "fr", "string"));
  clock_.advance(30s);
  ASSERT_OK(settings().upsert("default", "theme", "light", "option"));
  ASSERT_OK(settings().remove("default", "gone"));
  const uint64_t before = head();

  open();  // closes the store, then opens a new one on the same folder

  EXPECT_EQ(head(), before);
  auto all = settings().list("default");
  ASSERT_OK(all);
  EXPECT_EQ(*all, (std::vector<Setting>{{"theme", "light", "option", kStart, kStart + 30s}}));
  auto other = settings().get("other", "lang");
  ASSERT_OK(other);
  EXPECT_EQ(*other, (Setting{"lang", "fr", "string", kStart, kStart}));
  EXPECT_CODE(settings().get("default", "gone"), Code::kNotFound);

  // Writing goes on from where it was.
  clock_.advance(30s);
  auto s = settings().upsert("default", "theme", "dark", "string");
  ASSERT_OK(s);
  EXPECT_EQ(*s, (Setting{"theme", "dark", "string", kStart, kStart + 60s}));
  EXPECT_EQ(head(), before + 1);
}

TEST_P(SettingsRepositoryTest, BackgroundProjectorStillReadsItsOwnWrites) {
  options().projector_mode = projections::ProjectorMode::kBackground;
  open();
  ASSERT_EQ(store_->internals().projector().mode(), projections::ProjectorMode::kBackground);
  for (int i = 0; i < 25; ++i) {
    clock_.advance(1s);
    const std::string value = std::to_string(i);
    auto s = settings().upsert("default", "counter", value, "number");
    ASSERT_OK(s);
    EXPECT_EQ(s->value, value);
    auto got = settings().get("default", "counter");
    ASSERT_OK(got);
    EXPECT_EQ(*got, (Setting{"counter", value, "number", kStart + 1s, kStart + (i + 1) * 1s}));
  }
  ASSERT_OK(settings().remove("default", "counter"));
  EXPECT_CODE(settings().get("default", "counter"), Code::kNotFound);
  auto all = settings().list("default");
  ASSERT_OK(all);
  EXPECT_TRUE(all->empty());
}

INSTANTIATE_ON_BOTH_BACKENDS(SettingsRepositoryTest);

}  // namespace
}  // namespace annals::repositories
