// Checking a decoded event's envelope field by field, for the event tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "events/event.h"

namespace annals::testing {

// The fields in envelope order: position, org, stream, stream version, actor,
// recorded at.
struct ExpectedEnvelope {
  uint64_t position = 0;
  std::string org_id;
  std::string stream_id;
  uint64_t stream_version = 0;
  std::string actor;
  int64_t recorded_at_micros = 0;
};

inline void expect_envelope(const events::Event& event, const ExpectedEnvelope& expected) {
  EXPECT_EQ(event.position(), expected.position);
  EXPECT_EQ(event.org_id(), expected.org_id);
  EXPECT_EQ(event.stream_id(), expected.stream_id);
  EXPECT_EQ(event.stream_version(), expected.stream_version);
  EXPECT_EQ(event.actor(), expected.actor);
  EXPECT_EQ(event.recorded_at_micros(), expected.recorded_at_micros);
}

}  // namespace annals::testing
