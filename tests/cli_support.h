// Running the annals binary the way a user does, for the CLI tests.
// ANNALS_BIN is defined by tests/CMakeLists.txt for each CLI test target.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace annals::testing {

struct CliRun {
  int exit_code;
  std::string out;  // stdout and stderr together
};

// `env` prefixes the command ("NAME=value ..."), empty for none.
inline CliRun annals(const std::string& args, const std::string& env = "") {
  std::string cmd = env + (env.empty() ? "" : " ") + std::string(ANNALS_BIN) + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  std::string out;
  if (pipe == nullptr) return {-1, out};
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// The whole contents of a file the CLI wrote ("" when it cannot be read).
inline std::string file_contents(const std::string& path) {
  std::string out;
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    std::array<char, 4096> buf;
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) out.append(buf.data(), n);
    std::fclose(f);
  }
  return out;
}

}  // namespace annals::testing
