// The current version of every event kind, and the upcasters between
// versions. Kinds not listed are at version 1.
#include "events/versions.h"

#include <capnp/schema.h>

#include <array>
#include <string_view>

#include "core/validate.h"

namespace annals::events {
namespace {

struct KindVersion {
  EventKind kind;
  uint16_t current;
};

struct UpcasterEntry {
  EventKind kind;
  uint16_t from;
  Upcaster upcast;
};

constexpr EventKind kSettingUpserted{PayloadType::SETTING_UPSERTED, 0};

// settingUpserted 2: the value type moved from the free-form valueType to kind
// and customType.
constexpr std::array kCurrentVersions = {
    KindVersion{kSettingUpserted, 2},
};

// Accepts every value type the version-1 projection accepted (any text, even
// empty, which becomes custom with an empty name): an upcaster must never make
// a journal that used to project unreadable. Text that is not UTF-8 never
// projected (and fails verify), so it is refused.
Status setting_upserted_1_to_2(schema::Envelope::Builder envelope) {
  auto setting = envelope.getPayload().getSettingUpserted();
  auto type = setting.getValueType();
  std::string value_type(type.begin(), type.size());
  if (!is_valid_utf8(value_type)) {
    return Status::corruption("settingUpserted version 1 has a valueType that is not UTF-8");
  }
  set_setting_value_type(setting, value_type);
  return Status::ok();
}

constexpr std::array kUpcasters = {
    UpcasterEntry{kSettingUpserted, 1, &setting_upserted_1_to_2},
};

struct NamedKind {
  std::string_view name;
  schema::SettingKind kind;
};

constexpr std::array kSettingKinds = {
    NamedKind{"string", schema::SettingKind::STRING},
    NamedKind{"number", schema::SettingKind::NUMBER},
    NamedKind{"boolean", schema::SettingKind::BOOLEAN},
    NamedKind{"option", schema::SettingKind::OPTION},
};

}  // namespace

EventKind kind_of(schema::Envelope::Reader envelope) {
  auto payload = envelope.getPayload();
  PayloadType type = payload.which();
  auto member = [&](auto which) { return EventKind{type, static_cast<uint16_t>(which)}; };
  switch (type) {
    case PayloadType::MODEL:
      return member(payload.getModel().which());
    case PayloadType::ACCESS:
      return member(payload.getAccess().which());
    case PayloadType::TOOLSET:
      return member(payload.getToolset().which());
    case PayloadType::MCP:
      return member(payload.getMcp().which());
    case PayloadType::MCP_AUTH:
      return member(payload.getMcpAuth().which());
    default:
      return EventKind{type, 0};
  }
}

std::string kind_name(EventKind kind) {
  auto payload = capnp::Schema::from<schema::Envelope::Payload>();
  for (auto field : payload.getUnionFields()) {
    if (field.getProto().getDiscriminantValue() != static_cast<uint16_t>(kind.payload)) continue;
    std::string name = field.getProto().getName().cStr();
    auto type = field.getType();
    if (!type.isStruct()) return name;
    auto group = type.asStruct();
    if (group.getUnionFields().size() == 0) return name;
    for (auto m : group.getUnionFields()) {
      if (m.getProto().getDiscriminantValue() == kind.member) {
        return name + "." + m.getProto().getName().cStr();
      }
    }
    return name + ".unknown(" + std::to_string(kind.member) + ")";
  }
  return "unknown(" + std::to_string(static_cast<int>(kind.payload)) + ")";
}

uint16_t current_version(EventKind kind) {
  for (const auto& entry : kCurrentVersions) {
    if (entry.kind == kind) return entry.current;
  }
  return 1;
}

Upcaster find_upcaster(EventKind kind, uint16_t from) {
  for (const auto& entry : kUpcasters) {
    if (entry.kind == kind && entry.from == from) return entry.upcast;
  }
  return nullptr;
}

void set_setting_value_type(schema::SettingUpserted::Builder setting, std::string_view value_type) {
  for (const auto& named : kSettingKinds) {
    if (named.name == value_type) {
      setting.setKind(named.kind);
      return;
    }
  }
  setting.setKind(schema::SettingKind::CUSTOM);
  setting.setCustomType(capnp::Text::Reader(value_type.data(), value_type.size()));
}

std::string setting_value_type(schema::SettingUpserted::Reader setting) {
  for (const auto& named : kSettingKinds) {
    if (named.kind == setting.getKind()) return std::string(named.name);
  }
  auto custom = setting.getCustomType();
  return std::string(custom.begin(), custom.size());
}

}  // namespace annals::events
