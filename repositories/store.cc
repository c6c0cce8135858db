#include "annals/store.h"

#include "core/validate.h"
#include "projections/migrate.h"
#include "projections/postgres_setup.h"
#include "projections/postgres_url.h"
#include "projections/standard_projections.h"
#include "repositories/access_repository.h"
#include "repositories/access_request_repository.h"
#include "repositories/app_instance_repository.h"
#include "repositories/mcp_auth_repository.h"
#include "repositories/mcp_repository.h"
#include "repositories/model_repository.h"
#include "repositories/operator.h"
#include "repositories/settings_repository.h"
#include "repositories/token_repository.h"
#include "repositories/toolset_repository.h"
#include "repositories/user_alias_repository.h"

namespace annals::repositories {

Result<std::unique_ptr<Store>> Store::open(StoreOptions options) {
  return StoreInternals::open(std::move(options), OperatorOptions{});
}

Store::Store(std::unique_ptr<StoreInternals> internals) : internals_(std::move(internals)) {}
Store::~Store() = default;

ModelRepository& Store::models() { return *internals_->models_; }
AccessRepository& Store::access() { return *internals_->access_; }
AccessRequestRepository& Store::access_requests() { return *internals_->access_requests_; }
AppInstanceRepository& Store::app_instance() { return *internals_->app_instance_; }
TokenRepository& Store::tokens() { return *internals_->tokens_; }
ToolsetRepository& Store::toolsets() { return *internals_->toolsets_; }
McpRepository& Store::mcp() { return *internals_->mcp_; }
UserAliasRepository& Store::user_aliases() { return *internals_->user_aliases_; }
SettingsRepository& Store::settings() { return *internals_->settings_; }
Clock& Store::clock() { return internals_->clock(); }

namespace {

constexpr size_t kMaxRebuildBatch = 1000000;

Result<projections::RebuildOptions> rebuild_options(const RebuildRequest& request) {
  if (request.batch_size == 0 || request.batch_size > kMaxRebuildBatch) {
    return Status::invalid_argument("batch_size", "batch_size must be 1.." +
                                                      std::to_string(kMaxRebuildBatch) + ", not " +
                                                      std::to_string(request.batch_size));
  }
  projections::RebuildOptions options;
  options.admin_url = request.admin_url;
  options.progress = request.progress;
  options.batch_size = request.batch_size;
  return options;
}

}  // namespace

Result<projections::RebuildPlan> Store::plan_rebuild(const RebuildRequest& request) {
  ANNALS_ASSIGN_OR_RETURN(auto options, rebuild_options(request));
  return internals_->rebuilder(std::move(options)).plan();
}
Result<projections::RebuildReport> Store::rebuild(const RebuildRequest& request) {
  ANNALS_ASSIGN_OR_RETURN(auto options, rebuild_options(request));
  return internals_->rebuilder(std::move(options)).rebuild();
}
Status Store::discard_rebuild(const RebuildRequest& request) {
  ANNALS_ASSIGN_OR_RETURN(auto options, rebuild_options(request));
  return internals_->rebuilder(std::move(options)).discard();
}
Result<projections::CheckReport> Store::check_rebuild(const RebuildRequest& request) {
  ANNALS_ASSIGN_OR_RETURN(auto options, rebuild_options(request));
  return internals_->rebuilder(std::move(options)).check();
}
Result<uint64_t> Store::replay(const std::string& projection, uint64_t from,
                               const RebuildRequest& request) {
  ANNALS_ASSIGN_OR_RETURN(auto options, rebuild_options(request));
  return internals_->rebuilder(std::move(options)).replay(projection, from);
}

Status Store::forget_org(std::string_view org_id) {
  StoreInternals& s = *internals_;
  if (s.secrets_) return s.secrets_->forget(org_id);
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  return s.journal_->forget_data_key(org_id, to_micros(s.clock_->now()));
}

Result<std::unique_ptr<Store>> StoreInternals::open(StoreOptions options,
                                                    const OperatorOptions& hooks) {
  if (options.data_dir.empty())
    return Status::invalid_argument("data_dir", "data directory is empty");
  std::unique_ptr<StoreInternals> store(new StoreInternals());
  store->clock_ = options.clock ? options.clock : &store->system_clock_;

  journal::Options journal_options;
  journal_options.durability = options.durability;
  journal_options.clock = store->clock_;
  journal_options.env = hooks.journal_env;
  ANNALS_ASSIGN_OR_RETURN(store->journal_, journal::Journal::open_rocksdb(
                                               options.data_dir + "/journal", journal_options));

  std::string url = options.database_url.empty() ? "sqlite:" + options.data_dir + "/read.sqlite"
                                                 : options.database_url;
  if (db::is_postgres_url(url)) {
    ANNALS_RETURN_IF_ERROR(store->open_postgres(url, options));
  } else {
    db::DatabaseOptions database_options;
    database_options.sqlite_vfs = hooks.sqlite_vfs;
    ANNALS_ASSIGN_OR_RETURN(store->database_, db::Database::open(url, database_options));
    ANNALS_ASSIGN_OR_RETURN(auto migrations,
                            projections::embedded_migrations(store->database_->dialect()));
    ANNALS_ASSIGN_OR_RETURN(auto report,
                            projections::migrate(*store->database_, migrations, *store->clock_));
    (void)report;
  }

  projections::ProjectorOptions projector_options;
  projector_options.mode = options.projector_mode;
  store->projector_ = std::make_unique<projections::Projector>(
      *store->journal_, store->projector_database(), projections::standard_projections(),
      projector_options);
  if (hooks.start_projector) {
    ANNALS_RETURN_IF_ERROR(store->projector_->start());
    // Whatever was journalled but not yet projected (a crash between the
    // two) is applied before the first read.
    ANNALS_ASSIGN_OR_RETURN(uint64_t reached, store->projector_->catch_up());
    (void)reached;
  }

  if (!options.master_key.empty()) {
    ANNALS_ASSIGN_OR_RETURN(store->secrets_,
                            Secrets::create(*store->journal_, options.master_key, store->clock_));
  }
  store->context_ = std::make_unique<RepositoryContext>(*store->journal_, *store->database_,
                                                        *store->projector_, *store->clock_,
                                                        options.repository, store->secrets_.get());
  RepositoryContext& ctx = *store->context_;
  store->models_ = make_model_repository(ctx);
  store->access_ = make_access_repository(ctx);
  store->access_requests_ = make_access_request_repository(ctx);
  store->app_instance_ = make_app_instance_repository(ctx);
  store->tokens_ = make_token_repository(ctx);
  store->toolsets_ = make_toolset_repository(ctx);
  store->mcp_servers_ = make_mcp_server_repository(ctx);
  store->mcp_credentials_ = make_mcp_auth_repository(ctx);
  store->mcp_ = std::make_unique<McpRepository>(*store->mcp_servers_, *store->mcp_credentials_);
  store->user_aliases_ = make_user_alias_repository(ctx);
  store->settings_ = make_settings_repository(ctx);
  return std::unique_ptr<Store>(new Store(std::move(store)));
}

Result<PostgresConnections> connect_postgres(const std::string& url,
                                             const std::string& projector_url,
                                             const std::optional<std::string>& runtime_password,
                                             Clock& clock) {
  std::string query_url = url;
  std::string projector = projector_url;
  ANNALS_ASSIGN_OR_RETURN(bool superuser, db::is_superuser(url));
  if (superuser) {
    // The privileged URL names the server and database; serve as the runtime roles.
    std::string password = runtime_password.value_or("");
    query_url = db::url_with_user(url, db::kQueryRole, password);
    if (projector.empty()) projector = db::url_with_user(url, db::kProjectorRole, password);
  } else if (projector.empty()) {
    projector = db::url_with_user(url, db::kProjectorRole);
  }
  PostgresConnections out;
  ANNALS_ASSIGN_OR_RETURN(out.query, db::Database::open(query_url));
  ANNALS_ASSIGN_OR_RETURN(out.projector, db::Database::open(projector));
  ANNALS_ASSIGN_OR_RETURN(auto migrations,
                          projections::embedded_migrations(db::Dialect::kPostgres));
  ANNALS_RETURN_IF_ERROR(
      projections::migrate(*out.query, migrations, clock, projections::MigrateMode::kCheck)
          .status());
  return out;
}

Result<std::unique_ptr<db::Database>> open_postgres_read_only(const std::string& url,
                                                              Clock& clock) {
  ANNALS_ASSIGN_OR_RETURN(bool superuser, db::is_superuser(url));
  db::DatabaseOptions options;
  options.pool_size = 1;
  options.read_only = true;
  if (superuser) options.session_role = db::kQueryRole;
  ANNALS_ASSIGN_OR_RETURN(auto database, db::Database::open(url, options));
  ANNALS_ASSIGN_OR_RETURN(auto migrations,
                          projections::embedded_migrations(db::Dialect::kPostgres));
  ANNALS_RETURN_IF_ERROR(
      projections::migrate(*database, migrations, clock, projections::MigrateMode::kCheck)
          .status());
  return database;
}

Status StoreInternals::open_postgres(const std::string& url, const StoreOptions& options) {
  if (options.setup_database) {
    ANNALS_ASSIGN_OR_RETURN(auto report,
                            db::setup_postgres(url, options.runtime_password, *clock_));
    (void)report;
  }
  ANNALS_ASSIGN_OR_RETURN(auto connections, connect_postgres(url, options.projector_database_url,
                                                             options.runtime_password, *clock_));
  database_ = std::move(connections.query);
  projector_database_ = std::move(connections.projector);
  return Status::ok();
}

projections::Rebuilder StoreInternals::rebuilder(projections::RebuildOptions options) {
  if (options.live_projector == nullptr) options.live_projector = projector_.get();
  if (options.clock == nullptr) options.clock = clock_;
  return projections::Rebuilder(*journal_, *database_, std::move(options));
}

StoreInternals::~StoreInternals() {
  if (projector_) projector_->stop();
}

}  // namespace annals::repositories
