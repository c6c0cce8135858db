#include "projections/rebuild.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "projections/apply_loop.h"
#include "projections/migrate.h"
#include "projections/postgres_setup.h"
#include "projections/sqlite_database.h"
#include "projections/standard_projections.h"

namespace annals::projections {
namespace {

constexpr const char* kRebuildName = "rebuild";
constexpr const char* kCheckName = "check";

std::string sqlite_path_of(const db::Database& live) {
  std::string d = live.describe();
  return d.rfind("sqlite:", 0) == 0 ? d.substr(7) : d;
}

Result<std::unique_ptr<db::Database>> open_as_owner(const std::string& admin_url,
                                                    const std::string& schema) {
  db::DatabaseOptions o;
  o.pool_size = 1;
  o.session_role = db::kOwnerRole;
  o.require_unprivileged = false;
  o.pg_schema = schema;
  return db::Database::open(admin_url, o);
}

Result<std::unique_ptr<db::Database>> open_admin(const std::string& admin_url) {
  db::DatabaseOptions o;
  o.pool_size = 1;
  o.require_unprivileged = false;
  return db::Database::open(admin_url, o);
}

Status interrupted(const std::string& what, uint64_t reached, uint64_t target) {
  return Status::unavailable(what + " interrupted at position " + std::to_string(reached) + " of " +
                             std::to_string(target) +
                             "; the live schema is untouched. Run it again to resume, or discard "
                             "it.");
}

}  // namespace

// Where a rebuild builds, and how it is swapped in.
class Rebuilder::Target {
 public:
  virtual ~Target() = default;
  virtual std::string describe() const = 0;
  virtual Result<bool> exists() = 0;
  // Creates the target when missing and applies every migration.
  virtual Result<std::unique_ptr<db::Database>> open(Clock& clock) = 0;
  // A connection that sees every org's rows.
  virtual Result<std::unique_ptr<db::Database>> open_all_orgs() = 0;
  virtual std::string pg_schema() const { return ""; }
  virtual Status drop() = 0;
  virtual Status swap_into(db::Database& live) = 0;
};

namespace {

class SqliteTarget final : public Rebuilder::Target {
 public:
  SqliteTarget(std::string live_path, const std::string& name)
      : path_(std::move(live_path) + "." + name) {}

  std::string describe() const override { return "sqlite:" + path_; }
  Result<bool> exists() override { return std::filesystem::exists(path_); }

  Result<std::unique_ptr<db::Database>> open(Clock& clock) override {
    ANNALS_ASSIGN_OR_RETURN(auto database, db::Database::open("sqlite:" + path_));
    ANNALS_ASSIGN_OR_RETURN(auto migrations, embedded_migrations(db::Dialect::kSqlite));
    ANNALS_RETURN_IF_ERROR(migrate(*database, migrations, clock).status());
    return database;
  }
  Result<std::unique_ptr<db::Database>> open_all_orgs() override {
    return db::Database::open("sqlite:" + path_);
  }

  Status drop() override {
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      std::filesystem::remove(path_ + suffix, ec);
      if (ec) return Status::unavailable("cannot remove " + path_ + suffix + ": " + ec.message());
    }
    return Status::ok();
  }

  Status swap_into(db::Database& live) override {
    auto* sqlite = dynamic_cast<db::SqliteDatabase*>(&live);
    if (sqlite == nullptr) return Status::internal("the live database is not SQLite");
    return sqlite->replace_file(path_);
  }

 private:
  std::string path_;
};

class PostgresTarget final : public Rebuilder::Target {
 public:
  PostgresTarget(std::string admin_url, const std::string& name)
      : admin_url_(std::move(admin_url)), schema_(std::string("annals_") + name) {}

  std::string describe() const override {
    return "PostgreSQL schemas " + schema_ + " and " + schema_ + "_meta";
  }
  std::string pg_schema() const override { return schema_; }

  Result<bool> exists() override {
    ANNALS_ASSIGN_OR_RETURN(auto admin, open_admin(admin_url_));
    ANNALS_ASSIGN_OR_RETURN(auto txn, admin->begin(db::Access::kRead));
    ANNALS_ASSIGN_OR_RETURN(auto rows,
                            txn->query("SELECT 1 FROM pg_namespace WHERE nspname = $1", {schema_}));
    return !rows.empty();
  }

