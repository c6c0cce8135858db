#include "tests/power_cut_vfs.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <stdexcept>

namespace annals::testing {
namespace {

using Overlay = PowerCutVfs::Overlay;
constexpr sqlite3_int64 kBlock = PowerCutVfs::kBlock;

// What SQLite allocates for a file (szOsFile bytes): this, then the real
// VFS's file.
struct File {
  sqlite3_file base;
  PowerCutVfs* vfs;
  std::shared_ptr<Overlay>* overlay;  // null: a temporary file, not overlaid
  sqlite3_file* real;
};
constexpr size_t kRealOffset = (sizeof(File) + 15) / 16 * 16;

PowerCutVfs* vfs_of(sqlite3_vfs* vfs) { return static_cast<PowerCutVfs*>(vfs->pAppData); }
File* file_of(sqlite3_file* f) { return reinterpret_cast<File*>(f); }
const sqlite3_io_methods* real_methods(File* f) { return f->real->pMethods; }

// Reads [offset, offset + n) of the real file, zeros from `floor` on and
// where the file ends.
int read_real(File* f, char* out, sqlite3_int64 n, sqlite3_int64 offset, sqlite3_int64 floor) {
  std::memset(out, 0, static_cast<size_t>(n));
  sqlite3_int64 upto = std::min(offset + n, floor);
  if (upto <= offset) return SQLITE_OK;
  int rc = real_methods(f)->xRead(f->real, out, static_cast<int>(upto - offset), offset);
  return rc == SQLITE_IOERR_SHORT_READ ? SQLITE_OK : rc;
}

// Under the lock: the overlay starts from the real file as it is.
int activate(File* f, Overlay& o) {
  if (o.active) return SQLITE_OK;
  sqlite3_int64 size = 0;
  int rc = real_methods(f)->xFileSize(f->real, &size);
  if (rc != SQLITE_OK) return rc;
  o.active = true;
  o.size = size;
  o.floor = size;
  o.blocks.clear();
  return SQLITE_OK;
}

int x_close(sqlite3_file* pf) {
  File* f = file_of(pf);
  int rc = real_methods(f)->xClose(f->real);
  delete f->overlay;  // the overlay itself stays with its path, as the page cache does
  f->overlay = nullptr;
  return rc;
}

int x_read(sqlite3_file* pf, void* buf, int amount, sqlite3_int64 offset) {
  File* f = file_of(pf);
  if (f->overlay == nullptr) return real_methods(f)->xRead(f->real, buf, amount, offset);
  std::lock_guard lock(f->vfs->mu());
  Overlay& o = **f->overlay;
  if (!o.active) return real_methods(f)->xRead(f->real, buf, amount, offset);
  char* out = static_cast<char*>(buf);
  std::memset(out, 0, static_cast<size_t>(amount));
  sqlite3_int64 avail =
      std::max<sqlite3_int64>(0, std::min<sqlite3_int64>(amount, o.size - offset));
  sqlite3_int64 pos = offset;
  while (pos < offset + avail) {
    sqlite3_int64 index = pos / kBlock;
    sqlite3_int64 in_block = pos - index * kBlock;
    sqlite3_int64 n = std::min(kBlock - in_block, offset + avail - pos);
    auto it = o.blocks.find(index);
    if (it != o.blocks.end()) {
      std::memcpy(out + (pos - offset), it->second.data() + in_block, static_cast<size_t>(n));
    } else {
      int rc = read_real(f, out + (pos - offset), n, pos, o.floor);
      if (rc != SQLITE_OK) return rc;
    }
    pos += n;
  }
  return avail < amount ? SQLITE_IOERR_SHORT_READ : SQLITE_OK;
}

int x_write(sqlite3_file* pf, const void* buf, int amount, sqlite3_int64 offset) {
  File* f = file_of(pf);
  if (f->vfs->write_starts()) f->vfs->cut();
  if (f->vfs->off()) return SQLITE_IOERR_WRITE;
  if (f->overlay == nullptr) return real_methods(f)->xWrite(f->real, buf, amount, offset);
  std::lock_guard lock(f->vfs->mu());
  if (f->vfs->off()) return SQLITE_IOERR_WRITE;
  Overlay& o = **f->overlay;
  int rc = activate(f, o);
  if (rc != SQLITE_OK) return rc;
  const char* in = static_cast<const char*>(buf);
  sqlite3_int64 pos = offset;
  while (pos < offset + amount) {
    sqlite3_int64 index = pos / kBlock;
    sqlite3_int64 in_block = pos - index * kBlock;
    sqlite3_int64 n = std::min(kBlock - in_block, offset + amount - pos);
    auto it = o.blocks.find(index);
    if (it == o.blocks.end()) {
      std::string block(static_cast<size_t>(kBlock), '\0');
      rc = read_real(f, block.data(), kBlock, index * kBlock, std::min(o.floor, o.size));
      if (rc != SQLITE_OK) return rc;
      it = o.blocks.emplace(index, std::move(block)).first;
    }
    std::memcpy(it->second.data() + in_block, in + (pos - offset), static_cast<size_t>(n));
    pos += n;
  }
  o.size = std::max(o.size, offset + amount);
  return SQLITE_OK;
}

int x_truncate(sqlite3_file* pf, sqlite3_int64 size) {
  File* f = file_of(pf);
  if (f->vfs->off()) return SQLITE_IOERR_TRUNCATE;
  if (f->overlay == nullptr) return real_methods(f)->xTruncate(f->real, size);
  std::lock_guard lock(f->vfs->mu());
  if (f->vfs->off()) return SQLITE_IOERR_TRUNCATE;
  Overlay& o = **f->overlay;
  int rc = activate(f, o);
  if (rc != SQLITE_OK) return rc;
  o.size = size;
  o.floor = std::min(o.floor, size);
  for (auto it = o.blocks.begin(); it != o.blocks.end();) {
    sqlite3_int64 start = it->first * kBlock;
    if (start >= size) {
      it = o.blocks.erase(it);
      continue;
    }
    if (start + kBlock > size) {
      std::fill(it->second.begin() + (size - start), it->second.end(), '\0');
    }
    ++it;
  }
  return SQLITE_OK;
}

// Under the lock: writes the overlay to the real file.
int flush(File* f, Overlay& o) {
  if (!o.active) return SQLITE_OK;
  const sqlite3_io_methods* m = real_methods(f);
  sqlite3_int64 real_size = 0;
  int rc = m->xFileSize(f->real, &real_size);
  if (rc == SQLITE_OK && o.floor < real_size) rc = m->xTruncate(f->real, o.floor);
  for (auto it = o.blocks.begin(); rc == SQLITE_OK && it != o.blocks.end(); ++it) {
    sqlite3_int64 start = it->first * kBlock;
    if (start >= o.size) continue;
    int n = static_cast<int>(std::min(kBlock, o.size - start));
    rc = m->xWrite(f->real, it->second.data(), n, start);
  }
  if (rc == SQLITE_OK) rc = m->xFileSize(f->real, &real_size);
  if (rc == SQLITE_OK && real_size != o.size) rc = m->xTruncate(f->real, o.size);
  if (rc != SQLITE_OK) return rc;
  o = Overlay{};
  return SQLITE_OK;
}

int x_sync(sqlite3_file* pf, int flags) {
  File* f = file_of(pf);
  if (f->vfs->off()) return SQLITE_IOERR_FSYNC;
  {
    std::lock_guard lock(f->vfs->mu());
    if (f->vfs->off()) return SQLITE_IOERR_FSYNC;
    if (f->overlay != nullptr) {
      int rc = flush(f, **f->overlay);
      if (rc != SQLITE_OK) return rc;
    }
  }
  int rc = real_methods(f)->xSync(f->real, flags);
  if (rc == SQLITE_OK && f->vfs->sync_done()) f->vfs->cut();
  return rc;
}

int x_file_size(sqlite3_file* pf, sqlite3_int64* size) {
  File* f = file_of(pf);
  if (f->overlay != nullptr) {
    std::lock_guard lock(f->vfs->mu());
    if ((*f->overlay)->active) {
      *size = (*f->overlay)->size;
      return SQLITE_OK;
    }
  }
  return real_methods(f)->xFileSize(f->real, size);
}

int x_lock(sqlite3_file* pf, int level) {
  File* f = file_of(pf);
  return real_methods(f)->xLock(f->real, level);
}
int x_unlock(sqlite3_file* pf, int level) {
  File* f = file_of(pf);
  return real_methods(f)->xUnlock(f->real, level);
}
int x_check_reserved_lock(sqlite3_file* pf, int* out) {
  File* f = file_of(pf);
  return real_methods(f)->xCheckReservedLock(f->real, out);
}
int x_file_control(sqlite3_file* pf, int op, void* arg) {
  File* f = file_of(pf);
  // Hints that would grow the real file behind the overlay's back.
  if (op == SQLITE_FCNTL_SIZE_HINT || op == SQLITE_FCNTL_CHUNK_SIZE) return SQLITE_OK;
  return real_methods(f)->xFileControl(f->real, op, arg);
}
int x_sector_size(sqlite3_file* pf) {
  File* f = file_of(pf);
  return real_methods(f)->xSectorSize(f->real);
}
int x_device_characteristics(sqlite3_file* pf) {
  File* f = file_of(pf);
  return real_methods(f)->xDeviceCharacteristics(f->real);
}
int x_shm_map(sqlite3_file* pf, int page, int page_size, int extend, void volatile** out) {
  File* f = file_of(pf);
  return real_methods(f)->xShmMap(f->real, page, page_size, extend, out);
}
int x_shm_lock(sqlite3_file* pf, int offset, int n, int flags) {
  File* f = file_of(pf);
  return real_methods(f)->xShmLock(f->real, offset, n, flags);
}
void x_shm_barrier(sqlite3_file* pf) {
  File* f = file_of(pf);
  real_methods(f)->xShmBarrier(f->real);
}
int x_shm_unmap(sqlite3_file* pf, int delete_flag) {
  File* f = file_of(pf);
  return real_methods(f)->xShmUnmap(f->real, delete_flag);
}

constexpr sqlite3_io_methods kMethods2 = {
    .iVersion = 2,
    .xClose = x_close,
    .xRead = x_read,
    .xWrite = x_write,
    .xTruncate = x_truncate,
    .xSync = x_sync,
    .xFileSize = x_file_size,
    .xLock = x_lock,
    .xUnlock = x_unlock,
    .xCheckReservedLock = x_check_reserved_lock,
    .xFileControl = x_file_control,
    .xSectorSize = x_sector_size,
    .xDeviceCharacteristics = x_device_characteristics,
    .xShmMap = x_shm_map,
    .xShmLock = x_shm_lock,
    .xShmBarrier = x_shm_barrier,
    .xShmUnmap = x_shm_unmap,
    .xFetch = nullptr,
    .xUnfetch = nullptr,
};
// For a real file without the WAL index methods.
constexpr sqlite3_io_methods kMethods1 = {
    .iVersion = 1,
    .xClose = x_close,
    .xRead = x_read,
    .xWrite = x_write,
    .xTruncate = x_truncate,
    .xSync = x_sync,
    .xFileSize = x_file_size,
    .xLock = x_lock,
    .xUnlock = x_unlock,
    .xCheckReservedLock = x_check_reserved_lock,
    .xFileControl = x_file_control,
    .xSectorSize = x_sector_size,
    .xDeviceCharacteristics = x_device_characteristics,
    .xShmMap = nullptr,
    .xShmLock = nullptr,
    .xShmBarrier = nullptr,
    .xShmUnmap = nullptr,
    .xFetch = nullptr,
    .xUnfetch = nullptr,
};

int x_open(sqlite3_vfs* pvfs, sqlite3_filename name, sqlite3_file* pf, int flags, int* out_flags) {
  PowerCutVfs* vfs = vfs_of(pvfs);
  File* f = file_of(pf);
  f->base.pMethods = nullptr;
  if (vfs->off()) return SQLITE_CANTOPEN;
  f->vfs = vfs;
  f->overlay = nullptr;
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(pf) + kRealOffset);
  f->real->pMethods = nullptr;
  int rc = vfs->real()->xOpen(vfs->real(), name, f->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    if (f->real->pMethods != nullptr) f->real->pMethods->xClose(f->real);
    return rc;
  }
  if (name != nullptr) {
    std::lock_guard lock(vfs->mu());
    f->overlay = new std::shared_ptr<Overlay>(vfs->overlay_locked(name));
  }
  f->base.pMethods = f->real->pMethods->iVersion >= 2 ? &kMethods2 : &kMethods1;
  return SQLITE_OK;
}

int x_delete(sqlite3_vfs* pvfs, const char* name, int sync_dir) {
  PowerCutVfs* vfs = vfs_of(pvfs);
  std::lock_guard lock(vfs->mu());
  if (vfs->off()) return SQLITE_IOERR_DELETE;
  vfs->forget_locked(name);
  return vfs->real()->xDelete(vfs->real(), name, sync_dir);
}

int x_access(sqlite3_vfs* pvfs, const char* name, int flags, int* out) {
  PowerCutVfs* vfs = vfs_of(pvfs);
  if (flags == SQLITE_ACCESS_EXISTS) {
    std::lock_guard lock(vfs->mu());
    auto o = vfs->find_locked(name);
    // The default VFS says a file of size 0 does not exist: the same for the
    // size the process sees.
    if (o && o->active) {
      *out = o->size > 0 ? 1 : 0;
      return SQLITE_OK;
    }
  }
  return vfs->real()->xAccess(vfs->real(), name, flags, out);
}

int x_full_pathname(sqlite3_vfs* pvfs, const char* name, int n, char* out) {
  sqlite3_vfs* real = vfs_of(pvfs)->real();
  return real->xFullPathname(real, name, n, out);
}
void* x_dl_open(sqlite3_vfs* pvfs, const char* name) {
  sqlite3_vfs* real = vfs_of(pvfs)->real();
  return real->xDlOpen(real, name);
}
void x_dl_error(sqlite3_vfs* pvfs, int n, char* out) {
  sqlite3_vfs* real = vfs_of(pvfs)->real();
  real->xDlError(real, n, out);
}
void (*x_dl_sym(sqlite3_vfs* pvfs, void* handle, const char* symbol))(void) {
  sqlite3_vfs* real = vfs_of(pvfs)->real();
  return real->xDlSym(real, handle, symbol);
}
void x_dl_close(sqlite3_vfs* pvfs, void* handle) {
  sqlite3_vfs* real = vfs_of(pvfs)->real();
  real->xDlClose(real, handle);
}
int x_randomness(sqlite3_vfs* pvfs, int n, char* out) {
  sqlite3_vfs* real = vfs_of(pvfs)->real();
  return real->xRandomness(real, n, out);
}
int x_sleep(sqlite3_vfs* pvfs, int micros) {
  sqlite3_vfs* real = vfs_of(pvfs)->real();
  return real->xSleep(real, micros);
}
int x_current_time(sqlite3_vfs* pvfs, double* out) {
  sqlite3_vfs* real = vfs_of(pvfs)->real();
  return real->xCurrentTime(real, out);
}
int x_get_last_error(sqlite3_vfs* pvfs, int n, char* out) {
  sqlite3_vfs* real = vfs_of(pvfs)->real();
  return real->xGetLastError(real, n, out);
}
int x_current_time_int64(sqlite3_vfs* pvfs, sqlite3_int64* out) {
  sqlite3_vfs* real = vfs_of(pvfs)->real();
  return real->xCurrentTimeInt64(real, out);
}

}  // namespace

