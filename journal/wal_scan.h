// Finding the damaged record in a RocksDB write-ahead log, so that a journal
// that refuses to open can say which file is damaged and where.
//
// RocksDB's WAL format (stable since LevelDB): 32 KiB blocks of records,
// each with a header of a masked CRC-32C (4 bytes), a length (2 bytes,
// little-endian) and a type (1 byte), plus the low 32 bits of the log number
// (4 bytes) for the recyclable types; the CRC covers the type, that log
// number and the payload. A block's last bytes, too few for a header, are
// zero padding.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace annals::journal {

struct WalDamage {
  uint64_t offset = 0;  // of the damaged record's header
  std::string what;     // "checksum mismatch", "record length past its block", ...
};

// The first damaged record of the log at `path`; nullopt when every record
// checks (a torn last record, which recovery tolerates, included) or the
// file cannot be read.
std::optional<WalDamage> find_wal_damage(const std::string& path);

}  // namespace annals::journal
