#include "repositories/store.h"

#include "projections/migrate.h"
#include "projections/standard_projections.h"

namespace annals::repositories {

Result<std::unique_ptr<Store>> Store::open(StoreOptions options) {
  if (options.data_dir.empty())
    return Status::invalid_argument("data_dir", "data directory is empty");
  std::unique_ptr<Store> store(new Store());
  store->clock_ = options.clock ? options.clock : &store->system_clock_;

  journal::Options journal_options;
  journal_options.durability = options.durability;
  journal_options.clock = store->clock_;
  ANNALS_ASSIGN_OR_RETURN(store->journal_, journal::Journal::open_rocksdb(
                                               options.data_dir + "/journal", journal_options));

  std::string url = options.database_url.empty() ? "sqlite:" + options.data_dir + "/read.sqlite"
                                                 : options.database_url;
  ANNALS_ASSIGN_OR_RETURN(store->database_, db::Database::open(url));
  ANNALS_ASSIGN_OR_RETURN(auto migrations,
                          projections::embedded_migrations(store->database_->dialect()));
  ANNALS_ASSIGN_OR_RETURN(auto report,
                          projections::migrate(*store->database_, migrations, *store->clock_));
  (void)report;

  projections::ProjectorOptions projector_options;
  projector_options.mode = options.projector_mode;
  store->projector_ = std::make_unique<projections::Projector>(
      *store->journal_, *store->database_, projections::standard_projections(), projector_options);
  ANNALS_RETURN_IF_ERROR(store->projector_->start());
  // Whatever was journalled but not yet projected (a crash between the two)
  // is applied before the first read.
  ANNALS_ASSIGN_OR_RETURN(uint64_t reached, store->projector_->catch_up());
  (void)reached;

  store->context_ = std::make_unique<RepositoryContext>(
      *store->journal_, *store->database_, *store->projector_, *store->clock_, options.repository);
  store->settings_ = make_settings_repository(*store->context_);
  store->tokens_ = make_token_repository(*store->context_);
  return store;
}

Store::~Store() {
  if (projector_) projector_->stop();
}

}  // namespace annals::repositories
