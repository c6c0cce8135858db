// A SQLite VFS for power-cut tests: it wraps the default VFS and simulates
// the operating system's page cache. A write to a file lands in an in-memory
// overlay of that file (one per path, shared by every connection that has
// it open, and kept after the last close, as the page cache keeps it); reads
// see the overlay over the real file; xTruncate and xFileSize honour it.
// xSync writes the file's overlay to the real file and then syncs it, so the
// real file holds exactly what a disk would: what was synced.
//
// cut() drops every overlay and turns the power off: from then on every
// write, truncate, sync and delete on any file fails (SQLITE_IOERR_*), and
// no file can be opened, so closing the connections reaches nothing on disk
// (a clean close would checkpoint the WAL and delete it). restore() turns
// the power back on for the next round.
//
// Modelled: unsynced bytes are lost whole (no torn or reordered writes).
// Directory operations (creating and deleting a file) are durable at once.
// Files opened without a name (SQLite's temporary files) go straight to the
// real file. Locks, the WAL index (xShm*) and file controls go to the real
// file; the size and chunk-size hints are dropped, as they would change the
// real file behind the overlay. Memory-mapped reads (xFetch, io methods
// version 3) are not offered, as they would read past the overlay.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace annals::testing {

class PowerCutVfs {
 public:
  // Registers the VFS under `name` (not as the default).
  explicit PowerCutVfs(std::string name);
  // Unregisters it; no connection may still use it.
  ~PowerCutVfs();
  PowerCutVfs(const PowerCutVfs&) = delete;
  PowerCutVfs& operator=(const PowerCutVfs&) = delete;

  const std::string& name() const { return name_; }

  // Once per power-off: drops every unsynced write and fails every later
  // write, truncate, sync, delete and open; then runs `on_cut` (when set),
  // so that other simulated disks lose their power at the same instant.
  void cut();
  // The power is back: files behave as before, without overlays.
  void restore();
  bool off() const { return off_.load(); }
  std::function<void()> on_cut;  // set before the power can go

  // Cuts the power right after the n-th sync from now has reached the disk.
  void cut_after_syncs(int64_t n) { syncs_left_ = n; }
  // Cuts the power instead of the n-th write from now (the write is lost).
  void cut_after_writes(int64_t n) { writes_left_ = n; }

  int64_t syncs() const { return syncs_.load(); }  // that flushed, while powered
  int cuts_that_lost_data() const { return cuts_that_lost_data_; }
  int64_t bytes_lost() const { return bytes_lost_; }

  // --- used by the VFS callbacks ---
  struct Overlay {
    bool active = false;      // holds writes or a truncation not yet synced
    sqlite3_int64 size = 0;   // the file's size as the process sees it
    sqlite3_int64 floor = 0;  // the real file's bytes from here on are gone (a truncation)
    std::map<sqlite3_int64, std::string> blocks;  // block index -> kBlock bytes
  };
  static constexpr sqlite3_int64 kBlock = 4096;
  sqlite3_vfs* real() const { return real_; }
  std::mutex& mu() { return mu_; }
  // Under mu(): the overlay of `path`, created inactive when missing.
  std::shared_ptr<Overlay> overlay_locked(const std::string& path);
  void forget_locked(const std::string& path);  // the file was deleted
  std::shared_ptr<Overlay> find_locked(const std::string& path);
  // Counts a write; true when it is the one the power goes at.
  bool write_starts() { return writes_left_.fetch_sub(1) == 1; }
  // Counts a completed sync; true when the power goes now.
  bool sync_done() {
    ++syncs_;
    return syncs_left_.fetch_sub(1) == 1;
  }

 private:
  std::string name_;
  sqlite3_vfs* real_;
  sqlite3_vfs vfs_{};
  std::atomic<bool> off_{false};
  std::atomic<int64_t> syncs_left_{-1};
  std::atomic<int64_t> writes_left_{-1};
  std::atomic<int64_t> syncs_{0};
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Overlay>> overlays_;  // guarded by mu_
  int cuts_that_lost_data_ = 0;                               // guarded by mu_
  int64_t bytes_lost_ = 0;                                    // guarded by mu_
};

}  // namespace annals::testing
