// annals demo: the main job on the embedded default. Opens (or creates) a
// data folder, drives a realistic multi-org workload through the
// repositories, and shows what happened.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

#include "cli/commands.h"
#include "cli/data_folder.h"
#include "cli/master_key.h"
#include "journal/journal.h"
#include "projections/postgres_setup.h"
#include "projections/postgres_url.h"
#include "repositories/common.h"
#include "repositories/operator.h"

namespace annals::cli {
namespace {

using repositories::ApiToken;
using repositories::NewApiToken;
using repositories::Store;
using repositories::TokenStatus;
using Clock = std::chrono::steady_clock;

const char* kOrgNames[] = {"acme",  "globex", "initech", "umbrella",
                           "hooli", "stark",  "wayne",   "tyrell"};

struct Tally {
  std::atomic<int64_t> settings_upserted{0}, settings_deleted{0}, tokens_created{0},
      tokens_updated{0}, retries{0}, conflicts{0}, concurrency_retries{0};
  // The other seven repositories, exercised once per org.
  std::atomic<int64_t> catalogue_writes{0}, secrets_sealed{0}, state_rules_refused{0};
};

struct OrgWork {
  std::string org;
  int users;
  int commands;
  uint32_t seed;
  std::string run;  // makes ids unique per run on the same folder
};

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1));
  return v[i];
}

