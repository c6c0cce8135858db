// Forgetting an org (crypto-shredding) over a real Store on both read
// backends: the org's data key is destroyed on disk and in memory, its events
// and non-secret rows stay, every call that returns one of its secrets fails
// with the erased error, and other orgs do not notice.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "annals/clock.h"
#include "annals/status.h"
#include "core/validate.h"
#include "repositories/operator.h"
#include "tests/model_alias_fixture.h"
#include "tests/secret_rows.h"
#include "tests/test_support.h"
#include "tests/toolset_repository_fixture.h"

namespace annals::repositories {
namespace {

using annals::testing::Backend;
using annals::testing::TempDir;
using annals::testing::TestDatabase;

std::string secret(const std::string& org, const std::string& what) {
  return "S3CRET-" + org + "-" + what;
}

// The status must be the erased error of a forgotten org.
void expect_erased(const Status& s, const std::string& org, const std::string& what) {
  EXPECT_EQ(s.code(), Code::kNotFound) << what << ": " << s.to_string();
  EXPECT_TRUE(is_forgotten_org(s)) << what << ": " << s.to_string();
  EXPECT_NE(s.message().find("secret erased: org '" + org + "' was forgotten at "),
            std::string::npos)
      << what << ": " << s.to_string();
}
#define EXPECT_ERASED(expr, org) expect_erased((expr).status(), (org), #expr)

// A seal for a forgotten org: refused, naming the org.
void expect_refused(const Status& s, const std::string& org, const std::string& what) {
  EXPECT_EQ(s.code(), Code::kNotFound) << what << ": " << s.to_string();
  EXPECT_TRUE(is_forgotten_org(s)) << what << ": " << s.to_string();
  EXPECT_NE(s.message().find("org '" + org + "' was forgotten at "), std::string::npos)
      << what << ": " << s.to_string();
}
#define EXPECT_SEAL_REFUSED(expr, org) expect_refused((expr).status(), (org), #expr)

class OrgForgetTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    ANNALS_SETUP_BACKEND(db_, GetParam(), dir_);
    open(db_->url());
  }

  void open(const std::string& url, const std::string& master_key = std::string(32, 'K')) {
    store_.reset();
    StoreOptions options;
    options.data_dir = dir_.sub("data");
    options.database_url = url;
    options.setup_database = true;  // a superuser URL: set it up first
    options.master_key = master_key;
    options.clock = &clock_;
    auto store = Store::open(options);
    ASSERT_OK(store);
    store_ = std::move(store).value();
  }

  std::string journal_dir() const { return dir_.sub("data") + "/journal"; }

  // A secret in every place that holds one, and rows that hold none.
  void write_org(const std::string& org) {
    ASSERT_NO_FATAL_FAILURE(annals::testing::write_secret_rows(
        *store_, org, [&](const std::string& what) { return secret(org, what); }, false));

    NewApiToken api_token;
    api_token.id = org + "-t1";
    api_token.user_id = "user-1";
    api_token.name = "laptop";
    api_token.token_prefix = "bodhiapp_" + org;
    api_token.token_hash = "hash";
    api_token.scopes = "scope_token_user";
    ASSERT_OK(store_->tokens().create(org, api_token));
    ASSERT_OK(store_->settings().upsert(org, "theme", "dark", "string"));
  }

  // Every call that returns one of the org's secrets gives the erased error.
  void expect_secrets_erased(const std::string& org) {
    auto& credentials = store_->mcp().credentials();
    EXPECT_ERASED(store_->models().get_api_key(org, "alias-1"), org);
    EXPECT_ERASED(store_->app_instance().get(org), org);
    EXPECT_ERASED(store_->toolsets().get_api_key(org, "user-1", "ts-1"), org);
    EXPECT_ERASED(credentials.get_auth_header_value(org, "hdr-1"), org);
    EXPECT_ERASED(credentials.get_oauth_client_credentials(org, "oc-1"), org);
    EXPECT_ERASED(credentials.get_oauth_registration_access_token(org, "oc-1"), org);
    EXPECT_ERASED(credentials.get_oauth_bearer(org, "user-1", "tok-1"), org);
    EXPECT_ERASED(credentials.get_oauth_token_secrets(org, "user-1", "tok-1"), org);
  }

