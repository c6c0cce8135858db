#include "projections/rebuild.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "core/sha256.h"
#include "projections/migrate.h"
#include "projections/postgres_setup.h"
#include "projections/sqlite_database.h"
#include "projections/standard_projections.h"

namespace annals::projections {
namespace {

constexpr const char* kRebuildName = "rebuild";
constexpr const char* kCheckName = "check";

// A value as text that keeps its type: "NULL", "i:42", "s:5:hello", ...
void append_value(std::string* out, const db::Value& v) {
  if (std::holds_alternative<db::Null>(v)) {
    *out += "NULL";
  } else if (auto* b = std::get_if<bool>(&v)) {
    *out += *b ? "b:t" : "b:f";
  } else if (auto* i = std::get_if<int64_t>(&v)) {
    *out += "i:" + std::to_string(*i);
  } else if (auto* d = std::get_if<double>(&v)) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "d:%.17g", *d);
    *out += buf;
  } else {
    const auto& s = std::get<std::string>(v);
    *out += "s:" + std::to_string(s.size()) + ":" + s;
  }
}

// For messages: col='value', with the value cut short.
std::string describe_value(const db::Value& v) {
  if (std::holds_alternative<db::Null>(v)) return "NULL";
  if (auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (auto* d = std::get_if<double>(&v)) return std::to_string(*d);
  std::string s = std::get<std::string>(v);
  if (s.size() > 60) s = s.substr(0, 60) + "…";
  return "'" + s + "'";
}

Result<std::vector<std::string>> list_tables(db::Transaction& txn, db::Dialect dialect,
                                             const std::string& schema) {
  std::vector<std::string> out;
  if (dialect == db::Dialect::kSqlite) {
    ANNALS_ASSIGN_OR_RETURN(auto rows,
                            txn.query("SELECT name FROM sqlite_master WHERE type = 'table'"
                                      " AND name NOT LIKE 'sqlite_%' ORDER BY name"));
    for (const auto& r : rows) out.push_back(r.text(0));
  } else {
    ANNALS_ASSIGN_OR_RETURN(
        auto rows,
        txn.query("SELECT c.relname FROM pg_class c"
                  " JOIN pg_namespace n ON n.oid = c.relnamespace"
                  " WHERE n.nspname IN ($1::text, $1::text || '_meta') AND c.relkind = 'r'"
                  " ORDER BY c.relname",
                  {schema}));
    for (const auto& r : rows) out.push_back(r.text(0));
  }
  return out;
}

Result<std::vector<std::string>> primary_key(db::Transaction& txn, db::Dialect dialect,
                                             const std::string& schema, const std::string& table) {
  std::vector<std::string> out;
  if (dialect == db::Dialect::kSqlite) {
    ANNALS_ASSIGN_OR_RETURN(
        auto rows,
        txn.query("SELECT name FROM pragma_table_info($1) WHERE pk > 0 ORDER BY pk", {table}));
    for (const auto& r : rows) out.push_back(r.text(0));
  } else {
    ANNALS_ASSIGN_OR_RETURN(
        auto rows,
        txn.query("SELECT a.attname FROM pg_index i"
                  " JOIN pg_class c ON c.oid = i.indrelid"
                  " JOIN pg_namespace n ON n.oid = c.relnamespace"
                  " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY (i.indkey)"
                  " WHERE i.indisprimary AND n.nspname IN ($1::text, $1::text || '_meta') AND "
                  "c.relname = $2"
                  " ORDER BY array_position(i.indkey::int2[], a.attnum)",
                  {schema, table}));
    for (const auto& r : rows) out.push_back(r.text(0));
  }
  return out;
}

Result<std::map<std::string, TableContents>> read_tables(db::Transaction& txn, db::Dialect dialect,
                                                         const std::string& schema) {
  std::map<std::string, TableContents> out;
  ANNALS_ASSIGN_OR_RETURN(auto tables, list_tables(txn, dialect, schema));
  for (const auto& table : tables) {
    // The migration record holds when each migration ran: not contents.
    if (table == "annals_migrations") continue;
    ANNALS_ASSIGN_OR_RETURN(auto key_columns, primary_key(txn, dialect, schema, table));
    std::string columns_sql =
        dialect == db::Dialect::kSqlite
            ? "SELECT name FROM pragma_table_info($1) ORDER BY cid"
            : "SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
              " JOIN pg_namespace n ON n.oid = c.relnamespace"
              " WHERE n.nspname IN ($2::text, $2::text || '_meta') AND c.relname = $1"
              " AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum";
    std::vector<db::Value> params{table};
    if (dialect == db::Dialect::kPostgres) params.push_back(schema);
    ANNALS_ASSIGN_OR_RETURN(auto column_rows, txn.query(columns_sql, params));
    TableContents contents;
    std::string select = "SELECT ";
    for (size_t i = 0; i < column_rows.size(); ++i) {
      contents.columns.push_back(column_rows[i].text(0));
      select += (i ? ", " : "") + std::string("\"") + column_rows[i].text(0) + "\"";
    }
    if (contents.columns.empty()) continue;
    select += " FROM \"" + table + "\"";
    ANNALS_ASSIGN_OR_RETURN(auto rows, txn.query(select));
    for (const auto& row : rows) {
      std::string text;
      std::string key;
      for (size_t c = 0; c < row.size(); ++c) {
        append_value(&text, row.at(c));
        text += '|';
        bool in_key = key_columns.empty();
        for (const auto& k : key_columns) in_key = in_key || k == contents.columns[c];
        if (in_key) {
          key += (key.empty() ? "" : ", ") + contents.columns[c] + "=" + describe_value(row.at(c));
        }
      }
      contents.rows[key] = std::move(text);
    }
    Sha256 digest;
    for (const auto& [key, text] : contents.rows) {
      digest.update(key);
      digest.update("\n");
      digest.update(text);
      digest.update("\n");
    }
    contents.digest = digest.hex();
    out[table] = std::move(contents);
  }
  return out;
}

Result<std::map<std::string, uint64_t>> read_checkpoints(db::Transaction& txn) {
  ANNALS_ASSIGN_OR_RETURN(auto rows,
                          txn.query("SELECT projection, position FROM projection_checkpoints"));
  std::map<std::string, uint64_t> out;
  for (const auto& r : rows) out[r.text(0)] = static_cast<uint64_t>(r.i64(1));
  return out;
}

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
  auto all = standard_projections();
  std::unique_ptr<Projection> projection;
  std::string known;
  for (auto& p : all) {
    known += (known.empty() ? "" : ", ") + p->name();
    if (p->name() == name) projection = std::move(p);
  }
  if (!projection) {
    return Status::not_found("no projection named '" + name + "'; there are: " + known);
  }
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
    for (const auto& table : projection->tables()) {
      ANNALS_RETURN_IF_ERROR(txn->execute("DELETE FROM " + table).status());
    }
    uint64_t at = from;
    reached = from - 1;
    while (at <= end) {
      size_t count = static_cast<size_t>(std::min<uint64_t>(options_.batch_size, end - at + 1));
      ANNALS_ASSIGN_OR_RETURN(auto batch, journal_.read(at, count));
      if (batch.empty()) break;
      for (const auto& event : batch) {
        if (!projection->handles(event.type())) continue;
        ANNALS_RETURN_IF_ERROR(txn->set_org(event.org_id()));
        Status s = projection->apply(*txn, event);
        if (!s.is_ok()) {
          return s.with_context("projection '" + name + "' failed at position " +
                                std::to_string(event.position()));
        }
      }
      reached = batch.back().position();
      at = reached + 1;
      if (options_.progress && !options_.progress({phase, reached, end})) {
        return Status::unavailable("replay of '" + name + "' interrupted at position " +
                                   std::to_string(reached) + "; nothing was changed");
      }
    }
    ANNALS_RETURN_IF_ERROR(txn->execute("INSERT INTO projection_checkpoints (projection, position)"
                                        " VALUES ($1, $2) ON CONFLICT (projection)"
                                        " DO UPDATE SET position = excluded.position",
                                        {name, static_cast<int64_t>(end)})
                               .status());
    // A projection that was stopped by a failure runs again from here.
    ANNALS_RETURN_IF_ERROR(
        txn->execute("DELETE FROM projection_failures WHERE projection = $1", {name}).status());
    reached = end;
    return txn->commit();
  };
  Status s = options_.live_projector ? options_.live_projector->with_paused(run) : run();
  if (!s.is_ok()) return s;
  return reached;
}

