// The choices a Store is opened with that the journal and the projector
// share: how durable an acknowledged write is, who applies it to the read
// tables, and what a read right after a write sees.
#pragma once

#include <chrono>

namespace annals {

// When an append is acknowledged (docs/ARCHITECTURE.md, "Durability").
enum class Durability {
  kSync,   // fsync before acknowledging; concurrent appenders share one fsync
  kBatch,  // acknowledged once written to the OS; fsync'd in the background
  kNone,   // acknowledged once written to the OS; fsync'd only on close
};

enum class ProjectorMode {
  kInline,      // the appending thread applies new events before it returns
  kBackground,  // a thread follows the journal; readers wait for positions
};

namespace repositories {

struct RepositoryOptions {
  // Wait after each write until the projections have applied it, so that
  // a read right after a write sees it.
  bool read_your_writes = true;
  std::chrono::milliseconds visibility_timeout{10000};
};

}  // namespace repositories
}  // namespace annals