  // Every call that returns one of the org's secrets returns what was written.
  void expect_secrets_open(const std::string& org) {
    auto& credentials = store_->mcp().credentials();
    auto alias_key = store_->models().get_api_key(org, "alias-1");
    ASSERT_OK(alias_key);
    EXPECT_EQ(*alias_key, secret(org, "alias"));
    auto instance = store_->app_instance().get(org);
    ASSERT_OK(instance);
    EXPECT_EQ(instance->client_secret, secret(org, "app-instance"));
    EXPECT_EQ(*store_->toolsets().get_api_key(org, "user-1", "ts-1"),
              std::optional<std::string>(secret(org, "toolset")));
    EXPECT_EQ(credentials.get_auth_header_value(org, "hdr-1")->second, secret(org, "header"));
    EXPECT_EQ(credentials.get_oauth_client_credentials(org, "oc-1")->client_secret,
              std::optional<std::string>(secret(org, "oauth-client")));
    EXPECT_EQ(*credentials.get_oauth_registration_access_token(org, "oc-1"),
              std::optional<std::string>(secret(org, "oauth-regtoken")));
    EXPECT_EQ(credentials.get_oauth_bearer(org, "user-1", "tok-1")->second,
              "Bearer " + secret(org, "token-access"));
  }

  // Reads that return no secret keep working for a forgotten org.
  void expect_plain_reads_work(const std::string& org) {
    auto& credentials = store_->mcp().credentials();
    auto alias = store_->models().get_api_alias(org, "alias-1");
    ASSERT_OK(alias);
    EXPECT_EQ(alias->base_url, "https://api.example.com/v1");
    EXPECT_OK(store_->models().list_api_aliases(org));
    auto toolset = store_->toolsets().get(org, "user-1", "ts-1");
    ASSERT_OK(toolset);
    EXPECT_TRUE(toolset->has_api_key);
    auto toolsets = store_->toolsets().list(org, "user-1");
    ASSERT_OK(toolsets);
    EXPECT_EQ(toolsets->size(), 1u);
    EXPECT_OK(store_->mcp().servers().get_server(org, "srv-1"));
    auto header = credentials.get_auth_header(org, "hdr-1");
    ASSERT_OK(header);
    EXPECT_EQ(header->header_key, "X-API-Key");
    EXPECT_OK(credentials.list_auth_headers(org, "srv-1"));
    auto config = credentials.get_oauth_config(org, "oc-1");
    ASSERT_OK(config);
    EXPECT_EQ(config->client_id, "oauth-client-1");
    EXPECT_OK(credentials.get_oauth_token(org, "user-1", "tok-1"));
    auto tokens = store_->tokens().list(org, "user-1", 1, 10);
    ASSERT_OK(tokens);
    EXPECT_EQ(tokens->total, 1);
    EXPECT_OK(store_->tokens().get_by_prefix("bodhiapp_" + org));
    auto theme = store_->settings().get(org, "theme");
    ASSERT_OK(theme);
    EXPECT_EQ(theme->value, "dark");
  }

  TempDir dir_;
  std::unique_ptr<TestDatabase> db_;
  ManualClock clock_{kStart};
  std::unique_ptr<Store> store_;
};

