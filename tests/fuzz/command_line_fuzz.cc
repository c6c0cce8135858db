// The annals command line on any arguments: parsing never crashes, throws
// or runs a command. It answers with the help or version (exit 0), one line
// of usage error on stderr (exit 2), or the command to run, never two of
// them. The input is the arguments, separated by NUL bytes.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "tests/fuzz/fuzz_check.h"

namespace {
// Parsing only: no command is ever run here.
const annals::cli::Runners kNeverRun;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> args;
  std::string current;
  for (size_t i = 0; i < size && args.size() < 64; ++i) {
    if (data[i] == 0) {
      args.push_back(current);
      current.clear();
    } else {
      current.push_back(static_cast<char>(data[i]));
    }
  }
  if (!current.empty() && args.size() < 64) args.push_back(current);

  annals::cli::CommandLine line = annals::cli::parse_command_line(args, kNeverRun);
  std::string shown = line.out + line.err;
  if (line.run) {
    FUZZ_CHECK(line.out.empty() && line.err.empty(), shown);
    return 0;
  }
  if (args.empty()) {
    FUZZ_CHECK(line.exit_code == 2 && !line.err.empty(), shown);
    return 0;
  }
  if (line.exit_code == 0) {
    FUZZ_CHECK(!line.out.empty() && line.err.empty(), shown);
    return 0;
  }
  FUZZ_CHECK(line.exit_code == 2, shown);
  FUZZ_CHECK(line.out.empty(), shown);
  FUZZ_CHECK(line.err.rfind("annals", 0) == 0, shown);
  FUZZ_CHECK(std::count(line.err.begin(), line.err.end(), '\n') == 1 && line.err.back() == '\n',
             shown);
  return 0;
}
