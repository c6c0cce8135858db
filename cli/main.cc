// annals: the command-line face of Annals.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cli/commands.h"

namespace {

constexpr const char* kHelp =
    "annals - an event-sourced storage engine\n"
    "\n"
    "Usage: annals <command> [options]\n"
    "\n"
    "Commands:\n"
    "  demo     run a realistic workload on a data folder and show what happened\n"
    "  status   show the journal head and each projection's checkpoint and lag\n"
    "  verify   walk the whole journal: contiguous positions, checksums, every event decodes\n"
    "  setup    prepare a PostgreSQL read database: roles, schemas, row-level security, "
    "migrations\n"
    "  export   write the journal as JSON lines: events, data keys, reservations\n"
    "  import   read an export into an empty journal (or one holding a prefix of it)\n"
    "  rebuild  rebuild the read schema from the journal and swap it in (--check: prove it\n"
    "           deterministic; --dry-run: say what it would do)\n"
    "  replay   re-run one projection (--projection NAME [--from POSITION])\n"
    "  org      org forget ORG: crypto-shred an org (destroy its data key; irreversible)\n"
    "\n"
    "Every command takes --help. Most take --data DIR (default: $ANNALS_DATA, else\n"
    "./annals-data) and --database URL (default: $ANNALS_DATABASE_URL, else the SQLite\n"
    "file DIR/read.sqlite; postgres://... for PostgreSQL).\n";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::fputs(kHelp, stderr);
    return 2;
  }
  std::string command = args.front();
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(kHelp, stdout);
    return 0;
  }
  if (command == "--version") {
    std::puts("annals 0.1.0");
    return 0;
  }
  if (command == "demo") return annals::cli::run_demo(rest);
  if (command == "status") return annals::cli::run_status(rest);
  if (command == "verify") return annals::cli::run_verify(rest);
  if (command == "setup") return annals::cli::run_setup(rest);
  if (command == "export") return annals::cli::run_export(rest);
  if (command == "import") return annals::cli::run_import(rest);
  if (command == "rebuild") return annals::cli::run_rebuild(rest);
  if (command == "replay") return annals::cli::run_replay(rest);
  if (command == "org") return annals::cli::run_org(rest);
  return annals::cli::usage_error("annals",
                                  "unknown command '" + command + "' (see annals --help)");
}