// What an org sets up before its users arrive: the app instance, models,
// access requests, toolsets, MCP servers with credentials, aliases. Every
// repository of the store is written here at least once.
Status set_up_org(Store& store, const OrgWork& work, Tally& tally) {
  const std::string& org = work.org;
  const std::string run = work.run;
  Timestamp now = store.clock().now();
  auto count = [&](const Status& s) {
    if (s.is_ok()) tally.catalogue_writes++;
    return s;
  };

  repositories::NewAppInstance instance;
  instance.client_id = "client-" + org;
  instance.client_secret = "demo-client-secret-" + org + "-" + run;
  instance.scope = "scope_" + org;
  instance.status = "ready";
  ANNALS_RETURN_IF_ERROR(count(store.app_instance().upsert(org, instance).status()));
  tally.secrets_sealed++;

  for (int i = 0; i < 3; ++i) {
    repositories::UserAliasFields alias;
    alias.alias = "preset-" + run + "-" + std::to_string(i);
    alias.repo = "TheBloke/Mistral-7B-Instruct-v0.2-GGUF";
    alias.filename = "mistral-7b-instruct-v0.2.Q4_K_M.gguf";
    alias.snapshot = "main";
    alias.request_params = "{\"temperature\": 0." + std::to_string(i + 5) + "}";
    ANNALS_RETURN_IF_ERROR(count(store.user_aliases()
                                     .create(org, "alias-" + run + "-" + std::to_string(i), alias)
                                     .status()));
  }

  repositories::DownloadRequestInput download;
  download.id = "dl-" + org + "-" + run;
  download.repo = "TheBloke/Mistral-7B-Instruct-v0.2-GGUF";
  download.filename = "mistral-7b-instruct-v0.2.Q4_K_M.gguf";
  download.total_bytes = 4'368'439'584;
  ANNALS_RETURN_IF_ERROR(count(store.models().create_download_request(org, download).status()));
  download.status = repositories::DownloadStatus::kCompleted;
  download.downloaded_bytes = *download.total_bytes;
  download.started_at = now;
  ANNALS_RETURN_IF_ERROR(count(store.models().update_download_request(org, download).status()));

  repositories::NewApiModelAlias api;
  api.id = "api-" + org + "-" + run;
  api.api_format = "openai";
  api.base_url = "https://api.openai.com/v1";
  api.models = "[\"gpt-4o\", \"gpt-4o-mini\"]";
  api.prefix = "oa" + run + "/";
  api.api_key = "demo-api-key-" + org + "-" + run;
  ANNALS_RETURN_IF_ERROR(count(store.models().create_api_alias(org, api).status()));
  tally.secrets_sealed++;
  for (int i = 0; i < 2; ++i) {  // the second upsert of each file updates, never duplicates
    for (const char* file : {"mistral-7b.Q4_K_M.gguf", "llama-3-8b.Q5_K_M.gguf"}) {
      repositories::ModelMetadataInput meta;
      meta.repo = "demo/models";
      meta.filename = file;
      meta.snapshot = "main";
      meta.max_input_tokens = 8192 * (i + 1);
      meta.extracted_at = now;
      ANNALS_RETURN_IF_ERROR(count(store.models().upsert_model_metadata(org, meta).status()));
    }
  }

  auto joined = store.access().insert_pending(org, "ada-" + run, "user-ada-" + run);
  ANNALS_RETURN_IF_ERROR(count(joined.status()));
  ANNALS_RETURN_IF_ERROR(
      count(store.access()
                .update_status(org, joined->id, repositories::UserAccessStatus::kApproved, "user-1")
                .status()));

  for (int i = 0; i < 2; ++i) {
    repositories::NewAppAccessRequest request;
    request.id = "aar-" + org + "-" + run + "-" + std::to_string(i);
    request.app_client_id = "app-client-" + std::to_string(i);
    request.app_name = "Demo app " + std::to_string(i);
    request.requested = "{\"toolsets\": [\"exa\"]}";
    request.expires_at = now + std::chrono::minutes(10);
    ANNALS_RETURN_IF_ERROR(count(store.access_requests().create(org, request).status()));
  }
  ANNALS_RETURN_IF_ERROR(count(store.access_requests()
                                   .approve(org, "aar-" + org + "-" + run + "-0", "user-1",
                                            "{\"toolsets\": [\"exa\"]}", "scope_resource",
                                            "scope_access_" + org + "_" + run)
                                   .status()));
  ANNALS_RETURN_IF_ERROR(
      count(store.access_requests().deny(org, "aar-" + org + "-" + run + "-1", "user-1").status()));
  // A decided request cannot be decided again: the state rule refuses it.
  if (!store.access_requests().deny(org, "aar-" + org + "-" + run + "-0", "user-2").is_ok()) {
    tally.state_rules_refused++;
  }

  ANNALS_RETURN_IF_ERROR(
      count(store.toolsets().set_app_enabled(org, "builtin-exa-search", true, "user-1").status()));
  repositories::NewToolset toolset;
  toolset.id = "ts-" + org + "-" + run;
  toolset.user_id = "user-1";
  toolset.toolset_type = "builtin-exa-search";
  toolset.slug = "exa-" + run;
  toolset.api_key = "demo-exa-key-" + org + "-" + run;
  ANNALS_RETURN_IF_ERROR(count(store.toolsets().create(org, toolset).status()));
  tally.secrets_sealed++;

  repositories::NewMcpServer server;
  server.id = "mcp-" + org + "-" + run;
  server.url = "https://mcp.example.com/" + org + "/" + run;
  server.name = "Example MCP";
  server.created_by = "user-1";
  ANNALS_RETURN_IF_ERROR(count(store.mcp().servers().create_server(org, server).status()));
  repositories::NewMcpInstance mcp;
  mcp.id = "mcpi-" + org + "-" + run;
  mcp.created_by = "user-1";
  mcp.mcp_server_id = server.id;
  mcp.name = "search";
  mcp.slug = "search-" + run;
  mcp.tools_cache = "[{\"name\": \"search\"}]";
  mcp.auth_type = repositories::McpAuthType::kOauth;
  ANNALS_RETURN_IF_ERROR(count(store.mcp().servers().create_instance(org, mcp).status()));
  repositories::NewMcpAuthHeader header;
  header.id = "hdr-" + org + "-" + run;
  header.name = "api key";
  header.mcp_server_id = server.id;
  header.header_key = "X-API-Key";
  header.value = "demo-header-value-" + org;
  header.created_by = "user-1";
  ANNALS_RETURN_IF_ERROR(count(store.mcp().credentials().create_auth_header(org, header).status()));
  repositories::NewMcpOAuthConfig oauth;
  oauth.id = "oc-" + org + "-" + run;
  oauth.name = "oauth";
  oauth.mcp_server_id = server.id;
  oauth.registration_type = "dynamic";
  oauth.client_id = "oauth-client-" + org;
  oauth.client_secret = "demo-oauth-secret-" + org;
  oauth.authorization_endpoint = "https://auth.example.com/authorize";
  oauth.token_endpoint = "https://auth.example.com/token";
  oauth.created_by = "user-1";
  ANNALS_RETURN_IF_ERROR(count(store.mcp().credentials().create_oauth_config(org, oauth).status()));
  repositories::NewMcpOAuthToken token;
  token.id = "ot-" + org + "-" + run;
  token.mcp_oauth_config_id = oauth.id;
  token.access_token = "demo-access-token-" + org;
  token.refresh_token = "demo-refresh-token-" + org;
  token.created_by = "user-1";
  ANNALS_RETURN_IF_ERROR(count(store.mcp().credentials().create_oauth_token(org, token).status()));
  tally.secrets_sealed += 5;
  return Status::ok();
}

