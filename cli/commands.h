// The annals subcommands. The command line (cli/command_line.h) parses
// into one of these argument sets and calls its run_* function, which
// returns the process exit code.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace annals::cli {

// Every folder and URL below is already resolved: an option not given holds
// its default ($ANNALS_DATA, $ANNALS_DATABASE_URL, ...).
struct DemoArgs {
  std::string data;
  std::string database;  // empty: the SQLite file DATA/read.sqlite
  int64_t commands = 3000;
  int64_t orgs = 4;
  int64_t users = 5;
  int64_t seed = 42;
  std::string durability = "sync";
};

struct InspectArgs {  // status and verify
  std::string data;
  std::string database;
};

struct SetupArgs {
  std::string database;
};

struct ExportArgs {
  std::string data;
  std::string output = "-";
  bool with_keys = false;
};

struct ImportArgs {
  std::string data;
  std::string input;
  int64_t max_bytes = 0;  // standard input: the most it reads
};

struct RebuildArgs {
  std::string data;
  std::string database;
  bool dry_run = false;
  bool check = false;
  bool discard = false;
  int64_t batch = 2000;
};

struct ReplayArgs {
  std::string data;
  std::string database;
  std::string projection;
  int64_t from = 1;
};

struct OrgForgetArgs {
  std::string data;
  std::string org;
  bool yes = false;
};

struct KeysRotateArgs {
  std::string data;
};

// What each command runs: the command line (cli/command_line.h) only parses,
// and calls these through the table it is given.
struct Runners {
  int (*demo)(const DemoArgs&) = nullptr;
  int (*status)(const InspectArgs&) = nullptr;
  int (*verify)(const InspectArgs&) = nullptr;
  int (*setup)(const SetupArgs&) = nullptr;
  int (*export_)(const ExportArgs&) = nullptr;
  int (*import)(const ImportArgs&) = nullptr;
  int (*rebuild)(const RebuildArgs&) = nullptr;
  int (*replay)(const ReplayArgs&) = nullptr;
  int (*org_forget)(const OrgForgetArgs&) = nullptr;
  int (*keys_rotate)(const KeysRotateArgs&) = nullptr;
};
// The run_* functions below.
const Runners& runners();

int run_demo(const DemoArgs& args);
int run_status(const InspectArgs& args);
int run_verify(const InspectArgs& args);
int run_setup(const SetupArgs& args);
int run_export(const ExportArgs& args);
int run_import(const ImportArgs& args);
int run_rebuild(const RebuildArgs& args);
int run_replay(const ReplayArgs& args);
int run_org_forget(const OrgForgetArgs& args);
int run_keys_rotate(const KeysRotateArgs& args);

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
