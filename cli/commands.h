// The annals subcommands. Each returns the process exit code.
#pragma once

#include <string>
#include <vector>

namespace annals::cli {

int run_demo(const std::vector<std::string>& args);
int run_status(const std::vector<std::string>& args);
int run_verify(const std::vector<std::string>& args);

// Where the data folder is when --data is not given.
std::string default_data_dir();

// "annals demo: <message>" on stderr; returns 2 (bad usage) or 1 (failure).
int usage_error(const std::string& command, const std::string& message);
int failure(const std::string& command, const std::string& message);

}  // namespace annals::cli
