// Secrets never reach disk in plain text: a known secret is written through
// every call that takes one, then the raw RocksDB files, the SQLite file and
// a PostgreSQL dump are searched for it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "repositories/operator.h"
#include "tests/test_support.h"

namespace annals::repositories {
namespace {

using annals::testing::Backend;

// Distinct per call, so a hit says which call leaked.
std::string secret(const std::string& what) { return "S3CRET-" + what + "-q8Zr2vXkP1mW7tYb"; }

const std::vector<std::string> kCalls = {
    "alias-create",  "alias-update",    "app-instance",    "toolset-create", "toolset-update",
    "header-create", "header-update",   "oauth-client",    "oauth-regtoken", "token-access",
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

  void write_every_secret() {
    const std::string org = "acme";
    NewApiModelAlias alias;
    alias.id = "alias-1";
    alias.api_format = "openai";
    alias.base_url = "https://api.example.com/v1";
    alias.models = "[\"gpt-4\"]";
    alias.api_key = secret("alias-create");
    ASSERT_OK(store_->models().create_api_alias(org, alias));
    ApiModelAliasUpdate alias_update;
    alias_update.api_format = "openai";
    alias_update.base_url = "https://api.example.com/v1";
    alias_update.models = "[\"gpt-4\"]";
    alias_update.api_key = SecretChange::set(secret("alias-update"));
    ASSERT_OK(store_->models().update_api_alias(org, "alias-1", alias_update));

    NewAppInstance instance;
    instance.client_id = "client-1";
    instance.client_secret = secret("app-instance");
    instance.scope = "scope_user";
    ASSERT_OK(store_->app_instance().upsert(org, instance));

    NewToolset toolset;
    toolset.id = "ts-1";
    toolset.user_id = "user-1";
    toolset.toolset_type = "builtin-exa-search";
    toolset.slug = "exa";
    toolset.api_key = secret("toolset-create");
    ASSERT_OK(store_->toolsets().create(org, toolset));
    ToolsetUpdate toolset_update;
    toolset_update.slug = "exa";
    toolset_update.api_key = SecretChange::set(secret("toolset-update"));
    ASSERT_OK(store_->toolsets().update(org, "user-1", "ts-1", toolset_update));

    NewMcpServer server;
    server.id = "srv-1";
    server.url = "https://mcp.example.com";
    server.name = "example";
    server.created_by = "admin";
    ASSERT_OK(store_->mcp().servers().create_server(org, server));

    auto& credentials = store_->mcp().credentials();
    NewMcpAuthHeader header;
    header.id = "hdr-1";
    header.name = "api key";
    header.mcp_server_id = "srv-1";
    header.header_key = "X-API-Key";
    header.value = secret("header-create");
    header.created_by = "admin";
    ASSERT_OK(credentials.create_auth_header(org, header));
    McpAuthHeaderUpdate header_update;
    header_update.name = "api key";
    header_update.header_key = "X-API-Key";
    header_update.value = SecretChange::set(secret("header-update"));
    ASSERT_OK(credentials.update_auth_header(org, "hdr-1", header_update));

    NewMcpOAuthConfig config;
    config.id = "oc-1";
    config.name = "oauth";
    config.mcp_server_id = "srv-1";
    config.registration_type = "dynamic";
    config.client_id = "oauth-client-1";
    config.client_secret = secret("oauth-client");
    config.authorization_endpoint = "https://auth.example.com/authorize";
    config.token_endpoint = "https://auth.example.com/token";
    config.registration_endpoint = "https://auth.example.com/register";
    config.registration_access_token = secret("oauth-regtoken");
    config.created_by = "admin";
    ASSERT_OK(credentials.create_oauth_config(org, config));

    NewMcpOAuthToken token;
    token.id = "tok-1";
    token.mcp_oauth_config_id = "oc-1";
    token.access_token = secret("token-access");
    token.refresh_token = secret("token-refresh");
    token.created_by = "user-1";
    ASSERT_OK(credentials.create_oauth_token(org, token));
    McpOAuthTokenUpdate token_update;
    token_update.access_token = SecretChange::set(secret("token-access-v2"));
    token_update.refresh_token = SecretChange::set(secret("token-refresh-v2"));
    ASSERT_OK(credentials.update_oauth_token(org, "user-1", "tok-1", token_update));
  }

  // Every file under `root`, concatenated.
  static std::string read_tree(const std::string& root) {
    std::string all;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      all.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    return all;
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
  std::string journal = read_tree(dir_.sub("data") + "/journal");
  store_.reset();
  journal += read_tree(dir_.sub("data") + "/journal");
  std::string database = GetParam() == Backend::kSqlite ? read_tree(dir_.path()) : postgres_dump();
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
