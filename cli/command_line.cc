#include "cli/command_line.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <set>

#include "cli/commands.h"
#include "journal/export.h"
#include "journal/journal.h"

namespace annals::cli {
namespace {

constexpr const char* kVersion = "annals 0.1.0";

constexpr const char* kDescription =
    "annals - an event-sourced storage engine.\n"
    "Every command takes --help. Most take --data DIR (default: $ANNALS_DATA, else\n"
    "./annals-data) and --database URL (default: $ANNALS_DATABASE_URL, else the SQLite\n"
    "file DIR/read.sqlite; postgres://... for PostgreSQL).";

constexpr const char* kDemoFooter =
    "Runs a realistic workload on the embedded default (a RocksDB journal and a\n"
    "SQLite read database in DIR): N commands (default 3000) from one thread per\n"
    "org - settings written and deleted, API tokens created, renamed, deactivated,\n"
    "creates retried - then prints the events appended, the journal head, the\n"
    "projection checkpoint, throughput and latency, and a few query results.\n"
    "Running it again on the same folder adds to what is there. DIR must be new,\n"
    "empty, or an Annals data folder; the demo keeps its master key in\n"
    "DIR/demo-master.key unless $ANNALS_MASTER_KEY (64 hex digits) gives one.\n"
    "\n"
    "With --database postgres://... the read tables live in PostgreSQL under\n"
    "row-level security. Given a superuser URL, the demo first runs `annals setup`\n"
    "through it: it creates or corrects the roles and schemas, applies migrations\n"
    "and, with ANNALS_RUNTIME_PASSWORD set, sets the runtime roles' password\n"
    "(which a running app may be using). All reads and writes then go through\n"
    "the annals_query and annals_projector roles.";

constexpr const char* kStatusFooter =
    "Shows the journal head, the read database, and each projection's checkpoint\n"
    "and lag: events journalled but not yet applied, and how many seconds the\n"
    "oldest of them has waited. Reads only; safe beside a running annals.\n"
    "On PostgreSQL it changes nothing (every transaction READ ONLY; a superuser URL\n"
    "reads as annals_query) and never sets up: run `annals setup` for that.";

constexpr const char* kVerifyFooter =
    "Walks the whole journal and checks that positions run 1..head without a gap,\n"
    "that every record's checksum holds, and that every event decodes in full.\n"
    "Recomputes the org index, stream versions, idempotency entries and uniqueness\n"
    "reservations (by the repositories' rules) from the events and compares them;\n"
    "checks that every org whose events hold sealed secrets has its data key (or\n"
    "was forgotten); runs SQLite's integrity check on the read database; and checks\n"
    "that no projection is stopped or past the head. Reads only.\n"
    "Exits 0 when all is well; otherwise prints the first bad position and exits 1.\n"
    "On PostgreSQL it changes nothing (every transaction READ ONLY; a superuser URL\n"
    "reads as annals_query) and never sets up: run `annals setup` for that.";

constexpr const char* kSetupFooter =
    "Prepares a PostgreSQL database for Annals, given a superuser URL. Idempotent.\n"
    "  - roles: annals_owner (owns the tables, runs migrations, no login),\n"
    "    annals_query and annals_projector (login; not superusers, no BYPASSRLS,\n"
    "    own nothing: row-level security always applies to them);\n"
    "  - schemas annals (org data, every table under forced row-level security)\n"
    "    and annals_meta (checkpoints, migration record);\n"
    "  - every migration not yet applied.\n"
    "Roles that already exist are brought to these attributes.\n"
    "Set ANNALS_RUNTIME_PASSWORD to give the runtime roles a password (sent as a\n"
    "SCRAM-SHA-256 verifier computed here; the password itself is never sent).\n"
    "Only setup (and annals demo, given a superuser URL) changes roles and\n"
    "schemas: the app, status and verify never do.\n"
    "Then serve with ANNALS_DATABASE_URL=postgres://annals_query[:PASSWORD]@HOST/DB.";

constexpr const char* kExportFooter =
    "Writes the journal as JSON lines (default: to stdout): a header, the orgs'\n"
    "wrapped data keys when --with-keys is given (and forgotten orgs' tombstones),\n"
    "every event in position order with its payload as JSON, and the current\n"
    "uniqueness reservations. Secrets stay sealed. A backup needs --with-keys: a\n"
    "restore without the keys cannot open any secret, and import refuses it. An\n"
    "export with keys still holds the key of an org forgotten after it was taken.\n"
    "Reads only, from one snapshot; safe beside a running annals. A FILE is written\n"
    "with mode 0600 as FILE.partial, synced, and renamed over FILE when complete;\n"
    "FILE must be a regular file or not exist yet.";

constexpr const char* kRebuildFooter =
    "Builds a fresh read schema from every migration, replays the whole journal\n"
    "into it, then swaps it in atomically; the old schema serves reads until the\n"
    "swap. SQLite: DIR/read.sqlite.rebuild, renamed over read.sqlite. PostgreSQL\n"
    "(a superuser URL): schemas annals_rebuild and annals_rebuild_meta, renamed into\n"
    "place in one transaction. Events appended meanwhile are applied before the swap.\n"
    "An interrupted rebuild (Ctrl-C, a crash) leaves the live schema untouched; run\n"
    "it again to resume where it stopped, or --discard it.";

constexpr const char* kReplayFooter =
    "Re-runs one projection: empties its tables and applies the journal to it again,\n"
    "in one transaction (readers see the old rows until the new ones replace them).\n"
    "--from skips the events before POSITION: only right when they cannot affect\n"
    "this projection (for example, it did not exist yet). Default: 1, all of them.";

constexpr const char* kOrgForgetFooter =
    "Forgets ORG by crypto-shredding it: destroys its data key, so every secret\n"
    "it ever stored (API keys, client secrets, header values, OAuth tokens) can\n"
    "never be read again. Its events stay in the journal and its other data still\n"
    "reads; calls that return one of its secrets fail with \"secret erased\", and\n"
    "no new secret can be stored for it. IRREVERSIBLE.\n"
    "\n"
    "The key is removed from the journal's files on disk (backups and copies of\n"
    "the data folder keep theirs). Needs no master key. Asks for ORG to be typed\n"
    "again on a terminal; elsewhere --yes is required. Forgetting twice is harmless.\n"
    "The data folder must not be in use by a running annals.";

constexpr const char* kKeysRotateFooter =
    "Re-wraps every org's data key under a new master key, in one atomic, synced\n"
    "write, and purges the old wrapped keys from the journal's files; a crash\n"
    "leaves either every key under the old master key or every key under the new.\n"
    "The current key comes from ANNALS_MASTER_KEY and the new one from\n"
    "ANNALS_NEW_MASTER_KEY (64 hex digits each). If the current key does not open\n"
    "every org's key, nothing is changed. Afterwards only the new key opens the\n"
    "orgs' secrets: start the app with it. The data folder must not be in use by a\n"
    "running annals. Backups and exports taken before keep keys wrapped by the old one.";

// 1 GiB: an export read from a pipe is held in memory to be read twice.
constexpr int64_t kDefaultMaxStdinBytes = int64_t{1} << 30;

std::string import_footer() {
  return "Reads an export into the journal DIR/journal. The journal must be empty or\n"
         "hold exactly a prefix of the exported events; a journal that does not exist\n"
         "yet is created only when the import succeeds. Every line is checked before\n"
         "anything is written, and every event is applied to the read tables in a\n"
         "private scratch database, so that one no table can hold is refused now\n"
         "rather than at the next start; a bad line is named by its number and\n"
         "position, and nothing is imported. The export's reservations must be\n"
         "exactly those its events imply. Events are then written one command per\n"
         "atomic batch and synced at the end; should that stop part way, run the\n"
         "same import again to finish. Stream versions and idempotency entries are\n"
         "rebuilt from the events; the read database is built by the next start.\n"
         "\n"
         "Limits, each checked before the memory for it is taken:\n"
         "  a line            " +
         std::to_string(journal::kMaxExportLineBytes) +
         " bytes\n"
         "  an event          " +
         std::to_string(events::kMaxEventBytes) +
         " bytes (encoded)\n"
         "  a command         " +
         std::to_string(journal::kMaxCommandEvents) + " events, " +
         std::to_string(journal::kMaxCommandBytes) +
         " bytes\n"
         "  standard input    --max-stdin-bytes (default " +
         std::to_string(kDefaultMaxStdinBytes) +
         "); a FILE has no limit\n"
         "                    (it is read twice, not held)";
}

// Values an option takes: never empty, and never what looks like another
// option (so "--data --yes" does not name a folder "--yes"). "-" alone is a
// value: standard input or output.
CLI::Validator option_value() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        if (value.empty()) return "must not be empty";
        if (value.size() > 1 && value[0] == '-') {
          return "'" + value + "' looks like an option, not a value (a file of that name is ./" +
                 value + ")";
        }
        return "";
      },
      "", "value");
}