Status run_org(Store& store, const OrgWork& work, Tally& tally, std::vector<double>& latencies_us) {
  ANNALS_RETURN_IF_ERROR(set_up_org(store, work, tally).with_context("setting up org " + work.org));
  std::mt19937 rng(work.seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint32_t>(n)); };
  std::vector<NewApiToken> created;
  std::vector<std::string> setting_keys = {
      "default_model", "exec_variant", "log_level",  "max_tokens", "temperature", "ui_theme",
      "proxy_url",     "keep_alive_s", "n_parallel", "hf_home",    "telemetry",   "context_size"};
  for (int i = 0; i < work.commands; ++i) {
    int roll = pick(100);
    auto started = Clock::now();
    Status status;
    if (roll < 30) {  // write a setting
      const std::string& key = setting_keys[pick(static_cast<int>(setting_keys.size()))];
      auto r = store.settings().upsert(work.org, key, "value-" + std::to_string(pick(1000)),
                                       key == "telemetry" ? "boolean" : "string");
      status = r.status();
      if (r.is_ok()) tally.settings_upserted++;
    } else if (roll < 35) {  // delete a setting, if it is there
      const std::string& key = setting_keys[pick(static_cast<int>(setting_keys.size()))];
      status = store.settings().remove(work.org, key);
      if (status.is_ok()) tally.settings_deleted++;
      if (status.code() == Code::kNotFound) status = Status::ok();
    } else if (roll < 75 || created.empty()) {  // create a token
      NewApiToken t;
      std::string n = work.run + "-" + std::to_string(i);
      t.id = "tok-" + work.org + "-" + n;
      t.user_id = "user-" + std::to_string(pick(work.users) + 1);
      t.name = "token " + std::to_string(i);
      t.token_prefix = "bodhiapp_" + work.org + "_" + n;
      char hash[17];
      std::snprintf(hash, sizeof hash, "%08x%08x", static_cast<unsigned>(rng()),
                    static_cast<unsigned>(rng()));
      t.token_hash = hash;
      t.scopes = pick(4) == 0 ? "scope_token_power_user" : "scope_token_user";
      auto r = store.tokens().create(work.org, t);
      status = r.status();
      if (r.is_ok()) {
        tally.tokens_created++;
        created.push_back(t);
      }
    } else if (roll < 80) {  // a client retries a create it already sent
      auto r = store.tokens().create(work.org, created[pick(static_cast<int>(created.size()))]);
      status = r.status();
      if (r.is_ok()) tally.retries++;
    } else if (roll < 83) {  // a prefix already taken: refused by the journal's reservation
      NewApiToken t = created[pick(static_cast<int>(created.size()))];
      t.id += "-dup";
      auto r = store.tokens().create(work.org, t);
      if (r.status().code() == Code::kConflict) {
        tally.conflicts++;
      } else {
        status = r.is_ok() ? Status::internal("a duplicate prefix was accepted") : r.status();
      }
    } else {  // rename or deactivate a token
      const NewApiToken& t = created[pick(static_cast<int>(created.size()))];
      TokenStatus next = pick(3) == 0 ? TokenStatus::kInactive : TokenStatus::kActive;
      for (int attempt = 0;; ++attempt) {
        auto r = store.tokens().update(work.org, t.user_id, t.id, t.name + " (renamed)", next);
        status = r.status();
        if (status.code() != Code::kConcurrencyConflict || attempt == 3) break;
        tally.concurrency_retries++;
      }
      if (status.is_ok()) tally.tokens_updated++;
    }
    latencies_us.push_back(
        std::chrono::duration<double, std::micro>(Clock::now() - started).count());
    if (!status.is_ok())
      return status.with_context("org " + work.org + ", command " + std::to_string(i));
  }
  return Status::ok();
}

