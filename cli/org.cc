// annals org: what can be done to one org as a whole. For now, forgetting it.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "core/validate.h"
#include "journal/journal.h"

namespace annals::cli {
namespace {

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

}  // namespace

int run_org_forget(const OrgForgetArgs& args) {
  const std::string& org = args.org;
  if (Status valid = validate_org_id(org); !valid.is_ok()) {
    return usage_error("org forget", valid.message());
  }
  const std::string& dir = args.data;
  std::string journal_dir = dir + "/journal";
  if (!std::filesystem::exists(journal_dir + "/CURRENT")) {
    return failure("org forget", "no Annals data in " + dir);
  }
  if (!args.yes) {
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

}  // namespace annals::cli
