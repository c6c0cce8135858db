// annals export and annals import: a journal as JSON lines (journal/export.h).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <streambuf>

#include "cli/commands.h"
#include "cli/data_folder.h"
#include "journal/export.h"
#include "journal/journal.h"
#include "projections/import_dry_run.h"
#include "repositories/reservation_rules.h"

namespace annals::cli {
namespace {

namespace fs = std::filesystem;

// A stream buffer over a file descriptor that remembers the first write
// error (errno), so that "no space left on device" is what gets reported.
class FdWriter : public std::streambuf {
 public:
  explicit FdWriter(int fd) : fd_(fd), buffer_(1 << 20) {
    setp(buffer_.data(), buffer_.data() + buffer_.size());
  }
  int error() const { return error_; }

 protected:
  int_type overflow(int_type c) override {
    if (!drain()) return traits_type::eof();
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(c);
      pbump(1);
    }
    return traits_type::not_eof(c);
  }
  int sync() override { return drain() ? 0 : -1; }

 private:
  bool drain() {
    const char* p = pbase();
    while (error_ == 0 && p < pptr()) {
      ssize_t n = ::write(fd_, p, static_cast<size_t>(pptr() - p));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        error_ = n < 0 ? errno : EIO;
        break;
      }
      p += n;
    }
    setp(buffer_.data(), buffer_.data() + buffer_.size());
    return error_ == 0;
  }

  int fd_;
  std::vector<char> buffer_;
  int error_ = 0;
};

Status errno_status(const std::string& what, int error) {
  return Status::unavailable(what + ": " + std::strerror(error));
}

// FILE may be written only when it is a regular file or does not exist,
// in a folder that does.
Status check_output(const std::string& output) {
  std::error_code ec;
  fs::file_status st = fs::symlink_status(output, ec);
  if (fs::exists(st)) {
    if (fs::is_symlink(st))
      return Status::invalid_argument("output",
                                      output + " is a symbolic link; name the file itself");
    if (!fs::is_regular_file(st)) {
      return Status::invalid_argument(
          "output", output + " is not a regular file (" +
                        (fs::is_directory(st) ? std::string("a folder")
                                              : std::string("a device, pipe or socket")) +
                        "); --output writes regular files only, or - for stdout");
    }
  }
  fs::path parent = fs::path(output).parent_path();
  if (!parent.empty() && !fs::is_directory(parent, ec)) {
    return Status::invalid_argument("output", "the folder of " + output + " does not exist");
  }
  return Status::ok();
}

// Exports into FILE.partial (mode 0600), syncs it, renames it over FILE and
// syncs the folder. Any failure removes FILE.partial and leaves FILE as it was.
Result<journal::ExportReport> export_to_file(journal::Journal& journal, const std::string& output,
                                             journal::ExportOptions options) {
  ANNALS_RETURN_IF_ERROR(check_output(output));
  const std::string partial = output + ".partial";
  {
    std::error_code ec;
    fs::file_status st = fs::symlink_status(partial, ec);
    if (fs::exists(st) && !fs::is_regular_file(st)) {
      return Status::invalid_argument("output", partial + " exists and is not a regular file");
    }
  }
  int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return errno_status("cannot create " + partial, errno);
  Result<journal::ExportReport> report = Status::internal("not exported");
  int error = 0;
  if (::fchmod(fd, 0600) != 0) error = errno;
  if (error == 0) {
    FdWriter writer(fd);
    std::ostream out(&writer);
    report = journal::export_journal(journal, out, options);
    out.flush();
    error = writer.error();
  }
  if (error == 0 && ::fsync(fd) != 0) error = errno;
  if (::close(fd) != 0 && error == 0) error = errno;
  if (error != 0) report = errno_status("cannot write " + partial, error);
  if (report.is_ok() && std::rename(partial.c_str(), output.c_str()) != 0) {
    report = errno_status("cannot rename " + partial + " to " + output, errno);
  }
  if (!report.is_ok()) {
    ::unlink(partial.c_str());
    return report;
  }
  std::string folder = fs::path(output).parent_path().string();
  int dfd = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    int synced = ::fsync(dfd);
    int sync_error = errno;
    ::close(dfd);
    if (synced != 0) return errno_status("cannot sync the folder of " + output, sync_error);
  }
  return report;
}

