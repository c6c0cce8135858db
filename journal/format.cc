#include "journal/format.h"

#include "journal/crc32c.h"

namespace annals::journal::format {

void put_u64_be(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out->push_back(static_cast<char>((v >> shift) & 0xff));
}

uint64_t get_u64_be(std::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

std::string position_key(uint64_t position) {
  std::string k;
  k.reserve(8);
  put_u64_be(&k, position);
  return k;
}

std::string org_events_prefix(std::string_view org_id) {
  std::string k(org_id);
  k.push_back('\0');
  return k;
}

std::string org_event_key(std::string_view org_id, uint64_t position) {
  std::string k = org_events_prefix(org_id);
  put_u64_be(&k, position);
  return k;
}

std::string stream_key(std::string_view org_id, std::string_view stream_id) {
  std::string k(org_id);
  k.push_back('\0');
  k.append(stream_id);
  return k;
}

std::string idempotency_key(std::string_view org_id, std::string_view key) {
  std::string k(org_id);
  k.push_back('\0');
  k.append(key);
  return k;
}

std::string reservation_key(std::string_view rule, std::string_view scope, std::string_view value) {
  std::string k(rule);
  k.push_back('\0');
  k.append(scope);
  k.push_back('\0');
  k.append(value);
  return k;
}

namespace {
uint32_t record_crc(uint64_t position, std::string_view payload) {
  std::string key = position_key(position);
  uint32_t crc = crc32c::value(key.data(), key.size());
  return crc32c::extend(crc, payload.data(), payload.size());
}
}  // namespace

std::string encode_record(uint64_t position, std::string_view payload) {
  std::string out;
  out.reserve(kRecordHeaderBytes + payload.size());
  out.push_back(static_cast<char>(kRecordVersion));
  out.append(3, '\0');
  uint32_t crc = crc32c::mask(record_crc(position, payload));
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
  out.append(payload);
  return out;
}

Result<std::string_view> decode_record(uint64_t position, std::string_view record) {
  std::string where = "position " + std::to_string(position);
  if (record.size() < kRecordHeaderBytes) {
    return Status::corruption("journal record at " + where + " is truncated (" +
                                  std::to_string(record.size()) + " bytes)",
                              where);
  }
  if (static_cast<uint8_t>(record[0]) != kRecordVersion) {
    return Status::corruption("journal record at " + where + " has unknown format version " +
                                  std::to_string(static_cast<uint8_t>(record[0])),
                              where);
  }
  uint32_t stored = 0;
  for (int i = 0; i < 4; ++i)
    stored |= uint32_t(static_cast<unsigned char>(record[4 + i])) << (8 * i);
  std::string_view payload = record.substr(kRecordHeaderBytes);
  if (crc32c::unmask(stored) != record_crc(position, payload)) {
    return Status::corruption("journal record at " + where + " fails its checksum", where);
  }
  return payload;
}

}  // namespace annals::journal::format
