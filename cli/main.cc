// annals: the command-line face of Annals (the commands: cli/command_line.cc).
#include <string>
#include <vector>

#include "cli/command_line.h"

int main(int argc, char** argv) {
  return annals::cli::run_command_line(std::vector<std::string>(argv + 1, argv + argc));
}
