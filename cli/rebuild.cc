// annals rebuild and annals replay: rebuilding read schemas from the journal.
#include <cstdio>
#include <filesystem>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "projections/postgres_setup.h"
#include "projections/postgres_url.h"
#include "repositories/store.h"

namespace annals::cli {
namespace {

constexpr const char* kRebuildHelp =
    "Usage: annals rebuild [--data DIR] [--database URL] [--dry-run | --check | --discard]\n"
    "                      [--batch N]\n"
    "\n"
    "Builds a fresh read schema from every migration, replays the whole journal\n"
    "into it, then swaps it in atomically; the old schema serves reads until the\n"
    "swap. SQLite: DIR/read.sqlite.rebuild, renamed over read.sqlite. PostgreSQL\n"
    "(a superuser URL): schemas annals_rebuild and annals_rebuild_meta, renamed into\n"
    "place in one transaction. Events appended meanwhile are applied before the swap.\n"
    "An interrupted rebuild (Ctrl-C, a crash) leaves the live schema untouched; run\n"
    "it again to resume where it stopped, or --discard it.\n"
    "\n"
    "  --dry-run  say what would be done; change nothing\n"
    "  --check    prove determinism: build a second schema up to the live one's\n"
    "             checkpoint and compare every table row by row (exit 1 on any\n"
    "             difference, listed by table and key); the live schema is not touched\n"
    "  --discard  drop a partial rebuild\n"
    "  --batch N  events per transaction (default 2000)\n";

constexpr const char* kReplayHelp =
    "Usage: annals replay --projection NAME [--from POSITION] [--data DIR] [--database URL]\n"
    "\n"
    "Re-runs one projection: empties its tables and applies the journal to it again,\n"
    "in one transaction (readers see the old rows until the new ones replace them).\n"
    "--from skips the events before POSITION: only right when they cannot affect\n"
    "this projection (for example, it did not exist yet). Default: 1, all of them.\n"
    "Projections: settings, tokens, model, toolsets, mcp, mcp_auth,\n"
    "user_access_requests, app_access_requests, app_instances, user_aliases.\n";

// The rebuild replaces the read database, so it opens the store without
// starting the projector: a read database past the journal head (which the
// projector refuses) is exactly what it may have to replace.
Result<std::unique_ptr<repositories::Store>> open_store(const Args& args,
                                                        bool start_projector = true) {
  repositories::StoreOptions options;
  options.start_projector = start_projector;
  options.data_dir = args.get_or("--data", default_data_dir());
  options.database_url = args.get_or("--database", default_database_url());
  options.runtime_password = runtime_password();
  if (!std::filesystem::exists(options.data_dir + "/journal/CURRENT")) {
    return Status::not_found("no Annals data in " + options.data_dir);
  }
  return repositories::Store::open(options);
}

// PostgreSQL: the URL when it is a superuser's, which the rebuild and replay
// need and are given per call (the store keeps none); otherwise empty.
std::string admin_url(const Args& args) {
  std::string url = args.get_or("--database", default_database_url());
  if (!db::is_postgres_url(url)) return {};
  auto superuser = db::is_superuser(url);
  return superuser.is_ok() && *superuser ? url : std::string();
}

// For --dry-run: what the rebuild would use, opened without changing anything.
Result<std::unique_ptr<db::Database>> open_live_read_only(const std::string& data_dir,
                                                          const std::string& url) {
  if (url.empty()) {
    std::string path = data_dir + "/read.sqlite";
    return db::Database::open("sqlite:" + path);
  }
  db::DatabaseOptions o;
  o.pool_size = 1;
  o.require_unprivileged = false;
  return db::Database::open(url, o);
}

int print_check(const projections::CheckReport& report) {
  std::printf("%-24s %10s  %s\n", "table", "rows", "sha-256");
  for (const auto& [table, digest] : report.digests) {
    std::printf("%-24s %10llu  %s\n", table.c_str(),
                static_cast<unsigned long long>(report.rows.at(table)),
                digest.substr(0, 16).c_str());
  }
  if (report.differences.empty()) {
    std::printf(
        "ok: a rebuild up to position %llu is identical to the live schema, table by "
        "table and row by row\n",
        static_cast<unsigned long long>(report.position));
    return 0;
  }
  std::fprintf(stderr,
               "annals rebuild: the rebuilt schema differs from the live one at position %llu:\n",
               static_cast<unsigned long long>(report.position));
  for (const auto& d : report.differences) {
    std::fprintf(stderr, "  %s: %s%s%s\n", d.table.c_str(), d.what.c_str(),
                 d.key.empty() ? "" : " at ", d.key.c_str());
  }
  if (report.truncated) std::fprintf(stderr, "  ... and more\n");
  return 1;
}

}  // namespace

int run_rebuild(const std::vector<std::string>& argv) {
  auto args = Args::parse(
      argv, {{"--data", "--database", "--batch"}, {"--help", "--dry-run", "--check", "--discard"}});
  if (!args.is_ok()) return usage_error("rebuild", args.status().message());
  if (args->flag("--help")) {
    std::fputs(kRebuildHelp, stdout);
    return 0;
  }
  int modes = args->flag("--dry-run") + args->flag("--check") + args->flag("--discard");
  if (modes > 1)
    return usage_error("rebuild", "--dry-run, --check and --discard exclude each other");
  auto batch = args->get_int("--batch", 2000, 1, 100000);
  if (!batch.is_ok()) return usage_error("rebuild", batch.status().message());

  ProgressReporter progress;
  projections::RebuildOptions options;
  options.batch_size = static_cast<size_t>(*batch);
  options.progress = [&](const projections::Progress& p) {
    return progress.update(p.phase, p.position, p.target);
  };

  if (args->flag("--dry-run")) {
    std::string dir = args->get_or("--data", default_data_dir());
    std::string url = args->get_or("--database", default_database_url());
    journal::Options jo;
    jo.read_only = true;
    jo.create_if_missing = false;
    auto journal = journal::Journal::open_rocksdb(dir + "/journal", jo);
    if (!journal.is_ok()) return failure("rebuild", journal.status().to_string());
    auto live = open_live_read_only(dir, url);
    if (!live.is_ok()) return failure("rebuild", live.status().to_string());
    if (db::is_postgres_url(url)) options.admin_url = url;
    projections::Rebuilder rebuilder(**journal, **live, options);
    auto plan = rebuilder.plan();
    if (!plan.is_ok()) return failure("rebuild", plan.status().to_string());
    std::printf("dry run: nothing is changed. A rebuild would:\n");
    for (size_t i = 0; i < plan->steps.size(); ++i) {
      std::printf("  %zu. %s\n", i + 1, plan->steps[i].c_str());
    }
    std::printf("live: %s; journal head %llu; %d migrations\n", plan->live.c_str(),
                static_cast<unsigned long long>(plan->journal_head), plan->migrations);
    return 0;
  }

  auto store = open_store(*args, /*start_projector=*/false);
  if (!store.is_ok()) return failure("rebuild", store.status().to_string());
  options.admin_url = admin_url(*args);
  auto rebuilder = (*store)->rebuilder(options);
  if (args->flag("--discard")) {
    Status s = rebuilder.discard();
    if (!s.is_ok()) return failure("rebuild", s.to_string());
    std::printf("ok: no partial rebuild is left\n");
    return 0;
  }
  if (args->flag("--check")) {
    auto report = rebuilder.check();
    progress.finish();
    if (!report.is_ok()) return failure("rebuild", report.status().to_string());
    return print_check(*report);
  }
  auto report = rebuilder.rebuild();
  progress.finish();
  if (!report.is_ok()) return failure("rebuild", report.status().to_string());
  double rate = report->seconds > 0 ? report->events_replayed / report->seconds : 0;
  std::printf(
      "ok: %s %s and swapped in at position %llu: %llu events replayed in %.2f s (%s "
      "events/s)\n",
      report->resumed ? "resumed" : "built", report->target.c_str(),
      static_cast<unsigned long long>(report->position),
      static_cast<unsigned long long>(report->events_replayed), report->seconds,
      human_count(rate).c_str());
  return 0;
}

int run_replay(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {{"--data", "--database", "--projection", "--from"}, {"--help"}});
  if (!args.is_ok()) return usage_error("replay", args.status().message());
  if (args->flag("--help")) {
    std::fputs(kReplayHelp, stdout);
    return 0;
  }
  auto name = args->get("--projection");
  if (!name || name->empty()) return usage_error("replay", "--projection NAME is required");
  auto from = args->get_int("--from", 1, 1, INT64_MAX);
  if (!from.is_ok()) return usage_error("replay", from.status().message());

  ProgressReporter progress;
  projections::RebuildOptions options;
  options.progress = [&](const projections::Progress& p) {
    return progress.update(p.phase, p.position, p.target);
  };
  auto store = open_store(*args);
  if (!store.is_ok()) return failure("replay", store.status().to_string());
  options.admin_url = admin_url(*args);
  auto reached = (*store)->rebuilder(options).replay(*name, static_cast<uint64_t>(*from));
  progress.finish();
  if (!reached.is_ok()) return failure("replay", reached.status().to_string());
  std::printf("ok: projection '%s' replayed from position %lld to %llu\n", name->c_str(),
              static_cast<long long>(*from), static_cast<unsigned long long>(*reached));
  return 0;
}

}  // namespace annals::cli