  Result<std::unique_ptr<db::Database>> open(Clock& clock) override {
    {
      ANNALS_ASSIGN_OR_RETURN(auto admin, open_admin(admin_url_));
      ANNALS_ASSIGN_OR_RETURN(auto txn, admin->begin(db::Access::kWrite));
      ANNALS_RETURN_IF_ERROR(txn->execute_script("CREATE SCHEMA IF NOT EXISTS " + schema_ +
                                                 " AUTHORIZATION annals_owner;"
                                                 "CREATE SCHEMA IF NOT EXISTS " +
                                                 schema_ +
                                                 "_meta AUTHORIZATION annals_owner;"
                                                 "REVOKE ALL ON SCHEMA " +
                                                 schema_ + ", " + schema_ +
                                                 "_meta FROM PUBLIC;"
                                                 "GRANT USAGE ON SCHEMA " +
                                                 schema_ + ", " + schema_ +
                                                 "_meta TO annals_query, annals_projector;"));
      ANNALS_RETURN_IF_ERROR(txn->commit());
    }
    ANNALS_ASSIGN_OR_RETURN(auto owner, open_as_owner(admin_url_, schema_));
    ANNALS_ASSIGN_OR_RETURN(auto migrations, embedded_migrations(db::Dialect::kPostgres));
    ANNALS_RETURN_IF_ERROR(
        migrate(*owner, migrations, clock, MigrateMode::kApply, schema_).status());
    {
      ANNALS_ASSIGN_OR_RETURN(auto txn, owner->begin(db::Access::kWrite));
      ANNALS_RETURN_IF_ERROR(txn->execute_script("GRANT SELECT ON " + schema_ +
                                                 "_meta.annals_migrations TO annals_query,"
                                                 " annals_projector"));
      ANNALS_RETURN_IF_ERROR(txn->commit());
    }
    return owner;
  }

  Result<std::unique_ptr<db::Database>> open_all_orgs() override {
    return open_as_owner(admin_url_, schema_);
  }

  Status drop() override {
    ANNALS_ASSIGN_OR_RETURN(auto admin, open_admin(admin_url_));
    ANNALS_ASSIGN_OR_RETURN(auto txn, admin->begin(db::Access::kWrite));
    ANNALS_RETURN_IF_ERROR(txn->execute_script("DROP SCHEMA IF EXISTS " + schema_ +
                                               " CASCADE; DROP SCHEMA IF EXISTS " + schema_ +
                                               "_meta CASCADE"));
    return txn->commit();
  }

  // One transaction: readers see the old schema until it commits, the new
  // one after. Dropping the old tables invalidates the plans prepared
  // against them, so pooled connections re-resolve the names.
  Status swap_into(db::Database&) override {
    ANNALS_ASSIGN_OR_RETURN(auto admin, open_admin(admin_url_));
    ANNALS_ASSIGN_OR_RETURN(auto txn, admin->begin(db::Access::kWrite));
    ANNALS_RETURN_IF_ERROR(
        txn->execute_script("ALTER SCHEMA annals RENAME TO annals_retired;"
                            "ALTER SCHEMA annals_meta RENAME TO annals_retired_meta;"
                            "ALTER SCHEMA " +
                            schema_ +
                            " RENAME TO annals;"
                            "ALTER SCHEMA " +
                            schema_ +
                            "_meta RENAME TO annals_meta;"
                            "DROP SCHEMA annals_retired CASCADE;"
                            "DROP SCHEMA annals_retired_meta CASCADE;"));
    return txn->commit();
  }

 private:
  std::string admin_url_;
  std::string schema_;
};

}  // namespace

Rebuilder::Rebuilder(journal::EventLog& journal, db::Database& live, RebuildOptions options)
    : journal_(journal), live_(live), options_(std::move(options)) {
  if (options_.batch_size == 0) options_.batch_size = 2000;
}

std::unique_ptr<Rebuilder::Target> Rebuilder::target(const std::string& name) {
  if (live_.dialect() == db::Dialect::kSqlite) {
    return std::make_unique<SqliteTarget>(sqlite_path_of(live_), name);
  }
  return std::make_unique<PostgresTarget>(options_.admin_url, name);
}

Result<uint64_t> Rebuilder::replay_into(Target& target, uint64_t limit, const std::string& phase,
                                        uint64_t* events) {
  ANNALS_ASSIGN_OR_RETURN(auto database,
                          target.open(options_.clock ? *options_.clock : system_clock_));
  ProjectorOptions po;
  po.mode = ProjectorMode::kInline;
  po.on_failure = FailurePolicy::kAbort;  // the operator sees the error; nothing is skipped
  po.batch_size = options_.batch_size;
  Projector projector(journal_, *database, standard_projections(), po);
  ANNALS_RETURN_IF_ERROR(projector.start());
  uint64_t from = projector.checkpoint();
  if (options_.progress && !options_.progress({phase, from, limit})) return from;
  ANNALS_ASSIGN_OR_RETURN(uint64_t reached, projector.catch_up_until(limit, [&](uint64_t at) {
    return !options_.progress || options_.progress({phase, at, limit});
  }));
  if (events != nullptr) *events += reached - from;
  return reached;
}

