#include "journal/wal_scan.h"

#include <fstream>
#include <iterator>
#include <vector>

#include "journal/crc32c.h"

namespace annals::journal {
namespace {

constexpr size_t kBlockSize = 32768;
constexpr size_t kHeaderSize = 7;
constexpr size_t kRecyclableHeaderSize = 11;
// Record types: 0 zero (preallocated, unwritten space), 1..4 full, first,
// middle, last; 5..8 their recyclable forms; 9 and 10 carry metadata with
// the short header.
constexpr uint8_t kZeroType = 0;
constexpr uint8_t kFirstRecyclableType = 5;
constexpr uint8_t kLastRecyclableType = 8;
constexpr uint8_t kLastKnownType = 10;

uint32_t decode_u32(const unsigned char* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

}  // namespace

std::optional<WalDamage> find_wal_damage(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
  const size_t size = bytes.size();
  size_t offset = 0;
  while (offset < size) {
    size_t block_left = kBlockSize - offset % kBlockSize;
    if (block_left < kHeaderSize) {  // the block's trailer
      offset += block_left;
      continue;
    }
    if (size - offset < kHeaderSize) return std::nullopt;  // a torn header at the end
    const unsigned char* header = bytes.data() + offset;
    uint32_t length = uint32_t{header[4]} | uint32_t{header[5]} << 8;
    uint8_t type = header[6];
    if (type == kZeroType && length == 0) return std::nullopt;  // unwritten space: the end
    if (type > kLastKnownType)
      return WalDamage{offset, "unknown record type " + std::to_string(type)};
    bool recyclable = type >= kFirstRecyclableType && type <= kLastRecyclableType;
    size_t header_size = recyclable ? kRecyclableHeaderSize : kHeaderSize;
    if (header_size + length > block_left) {
      return WalDamage{
          offset, "a record length of " + std::to_string(length) + " bytes runs past its block"};
    }
    if (offset + header_size + length > size) return std::nullopt;  // a torn last record
    uint32_t crc = crc32c::value(header + 6, 1);
    if (recyclable) crc = crc32c::extend(crc, header + 7, 4);
    crc = crc32c::extend(crc, header + header_size, length);
    if (crc32c::unmask(decode_u32(header)) != crc) return WalDamage{offset, "checksum mismatch"};
    offset += header_size + length;
  }
  return std::nullopt;
}

}  // namespace annals::journal