PowerCutVfs::PowerCutVfs(std::string name)
    : name_(std::move(name)), real_(sqlite3_vfs_find(nullptr)) {
  if (real_ == nullptr || real_->iVersion < 2) throw std::runtime_error("no default SQLite VFS");
  vfs_.iVersion = 2;
  vfs_.szOsFile = static_cast<int>(kRealOffset) + real_->szOsFile;
  vfs_.mxPathname = real_->mxPathname;
  vfs_.zName = name_.c_str();
  vfs_.pAppData = this;
  vfs_.xOpen = x_open;
  vfs_.xDelete = x_delete;
  vfs_.xAccess = x_access;
  vfs_.xFullPathname = x_full_pathname;
  vfs_.xDlOpen = x_dl_open;
  vfs_.xDlError = x_dl_error;
  vfs_.xDlSym = x_dl_sym;
  vfs_.xDlClose = x_dl_close;
  vfs_.xRandomness = x_randomness;
  vfs_.xSleep = x_sleep;
  vfs_.xCurrentTime = x_current_time;
  vfs_.xGetLastError = x_get_last_error;
  vfs_.xCurrentTimeInt64 = x_current_time_int64;
  if (sqlite3_vfs_register(&vfs_, 0) != SQLITE_OK) {
    throw std::runtime_error("cannot register the SQLite VFS " + name_);
  }
}

