// The export: a journal's header, keys, events and reservations as lines,
// from one snapshot.
#include <algorithm>
#include <chrono>

#include "core/validate.h"
#include "journal/export.h"
#include "journal/export_lines.h"
#include "journal/format.h"

namespace annals::journal {

using namespace lines;  // NOLINT: the line helpers this file is built on

Result<ExportReport> export_journal(EventLog& journal, std::ostream& out, ExportOptions options) {
  ANNALS_ASSIGN_OR_RETURN(JournalState state, journal.snapshot_state());
  // Tombstones always go (they say an org was forgotten); wrapped keys only
  // when asked for.
  std::erase_if(state.data_keys, [&](const auto& entry) {
    return !options.with_keys && !entry.second.starts_with(format::kForgottenKeyPrefix);
  });
  ExportReport report;
  report.head = state.head;
  if (journal.head() < state.head) journal.wait_for_head(state.head - 1, std::chrono::seconds(5));

  OrderedJson header;
  header["kind"] = kHeaderKind;
  header["format"] = kExportFormat;
  header["journal_format"] = format::kFormatValue;
  header["head"] = state.head;
  header["org_keys"] = state.data_keys.size();
  header["reservations"] = state.reservations.size();
  ANNALS_RETURN_IF_ERROR(write_line(out, header));

  for (const auto& [org, value] : state.data_keys) {
    if (!validate_org_id(org).is_ok() || value.empty()) {
      return Status::corruption("the journal's data key entry for '" + org + "' is malformed");
    }
    OrderedJson line;
    line["kind"] = kOrgKeyKind;
    line["org_id"] = org;
    if (is_plain_text(value)) {
      line["value"] = value;
    } else {
      line["value_base64"] = base64_encode(value);
    }
    ANNALS_RETURN_IF_ERROR(write_line(out, line));
    ++report.org_keys;
  }

  for (uint64_t from = 1; from <= state.head;) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(kReadChunk, state.head - from + 1));
    ANNALS_ASSIGN_OR_RETURN(auto records, journal.read_records(from, want));
    if (records.empty()) {
      return Status::corruption("the journal's " + at(from) + " cannot be read", at(from));
    }
    for (const auto& stored : records) {
      const uint64_t position = from++;
      // Only what every reader accepts goes out: it decodes (and upcasts)
      // and every field is well-formed.
      auto event = events::Event::decode(stored);
      if (!event.is_ok()) {
        return Status::corruption("the event at " + at(position) + ": " + event.status().message(),
                                  at(position));
      }
      Status deep = events::deep_validate(*event);
      if (!deep.is_ok()) {
        return Status::corruption("the event at " + at(position) + ": " + deep.message(),
                                  at(position));
      }
      if (event->position() != position) {
        return Status::corruption(
            "the record at " + at(position) + " holds the event of " + at(event->position()),
            at(position));
      }
      ANNALS_ASSIGN_OR_RETURN(OrderedJson line, event_line(position, stored));
      ANNALS_RETURN_IF_ERROR(write_line(out, line));
      ++report.events;
    }
  }

  for (const auto& r : state.reservations) {
    for (const std::string* s : {&r.rule, &r.scope, &r.value, &r.owner}) {
      if (!is_valid_utf8(*s) || s->find('\0') != std::string::npos) {
        return Status::corruption("the journal holds a malformed reservation of rule '" + r.rule +
                                  "'");
      }
    }
    OrderedJson line;
    line["kind"] = kReservationKind;
    line["rule"] = r.rule;
    line["scope"] = r.scope;
    line["value"] = r.value;
    line["owner"] = r.owner;
    ANNALS_RETURN_IF_ERROR(write_line(out, line));
    ++report.reservations;
  }
  out.flush();
  if (!out) return Status::unavailable("writing the export failed (disk full, or output closed)");
  return report;
}

}  // namespace annals::journal
