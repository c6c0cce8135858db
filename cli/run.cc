// Running a command line: the real commands behind the parser.
#include <cstdio>
#include <exception>

#include "cli/command_line.h"
#include "cli/commands.h"

namespace annals::cli {

const Runners& runners() {
  static const Runners kRunners = {
      .demo = &run_demo,
      .status = &run_status,
      .verify = &run_verify,
      .setup = &run_setup,
      .export_ = &run_export,
      .import = &run_import,
      .rebuild = &run_rebuild,
      .replay = &run_replay,
      .org_forget = &run_org_forget,
      .keys_rotate = &run_keys_rotate,
  };
  return kRunners;
}

int run_command_line(const std::vector<std::string>& args) {
  CommandLine line = parse_command_line(args, runners());
  if (!line.run) {
    std::fputs(line.out.c_str(), stdout);
    std::fputs(line.err.c_str(), stderr);
    return line.exit_code;
  }
  try {
    return line.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "annals: internal error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "annals: internal error: an unknown exception\n");
  }
  return 70;
}

}  // namespace annals::cli
