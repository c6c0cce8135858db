// The machine the figures were measured on: what one fsync costs on the disk
// the benchmarks write to (bench/run puts it in the report's header).
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "bench/bench_support.h"

namespace annals::bench {
namespace {

// A 4 KiB write then fsync, as a commit does: the floor under every durable
// append and every synchronous SQLite transaction.
void BM_Fsync4k(benchmark::State& state) {
  TempDir dir;
  std::string path = dir.sub("fsync.bin");
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (fd < 0) {
    state.SkipWithError("cannot create a file in the benchmark folder");
    return;
  }
  std::string block(4096, 'x');
  Latencies latencies;
  off_t offset = 0;
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    if (::pwrite(fd, block.data(), block.size(), offset) != static_cast<ssize_t>(block.size()) ||
        ::fsync(fd) != 0) {
      state.SkipWithError("write or fsync failed");
      break;
    }
    latencies.add(std::chrono::steady_clock::now() - start);
    offset = (offset + 4096) % (4096 * 256);
  }
  ::close(fd);
  state.SetItemsProcessed(state.iterations());
  latencies.report(state);
  set_pair(state, "machine/fsync 4 KiB", Side::kBaseline, "pwrite + fsync of 4 KiB");
}
BENCHMARK(BM_Fsync4k)->Iterations(scaled(2000, 200))->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace annals::bench
