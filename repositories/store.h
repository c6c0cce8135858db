// Store: one object that gives the app its repositories, over a journal, a
// read database and the projector between them.
//
//   StoreOptions options;
//   options.data_dir = "/home/me/.annals";            // journal/ and read.sqlite inside
//   auto store = Store::open(options);
//   (*store)->tokens().get_by_prefix("bodhiapp_abc");
#pragma once

#include <memory>
#include <string>

#include "core/clock.h"
#include "core/status.h"
#include "journal/journal.h"
#include "projections/database.h"
#include "projections/projector.h"
#include "repositories/context.h"
#include "repositories/settings_repository.h"
#include "repositories/token_repository.h"

namespace annals::repositories {

struct StoreOptions {
  std::string data_dir;      // holds "journal/" and, by default, "read.sqlite"
  std::string database_url;  // empty: sqlite:<data_dir>/read.sqlite
  journal::Durability durability = journal::Durability::kSync;
  projections::ProjectorMode projector_mode = projections::ProjectorMode::kInline;
  RepositoryOptions repository;
  Clock* clock = nullptr;  // null: the system clock; must outlive the store
};

// Thread-safe.
class Store {
 public:
  static Result<std::unique_ptr<Store>> open(StoreOptions options);
  ~Store();

  SettingsRepository& settings() { return *settings_; }
  TokenRepository& tokens() { return *tokens_; }

  journal::Journal& journal() { return *journal_; }
  db::Database& database() { return *database_; }
  projections::Projector& projector() { return *projector_; }
  Clock& clock() { return *clock_; }

 private:
  Store() = default;

  SystemClock system_clock_;
  Clock* clock_ = nullptr;
  std::unique_ptr<journal::Journal> journal_;
  std::unique_ptr<db::Database> database_;
  std::unique_ptr<projections::Projector> projector_;
  std::unique_ptr<RepositoryContext> context_;
  std::unique_ptr<SettingsRepository> settings_;
  std::unique_ptr<TokenRepository> tokens_;
};

}  // namespace annals::repositories
