// The import: an export's lines checked in full (pass 1, nothing written),
// then written (pass 2) through the journal's Import.
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <sstream>

#include "journal/export.h"
#include "journal/export_lines.h"
#include "journal/format.h"
#include "journal/journal.h"

namespace annals::journal {
namespace {

using namespace lines;  // NOLINT: the line helpers this file is built on

// What the first pass learns and the second writes.
struct Plan {
  Header header;
  uint64_t start_head = 0;  // the journal's head before the import
  std::vector<std::pair<std::string, std::string>> org_keys;
  std::vector<StoredReservation> reservations;
  uint64_t new_events = 0;
};

// The command being assembled from consecutive event lines.
struct OpenCommand {
  uint64_t first_line = 0;
  EventLine first;
  std::vector<std::string> envelopes;
  uint32_t next_index() const { return static_cast<uint32_t>(envelopes.size()); }
};

Status same_command(const OpenCommand& c, const EventLine& e) {
  auto cut = [&](const std::string& why) {
    return Status::invalid_argument(
        "command_index", "the command that starts at " + line_label(c.first_line) + " (" +
                             at(c.first.position) + ", " + std::to_string(c.first.command_events) +
                             " events) " + why);
  };
  if (e.command_index != c.next_index()) {
    return cut("is cut short: event " + std::to_string(c.next_index()) +
               " is missing (this line is event " + std::to_string(e.command_index) +
               " of a command)");
  }
  if (e.command_events != c.first.command_events) return cut("changes its event count");
  if (e.org_id != c.first.org_id) return cut("changes its org");
  if (e.recorded_at != c.first.recorded_at) return cut("changes its recorded-at time");
  if (e.idempotency_key != c.first.idempotency_key) return cut("changes its idempotency key");
  return Status::ok();
}

// Canonical bytes of an encoded envelope: equal when the events are equal
// field for field, whatever the layout of the message.
Result<std::string> canonical(std::string_view encoded) {
  try {
    kj::Array<capnp::word> words = kj::heapArray<capnp::word>(encoded.size() / sizeof(capnp::word));
    std::memcpy(words.begin(), encoded.data(), words.size() * sizeof(capnp::word));
    capnp::ReaderOptions options;
    options.traversalLimitInWords = events::kTraversalLimitWords;
    options.nestingLimit = events::kNestingLimit;
    capnp::FlatArrayMessageReader message(words.asPtr(), options);
    kj::Array<capnp::word> canon = capnp::canonicalize(message.getRoot<events::Envelope>());
    auto bytes = canon.asBytes();
    return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
  } catch (const kj::Exception& e) {
    return Status::corruption(std::string("event does not canonicalise: ") +
                              e.getDescription().cStr());
  }
}

// Compares an export's event with the one the journal already holds there.
class PrefixCheck {
 public:
  explicit PrefixCheck(Journal& journal) : journal_(journal) {}
  Status check(const EventLine& e) {
    if (e.position < cache_from_ || e.position >= cache_from_ + cache_.size()) {
      ANNALS_ASSIGN_OR_RETURN(cache_, journal_.read_records(e.position, kReadChunk));
      cache_from_ = e.position;
      if (cache_.empty()) return Status::internal("the journal holds no " + at(e.position));
    }
    const std::string& held = cache_[e.position - cache_from_];
    if (held == e.encoded) return Status::ok();
    ANNALS_ASSIGN_OR_RETURN(std::string a, canonical(held));
    ANNALS_ASSIGN_OR_RETURN(std::string b, canonical(e.encoded));
    if (a != b) {
      return Status::invalid_argument(
          "position", "the journal already holds another event at " + at(e.position) +
                          ": it is not empty and not a prefix of this export");
    }
    return Status::ok();
  }

