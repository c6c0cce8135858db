// What the standard projections share: the payload types a projection
// handles and the tables it writes, and what every row takes from its event.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "events/event.h"
#include "projections/projector.h"

namespace annals::projections {

// A Cap'n Proto text field, copied.
inline std::string text(capnp::Text::Reader t) { return std::string(t.begin(), t.size()); }

// A projection called `name` that handles the events of `types` and writes
// `tables`.
class TableProjection : public Projection {
 public:
  TableProjection(std::string name, std::vector<std::string> tables,
                  std::initializer_list<events::PayloadType> types)
      : name_(std::move(name)), tables_(std::move(tables)), types_(types) {}

  std::string name() const override { return name_; }
  std::vector<std::string> tables() const override { return tables_; }
  bool handles(events::PayloadType type) const override {
    for (auto t : types_) {
      if (t == type) return true;
    }
    return false;
  }

 private:
  std::string name_;
  std::vector<std::string> tables_;
  std::vector<events::PayloadType> types_;
};

// What a row records of the event that wrote it: the org, when (micros)
// and the stream version.
struct EventStamp {
  std::string org;
  int64_t at;
  int64_t version;
};

inline EventStamp stamp_of(const events::Event& event) {
  return {std::string(event.org_id()), event.recorded_at_micros(),
          static_cast<int64_t>(event.stream_version())};
}

}  // namespace annals::projections