// Reads at most `max_bytes` of a stream that cannot be read twice (a pipe)
// into memory.
Result<std::string> read_bounded(std::istream& in, int64_t max_bytes, const std::string& name) {
  std::string all;
  std::vector<char> chunk(1 << 16);
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    all.append(chunk.data(), static_cast<size_t>(in.gcount()));
    if (static_cast<int64_t>(all.size()) > max_bytes) {
      return Status::invalid_argument(
          "input",
          name + " holds more than --max-stdin-bytes " + std::to_string(max_bytes) +
              " bytes: write the export to a file and pass --input FILE, or raise the limit");
    }
  }
  if (in.bad()) return Status::unavailable("cannot read " + name);
  return all;
}

}  // namespace

int run_export(const ExportArgs& args) {
  const std::string dir = args.data + "/journal";
  if (!fs::exists(dir + "/CURRENT")) return failure("export", "no Annals data in " + args.data);
  journal::Options options;
  options.read_only = true;
  options.create_if_missing = false;
  auto journal = journal::Journal::open_rocksdb(dir, options);
  if (!journal.is_ok()) return failure("export", journal.status().to_string());

  journal::ExportOptions export_options;
  export_options.with_keys = args.with_keys;
  Result<journal::ExportReport> report = Status::internal("not exported");
  if (args.output == "-") {
    std::ios::sync_with_stdio(false);
    report = journal::export_journal(**journal, std::cout, export_options);
    std::cout.flush();
    if (report.is_ok() && !std::cout) report = Status::unavailable("cannot write to stdout");
  } else {
    report = export_to_file(**journal, args.output, export_options);
  }
  if (!report.is_ok()) return failure("export", report.status().to_string());
  std::fprintf(stderr,
               "annals export: %llu events (head %llu), %llu org keys, %llu reservations -> %s\n",
               static_cast<unsigned long long>(report->events),
               static_cast<unsigned long long>(report->head),
               static_cast<unsigned long long>(report->org_keys),
               static_cast<unsigned long long>(report->reservations),
               args.output == "-" ? "stdout" : args.output.c_str());
  return 0;
}

int run_import(const ImportArgs& args) {
  // The input first: nothing is created for an input that cannot be read.
  std::ifstream file;
  std::istringstream buffered;
  std::istream* in = &buffered;
  if (args.input == "-") {
    std::ios::sync_with_stdio(false);
    auto all = read_bounded(std::cin, args.max_bytes, "standard input");
    if (!all.is_ok()) return failure("import", all.status().to_string());
    buffered.str(std::move(all).value());
  } else {
    std::error_code ec;
    fs::file_status st = fs::status(args.input, ec);
    if (!fs::exists(st)) return failure("import", "cannot read " + args.input + ": no such file");
    if (fs::is_directory(st)) return failure("import", args.input + " is a folder, not an export");
    file.open(args.input, std::ios::binary);
    if (!file) return failure("import", "cannot read " + args.input);
    if (fs::is_regular_file(st)) {
      in = &file;
    } else {  // a pipe or device: read once, within the bound
      auto all = read_bounded(file, args.max_bytes, args.input);
      if (!all.is_ok()) return failure("import", all.status().to_string());
      buffered.str(std::move(all).value());
    }
  }

  if (Status usable = check_data_folder(args.data); !usable.is_ok()) {
    return failure("import", usable.message());
  }
  // A refused import leaves no journal (nor folder) that was not there.
  FolderGuard folder(args.data);
  if (Status created = folder.create(); !created.is_ok()) {
    return failure("import", created.message());
  }
  // Synced once at the end rather than once per command: an import cut short
  // is finished by running it again.
  journal::Options options;
  options.durability = journal::Durability::kNone;
  auto journal = journal::Journal::open_rocksdb(args.data + "/journal", options);
  if (!journal.is_ok()) return failure("import", journal.status().to_string());
  auto dry_run = projections::ImportDryRun::open();
  if (!dry_run.is_ok()) return failure("import", dry_run.status().to_string());
  repositories::ImportReservationCheck reservations;
  journal::ImportOptions import_options;
  import_options.checks = {dry_run->get(), &reservations};
  Result<journal::ImportReport> report = Status::internal("not imported");
  try {
    report = journal::import_journal(**journal, *in, import_options);
  } catch (const std::exception& e) {
    report = Status::unavailable("cannot read " + args.input + ": " + e.what());
  }
  Status synced = (*journal)->sync();
  if (report.is_ok() || (*journal)->head() > 0) folder.keep();
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
