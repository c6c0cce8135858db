// Crash safety of the RocksDB journal against a real process kill: a child
// (journal_crash_child) appends from two threads and reports every
// acknowledged command; the test SIGKILLs it at a random moment, reopens the
// journal and checks that everything acknowledged is there, whole and in order.
//
// ANNALS_CRASH_SEED=<n> replays the kill timings of an earlier run.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "journal/journal.h"
#include "tests/journal_crash_workload.h"
#include "tests/test_support.h"

namespace annals::journal {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

using namespace annals::testing::crash;

// One command of the child, identified by the run (head when the child
// opened the journal), the appending thread and its command counter.
struct CommandId {
  uint64_t run = 0;
  int thread = 0;
  uint64_t n = 0;
  auto operator<=>(const CommandId&) const = default;
};

std::string describe(const CommandId& id) { return command_key(id.run, id.thread, id.n); }

struct Ack {
  CommandId id;
  uint64_t first = 0;
  uint64_t last = 0;
};

bool parse_u64(std::string_view s, uint64_t* out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

// "crash-<run>-<thread>-<n>"
bool parse_command_key(std::string_view key, CommandId* id) {
  constexpr std::string_view kPrefix = "crash-";
  if (!key.starts_with(kPrefix)) return false;
  key.remove_prefix(kPrefix.size());
  std::vector<std::string_view> parts;
  for (size_t dash; (dash = key.find('-')) != std::string_view::npos;) {
    parts.push_back(key.substr(0, dash));
    key.remove_prefix(dash + 1);
  }
  parts.push_back(key);
  uint64_t thread = 0;
  if (parts.size() != 3 || !parse_u64(parts[0], &id->run) || !parse_u64(parts[1], &thread) ||
      !parse_u64(parts[2], &id->n) || thread >= kThreads) {
    return false;
  }
  id->thread = static_cast<int>(thread);
  return true;
}

std::string child_path() {
  return (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "journal_crash_child")
      .string();
}

// A running journal_crash_child with its stdout on a pipe. Lines are parsed as
// they arrive; only whole lines count.
class Child {
 public:
  Child(const std::string& dir, const std::string& durability) {
    std::string exe = child_path();
    std::vector<std::string> args = {exe, dir, durability};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "pipe2: " << std::strerror(errno);
      return;
    }
    pid_ = fork();
    if (pid_ == 0) {
      // Only async-signal-safe calls between fork and exec.
      if (dup2(fds[1], STDOUT_FILENO) < 0) _exit(126);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(fds[1]);
    if (pid_ < 0) {
      ADD_FAILURE() << "fork: " << std::strerror(errno);
      close(fds[0]);
      return;
    }
    fd_ = fds[0];
  }

  ~Child() {
    if (pid_ > 0) kill_and_reap();
    if (fd_ >= 0) close(fd_);
  }

  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Reads until `done()` holds, the child closes its stdout, or `deadline`.
  // Returns whether `done()` holds.
  template <typename Done>
  bool read_until(Clock::time_point deadline, Done done) {
    while (!done()) {
      if (fd_ < 0 || eof_) return false;
      auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      int r = poll(&p, 1, static_cast<int>(left.count()));
      if (r < 0 && errno != EINTR) {
        ADD_FAILURE() << "poll: " << std::strerror(errno);
        return false;
      }
      if (r > 0) read_some();
    }
    return true;
  }

  bool wait_ready(milliseconds timeout) {
    return read_until(Clock::now() + timeout, [&] { return ready_; });
  }

  // Reads whatever arrives in `duration`.
  void read_for(milliseconds duration) {
    read_until(Clock::now() + duration, [] { return false; });
  }

  // SIGKILL, reap, then take every whole line still in the pipe.
  void kill_and_reap() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    killed_by_us_ = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    while (fd_ >= 0 && !eof_) read_some();
    // A partial last line was never fully reported: it does not count.
    partial_.clear();
  }

  bool ready() const { return ready_; }
  uint64_t run() const { return run_; }
  const std::vector<Ack>& acks() const { return acks_; }
  const std::vector<std::string>& errors() const { return errors_; }
  bool killed_by_us() const { return killed_by_us_; }
  int exit_code() const { return exit_code_; }

 private:
  void read_some() {
    char buf[64 * 1024];
    ssize_t n = read(fd_, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) return;
      ADD_FAILURE() << "read: " << std::strerror(errno);
      eof_ = true;
      return;
    }
    if (n == 0) {
      eof_ = true;
      return;
    }
    partial_.append(buf, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1) {
      parse_line(std::string_view(partial_).substr(start, nl - start));
    }
    partial_.erase(0, start);
  }

