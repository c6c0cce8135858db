// annals status and annals verify: read-only looks at a data folder.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>

#include "cli/commands.h"
#include "cli/progress.h"
#include "events/event.h"
#include "journal/journal.h"
#include "projections/database.h"
#include "projections/postgres_url.h"
#include "repositories/operator.h"
#include "repositories/reservation_rules.h"

namespace annals::cli {
namespace {

struct Folder {
  std::string dir;
  std::string journal_dir;
  std::string database_url;  // sqlite:<dir>/read.sqlite unless --database names another
  bool database_exists = true;
};

Result<Folder> locate(const InspectArgs& args) {
  Folder f;
  f.dir = args.data;
  f.journal_dir = f.dir + "/journal";
  f.database_url = args.database;
  if (f.database_url.empty()) {
    f.database_url = "sqlite:" + f.dir + "/read.sqlite";
    f.database_exists = std::filesystem::exists(f.dir + "/read.sqlite");
  } else if (!db::is_postgres_url(f.database_url)) {
    // A read database named explicitly must be there: looking never creates one.
    std::string path =
        f.database_url.rfind("sqlite:", 0) == 0 ? f.database_url.substr(7) : f.database_url;
    if (path.empty() || !std::filesystem::is_regular_file(path)) {
      return Status::not_found("no read database at " + f.database_url);
    }
  }
  if (!std::filesystem::exists(f.journal_dir + "/CURRENT")) {
    return Status::not_found("no Annals data in " + f.dir + " (run 'annals demo --data " + f.dir +
                             "' to create some)");
  }
  return f;
}

struct Checkpoint {
  std::string projection;
  uint64_t position = 0;
  uint64_t failed_at = 0;  // 0 unless the projection is stopped
  std::string error;
};

// Checkpoints by projection, or none when the read database is absent.
Result<std::vector<Checkpoint>> read_checkpoints(const Folder& f) {
  std::vector<Checkpoint> out;
  if (!f.database_exists) return out;
  std::unique_ptr<db::Database> database;
  if (db::is_postgres_url(f.database_url)) {
    SystemClock clock;
    // Read-only, whatever the URL: status and verify never run setup.
    ANNALS_ASSIGN_OR_RETURN(database, repositories::open_postgres_read_only(f.database_url, clock));
  } else {
    ANNALS_ASSIGN_OR_RETURN(database, db::Database::open(f.database_url));
  }
  ANNALS_ASSIGN_OR_RETURN(auto txn, database->begin(db::Access::kRead));
  ANNALS_ASSIGN_OR_RETURN(
      auto rows, txn->query("SELECT c.projection, c.position, f.position, f.error"
                            " FROM projection_checkpoints c LEFT JOIN projection_failures f"
                            " ON f.projection = c.projection ORDER BY c.projection"));
  for (const auto& row : rows) {
    out.push_back({row.text(0), static_cast<uint64_t>(row.i64(1)),
                   row.is_null(2) ? 0 : static_cast<uint64_t>(row.i64(2)),
                   row.is_null(3) ? std::string() : row.text(3)});
  }
  return out;
}

// SQLite: the file's own consistency check (a damaged index can hide rows
// from a query while a table scan still finds them).
Status check_read_database(const Folder& f) {
  if (!f.database_exists || db::is_postgres_url(f.database_url)) return Status::ok();
  ANNALS_ASSIGN_OR_RETURN(auto database, db::Database::open(f.database_url));
  ANNALS_ASSIGN_OR_RETURN(auto txn, database->begin(db::Access::kRead));
  ANNALS_ASSIGN_OR_RETURN(auto rows, txn->query("PRAGMA integrity_check(20)"));
  if (rows.size() == 1 && rows[0].text(0) == "ok") return Status::ok();
  std::string message = "the read database " + f.database_url + " is damaged:";
  for (const auto& row : rows) message += "\n  " + row.text(0);
  return Status::corruption(
      message + "\nthe journal is the truth: `annals rebuild` builds the read database anew");
}

// What a checkpoint past the journal head means, and what to do.
std::string past_head_advice(uint64_t head, uint64_t position) {
  return "the journal lacks positions " + std::to_string(head + 1) + ".." +
         std::to_string(position) +
         ", which the read tables hold: either the journal lost its tail (restore the journal "
         "from a backup or an export that holds those positions, and nothing is lost) or the "
         "read database belongs to another journal (`annals rebuild` rebuilds it from this "
         "journal, dropping what the journal does not hold)";
}

Result<std::unique_ptr<journal::Journal>> open_read_only(const Folder& f) {
  journal::Options options;
  options.read_only = true;
  options.create_if_missing = false;
  return journal::Journal::open_rocksdb(f.journal_dir, options);
}

}  // namespace

int run_status(const InspectArgs& args) {
  auto folder = locate(args);
  if (!folder.is_ok()) return failure("status", folder.status().message());
  // Checkpoints first, then the head: beside a running app, a checkpoint
  // read this way is never past the head it is compared with.
  auto checkpoints = read_checkpoints(*folder);
  if (!checkpoints.is_ok()) return failure("status", checkpoints.status().to_string());
  auto journal = open_read_only(*folder);
  if (!journal.is_ok()) return failure("status", journal.status().to_string());
  uint64_t head = (*journal)->head();

  std::printf("data folder    %s\n", folder->dir.c_str());
  std::printf("journal        %s (RocksDB), head %llu\n", folder->journal_dir.c_str(),
              static_cast<unsigned long long>(head));
  std::printf("read database  %s\n", db::redact_url(folder->database_url).c_str());
  if (checkpoints->empty()) {
    std::printf("projections    none yet: the read database has not been built\n");
    return 0;
  }
  // Lag in seconds: how long the oldest event not yet applied has waited.
  SystemClock clock;
  int64_t now = to_micros(clock.now());
  std::printf("\n%-22s %12s %12s %12s\n", "projection", "checkpoint", "lag events", "lag seconds");
  std::vector<std::string> notes;
  for (const auto& [name, position, failed_at, error] : *checkpoints) {
    long long lag = static_cast<long long>(head) - static_cast<long long>(position);
    std::string seconds = "0.0";
    if (lag > 0) {
      auto next = (*journal)->read(position + 1, 1);
      if (next.is_ok() && !next->empty()) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.1f",
                      static_cast<double>(now - next->front().recorded_at_micros()) / 1e6);
        seconds = buf;
      } else {
        seconds = "?";
      }
    } else if (lag < 0) {
      seconds = "-";
    }
    std::printf("%-22s %12llu %12lld %12s%s\n", name.c_str(),
                static_cast<unsigned long long>(position), lag, seconds.c_str(),
                failed_at != 0 ? "  STOPPED"
                : lag < 0      ? "  PAST THE HEAD"
                               : "");
    if (failed_at != 0) {
      notes.push_back("projection '" + name + "' is stopped at position " +
                      std::to_string(failed_at) + ": " + error +
                      "\n  the other projections carry on; once the cause is fixed, `annals "
                      "replay " +
                      name + "` resumes it");
    } else if (lag < 0) {
      notes.push_back("projection '" + name +
                      "' is past the journal head: " + past_head_advice(head, position));
    }
  }
  for (const auto& note : notes) std::printf("\n%s\n", note.c_str());
  return 0;
}

