// Secrets never reach disk in plain text: a known secret is written through
// every call that takes one, then the raw RocksDB files, the SQLite file and
// a PostgreSQL dump are searched for it.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "repositories/operator.h"
#include "tests/secret_rows.h"
#include "tests/test_support.h"

namespace annals::repositories {
namespace {

using annals::testing::Backend;

// Distinct per call, so a hit says which call leaked.
std::string secret(const std::string& what) { return "S3CRET-" + what + "-q8Zr2vXkP1mW7tYb"; }

const std::vector<std::string> kCalls = {
    "alias",         "alias-update",    "app-instance",    "toolset",        "toolset-update",
    "header",        "header-update",   "oauth-client",    "oauth-regtoken", "token-access",
    "token-refresh", "token-access-v2", "token-refresh-v2"};

class SecretStorageTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    ANNALS_SETUP_BACKEND(db_, GetParam(), dir_);
    open(std::string(32, 'K'));
  }

  void open(const std::string& master_key) {
    store_.reset();
    StoreOptions options;
    options.data_dir = dir_.sub("data");
    options.database_url = db_->url();
    options.setup_database = true;  // a superuser URL: set it up first
    options.master_key = master_key;
    auto store = Store::open(options);
    ASSERT_OK(store);
    store_ = std::move(store).value();
  }

  // Writes every secret of kCalls, and checks each was handed to a call, so
  // that a search for one that finds nothing means something.
  void write_every_secret() {
    std::vector<std::string> written;
    ASSERT_NO_FATAL_FAILURE(annals::testing::write_secret_rows(
        *store_, "acme",
        [&](const std::string& call) {
          written.push_back(call);
          return secret(call);
        },
        true));
    std::sort(written.begin(), written.end());
    std::vector<std::string> expected = kCalls;
    std::sort(expected.begin(), expected.end());
    ASSERT_EQ(written, expected);
  }

  std::string postgres_dump() {
    std::string dump_bin;
    for (const char* v : {"17", "16", "15", "14", "13"}) {
      std::string candidate = std::string("/usr/lib/postgresql/") + v + "/bin/pg_dump";
      if (std::filesystem::exists(candidate)) {
        dump_bin = candidate;
        break;
      }
    }
    EXPECT_FALSE(dump_bin.empty()) << "pg_dump not found";
    std::string cmd = dump_bin + " --data-only '" + db_->url() + "' 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    size_t n;
    while (p && (n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    EXPECT_EQ(p ? pclose(p) : -1, 0) << out;
    return out;
  }

  annals::testing::TempDir dir_;
  std::unique_ptr<annals::testing::TestDatabase> db_;
  std::unique_ptr<Store> store_;
};

TEST_P(SecretStorageTest, NoSecretIsStoredInPlainText) {
  write_every_secret();
  // The calls that exist to return secrets do return them.
  auto& credentials = store_->mcp().credentials();
  EXPECT_EQ(*store_->models().get_api_key("acme", "alias-1"), secret("alias-update"));
  EXPECT_EQ(store_->app_instance().get("acme")->client_secret, secret("app-instance"));
  EXPECT_EQ(*store_->toolsets().get_api_key("acme", "user-1", "ts-1"),
            std::optional<std::string>(secret("toolset-update")));
  EXPECT_EQ(credentials.get_auth_header_value("acme", "hdr-1")->second, secret("header-update"));
  EXPECT_EQ(credentials.get_oauth_client_credentials("acme", "oc-1")->client_secret,
            std::optional<std::string>(secret("oauth-client")));
  EXPECT_EQ(credentials.get_oauth_bearer("acme", "user-1", "tok-1")->second,
            "Bearer " + secret("token-access-v2"));

  // While the store is open the journal's write-ahead log holds every event
  // uncompressed; after close the events are in (compressed) table files.
  // Search both.
  std::string journal = testing::read_tree(dir_.sub("data") + "/journal");
  store_.reset();
  journal += testing::read_tree(dir_.sub("data") + "/journal");
  std::string database =
      GetParam() == Backend::kSqlite ? testing::read_tree(dir_.path()) : postgres_dump();
  ASSERT_GT(journal.size(), 1000u);
  ASSERT_GT(database.size(), 1000u);
  // The search can find things: non-secret values written alongside are there.
  EXPECT_NE(journal.find("oauth-client-1"), std::string::npos);
  EXPECT_NE(database.find("oauth-client-1"), std::string::npos);
  for (const std::string& call : kCalls) {
    EXPECT_EQ(journal.find(secret(call)), std::string::npos) << call << " leaked into the journal";
    EXPECT_EQ(database.find(secret(call)), std::string::npos) << call << " leaked into the tables";
  }
}

TEST_P(SecretStorageTest, AWrongMasterKeyIsAClearErrorNotGarbage) {
  write_every_secret();
  open(std::string(32, 'W'));
  auto key = store_->models().get_api_key("acme", "alias-1");
  EXPECT_CODE(key, Code::kPermissionDenied);
  EXPECT_NE(key.status().message().find("master key"), std::string::npos)
      << key.status().to_string();
  EXPECT_CODE(store_->app_instance().get("acme"), Code::kPermissionDenied);
  EXPECT_CODE(store_->mcp().credentials().get_oauth_bearer("acme", "user-1", "tok-1"),
              Code::kPermissionDenied);
  // Rows without secrets still read fine.
  EXPECT_OK(store_->mcp().servers().get_server("acme", "srv-1"));
}

TEST_P(SecretStorageTest, WithoutAMasterKeySecretCallsFailClearly) {
  store_.reset();
  StoreOptions options;
  options.data_dir = dir_.sub("data");
  options.database_url = db_->url();
  options.setup_database = true;  // a superuser URL: set it up first
  auto store = Store::open(options);
  ASSERT_OK(store);
  NewApiModelAlias alias;
  alias.id = "alias-2";
  alias.api_format = "openai";
  alias.base_url = "https://api.example.com/v1";
  alias.models = "[]";
  alias.api_key = "sk-123";
  uint64_t head = (*store)->internals().journal().head();
  auto r = (*store)->models().create_api_alias("acme", alias);
  EXPECT_CODE(r, Code::kInvalidArgument);
  EXPECT_EQ(r.status().subject(), "master_key");
  EXPECT_EQ((*store)->internals().journal().head(), head);
}

INSTANTIATE_TEST_SUITE_P(Backends, SecretStorageTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         annals::testing::BackendName);

}  // namespace
}  // namespace annals::repositories
