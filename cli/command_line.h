// The annals command line: every command, its options and its help, defined
// once (cli/command_line.cc) and parsed with CLI11.
//
// Parsing never runs anything and never touches a file: it yields either the
// text to print (help, version, a usage error) or the command to run. Every
// option value is checked here: not empty, not another option ("--data
// --yes" is refused, not read as a folder named "--yes"), numbers in range,
// names from their set, and no option given twice.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace annals::cli {

struct Runners;

struct CommandLine {
  std::function<int()> run;  // the command to run; empty when the line alone answers
  int exit_code = 0;         // when run is empty: 0 (help, version) or 2 (bad usage)
  std::string out;           // when run is empty: for stdout
  std::string err;           // when run is empty: for stderr
};

// `args` are the arguments after the program name; a command to run calls
// its function from `runners` (commands.h). Never throws, never runs.
CommandLine parse_command_line(const std::vector<std::string>& args, const Runners& runners);

// Parses with runners() (commands.h), prints what the line alone answers,
// or runs the command; returns the exit code. Never throws: an exception
// escaping a command is reported as an internal error (exit 70).
int run_command_line(const std::vector<std::string>& args);

}  // namespace annals::cli