int run_verify(const InspectArgs& args) {
  auto folder = locate(args);
  if (!folder.is_ok()) return failure("verify", folder.status().message());
  // Checkpoints before the head, as status reads them.
  auto checkpoints = read_checkpoints(*folder);
  if (!checkpoints.is_ok()) return failure("verify", checkpoints.status().to_string());
  auto journal = open_read_only(*folder);
  if (!journal.is_ok()) return failure("verify", journal.status().to_string());

  uint64_t head = (*journal)->head();
  uint64_t checked = 0;
  // Each org whose events hold a sealed secret -> where the first one is.
  std::map<std::string, std::string, std::less<>> sealed_orgs;
  // The reservations the events imply, by the repositories' rules.
  repositories::ReservationFold reservations;
  constexpr size_t kChunk = 10000;
  ProgressReporter progress;
  for (uint64_t from = 1; from <= head; from += kChunk) {
    if (!progress.update("verify", from - 1, head)) {
      return failure("verify", "interrupted at position " + std::to_string(from - 1));
    }
    auto batch = (*journal)->read(from, kChunk);
    if (!batch.is_ok()) {
      const Status& s = batch.status();
      std::string where =
          s.subject().empty() ? "after position " + std::to_string(from - 1) : s.subject();
      return failure("verify", "journal is bad at " + where + ": " + s.message());
    }
    for (const auto& event : *batch) {
      Status deep = events::deep_validate(event);
      if (!deep.is_ok()) {
        return failure("verify", "journal is bad at position " + std::to_string(event.position()) +
                                     ": " + deep.message());
      }
      reservations.apply(event);
      if (!sealed_orgs.contains(event.org_id())) {
        if (auto field = events::sealed_secret_field(event)) {
          sealed_orgs.emplace(std::string(event.org_id()),
                              "position " + std::to_string(event.position()) + ", " + *field);
        }
      }
      ++checked;
    }
  }
  progress.update("verify", checked, head);
  progress.finish();
  if (checked != head) {
    return failure("verify", "journal head is " + std::to_string(head) + " but " +
                                 std::to_string(checked) + " events were read");
  }
  // The families derived from the events, recomputed and compared.
  constexpr size_t kMaxListed = 50;
  auto differences = (*journal)->verify_families(kMaxListed + 1);
  if (!differences.is_ok()) return failure("verify", differences.status().to_string());
  auto state = (*journal)->snapshot_state();
  if (!state.is_ok()) return failure("verify", state.status().to_string());
  if (state->head != head) {
    return failure("verify", "the journal's head moved from " + std::to_string(head) + " to " +
                                 std::to_string(state->head) + " while it was verified");
  }
  for (auto& d : repositories::compare_reservations(reservations, state->reservations,
                                                    kMaxListed + 1 - differences->size())) {
    differences->push_back(std::move(d));
  }
  if (!differences->empty()) {
    std::string message = "the journal's derived families disagree with its events:";
    for (size_t i = 0; i < differences->size() && i < kMaxListed; ++i) {
      const auto& d = (*differences)[i];
      message += "\n  " + d.family + " " + d.key + ": " + d.what;
    }
    if (differences->size() > kMaxListed) message += "\n  (and more)";
    message +=
        "\nthe events are intact; restore the journal from a backup, or `annals export` "
        "it and `annals import` the file into a new folder, which rebuilds these families "
        "from the events";
    return failure("verify", message);
  }
  // Sealed secrets need their org's data key, or its tombstone when the org
  // was forgotten; without either they can never be read again.
  for (const auto& [org, first] : sealed_orgs) {
    auto key = (*journal)->data_key(org);
    if (!key.is_ok()) return failure("verify", key.status().to_string());
    if (key->has_value()) continue;
    auto forgotten = (*journal)->data_key_forgotten_at(org);
    if (!forgotten.is_ok()) return failure("verify", forgotten.status().to_string());
    if (forgotten->has_value()) continue;
    return failure("verify",
                   "org '" + org + "' has sealed secrets in its events (the first at " + first +
                       ") but no data key and no record of being forgotten: the journal lost "
                       "its key, and those secrets cannot be read. Restore the journal from a "
                       "backup, or import an export of it that still carries the key");
  }
  auto read_db = check_read_database(*folder);
  if (!read_db.is_ok()) return failure("verify", read_db.to_string());
  for (const auto& [name, position, failed_at, error] : *checkpoints) {
    if (position > head) {
      return failure("verify", "projection '" + name + "' is at position " +
                                   std::to_string(position) + ", past the journal head " +
                                   std::to_string(head) + ": " + past_head_advice(head, position));
    }
    if (failed_at != 0) {
      return failure("verify", "projection '" + name + "' is stopped at position " +
                                   std::to_string(failed_at) + ": " + error +
                                   "; once the cause is fixed, `annals replay " + name +
                                   "` resumes it");
    }
  }
  std::printf(
      "ok: %llu events, positions 1..%llu contiguous, every checksum holds, every event "
      "decodes; the org index, stream versions, idempotency entries and %zu reservations "
      "agree with the events; %zu orgs with sealed secrets each have a data key or were forgotten; "
      "%zu "
      "projection checkpoints within the head\n",
      static_cast<unsigned long long>(checked), static_cast<unsigned long long>(head),
      state->reservations.size(), sealed_orgs.size(), checkpoints->size());
  return 0;
}

std::optional<std::string> runtime_password() {
  const char* env = std::getenv("ANNALS_RUNTIME_PASSWORD");
  if (env == nullptr) return std::nullopt;
  return std::string(env);
}

int usage_error(const std::string& command, const std::string& message) {
  if (command == "annals") {
    std::fprintf(stderr, "annals: %s\n", message.c_str());
  } else {
    std::fprintf(stderr, "annals %s: %s (see annals %s --help)\n", command.c_str(), message.c_str(),
                 command.c_str());
  }
  return 2;
}

int failure(const std::string& command, const std::string& message) {
  // libpq continues a message on a tab-indented line and ends it with a
  // newline: make that one line (lists Annals prints stay as they are).
  std::string line;
  for (size_t i = 0; i < message.size(); ++i) {
    if (message[i] == '\n' && i + 1 < message.size() && message[i + 1] == '\t') {
      line += ' ';
      ++i;
    } else {
      line += message[i];
    }
  }
  while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.pop_back();
  std::fprintf(stderr, "annals %s: %s\n", command.c_str(), line.c_str());
  return 1;
}

}  // namespace annals::cli