TEST_P(OrgForgetTest, ForgettingAnOrgErasesItsSecretsAndNothingElse) {
  write_org("acme");
  // Closing flushes: acme's key now sits in a table file, globex's in the
  // write-ahead log and the memtable. Forgetting must clear both kinds.
  open(db_->url());
  write_org("globex");
  expect_secrets_open("acme");
  auto& journal = store_->internals().journal();
  auto acme_key = journal.data_key("acme");
  auto globex_key = journal.data_key("globex");
  ASSERT_OK(acme_key);
  ASSERT_OK(globex_key);
  ASSERT_TRUE(acme_key->has_value());
  ASSERT_TRUE(globex_key->has_value());
  const uint64_t head = journal.head();
  auto acme_events = journal.read_org("acme", 1, 100000);
  ASSERT_OK(acme_events);
  ASSERT_FALSE(acme_events->empty());
  // The search can find things: the key is in the files before forgetting.
  ASSERT_NE(testing::read_tree(journal_dir()).find(**acme_key), std::string::npos);

  clock_.advance(std::chrono::seconds(90));
  ASSERT_OK(store_->forget_org("acme"));

  expect_secrets_erased("acme");
  auto erased = store_->toolsets().get_api_key("acme", "user-1", "ts-1");
  EXPECT_NE(erased.status().message().find("2026-01-01T00:01:30"), std::string::npos)
      << erased.status().to_string();
  expect_plain_reads_work("acme");
  expect_secrets_open("globex");
  expect_plain_reads_work("globex");

  // The key is gone from the journal folder: no table or log file holds it,
  // while the other org's key (random bytes too) is still found.
  std::string files = testing::read_tree(journal_dir());
  EXPECT_EQ(files.find(**acme_key), std::string::npos) << "acme's wrapped key is still on disk";
  EXPECT_NE(files.find(**globex_key), std::string::npos);
  EXPECT_EQ(*journal.data_key("acme"), std::nullopt);
  EXPECT_EQ(*journal.data_key_forgotten_at("acme"),
            std::optional<int64_t>(to_micros(kStart) + 90'000'000));
  EXPECT_EQ(*journal.data_key_forgotten_at("globex"), std::nullopt);

  // History is untouched: same head, the org's events all still read.
  EXPECT_EQ(journal.head(), head);
  auto after = journal.read_org("acme", 1, 100000);
  ASSERT_OK(after);
  ASSERT_EQ(after->size(), acme_events->size());
  for (size_t i = 0; i < after->size(); ++i) {
    EXPECT_EQ((*after)[i].position(), (*acme_events)[i].position());
  }
  EXPECT_OK(journal.read(1, static_cast<size_t>(head)));

  // Closing the store flushes again: still not on disk.
  store_.reset();
  EXPECT_EQ(testing::read_tree(journal_dir()).find(**acme_key), std::string::npos);
}

TEST_P(OrgForgetTest, AKeyStillOnlyInTheWriteAheadLogIsShreddedToo) {
  // Nothing flushed yet: the key's only copy on disk is in the live
  // write-ahead log, beside events of families that were never flushed.
  write_org("acme");
  auto key = store_->internals().journal().data_key("acme");
  ASSERT_OK(key);
  ASSERT_TRUE(key->has_value());
  ASSERT_NE(testing::read_tree(journal_dir()).find(**key), std::string::npos);
  ASSERT_OK(store_->forget_org("acme"));
  EXPECT_EQ(testing::read_tree(journal_dir()).find(**key), std::string::npos)
      << "acme's wrapped key is still on disk";
  expect_secrets_erased("acme");
  expect_plain_reads_work("acme");
}

TEST_P(OrgForgetTest, SealForAForgottenOrgIsRefusedAndAppendsNothing) {
  write_org("acme");
  ASSERT_OK(store_->forget_org("acme"));
  const uint64_t head = store_->internals().journal().head();

  Secrets& secrets = *store_->internals().secrets();
  EXPECT_SEAL_REFUSED(secrets.seal("acme", "toolsets.api_key/ts-2", "sk-new"), "acme");
  NewToolset toolset = toolset_tests::new_toolset("ts-2", "exa-2");
  toolset.api_key = "sk-new";
  EXPECT_SEAL_REFUSED(store_->toolsets().create("acme", toolset), "acme");
  ToolsetUpdate update;
  update.slug = "exa";
  update.api_key = SecretChange::set("sk-newer");
  EXPECT_SEAL_REFUSED(store_->toolsets().update("acme", "user-1", "ts-1", update), "acme");
  NewAppInstance instance;
  instance.client_id = "client-2";
  instance.client_secret = "cs-new";
  instance.scope = "scope_user";
  EXPECT_SEAL_REFUSED(store_->app_instance().upsert("acme", instance), "acme");
  EXPECT_EQ(store_->internals().journal().head(), head);

  // No new key was created behind the tombstone.
  EXPECT_EQ(*store_->internals().journal().data_key("acme"), std::nullopt);
  EXPECT_CODE(store_->internals().journal().put_data_key_if_absent("acme", std::string(60, 'w')),
              Code::kNotFound);
  EXPECT_EQ(*store_->internals().journal().data_key("acme"), std::nullopt);

  // An org that never had a key is recorded as forgotten all the same.
  ASSERT_OK(store_->forget_org("newco"));
  EXPECT_TRUE(store_->internals().journal().data_key_forgotten_at("newco")->has_value());
  EXPECT_SEAL_REFUSED(secrets.seal("newco", "p", "x"), "newco");
  EXPECT_SEAL_REFUSED(
      store_->models().create_api_alias("newco", new_alias("alias-9", std::nullopt, "sk-9")),
      "newco");
  EXPECT_EQ(store_->internals().journal().head(), head);
  EXPECT_EQ(*store_->internals().journal().data_key("newco"), std::nullopt);
}

