// Event versions and upcasters: how Annals reads events written by older
// versions of itself.
//
// Every kind of event (a payload such as settingUpserted, or a member of a
// payload group such as model.apiModelAliasCreated) has a current version,
// 1 until its meaning first changes. Writers stamp it into the envelope's
// eventVersion; an event without one (0) was written before versions existed
// and is version 1. Event::decode turns an older version into the current one
// by running the upcasters N -> N+1 in turn, so projectors, repositories and
// anything else reading the journal only ever see the current shape, and
// refuses a version newer than current_version() as kCorruption.
//
// To change the meaning of an event kind: add fields with the next free
// ordinals (keep the old ones, marked deprecated), raise its version in
// versions.cc, register an upcaster from the old version, and move every
// reader to the new fields.
#pragma once

#include <compare>
#include <cstdint>
#include <string>

#include "annals/status.h"
#include "events/events.capnp.h"

namespace annals::events {

using PayloadType = schema::Envelope::Payload::Which;

// A kind of event: a payload, and for a payload group (model, access,
// toolset, mcp, mcpAuth) the member of the group's union.
struct EventKind {
  PayloadType payload = PayloadType::UNSET;
  uint16_t member = 0;  // the group's union discriminant; 0 for a plain payload

  auto operator<=>(const EventKind&) const = default;
};

EventKind kind_of(schema::Envelope::Reader envelope);

// "settingUpserted", "model.apiModelAliasCreated".
std::string kind_name(EventKind kind);

// The version of the kind this code writes and reads.
uint16_t current_version(EventKind kind);

// The version an envelope says it was written as (0 read as 1).
inline uint16_t written_version(schema::Envelope::Reader envelope) {
  uint16_t v = envelope.getEventVersion();
  return v == 0 ? 1 : v;
}

// Rewrites the envelope's payload from version `from` of its kind to
// `from + 1`, in place (the caller sets eventVersion). Malformed old data is
// an error saying what is wrong with it; the caller adds the position.
using Upcaster = Status (*)(schema::Envelope::Builder envelope);

// The upcaster from `from` to `from + 1`, or nullptr when none is registered.
Upcaster find_upcaster(EventKind kind, uint16_t from);

// --- SettingUpserted, version 2: the value type as a kind -------------------

// Sets kind and customType for a value type name: the exact name of a kind
// ("string", "number", "boolean", "option") or custom with the name.
void set_setting_value_type(schema::SettingUpserted::Builder setting, std::string_view value_type);

// The value type name of a version-2 SettingUpserted.
std::string setting_value_type(schema::SettingUpserted::Reader setting);

}  // namespace annals::events
