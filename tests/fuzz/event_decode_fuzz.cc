// Event::decode on any bytes: a Status, never a crash. What decodes and
// passes deep_validate is encoded again, and the encoding decodes to the
// same event.
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "events/event.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using annals::events::Event;

// The canonical bytes of a decoded event, read through its own reader.
std::string canonical(const Event& event) {
  kj::Array<capnp::word> words = capnp::canonicalize(event.envelope());
  auto bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

// The event copied into a fresh message and written out flat.
std::string encode(const Event& event) {
  capnp::MallocMessageBuilder builder;
  builder.setRoot(event.envelope());
  kj::Array<capnp::word> words = capnp::messageToFlatArray(builder);
  auto bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto event = Event::decode(bytes);
  if (!event.is_ok()) return 0;
  (void)annals::events::payload_type_name(event->type());
  if (!annals::events::deep_validate(*event).is_ok()) return 0;
  (void)annals::events::sealed_secret_field(*event);

  // Every read of the event counts against the traversal limit it was
  // decoded under, decode's own walk included. A message may point to the
  // same object many times over, so even a few hundred bytes can exhaust
  // it: then the reads throw kj::Exception, as for every reader of the
  // event (the projector turns that into kCorruption). That is the one
  // exception allowed here.
  std::string reencoded;
  std::string before;
  try {
    reencoded = encode(*event);
    before = canonical(*event);
  } catch (const kj::Exception& e) {
    std::string what = e.getDescription().cStr();
    FUZZ_CHECK(what.find("traversal limit") != std::string::npos, what);
    return 0;
  }
  auto again = Event::decode(reencoded);
  FUZZ_CHECK(again.is_ok(), again.status().to_string());
  FUZZ_CHECK(annals::events::deep_validate(*again).is_ok(), "the re-encoded event is malformed");
  FUZZ_CHECK(again->type() == event->type(), "type");
  FUZZ_CHECK(again->position() == event->position(), "position");
  FUZZ_CHECK(again->org_id() == event->org_id(), "org_id");
  FUZZ_CHECK(again->stream_id() == event->stream_id(), "stream_id");
  FUZZ_CHECK(again->stream_version() == event->stream_version(), "stream_version");
  FUZZ_CHECK(again->recorded_at_micros() == event->recorded_at_micros(), "recorded_at");
  FUZZ_CHECK(again->version() == event->version(), "version");
  FUZZ_CHECK(canonical(*again) == before, "the re-encoded event differs");
  return 0;
}
