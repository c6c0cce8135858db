// Store: one object that gives the app its repositories, over a journal, a
// read database and the projector between them.
//
//   StoreOptions options;
//   options.data_dir = "/home/me/.annals";            // journal/ and read.sqlite inside
//   auto store = Store::open(options);
//   (*store)->tokens().get_by_prefix("bodhiapp_abc");
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "annals/access.h"
#include "annals/access_requests.h"
#include "annals/app_instance.h"
#include "annals/clock.h"
#include "annals/mcp_auth.h"
#include "annals/mcp_servers.h"
#include "annals/models.h"
#include "annals/options.h"
#include "annals/rebuild.h"
#include "annals/settings.h"
#include "annals/status.h"
#include "annals/tokens.h"
#include "annals/toolsets.h"
#include "annals/user_aliases.h"

namespace annals::repositories {

struct StoreOptions {
  std::string data_dir;  // holds "journal/" and, by default, "read.sqlite"
  // Empty: sqlite:<data_dir>/read.sqlite. A postgres:// URL of a superuser
  // names the server and database only: the store connects as the runtime
  // roles (that user swapped for annals_query and annals_projector, with
  // runtime_password) and keeps no superuser connection or URL. A URL of
  // annals_query is used as it is.
  std::string database_url;
  // PostgreSQL: first run setup (roles, schemas, migrations, the runtime
  // password; db::setup_postgres) through database_url, a superuser's.
  // Never implied by the URL: setup changes roles and schemas, so only
  // `annals setup`, `annals demo` and tests ask for it. Without it, a
  // database that was never set up is refused with a message naming
  // `annals setup`.
  bool setup_database = false;
  // PostgreSQL: the projector's connection. Empty: database_url with the
  // user annals_projector (and the same password).
  std::string projector_database_url;
  // PostgreSQL: the runtime roles' password, used to connect as them from a
  // superuser URL, and given to them by setup (setup_database).
  std::optional<std::string> runtime_password;
  // 32 bytes from the app (an OS keychain, a secrets manager). It wraps each
  // org's data key; without it, calls that store or return secrets fail.
  std::string master_key;
  Durability durability = Durability::kSync;
  ProjectorMode projector_mode = ProjectorMode::kInline;
  RepositoryOptions repository;
  Clock* clock = nullptr;  // null: the system clock; must outlive the store
};

// The McpRepository of the domain: servers and a user's instances of them,
// and the credentials (auth headers, OAuth configs and tokens) they use.
class McpRepository {
 public:
  McpRepository(McpServerRepository& servers, McpAuthRepository& credentials)
      : servers_(servers), credentials_(credentials) {}
  McpServerRepository& servers() { return servers_; }
  McpAuthRepository& credentials() { return credentials_; }

 private:
  McpServerRepository& servers_;
  McpAuthRepository& credentials_;
};

// What Store::internals() returns: the store's journal, read databases,
// projector and operator tools. Defined in repositories/operator.h, for the
// operator tools and tests built with Annals; not part of the app's API and
// not installed.
class StoreInternals;

// Thread-safe.
class Store {
 public:
  static Result<std::unique_ptr<Store>> open(StoreOptions options);
  ~Store();

  // The nine repositories of the domain.
  ModelRepository& models();
  AccessRepository& access();
  AccessRequestRepository& access_requests();
  AppInstanceRepository& app_instance();
  TokenRepository& tokens();
  ToolsetRepository& toolsets();
  McpRepository& mcp();
  UserAliasRepository& user_aliases();
  SettingsRepository& settings();

  // Crypto-shreds the org: its data key is destroyed, its events and rows
  // stay, and every call that returns one of its secrets fails from now on,
  // as does every call that would store a new one. Needs no master key.
  // Irreversible; idempotent. kInvalidArgument for a bad org id, nothing
  // written.
  Status forget_org(std::string_view org_id);
  Clock& clock();

  // Operator tools over this store's read database (annals/rebuild.h,
  // docs/OPERATIONS.md): the repositories keep serving while they run. On
  // PostgreSQL each needs a superuser URL in request.admin_url.
  //
  // What rebuild() would do; changes nothing.
  Result<projections::RebuildPlan> plan_rebuild(const RebuildRequest& request = {});
  // Builds (or resumes) a read schema from the whole journal beside the
  // live one and swaps it in. On an error or an interruption the live
  // schema is untouched.
  Result<projections::RebuildReport> rebuild(const RebuildRequest& request = {});
  // Drops what an interrupted rebuild left; fine when there is none.
  Status discard_rebuild(const RebuildRequest& request = {});
  // Builds a second schema up to the live one's checkpoint and compares
  // every table with the live one, row by row; then drops it.
  Result<projections::CheckReport> check_rebuild(const RebuildRequest& request = {});
  // Re-runs one projection (its name as `annals status` lists it) from
  // position `from` (1: the whole journal), in one transaction; returns the
  // position reached. kNotFound for an unknown projection.
  Result<uint64_t> replay(const std::string& projection, uint64_t from,
                          const RebuildRequest& request = {});

  StoreInternals& internals() { return *internals_; }

 private:
  friend class StoreInternals;
  explicit Store(std::unique_ptr<StoreInternals> internals);

  std::unique_ptr<StoreInternals> internals_;
};

}  // namespace annals::repositories
