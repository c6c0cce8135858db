// annals org: what can be done to one org as a whole. For now, forgetting it.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/validate.h"
#include "journal/journal.h"

namespace annals::cli {
namespace {

constexpr const char* kHelp =
    "Usage: annals org forget ORG [--data DIR] [--yes]\n"
    "\n"
    "Forgets ORG by crypto-shredding it: destroys its data key, so every secret\n"
    "it ever stored (API keys, client secrets, header values, OAuth tokens) can\n"
    "never be read again. Its events stay in the journal and its other data still\n"
    "reads; calls that return one of its secrets fail with \"secret erased\", and\n"
    "no new secret can be stored for it. IRREVERSIBLE.\n"
    "\n"
    "The key is removed from the journal's files on disk (backups and copies of\n"
    "the data folder keep theirs). Needs no master key. Asks for ORG to be typed\n"
    "again on a terminal; elsewhere --yes is required. Forgetting twice is harmless.\n"
    "The data folder must not be in use by a running annals.\n";

// Asks on the terminal; true when the user typed the org id back.
bool confirmed_on_terminal(const std::string& org) {
  std::printf(
      "This destroys org '%s''s data key: its secrets can never be read again.\n"
      "Type the org id to confirm: ",
      org.c_str());
  std::fflush(stdout);
  std::string typed;
  if (!std::getline(std::cin, typed)) return false;
  return typed == org;
}

int forget(const std::vector<std::string>& argv) {
  // ORG is the one argument that is not an option or an option's value.
  std::vector<std::string> named;
  std::vector<std::string> positional;
  for (size_t i = 0; i < argv.size(); ++i) {
    if (argv[i].rfind("--", 0) == 0) {
      named.push_back(argv[i]);
      if (argv[i] == "--data" && i + 1 < argv.size()) named.push_back(argv[++i]);
    } else {
      positional.push_back(argv[i]);
    }
  }
  auto args = Args::parse(named, {{"--data"}, {"--yes", "--help"}});
  if (!args.is_ok()) return usage_error("org forget", args.status().message());
  if (args->flag("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  if (positional.size() != 1) {
    return usage_error("org forget", "name exactly one ORG to forget");
  }
  const std::string& org = positional.front();
  if (Status valid = validate_org_id(org); !valid.is_ok()) {
    return usage_error("org forget", valid.message());
  }
  std::string dir = args->get_or("--data", default_data_dir());
  std::string journal_dir = dir + "/journal";
  if (!std::filesystem::exists(journal_dir + "/CURRENT")) {
    return failure("org forget", "no Annals data in " + dir);
  }
  if (!args->flag("--yes")) {
    if (!::isatty(STDIN_FILENO)) {
      return usage_error("org forget",
                         "forgetting an org is irreversible: pass --yes to confirm (stdin is not "
                         "a terminal)");
    }
    if (!confirmed_on_terminal(org)) return failure("org forget", "not confirmed; nothing done");
  }

  journal::Options options;
  options.create_if_missing = false;
  auto opened = journal::Journal::open_rocksdb(journal_dir, options);
  if (!opened.is_ok()) return failure("org forget", opened.status().to_string());
  journal::Journal& journal = **opened;
  auto key = journal.data_key(org);
  if (!key.is_ok()) return failure("org forget", key.status().to_string());
  auto before = journal.data_key_forgotten_at(org);
  if (!before.is_ok()) return failure("org forget", before.status().to_string());

  SystemClock clock;
  Status forgotten = journal.forget_data_key(org, to_micros(clock.now()));
  if (!forgotten.is_ok()) return failure("org forget", forgotten.to_string());
  auto at = journal.data_key_forgotten_at(org);
  if (!at.is_ok() || !at->has_value()) {
    return failure("org forget", "the tombstone of org '" + org + "' cannot be read back");
  }
  std::string when = format_timestamp(from_micros(**at));
  if (before->has_value()) {
    std::printf("ok: org '%s' was already forgotten at %s; obsolete files purged again\n",
                org.c_str(), when.c_str());
  } else if (key->has_value()) {
    std::printf(
        "ok: org '%s' forgotten at %s: its data key is destroyed and purged from %s;\n"
        "    its events stay in the journal, its secrets can never be read again\n",
        org.c_str(), when.c_str(), journal_dir.c_str());
  } else {
    std::printf(
        "ok: org '%s' had no data key (it never stored a secret); recorded as forgotten at %s,\n"
        "    so none is ever created for it\n",
        org.c_str(), when.c_str());
  }
  return 0;
}

}  // namespace

int run_org(const std::vector<std::string>& argv) {
  if (argv.empty()) return usage_error("org", "name a subcommand: forget");
  if (argv.front() == "--help" || argv.front() == "-h") {
    std::fputs(kHelp, stdout);
    return 0;
  }
  if (argv.front() == "forget") return forget({argv.begin() + 1, argv.end()});
  return usage_error("org", "unknown subcommand '" + argv.front() + "'");
}

}  // namespace annals::cli
