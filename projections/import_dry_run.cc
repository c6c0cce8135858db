#include "projections/import_dry_run.h"

#include "annals/clock.h"
#include "projections/migrate.h"
#include "projections/sqlite_database.h"
#include "projections/standard_projections.h"

namespace annals::projections {
namespace {

// Events a transaction: the scratch database is private, so a batch only
// bounds what SQLite holds uncommitted.
constexpr size_t kBatchEvents = 2000;

}  // namespace

Result<std::unique_ptr<ImportDryRun>> ImportDryRun::open() {
  std::unique_ptr<ImportDryRun> run(new ImportDryRun());
  ANNALS_ASSIGN_OR_RETURN(run->database_, db::SqliteDatabase::open_scratch());
  ANNALS_ASSIGN_OR_RETURN(auto migrations, embedded_migrations(db::Dialect::kSqlite));
  SystemClock clock;
  ANNALS_RETURN_IF_ERROR(migrate(*run->database_, migrations, clock).status());
  run->projections_ = standard_projections();
  return run;
}

ImportDryRun::~ImportDryRun() = default;  // the open batch rolls back

Status ImportDryRun::event(const events::Event& event) {
  if (!txn_) {
    ANNALS_ASSIGN_OR_RETURN(txn_, database_->begin(db::Access::kWrite));
    in_batch_ = 0;
  }
  bool org_set = false;
  for (const auto& projection : projections_) {
    if (!projection->handles(event.type())) continue;
    if (!org_set) {
      ANNALS_RETURN_IF_ERROR(txn_->set_org(event.org_id()));
      org_set = true;
    }
    // SQLite runs deferred statements at once: an error is this event's.
    Status s = projection->apply(*txn_, event);
    if (!s.is_ok()) {
      txn_.reset();  // the scratch tables are no use after a refusal
      return Status::invalid_argument("payload", "the read table of projection '" +
                                                     projection->name() +
                                                     "' cannot hold this event: " + s.message());
    }
  }
  ++applied_;
  if (++in_batch_ >= kBatchEvents) {
    Status committed = txn_->commit();
    txn_.reset();
    ANNALS_RETURN_IF_ERROR(committed);
  }
  return Status::ok();
}

}  // namespace annals::projections