Result<RebuildPlan> Rebuilder::plan() {
  if (live_.dialect() == db::Dialect::kPostgres && options_.admin_url.empty()) {
    return Status::permission_denied(
        "rebuilding a PostgreSQL read database needs a superuser URL (--database "
        "postgres://<superuser>@.../<db>): it creates, renames and drops schemas");
  }
  RebuildPlan plan;
  auto t = target(kRebuildName);
  plan.live = live_.dialect() == db::Dialect::kSqlite ? live_.describe()
                                                      : "PostgreSQL schemas annals and annals_meta";
  plan.target = t->describe();
  plan.journal_head = journal_.head();
  ANNALS_ASSIGN_OR_RETURN(auto migrations, embedded_migrations(live_.dialect()));
  plan.migrations = static_cast<int>(migrations.size());
  ANNALS_ASSIGN_OR_RETURN(plan.target_exists, t->exists());
  if (plan.target_exists) {
    ANNALS_ASSIGN_OR_RETURN(auto database, t->open_all_orgs());
    ANNALS_ASSIGN_OR_RETURN(auto txn, database->begin(db::Access::kRead));
    auto checkpoints = read_checkpoints(*txn);
    if (checkpoints.is_ok() && !checkpoints->empty()) {
      plan.target_checkpoint = ~uint64_t{0};
      for (const auto& [name, position] : *checkpoints) {
        plan.target_checkpoint = std::min(plan.target_checkpoint, position);
      }
    }
  }
  if (plan.target_exists) {
    plan.steps.push_back("resume the rebuild in " + plan.target + " from position " +
                         std::to_string(plan.target_checkpoint) + " (apply any missing migration)");
  } else {
    plan.steps.push_back("create " + plan.target + " and apply all " +
                         std::to_string(plan.migrations) + " migrations");
  }
  plan.steps.push_back("replay the journal into it up to the head (now " +
                       std::to_string(plan.journal_head) + "), " +
                       std::to_string(options_.batch_size) + " events a transaction");
  plan.steps.push_back("pause the live projector, apply the events appended meanwhile");
  if (live_.dialect() == db::Dialect::kSqlite) {
    plan.steps.push_back("rename " + plan.target + " over " + plan.live +
                         " (reads wait for that instant, they do not fail)");
  } else {
    plan.steps.push_back("in one transaction, rename " + plan.live +
                         " away, rename the new pair into place and drop the old one");
  }
  plan.steps.push_back("resume the live projector from the new schema's checkpoints");
  return plan;
}