// Binds an option taking one value; given twice is an error.
CLI::Option* value_option(CLI::App* app, const std::string& name, std::string& into,
                          const std::string& type, const std::string& help) {
  return app->add_option(name, into, help)
      ->type_name(type)
      ->check(option_value())
      ->multi_option_policy(CLI::MultiOptionPolicy::Throw);
}

CLI::Option* number_option(CLI::App* app, const std::string& name, int64_t& into, int64_t min,
                           int64_t max, const std::string& help) {
  return app->add_option(name, into, help)
      ->type_name("N")
      ->check(option_value())
      ->check(CLI::Range(min, max))
      ->multi_option_policy(CLI::MultiOptionPolicy::Throw);
}

CLI::Option* flag(CLI::App* app, const std::string& name, bool& into, const std::string& help) {
  return app->add_flag(name, into, help)
      ->disable_flag_override()
      ->multi_option_policy(CLI::MultiOptionPolicy::Throw);
}

void data_option(CLI::App* app, std::string& into) {
  into = default_data_dir();
  value_option(app, "--data", into, "DIR",
               "the data folder (default: $ANNALS_DATA, else ./annals-data)");
}

void database_option(CLI::App* app, std::string& into) {
  into = default_database_url();
  value_option(app, "--database", into, "URL",
               "the read database: sqlite:PATH or postgres://... (default: "
               "$ANNALS_DATABASE_URL, else sqlite:DIR/read.sqlite)")
      ->check(CLI::Validator(
          [](std::string& url) -> std::string {
            bool sqlite = url.rfind("sqlite:", 0) == 0 && url.size() > 7;
            bool postgres = url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0;
            if (sqlite || postgres) return "";
            return "expected sqlite:PATH or postgres://..., not a URL of another kind";
          },
          "", "URL"));
}