 private:
  Journal& journal_;
  std::vector<std::string> cache_;
  uint64_t cache_from_ = 0;
};

// Pass 1: every check, nothing written.
Status validate(Journal& journal, std::istream& in, const std::vector<ImportCheck*>& checks,
                Plan* plan) {
  LineReader reader(in);
  std::string text;
  Status read_status;
  plan->start_head = journal.head();
  uint64_t previous_position = 0;
  uint64_t event_lines = 0;
  int64_t last_recorded_at = std::numeric_limits<int64_t>::min();
  std::optional<OpenCommand> open;
  std::map<std::string, uint64_t> stream_versions;    // stream key -> version
  std::map<std::string, uint64_t> idempotency_lines;  // org \0 key -> line
  std::map<std::string, uint64_t> org_key_lines;      // org -> line
  std::map<std::string, uint64_t> reservation_lines;  // reservation key -> line
  std::vector<ImportCheck::ReservationLine> reservation_lines_in_order;
  std::map<std::string, std::string> sealed_orgs;  // org -> where its first secret is
  PrefixCheck prefix(journal);

  while (reader.next(&text, &read_status)) {
    const uint64_t n = reader.number();
    auto fail = [&](const Status& s) { return s.with_context(line_label(n)); };
    auto parsed = parse_line(text);
    if (!parsed.is_ok()) return fail(parsed.status());
    const Json& j = *parsed;
    if (n == 1) {
      auto header = parse_header(j);
      if (!header.is_ok()) return fail(header.status());
      plan->header = *header;
      continue;
    }
    auto kind = kind_of(j);
    if (!kind.is_ok()) return fail(kind.status());

    if (*kind == kEventKind) {
      auto parsed_event = parse_event(j);
      if (!parsed_event.is_ok()) return fail(parsed_event.status());
      EventLine& e = *parsed_event;
      const std::string pos = at(e.position);
      auto fail_at = [&](const Status& s) {
        return s.with_context(line_label(n) + " (" + pos + ")");
      };
      if (e.position != previous_position + 1) {
        std::string why =
            e.position <= previous_position
                ? pos + " comes again or out of order after " + at(previous_position)
                : "a gap: " + pos + " follows " +
                      (previous_position == 0 ? std::string("the header") : at(previous_position)) +
                      ", so " + at(previous_position + 1) + " is missing";
        return fail_at(Status::invalid_argument("position", why));
      }
      previous_position = e.position;
      ++event_lines;
      if (e.sealed.has_value() && !sealed_orgs.contains(e.org_id)) {
        sealed_orgs.emplace(e.org_id, line_label(n) + " (" + pos + ", " + *e.sealed + ")");
      }

      if (open.has_value()) {
        Status same = same_command(*open, e);
        if (!same.is_ok()) return fail_at(same);
      } else if (e.command_index != 0) {
        return fail_at(Status::invalid_argument(
            "command_index", "the event is event " + std::to_string(e.command_index) +
                                 " of a command whose start is missing"));
      } else {
        if (e.recorded_at < last_recorded_at) {
          return fail_at(Status::invalid_argument("recorded_at_micros",
                                                  "recorded-at goes back in time (" +
                                                      std::to_string(e.recorded_at) + " after " +
                                                      std::to_string(last_recorded_at) + ")"));
        }
        last_recorded_at = e.recorded_at;
        if (!e.idempotency_key.empty()) {
          std::string key = e.org_id + '\0' + e.idempotency_key;
          auto [it, fresh] = idempotency_lines.emplace(key, n);
          if (!fresh) {
            return fail_at(Status::invalid_argument(
                "idempotency_key", "idempotency key '" + e.idempotency_key + "' of org '" +
                                       e.org_id + "' was used already at " +
                                       line_label(it->second)));
          }
        }
        open = OpenCommand{n, e, {}};
      }
      if (e.position <= plan->start_head) {
        if (open->first.position > plan->start_head) {
          return fail_at(Status::internal("prefix check out of order"));
        }
        Status same = prefix.check(e);
        if (!same.is_ok()) return fail_at(same);
      } else {
        if (open->first.position <= plan->start_head) {
          return fail_at(Status::invalid_argument(
              "position", "the journal's head " + std::to_string(plan->start_head) +
                              " falls inside the command that starts at " +
                              line_label(open->first_line)));
        }
        std::string key = format::stream_key(e.org_id, e.stream_id);
        auto it = stream_versions.find(key);
        if (it == stream_versions.end()) {
          auto held = journal.stream_version(e.org_id, e.stream_id);
          if (!held.is_ok()) return fail_at(held.status());
          it = stream_versions.emplace(key, *held).first;
        }
        if (e.stream_version != it->second + 1) {
          return fail_at(Status::invalid_argument(
              "stream_version", "stream '" + e.stream_id + "' is at version " +
                                    std::to_string(it->second) + " here, so its next event is " +
                                    std::to_string(it->second + 1) + ", not " +
                                    std::to_string(e.stream_version)));
        }
        it->second = e.stream_version;
        ++plan->new_events;
      }
      if (!checks.empty()) {
        auto event = events::Event::decode(e.encoded);
        if (!event.is_ok()) return fail_at(event.status());
        for (ImportCheck* check : checks) {
          Status checked = check->event(*event);
          if (!checked.is_ok()) return fail_at(checked);
        }
      }
      open->envelopes.push_back(std::string());  // only the count matters here
      if (open->envelopes.size() == open->first.command_events) open.reset();
      continue;
    }

    if (*kind == kOrgKeyKind) {
      auto key = parse_org_key(j);
      if (!key.is_ok()) return fail(key.status());
      auto [it, fresh] = org_key_lines.emplace(key->first, n);
      if (!fresh) {
        return fail(Status::invalid_argument(
            "org_id", "org '" + key->first + "' has a key already at " + line_label(it->second)));
      }
      auto held = journal.data_key(key->first);
      if (!held.is_ok()) return fail(held.status());
      // data_key() hides entries that are not keys; a clash with those shows
      // when the import writes the keys, before any event.
      if (held->has_value() && **held != key->second) {
        return fail(Status::conflict(
            "org_key", "org '" + key->first + "' has another data key in this journal"));
      }
      plan->org_keys.push_back(std::move(key).value());
      continue;
    }

    if (*kind == kReservationKind) {
      auto r = parse_reservation(j);
      if (!r.is_ok()) return fail(r.status());
      auto [it, fresh] =
          reservation_lines.emplace(format::reservation_key(r->rule, r->scope, r->value), n);
      if (!fresh) {
        return fail(Status::invalid_argument(
            "value", "the same reservation is at " + line_label(it->second)));
      }
      reservation_lines_in_order.push_back({n, *r});
      plan->reservations.push_back(std::move(r).value());
      continue;
    }

    if (*kind == kHeaderKind) {
      return fail(Status::invalid_argument("kind", "a second export header"));
    }
    return fail(Status::invalid_argument("kind", "unknown kind \"" + *kind + "\""));
  }
  if (!read_status.is_ok()) return read_status;
  if (reader.number() == 0) {
    return Status::invalid_argument("input", "the input is empty: no export header");
  }
  const uint64_t end = reader.number();
  auto truncated = [&](const std::string& what) {
    return Status::invalid_argument("input", "the input ends at " + line_label(end) + " but " +
                                                 what + ": it is truncated or was edited");
  };
  if (open.has_value()) {
    return truncated("the command that starts at " + line_label(open->first_line) + " has " +
                     std::to_string(open->envelopes.size()) + " of its " +
                     std::to_string(open->first.command_events) + " events");
  }
  if (event_lines != plan->header.head || previous_position != plan->header.head) {
    return truncated("the header promises events 1.." + std::to_string(plan->header.head) +
                     " and " + std::to_string(event_lines) + " came");
  }
  if (org_key_lines.size() != plan->header.org_keys) {
    return truncated("the header promises " + std::to_string(plan->header.org_keys) +
                     " org keys and " + std::to_string(org_key_lines.size()) + " came");
  }
  if (reservation_lines.size() != plan->header.reservations) {
    return truncated("the header promises " + std::to_string(plan->header.reservations) +
                     " reservations and " + std::to_string(reservation_lines.size()) + " came");
  }
  // Sealed secrets need their org's key (or its tombstone), from the export
  // or already in the journal: without one they could never be read, and
  // the app would refuse to make the org a new key.
  for (const auto& [org, first] : sealed_orgs) {
    if (org_key_lines.contains(org)) continue;
    auto held = journal.data_key(org);
    if (!held.is_ok()) return held.status();
    if (held->has_value()) continue;
    auto forgotten = journal.data_key_forgotten_at(org);
    if (!forgotten.is_ok()) return forgotten.status();
    if (forgotten->has_value()) continue;
    return Status::invalid_argument(
        "org_key", "org '" + org + "' has sealed secrets in its events (the first at " + first +
                       ") but the export carries no data key for it, and the journal holds "
                       "none: those secrets could never be read. Export again with the keys "
                       "(annals export --with-keys) from a journal that holds them");
  }
  if (plan->start_head > plan->header.head) {
    return Status::invalid_argument(
        "position", "the journal's head " + std::to_string(plan->start_head) +
                        " is past the export's head " + std::to_string(plan->header.head));
  }
  for (ImportCheck* check : checks) {
    ANNALS_RETURN_IF_ERROR(check->reservations(reservation_lines_in_order));
  }
  return Status::ok();
}

// Pass 2: the writes.
Status write_plan(Journal& journal, std::istream& in, const Plan& plan, ImportReport* report) {
  for (const auto& [org, value] : plan.org_keys) {
    Status s = journal.import_data_key(org, value);
    if (!s.is_ok()) return s.with_context("storing the data key of org '" + org + "'");
    ++report->org_keys;
  }

  LineReader reader(in);
  std::string text;
  Status read_status;
  std::vector<std::string> command;
  uint64_t command_line = 0;
  uint64_t command_position = 0;
  auto stopped = [&](const Status& s, uint64_t line, uint64_t position) {
    return s.with_context("import stopped at " + line_label(line) + " (" + at(position) +
                          "); the journal holds positions 1.." + std::to_string(journal.head()) +
                          "; run the import again to finish");
  };
  while (reader.next(&text, &read_status)) {
    const uint64_t n = reader.number();
    if (n == 1) continue;
    auto parsed = parse_line(text);
    if (!parsed.is_ok()) return stopped(parsed.status(), n, command_position);
    auto kind = kind_of(*parsed);
    if (!kind.is_ok() || *kind != kEventKind) continue;
    auto e = parse_event(*parsed);
    if (!e.is_ok()) return stopped(e.status(), n, command_position);
    if (e->position <= plan.start_head) {
      ++report->already_present;
      continue;
    }
    if (command.empty()) {
      command_line = n;
      command_position = e->position;
    }
    command.push_back(std::move(e->encoded));
    if (command.size() == e->command_events) {
      size_t count = command.size();
      auto written = journal.import_command(std::move(command));
      command.clear();
      if (!written.is_ok()) return stopped(written.status(), command_line, command_position);
      report->events += count;
      ++report->commands;
    }
  }
  if (!read_status.is_ok()) return stopped(read_status, reader.number(), command_position);
  if (!command.empty()) {
    return stopped(Status::invalid_argument("input", "the input changed while it was imported"),
                   command_line, command_position);
  }
  Status s = journal.import_reservations(plan.header.head, plan.reservations);
  if (!s.is_ok()) return s.with_context("events imported, but the reservations were not");
  report->reservations = plan.reservations.size();
  report->head = journal.head();
  return Status::ok();
}

}  // namespace

Result<ImportReport> import_journal(Journal& journal, std::istream& in) {
  return import_journal(journal, in, ImportOptions{});
}

Result<ImportReport> import_journal(Journal& journal, std::istream& in, ImportOptions options) {
  std::istream* source = &in;
  std::istringstream buffered;
  std::streampos start = in.tellg();
  if (start == std::streampos(-1)) {
    // Not seekable (a pipe): keep the input to read it twice.
    in.clear();
    std::ostringstream all;
    all << in.rdbuf();
    buffered.str(std::move(all).str());
    source = &buffered;
    start = 0;
  }

  Plan plan;
  ANNALS_RETURN_IF_ERROR(validate(journal, *source, options.checks, &plan));

  source->clear();
  source->seekg(start);
  if (!*source) return Status::unavailable("cannot rewind the input for the import");
  ImportReport report;
  ANNALS_RETURN_IF_ERROR(write_plan(journal, *source, plan, &report));
  return report;
}

}  // namespace annals::journal