Result<RebuildReport> Rebuilder::rebuild() {
  ANNALS_ASSIGN_OR_RETURN(auto p, plan());
  auto started = std::chrono::steady_clock::now();
  RebuildReport report;
  report.target = p.target;
  report.resumed = p.target_exists;
  report.from = p.target_checkpoint + 1;
  auto t = target(kRebuildName);

  uint64_t head = journal_.head();
  ANNALS_RETURN_IF_ERROR(journal_.sync_to(head));  // a rebuild never gets ahead of the disk
  ANNALS_ASSIGN_OR_RETURN(uint64_t reached,
                          replay_into(*t, head, "replay", &report.events_replayed));
  if (reached < head) return interrupted("rebuild", reached, head);

  auto finish = [&]() -> Status {
    uint64_t now_head = journal_.head();
    ANNALS_RETURN_IF_ERROR(journal_.sync_to(now_head));
    auto caught_up = replay_into(*t, now_head, "catch-up", &report.events_replayed);
    if (!caught_up.is_ok()) return caught_up.status();
    if (*caught_up < now_head) return interrupted("rebuild", *caught_up, now_head);
    report.position = *caught_up;
    return t->swap_into(live_);
  };
  Status s = options_.live_projector ? options_.live_projector->with_paused(finish) : finish();
  if (!s.is_ok()) return s.with_context("rebuild into " + p.target);
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

Status Rebuilder::discard() {
  if (live_.dialect() == db::Dialect::kPostgres && options_.admin_url.empty()) {
    return Status::permission_denied("discarding a PostgreSQL rebuild needs a superuser URL");
  }
  return target(kRebuildName)->drop();
}

Result<CheckReport> Rebuilder::check() {
  if (live_.dialect() == db::Dialect::kPostgres && options_.admin_url.empty()) {
    return Status::permission_denied("checking a PostgreSQL read database needs a superuser URL");
  }
  CheckReport report;
  std::map<std::string, TableContents> live_tables;
  {
    std::unique_ptr<db::Database> owner;
    db::Database* reader = &live_;
    if (live_.dialect() == db::Dialect::kPostgres) {
      ANNALS_ASSIGN_OR_RETURN(owner, open_as_owner(options_.admin_url, "annals"));
      reader = owner.get();
    }
    // One snapshot: the checkpoints and the rows they account for.
    ANNALS_ASSIGN_OR_RETURN(auto txn, reader->begin(db::Access::kRead));
    ANNALS_ASSIGN_OR_RETURN(auto checkpoints, read_checkpoints(*txn));
    bool first = true;
    for (const auto& [name, position] : checkpoints) {
      if (!first && position != report.position) {
        return Status::unavailable("the live projections are at different positions (" + name +
                                   " at " + std::to_string(position) + ", others at " +
                                   std::to_string(report.position) +
                                   "): let them catch up, then check again");
      }
      report.position = position;
      first = false;
    }
    ANNALS_ASSIGN_OR_RETURN(live_tables, read_tables(*txn, live_.dialect(), "annals"));
  }
  auto t = target(kCheckName);
  ANNALS_RETURN_IF_ERROR(t->drop());  // a check that died earlier
  auto built = replay_into(*t, report.position, "check", nullptr);
  Result<std::map<std::string, TableContents>> rebuilt_tables = Status::internal("not read");
  if (built.is_ok() && *built == report.position) {
    auto database = t->open_all_orgs();
    if (!database.is_ok()) {
      rebuilt_tables = database.status();
    } else {
      auto txn = (*database)->begin(db::Access::kRead);
      rebuilt_tables = txn.is_ok() ? read_tables(**txn, live_.dialect(), t->pg_schema())
                                   : Result<std::map<std::string, TableContents>>(txn.status());
    }
  }
  Status dropped = t->drop();
  if (!built.is_ok()) return built.status().with_context("building the check schema");
  if (*built < report.position) return interrupted("check", *built, report.position);
  if (!rebuilt_tables.is_ok()) return rebuilt_tables.status();
  ANNALS_RETURN_IF_ERROR(dropped);
  for (const auto& [table, contents] : live_tables) {
    report.digests[table] = contents.digest;
    report.rows[table] = contents.rows.size();
  }
  report.differences = compare_tables(live_tables, *rebuilt_tables, 50, &report.truncated);
  return report;
}

Result<uint64_t> Rebuilder::replay(const std::string& name, uint64_t from) {
  std::vector<std::unique_ptr<Projection>> projections;
  std::string known;
  for (auto& p : standard_projections()) {
    known += (known.empty() ? "" : ", ") + p->name();
    if (p->name() == name) projections.push_back(std::move(p));
  }
  if (projections.empty()) {
    return Status::not_found("no projection named '" + name + "'; there are: " + known);
  }
  const Projection& projection = *projections.front();
  uint64_t head = journal_.head();
  if (from < 1 || from > head + 1) {
    return Status::invalid_argument("from", "--from must be between 1 and " +
                                                std::to_string(head + 1) + ", not " +
                                                std::to_string(from));
  }
  std::unique_ptr<db::Database> owner;
  db::Database* writer = &live_;
  if (live_.dialect() == db::Dialect::kPostgres) {
    if (options_.admin_url.empty()) {
      return Status::permission_denied("replaying into PostgreSQL needs a superuser URL");
    }
    ANNALS_ASSIGN_OR_RETURN(owner, open_as_owner(options_.admin_url, "annals"));
    writer = owner.get();
  }
  uint64_t reached = 0;
  auto run = [&]() -> Status {
    uint64_t end = journal_.head();
    ANNALS_RETURN_IF_ERROR(journal_.sync_to(end));
    std::string phase = "replay " + name;
    ANNALS_ASSIGN_OR_RETURN(auto txn, writer->begin(db::Access::kWrite));
    for (const auto& table : projection.tables()) {
      ANNALS_RETURN_IF_ERROR(txn->execute("DELETE FROM " + table).status());
    }
    // The whole replay is one transaction: an interruption or a failure
    // changes nothing, and readers see the old rows until it commits.
    bool interrupted = false;
    ProjectionState state;
    state.name = name;
    state.position = from - 1;
    ApplyLoop loop(journal_, projections, FailurePolicy::kAbort, options_.batch_size);
    ANNALS_RETURN_IF_ERROR(
        loop.run(*txn, {state}, end,
                 [&](const std::vector<ProjectionState>&, uint64_t last) {
                   reached = last;
                   interrupted = options_.progress && !options_.progress({phase, last, end});
                   return !interrupted;
                 })
            .status());
    if (interrupted) {
      return Status::unavailable("replay of '" + name + "' interrupted at position " +
                                 std::to_string(reached) + "; nothing was changed");
    }
    // The loop moves the checkpoint with each batch; this also sets it when
    // there was nothing to apply (--from past the head).
    ANNALS_RETURN_IF_ERROR(write_checkpoint(*txn, name, end));
    // A projection that was stopped by a failure runs again from here.
    ANNALS_RETURN_IF_ERROR(clear_failure(*txn, name));
    reached = end;
    return txn->commit();
  };
  Status s = options_.live_projector ? options_.live_projector->with_paused(run) : run();
  if (!s.is_ok()) return s;
  return reached;
}

}  // namespace annals::projections