void show_queries(Store& store, const std::vector<std::string>& orgs) {
  std::printf("\nqueries\n");
  const std::string& org = orgs.front();
  auto instances = store.mcp().servers().list_instances(org, "user-1");
  auto aliases = store.user_aliases().list(org);
  auto metadata = store.models().list_model_metadata(org);
  auto configs = store.toolsets().list_app_configs(org);
  auto pending = store.access().list_all(org, 1, 1);
  if (instances.is_ok() && aliases.is_ok() && metadata.is_ok() && configs.is_ok() &&
      pending.is_ok()) {
    std::printf(
        "  %s: %zu MCP instances of user-1, %zu user aliases, %zu model metadata rows,\n"
        "    %zu toolset configs, %lld user access requests\n",
        org.c_str(), instances->size(), aliases->size(), metadata->size(), configs->size(),
        static_cast<long long>(pending->total));
  }
  auto instance = store.app_instance().get(org);
  if (instance.is_ok()) {
    std::printf("  app instance of %s: client %s, status %s, secret decrypts to %zu bytes\n",
                org.c_str(), instance->client_id.c_str(), instance->status.c_str(),
                instance->client_secret.size());
  }
  auto settings = store.settings().list(org);
  if (settings.is_ok()) {
    std::printf("  settings of %-8s %zu keys", org.c_str(), settings->size());
    for (size_t i = 0; i < std::min<size_t>(3, settings->size()); ++i) {
      std::printf("%s %s=%s", i ? "," : ":", (*settings)[i].key.c_str(),
                  (*settings)[i].value.c_str());
    }
    std::printf("\n");
  }
  auto page = store.tokens().list(org, "user-1", 1, 3);
  if (page.is_ok()) {
    std::printf("  tokens of %s/user-1: %lld in all; newest %zu:\n", org.c_str(),
                static_cast<long long>(page->total), page->rows.size());
    for (const auto& t : page->rows) {
      std::printf("    %-28s %-26s %-8s %s\n", t.id.c_str(), t.name.c_str(),
                  std::string(repositories::token_status_name(t.status)).c_str(),
                  format_timestamp(t.created_at).c_str());
    }
    if (!page->rows.empty()) {
      const ApiToken& first = page->rows.front();
      auto found = store.tokens().get_by_prefix(first.token_prefix);
      if (found.is_ok()) {
        std::printf("  token by prefix %s -> org %s, user %s, %s\n", first.token_prefix.c_str(),
                    found->org_id.c_str(), found->user_id.c_str(),
                    std::string(repositories::token_status_name(found->status)).c_str());
      }
    }
  }
  for (size_t i = 1; i < orgs.size(); ++i) {
    auto other = store.tokens().list(orgs[i], "user-1", 1, 1);
    if (other.is_ok()) {
      std::printf("  tokens of %s/user-1: %lld (org %s never sees them)\n", orgs[i].c_str(),
                  static_cast<long long>(other->total), org.c_str());
    }
  }
}

// The master key: $ANNALS_MASTER_KEY (64 hex digits), else a key file the
// demo keeps in the data folder (a real app keeps it in the OS keychain).
Result<std::string> demo_master_key(const std::string& data_dir) {
  if (const char* env = std::getenv("ANNALS_MASTER_KEY"); env != nullptr && *env) {
    return master_key_from_hex("ANNALS_MASTER_KEY", env);
  }
  std::string path = data_dir + "/demo-master.key";
  if (std::FILE* f = std::fopen(path.c_str(), "r")) {
    char buf[80] = {};
    size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    auto key = master_key_from_hex(path, std::string_view(buf, n).substr(0, 64));
    if (!key.is_ok()) return Status::corruption(path + " does not hold 64 hex digits");
    return key;
  }
  ANNALS_ASSIGN_OR_RETURN(std::string hex, new_master_key_hex());
  ANNALS_RETURN_IF_ERROR(write_new_private_file(path, hex));
  return master_key_from_hex(path, hex);
}

}  // namespace

