// A journal written before events had versions (tests/fixtures/journal-v1,
// settings with their value type in SettingUpserted.valueType) read by
// today's code: every event comes back at its kind's current version, the
// projections build the same rows from it on SQLite and PostgreSQL, and new
// writes go on top. The committed fixture is only ever read through a copy.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "annals/clock.h"
#include "events/event.h"
#include "journal/journal.h"
#include "projections/migrate.h"
#include "projections/projector.h"
#include "repositories/operator.h"
#include "tests/test_support.h"

namespace annals {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using events::Event;
using events::PayloadType;
using repositories::DownloadRequest;
using repositories::DownloadStatus;
using repositories::Setting;
using repositories::UserAlias;
using testing::TempDir;

const fs::path kFixture = fs::path(testing::tests_source_dir()) / "fixtures" / "journal-v1";
constexpr uint64_t kFixtureEvents = 27;

// The fixture's clock: command n was recorded n seconds after this.
constexpr int64_t kStartMicros = 1714564800LL * 1000000;
Timestamp at(int command) { return from_micros(kStartMicros + command * 1000000LL); }

// Every file of the committed fixture, by name, with its bytes.
std::map<std::string, std::string> fixture_files() {
  std::map<std::string, std::string> out;
  for (const auto& entry : fs::directory_iterator(kFixture)) {
    std::ifstream in(entry.path(), std::ios::binary);
    out[entry.path().filename().string()] =
        std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return out;
}

// Copies the fixture to `journal_dir`; the test then only touches the copy.
void copy_fixture(const std::string& journal_dir) {
  ASSERT_TRUE(fs::exists(kFixture / "CURRENT")) << kFixture << " is missing";
  fs::create_directories(fs::path(journal_dir).parent_path());
  fs::copy(kFixture, journal_dir, fs::copy_options::recursive);
}

// The value type each fixture setting was written with, as the settings
// read back: kind for the four names every consumer knows, custom otherwise.
struct ExpectedKind {
  schema::SettingKind kind;
  std::string custom_type;
};

ExpectedKind expected_kind(std::string_view v1_value_type) {
  if (v1_value_type == "string") return {schema::SettingKind::STRING, ""};
  if (v1_value_type == "number") return {schema::SettingKind::NUMBER, ""};
  if (v1_value_type == "boolean") return {schema::SettingKind::BOOLEAN, ""};
  if (v1_value_type == "option") return {schema::SettingKind::OPTION, ""};
  return {schema::SettingKind::CUSTOM, std::string(v1_value_type)};
}

void expect_current_shape(const Event& e) {
  SCOPED_TRACE("position " + std::to_string(e.position()));
  events::EventKind kind = events::kind_of(e.envelope());
  EXPECT_EQ(e.stored_version(), 1) << "the fixture predates versions";
  EXPECT_EQ(e.version(), events::current_version(kind));
  EXPECT_OK(events::deep_validate(e));
  if (e.type() == PayloadType::SETTING_UPSERTED) {
    EXPECT_EQ(e.envelope().getEventVersion(), 2);
    auto p = e.payload().getSettingUpserted();
    // The fixture still holds the old field (upcasting leaves it); the new
    // fields say the same thing.
    ExpectedKind want = expected_kind(Event::view(p.getValueType()));
    EXPECT_EQ(p.getKind(), want.kind);
    EXPECT_EQ(Event::view(p.getCustomType()), want.custom_type);
    EXPECT_EQ(events::setting_value_type(p), Event::view(p.getValueType()));
  } else {
    EXPECT_EQ(e.version(), 1);
  }
}

TEST(JournalV1Fixture, EveryEventReadsBackAtTheCurrentVersion) {
  auto before = fixture_files();
  TempDir dir;
  copy_fixture(dir.sub("journal"));
  {
    auto journal = journal::Journal::open_rocksdb(dir.sub("journal"), {});
    ASSERT_OK(journal);
    ASSERT_EQ((*journal)->head(), kFixtureEvents);
    auto all = (*journal)->read(1, 1000);
    ASSERT_OK(all);
    ASSERT_EQ(all->size(), kFixtureEvents);
    int settings = 0;
    for (const auto& e : *all) {
      expect_current_shape(e);
      if (e.type() == PayloadType::SETTING_UPSERTED) ++settings;
    }
    EXPECT_EQ(settings, 16);
    // The per-org index reads through the same decode.
    for (const char* org : {"default", "acme"}) {
      auto mine = (*journal)->read_org(org, 1, 1000);
      ASSERT_OK(mine);
      EXPECT_FALSE(mine->empty());
      for (const auto& e : *mine) {
        EXPECT_EQ(e.org_id(), org);
        expect_current_shape(e);
      }
    }
  }
  EXPECT_EQ(fixture_files(), before) << "the committed fixture must never change";
}

// Remembers what each event looked like when a projector handed it over.
class RecordingProjection final : public projections::Projection {
 public:
  struct Seen {
    uint64_t position;
    uint16_t envelope_version;
    schema::SettingKind kind = schema::SettingKind::CUSTOM;
    std::string value_type = {};
  };

  explicit RecordingProjection(std::vector<Seen>* seen) : seen_(seen) {}
  std::string name() const override { return "evolution_recording"; }
  // This projection writes no table.
  std::vector<std::string> tables() const { return {}; }
  bool handles(PayloadType) const override { return true; }
  Status apply(db::Transaction&, const Event& event) override {
    Seen s{event.position(), event.envelope().getEventVersion()};
    if (event.type() == PayloadType::SETTING_UPSERTED) {
      s.kind = event.payload().getSettingUpserted().getKind();
      s.value_type = events::setting_value_type(event.payload().getSettingUpserted());
    }
    seen_->push_back(std::move(s));
    return Status::ok();
  }

 private:
  std::vector<Seen>* seen_;
};

TEST(JournalV1Fixture, OnlyTheCurrentShapeReachesAProjector) {
  TempDir dir;
  copy_fixture(dir.sub("journal"));
  auto journal = journal::Journal::open_rocksdb(dir.sub("journal"), {});
  ASSERT_OK(journal);
  auto database = db::Database::open("sqlite:" + dir.sub("read.sqlite"));
  ASSERT_OK(database);
  auto migrations = projections::embedded_migrations(db::Dialect::kSqlite);
  ASSERT_OK(migrations);
  ManualClock clock(at(100));
  ASSERT_OK(projections::migrate(**database, *migrations, clock));

  std::vector<RecordingProjection::Seen> seen;
  std::vector<std::unique_ptr<projections::Projection>> list;
  list.push_back(std::make_unique<RecordingProjection>(&seen));
  projections::ProjectorOptions options;
  options.batch_size = 5;  // several batches
  projections::Projector projector(**journal, **database, std::move(list), options);
  ASSERT_OK(projector.start());
  auto reached = projector.catch_up();
  ASSERT_OK(reached);
  EXPECT_EQ(*reached, kFixtureEvents);

  ASSERT_EQ(seen.size(), kFixtureEvents);
  std::map<std::string, int> by_type;
  for (const auto& s : seen) {
    if (s.value_type.empty()) continue;
    EXPECT_EQ(s.envelope_version, 2) << "position " << s.position;
    ++by_type[s.value_type];
  }
  std::map<std::string, int> want = {{"number", 5}, {"option", 3},          {"boolean", 3},
                                     {"string", 3}, {"executable-path", 1}, {"String", 1}};
  EXPECT_EQ(by_type, want);
}

// The fixture projected through a Store: every read gives the rows the old
// code gave, on both backends.
class EventEvolutionTest : public ::testing::TestWithParam<testing::Backend> {
 protected:
  void SetUp() override {
    ANNALS_SETUP_BACKEND(db_, GetParam(), dir_);
    copy_fixture(dir_.sub("data/journal"));
    open(db_->url());
  }

  void TearDown() override { store_.reset(); }

  void open(const std::string& database_url) {
    store_.reset();
    repositories::StoreOptions options;
    options.data_dir = dir_.sub("data");
    options.database_url = database_url;
    options.setup_database = true;  // a superuser URL: set it up first
    options.clock = &clock_;
    auto store = repositories::Store::open(options);
    ASSERT_OK(store);
    store_ = std::move(store).value();
  }

  static Setting setting(std::string key, std::string value, std::string type, int created,
                         int updated) {
    return {std::move(key), std::move(value), std::move(type), at(created), at(updated)};
  }

  std::vector<Setting> expected_default_settings() {
    return {
        setting("BODHI_EXEC_LOOKUP", "llama-server", "executable-path", 6, 6),
        setting("BODHI_HOME_GREETING", "Grüß dich, Welt", "string", 5, 5),
        setting("BODHI_KEEP_ALIVE_SECS", "600", "number", 15, 15),  // deleted, then set again
        setting("BODHI_LOG_LEVEL", "debug", "option", 2, 9),
        setting("BODHI_PORT", "8080", "number", 1, 8),
        setting("BODHI_TELEMETRY", "true", "boolean", 4, 16),
    };
  }

  std::vector<Setting> expected_acme_settings() {
    return {
        setting("BODHI_PORT", "9000", "number", 17, 17),
        setting("BODHI_PUBLIC_HOST", "models.acme.example", "string", 19, 24),
        setting("BODHI_SCHEME", "https", "String", 20, 20),  // not a known name: custom
        setting("BODHI_TELEMETRY", "false", "boolean", 27, 27),
    };
  }

  void expect_fixture_rows() {
    auto& settings = store_->settings();
    auto mine = settings.list("default");
    ASSERT_OK(mine);
    EXPECT_EQ(*mine, expected_default_settings());
    auto theirs = settings.list("acme");
    ASSERT_OK(theirs);
    EXPECT_EQ(*theirs, expected_acme_settings());
    EXPECT_CODE(settings.get("acme", "BODHI_LOG_LEVEL"), Code::kNotFound);

    auto& aliases = store_->user_aliases();
    auto default_aliases = aliases.list("default");
    ASSERT_OK(default_aliases);
    std::vector<UserAlias> want_default = {
        {"default", "ua-1", "llama3:chat", "meta-llama/Meta-Llama-3-8B-Instruct-GGUF",
         "Meta-Llama-3-8B-Instruct.Q8_0.gguf", "main", R"({"temperature":0.2})",
         R"(["--ctx-size 8192"])", at(7), at(14)},
        {"default", "ua-2", "phi2:chat", "TheBloke/phi-2-GGUF", "phi-2.Q4_K_M.gguf", "main", "{}",
         "[]", at(12), at(12)},
    };
    EXPECT_EQ(*default_aliases, want_default);
    auto acme_aliases = aliases.list("acme");
    ASSERT_OK(acme_aliases);
    std::vector<UserAlias> want_acme = {
        {"acme", "ua-1", "qwen:coder", "Qwen/Qwen2.5-Coder-7B-Instruct-GGUF",
         "qwen2.5-coder-7b-instruct-q4_k_m.gguf", "main", "{}", "[]", at(21), at(21)},
    };
    EXPECT_EQ(*acme_aliases, want_acme);

    auto& models = store_->models();
    auto done = models.get_download_request("default", "dl-1");
    ASSERT_OK(done);
    DownloadRequest want_done{"dl-1",
                              "TheBloke/phi-2-GGUF",
                              "phi-2.Q4_K_M.gguf",
                              DownloadStatus::kCompleted,
                              std::nullopt,
                              1789239136,
                              1789239136,
                              from_micros(kStartMicros + 9000000),
                              at(10),
                              at(13)};
    EXPECT_EQ(*done, want_done);
    auto failed = models.get_download_request("acme", "dl-7");
    ASSERT_OK(failed);
    DownloadRequest want_failed{"dl-7",
                                "Qwen/Qwen2.5-Coder-7B-Instruct-GGUF",
                                "qwen2.5-coder-7b-instruct-q4_k_m.gguf",
                                DownloadStatus::kError,
                                "connection reset by peer",
                                std::nullopt,
                                0,
                                std::nullopt,
                                at(23),
                                at(23)};
    EXPECT_EQ(*failed, want_failed);
    EXPECT_CODE(models.get_download_request("acme", "dl-1"), Code::kNotFound);
  }

  TempDir dir_;
  std::unique_ptr<testing::TestDatabase> db_;
  ManualClock clock_{at(1000)};
  std::unique_ptr<repositories::Store> store_;
};

TEST_P(EventEvolutionTest, FixtureProjectsToTheRowsItWasWrittenAs) { expect_fixture_rows(); }

TEST_P(EventEvolutionTest, NewWritesGoOnTopAtTheCurrentVersion) {
  auto& settings = store_->settings();
  // Updates and deletes continue the fixture's streams and reservations.
  auto port = settings.upsert("default", "BODHI_PORT", "9090", "number");
  ASSERT_OK(port);
  EXPECT_EQ(*port, setting("BODHI_PORT", "9090", "number", 1, 1000));
  ASSERT_OK(settings.upsert("acme", "BODHI_SCHEME", "http", "Scheme.Name"));
  ASSERT_OK(settings.remove("default", "BODHI_EXEC_LOOKUP"));
  ASSERT_OK(settings.upsert("default", "BODHI_NEW", "on", "boolean"));
  auto& aliases = store_->user_aliases();
  EXPECT_CODE(
      aliases.create("default", "ua-3",
                     {.alias = "llama3:chat", .repo = "r", .filename = "f", .snapshot = "main"}),
      Code::kConflict);
  // Freed by the fixture's rename.
  EXPECT_OK(aliases.create(
      "default", "ua-3",
      {.alias = "llama3:instruct", .repo = "r", .filename = "f", .snapshot = "main"}));

  auto all = store_->internals().journal().read(1, 1000);
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), kFixtureEvents + 5);
  for (size_t i = kFixtureEvents; i < all->size(); ++i) {
    const Event& e = (*all)[i];
    events::EventKind kind = events::kind_of(e.envelope());
    EXPECT_EQ(e.stored_version(), events::current_version(kind)) << "position " << e.position();
    EXPECT_EQ(e.envelope().getEventVersion(), events::current_version(kind));
    EXPECT_OK(events::deep_validate(e));
    if (e.type() == PayloadType::SETTING_UPSERTED) {
      EXPECT_EQ(e.stored_version(), 2);
      EXPECT_EQ(e.payload().getSettingUpserted().getValueType().size(), 0u)
          << "version 2 never writes the deprecated field";
    }
  }
  auto custom = (*all)[kFixtureEvents + 1].payload().getSettingUpserted();
  EXPECT_EQ(custom.getKind(), schema::SettingKind::CUSTOM);
  EXPECT_EQ(Event::view(custom.getCustomType()), "Scheme.Name");

