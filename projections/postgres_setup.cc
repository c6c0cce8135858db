#include "projections/postgres_setup.h"

#include <libpq-fe.h>

#include <pqxx/pqxx>

#include <chrono>
#include <map>
#include <thread>
#include <vector>

#include "projections/database.h"
#include "projections/migrate.h"
#include "projections/postgres_database.h"
#include "projections/postgres_url.h"

namespace annals::db {
namespace {

// Creates the role unless it exists; a concurrent creator is not an error.
bool ensure_role(pqxx::connection& conn, const std::string& role, const std::string& attributes) {
  pqxx::nontransaction tx(conn);
  pqxx::result r = tx.exec_params("SELECT 1 FROM pg_roles WHERE rolname = $1", role);
  if (!r.empty()) return false;
  try {
    tx.exec("CREATE ROLE " + tx.quote_name(role) + " " + attributes);
    return true;
  } catch (const pqxx::sql_error& e) {
    if (e.sqlstate() == "42710" || e.sqlstate() == "23505") return false;  // created meanwhile
    throw;
  }
}

bool is_retryable_catalog_race(const pqxx::sql_error& e) {
  // Roles are shared by every database of the server: two setups at once may
  // race on the same catalog rows.
  const std::string& state = e.sqlstate();
  return state == "XX000" || state == "40001" || state == "40P01" || state == "23505" ||
         state == "42710";
}

// The attributes of Annals' roles, given when setup creates them and
// restored when a role that already exists differs.
constexpr const char* kOwnerAttributes =
    "NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION BYPASSRLS";
constexpr const char* kRuntimeAttributes =
    "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT";

// The SCRAM-SHA-256 verifier of `password`, computed here by libpq: the
// password itself never reaches the server, its statement log or its
// errors. libpqxx keeps its libpq connection private, hence one of our own.
Result<std::string> scram_verifier(const std::string& admin_url, const std::string& role,
                                   const std::string& password) {
  PGconn* conn = PQconnectdb(admin_url.c_str());
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
    std::string why = conn ? PQerrorMessage(conn) : "out of memory";
    PQfinish(conn);
    return Status::unavailable("cannot connect to " + redact_url(admin_url) + ": " + why);
  }
  char* verifier = PQencryptPasswordConn(conn, password.c_str(), role.c_str(), "scram-sha-256");
  if (verifier == nullptr) {
    std::string why = PQerrorMessage(conn);
    PQfinish(conn);
    return Status::internal("cannot hash the password of " + role + ": " + why);
  }
  std::string out(verifier);
  PQfreemem(verifier);
  PQfinish(conn);
  return out;
}

// Creates the three roles when missing and makes all three what they must
// be (the runtime roles: no superuser, no BYPASSRLS, not members of the
// owner; the owner: no login, no superuser), changing only what differs.
// `verifiers`: the runtime roles' password verifiers, by role, to set.
// Returns whether a role was created; `corrected` gets the roles altered.
bool ensure_roles(pqxx::connection& conn, const std::map<std::string, std::string>& verifiers,
                  std::vector<std::string>& corrected) {
  for (int attempt = 0;; ++attempt) {
    try {
      corrected.clear();
      bool created = false;
      created |= ensure_role(conn, kOwnerRole, kOwnerAttributes);
      created |= ensure_role(conn, kQueryRole, kRuntimeAttributes);
      created |= ensure_role(conn, kProjectorRole, kRuntimeAttributes);
      pqxx::nontransaction tx(conn);
      pqxx::result owner = tx.exec_params(
          "SELECT rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication OR rolcanlogin"
          " OR NOT rolbypassrls FROM pg_roles WHERE rolname = $1",
          std::string(kOwnerRole));
      if (owner[0][0].c_str()[0] == 't') {
        tx.exec("ALTER ROLE " + tx.quote_name(kOwnerRole) + " " + kOwnerAttributes);
        corrected.push_back(kOwnerRole);
      }
      for (const char* role : {kQueryRole, kProjectorRole}) {
        pqxx::result r = tx.exec_params(
            "SELECT rolsuper OR rolbypassrls OR rolcreatedb OR rolcreaterole OR rolreplication"
            " OR rolinherit OR NOT rolcanlogin, pg_has_role(rolname, $2, 'MEMBER')"
            " FROM pg_roles WHERE rolname = $1",
            std::string(role), std::string(kOwnerRole));
        if (r[0][0].c_str()[0] == 't') {
          tx.exec("ALTER ROLE " + tx.quote_name(role) + " " + kRuntimeAttributes);
          corrected.push_back(role);
        }
        if (r[0][1].c_str()[0] == 't') {
          tx.exec("REVOKE " + tx.quote_name(kOwnerRole) + " FROM " + tx.quote_name(role));
          if (corrected.empty() || corrected.back() != role) corrected.push_back(role);
        }
        if (auto v = verifiers.find(role); v != verifiers.end()) {
          tx.exec("ALTER ROLE " + tx.quote_name(role) + " PASSWORD " + tx.quote(v->second));
        }
      }
      return created;
    } catch (const pqxx::sql_error& e) {
      if (attempt >= 8 || !is_retryable_catalog_race(e)) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(20 * (attempt + 1)));
    }
  }
}

}  // namespace