int run_demo(const DemoArgs& args) {
  auto durability = journal::parse_durability(args.durability);
  if (!durability.is_ok()) return usage_error("demo", durability.status().message());

  repositories::StoreOptions options;
  options.data_dir = args.data;
  options.durability = *durability;
  options.database_url = args.database;
  options.runtime_password = runtime_password();
  // Nothing is written into a folder that belongs to something else, and a
  // demo that cannot start leaves nothing behind.
  if (Status usable = check_data_folder(options.data_dir); !usable.is_ok()) {
    return failure("demo", usable.message());
  }
  // The demo, unlike the app and the read-only tools, sets up a database it
  // is given a superuser URL of (and says so below).
  if (db::is_postgres_url(options.database_url)) {
    auto superuser = db::is_superuser(options.database_url);
    if (!superuser.is_ok()) return failure("demo", superuser.status().to_string());
    options.setup_database = *superuser;
  }
  FolderGuard folder(options.data_dir);
  if (Status created = folder.create(); !created.is_ok()) {
    return failure("demo", created.message());
  }
  auto master_key = demo_master_key(options.data_dir);
  if (!master_key.is_ok()) return failure("demo", master_key.status().to_string());
  options.master_key = *master_key;
  auto opened = Store::open(options);
  if (!opened.is_ok()) return failure("demo", opened.status().to_string());
  folder.keep();
  Store& store = **opened;

  uint64_t head_before = store.internals().journal().head();
  std::printf("Annals demo\n");
  std::printf("  data folder    %s\n", options.data_dir.c_str());
  std::printf("  journal        RocksDB, durability %s, head %llu\n",
              std::string(journal::durability_name(*durability)).c_str(),
              static_cast<unsigned long long>(head_before));
  std::printf("  read database  %s (projected inline)\n",
              store.internals().database().describe().c_str());
  if (store.internals().database().dialect() == db::Dialect::kPostgres) {
    std::printf("  projector      %s\n", store.internals().projector_database().describe().c_str());
  }
  if (options.setup_database) {
    std::printf("  setup          ran through %s (roles, schemas, migrations%s)\n",
                db::redact_url(options.database_url).c_str(),
                options.runtime_password ? ", runtime password" : "");
  }

  std::vector<OrgWork> work;
  std::vector<std::string> org_names;
  for (int64_t i = 0; i < args.orgs; ++i) {
    int share =
        static_cast<int>(args.commands / args.orgs + (i < args.commands % args.orgs ? 1 : 0));
    work.push_back({kOrgNames[i], static_cast<int>(args.users), share,
                    static_cast<uint32_t>(args.seed + i), "r" + std::to_string(head_before)});
    org_names.push_back(kOrgNames[i]);
  }
  std::printf(
      "  workload       %lld commands from %lld threads, one per org (%s...), %lld users each\n",
      static_cast<long long>(args.commands), static_cast<long long>(args.orgs),
      org_names[0].c_str(), static_cast<long long>(args.users));

  Tally tally;
  std::vector<std::vector<double>> latencies(work.size());
  std::vector<Status> results(work.size());
  auto started = Clock::now();
  {
    std::vector<std::thread> threads;
    for (size_t i = 0; i < work.size(); ++i) {
      threads.emplace_back([&, i] { results[i] = run_org(store, work[i], tally, latencies[i]); });
    }
    for (auto& t : threads) t.join();
  }
  double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  for (const auto& s : results) {
    if (!s.is_ok()) return failure("demo", s.to_string());
  }
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());

  uint64_t head = store.internals().journal().head();
  std::printf("\nwhat happened\n");
  std::printf("  settings written      %lld\n", static_cast<long long>(tally.settings_upserted));
  std::printf("  settings deleted      %lld\n", static_cast<long long>(tally.settings_deleted));
  std::printf("  tokens created        %lld\n", static_cast<long long>(tally.tokens_created));
  std::printf("  tokens updated        %lld (%lld concurrency conflicts retried)\n",
              static_cast<long long>(tally.tokens_updated),
              static_cast<long long>(tally.concurrency_retries));
  std::printf("  creates retried       %lld (appended once each)\n",
              static_cast<long long>(tally.retries));
  std::printf("  duplicates refused    %lld (token.prefix conflicts)\n",
              static_cast<long long>(tally.conflicts));
  std::printf(
      "  org set-up writes     %lld across models, access, app access requests, app\n"
      "                        instance, toolsets, MCP, user aliases (%lld secrets sealed,\n"
      "                        %lld state-rule violations refused)\n",
      static_cast<long long>(tally.catalogue_writes), static_cast<long long>(tally.secrets_sealed),
      static_cast<long long>(tally.state_rules_refused));
  std::printf("  events appended       %llu\n",
              static_cast<unsigned long long>(head - head_before));
  std::printf("  journal head          %llu\n", static_cast<unsigned long long>(head));
  std::printf("  projection checkpoint");
  for (const auto& [name, position] : store.internals().projector().checkpoints()) {
    std::printf(" %s %llu", name.c_str(), static_cast<unsigned long long>(position));
  }
  std::printf("\n  elapsed               %.2f s: %.0f commands/s, %.0f events/s\n", seconds,
              static_cast<double>(args.commands) / seconds,
              static_cast<double>(head - head_before) / seconds);
  std::printf("  latency per command   p50 %.0f us, p99 %.0f us (append, fsync, projection)\n",
              percentile(all, 0.50), percentile(all, 0.99));
  show_queries(store, org_names);
  return 0;
}

}  // namespace annals::cli
