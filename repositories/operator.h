// StoreInternals: what a Store is made of, for the operator tools (the
// annals command line) and the tests built with Annals: the journal, the
// read databases, the projector, the rebuilder and the secrets. An app
// includes annals/store.h and uses the repositories; this header is private
// to the Annals tree and not installed.
//
//   repositories::OperatorOptions hooks;
//   hooks.start_projector = false;                  // a rebuild replaces the read database
//   auto store = repositories::StoreInternals::open(options, hooks);
//   (*store)->internals().rebuilder().rebuild();
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "annals/store.h"
#include "journal/journal.h"
#include "projections/database.h"
#include "projections/projector.h"
#include "projections/rebuild.h"
#include "repositories/context.h"
#include "repositories/secrets.h"

namespace rocksdb {
class Env;
}

namespace annals::repositories {

// How operator tools and tests open a store beyond what StoreOptions says.
struct OperatorOptions {
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

class StoreInternals {
 public:
  // Store::open(options) is open(options, {}).
  static Result<std::unique_ptr<Store>> open(StoreOptions options, const OperatorOptions& hooks);
  ~StoreInternals();

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
  // What every repository shares (to build another repository over the same store).
  RepositoryContext& context() { return *context_; }
  // Null when the store was opened without a master key.
  Secrets* secrets() { return secrets_.get(); }
  Clock& clock() { return *clock_; }

 private:
  friend class Store;
  StoreInternals() = default;
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
