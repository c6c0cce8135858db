// journal_crash_child DIR DURABILITY
//
// The process journal_crash_test kills. It opens the journal in DIR and
// appends from two threads until it is killed, reporting on stdout:
//   ready <head>                               once open; <head> is also the run id
//   ack <first> <last> <thread> <n>            after command n of a thread was acknowledged
//   err <message>                              then exits with status 3
// Every command's content is a function of (run, thread, n), so the test can
// check each record without being told what was written
// (tests/journal_crash_workload.h).
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "journal/journal.h"
#include "tests/journal_crash_workload.h"

namespace {

using annals::journal::AppendRequest;
using annals::journal::Journal;

using namespace annals::testing::crash;

std::mutex out_mu;

// One whole line per write(2) call sequence, so the reader never sees two
// lines interleaved; a kill mid-line leaves a partial last line at most.
void emit(const std::string& line) {
  std::string buf = line + "\n";
  std::lock_guard lock(out_mu);
  size_t done = 0;
  while (done < buf.size()) {
    ssize_t n = write(STDOUT_FILENO, buf.data() + done, buf.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      _exit(4);  // the test stopped listening
    }
    done += static_cast<size_t>(n);
  }
}

[[noreturn]] void fail(const std::string& message) {
  emit("err " + message);
  _exit(3);
}

void append_forever(Journal* journal, uint64_t run, int thread) {
  for (uint64_t n = 0;; ++n) {
    AppendRequest request;
    request.org_id = kOrg;
    request.idempotency_key = command_key(run, thread, n);
    std::string key = setting_key(thread, n);
    int count = events_in_command(thread, n);
    for (int i = 0; i < count; ++i) {
      annals::events::NewEvent event(kOrg, "setting/" + key, "crash-child");
      auto upserted = event.payload().initSettingUpserted();
      upserted.setKey(key);
      upserted.setValue(setting_value(run, thread, n, i));
      upserted.setValueType("string");
      request.events.push_back(std::move(event));
    }
    auto result = journal->append(std::move(request));
    if (!result.is_ok()) fail(result.status().to_string());
    if (result->replayed) fail("command " + command_key(run, thread, n) + " was replayed");
    if (result->last_position - result->first_position + 1 != static_cast<uint64_t>(count)) {
      fail("command " + command_key(run, thread, n) + " got a wrong number of positions");
    }
    emit("ack " + std::to_string(result->first_position) + " " +
         std::to_string(result->last_position) + " " + std::to_string(thread) + " " +
         std::to_string(n));
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s DIR sync|batch|none\n", argv[0]);
    return 2;
  }
  auto durability = annals::journal::parse_durability(argv[2]);
  if (!durability.is_ok()) fail(durability.status().to_string());
  annals::journal::Options options;
  options.durability = *durability;
  auto opened = Journal::open_rocksdb(argv[1], options);
  if (!opened.is_ok()) fail(opened.status().to_string());
  std::unique_ptr<Journal> journal = std::move(opened).value();

  // The head at open names this run: any earlier run that appended something
  // left a different head, so idempotency keys never repeat across runs.
  uint64_t run = journal->head();
  emit("ready " + std::to_string(run));

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back(append_forever, journal.get(), run, t);
  }
  for (auto& t : threads) t.join();  // never: the child runs until it is killed
  return 0;
}