  std::vector<Setting> want_default = {
      setting("BODHI_HOME_GREETING", "Grüß dich, Welt", "string", 5, 5),
      setting("BODHI_KEEP_ALIVE_SECS", "600", "number", 15, 15),
      setting("BODHI_LOG_LEVEL", "debug", "option", 2, 9),
      setting("BODHI_NEW", "on", "boolean", 1000, 1000),
      setting("BODHI_PORT", "9090", "number", 1, 1000),
      setting("BODHI_TELEMETRY", "true", "boolean", 4, 16),
  };
  auto mine = settings.list("default");
  ASSERT_OK(mine);
  EXPECT_EQ(*mine, want_default);
  auto scheme = settings.get("acme", "BODHI_SCHEME");
  ASSERT_OK(scheme);
  EXPECT_EQ(*scheme, setting("BODHI_SCHEME", "http", "Scheme.Name", 20, 1000));

  // Old and new events together replay to the same rows from scratch.
  TempDir fresh;
  open("sqlite:" + fresh.sub("replayed.sqlite"));
  auto replayed = store_->settings().list("default");
  ASSERT_OK(replayed);
  EXPECT_EQ(*replayed, want_default);
  auto replayed_scheme = store_->settings().get("acme", "BODHI_SCHEME");
  ASSERT_OK(replayed_scheme);
  EXPECT_EQ(*replayed_scheme, *scheme);
}