  void parse_line(std::string_view line) {
    std::istringstream in{std::string(line)};
    std::string word;
    in >> word;
    if (word == "ready") {
      ready_ = static_cast<bool>(in >> run_);
      if (!ready_) ADD_FAILURE() << "bad line from child: " << line;
    } else if (word == "ack") {
      Ack ack;
      ack.id.run = run_;
      if (!ready_ || !(in >> ack.first >> ack.last >> ack.id.thread >> ack.id.n)) {
        ADD_FAILURE() << "bad line from child: " << line;
        return;
      }
      acks_.push_back(ack);
    } else {
      errors_.emplace_back(line);
    }
  }

  pid_t pid_ = -1;
  int fd_ = -1;
  bool eof_ = false;
  std::string partial_;
  bool ready_ = false;
  uint64_t run_ = 0;
  std::vector<Ack> acks_;
  std::vector<std::string> errors_;
  bool killed_by_us_ = false;
  int exit_code_ = -1;
};

// Where each command the journal holds lies.
struct CommandSpan {
  uint64_t first = 0;
  uint64_t last = 0;
};

struct JournalContents {
  uint64_t head = 0;
  std::map<CommandId, CommandSpan> commands;
  // The value of every position, to compare runs.
  std::vector<std::string> values;  // values[p - 1]
};

// Reads the whole journal and checks every record is one the child wrote:
// positions 1..head contiguous, each command whole and in one piece, and each
// thread's commands a gap-free prefix 0..k (a later command is only appended
// after the earlier one was acknowledged).
::testing::AssertionResult scan_journal(Journal* journal, JournalContents* out) {
  out->head = journal->head();
  out->commands.clear();
  out->values.clear();
  constexpr size_t kChunk = 997;
  uint64_t position = 1;
  CommandId current;
  bool in_command = false;
  uint64_t previous_version = 0;
  auto close_command = [&]() -> ::testing::AssertionResult {
    if (!in_command) return ::testing::AssertionSuccess();
    const CommandSpan& span = out->commands[current];
    uint64_t count = span.last - span.first + 1;
    if (count != static_cast<uint64_t>(events_in_command(current.thread, current.n))) {
      return ::testing::AssertionFailure()
             << describe(current) << " holds " << count << " events at positions " << span.first
             << ".." << span.last << "; it was appended with "
             << events_in_command(current.thread, current.n);
    }
    return ::testing::AssertionSuccess();
  };

  while (position <= out->head) {
    auto chunk = journal->read(position, kChunk);
    if (!chunk.is_ok()) {
      return ::testing::AssertionFailure()
             << "read(" << position << ", " << kChunk << ") below head " << out->head << ": "
             << chunk.status().to_string();
    }
    if (chunk->empty()) {
      return ::testing::AssertionFailure()
             << "read(" << position << ") returned nothing below head " << out->head;
    }
    for (const events::Event& e : *chunk) {
      std::string at = "position " + std::to_string(position) + ": ";
      if (e.position() != position) {
        return ::testing::AssertionFailure() << at << "read returned position " << e.position();
      }
      if (e.org_id() != kOrg) {
        return ::testing::AssertionFailure() << at << "org is '" << e.org_id() << "'";
      }
      if (e.type() != events::PayloadType::SETTING_UPSERTED) {
        return ::testing::AssertionFailure()
               << at << "payload is " << events::payload_type_name(e.type());
      }
      std::string_view idem = events::Event::view(e.envelope().getIdempotencyKey());
      CommandId id;
      if (!parse_command_key(idem, &id)) {
        return ::testing::AssertionFailure() << at << "unexpected idempotency key '" << idem << "'";
      }
      if (!in_command || id != current) {
        if (auto r = close_command(); !r) return r;
        if (out->commands.contains(id)) {
          return ::testing::AssertionFailure()
                 << at << describe(id) << " appears again after position "
                 << out->commands[id].last;
        }
        out->commands[id] = {position, position};
        current = id;
        in_command = true;
      }
      CommandSpan& span = out->commands[id];
      span.last = position;
      int index = static_cast<int>(position - span.first);
      auto upserted = e.payload().getSettingUpserted();
      std::string key = setting_key(id.thread, id.n);
      std::string value = setting_value(id.run, id.thread, id.n, index);
      std::string_view got_key = events::Event::view(upserted.getKey());
      std::string_view got_value = events::Event::view(upserted.getValue());
      std::string_view got_type = events::Event::view(upserted.getValueType());
      if (got_key != key || got_value != value || got_type != "string" ||
          e.stream_id() != "setting/" + key) {
        return ::testing::AssertionFailure()
               << at << "event " << index << " of " << describe(id) << " is {stream "
               << e.stream_id() << ", key " << got_key << ", value " << got_value << ", type "
               << got_type << "}; expected {stream setting/" << key << ", key " << key << ", value "
               << value << ", type string}";
      }
      // A command's events are one stream's consecutive versions.
      uint64_t version = e.stream_version();
      if (version == 0 || (index > 0 && version != previous_version + 1)) {
        return ::testing::AssertionFailure()
               << at << "event " << index << " of " << describe(id) << " has stream version "
               << version << " after " << previous_version;
      }
      previous_version = version;
      out->values.emplace_back(got_value);
      ++position;
    }
  }
  if (auto r = close_command(); !r) return r;

  // Each thread of each run: commands 0..k, all present, in position order.
  std::map<std::pair<uint64_t, int>, uint64_t> next_n;
  std::map<std::pair<uint64_t, int>, uint64_t> last_position;
  for (const auto& [id, span] : out->commands) {
    auto thread = std::make_pair(id.run, id.thread);
    if (id.n != next_n[thread]) {
      return ::testing::AssertionFailure() << describe(id) << " is in the journal but command "
                                           << next_n[thread] << " of its thread is not";
    }
    if (span.first <= last_position[thread]) {
      return ::testing::AssertionFailure()
             << describe(id) << " at " << span.first << " precedes the command before it";
    }
    next_n[thread] = id.n + 1;
    last_position[thread] = span.last;
  }
  return ::testing::AssertionSuccess();
}

