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

#include "cli/args.h"
#include "cli/commands.h"
#include "repositories/store.h"

namespace annals::cli {
namespace {

using repositories::ApiToken;
using repositories::NewApiToken;
using repositories::Store;
using repositories::TokenStatus;
using Clock = std::chrono::steady_clock;

constexpr const char* kHelp =
    "Usage: annals demo [--data DIR] [--database URL] [--commands N] [--orgs N] [--users N]\n"
    "                   [--durability sync|batch|none] [--seed N]\n"
    "\n"
    "Runs a realistic workload on the embedded default (a RocksDB journal and a\n"
    "SQLite read database in DIR): N commands (default 3000) from one thread per\n"
    "org - settings written and deleted, API tokens created, renamed, deactivated,\n"
    "creates retried - then prints the events appended, the journal head, the\n"
    "projection checkpoint, throughput and latency, and a few query results.\n"
    "Running it again on the same folder adds to what is there.\n"
    "\n"
    "With --database postgres://... the read tables live in PostgreSQL under\n"
    "row-level security. A superuser URL is used only to run setup; all reads and\n"
    "writes then go through the annals_query and annals_projector roles.\n";

const char* kOrgNames[] = {"acme",  "globex", "initech", "umbrella",
                           "hooli", "stark",  "wayne",   "tyrell"};

struct Tally {
  std::atomic<int64_t> settings_upserted{0}, settings_deleted{0}, tokens_created{0},
      tokens_updated{0}, retries{0}, conflicts{0}, concurrency_retries{0};
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

Status run_org(Store& store, const OrgWork& work, Tally& tally, std::vector<double>& latencies_us) {
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

}  // namespace

int run_demo(const std::vector<std::string>& argv) {
  auto args = Args::parse(
      argv, {{"--data", "--database", "--commands", "--orgs", "--users", "--durability", "--seed"},
             {"--help"}});
  if (!args.is_ok()) return usage_error("demo", args.status().message());
  if (args->flag("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  auto commands = args->get_int("--commands", 3000, 1, 10'000'000);
  auto orgs = args->get_int("--orgs", 4, 1, 8);
  auto users = args->get_int("--users", 5, 1, 1000);
  auto seed = args->get_int("--seed", 42, 0, 1'000'000'000);
  auto durability = journal::parse_durability(args->get_or("--durability", "sync"));
  for (const Status* s : {&commands.status(), &orgs.status(), &users.status(), &seed.status(),
                          &durability.status()}) {
    if (!s->is_ok()) return usage_error("demo", s->message());
  }

  repositories::StoreOptions options;
  options.data_dir = args->get_or("--data", default_data_dir());
  options.durability = *durability;
  options.database_url = args->get_or("--database", default_database_url());
  options.runtime_password = runtime_password();
  auto opened = Store::open(options);
  if (!opened.is_ok()) return failure("demo", opened.status().to_string());
  Store& store = **opened;

  uint64_t head_before = store.journal().head();
  std::printf("Annals demo\n");
  std::printf("  data folder    %s\n", options.data_dir.c_str());
  std::printf("  journal        RocksDB, durability %s, head %llu\n",
              std::string(journal::durability_name(*durability)).c_str(),
              static_cast<unsigned long long>(head_before));
  std::printf("  read database  %s (projected inline)\n", store.database().describe().c_str());
  if (store.database().dialect() == db::Dialect::kPostgres) {
    std::printf("  projector      %s\n", store.projector_database().describe().c_str());
  }

  std::vector<OrgWork> work;
  std::vector<std::string> org_names;
  for (int64_t i = 0; i < *orgs; ++i) {
    int share = static_cast<int>(*commands / *orgs + (i < *commands % *orgs ? 1 : 0));
    work.push_back({kOrgNames[i], static_cast<int>(*users), share, static_cast<uint32_t>(*seed + i),
                    "r" + std::to_string(head_before)});
    org_names.push_back(kOrgNames[i]);
  }
  std::printf(
      "  workload       %lld commands from %lld threads, one per org (%s...), %lld users each\n",
      static_cast<long long>(*commands), static_cast<long long>(*orgs), org_names[0].c_str(),
      static_cast<long long>(*users));

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

  uint64_t head = store.journal().head();
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
  std::printf("  events appended       %llu\n",
              static_cast<unsigned long long>(head - head_before));
  std::printf("  journal head          %llu\n", static_cast<unsigned long long>(head));
  std::printf("  projection checkpoint");
  for (const auto& [name, position] : store.projector().checkpoints()) {
    std::printf(" %s %llu", name.c_str(), static_cast<unsigned long long>(position));
  }
  std::printf("\n  elapsed               %.2f s: %.0f commands/s, %.0f events/s\n", seconds,
              static_cast<double>(*commands) / seconds,
              static_cast<double>(head - head_before) / seconds);
  std::printf("  latency per command   p50 %.0f us, p99 %.0f us (append, fsync, projection)\n",
              percentile(all, 0.50), percentile(all, 0.99));
  show_queries(store, org_names);
  return 0;
}

}  // namespace annals::cli
