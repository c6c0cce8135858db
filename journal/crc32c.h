// CRC-32C (Castagnoli), the checksum on every journal record.
#pragma once

#include <cstddef>
#include <cstdint>

namespace annals::journal::crc32c {

// Continues a CRC over more bytes; start with init_crc = 0.
uint32_t extend(uint32_t init_crc, const void* data, size_t n);
inline uint32_t value(const void* data, size_t n) { return extend(0, data, n); }

// A CRC stored next to the bytes it covers is masked, so that a CRC of data
// that itself holds CRCs is not trivially related to them (as LevelDB does).
inline constexpr uint32_t kMaskDelta = 0xa282ead8u;
inline uint32_t mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + kMaskDelta; }
inline uint32_t unmask(uint32_t masked) {
  uint32_t rot = masked - kMaskDelta;
  return (rot >> 17) | (rot << 15);
}

}  // namespace annals::journal::crc32c