// Every acknowledged command is in the journal at the positions acknowledged.
::testing::AssertionResult acks_are_durable(const JournalContents& contents,
                                            const std::vector<Ack>& acks) {
  for (const Ack& ack : acks) {
    if (ack.last > contents.head) {
      return ::testing::AssertionFailure()
             << describe(ack.id) << " was acknowledged at " << ack.first << ".." << ack.last
             << " but the head after the crash is " << contents.head;
    }
    auto it = contents.commands.find(ack.id);
    if (it == contents.commands.end()) {
      return ::testing::AssertionFailure()
             << describe(ack.id) << " was acknowledged at " << ack.first << ".." << ack.last
             << " but is not in the journal";
    }
    if (it->second.first != ack.first || it->second.last != ack.last) {
      return ::testing::AssertionFailure()
             << describe(ack.id) << " was acknowledged at " << ack.first << ".." << ack.last
             << " but is at " << it->second.first << ".." << it->second.last;
    }
  }
  return ::testing::AssertionSuccess();
}

std::unique_ptr<Journal> open_journal(const std::string& dir) {
  auto journal = Journal::open_rocksdb(dir, Options{});
  EXPECT_TRUE(journal.is_ok()) << journal.status().to_string();
  return journal.is_ok() ? std::move(journal).value() : nullptr;
}

uint32_t test_seed() {
  if (const char* s = std::getenv("ANNALS_CRASH_SEED")) return static_cast<uint32_t>(std::stoul(s));
  return std::random_device{}();
}

constexpr milliseconds kStartTimeout{30000};

class JournalCrash : public ::testing::TestWithParam<const char*> {};

TEST_P(JournalCrash, SigkillNeverLosesAcknowledgedAppends) {
  const std::string durability = GetParam();
  const uint32_t seed = test_seed();
  std::cout << "ANNALS_CRASH_SEED=" << seed << "\n";
  RecordProperty("seed", std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> kill_after_ms(20, 300);

  testing::TempDir tmp;
  const std::string dir = tmp.sub("journal");
  constexpr int kRounds = 8;
  std::vector<Ack> all_acks;  // of every round: earlier rounds must stay intact too
  uint64_t head_before = 0;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round) + ", seed " + std::to_string(seed));
    milliseconds delay(kill_after_ms(rng));
    size_t acked_this_round = 0;
    {
      Child child(dir, durability);
      ASSERT_TRUE(child.wait_ready(kStartTimeout))
          << "the child did not open the journal; it said: "
          << ::testing::PrintToString(child.errors());
      // The child resumes where the last reopen left the journal.
      EXPECT_EQ(child.run(), head_before);
      child.read_for(delay);
      child.kill_and_reap();
      ASSERT_TRUE(child.killed_by_us())
          << "the child exited with " << child.exit_code()
          << " before it was killed: " << ::testing::PrintToString(child.errors());
      ASSERT_TRUE(child.errors().empty()) << ::testing::PrintToString(child.errors());
      acked_this_round = child.acks().size();
      all_acks.insert(all_acks.end(), child.acks().begin(), child.acks().end());
    }

    auto journal = open_journal(dir);
    ASSERT_NE(journal, nullptr);
    JournalContents contents;
    ASSERT_TRUE(scan_journal(journal.get(), &contents));
    ASSERT_TRUE(acks_are_durable(contents, all_acks));
    ASSERT_GE(contents.head, head_before);
    std::cout << "round " << round << ": killed after " << delay.count() << " ms, "
              << acked_this_round << " commands acknowledged, head " << head_before << " -> "
              << contents.head << "\n";
    head_before = contents.head;
    journal.reset();  // the next child needs the folder's lock
  }
  // Not a condition of correctness, but without any acknowledged command the
  // test has checked nothing.
  EXPECT_FALSE(all_acks.empty());
}

