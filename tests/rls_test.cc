// Row-level security on PostgreSQL, tested the way an attacker would try it:
// as the runtime roles, with raw SQL that forgets (or fights) the org filter.
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "annals/store.h"
#include "projections/postgres_setup.h"
#include "repositories/operator.h"
#include "tests/test_support.h"

namespace annals {
namespace {

using repositories::NewApiToken;
using repositories::Store;
using repositories::StoreOptions;

class RowLevelSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ANNALS_SETUP_BACKEND(db_, testing::Backend::kPostgres, dir_);
    StoreOptions options;
    options.data_dir = dir_.path();
    options.database_url = db_->url();  // superuser: set up, then served as the roles
    options.setup_database = true;      // a superuser URL: set it up first
    options.clock = &clock_;
    options.master_key = std::string(32, 'k');  // for the rows that hold secrets
    auto store = Store::open(options);
    ASSERT_OK(store);
    store_ = std::move(store).value();
    for (const char* org : {"org_a", "org_b", "o.r-g_c"}) {
      for (int i = 0; i < 3; ++i) {
        ASSERT_OK(store_->settings().upsert(org, "key" + std::to_string(i), "v", "string"));
        NewApiToken t;
        t.id = std::string(org) + "-t" + std::to_string(i);
        t.user_id = "user";
        t.token_prefix = std::string("p_") + org + std::to_string(i);
        t.token_hash = "h";
        t.scopes = "scope_token_user";
        ASSERT_OK(store_->tokens().create(org, t));
      }
    }
    // --- ModelRepository: download_requests, api_model_aliases, model_metadata ---
    {
      auto* models = &store_->models();
      for (const char* org : {"org_a", "org_b", "o.r-g_c"}) {
        for (int i = 0; i < 2; ++i) {
          const std::string n = std::to_string(i);
          repositories::DownloadRequestInput download;
          download.id = std::string(org) + "-dl" + n;
          download.repo = "repo/" + n;
          download.filename = "model.gguf";
          ASSERT_OK(models->create_download_request(org, download));
          repositories::NewApiModelAlias alias;
          alias.id = std::string(org) + "-alias" + n;
          alias.api_format = "openai";
          alias.base_url = "https://api.example.com/v1";
          alias.models = "[\"m\"]";
          alias.prefix = "p" + n + "/";
          ASSERT_OK(models->create_api_alias(org, alias));
          repositories::ModelMetadataInput metadata;
          metadata.repo = "repo/" + n;
          metadata.filename = "model.gguf";
          metadata.snapshot = "main";
          ASSERT_OK(models->upsert_model_metadata(org, metadata));
        }
      }
    }
    // --- end ModelRepository ---
    // --- McpAuthRepository: mcp_auth_headers, mcp_oauth_configs, mcp_oauth_tokens ---
    {
      auto* mcp_auth = &store_->mcp().credentials();
      for (const std::string org : {"org_a", "org_b", "o.r-g_c"}) {
        for (int i = 0; i < 2; ++i) {
          const std::string n = org + "-" + std::to_string(i);
          ASSERT_OK(mcp_auth->create_auth_header(
              org, {"hdr-" + n, "header " + n, "srv-" + n, "X-API-Key", "value", "admin"}));
          repositories::NewMcpOAuthConfig config;
          config.id = "cfg-" + n;
          config.name = "config " + n;
          config.mcp_server_id = "srv-" + n;
          config.registration_type = "pre-registered";
          config.client_id = "client";
          config.client_secret = "secret";
          config.authorization_endpoint = "https://auth.example.com/authorize";
          config.token_endpoint = "https://auth.example.com/token";
          config.created_by = "admin";
          ASSERT_OK(mcp_auth->create_oauth_config(org, config));
          repositories::NewMcpOAuthToken token;
          token.id = "tok-" + n;
          token.mcp_oauth_config_id = config.id;
          token.access_token = "access";
          token.created_by = "user";
          ASSERT_OK(mcp_auth->create_oauth_token(org, token));
        }
      }
    }
    // --- end McpAuthRepository ---
    // --- Access: user_access_requests, app_access_requests, app_instances, user_aliases ---
    {
      auto* access = &store_->access();
      auto* app_requests = &store_->access_requests();
      auto* instances = &store_->app_instance();
      auto* user_aliases = &store_->user_aliases();
      for (const std::string org : {"org_a", "org_b", "o.r-g_c"}) {
        for (int i = 0; i < 2; ++i) {
          const std::string n = org + "-" + std::to_string(i);
          ASSERT_OK(access->insert_pending(org, "user " + n, "user-" + n));
          repositories::NewAppAccessRequest request;
          request.id = "aar-" + n;
          request.app_client_id = "app-" + n;
          request.expires_at = clock_.now() + std::chrono::minutes(10);
          ASSERT_OK(app_requests->create(org, request));
          repositories::UserAliasFields alias;
          alias.alias = "alias-" + n;
          alias.repo = "repo/" + n;
          alias.filename = "model.gguf";
          alias.snapshot = "main";
          ASSERT_OK(user_aliases->create(org, "ua-" + n, alias));
        }
        ASSERT_OK(app_requests->approve(org, "aar-" + org + "-0", "user", "{}", "scope_resource",
                                        "scope_access_request:" + org));
        ASSERT_OK(instances->upsert(org, {"client-" + org, "secret", "scope_resource", "ready"}));
      }
    }
    // --- end Access ---
    // --- ToolsetRepository and McpServerRepository: toolsets, app_toolset_configs,
    // mcp_servers, mcps ---
    {
      auto* toolsets = &store_->toolsets();
      auto* mcp = &store_->mcp().servers();
      for (const std::string org : {"org_a", "org_b", "o.r-g_c"}) {
        for (int i = 0; i < 2; ++i) {
          const std::string n = org + "-" + std::to_string(i);
          repositories::NewToolset toolset;
          toolset.id = "ts-" + n;
          toolset.user_id = "user";
          toolset.toolset_type = "builtin-exa-search";
          toolset.slug = "search-" + std::to_string(i);
          if (i == 0) toolset.api_key = "key";
          ASSERT_OK(toolsets->create(org, toolset));
          ASSERT_OK(toolsets->set_app_enabled(org, "type-" + std::to_string(i), i == 0, "admin"));
          ASSERT_OK(mcp->create_server(org, {"srv-" + n, "https://mcp.example/" + n, "server " + n,
                                             std::nullopt, true, "admin"}));
          repositories::NewMcpInstance instance;
          instance.id = "mcp-" + n;
          instance.created_by = "user";
          instance.mcp_server_id = "srv-" + n;
          instance.name = "instance " + n;
          instance.slug = "mcp-" + std::to_string(i);
          instance.tools_cache = "[]";
          ASSERT_OK(mcp->create_instance(org, instance));
        }
      }
    }
    // --- end ToolsetRepository and McpServerRepository ---
    query_ = std::make_unique<pqxx::connection>(db_->url_as(db::kQueryRole));
    projector_ = std::make_unique<pqxx::connection>(db_->url_as(db::kProjectorRole));
    admin_ = std::make_unique<pqxx::connection>(db_->url());
  }

