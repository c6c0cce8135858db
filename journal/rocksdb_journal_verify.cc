// verify_families: the org index, stream versions and idempotency entries
// are derived from the events, so they can be recomputed from them and
// compared with what the column families hold. A byte flip or a lost file in
// one of them shows up here, by family and key, before an export or an
// append trips over it.
#include <rocksdb/db.h>

#include <map>

#include "journal/format.h"
#include "journal/rocksdb_journal.h"

namespace annals::journal {
namespace {

// "org\0rest" keys as "org/rest", other bytes escaped, for messages.
std::string readable(std::string_view key) {
  std::string out;
  for (unsigned char c : key) {
    if (c == 0) {
      out += '/';
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string readable_org_event(std::string_view key) {
  if (key.size() < 9) return readable(key);
  std::string org = readable(key.substr(0, key.size() - 9));
  return org + "/" + std::to_string(format::get_u64_be(key.substr(key.size() - 8)));
}

std::string describe_value(const std::string& family, std::string_view value) {
  if (family == "streams" && value.size() == 8) {
    return "version " + std::to_string(format::get_u64_be(value));
  }
  if (family == "idempotency" && value.size() == 16) {
    return "positions " + std::to_string(format::get_u64_be(value)) + ".." +
           std::to_string(format::get_u64_be(value.substr(8)));
  }
  if (family == "org_events") return value.empty() ? "an entry" : "a malformed entry";
  return std::to_string(value.size()) + " malformed bytes";
}

}  // namespace

Result<std::vector<FamilyDifference>> RocksJournal::verify_families(size_t limit) {
  std::map<std::string, std::string> expected_org_events, expected_streams, expected_idempotency;
  const uint64_t head = this->head();
  constexpr size_t kChunk = 10000;
  for (uint64_t from = 1; from <= head; from += kChunk) {
    ANNALS_ASSIGN_OR_RETURN(auto batch, read(from, kChunk));
    for (const auto& e : batch) {
      const std::string org(e.org_id());
      expected_org_events[format::org_event_key(org, e.position())] = "";
      std::string version;
      format::put_u64_be(&version, e.stream_version());
      std::string& stored = expected_streams[format::stream_key(org, e.stream_id())];
      if (stored.empty() || format::get_u64_be(stored) < e.stream_version()) stored = version;
      auto env = e.envelope();
      auto key = events::Event::view(env.getIdempotencyKey());
      if (!key.empty() && env.getCommandIndex() + 1 == env.getCommandEvents()) {
        std::string value;
        format::put_u64_be(&value, e.position() - env.getCommandIndex());
        format::put_u64_be(&value, e.position());
        expected_idempotency[format::idempotency_key(org, key)] = value;
      }
    }
  }

  std::vector<FamilyDifference> out;
  auto add = [&](const std::string& family, std::string key, std::string what) {
    if (out.size() < limit) out.push_back({family, std::move(key), std::move(what)});
  };
  auto compare = [&](const std::string& family, rocksdb::ColumnFamilyHandle* cf,
                     const std::map<std::string, std::string>& expected) -> Status {
    auto name = [&](std::string_view key) {
      return family == "org_events" ? readable_org_event(key) : readable(key);
    };
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf));
    auto want = expected.begin();
    it->SeekToFirst();
    while (it->Valid() || want != expected.end()) {
      int order;
      if (!it->Valid()) {
        order = 1;  // only expected entries are left
      } else if (want == expected.end()) {
        order = -1;  // only stored entries are left
      } else {
        order = it->key().compare(rocksdb::Slice(want->first));
      }
      if (order < 0) {
        add(family, name(it->key().ToStringView()),
            "holds " + describe_value(family, it->value().ToStringView()) + " that no event backs");
        it->Next();
      } else if (order > 0) {
        add(family, name(want->first),
            "is missing; the events say " + describe_value(family, want->second));
        ++want;
      } else {
        if (it->value() != rocksdb::Slice(want->second)) {
          add(family, name(want->first),
              "holds " + describe_value(family, it->value().ToStringView()) + "; the events say " +
                  describe_value(family, want->second));
        }
        it->Next();
        ++want;
      }
    }
    if (!it->status().ok()) {
      return Status::corruption("the " + family +
                                " family cannot be read: " + it->status().ToString());
    }
    return Status::ok();
  };
  ANNALS_RETURN_IF_ERROR(compare("org_events", org_events_cf_, expected_org_events));
  ANNALS_RETURN_IF_ERROR(compare("streams", streams_cf_, expected_streams));
  ANNALS_RETURN_IF_ERROR(compare("idempotency", idempotency_cf_, expected_idempotency));
  return out;
}

}  // namespace annals::journal
