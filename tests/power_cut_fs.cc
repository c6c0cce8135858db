#include "tests/power_cut_fs.h"

#include <unistd.h>

#include <gtest/gtest.h>

namespace annals::testing {

void PowerCutFs::restore_synced() {
  std::lock_guard lock(mu_);
  for (const auto& [name, file] : files_) {
    if (file.synced < file.written) {
      ASSERT_EQ(::truncate(name.c_str(), static_cast<off_t>(file.synced)), 0) << name;
      ++files_cut_;
    }
  }
  files_.clear();
}

IOStatus CutFile::Append(const Slice& data, const IOOptions& o, IODebugContext* dbg) {
  if (fs_->off()) return IOStatus::IOError("the power is off");
  uint64_t start = fs_->size_of(name_);
  IOStatus s = target()->Append(data, o, dbg);
  if (s.ok()) {
    fs_->written(name_, start + data.size());
    fs_->appended();
  }
  return s;
}

IOStatus CutFile::PositionedAppend(const Slice& data, uint64_t offset, const IOOptions& o,
                                   IODebugContext* dbg) {
  if (fs_->off()) return IOStatus::IOError("the power is off");
  IOStatus s = target()->PositionedAppend(data, offset, o, dbg);
  if (s.ok()) {
    fs_->written(name_, offset + data.size());
    fs_->appended();
  }
  return s;
}

IOStatus CutFile::Truncate(uint64_t size, const IOOptions& o, IODebugContext* dbg) {
  if (fs_->off()) return IOStatus::IOError("the power is off");
  IOStatus s = target()->Truncate(size, o, dbg);
  if (s.ok()) fs_->truncated(name_, size);
  return s;
}

IOStatus CutFile::Sync(const IOOptions& o, IODebugContext* dbg) {
  if (fs_->off()) return IOStatus::IOError("the power is off");
  uint64_t upto = fs_->size_of(name_);  // what was written before the sync began
  IOStatus s = target()->Sync(o, dbg);
  if (s.ok()) fs_->synced(name_, upto);
  return s;
}

IOStatus CutFile::RangeSync(uint64_t offset, uint64_t n, const IOOptions& o, IODebugContext* dbg) {
  if (fs_->off()) return IOStatus::IOError("the power is off");
  return target()->RangeSync(offset, n, o, dbg);
}

}  // namespace annals::testing
