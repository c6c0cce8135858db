// The on-disk format of the RocksDB journal. Every byte written is described
// here; docs/ARCHITECTURE.md repeats it for readers who are not reading code.
//
// Column families
//   default       meta: "format" -> "annals-journal/1"
//   events        key: position as 8-byte big-endian (so byte order = position order)
//                 value: record (below)
//   org_events    key: org_id, 0x00, position (8-byte BE); value: empty.
//                 One org's events in order, without scanning the others.
//   streams       key: org_id, 0x00, stream_id; value: current version (8-byte BE)
//   idempotency   key: org_id, 0x00, idempotency key
//                 value: first position (8-byte BE), last position (8-byte BE)
//   reservations  key: rule, 0x00, scope, 0x00, value, where scope is the org_id
//                 or "*" for a rule that holds across orgs; value: owner stream id
//   keys          key: org_id; value: the org's data key wrapped by the master
//                 key (see repositories/secrets.h). Not part of the history:
//                 deleting one crypto-shreds the org's secrets.
//                 A forgotten org's value is a tombstone instead: the ASCII
//                 bytes "forgotten at " (kForgottenKeyPrefix, 13 bytes)
//                 followed by the time it was forgotten as decimal UTC
//                 microseconds since the Unix epoch ('-' then digits when
//                 negative), e.g. "forgotten at 1718000000000000". A wrapped
//                 key never starts so (put_data_key_if_absent refuses one that
//                 would). Forgetting writes the tombstone over the key, then
//                 flushes every family and force-compacts "keys" to the
//                 bottommost level, so no live table or write-ahead log file
//                 still holds the wrapped key; a tombstone is never replaced.
//
// Record (value in "events")
//   byte 0      record format version (kRecordVersion)
//   bytes 1..3  zero
//   bytes 4..7  masked CRC-32C, little-endian, of the 8 key bytes followed by
//               the payload: a record moved under another position fails too
//   bytes 8..   payload: one events::Envelope in Cap'n Proto flat-array encoding
//
// All entries of one command go into one RocksDB WriteBatch, so a command's
// events, its stream versions, its idempotency key and its reservations are
// written together or not at all.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "annals/status.h"

namespace annals::journal::format {

inline constexpr std::string_view kFormatKey = "format";
inline constexpr std::string_view kFormatValue = "annals-journal/1";

inline constexpr const char* kEventsFamily = "events";
inline constexpr const char* kOrgEventsFamily = "org_events";
inline constexpr const char* kStreamsFamily = "streams";
inline constexpr const char* kIdempotencyFamily = "idempotency";
inline constexpr const char* kReservationsFamily = "reservations";
inline constexpr const char* kKeysFamily = "keys";

inline constexpr uint8_t kRecordVersion = 1;
inline constexpr size_t kRecordHeaderBytes = 8;
inline constexpr std::string_view kGlobalScope = "*";
// The value in "keys" of an org that was forgotten starts with this.
inline constexpr std::string_view kForgottenKeyPrefix = "forgotten at ";

void put_u64_be(std::string* out, uint64_t v);
uint64_t get_u64_be(std::string_view in);  // in.size() >= 8

std::string position_key(uint64_t position);
std::string org_event_key(std::string_view org_id, uint64_t position);
std::string org_events_prefix(std::string_view org_id);
std::string stream_key(std::string_view org_id, std::string_view stream_id);
std::string idempotency_key(std::string_view org_id, std::string_view key);
std::string reservation_key(std::string_view rule, std::string_view scope, std::string_view value);

// Header + payload, checksummed against the position.
std::string encode_record(uint64_t position, std::string_view payload);

// Checks version and checksum; returns the payload bytes inside `record`.
Result<std::string_view> decode_record(uint64_t position, std::string_view record);

}  // namespace annals::journal::format
