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

#include "core/clock.h"
#include "core/status.h"
#include "journal/journal.h"
#include "projections/database.h"
#include "projections/projector.h"
#include "projections/rebuild.h"
#include "repositories/access_repository.h"
#include "repositories/access_request_repository.h"
#include "repositories/app_instance_repository.h"
#include "repositories/context.h"
#include "repositories/mcp_auth_repository.h"
#include "repositories/mcp_repository.h"
#include "repositories/model_repository.h"
#include "repositories/secrets.h"
#include "repositories/settings_repository.h"
#include "repositories/token_repository.h"
#include "repositories/toolset_repository.h"
#include "repositories/user_alias_repository.h"

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
  journal::Durability durability = journal::Durability::kSync;
  projections::ProjectorMode projector_mode = projections::ProjectorMode::kInline;
  RepositoryOptions repository;
  Clock* clock = nullptr;  // null: the system clock; must outlive the store
  // False for operator tools that replace the read database (rebuild): the
  // projector is not started, so a read database the journal cannot serve
  // (its checkpoints past the head) does not stop the tool that fixes it.
  // Repository writes then report kTimedOut: nothing projects them.
  bool start_projector = true;
  // Fault injection for tests (power cuts): the RocksDB Env the journal's
  // files go through (journal::Options::env; null is the operating
  // system's) and the SQLite VFS the read database opens its files through
  // (db::DatabaseOptions::sqlite_vfs; empty is SQLite's default).
  rocksdb::Env* journal_env = nullptr;
  std::string sqlite_vfs;
};

struct PostgresConnections {
  std::unique_ptr<db::Database> query;      // as annals_query
  std::unique_ptr<db::Database> projector;  // as annals_projector
};

// Connects to a PostgreSQL read database as the runtime roles; a superuser
// URL only names the server and database (its user is swapped for the
// runtime roles'). Changes nothing: never runs setup (db::setup_postgres
// does). Fails, naming `annals setup`, unless the database was set up and
// its schema is migrated.
Result<PostgresConnections> connect_postgres(const std::string& url,
                                             const std::string& projector_url,
                                             const std::optional<std::string>& runtime_password,
                                             Clock& clock);

// For tools that only look (annals status, annals verify): a connection
// that changes nothing, every transaction READ ONLY. A superuser URL reads
// as annals_query (SET ROLE; no password needed, setup never run); any other
// URL as its own user. Fails, naming `annals setup`, unless the database
// was set up and its schema is migrated.
Result<std::unique_ptr<db::Database>> open_postgres_read_only(const std::string& url, Clock& clock);

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

// Thread-safe.
class Store {
 public:
  static Result<std::unique_ptr<Store>> open(StoreOptions options);
  ~Store();

  // The nine repositories of the domain.
  ModelRepository& models() { return *models_; }
  AccessRepository& access() { return *access_; }
  AccessRequestRepository& access_requests() { return *access_requests_; }
  AppInstanceRepository& app_instance() { return *app_instance_; }
  TokenRepository& tokens() { return *tokens_; }
  ToolsetRepository& toolsets() { return *toolsets_; }
  McpRepository& mcp() { return *mcp_; }
  UserAliasRepository& user_aliases() { return *user_aliases_; }
  SettingsRepository& settings() { return *settings_; }
  // What every repository shares (to build another repository over the same store).
  RepositoryContext& context() { return *context_; }

  journal::Journal& journal() { return *journal_; }
  // Where queries run (for SQLite, also where projections write).
  db::Database& database() { return *database_; }
  db::Database& projector_database() {
    return projector_database_ ? *projector_database_ : *database_;
  }
  projections::Projector& projector() { return *projector_; }
  // Operator tools over this store's journal and read database (see
  // projections/rebuild.h and docs/OPERATIONS.md). The live projector is
  // paused for the swap; on PostgreSQL they need a superuser URL in
  // options.admin_url, given per call: the store keeps none.
  projections::Rebuilder rebuilder(projections::RebuildOptions options = {});

  // Null when the store was opened without a master key.
  Secrets* secrets() { return secrets_.get(); }

  // Crypto-shreds the org (Secrets::forget): its data key is destroyed, its
  // events and rows stay, and every call that returns one of its secrets
  // fails from now on (is_forgotten_org()), as does every call that would
  // store a new one. Needs no master key. Irreversible; idempotent.
  // kInvalidArgument for a bad org id, nothing written.
  Status forget_org(std::string_view org_id);
  Clock& clock() { return *clock_; }

 private:
  Store() = default;
  Status open_postgres(const std::string& url, const StoreOptions& options);

  SystemClock system_clock_;
  Clock* clock_ = nullptr;
  std::unique_ptr<journal::Journal> journal_;
  std::unique_ptr<db::Database> database_;
  std::unique_ptr<db::Database> projector_database_;  // PostgreSQL only
  std::unique_ptr<projections::Projector> projector_;
  std::unique_ptr<Secrets> secrets_;
  std::unique_ptr<RepositoryContext> context_;
  std::unique_ptr<ModelRepository> models_;
  std::unique_ptr<AccessRepository> access_;
  std::unique_ptr<AccessRequestRepository> access_requests_;
  std::unique_ptr<AppInstanceRepository> app_instance_;
  std::unique_ptr<TokenRepository> tokens_;
  std::unique_ptr<ToolsetRepository> toolsets_;
  std::unique_ptr<McpServerRepository> mcp_servers_;
  std::unique_ptr<McpAuthRepository> mcp_credentials_;
  std::unique_ptr<McpRepository> mcp_;
  std::unique_ptr<UserAliasRepository> user_aliases_;
  std::unique_ptr<SettingsRepository> settings_;
};

}  // namespace annals::repositories