PowerCutVfs::~PowerCutVfs() { sqlite3_vfs_unregister(&vfs_); }

void PowerCutVfs::cut() {
  {
    std::lock_guard lock(mu_);
    if (off_.exchange(true)) return;
    bool lost = false;
    for (auto& [path, o] : overlays_) {
      if (!o->active) continue;
      lost = true;
      for (const auto& [index, block] : o->blocks) {
        if (index * kBlock < o->size) bytes_lost_ += std::min(kBlock, o->size - index * kBlock);
      }
      *o = Overlay{};  // open files hold it too
    }
    if (lost) ++cuts_that_lost_data_;
  }
  if (on_cut) on_cut();
}

void PowerCutVfs::restore() {
  std::lock_guard lock(mu_);
  overlays_.clear();
  syncs_left_ = -1;
  writes_left_ = -1;
  off_ = false;
}

std::shared_ptr<PowerCutVfs::Overlay> PowerCutVfs::overlay_locked(const std::string& path) {
  auto& o = overlays_[path];
  if (!o) o = std::make_shared<Overlay>();
  return o;
}

std::shared_ptr<PowerCutVfs::Overlay> PowerCutVfs::find_locked(const std::string& path) {
  auto it = overlays_.find(path);
  return it == overlays_.end() ? nullptr : it->second;
}

void PowerCutVfs::forget_locked(const std::string& path) {
  auto it = overlays_.find(path);
  if (it == overlays_.end()) return;
  *it->second = Overlay{};  // a file still open keeps writing to what was deleted
  overlays_.erase(it);
}

}  // namespace annals::testing
