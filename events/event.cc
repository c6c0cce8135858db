#include "events/event.h"

#include <capnp/dynamic.h>
#include <capnp/schema.h>
#include <kj/exception.h>

#include <cstring>
#include <optional>

#include "core/validate.h"

namespace annals::events {
namespace {

capnp::StructSchema payload_schema() { return capnp::Schema::from<Envelope::Payload>(); }

capnp::ReaderOptions reader_options() {
  capnp::ReaderOptions options;
  options.traversalLimitInWords = kTraversalLimitWords;
  options.nestingLimit = kNestingLimit;
  return options;
}

bool is_known_payload(PayloadType type) {
  static const uint16_t kCount = [] {
    return static_cast<uint16_t>(payload_schema().getUnionFields().size());
  }();
  return static_cast<uint16_t>(type) < kCount;
}

std::string describe(const kj::Exception& e) { return std::string(e.getDescription().cStr()); }

Status validate_value(const capnp::DynamicValue::Reader& value, const std::string& path, int depth);

Status validate_struct(const capnp::DynamicStruct::Reader& s, const std::string& path, int depth) {
  if (depth > kNestingLimit) return Status::corruption("nesting too deep at " + path);
  auto schema = s.getSchema();
  for (auto field : schema.getNonUnionFields()) {
    if (!s.has(field, capnp::HasMode::NON_DEFAULT)) continue;
    std::string p = path + "." + std::string(field.getProto().getName().cStr());
    ANNALS_RETURN_IF_ERROR(validate_value(s.get(field), p, depth + 1));
  }
  KJ_IF_MAYBE (active, s.which()) {
    std::string p = path + "." + std::string(active->getProto().getName().cStr());
    if (s.has(*active, capnp::HasMode::NON_DEFAULT)) {
      ANNALS_RETURN_IF_ERROR(validate_value(s.get(*active), p, depth + 1));
    }
  } else {
    if (schema.getUnionFields().size() > 0) {
      return Status::corruption("unknown union member at " + path);
    }
  }
  return Status::ok();
}

Status validate_value(const capnp::DynamicValue::Reader& value, const std::string& path,
                      int depth) {
  switch (value.getType()) {
    case capnp::DynamicValue::TEXT: {
      auto t = value.as<capnp::Text>();
      if (!is_valid_utf8(std::string_view(t.begin(), t.size()))) {
        return Status::corruption("text is not valid UTF-8 at " + path);
      }
      return Status::ok();
    }
    case capnp::DynamicValue::STRUCT:
      return validate_struct(value.as<capnp::DynamicStruct>(), path, depth);
    case capnp::DynamicValue::LIST: {
      auto list = value.as<capnp::DynamicList>();
      for (uint i = 0; i < list.size(); ++i) {
        ANNALS_RETURN_IF_ERROR(
            validate_value(list[i], path + "[" + std::to_string(i) + "]", depth + 1));
      }
      return Status::ok();
    }
    case capnp::DynamicValue::ENUM: {
      auto e = value.as<capnp::DynamicEnum>();
      if (e.getEnumerant() == nullptr) {
        return Status::corruption("unknown enum value " + std::to_string(e.getRaw()) + " at " +
                                  path);
      }
      return Status::ok();
    }
    default:
      return Status::ok();
  }
}

}  // namespace

NewEvent::NewEvent(std::string_view org_id, std::string_view stream_id, std::string_view actor)
    : message_(std::make_unique<capnp::MallocMessageBuilder>(256)) {
  auto env = envelope();
  env.setOrgId(capnp::Text::Reader(org_id.data(), org_id.size()));
  env.setStreamId(capnp::Text::Reader(stream_id.data(), stream_id.size()));
  env.setActor(capnp::Text::Reader(actor.data(), actor.size()));
}

void NewEvent::stamp_version() {
  auto env = envelope();
  env.setEventVersion(current_version(kind_of(env.asReader())));
}

std::string NewEvent::encode() {
  kj::Array<capnp::word> words = capnp::messageToFlatArray(*message_);
  auto bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

Event::Event(Event&&) noexcept = default;
Event& Event::operator=(Event&&) noexcept = default;
Event::~Event() = default;

Result<Event> Event::decode(std::string_view bytes) {
  if (bytes.empty()) return Status::corruption("event is empty");
  if (bytes.size() % sizeof(capnp::word) != 0) {
    return Status::corruption("event is " + std::to_string(bytes.size()) +
                              " bytes, not a whole number of 8-byte words");
  }
  if (bytes.size() > kMaxEventBytes) {
    return Status::corruption("event is " + std::to_string(bytes.size()) + " bytes, over the " +
                              std::to_string(kMaxEventBytes) + " byte limit");
  }
  Event event;
  event.words_ = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
  std::memcpy(event.words_.begin(), bytes.data(), bytes.size());
  try {
    event.reader_ =
        std::make_unique<capnp::FlatArrayMessageReader>(event.words_.asPtr(), reader_options());
    if (event.reader_->getEnd() != event.words_.end()) {
      return Status::corruption("event has trailing bytes after its message");
    }
    event.root_ = event.reader_->getRoot<Envelope>();
    // Walks every pointer: bounds, limits. An event holds no capabilities;
    // one in a slot the schema does not know would make every copy of the
    // event throw.
    if (event.root_.totalSize().capCount != 0) {
      return Status::corruption("event holds a capability pointer");
    }
    Status org = validate_org_id(Event::view(event.root_.getOrgId()));
    if (!org.is_ok()) return Status::corruption("event has a bad org_id: " + org.message());
    if (event.root_.getStreamId().size() == 0) return Status::corruption("event has no stream id");
    event.root_.getActor();
    event.root_.getIdempotencyKey();
    PayloadType type = event.root_.getPayload().which();
    if (type == PayloadType::UNSET) return Status::corruption("event has no payload");
    if (!is_known_payload(type)) {
      return Status::corruption("unknown event type " + std::to_string(static_cast<int>(type)) +
                                " (written by a newer Annals?)");
    }
    EventKind kind = kind_of(event.root_);
    event.stored_version_ = written_version(event.root_);
    uint16_t current = current_version(kind);
    if (event.stored_version_ > current) {
      return Status::corruption(kind_name(kind) + " event is version " +
                                std::to_string(event.stored_version_) + ", newer than version " +
                                std::to_string(current) +
                                ", the newest this Annals reads (written by a newer Annals?)");
    }
    if (event.stored_version_ < current) ANNALS_RETURN_IF_ERROR(event.upcast(kind, current));
  } catch (const kj::Exception& e) {
    return Status::corruption("event does not decode: " + describe(e));
  }
  return event;
}

Status Event::upcast(EventKind kind, uint16_t to) {
  capnp::MallocMessageBuilder builder(words_.size() + 64);
  builder.setRoot(root_);
  auto env = builder.getRoot<Envelope>();
  for (uint16_t from = stored_version_; from < to; ++from) {
    std::string step =
        kind_name(kind) + " version " + std::to_string(from) + " -> " + std::to_string(from + 1);
    Upcaster upcaster = find_upcaster(kind, from);
    if (upcaster == nullptr) return Status::internal("no upcaster for " + step);
    Status s = upcaster(env);
    if (!s.is_ok()) return Status::corruption("cannot upcast " + step + ": " + s.message());
    env.setEventVersion(static_cast<uint16_t>(from + 1));
  }
  kj::Array<capnp::word> words = capnp::messageToFlatArray(builder);
  auto reader = std::make_unique<capnp::FlatArrayMessageReader>(words.asPtr(), reader_options());
  root_ = reader->getRoot<Envelope>();
  reader_ = std::move(reader);
  words_ = std::move(words);
  Status valid = deep_validate(*this);
  if (!valid.is_ok()) {
    return Status::corruption("upcast " + kind_name(kind) +
                              " event is invalid: " + valid.message());
  }
  return Status::ok();
}

std::string payload_type_name(PayloadType type) {
  for (auto field : payload_schema().getUnionFields()) {
    if (field.getProto().getDiscriminantValue() == static_cast<uint16_t>(type)) {
      return field.getProto().getName().cStr();
    }
  }
  return "unknown(" + std::to_string(static_cast<int>(type)) + ")";
}

namespace {

bool is_sealed_field(const capnp::StructSchema& owner, const capnp::StructSchema::Field& field) {
  std::string_view name = field.getProto().getName().cStr();
  if (name.substr(0, 6) == "sealed") return true;
  // common.SecretChange: its `set` member holds a sealed value.
  return name == "set" && std::string_view(owner.getUnqualifiedName().cStr()) == "SecretChange";
}

std::optional<std::string> find_sealed(const capnp::DynamicValue::Reader& value,
                                       const std::string& path, int depth);

std::optional<std::string> find_sealed_in(const capnp::DynamicStruct::Reader& s,
                                          const capnp::StructSchema::Field& field,
                                          const std::string& path, int depth) {
  if (!s.has(field, capnp::HasMode::NON_DEFAULT)) return std::nullopt;
  std::string p = path + "." + std::string(field.getProto().getName().cStr());
  auto value = s.get(field);
  if (value.getType() == capnp::DynamicValue::TEXT && is_sealed_field(s.getSchema(), field)) {
    if (value.as<capnp::Text>().size() > 0) return p;
    return std::nullopt;
  }
  return find_sealed(value, p, depth + 1);
}

std::optional<std::string> find_sealed(const capnp::DynamicValue::Reader& value,
                                       const std::string& path, int depth) {
  if (depth > kNestingLimit) return std::nullopt;
  switch (value.getType()) {
    case capnp::DynamicValue::STRUCT: {
      auto s = value.as<capnp::DynamicStruct>();
      for (auto field : s.getSchema().getNonUnionFields()) {
        if (auto found = find_sealed_in(s, field, path, depth)) return found;
      }
      KJ_IF_MAYBE (active, s.which()) {
        return find_sealed_in(s, *active, path, depth);
      }
      return std::nullopt;
    }
    case capnp::DynamicValue::LIST: {
      auto list = value.as<capnp::DynamicList>();
      for (uint i = 0; i < list.size(); ++i) {
        if (auto found = find_sealed(list[i], path + "[" + std::to_string(i) + "]", depth + 1)) {
          return found;
        }
      }
      return std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

}  // namespace

std::optional<std::string> sealed_secret_field(const Event& event) {
  try {
    return find_sealed(capnp::toDynamic(event.envelope()), "event", 0);
  } catch (const kj::Exception&) {
    return std::nullopt;  // undecodable: deep_validate reports it
  }
}

Status deep_validate(const Event& event) {
  try {
    return validate_struct(capnp::toDynamic(event.envelope()), "event", 0);
  } catch (const kj::Exception& e) {
    return Status::corruption("event does not decode: " + describe(e));
  }
}

}  // namespace annals::events
