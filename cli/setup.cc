// annals setup: prepares a PostgreSQL read database.
#include <cstdio>

#include "cli/commands.h"
#include "projections/postgres_setup.h"
#include "projections/postgres_url.h"

namespace annals::cli {

int run_setup(const SetupArgs& args) {
  const std::string& url = args.database;
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
