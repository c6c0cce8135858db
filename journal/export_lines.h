// The lines of an export (journal/export.h has the format), shared by the
// exporter, the importer and the event codec: reading and writing lines,
// and parsing each kind of line with the checks an import makes of it.
// Private to journal/.
#pragma once

#include <cstdint>
#include <istream>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "annals/status.h"
#include "core/base64.h"
#include "journal/types.h"

namespace annals::journal::lines {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

inline constexpr size_t kReadChunk = 1000;  // events read from the journal at a time
inline constexpr int kMaxJsonDepth = 32;
inline constexpr size_t kMaxRuleBytes = 128;
inline constexpr size_t kMaxReservationValueBytes = 1024;
inline constexpr size_t kMaxStreamIdBytes = 512;
inline constexpr size_t kMaxIdempotencyKeyBytes = 256;

inline constexpr std::string_view kHeaderKind = "annals-export";
inline constexpr std::string_view kOrgKeyKind = "org_key";
inline constexpr std::string_view kEventKind = "event";
inline constexpr std::string_view kReservationKind = "reservation";

inline std::string at(uint64_t position) { return "position " + std::to_string(position); }
inline std::string line_label(uint64_t line) { return "line " + std::to_string(line); }

// Stored bytes that can go into JSON as a string as they are.
bool is_plain_text(std::string_view s);

// Writes one line; kUnavailable when the output fails.
Status write_line(std::ostream& out, const OrderedJson& line);

// Reads lines of at most kMaxExportLineBytes; knows the number of the last one.
class LineReader {
 public:
  explicit LineReader(std::istream& in) : in_(in) {}

  // False at the end of the input (or on a bad line, with *status set).
  bool next(std::string* line, Status* status);
  uint64_t number() const { return number_; }

 private:
  std::istream& in_;
  uint64_t number_ = 0;
};

// One line as a JSON object: nesting bounded before it is parsed, valid
// UTF-8, no NUL in any string or key.
Result<Json> parse_line(std::string_view text);
// The line's "kind".
Result<std::string> kind_of(const Json& j);

// Typed access to the fields of one line, naming the field when it is wrong.
class Fields {
 public:
  Fields(const Json& j, std::set<std::string> allowed) : j_(j) {
    for (const auto& [key, value] : j.items()) {
      if (!allowed.count(key) && unknown_.empty()) unknown_ = key;
    }
  }
  Status check_unknown() const {
    if (unknown_.empty()) return Status::ok();
    return Status::invalid_argument(unknown_, "unknown field '" + unknown_ + "'");
  }
  bool has(const std::string& name) const { return j_.contains(name); }

  Result<std::string> text(const std::string& name) const {
    ANNALS_ASSIGN_OR_RETURN(const Json* v, find(name));
    if (!v->is_string()) return wrong_type(name, "a string", *v);
    return v->get<std::string>();
  }
  Result<uint64_t> u64(const std::string& name, uint64_t max = ~uint64_t{0}) const {
    ANNALS_ASSIGN_OR_RETURN(const Json* v, find(name));
    if (!v->is_number_unsigned()) return wrong_type(name, "a non-negative whole number", *v);
    uint64_t n = v->get<uint64_t>();
    if (n > max) {
      return Status::invalid_argument(name, "field '" + name + "' is " + std::to_string(n) +
                                                ", over the limit " + std::to_string(max));
    }
    return n;
  }
  Result<const Json*> object(const std::string& name) const {
    ANNALS_ASSIGN_OR_RETURN(const Json* v, find(name));
    if (!v->is_object()) return wrong_type(name, "an object", *v);
    return v;
  }

 private:
  Result<const Json*> find(const std::string& name) const {
    auto it = j_.find(name);
    if (it == j_.end()) return Status::invalid_argument(name, "missing field '" + name + "'");
    return &*it;
  }
  static Status wrong_type(const std::string& name, const std::string& want, const Json& v) {
    return Status::invalid_argument(name, "field '" + name + "' must be " + want + ", not " +
                                              std::string(v.type_name()) +
                                              (v.is_number() ? " " + v.dump() : std::string()));
  }
  const Json& j_;
  std::string unknown_;
};

// The line of one stored event, as it was written (not upcast). `stored` is
// the record's payload; Event::decode has accepted it.
Result<OrderedJson> event_line(uint64_t position, std::string_view stored);

struct EventLine {
  uint64_t position = 0;
  std::string org_id;
  std::string stream_id;
  std::string idempotency_key;
  uint64_t stream_version = 0;
  int64_t recorded_at = 0;
  uint32_t command_index = 0;
  uint32_t command_events = 0;
  std::string encoded;                // the rebuilt envelope, as the journal stored it
  std::optional<std::string> sealed;  // the first sealed secret it holds, if any
};

// An event line rebuilt into the bytes the journal stores, with every
// check of one event line on its own.
Result<EventLine> parse_event(const Json& j);

struct Header {
  uint64_t head = 0;
  uint64_t org_keys = 0;
  uint64_t reservations = 0;
};

Result<Header> parse_header(const Json& j);
Result<std::pair<std::string, std::string>> parse_org_key(const Json& j);
Result<StoredReservation> parse_reservation(const Json& j);

}  // namespace annals::journal::lines
