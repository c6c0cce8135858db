// The annals subcommands. Each returns the process exit code.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace annals::cli {

int run_demo(const std::vector<std::string>& args);
int run_status(const std::vector<std::string>& args);
int run_verify(const std::vector<std::string>& args);
int run_setup(const std::vector<std::string>& args);
int run_export(const std::vector<std::string>& args);
int run_import(const std::vector<std::string>& args);
int run_rebuild(const std::vector<std::string>& args);
int run_replay(const std::vector<std::string>& args);
int run_org(const std::vector<std::string>& args);

// Where the data folder is when --data is not given.
std::string default_data_dir();
// $ANNALS_DATABASE_URL, or empty (the SQLite file in the data folder).
std::string default_database_url();
// $ANNALS_RUNTIME_PASSWORD: the password PostgreSQL setup gives the runtime roles.
std::optional<std::string> runtime_password();

// "annals demo: <message>" on stderr; returns 2 (bad usage) or 1 (failure).
int usage_error(const std::string& command, const std::string& message);
int failure(const std::string& command, const std::string& message);

}  // namespace annals::cli