Result<std::map<std::string, TableContents>> read_all_tables(db::Database& database,
                                                             const std::string& pg_schema) {
  ANNALS_ASSIGN_OR_RETURN(auto txn, database.begin(db::Access::kRead));
  return read_tables(*txn, database.dialect(), pg_schema);
}

std::vector<TableDifference> compare_tables(const std::map<std::string, TableContents>& live,
                                            const std::map<std::string, TableContents>& rebuilt,
                                            size_t limit, bool* truncated) {
  std::vector<TableDifference> out;
  *truncated = false;
  auto add = [&](const std::string& table, const std::string& key, const std::string& what) {
    if (out.size() >= limit) {
      *truncated = true;
      return;
    }
    out.push_back({table, key, what});
  };
  static const TableContents kEmpty;
  std::map<std::string, bool> tables;
  for (const auto& [t, c] : live) tables[t] = true;
  for (const auto& [t, c] : rebuilt) tables[t] = true;
  for (const auto& [table, unused] : tables) {
    auto l = live.find(table);
    auto r = rebuilt.find(table);
    if (l == live.end()) {
      add(table, "", "table only in rebuilt");
      continue;
    }
    if (r == rebuilt.end()) {
      add(table, "", "table only in live");
      continue;
    }
    if (l->second.digest == r->second.digest) continue;
    if (l->second.columns != r->second.columns) add(table, "", "columns differ");
    for (const auto& [key, text] : l->second.rows) {
      auto other = r->second.rows.find(key);
      if (other == r->second.rows.end()) {
        add(table, key, "only in live");
      } else if (other->second != text) {
        add(table, key, "differs");
      }
    }
    for (const auto& [key, text] : r->second.rows) {
      if (!l->second.rows.count(key)) add(table, key, "only in rebuilt");
    }
  }
  return out;
}

}  // namespace annals::projections
