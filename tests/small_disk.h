// A small tmpfs mounted for a test: a disk that fills up, or one that is
// read-only. Mounting needs root (CAP_SYS_ADMIN); where it is impossible the
// test is skipped, and with CI=true that is a failure.
#pragma once

#include <gtest/gtest.h>
#include <sys/mount.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace annals::testing {

// A tmpfs of `megabytes` at `path`, unmounted when it goes out of scope.
class SmallDisk {
 public:
  SmallDisk(const std::string& path, int megabytes, bool read_only = false) : path_(path) {
    std::filesystem::create_directories(path_);
    std::string size = "size=" + std::to_string(megabytes) + "m";
    mounted_ =
        ::mount("tmpfs", path_.c_str(), "tmpfs", read_only ? MS_RDONLY : 0, size.c_str()) == 0;
  }
  ~SmallDisk() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  SmallDisk(const SmallDisk&) = delete;
  SmallDisk& operator=(const SmallDisk&) = delete;
  bool mounted() const { return mounted_; }
  // Frees space the way an operator would: the same files, a bigger disk.
  bool grow(int megabytes) {
    std::string size = "size=" + std::to_string(megabytes) + "m";
    return ::mount("tmpfs", path_.c_str(), "tmpfs", MS_REMOUNT, size.c_str()) == 0;
  }

 private:
  std::string path_;
  bool mounted_ = false;
};

#define ANNALS_REQUIRE_MOUNT(disk)                                                 \
  do {                                                                             \
    if (!(disk).mounted()) {                                                       \
      const char* ci = std::getenv("CI");                                          \
      if (ci != nullptr && std::string(ci) == "true") {                            \
        FAIL() << "cannot mount a tmpfs (needs root); CI=true requires this test"; \
      }                                                                            \
      GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";                    \
    }                                                                              \
  } while (0)

}  // namespace annals::testing
