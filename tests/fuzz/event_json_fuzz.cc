// The export's event lines (journal/export_codec.h) on any text: a Status,
// never a crash. A line that is accepted gives an event whose own export
// line is accepted again and gives an event written as the same line; from
// there on the trip is a fixed point, bytes and line. (The first event's
// bytes may differ from the second's: a line may leave out a struct the
// export writes out, {"none":null}, which reads the same either way.)
#include <cstdint>
#include <string>
#include <string_view>

#include "events/event.h"
#include "journal/export_codec.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto stored = annals::journal::event_from_export_line(text);
  if (!stored.is_ok()) return 0;
  auto event = annals::events::Event::decode(*stored);
  FUZZ_CHECK(event.is_ok(), event.status().to_string());

  auto line = annals::journal::event_export_line(event->position(), *stored);
  FUZZ_CHECK(line.is_ok(), line.status().to_string());
  auto again = annals::journal::event_from_export_line(*line);
  FUZZ_CHECK(again.is_ok(), again.status().to_string() + " for " + *line);
  auto line_again = annals::journal::event_export_line(event->position(), *again);
  FUZZ_CHECK(line_again.is_ok(), line_again.status().to_string());
  FUZZ_CHECK(*line_again == *line, "the line changed on the round trip: " + *line);
  auto fixed = annals::journal::event_from_export_line(*line_again);
  FUZZ_CHECK(fixed.is_ok(), fixed.status().to_string());
  FUZZ_CHECK(*fixed == *again, "the event changed on the second round trip: " + *line);
  return 0;
}
