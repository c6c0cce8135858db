// annals setup: prepares a PostgreSQL read database.
#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"
#include "projections/postgres_setup.h"
#include "projections/postgres_url.h"

namespace annals::cli {
namespace {

constexpr const char* kHelp =
    "Usage: annals setup --database URL\n"
    "\n"
    "Prepares a PostgreSQL database for Annals, given a superuser URL. Idempotent.\n"
    "  - roles: annals_owner (owns the tables, runs migrations, no login),\n"
    "    annals_query and annals_projector (login; not superusers, no BYPASSRLS,\n"
    "    own nothing: row-level security always applies to them);\n"
    "  - schemas annals (org data, every table under forced row-level security)\n"
    "    and annals_meta (checkpoints, migration record);\n"
    "  - every migration not yet applied.\n"
    "Roles that already exist are brought to these attributes.\n"
    "Set ANNALS_RUNTIME_PASSWORD to give the runtime roles a password (sent as a\n"
    "SCRAM-SHA-256 verifier computed here; the password itself is never sent).\n"
    "Only setup (and annals demo, given a superuser URL) changes roles and\n"
    "schemas: the app, status and verify never do.\n"
    "Then serve with ANNALS_DATABASE_URL=postgres://annals_query[:PASSWORD]@HOST/DB.\n";

}  // namespace

int run_setup(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {{"--database"}, {"--help"}});
  if (!args.is_ok()) return usage_error("setup", args.status().message());
  if (args->flag("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  std::string url = args->get_or("--database", default_database_url());
  if (url.empty()) return usage_error("setup", "--database URL is required");
  if (!db::is_postgres_url(url)) {
    return usage_error("setup", "setup is for PostgreSQL (postgres://...); SQLite needs none");
  }
  SystemClock clock;
  auto report = db::setup_postgres(url, runtime_password(), clock);
  if (!report.is_ok()) return failure("setup", report.status().to_string());
  std::printf("ok: %s ready; roles %s; %d migrations applied, schema version %d\n",
              db::redact_url(url).c_str(), report->created_roles ? "created" : "already present",
              report->migrations_applied, report->schema_version);
  for (const auto& role : report->corrected_roles) {
    std::printf("corrected: role %s had other attributes; it now has Annals' own\n", role.c_str());
  }
  std::printf("serve as: %s\n", db::redact_url(db::url_with_user(url, db::kQueryRole,
                                                                 runtime_password().value_or("")))
                                    .c_str());
  return 0;
}

}  // namespace annals::cli