  // Every table in the annals schema, from the catalog: a table added later
  // is covered without touching this test.
  std::vector<std::string> tables() {
    pqxx::nontransaction tx(*admin_);
    std::vector<std::string> out;
    for (const auto& row :
         tx.exec("SELECT tablename FROM pg_tables WHERE schemaname = 'annals' ORDER BY 1")) {
      out.push_back(row[0].c_str());
    }
    return out;
  }

  int64_t admin_count(const std::string& table, const std::string& org) {
    pqxx::nontransaction tx(*admin_);
    return tx
        .exec_params("SELECT count(*) FROM annals." + tx.quote_name(table) + " WHERE org_id = $1",
                     org)[0][0]
        .as<int64_t>();
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::TestDatabase> db_;
  ManualClock clock_{from_micros(1'800'000'000'000'000)};
  std::unique_ptr<Store> store_;
  std::unique_ptr<pqxx::connection> query_, projector_, admin_;
};

TEST_F(RowLevelSecurityTest, TheSchemaHasTheTablesThisTestExpects) {
  auto t = tables();
  EXPECT_NE(std::find(t.begin(), t.end(), "settings"), t.end());
  EXPECT_NE(std::find(t.begin(), t.end(), "api_tokens"), t.end());
}

TEST_F(RowLevelSecurityTest, SelectStarWithAnOrgSetReturnsOnlyThatOrgsRowsForEveryTable) {
  for (const std::string& table : tables()) {
    for (const std::string org : {"org_a", "org_b", "o.r-g_c"}) {
      pqxx::work tx(*query_);
      tx.exec_params("SELECT set_config('app.current_org_id', $1, true)", org);
      pqxx::result rows = tx.exec("SELECT org_id FROM annals." + tx.quote_name(table));
      EXPECT_EQ(static_cast<int64_t>(rows.size()), admin_count(table, org)) << table << " " << org;
      EXPECT_GT(rows.size(), 0u) << table << " holds no rows of " << org << ": seed it";
      for (const auto& row : rows) EXPECT_EQ(std::string(row[0].c_str()), org) << table;
    }
  }
}

TEST_F(RowLevelSecurityTest, WithNoOrgSetEveryTableIsEmpty) {
  for (const std::string& table : tables()) {
    {
      pqxx::work tx(*query_);
      EXPECT_EQ(tx.exec("SELECT * FROM annals." + tx.quote_name(table)).size(), 0u) << table;
    }
    {
      pqxx::work tx(*query_);
      tx.exec("SELECT set_config('app.current_org_id', '', true)");
      EXPECT_EQ(tx.exec("SELECT * FROM annals." + tx.quote_name(table)).size(), 0u) << table;
    }
    {
      pqxx::work tx(*projector_);
      EXPECT_EQ(tx.exec("SELECT * FROM annals." + tx.quote_name(table)).size(), 0u) << table;
    }
  }
}

TEST_F(RowLevelSecurityTest, HostileOrgIdsAreJustData) {
  for (const std::string hostile :
       {"org_a' OR '1'='1", "%", "org_%", "*", "org_a%", "' OR org_id IS NOT NULL --", "org_a\\"}) {
    pqxx::work tx(*query_);
    tx.exec_params("SELECT set_config('app.current_org_id', $1, true)", hostile);
    for (const std::string& table : tables()) {
      EXPECT_EQ(tx.exec("SELECT * FROM annals." + tx.quote_name(table)).size(), 0u)
          << table << " with org " << hostile;
    }
  }
}

TEST_F(RowLevelSecurityTest, WritingAnotherOrgsRowsIsRejectedOrReachesNothing) {
  int64_t b_settings = admin_count("settings", "org_b");
  {
    pqxx::work tx(*projector_);
    tx.exec("SELECT set_config('app.current_org_id', 'org_a', true)");
    EXPECT_THROW(tx.exec("INSERT INTO annals.settings (org_id, key, value, value_type, created_at,"
                         " updated_at, version) VALUES ('org_b', 'x', 'v', 'string', 0, 0, 1)"),
                 pqxx::insufficient_privilege);
  }
  {
    pqxx::work tx(*projector_);
    tx.exec("SELECT set_config('app.current_org_id', 'org_a', true)");
    EXPECT_THROW(tx.exec("UPDATE annals.settings SET org_id = 'org_b' WHERE key = 'key0'"),
                 pqxx::insufficient_privilege);
  }
  {
    pqxx::work tx(*projector_);
    tx.exec("SELECT set_config('app.current_org_id', 'org_a', true)");
    EXPECT_EQ(tx.exec("UPDATE annals.settings SET value = 'pwned' WHERE org_id = 'org_b'")
                  .affected_rows(),
              0u);
    EXPECT_EQ(tx.exec("DELETE FROM annals.settings WHERE org_id = 'org_b'").affected_rows(), 0u);
    EXPECT_EQ(tx.exec("DELETE FROM annals.api_tokens WHERE org_id <> 'org_a'").affected_rows(), 0u);
    tx.commit();
  }
  EXPECT_EQ(admin_count("settings", "org_b"), b_settings);
  pqxx::nontransaction check(*admin_);
  EXPECT_EQ(
      check.exec("SELECT count(*) FROM annals.settings WHERE value = 'pwned'")[0][0].as<int>(), 0);
}

TEST_F(RowLevelSecurityTest, TheQueryRoleCannotWriteAtAll) {
  pqxx::work tx(*query_);
  tx.exec("SELECT set_config('app.current_org_id', 'org_a', true)");
  EXPECT_THROW(tx.exec("INSERT INTO annals.settings (org_id, key, value, value_type, created_at,"
                       " updated_at, version) VALUES ('org_a', 'x', 'v', 'string', 0, 0, 1)"),
               pqxx::insufficient_privilege);
}

TEST_F(RowLevelSecurityTest, SetRoleDisableAndRowSecurityOffDoNotHelp) {
  for (pqxx::connection* conn : {query_.get(), projector_.get()}) {
    for (const std::string escape :
         {"SET ROLE annals_owner", "SET ROLE postgres", "SET SESSION AUTHORIZATION postgres",
          "ALTER TABLE annals.settings DISABLE ROW LEVEL SECURITY",
          "ALTER TABLE annals.settings NO FORCE ROW LEVEL SECURITY",
          "DROP POLICY org_isolation ON annals.settings",
          "CREATE POLICY everything ON annals.settings USING (true)",
          "ALTER ROLE CURRENT_USER BYPASSRLS", "GRANT annals_owner TO CURRENT_USER"}) {
      pqxx::work tx(*conn);
      EXPECT_THROW(tx.exec(escape), pqxx::sql_error) << escape;
    }
    pqxx::work tx(*conn);
    tx.exec("SET LOCAL row_security = off");
    // For a role subject to RLS, row_security=off makes the query fail
    // rather than see other orgs' rows.
    EXPECT_THROW(tx.exec("SELECT * FROM annals.settings"), pqxx::sql_error);
  }
}

TEST_F(RowLevelSecurityTest, TheOrgSettingEndsWithItsTransaction) {
  db::DatabaseOptions one;
  one.pool_size = 1;  // the same pooled connection serves both transactions
  auto database = db::Database::open(db_->url_as(db::kQueryRole), one);
  ASSERT_OK(database);
  {
    auto txn = (*database)->begin(db::Access::kRead);
    ASSERT_OK(txn);
    ASSERT_OK((*txn)->set_org("org_a"));
    auto rows = (*txn)->query("SELECT * FROM settings");
    ASSERT_OK(rows);
    EXPECT_EQ(rows->size(), 3u);
    ASSERT_OK((*txn)->commit());
  }
  auto txn = (*database)->begin(db::Access::kRead);
  ASSERT_OK(txn);
  auto rows = (*txn)->query("SELECT * FROM settings");
  ASSERT_OK(rows);
  EXPECT_EQ(rows->size(), 0u);
  auto setting = (*txn)->query("SELECT current_setting('app.current_org_id', true)");
  ASSERT_OK(setting);
  EXPECT_TRUE((*setting)[0].is_null(0) || (*setting)[0].text(0).empty());
}

TEST_F(RowLevelSecurityTest, TokenByPrefixIsTheOneOrgLessPathAndReturnsOnlyTheMatch) {
  {
    pqxx::work tx(*query_);  // no org set
    auto hit = tx.exec("SELECT org_id, id FROM annals.token_by_prefix('p_org_b1')");
    ASSERT_EQ(hit.size(), 1u);
    EXPECT_EQ(std::string(hit[0][0].c_str()), "org_b");
    EXPECT_EQ(tx.exec("SELECT * FROM annals.token_by_prefix('p_org_%')").size(), 0u);
    EXPECT_EQ(tx.exec("SELECT * FROM annals.token_by_prefix('')").size(), 0u);
  }
  {
    pqxx::work tx(*projector_);
    EXPECT_THROW(tx.exec("SELECT * FROM annals.token_by_prefix('p_org_b1')"),
                 pqxx::insufficient_privilege);
  }
  auto via_repository = store_->tokens().get_by_prefix("p_o.r-g_c2");
  ASSERT_OK(via_repository);
  EXPECT_EQ(via_repository->org_id, "o.r-g_c");
}

// Everything wrong with the annals schema's row-level security, one line each.
std::vector<std::string> audit(pqxx::connection& admin, const std::vector<std::string>& tables) {
  std::vector<std::string> problems;
  pqxx::nontransaction tx(admin);
  for (const std::string& table : tables) {
    auto cls = tx.exec_params(
        "SELECT c.relrowsecurity, c.relforcerowsecurity FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'annals' AND c.relname = "
        "$1",
        table);
    if (cls.size() != 1) {
      problems.push_back(table + ": not found");
      continue;
    }
    if (!cls[0][0].as<bool>()) problems.push_back(table + ": RLS not enabled");
    if (!cls[0][1].as<bool>()) problems.push_back(table + ": RLS not forced");

    auto policies = tx.exec_params(
        "SELECT polcmd, pg_get_expr(polqual, polrelid), pg_get_expr(polwithcheck, polrelid),"
        " polpermissive FROM pg_policy WHERE polrelid = ('annals.' || quote_ident($1))::regclass",
        table);
    bool covered = false;
    for (const auto& p : policies) {
      std::string using_expr = p[1].is_null() ? "" : p[1].c_str();
      std::string check_expr = p[2].is_null() ? "" : p[2].c_str();
      if (std::string(p[0].c_str()) == "*" && using_expr.find("org_id") != std::string::npos &&
          using_expr.find("app.current_org_id") != std::string::npos &&
          check_expr.find("app.current_org_id") != std::string::npos) {
        covered = true;
      }
    }
    if (!covered) problems.push_back(table + ": no policy comparing org_id to app.current_org_id");

    auto column = tx.exec_params(
        "SELECT attnotnull FROM pg_attribute WHERE attrelid = ('annals.' || "
        "quote_ident($1))::regclass"
        " AND attname = 'org_id' AND NOT attisdropped",
        table);
    if (column.size() != 1) {
      problems.push_back(table + ": no org_id column");
    } else if (!column[0][0].as<bool>()) {
      problems.push_back(table + ": org_id is nullable");
    }

    auto index = tx.exec_params(
        "SELECT count(*) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
        " AND a.attnum = i.indkey[0] WHERE i.indrelid = ('annals.' || quote_ident($1))::regclass"
        " AND a.attname = 'org_id'",
        table);
    if (index[0][0].as<int>() < 1) problems.push_back(table + ": no index leading with org_id");
  }
  // No views or other relations in the schema that could read around RLS.
  for (const auto& row : tx.exec("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON"
                                 " n.oid = c.relnamespace WHERE n.nspname = 'annals'"
                                 " AND c.relkind IN ('v', 'm', 'f')")) {
    problems.push_back(std::string(row[0].c_str()) + ": a view or foreign table in the schema");
  }
  return problems;
}

TEST_F(RowLevelSecurityTest, CatalogAuditEveryTableIsForcedUnderAnOrgPolicy) {
  auto t = tables();
  ASSERT_GE(t.size(), 2u);
  auto problems = audit(*admin_, t);
  EXPECT_TRUE(problems.empty()) << ::testing::PrintToString(problems);
}

TEST_F(RowLevelSecurityTest, CatalogAuditCatchesATableWithoutRowLevelSecurity) {
  {
    pqxx::nontransaction tx(*admin_);
    tx.exec("CREATE TABLE annals.rogue (org_id TEXT, secret TEXT)");
  }
  auto problems = audit(*admin_, tables());
  std::string all = ::testing::PrintToString(problems);
  EXPECT_NE(all.find("rogue: RLS not enabled"), std::string::npos) << all;
  EXPECT_NE(all.find("rogue: RLS not forced"), std::string::npos) << all;
  EXPECT_NE(all.find("rogue: no policy"), std::string::npos) << all;
  EXPECT_NE(all.find("rogue: org_id is nullable"), std::string::npos) << all;
  EXPECT_NE(all.find("rogue: no index leading with org_id"), std::string::npos) << all;
  EXPECT_EQ(all.find("settings:"), std::string::npos) << all;
}

TEST_F(RowLevelSecurityTest, RuntimeRolesCannotBypassAndOwnNothing) {
  pqxx::nontransaction tx(*admin_);
  for (const char* role : {db::kQueryRole, db::kProjectorRole}) {
    auto r = tx.exec_params(
        "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = "
        "$1",
        role);
    ASSERT_EQ(r.size(), 1u);
    for (int i = 0; i < 4; ++i) EXPECT_FALSE(r[0][i].as<bool>()) << role << " attribute " << i;
    auto owned = tx.exec_params(
        "SELECT (SELECT count(*) FROM pg_class WHERE relowner = r.oid)"
        " + (SELECT count(*) FROM pg_proc WHERE proowner = r.oid)"
        " + (SELECT count(*) FROM pg_namespace WHERE nspowner = r.oid)"
        " FROM pg_roles r WHERE r.rolname = $1",
        role);
    EXPECT_EQ(owned[0][0].as<int>(), 0) << role << " owns objects";
    auto member = tx.exec_params(
        "SELECT count(*) FROM pg_roles o WHERE (o.rolsuper OR o.rolbypassrls OR o.rolname = "
        "'annals_owner')"
        " AND pg_has_role($1, o.oid, 'MEMBER')",
        role);
    EXPECT_EQ(member[0][0].as<int>(), 0) << role << " can act as a privileged role";
  }
}

TEST_F(RowLevelSecurityTest, AnnalsRefusesToServeAsAPrivilegedRole) {
  auto as_superuser = db::Database::open(db_->url());
  EXPECT_CODE(as_superuser, Code::kPermissionDenied);
  EXPECT_NE(as_superuser.status().message().find("superuser"), std::string::npos);
  EXPECT_NE(as_superuser.status().message().find("annals setup"), std::string::npos);

  {
    pqxx::nontransaction tx(*admin_);
    tx.exec("DROP ROLE IF EXISTS annals_test_bypass");
    tx.exec("CREATE ROLE annals_test_bypass LOGIN BYPASSRLS");
    tx.exec("DROP ROLE IF EXISTS annals_test_member");
    tx.exec("CREATE ROLE annals_test_member LOGIN");
    tx.exec("GRANT annals_owner TO annals_test_member");
  }
  auto bypass = db::Database::open(db_->url_as("annals_test_bypass"));
  EXPECT_CODE(bypass, Code::kPermissionDenied);
  EXPECT_NE(bypass.status().message().find("BYPASSRLS"), std::string::npos);
  auto member = db::Database::open(db_->url_as("annals_test_member"));
  EXPECT_CODE(member, Code::kPermissionDenied);
  EXPECT_NE(member.status().message().find("annals_owner"), std::string::npos);
  {
    pqxx::nontransaction tx(*admin_);
    tx.exec("DROP ROLE annals_test_bypass");
    tx.exec("DROP ROLE annals_test_member");
  }
  EXPECT_OK(db::Database::open(db_->url_as(db::kQueryRole)));
}

TEST_F(RowLevelSecurityTest, SetupIsIdempotentAndRefusesANonSuperuser) {
  auto again = db::setup_postgres(db_->url(), std::nullopt, clock_);
  ASSERT_OK(again);
  EXPECT_EQ(again->migrations_applied, 0);
  EXPECT_FALSE(again->created_roles);
  auto refused = db::setup_postgres(db_->url_as(db::kQueryRole), std::nullopt, clock_);
  EXPECT_CODE(refused, Code::kPermissionDenied);
}

}  // namespace
}  // namespace annals
