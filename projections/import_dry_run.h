// The projections' dry run of an import: every event of an export is
// applied, in order, by the standard projections to a private scratch SQLite
// database, before the import writes anything. An event no read table can
// hold (a token prefix taken twice, an update of a row that was never
// created, a value a table's constraints refuse) then refuses the import,
// named by its line and position, instead of stopping the projector or the
// next rebuild after the journal has taken it.
//
//   auto dry_run = projections::ImportDryRun::open();
//   journal::ImportOptions options;
//   options.check = dry_run->get();
//   auto imported = journal::import_journal(journal, in, options);
//
// The scratch database lives in memory and spills to a temporary file as it
// grows; it is gone when the dry run is. The tables are SQLite's: what only
// PostgreSQL would refuse shows at its projector, as a stopped projection.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "annals/status.h"
#include "journal/export.h"
#include "projections/database.h"
#include "projections/projector.h"

namespace annals::projections {

class ImportDryRun final : public journal::ImportCheck {
 public:
  static Result<std::unique_ptr<ImportDryRun>> open();
  ~ImportDryRun() override;

  // Applies the event with every projection that handles it. Events come in
  // position order; an error names the projection.
  Status event(const events::Event& event) override;

  uint64_t applied() const { return applied_; }

 private:
  ImportDryRun() = default;

  std::unique_ptr<db::Database> database_;
  std::vector<std::unique_ptr<Projection>> projections_;
  std::unique_ptr<db::Transaction> txn_;  // the open batch
  size_t in_batch_ = 0;
  uint64_t applied_ = 0;
};

}  // namespace annals::projections
