// Export and import of a whole journal as JSON lines: for backups, for
// reading a journal with ordinary tools, and for moving it to another
// journal (another folder, another backend).
//
//   std::ofstream out("backup.jsonl");
//   auto exported = journal::export_journal(*journal, out, {.with_keys = true});
//   std::ifstream in("backup.jsonl");
//   auto imported = journal::import_journal(*fresh_journal, in);
//
// The format (one JSON object a line, each with a "kind"):
//   {"kind":"annals-export","format":1,"journal_format":"annals-journal/1",
//    "head":N,"org_keys":K,"reservations":R}                      first line
//   {"kind":"org_key","org_id":..,"value_base64":..}              K lines
//       (data keys with ExportOptions::with_keys; forgotten orgs' tombstones always)
//       ("value" instead of "value_base64" when the stored bytes are text)
//   {"kind":"event","position":..,"org_id":..,"stream_id":..,"stream_version":..,
//    "actor":..,"recorded_at_micros":..,"idempotency_key":..,"command_index":..,
//    "command_events":..,"type":"tokenCreated","payload":{..}}   N lines, positions 1..N
//   {"kind":"reservation","rule":..,"scope":..,"value":..,"owner":..}   R lines
// The payload is Cap'n Proto's JSON encoding of the event (64-bit integers
// as strings, enums by name). Sealed secrets are exported as they are stored
// ("v1.…"), never opened. Stream versions and idempotency entries are not
// exported: the import rebuilds them from the events.
//
// Neither function is thread-safe on its stream; both are safe beside other
// users of the journal (see Journal::import_command for appends).
#pragma once

#include <cstdint>
#include <istream>
#include <ostream>

#include "annals/status.h"
#include "journal/journal.h"

namespace annals::journal {

inline constexpr int kExportFormat = 1;
// The longest line an import reads.
inline constexpr size_t kMaxExportLineBytes = events::kMaxEventBytes * 2;

struct ExportReport {
  uint64_t head = 0;
  uint64_t events = 0;
  uint64_t org_keys = 0;
  uint64_t reservations = 0;
};

struct ExportOptions {
  // The orgs' wrapped data keys. A backup needs them: without them no
  // sealed secret can be opened after a restore, and import refuses an org
  // whose events hold one. Anything else should leave them out: an export
  // with keys keeps every org's key (wrapped by the master key) for as long
  // as the file is kept, including the key of an org forgotten afterwards.
  // Forgotten orgs' tombstones are written either way.
  bool with_keys = false;
};

// Writes the journal's events 1..head, tombstones of forgotten orgs (and
// their data keys when options.with_keys) and reservations, all as of one
// snapshot (appends made meanwhile are not included). A record that fails
// its checks is kCorruption naming its position; a failed write to `out` is
// kUnavailable.
Result<ExportReport> export_journal(EventLog& journal, std::ostream& out,
                                    ExportOptions options = {});

struct ImportReport {
  uint64_t head = 0;             // the journal's head afterwards
  uint64_t events = 0;           // events written
  uint64_t commands = 0;         // commands written
  uint64_t already_present = 0;  // events the journal held already (equal ones)
  uint64_t org_keys = 0;
  uint64_t reservations = 0;
};

// A further check of an export's events, made in the import's first pass,
// before anything is written: it sees every event in position order (those
// the journal holds already included), decoded as every reader decodes
// them. An error refuses the import; the import names the event's line and
// position in front of it. (The CLI passes the projections' dry run,
// projections/import_dry_run.h: an event no read table can hold is refused
// here instead of stopping the next rebuild.)
class ImportCheck {
 public:
  virtual ~ImportCheck() = default;
  virtual Status event(const events::Event& event) = 0;

  // After the last line: the export's reservations, each with its line
  // number, checked against the events seen. An error refuses the import
  // as it stands (it names the lines itself).
  struct ReservationLine {
    uint64_t line = 0;
    StoredReservation reservation;
  };
  virtual Status reservations(const std::vector<ReservationLine>& lines) {
    (void)lines;
    return Status::ok();
  }
};

struct ImportOptions {
  std::vector<ImportCheck*> checks;  // not owned; run in order
};

// Imports an export into a journal that is empty or holds exactly a prefix
// of the exported events (so an interrupted import can be run again).
//
// Every line is checked before anything is written: JSON, fields and their
// types, the kind, positions 1..head without a gap or duplicate, each
// command whole, each event rebuilt and passing events::Event::decode and
// deep_validate, stream versions continuing, idempotency keys unique, the
// journal's own events equal to the export's, data keys not clashing, every
// org whose events hold a sealed secret having its data key (or tombstone)
// in the export or the journal, the counts of the header, and whatever
// `options.checks` add. A bad line is kInvalidArgument (kConflict for a
// clashing data key) whose message starts "line N"; nothing is written.
//
// Then the data keys are stored, the events written one command per atomic
// batch (Journal::import_command), and the reservations replaced in one
// batch at the end. Should a write fail there, the message says which line
// and position it stopped at and that positions up to the head are in; run
// the import again to finish. A seekable stream is read twice; any other is
// read into memory first.
Result<ImportReport> import_journal(Journal& journal, std::istream& in, ImportOptions options);
Result<ImportReport> import_journal(Journal& journal, std::istream& in);

}  // namespace annals::journal
