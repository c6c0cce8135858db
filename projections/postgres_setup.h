// Setting up a PostgreSQL database for Annals: roles, schemas, migrations.
//
// Three roles, fixed names:
//   annals_owner      NOLOGIN. Owns every table and runs migrations. BYPASSRLS
//                     so that its SECURITY DEFINER lookups (a token by prefix)
//                     can find a row before the org is known; no superuser,
//                     CREATEDB, CREATEROLE or REPLICATION.
//   annals_query      LOGIN. Reads: SELECT on the tables, EXECUTE on the lookups.
//   annals_projector  LOGIN. Writes projections: SELECT/INSERT/UPDATE/DELETE.
// Neither runtime role is a superuser, has BYPASSRLS or REPLICATION, owns
// anything, or is a member of annals_owner, so row-level security always
// applies to them. Setup brings a role that already exists with other
// attributes to these.
//
// Schemas: "annals" (org data; every table under RLS) and "annals_meta"
// (checkpoints and the migration record; no org data).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "annals/clock.h"
#include "annals/status.h"

namespace annals::db {

inline constexpr const char* kOwnerRole = "annals_owner";
inline constexpr const char* kQueryRole = "annals_query";
inline constexpr const char* kProjectorRole = "annals_projector";

struct PgSetupReport {
  bool created_roles = false;  // any role was created this time
  // Roles that existed with other attributes (a superuser or BYPASSRLS
  // runtime role, an owner that could log in, ...) and were brought to
  // Annals' own.
  std::vector<std::string> corrected_roles;
  int migrations_applied = 0;
  int schema_version = 0;
};

// Whether the URL's role is a superuser (and so can run setup).
Result<bool> is_superuser(const std::string& url);

// Idempotent. Needs a superuser URL. With a password, sets it on both
// runtime roles (LOGIN over password authentication) as a SCRAM-SHA-256
// verifier computed client-side: the password is never sent.
Result<PgSetupReport> setup_postgres(const std::string& admin_url,
                                     const std::optional<std::string>& runtime_password,
                                     Clock& clock);

}  // namespace annals::db
