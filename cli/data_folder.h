// What the commands that create data need of the folder they are given:
// that it may be used at all, and that a refused command leaves nothing
// behind in it.
#pragma once

#include <set>
#include <string>

#include "annals/status.h"

namespace annals::cli {

// Checks that `dir` can hold Annals data: it is a directory, or does not
// exist yet and could be created (no regular file on its path). A folder
// that exists must be empty or hold Annals data already (journal/,
// read.sqlite or demo-master.key): a folder that belongs to something
// else is refused, so nothing is written into it.
Status check_data_folder(const std::string& dir);

// Creates `dir` (and any missing parent) with what it records first: what
// existed. Unless keep() is called, the destructor removes what appeared
// since: `dir` itself and the parents it created, or else each new entry in
// `dir` and whatever was put into an entry that was an empty folder. It
// never touches what was there before.
class FolderGuard {
 public:
  explicit FolderGuard(std::string dir);
  ~FolderGuard();
  FolderGuard(const FolderGuard&) = delete;
  FolderGuard& operator=(const FolderGuard&) = delete;

  // Creates the folder; kUnavailable naming the path and the reason.
  Status create();
  void keep() { armed_ = false; }

 private:
  std::string dir_;
  std::string first_created_;         // the outermost folder create() made
  std::set<std::string> existing_;    // names in dir_ before
  std::set<std::string> empty_dirs_;  // of those, the empty folders
  bool existed_ = false;
  bool armed_ = true;
};

// Writes `bytes` to `path` as a new file of mode 0600 (never over one that
// exists), synced with its folder.
Status write_new_private_file(const std::string& path, const std::string& bytes);

}  // namespace annals::cli
