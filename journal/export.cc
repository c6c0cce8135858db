#include "journal/export.h"
#include "journal/journal.h"

#include <capnp/compat/json.h>
#include <capnp/dynamic.h>
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "core/validate.h"
#include "journal/export_codec.h"
#include "journal/format.h"

namespace annals::journal {
namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

constexpr size_t kReadChunk = 1000;
constexpr int kMaxJsonDepth = 32;
constexpr size_t kMaxRuleBytes = 128;
constexpr size_t kMaxReservationValueBytes = 1024;
constexpr size_t kMaxStreamIdBytes = 512;
constexpr size_t kMaxIdempotencyKeyBytes = 256;

constexpr std::string_view kHeaderKind = "annals-export";
constexpr std::string_view kOrgKeyKind = "org_key";
constexpr std::string_view kEventKind = "event";
constexpr std::string_view kReservationKind = "reservation";

std::string at(uint64_t position) { return "position " + std::to_string(position); }
std::string line_label(uint64_t line) { return "line " + std::to_string(line); }

// --- base64 -------------------------------------------------------------------

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t n =
        (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8) | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kBase64[(n >> s) & 63]);
  }
  if (size_t rest = in.size() - i; rest > 0) {
    uint32_t n = uint32_t(uint8_t(in[i])) << 16;
    if (rest == 2) n |= uint32_t(uint8_t(in[i + 1])) << 8;
    out.push_back(kBase64[(n >> 18) & 63]);
    out.push_back(kBase64[(n >> 12) & 63]);
    out.push_back(rest == 2 ? kBase64[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  auto digit = [](char c) -> int {
    const char* p = std::strchr(kBase64, c);
    return c != '\0' && p != nullptr ? static_cast<int>(p - kBase64) : -1;
  };
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (size_t i = 0; i < in.size(); i += 4) {
    bool last = i + 4 == in.size();
    int pad = 0;
    if (last && in[i + 3] == '=') pad = in[i + 2] == '=' ? 2 : 1;
    uint32_t n = 0;
    for (int j = 0; j < 4; ++j) {
      int d = j >= 4 - pad ? 0 : digit(in[i + j]);
      if (d < 0) return std::nullopt;
      n = (n << 6) | uint32_t(d);
    }
    out.push_back(static_cast<char>((n >> 16) & 0xff));
    if (pad < 2) out.push_back(static_cast<char>((n >> 8) & 0xff));
    if (pad < 1) out.push_back(static_cast<char>(n & 0xff));
  }
  if (base64_encode(out) != in) return std::nullopt;  // non-canonical padding bits
  return out;
}

// Stored bytes that can go into JSON as a string as they are.
bool is_plain_text(std::string_view s) {
  if (!is_valid_utf8(s)) return false;
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

// --- events <-> JSON ----------------------------------------------------------

struct StrictCodec {
  StrictCodec() {
    codec.setRejectUnknownFields(true);
    codec.setMaxNestingDepth(kMaxJsonDepth);
  }
  capnp::JsonCodec codec;
};

capnp::JsonCodec& codec() {
  thread_local StrictCodec c;
  return c.codec;
}

// The envelope's fields beside the payload, in schema order, under the
// names export lines give them (recordedAtMicros -> recorded_at_micros).
// Fields added to the envelope later are optional in a line; these are not.
struct EnvelopeField {
  capnp::StructSchema::Field field;
  std::string name;
  bool required = false;
};

std::string snake_case(std::string_view camel) {
  std::string out;
  for (char c : camel) {
    if (c >= 'A' && c <= 'Z') {
      out.push_back('_');
      out.push_back(static_cast<char>(c - 'A' + 'a'));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

const std::vector<EnvelopeField>& envelope_fields() {
  static const std::vector<EnvelopeField> fields = [] {
    const std::set<std::string> required = {
        "position",           "org_id",          "stream_id",     "stream_version", "actor",
        "recorded_at_micros", "idempotency_key", "command_index", "command_events"};
    std::vector<EnvelopeField> out;
    for (auto field : capnp::Schema::from<events::Envelope>().getNonUnionFields()) {
      if (field.getType().isStruct()) continue;  // the payload union
      std::string name = snake_case(field.getProto().getName().cStr());
      out.push_back({field, name, required.count(name) > 0});
    }
    return out;
  }();
  return fields;
}

// An envelope field's value as JSON.
Result<OrderedJson> field_json(capnp::DynamicStruct::Reader env, const EnvelopeField& f) {
  auto value = env.get(f.field);
  switch (f.field.getType().which()) {
    case capnp::schema::Type::TEXT: {
      auto t = value.as<capnp::Text>();
      return OrderedJson(std::string(t.begin(), t.size()));
    }
    case capnp::schema::Type::BOOL:
      return OrderedJson(value.as<bool>());
    case capnp::schema::Type::UINT8:
    case capnp::schema::Type::UINT16:
    case capnp::schema::Type::UINT32:
    case capnp::schema::Type::UINT64:
      return OrderedJson(value.as<uint64_t>());
    case capnp::schema::Type::INT8:
    case capnp::schema::Type::INT16:
    case capnp::schema::Type::INT32:
    case capnp::schema::Type::INT64:
      return OrderedJson(value.as<int64_t>());
    default:
      return Status::internal("envelope field '" + f.name + "' has a type exports do not carry");
  }
}

// The line of one stored event, as it was written (not upcast). `stored` is
// the record's payload; Event::decode has accepted it.
Result<OrderedJson> event_line(uint64_t position, std::string_view stored) {
  try {
    kj::Array<capnp::word> words = kj::heapArray<capnp::word>(stored.size() / sizeof(capnp::word));
    std::memcpy(words.begin(), stored.data(), words.size() * sizeof(capnp::word));
    capnp::ReaderOptions options;
    options.traversalLimitInWords = events::kTraversalLimitWords;
    options.nestingLimit = events::kNestingLimit;
    capnp::FlatArrayMessageReader message(words.asPtr(), options);
    auto env = capnp::toDynamic(message.getRoot<events::Envelope>());
    auto payload = env.get("payload").as<capnp::DynamicStruct>();
    OrderedJson line;
    line["kind"] = kEventKind;
    for (const auto& f : envelope_fields()) {
      ANNALS_ASSIGN_OR_RETURN(line[f.name], field_json(env, f));
    }
    KJ_IF_MAYBE (field, payload.which()) {
      line["type"] = field->getProto().getName().cStr();
      kj::String json = codec().encode(payload.get(*field), field->getType());
      line["payload"] = OrderedJson::parse(json.begin(), json.end());
    } else {
      return Status::corruption("the event at " + at(position) + " has no payload", at(position));
    }
    return line;
  } catch (const kj::Exception& e) {
    return Status::corruption(
        "the event at " + at(position) + " cannot be written as JSON: " + e.getDescription().cStr(),
        at(position));
  } catch (const std::exception& e) {
    return Status::corruption(
        "the event at " + at(position) + " cannot be written as JSON: " + e.what(), at(position));
  }
}

Status write_line(std::ostream& out, const OrderedJson& line) {
  std::string text;
  try {
    text = line.dump(-1, ' ', false, nlohmann::detail::error_handler_t::strict);
  } catch (const std::exception& e) {
    return Status::corruption(std::string("a line cannot be written as JSON: ") + e.what());
  }
  text.push_back('\n');
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!out) return Status::unavailable("writing the export failed (disk full, or output closed)");
  return Status::ok();
}

// --- reading lines ------------------------------------------------------------

// Reads lines of at most kMaxExportLineBytes; knows the number of the last one.
class LineReader {
 public:
  explicit LineReader(std::istream& in) : in_(in) {}

  // False at the end of the input (or on a bad line, with *status set).
  bool next(std::string* line, Status* status) {
    line->clear();
    std::streambuf* buf = in_.rdbuf();
    bool any = false;
    for (;;) {
      int c = buf->sbumpc();
      if (c == std::char_traits<char>::eof()) {
        if (!any) return false;
        ++number_;
        *status = Status::invalid_argument(
            "input", line_label(number_) +
                         " does not end with a newline: the input is truncated or not an export");
        return false;
      }
      any = true;
      if (c == '\n') break;
      if (line->size() >= kMaxExportLineBytes) {
        ++number_;
        *status =
            Status::invalid_argument("input", line_label(number_) + " is longer than " +
                                                  std::to_string(kMaxExportLineBytes) + " bytes");
        return false;
      }
      line->push_back(static_cast<char>(c));
    }
    ++number_;
    return true;
  }
  uint64_t number() const { return number_; }

 private:
  std::istream& in_;
  uint64_t number_ = 0;
};

// Deeply nested input is refused before it is parsed.
bool nesting_within(std::string_view text, int limit) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > limit) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

// No NUL in any string or key (the parser has checked UTF-8 already).
bool strings_are_clean(const Json& j) {
  switch (j.type()) {
    case Json::value_t::string:
      return j.get_ref<const std::string&>().find('\0') == std::string::npos;
    case Json::value_t::object:
      for (const auto& [key, value] : j.items()) {
        if (key.find('\0') != std::string::npos || !strings_are_clean(value)) return false;
      }
      return true;
    case Json::value_t::array:
      for (const auto& value : j) {
        if (!strings_are_clean(value)) return false;
      }
      return true;
    default:
      return true;
  }
}

Result<Json> parse_line(std::string_view text) {
  if (!nesting_within(text, kMaxJsonDepth)) {
    return Status::invalid_argument(
        "input", "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::invalid_argument("input", "not valid JSON (or not UTF-8)");
  if (!j.is_object()) return Status::invalid_argument("input", "not a JSON object");
  if (!strings_are_clean(j)) {
    return Status::invalid_argument("input", "a string holds a NUL character");
  }
  return j;
}

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

// --- event lines --------------------------------------------------------------

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

// Sets one envelope field from its JSON value, checking the type and range.
Status set_field(capnp::DynamicStruct::Builder env, const EnvelopeField& f, const Json& v) {
  auto wrong = [&](const std::string& want) {
    return Status::invalid_argument(f.name, "field '" + f.name + "' must be " + want + ", not " +
                                                std::string(v.type_name()) +
                                                (v.is_number() ? " " + v.dump() : std::string()));
  };
  auto type = f.field.getType().which();
  switch (type) {
    case capnp::schema::Type::TEXT: {
      if (!v.is_string()) return wrong("a string");
      const auto& text = v.get_ref<const std::string&>();
      env.set(f.field, capnp::Text::Reader(text.data(), text.size()));
      return Status::ok();
    }
    case capnp::schema::Type::BOOL:
      if (!v.is_boolean()) return wrong("true or false");
      env.set(f.field, v.get<bool>());
      return Status::ok();
    case capnp::schema::Type::UINT8:
    case capnp::schema::Type::UINT16:
    case capnp::schema::Type::UINT32:
    case capnp::schema::Type::UINT64: {
      if (!v.is_number_unsigned()) return wrong("a non-negative whole number");
      uint64_t n = v.get<uint64_t>();
      uint64_t max = type == capnp::schema::Type::UINT8    ? 0xff
                     : type == capnp::schema::Type::UINT16 ? 0xffff
                     : type == capnp::schema::Type::UINT32 ? 0xffffffff
                                                           : ~uint64_t{0};
      if (n > max) return wrong("at most " + std::to_string(max));
      env.set(f.field, n);
      return Status::ok();
    }
    case capnp::schema::Type::INT8:
    case capnp::schema::Type::INT16:
    case capnp::schema::Type::INT32:
    case capnp::schema::Type::INT64: {
      if (!v.is_number_integer()) return wrong("a whole number");
      if (v.is_number_unsigned() &&
          v.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max())) {
        return wrong("a whole number in range");
      }
      int64_t n = v.get<int64_t>();
      int64_t bits = type == capnp::schema::Type::INT8    ? 8
                     : type == capnp::schema::Type::INT16 ? 16
                     : type == capnp::schema::Type::INT32 ? 32
                                                          : 64;
      if (bits < 64 && (n < -(int64_t{1} << (bits - 1)) || n >= (int64_t{1} << (bits - 1)))) {
        return wrong("a whole number in range");
      }
      env.set(f.field, n);
      return Status::ok();
    }
    default:
      return Status::internal("envelope field '" + f.name + "' has a type exports do not carry");
  }
}

Result<EventLine> parse_event(const Json& j) {
  std::set<std::string> allowed = {"kind", "type", "payload"};
  for (const auto& f : envelope_fields()) allowed.insert(f.name);
  Fields fields(j, allowed);
  for (const auto& f : envelope_fields()) {
    if (f.required && !fields.has(f.name)) {
      return Status::invalid_argument(f.name, "missing field '" + f.name + "'");
    }
  }
  ANNALS_ASSIGN_OR_RETURN(std::string type, fields.text("type"));
  ANNALS_ASSIGN_OR_RETURN(const Json* payload_json, fields.object("payload"));
  ANNALS_RETURN_IF_ERROR(fields.check_unknown());

  auto payload_schema = capnp::Schema::from<events::Envelope::Payload>();
  capnp::StructSchema::Field member;
  KJ_IF_MAYBE (found, payload_schema.findFieldByName(type)) {
    member = *found;
  } else {
    return Status::invalid_argument("type", "unknown event type '" + type + "'");
  }
  if (member.getProto().getDiscriminantValue() == capnp::schema::Field::NO_DISCRIMINANT ||
      member.getProto().getDiscriminantValue() ==
          static_cast<uint16_t>(events::PayloadType::UNSET) ||
      !member.getType().isStruct()) {
    return Status::invalid_argument("type", "'" + type + "' is not an event type");
  }

  // Built in the order the write path builds an event (org, stream, actor,
  // payload, then what the journal stamps), so the bytes come out as the
  // journal stored them.
  EventLine e;
  try {
    capnp::MallocMessageBuilder message(256);
    auto env = capnp::toDynamic(message.getRoot<events::Envelope>());
    const auto& all = envelope_fields();
    auto is_first = [](const EnvelopeField& f) {
      return f.name == "org_id" || f.name == "stream_id" || f.name == "actor";
    };
    for (const char* name : {"org_id", "stream_id", "actor"}) {
      for (const auto& f : all) {
        if (f.name == name) ANNALS_RETURN_IF_ERROR(set_field(env, f, j.at(f.name)));
      }
    }
    std::string json = payload_json->dump();
    auto payload = env.get("payload").as<capnp::DynamicStruct>();
    codec().decode(kj::ArrayPtr<const char>(json.data(), json.size()),
                   payload.init(member).as<capnp::DynamicStruct>());
    for (const auto& f : all) {
      if (is_first(f) || !j.contains(f.name)) continue;
      ANNALS_RETURN_IF_ERROR(set_field(env, f, j.at(f.name)));
    }
    kj::Array<capnp::word> words = capnp::messageToFlatArray(message);
    auto bytes = words.asBytes();
    e.encoded.assign(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
  } catch (const kj::Exception& ex) {
    return Status::invalid_argument("payload", "the payload does not fit event type '" + type +
                                                   "': " + ex.getDescription().cStr());
  }
  if (e.encoded.size() > events::kMaxEventBytes) {
    return Status::invalid_argument(
        "payload", "the event is " + std::to_string(e.encoded.size()) + " bytes encoded; at most " +
                       std::to_string(events::kMaxEventBytes) + " allowed");
  }
  // What every reader will do with it: decode (and upcast), then walk it all.
  auto decoded = events::Event::decode(e.encoded);
  if (!decoded.is_ok()) {
    return Status::invalid_argument(
        "payload", "the rebuilt event does not decode: " + decoded.status().message());
  }
  // Every read of the decoded event counts against one traversal limit,
  // which decode has spent once already. A text of megabytes can exhaust
  // it: the reads here throw then (caught: no reader could read the event
  // whole), and deep_validate, last, fails. sealed_secret_field comes
  // before deep_validate so that it never runs short unseen.
  try {
    e.sealed = events::sealed_secret_field(*decoded);
    auto env = decoded->envelope();
    e.position = decoded->position();
    e.org_id = std::string(decoded->org_id());
    e.stream_id = std::string(decoded->stream_id());
    e.idempotency_key = std::string(events::Event::view(env.getIdempotencyKey()));
    e.stream_version = decoded->stream_version();
    e.recorded_at = decoded->recorded_at_micros();
    e.command_index = env.getCommandIndex();
    e.command_events = env.getCommandEvents();
    ANNALS_RETURN_IF_ERROR(
        validate_text("actor", decoded->actor(), {events::kMaxEventBytes, true}));
  } catch (const kj::Exception& ex) {
    return Status::invalid_argument(
        "payload", "the event (" + std::to_string(e.encoded.size()) +
                       " bytes encoded) is too large to be read: " + ex.getDescription().cStr());
  }
  Status deep = events::deep_validate(*decoded);
  if (!deep.is_ok()) {
    return Status::invalid_argument("payload", "the rebuilt event is malformed: " + deep.message());
  }
  if (e.position == 0) return Status::invalid_argument("position", "position 0 does not exist");
  if (e.stream_version == 0) {
    return Status::invalid_argument("stream_version", "stream version 0 does not exist");
  }
  if (e.command_events == 0 || e.command_events > kMaxCommandEvents ||
      e.command_index >= e.command_events) {
    return Status::invalid_argument(
        "command_index", "event " + std::to_string(e.command_index) + " of a command of " +
                             std::to_string(e.command_events) + " events is impossible");
  }
  ANNALS_RETURN_IF_ERROR(validate_text("stream_id", e.stream_id, {kMaxStreamIdBytes}));
  ANNALS_RETURN_IF_ERROR(
      validate_text("idempotency_key", e.idempotency_key, {kMaxIdempotencyKeyBytes, true}));
  return e;
}

// --- other lines --------------------------------------------------------------

struct Header {
  uint64_t head = 0;
  uint64_t org_keys = 0;
  uint64_t reservations = 0;
};

Result<Header> parse_header(const Json& j) {
  Fields f(j, {"kind", "format", "journal_format", "head", "org_keys", "reservations"});
  ANNALS_ASSIGN_OR_RETURN(std::string kind, f.text("kind"));
  if (kind != kHeaderKind) {
    return Status::invalid_argument("kind", "the first line must be the export header (kind \"" +
                                                std::string(kHeaderKind) + "\"), not kind \"" +
                                                kind + "\"");
  }
  ANNALS_ASSIGN_OR_RETURN(uint64_t version, f.u64("format"));
  if (version != kExportFormat) {
    return Status::invalid_argument("format", "export format " + std::to_string(version) +
                                                  " is not supported; this Annals reads format " +
                                                  std::to_string(kExportFormat));
  }
  ANNALS_ASSIGN_OR_RETURN(std::string journal_format, f.text("journal_format"));
  if (journal_format != format::kFormatValue) {
    return Status::invalid_argument("journal_format",
                                    "journal format '" + journal_format +
                                        "' is not supported; this Annals reads '" +
                                        std::string(format::kFormatValue) + "'");
  }
  Header h;
  ANNALS_ASSIGN_OR_RETURN(h.head, f.u64("head"));
  ANNALS_ASSIGN_OR_RETURN(h.org_keys, f.u64("org_keys"));
  ANNALS_ASSIGN_OR_RETURN(h.reservations, f.u64("reservations"));
  ANNALS_RETURN_IF_ERROR(f.check_unknown());
  return h;
}

Result<std::pair<std::string, std::string>> parse_org_key(const Json& j) {
  Fields f(j, {"kind", "org_id", "value", "value_base64"});
  ANNALS_RETURN_IF_ERROR(f.check_unknown());
  ANNALS_ASSIGN_OR_RETURN(std::string org, f.text("org_id"));
  ANNALS_RETURN_IF_ERROR(validate_org_id(org));
  if (f.has("value") == f.has("value_base64")) {
    return Status::invalid_argument("value",
                                    "an org_key line needs exactly one of 'value' and "
                                    "'value_base64'");
  }
  if (f.has("value")) {
    ANNALS_ASSIGN_OR_RETURN(std::string value, f.text("value"));
    if (value.empty()) return Status::invalid_argument("value", "the key entry is empty");
    return std::make_pair(org, value);
  }
  ANNALS_ASSIGN_OR_RETURN(std::string encoded, f.text("value_base64"));
  auto value = base64_decode(encoded);
  if (!value.has_value() || value->empty()) {
    return Status::invalid_argument("value_base64", "'value_base64' is not base64 of a key entry");
  }
  return std::make_pair(org, *value);
}

Result<StoredReservation> parse_reservation(const Json& j) {
  Fields f(j, {"kind", "rule", "scope", "value", "owner"});
  ANNALS_RETURN_IF_ERROR(f.check_unknown());
  StoredReservation r;
  ANNALS_ASSIGN_OR_RETURN(r.rule, f.text("rule"));
  ANNALS_ASSIGN_OR_RETURN(r.scope, f.text("scope"));
  ANNALS_ASSIGN_OR_RETURN(r.value, f.text("value"));
  ANNALS_ASSIGN_OR_RETURN(r.owner, f.text("owner"));
  ANNALS_RETURN_IF_ERROR(validate_identifier("rule", r.rule, kMaxRuleBytes));
  if (r.scope != format::kGlobalScope && !validate_org_id(r.scope).is_ok()) {
    return Status::invalid_argument("scope",
                                    "scope '" + r.scope + "' is neither an org id nor '*'");
  }
  ANNALS_RETURN_IF_ERROR(validate_text("value", r.value, {kMaxReservationValueBytes}));
  ANNALS_RETURN_IF_ERROR(validate_text("owner", r.owner, {kMaxStreamIdBytes}));
  return r;
}

Result<std::string> kind_of(const Json& j) {
  auto it = j.find("kind");
  if (it == j.end()) return Status::invalid_argument("kind", "missing field 'kind'");
  if (!it->is_string()) {
    return Status::invalid_argument(
        "kind", "field 'kind' must be a string, not " + std::string(it->type_name()));
  }
  return it->get<std::string>();
}

// --- the import ---------------------------------------------------------------

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

Result<std::string> event_export_line(uint64_t position, std::string_view stored) {
  auto decoded = events::Event::decode(stored);
  if (!decoded.is_ok()) return decoded.status();
  ANNALS_ASSIGN_OR_RETURN(OrderedJson line, event_line(position, stored));
  try {
    return line.dump(-1, ' ', false, nlohmann::detail::error_handler_t::strict);
  } catch (const std::exception& e) {
    return Status::corruption(std::string("a line cannot be written as JSON: ") + e.what());
  }
}

Result<std::string> event_from_export_line(std::string_view line) {
  ANNALS_ASSIGN_OR_RETURN(Json j, parse_line(line));
  ANNALS_ASSIGN_OR_RETURN(std::string kind, kind_of(j));
  if (kind != kEventKind) {
    return Status::invalid_argument("kind", "not an event line (kind \"" + kind + "\")");
  }
  ANNALS_ASSIGN_OR_RETURN(EventLine e, parse_event(j));
  return std::move(e.encoded);
}

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