INSTANTIATE_TEST_SUITE_P(Backends, EventEvolutionTest,
                         ::testing::Values(testing::Backend::kSqlite, testing::Backend::kPostgres),
                         testing::BackendName);

// --- Events this code cannot read -----------------------------------------------

class UnreadableEventTest : public ::testing::Test {
 protected:
  void SetUp() override {
    copy_fixture(dir_.sub("journal"));
    auto journal = journal::Journal::open_rocksdb(dir_.sub("journal"), {});
    ASSERT_OK(journal);
    journal_ = std::move(journal).value();
  }

  // Appends one settingUpserted, as a writer that sets the version itself.
  void append_setting(uint16_t event_version, const std::string& value_type) {
    events::NewEvent e("acme", "setting/BODHI_ODD", "system");
    auto p = e.payload().initSettingUpserted();
    p.setKey("BODHI_ODD");
    p.setValue("1");
    p.setValueType(value_type);
    e.envelope().setEventVersion(event_version);
    journal::AppendRequest request;
    request.org_id = "acme";
    request.events.push_back(std::move(e));
    ASSERT_OK(journal_->append(std::move(request)));
  }

  // The read of the appended event fails as kCorruption naming its position,
  // and so does reading from the start and reading the org.
  Status read_failure() {
    uint64_t position = journal_->head();
    auto one = journal_->read(position, 1);
    EXPECT_CODE(one, Code::kCorruption);
    EXPECT_EQ(one.status().subject(), "position " + std::to_string(position));
    auto all = journal_->read(1, 1000);
    EXPECT_CODE(all, Code::kCorruption);
    EXPECT_EQ(all.status().subject(), "position " + std::to_string(position));
    EXPECT_CODE(journal_->read_org("acme", 1, 1000), Code::kCorruption);
    // Everything before it still reads.
    EXPECT_OK(journal_->read(1, position - 1));
    return one.status();
  }

  TempDir dir_;
  std::unique_ptr<journal::Journal> journal_;
};

TEST_F(UnreadableEventTest, AFutureVersionIsCorruptionNamingThePosition) {
  append_setting(3, "");
  Status s = read_failure();
  EXPECT_NE(s.message().find("settingUpserted event is version 3"), std::string::npos)
      << s.to_string();
  EXPECT_NE(s.message().find("position 28"), std::string::npos) << s.to_string();
}

TEST_F(UnreadableEventTest, AVersionOneEventTheUpcasterCannotReadIsCorruption) {
  append_setting(0,
                 "num\xff"
                 "ber");
  Status s = read_failure();
  EXPECT_NE(s.message().find("cannot upcast settingUpserted version 1 -> 2"), std::string::npos)
      << s.to_string();
  EXPECT_NE(s.message().find("not UTF-8"), std::string::npos) << s.to_string();
}

}  // namespace
}  // namespace annals
