#include "cli/data_folder.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace annals::cli {
namespace fs = std::filesystem;

namespace {

bool is_annals_entry(const std::string& name) {
  return name == "journal" || name == "read.sqlite" || name == "demo-master.key";
}

Status fs_error(const std::string& what, const std::string& path, const std::error_code& ec) {
  return Status::unavailable("cannot " + what + " " + path + ": " + ec.message());
}

}  // namespace

Status check_data_folder(const std::string& dir) {
  if (dir.empty()) return Status::invalid_argument("data", "the data folder is empty");
  std::error_code ec;
  fs::file_status st = fs::status(dir, ec);
  bool under_a_file = ec == std::errc::not_a_directory;
  if (ec && ec != std::errc::no_such_file_or_directory && !under_a_file) {
    return fs_error("use the data folder", dir, ec);
  }
  if (under_a_file || !fs::exists(st)) {
    // Every ancestor that exists must be a folder.
    for (fs::path p = fs::path(dir).parent_path(); !p.empty(); p = p.parent_path()) {
      fs::file_status ps = fs::status(p, ec);
      if (fs::exists(ps)) {
        if (!fs::is_directory(ps)) {
          return Status::invalid_argument("data", "cannot create the data folder " + dir + ": " +
                                                      p.string() + " is not a folder");
        }
        break;
      }
      if (p == p.parent_path()) break;
    }
    return Status::ok();
  }
  if (!fs::is_directory(st)) {
    return Status::invalid_argument("data", dir + " is not a folder");
  }
  bool empty = true;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (is_annals_entry(entry.path().filename().string())) return Status::ok();
    empty = false;
  }
  if (ec) return fs_error("read the data folder", dir, ec);
  if (!empty) {
    return Status::invalid_argument(
        "data", dir +
                    " holds other files and no Annals data: name a new or empty folder, or one "
                    "that holds Annals data");
  }
  return Status::ok();
}

FolderGuard::FolderGuard(std::string dir) : dir_(std::move(dir)) {
  std::error_code ec;
  existed_ = fs::is_directory(dir_, ec);
  if (!existed_) return;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    std::string name = entry.path().filename().string();
    existing_.insert(name);
    std::error_code ec2;
    if (entry.is_directory(ec2) && fs::is_empty(entry.path(), ec2)) empty_dirs_.insert(name);
  }
}

Status FolderGuard::create() {
  std::error_code ec;
  if (existed_) return Status::ok();
  // The outermost missing folder is what a rollback removes.
  fs::path outermost = fs::absolute(dir_, ec);
  if (ec) return fs_error("create", dir_, ec);
  for (fs::path p = outermost.parent_path(); !p.empty() && !fs::exists(p, ec);
       p = p.parent_path()) {
    outermost = p;
    if (p == p.parent_path()) break;
  }
  fs::create_directories(dir_, ec);
  if (ec) return fs_error("create the data folder", dir_, ec);
  first_created_ = outermost.string();
  return Status::ok();
}

FolderGuard::~FolderGuard() {
  if (!armed_) return;
  std::error_code ec;
  if (!existed_) {
    if (!first_created_.empty()) fs::remove_all(first_created_, ec);
    return;
  }
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    std::string name = entry.path().filename().string();
    std::error_code ec2;
    if (!existing_.count(name)) {
      fs::remove_all(entry.path(), ec2);
    } else if (empty_dirs_.count(name)) {
      for (const auto& inner : fs::directory_iterator(entry.path(), ec2)) {
        std::error_code ec3;
        fs::remove_all(inner.path(), ec3);
      }
    }
  }
}

Status write_new_private_file(const std::string& path, const std::string& bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Status::unavailable("cannot create " + path + ": " + std::strerror(errno));
  size_t done = 0;
  int error = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = n < 0 ? errno : EIO;
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (error == 0 && ::fsync(fd) != 0) error = errno;
  if (::close(fd) != 0 && error == 0) error = errno;
  if (error != 0) {
    ::unlink(path.c_str());
    return Status::unavailable("cannot write " + path + ": " + std::strerror(error));
  }
  std::string folder = fs::path(path).parent_path().string();
  int dfd = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::ok();
}

}  // namespace annals::cli
