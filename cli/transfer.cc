// annals export and annals import: a journal as JSON lines (journal/export.h).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "journal/export.h"
#include "journal/journal.h"
#include "projections/import_dry_run.h"
#include "repositories/reservation_rules.h"

namespace annals::cli {
namespace {

constexpr const char* kExportHelp =
    "Usage: annals export [--data DIR] [--output FILE|-]\n"
    "\n"
    "Writes the journal as JSON lines (default: to stdout): a header, each org's\n"
    "stored data key entry, every event in position order with its payload as\n"
    "JSON, and the current uniqueness reservations. Secrets stay sealed. Reads\n"
    "only, from one snapshot; safe beside a running annals. A FILE is written\n"
    "as FILE.partial and renamed when complete.\n";

constexpr const char* kImportHelp =
    "Usage: annals import [--data DIR] --input FILE|-\n"
    "\n"
    "Reads an export into the journal DIR/journal (created when missing). The\n"
    "journal must be empty or hold exactly a prefix of the exported events.\n"
    "Every line is checked before anything is written, and every event is\n"
    "applied to the read tables in a private scratch database, so that one no\n"
    "table can hold is refused now rather than at the next start; a bad line is\n"
    "named by its number and position, and nothing is imported. The export's\n"
    "reservations must be exactly those its events imply. Events are then written one "
    "command\n"
    "per atomic batch and synced at the end; should that stop part way, run the\n"
    "same import again to finish. Stream versions and idempotency entries are\n"
    "rebuilt from the events; the read database is built by the next start.\n";

std::string journal_dir(const Args& args) {
  return args.get_or("--data", default_data_dir()) + "/journal";
}

}  // namespace

int run_export(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {{"--data", "--output"}, {"--help"}});
  if (!args.is_ok()) return usage_error("export", args.status().message());
  if (args->flag("--help")) {
    std::fputs(kExportHelp, stdout);
    return 0;
  }
  const std::string dir = journal_dir(*args);
  if (!std::filesystem::exists(dir + "/CURRENT")) {
    return failure("export", "no Annals data in " + args->get_or("--data", default_data_dir()));
  }
  journal::Options options;
  options.read_only = true;
  options.create_if_missing = false;
  auto journal = journal::Journal::open_rocksdb(dir, options);
  if (!journal.is_ok()) return failure("export", journal.status().to_string());

  const std::string output = args->get_or("--output", "-");
  Result<journal::ExportReport> report = Status::internal("not exported");
  if (output == "-") {
    std::ios::sync_with_stdio(false);
    report = journal::export_journal(**journal, std::cout);
  } else {
    const std::string partial = output + ".partial";
    {
      std::ofstream out(partial, std::ios::binary | std::ios::trunc);
      if (!out) return failure("export", "cannot write " + partial);
      report = journal::export_journal(**journal, out);
      out.close();
      if (report.is_ok() && !out) report = Status::unavailable("cannot finish writing " + partial);
    }
    std::error_code ec;
    if (report.is_ok()) {
      std::filesystem::rename(partial, output, ec);
      if (ec) report = Status::unavailable("cannot rename " + partial + ": " + ec.message());
    }
    if (!report.is_ok()) std::filesystem::remove(partial, ec);
  }
  if (!report.is_ok()) return failure("export", report.status().to_string());
  std::fprintf(stderr,
               "annals export: %llu events (head %llu), %llu org keys, %llu reservations -> %s\n",
               static_cast<unsigned long long>(report->events),
               static_cast<unsigned long long>(report->head),
               static_cast<unsigned long long>(report->org_keys),
               static_cast<unsigned long long>(report->reservations),
               output == "-" ? "stdout" : output.c_str());
  return 0;
}

int run_import(const std::vector<std::string>& argv) {
  auto args = Args::parse(argv, {{"--data", "--input"}, {"--help"}});
  if (!args.is_ok()) return usage_error("import", args.status().message());
  if (args->flag("--help")) {
    std::fputs(kImportHelp, stdout);
    return 0;
  }
  auto input = args->get("--input");
  if (!input) return usage_error("import", "--input FILE (or - for stdin) is required");

  std::ifstream file;
  std::istream* in = &std::cin;
  if (*input == "-") {
    std::ios::sync_with_stdio(false);
  } else {
    file.open(*input, std::ios::binary);
    if (!file) return failure("import", "cannot read " + *input);
    in = &file;
  }

  // Synced once at the end rather than once per command: an import cut short
  // is finished by running it again.
  journal::Options options;
  options.durability = journal::Durability::kNone;
  auto journal = journal::Journal::open_rocksdb(journal_dir(*args), options);
  if (!journal.is_ok()) return failure("import", journal.status().to_string());
  auto dry_run = projections::ImportDryRun::open();
  if (!dry_run.is_ok()) return failure("import", dry_run.status().to_string());
  repositories::ImportReservationCheck reservations;
  journal::ImportOptions import_options;
  import_options.checks = {dry_run->get(), &reservations};
  auto report = journal::import_journal(**journal, *in, import_options);
  Status synced = (*journal)->sync();
  if (!report.is_ok()) return failure("import", report.status().to_string());
  if (!synced.is_ok()) return failure("import", synced.to_string());
  std::fprintf(stderr,
               "annals import: %llu events in %llu commands (%llu already present), %llu org "
               "keys, %llu reservations; journal head %llu\n",
               static_cast<unsigned long long>(report->events),
               static_cast<unsigned long long>(report->commands),
               static_cast<unsigned long long>(report->already_present),
               static_cast<unsigned long long>(report->org_keys),
               static_cast<unsigned long long>(report->reservations),
               static_cast<unsigned long long>(report->head));
  return 0;
}

}  // namespace annals::cli
