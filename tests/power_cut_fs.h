// A RocksDB file system for power-cut tests: it forwards to the real one
// while the power is on and remembers, per file, how many bytes were
// written and how many were synced. After cut() every write, sync, rename,
// delete and truncate fails; once nothing uses the files any more,
// restore_synced() cuts each file back to its synced length, which is what a
// disk holds after the power returns. Directory entries are kept (RocksDB
// fsyncs the folder after it creates or renames a file it relies on).
#pragma once

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace annals::testing {

using rocksdb::FSWritableFile;
using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;
using rocksdb::Slice;

class PowerCutFs;

// A file being written: forwards to the real one while the power is on and
// tells the file system how much was written and synced.
class CutFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  CutFile(std::unique_ptr<FSWritableFile> file, PowerCutFs* fs, std::string name)
      : FSWritableFileOwnerWrapper(std::move(file)), fs_(fs), name_(std::move(name)) {}

  IOStatus Append(const Slice& data, const IOOptions& o, IODebugContext* dbg) override;
  IOStatus Append(const Slice& data, const IOOptions& o, const rocksdb::DataVerificationInfo& info,
                  IODebugContext* dbg) override {
    (void)info;
    return Append(data, o, dbg);
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset, const IOOptions& o,
                            IODebugContext* dbg) override;
  IOStatus PositionedAppend(const Slice& data, uint64_t offset, const IOOptions& o,
                            const rocksdb::DataVerificationInfo& info,
                            IODebugContext* dbg) override {
    (void)info;
    return PositionedAppend(data, offset, o, dbg);
  }
  IOStatus Truncate(uint64_t size, const IOOptions& o, IODebugContext* dbg) override;
  IOStatus Sync(const IOOptions& o, IODebugContext* dbg) override;
  IOStatus Fsync(const IOOptions& o, IODebugContext* dbg) override { return Sync(o, dbg); }
  // A range sync promises nothing about durability: not counted as synced.
  IOStatus RangeSync(uint64_t offset, uint64_t n, const IOOptions& o, IODebugContext* dbg) override;

 private:
  PowerCutFs* fs_;
  std::string name_;
};

class PowerCutFs : public rocksdb::FileSystemWrapper {
 public:
  explicit PowerCutFs(std::shared_ptr<rocksdb::FileSystem> base)
      : FileSystemWrapper(std::move(base)) {}
  static const char* kClassName() { return "PowerCutFs"; }
  const char* Name() const override { return kClassName(); }

  bool off() const { return off_.load(); }
  // Once: every later write, sync, rename, delete and truncate fails, and
  // `on_cut` (when set) runs, so that other simulated disks lose their power
  // at the same instant.
  void cut() {
    if (!off_.exchange(true) && on_cut) on_cut();
  }
  std::function<void()> on_cut;  // set before the power can go
  // Cuts the power right after the n-th append from now reaches its file,
  // before anything syncs it.
  void cut_after_appends(int64_t n) { appends_left_ = n; }
  void appended() {
    if (appends_left_.fetch_sub(1) == 1) cut();
  }

  // Once nothing uses the files any more: each one back to what was synced.
  void restore_synced();
  int files_cut() const { return files_cut_; }

  IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                           std::unique_ptr<FSWritableFile>* result, IODebugContext* dbg) override {
    if (off()) return IOStatus::IOError("the power is off");
    std::unique_ptr<FSWritableFile> file;
    IOStatus s = target()->NewWritableFile(name, options, &file, dbg);
    if (!s.ok()) return s;
    {
      std::lock_guard lock(mu_);
      files_[name] = File{};
    }
    *result = std::make_unique<CutFile>(std::move(file), this, name);
    return s;
  }

  IOStatus ReopenWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                              std::unique_ptr<FSWritableFile>* result,
                              IODebugContext* dbg) override {
    if (off()) return IOStatus::IOError("the power is off");
    uint64_t size = 0;
    bool existed = target()->GetFileSize(name, IOOptions(), &size, dbg).ok();
    std::unique_ptr<FSWritableFile> file;
    IOStatus s = target()->ReopenWritableFile(name, options, &file, dbg);
    if (!s.ok()) return s;
    {
      std::lock_guard lock(mu_);
      if (!files_.contains(name)) files_[name] = File{existed ? size : 0, existed ? size : 0};
    }
    *result = std::make_unique<CutFile>(std::move(file), this, name);
    return s;
  }

  IOStatus ReuseWritableFile(const std::string&, const std::string&, const rocksdb::FileOptions&,
                             std::unique_ptr<FSWritableFile>*, IODebugContext*) override {
    return IOStatus::NotSupported("file reuse is not modelled");
  }

  IOStatus RenameFile(const std::string& from, const std::string& to, const IOOptions& o,
                      IODebugContext* dbg) override {
    if (off()) return IOStatus::IOError("the power is off");
    IOStatus s = target()->RenameFile(from, to, o, dbg);
    if (s.ok()) {
      std::lock_guard lock(mu_);
      auto it = files_.find(from);
      if (it != files_.end()) {
        files_[to] = it->second;
        files_.erase(from);
      } else {
        files_.erase(to);
      }
    }
    return s;
  }

  IOStatus DeleteFile(const std::string& name, const IOOptions& o, IODebugContext* dbg) override {
    if (off()) return IOStatus::IOError("the power is off");
    IOStatus s = target()->DeleteFile(name, o, dbg);
    if (s.ok()) {
      std::lock_guard lock(mu_);
      files_.erase(name);
    }
    return s;
  }

  IOStatus Truncate(const std::string& name, size_t size, const IOOptions& o,
                    IODebugContext* dbg) override {
    if (off()) return IOStatus::IOError("the power is off");
    IOStatus s = target()->Truncate(name, size, o, dbg);
    if (s.ok()) truncated(name, size);
    return s;
  }

  void written(const std::string& name, uint64_t end) {
    std::lock_guard lock(mu_);
    auto& f = files_[name];
    f.written = std::max(f.written, end);
  }
  void truncated(const std::string& name, uint64_t size) {
    std::lock_guard lock(mu_);
    auto it = files_.find(name);
    if (it == files_.end()) return;
    it->second.written = size;
    it->second.synced = std::min(it->second.synced, size);
  }
  uint64_t size_of(const std::string& name) {
    std::lock_guard lock(mu_);
    return files_[name].written;
  }
  void synced(const std::string& name, uint64_t upto) {
    std::lock_guard lock(mu_);
    auto& f = files_[name];
    f.synced = std::max(f.synced, std::min(upto, f.written));
  }

 private:
  struct File {
    uint64_t written = 0;
    uint64_t synced = 0;
  };
  std::atomic<bool> off_{false};
  std::atomic<int64_t> appends_left_{-1};
  std::mutex mu_;
  std::map<std::string, File> files_;  // guarded by mu_
  int files_cut_ = 0;
};

}  // namespace annals::testing