Result<bool> is_superuser(const std::string& url) {
  try {
    pqxx::connection conn(url);
    pqxx::nontransaction tx(conn);
    pqxx::result r = tx.exec("SELECT rolsuper FROM pg_roles WHERE rolname = current_user");
    return !r.empty() && r[0][0].c_str()[0] == 't';
  } catch (const pqxx::broken_connection& e) {
    return Status::unavailable("cannot connect to " + redact_url(url) + ": " + e.what());
  } catch (const std::exception& e) {
    return status_from_pqxx(e, "role check");
  }
}

Result<PgSetupReport> setup_postgres(const std::string& admin_url,
                                     const std::optional<std::string>& runtime_password,
                                     Clock& clock) {
  PgSetupReport report;
  std::map<std::string, std::string> verifiers;  // runtime role -> SCRAM verifier
  if (runtime_password.has_value()) {
    for (const char* role : {kQueryRole, kProjectorRole}) {
      ANNALS_ASSIGN_OR_RETURN(verifiers[role], scram_verifier(admin_url, role, *runtime_password));
    }
  }
  try {
    pqxx::connection conn(admin_url);
    {
      pqxx::nontransaction tx(conn);
      pqxx::result r = tx.exec("SELECT rolsuper FROM pg_roles WHERE rolname = current_user");
      if (r.empty() || r[0][0].c_str()[0] != 't') {
        return Status::permission_denied("annals setup needs a superuser URL; " +
                                         redact_url(admin_url) + " is not one");
      }
    }
    report.created_roles = ensure_roles(conn, verifiers, report.corrected_roles);

    pqxx::work tx(conn);
    tx.exec("SELECT pg_advisory_xact_lock(4242000002)");
    tx.exec("CREATE SCHEMA IF NOT EXISTS annals AUTHORIZATION annals_owner");
    tx.exec("CREATE SCHEMA IF NOT EXISTS annals_meta AUTHORIZATION annals_owner");
    tx.exec("REVOKE ALL ON SCHEMA annals, annals_meta FROM PUBLIC");
    tx.exec("GRANT USAGE ON SCHEMA annals, annals_meta TO annals_query, annals_projector");
    tx.commit();
  } catch (const pqxx::broken_connection& e) {
    return Status::unavailable("cannot connect to " + redact_url(admin_url) + ": " + e.what());
  } catch (const std::exception& e) {
    return status_from_pqxx(e, "annals setup");
  }

  DatabaseOptions as_owner;
  as_owner.pool_size = 1;
  as_owner.session_role = kOwnerRole;
  as_owner.require_unprivileged = false;
  ANNALS_ASSIGN_OR_RETURN(auto owner_db, Database::open(admin_url, as_owner));
  ANNALS_ASSIGN_OR_RETURN(auto migrations, projections::embedded_migrations(Dialect::kPostgres));
  ANNALS_ASSIGN_OR_RETURN(auto migrated, projections::migrate(*owner_db, migrations, clock));
  report.migrations_applied = migrated.applied;
  report.schema_version = migrated.schema_version;
  {
    ANNALS_ASSIGN_OR_RETURN(auto txn, owner_db->begin(Access::kWrite));
    ANNALS_RETURN_IF_ERROR(txn->execute_script(
        "GRANT SELECT ON annals_meta.annals_migrations TO annals_query, annals_projector"));
    ANNALS_RETURN_IF_ERROR(txn->commit());
  }
  return report;
}

}  // namespace annals::db
