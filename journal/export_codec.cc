// The Cap'n Proto <-> JSON codec of event lines: an event's envelope fields
// and payload as JSON, and back to the exact bytes the journal stores.
#include <capnp/compat/json.h>
#include <capnp/dynamic.h>
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <cstring>
#include <limits>
#include <set>

#include "core/validate.h"
#include "journal/export_codec.h"
#include "journal/export_lines.h"

namespace annals::journal {
namespace lines {
namespace {

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

}  // namespace

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

namespace {

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

}  // namespace

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

}  // namespace lines

using namespace lines;  // NOLINT: the line helpers this file is built on

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

}  // namespace annals::journal
