// What every repository shares: the journal it writes to, the read database
// it queries, the projector between them, and the clock.
#pragma once

#include <chrono>
#include <memory>
#include <string_view>

#include "annals/clock.h"
#include "annals/options.h"
#include "annals/page.h"
#include "annals/status.h"
#include "journal/event_log.h"
#include "projections/database.h"
#include "projections/projector.h"

namespace annals::repositories {

class Secrets;

// kInvalidArgument unless 1 <= page and 1 <= per_page <= kMaxPerPage.
Status validate_page(int64_t page, int64_t per_page);

// Thread-safe. Everything it refers to must outlive it.
class RepositoryContext {
 public:
  RepositoryContext(journal::EventLog& journal, db::Database& database,
                    projections::Projector& projector, Clock& clock, RepositoryOptions options = {},
                    Secrets* secrets = nullptr)
      : journal_(journal),
        database_(database),
        projector_(projector),
        clock_(clock),
        options_(options),
        secrets_(secrets) {}

  // Stamps each event with its kind's current version, appends the command,
  // then (read-your-writes) waits until it is projected.
  Result<journal::AppendResult> write(journal::AppendRequest request);

  // A read transaction scoped to the org.
  Result<std::unique_ptr<db::Transaction>> read(std::string_view org_id);
  // A read transaction not scoped to any org (lookups that find the org).
  Result<std::unique_ptr<db::Transaction>> read_unscoped();

  Clock& clock() { return clock_; }
  // kInvalidArgument naming "master_key" when the store was opened without one.
  Result<Secrets*> secrets();
  db::Dialect dialect() const { return database_.dialect(); }
  journal::EventLog& journal() { return journal_; }

 private:
  journal::EventLog& journal_;
  db::Database& database_;
  projections::Projector& projector_;
  Clock& clock_;
  const RepositoryOptions options_;
  Secrets* secrets_;
};

}  // namespace annals::repositories
