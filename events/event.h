// Events: building them on the write side, decoding and validating them on the
// read side. The journal stores the bytes that encode() returns.
#pragma once

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "annals/status.h"
#include "events/events.capnp.h"
#include "events/versions.h"

namespace annals::events {

using schema::Envelope;

// Limits every decode is held to.
inline constexpr size_t kMaxEventBytes = 4 << 20;
inline constexpr uint64_t kTraversalLimitWords = (kMaxEventBytes / 8) * 2;
inline constexpr int kNestingLimit = 16;

// An event being written. The repository sets org, stream, actor and the
// payload; the journal sets position, stream version, recorded-at and the
// idempotency key when it appends. Move-only; not thread-safe.
class NewEvent {
 public:
  NewEvent(std::string_view org_id, std::string_view stream_id, std::string_view actor);
  NewEvent(NewEvent&&) = default;
  NewEvent& operator=(NewEvent&&) = default;

  Envelope::Builder envelope() { return message_->getRoot<Envelope>(); }
  Envelope::Payload::Builder payload() { return envelope().getPayload(); }
  std::string_view org_id() { return as_view(envelope().getOrgId()); }
  std::string_view stream_id() { return as_view(envelope().getStreamId()); }

  // Sets the envelope's eventVersion to the current version of the
  // payload's kind (see versions.h). The repositories stamp every event they
  // write; an event appended unstamped is read as version 1.
  void stamp_version();

  // Flat-array bytes of the message as it stands.
  std::string encode();

 private:
  static std::string_view as_view(capnp::Text::Builder t) { return {t.begin(), t.size()}; }
  std::unique_ptr<capnp::MallocMessageBuilder> message_;
};

// A decoded, validated event. Owns its bytes; move-only; readers it hands out
// live as long as it does.
class Event {
 public:
  // Validates the bytes: size, segment table, every pointer within bounds
  // under the traversal and nesting limits, envelope fields present and a
  // known payload. Corrupt or unknown data is a kCorruption status, never a crash.
  // An event written as an older version of its kind is upcast to the
  // current one (and then deep-validated); a newer version than this code
  // knows, or old data an upcaster cannot read, is kCorruption.
  static Result<Event> decode(std::string_view bytes);

  Event(Event&&) noexcept;
  Event& operator=(Event&&) noexcept;
  ~Event();

  Envelope::Reader envelope() const { return root_; }
  Envelope::Payload::Reader payload() const { return root_.getPayload(); }
  PayloadType type() const { return root_.getPayload().which(); }
  uint64_t position() const { return root_.getPosition(); }
  std::string_view org_id() const { return view(root_.getOrgId()); }
  std::string_view stream_id() const { return view(root_.getStreamId()); }
  uint64_t stream_version() const { return root_.getStreamVersion(); }
  int64_t recorded_at_micros() const { return root_.getRecordedAtMicros(); }
  std::string_view actor() const { return view(root_.getActor()); }
  // The version of its kind the event is in: always the current one.
  uint16_t version() const { return written_version(root_); }
  // The version it was written as (before upcasting).
  uint16_t stored_version() const { return stored_version_; }

  static std::string_view view(capnp::Text::Reader t) { return {t.begin(), t.size()}; }

 private:
  Event() = default;
  Status upcast(EventKind kind, uint16_t to);

  kj::Array<capnp::word> words_;
  std::unique_ptr<capnp::FlatArrayMessageReader> reader_;
  Envelope::Reader root_;
  uint16_t stored_version_ = 1;
};

// "token.created", or "unknown(57)".
std::string payload_type_name(PayloadType type);

// Reads every field of the event through Cap'n Proto's reflection, so a
// malformed text or list anywhere in the payload is found (verify uses this;
// projectors rely on decode() and their own reads).
Status deep_validate(const Event& event);

// The path of the first non-empty sealed secret the event holds (a field
// named "sealed..." or a SecretChange that sets one), e.g.
// "event.mcpAuth.headerCreated.sealedHeaderValue"; nullopt when none. An
// org whose events hold one needs its data key to read them.
std::optional<std::string> sealed_secret_field(const Event& event);

}  // namespace annals::events