INSTANTIATE_TEST_SUITE_P(Durability, JournalCrash, ::testing::Values("sync", "batch", "none"),
                         [](const auto& info) { return std::string(info.param); });

// Runs a child on `dir` until it has acknowledged `min_acks` commands, then kills it.
void run_child_until_acks(const std::string& dir, size_t min_acks, uint64_t* run,
                          std::vector<Ack>* acks) {
  Child child(dir, "sync");
  ASSERT_TRUE(child.wait_ready(kStartTimeout)) << ::testing::PrintToString(child.errors());
  ASSERT_TRUE(child.read_until(Clock::now() + kStartTimeout,
                               [&] { return child.acks().size() >= min_acks; }))
      << "only " << child.acks().size() << " acks; " << ::testing::PrintToString(child.errors());
  child.kill_and_reap();
  ASSERT_TRUE(child.killed_by_us()) << ::testing::PrintToString(child.errors());
  *run = child.run();
  *acks = child.acks();
}

TEST(JournalCrash, RestartedChildContinuesPositionsContiguously) {
  testing::TempDir tmp;
  const std::string dir = tmp.sub("journal");
  constexpr size_t kMinAcks = 200;

  uint64_t run1 = 0;
  std::vector<Ack> acks1;
  ASSERT_NO_FATAL_FAILURE(run_child_until_acks(dir, kMinAcks, &run1, &acks1));
  EXPECT_EQ(run1, 0u);
  JournalContents after1;
  {
    auto journal = open_journal(dir);
    ASSERT_NE(journal, nullptr);
    ASSERT_TRUE(scan_journal(journal.get(), &after1));
    ASSERT_TRUE(acks_are_durable(after1, acks1));
  }
  ASSERT_GT(after1.head, 0u);

  uint64_t run2 = 0;
  std::vector<Ack> acks2;
  ASSERT_NO_FATAL_FAILURE(run_child_until_acks(dir, kMinAcks, &run2, &acks2));
  EXPECT_EQ(run2, after1.head) << "the restarted child did not see the first run's head";

  auto journal = open_journal(dir);
  ASSERT_NE(journal, nullptr);
  JournalContents after2;
  ASSERT_TRUE(scan_journal(journal.get(), &after2));
  std::vector<Ack> all = acks1;
  all.insert(all.end(), acks2.begin(), acks2.end());
  ASSERT_TRUE(acks_are_durable(after2, all));

  // The first run's records are untouched...
  ASSERT_GE(after2.values.size(), after1.values.size());
  for (size_t i = 0; i < after1.values.size(); ++i) {
    ASSERT_EQ(after2.values[i], after1.values[i]) << "position " << i + 1 << " changed";
  }
  // ...and the second run's begin right after them: the record after the old
  // head is the first command of one of the new run's threads.
  ASSERT_GT(after2.head, after1.head);
  bool first_command_follows = false;
  for (int t = 0; t < kThreads; ++t) {
    auto it = after2.commands.find(CommandId{run2, t, 0});
    if (it != after2.commands.end() && it->second.first == after1.head + 1) {
      first_command_follows = true;
    }
  }
  EXPECT_TRUE(first_command_follows)
      << "position " << after1.head + 1 << " does not hold the new run's first command";
  for (const auto& [id, span] : after2.commands) {
    if (id.run == run2) {
      EXPECT_GT(span.first, after1.head) << describe(id);
    } else {
      EXPECT_LE(span.last, after1.head) << describe(id);
    }
  }
  for (const Ack& ack : acks2) EXPECT_GT(ack.first, after1.head) << describe(ack.id);
}

}  // namespace
}  // namespace annals::journal