// The commands, their options bound to the argument sets the commands run with.
struct Commands {
  std::vector<std::pair<CLI::App*, std::function<int()>>> runs;

  template <typename Args>
  Args& add(CLI::App* app, int (*run)(const Args&)) {
    auto args = std::make_shared<Args>();
    runs.emplace_back(app, [args, run] { return run != nullptr ? run(*args) : 70; });
    return *args;
  }
};

CLI::App* command(CLI::App& parent, const std::string& name, const std::string& description,
                  const std::string& footer) {
  CLI::App* app = parent.add_subcommand(name, description);
  app->footer(footer);
  return app;
}

// A command whose work is done by exactly one of its subcommands ("org forget").
CLI::App& command_group(CLI::App& root, const std::string& name, const std::string& description) {
  CLI::App* group = root.add_subcommand(name, description);
  group->require_subcommand(1);
  return *group;
}

void define(CLI::App& root, Commands& commands, const Runners& run) {
  {
    CLI::App* app =
        command(root, "demo", "run a realistic workload on a data folder and show what happened",
                kDemoFooter);
    DemoArgs& args = commands.add(app, run.demo);
    data_option(app, args.data);
    database_option(app, args.database);
    number_option(app, "--commands", args.commands, 1, 10'000'000,
                  "commands to run (default 3000)");
    number_option(app, "--orgs", args.orgs, 1, 8, "orgs, one thread each (default 4)");
    number_option(app, "--users", args.users, 1, 1000, "users per org (default 5)");
    number_option(app, "--seed", args.seed, 0, 1'000'000'000, "the workload's seed (default 42)");
    value_option(app, "--durability", args.durability, "sync|batch|none",
                 "when an append is synced (default sync)")
        ->check(CLI::IsMember({"sync", "batch", "none"}));
  }
  for (auto [name, description, footer, runner] :
       {std::tuple{"status", "show the journal head and each projection's checkpoint and lag",
                   kStatusFooter, run.status},
        std::tuple{"verify",
                   "walk the whole journal: contiguous positions, checksums, every event decodes",
                   kVerifyFooter, run.verify}}) {
    CLI::App* app = command(root, name, description, footer);
    InspectArgs& args = commands.add(app, runner);
    data_option(app, args.data);
    database_option(app, args.database);
  }
  {
    CLI::App* app = command(
        root, "setup",
        "prepare a PostgreSQL read database: roles, schemas, row-level security, migrations",
        kSetupFooter);
    SetupArgs& args = commands.add(app, run.setup);
    database_option(app, args.database);
  }
  {
    CLI::App* app =
        command(root, "export", "write the journal as JSON lines: events, data keys, reservations",
                kExportFooter);
    ExportArgs& args = commands.add(app, run.export_);
    data_option(app, args.data);
    value_option(app, "--output", args.output, "FILE|-", "where to write (default -: stdout)");
    flag(app, "--with-keys", args.with_keys,
         "also write each org's wrapped data key (what a backup needs to open its secrets)");
  }
  {
    CLI::App* app = command(root, "import",
                            "read an export into an empty journal (or one holding a prefix of it)",
                            import_footer());
    ImportArgs& args = commands.add(app, run.import);
    data_option(app, args.data);
    value_option(app, "--input", args.input, "FILE|-", "the export to read (-: stdin)")->required();
    args.max_bytes = kDefaultMaxStdinBytes;
    number_option(app, "--max-stdin-bytes", args.max_bytes, 1, int64_t{1} << 40,
                  "the most read from stdin (default 1 GiB)");
  }
  {
    CLI::App* app = command(
        root, "rebuild", "rebuild the read schema from the journal and swap it in", kRebuildFooter);
    RebuildArgs& args = commands.add(app, run.rebuild);
    data_option(app, args.data);
    database_option(app, args.database);
    auto* dry_run = flag(app, "--dry-run", args.dry_run, "say what would be done; change nothing");
    auto* check = flag(app, "--check", args.check,
                       "prove determinism: build a second schema up to the live one's checkpoint "
                       "and compare every table row by row (exit 1 on any difference); the live "
                       "schema is not touched");
    auto* discard = flag(app, "--discard", args.discard, "drop a partial rebuild");
    dry_run->excludes(check)->excludes(discard);
    check->excludes(discard);
    number_option(app, "--batch", args.batch, 1, 100'000, "events per transaction (default 2000)");
  }
  {
    CLI::App* app =
        command(root, "replay", "re-run one projection from the journal",
                std::string(kReplayFooter) +
                    "\nProjections: settings, tokens, model, "
                    "toolsets, mcp, mcp_auth,\nuser_access_requests, app_access_requests, "
                    "app_instances, user_aliases.");
    ReplayArgs& args = commands.add(app, run.replay);
    data_option(app, args.data);
    database_option(app, args.database);
    value_option(app, "--projection", args.projection, "NAME", "the projection to replay")
        ->required();
    number_option(app, "--from", args.from, 1, INT64_MAX, "the first position applied (default 1)");
  }
  {
    CLI::App& org = command_group(root, "org", "what can be done to one org as a whole");
    CLI::App* app =
        command(org, "forget", "crypto-shred an org: destroy its data key (irreversible)",
                kOrgForgetFooter);
    OrgForgetArgs& args = commands.add(app, run.org_forget);
    app->add_option("ORG", args.org, "the org to forget")->required()->check(option_value());
    data_option(app, args.data);
    flag(app, "--yes", args.yes, "confirm without asking (required when stdin is not a terminal)");
  }
  {
    CLI::App& keys = command_group(root, "keys", "the master key that wraps every org's data key");
    CLI::App* app =
        command(keys, "rotate", "re-wrap every org's data key under a new master key, atomically",
                kKeysRotateFooter);
    KeysRotateArgs& args = commands.add(app, run.keys_rotate);
    data_option(app, args.data);
  }
}

// "demo", "org forget": the command a parse error belongs to.
std::string command_path(CLI::App& root) {
  std::string path;
  CLI::App* app = &root;
  for (;;) {
    auto selected = app->get_subcommands();
    if (selected.empty()) break;
    app = selected.front();
    path += (path.empty() ? "" : " ") + app->get_name();
  }
  return path;
}

// CLI11's wording for the mistakes it finds, in the words of the rest of annals.
std::string plain(const std::string& message) {
  const std::string twice = ": At Most 1 required but received ";
  if (auto at = message.find(twice); at != std::string::npos) {
    return message.substr(0, at) + ": given more than once";
  }
  const std::string override = " was given a disallowed flag override";
  if (auto at = message.find(override); at != std::string::npos) {
    return "--" + message.substr(0, at) + " takes no value";
  }
  return message;
}

// What a user typed, shown back safely: control characters (a newline, an
// escape sequence for the terminal) as \xNN.
std::string printable(const std::string& text) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string usage_message(const std::string& command, const std::string& message) {
  if (command.empty()) return "annals: " + printable(message) + " (see annals --help)\n";
  return "annals " + command + ": " + printable(message) + " (see annals " + command + " --help)\n";
}

CommandLine parse(const std::vector<std::string>& args, const Runners& runners) {
  CLI::App root(kDescription, "annals");
  root.set_version_flag("--version", kVersion);
  Commands commands;
  define(root, commands, runners);

  if (args.empty()) return {{}, 2, "", root.help()};
  if (args.front() == "help") return {{}, 0, root.help(), ""};
  // A word where a command belongs that names none: say so plainly.
  CLI::App* parent = &root;
  std::string path;
  for (const std::string& word : args) {
    if (!word.empty() && word[0] == '-') break;
    CLI::App* found = nullptr;
    for (CLI::App* sub : parent->get_subcommands({})) {
      if (sub->get_name() == word) found = sub;
    }
    if (found == nullptr) {
      return {{}, 2, "", usage_message(path, "unknown command '" + word + "'")};
    }
    path += (path.empty() ? "" : " ") + word;
    parent = found;
    if (parent->get_subcommands({}).empty()) break;  // the rest are its arguments
  }
  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    root.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    return {{}, 0, root.help(), ""};
  } catch (const CLI::CallForAllHelp&) {
    return {{}, 0, root.help("", CLI::AppFormatMode::All), ""};
  } catch (const CLI::CallForVersion&) {
    return {{}, 0, std::string(kVersion) + "\n", ""};
  } catch (const CLI::ParseError& e) {
    return {{}, 2, "", usage_message(command_path(root), plain(e.what()))};
  }
  for (auto& [app, run] : commands.runs) {
    if (app->parsed()) return {run, 0, "", ""};
  }
  return {{}, 2, "", usage_message(command_path(root), "name a command")};
}

}  // namespace

CommandLine parse_command_line(const std::vector<std::string>& args, const Runners& runners) {
  try {
    return parse(args, runners);
  } catch (const std::exception& e) {
    return {{}, 2, "", usage_message("", std::string("cannot read the command line: ") + e.what())};
  }
}

std::string default_database_url() {
  const char* env = std::getenv("ANNALS_DATABASE_URL");
  return env ? env : "";
}

std::string default_data_dir() {
  const char* env = std::getenv("ANNALS_DATA");
  return env && *env ? env : "./annals-data";
}

}  // namespace annals::cli
