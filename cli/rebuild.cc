// annals rebuild and annals replay: rebuilding read schemas from the journal.
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "cli/progress.h"
#include "journal/journal.h"
#include "projections/postgres_setup.h"
#include "projections/postgres_url.h"
#include "repositories/operator.h"

namespace annals::cli {
namespace {

// The rebuild replaces the read database, so it opens the store without
// starting the projector: a read database past the journal head (which the
// projector refuses) is exactly what it may have to replace.
Result<std::unique_ptr<repositories::Store>> open_store(const std::string& data,
                                                        const std::string& database,
                                                        bool start_projector = true) {
  repositories::StoreOptions options;
  options.data_dir = data;
  options.database_url = database;
  options.runtime_password = runtime_password();
  if (!std::filesystem::exists(options.data_dir + "/journal/CURRENT")) {
    return Status::not_found("no Annals data in " + options.data_dir);
  }
  repositories::OperatorOptions hooks;
  hooks.start_projector = start_projector;
  return repositories::StoreInternals::open(options, hooks);
}

// PostgreSQL: the URL when it is a superuser's, which the rebuild and replay
// need and are given per call (the store keeps none); otherwise empty.
std::string admin_url(const std::string& url) {
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

int run_rebuild(const RebuildArgs& args) {
  ProgressReporter progress;
  projections::RebuildOptions options;
  options.batch_size = static_cast<size_t>(args.batch);
  options.progress = [&](const projections::Progress& p) {
    return progress.update(p.phase, p.position, p.target);
  };

  if (args.dry_run) {
    const std::string& dir = args.data;
    const std::string& url = args.database;
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

  auto store = open_store(args.data, args.database, /*start_projector=*/false);
  if (!store.is_ok()) return failure("rebuild", store.status().to_string());
  options.admin_url = admin_url(args.database);
  auto rebuilder = (*store)->internals().rebuilder(options);
  if (args.discard) {
    Status s = rebuilder.discard();
    if (!s.is_ok()) return failure("rebuild", s.to_string());
    std::printf("ok: no partial rebuild is left\n");
    return 0;
  }
  if (args.check) {
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

int run_replay(const ReplayArgs& args) {
  ProgressReporter progress;
  projections::RebuildOptions options;
  options.progress = [&](const projections::Progress& p) {
    return progress.update(p.phase, p.position, p.target);
  };
  auto store = open_store(args.data, args.database);
  if (!store.is_ok()) return failure("replay", store.status().to_string());
  options.admin_url = admin_url(args.database);
  auto reached = (*store)->internals().rebuilder(options).replay(args.projection,
                                                                 static_cast<uint64_t>(args.from));
  progress.finish();
  if (!reached.is_ok()) return failure("replay", reached.status().to_string());
  std::printf("ok: projection '%s' replayed from position %lld to %llu\n", args.projection.c_str(),
              static_cast<long long>(args.from), static_cast<unsigned long long>(*reached));
  return 0;
}

}  // namespace annals::cli