TEST_P(OrgForgetTest, ReopeningTheStoreKeepsTheOrgForgotten) {
  write_org("acme");
  write_org("globex");
  ASSERT_OK(store_->forget_org("acme"));
  open(db_->url());
  expect_secrets_erased("acme");
  expect_plain_reads_work("acme");
  expect_secrets_open("globex");
  EXPECT_SEAL_REFUSED(store_->internals().secrets()->seal("acme", "p", "x"), "acme");

  // A store without the master key can forget too; the next one with it
  // finds the org forgotten.
  store_.reset();
  StoreOptions options;
  options.data_dir = dir_.sub("data");
  options.database_url = db_->url();
  options.setup_database = true;  // a superuser URL: set it up first
  options.clock = &clock_;
  auto keyless = Store::open(options);
  ASSERT_OK(keyless);
  ASSERT_EQ((*keyless)->internals().secrets(), nullptr);
  ASSERT_OK((*keyless)->forget_org("globex"));
  keyless->reset();
  open(db_->url());
  expect_secrets_erased("globex");
  expect_plain_reads_work("globex");
}

TEST_P(OrgForgetTest, RebuildingIntoAFreshReadDatabaseKeepsTheSecretsErased) {
  write_org("acme");
  write_org("globex");
  ASSERT_OK(store_->forget_org("acme"));
  const uint64_t head = store_->internals().journal().head();
  store_.reset();

  // What a rebuild does: every event of the journal projected again into an
  // empty read database.
  TempDir fresh_dir;
  std::unique_ptr<TestDatabase> fresh;
  ANNALS_SETUP_BACKEND(fresh, GetParam(), fresh_dir);
  open(fresh->url());
  EXPECT_EQ(store_->internals().journal().head(), head);
  for (const auto& [name, position] : store_->internals().projector().checkpoints()) {
    EXPECT_EQ(position, head) << name;
  }
  expect_plain_reads_work("acme");
  expect_secrets_erased("acme");
  expect_plain_reads_work("globex");
  expect_secrets_open("globex");
  store_.reset();
}

TEST_P(OrgForgetTest, ForgettingTwiceKeepsTheFirstTime) {
  write_org("acme");
  ASSERT_OK(store_->forget_org("acme"));
  clock_.advance(std::chrono::hours(24));
  ASSERT_OK(store_->forget_org("acme"));
  EXPECT_EQ(*store_->internals().journal().data_key_forgotten_at("acme"),
            std::optional<int64_t>(to_micros(kStart)));
  auto erased = store_->models().get_api_key("acme", "alias-1");
  EXPECT_ERASED(erased, "acme");
  EXPECT_NE(erased.status().message().find("2026-01-01T00:00:00"), std::string::npos)
      << erased.status().to_string();
}

TEST_P(OrgForgetTest, BadOrgIdsAreRefusedAndNothingIsWritten) {
  write_org("acme");
  const uint64_t head = store_->internals().journal().head();
  const std::vector<std::string> bad = {"",
                                        std::string(kMaxOrgIdLength + 1, 'a'),
                                        "acme/../globex",
                                        "acme globex",
                                        std::string("acme\0x", 6),
                                        "acme'; DROP TABLE settings; --",
                                        "ünicöde",
                                        "\xff\xfe"};
  for (const std::string& org : bad) {
    Status s = store_->forget_org(org);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.to_string();
    EXPECT_EQ(s.subject(), "org_id") << s.to_string();
    EXPECT_CODE(store_->internals().secrets()->forget(org), Code::kInvalidArgument);
    EXPECT_CODE(store_->internals().journal().forget_data_key(org, 1), Code::kInvalidArgument);
    EXPECT_EQ(*store_->internals().journal().data_key_forgotten_at(org), std::nullopt);
  }
  EXPECT_EQ(store_->internals().journal().head(), head);
  // "acme" itself was not caught by any of them.
  expect_secrets_open("acme");
}

INSTANTIATE_TEST_SUITE_P(Backends, OrgForgetTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         annals::testing::BackendName);

}  // namespace
}  // namespace annals::repositories
