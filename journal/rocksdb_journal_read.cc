// The read path: ordered reads with checksum and decode checks, per-org
// reads through the org index, stream versions, and waiting for new events.
#include "journal/format.h"
#include "journal/rocksdb_journal.h"

namespace annals::journal {
namespace {

std::string at(uint64_t position) { return "position " + std::to_string(position); }

Result<events::Event> decode_at(uint64_t position, std::string_view record) {
  ANNALS_ASSIGN_OR_RETURN(std::string_view payload, format::decode_record(position, record));
  auto event = events::Event::decode(payload);
  if (!event.is_ok()) {
    return Status::corruption("journal record at " + at(position) + ": " + event.status().message(),
                              at(position));
  }
  if (event->position() != position) {
    return Status::corruption("journal record at " + at(position) +
                                  " holds the event of position " +
                                  std::to_string(event->position()),
                              at(position));
  }
  return std::move(event).value();
}

Status iterator_failure(const rocksdb::Status& s, uint64_t position) {
  if (s.IsCorruption()) {
    return Status::corruption(
        "journal storage is corrupt at or after " + at(position) + ": " + s.ToString(),
        at(position));
  }
  return Status::unavailable("journal read failed at " + at(position) + ": " + s.ToString());
}

}  // namespace

Result<std::vector<events::Event>> RocksJournal::read(uint64_t from, size_t max_events) {
  std::vector<events::Event> out;
  uint64_t head = this->head();
  if (from == 0) from = 1;
  if (from > head || max_events == 0) return out;
  uint64_t available = head - from + 1;
  uint64_t last = max_events >= available ? head : from + max_events - 1;

  std::string lower = format::position_key(from);
  std::string upper = format::position_key(last + 1);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, events_cf_));
  uint64_t expect = from;
  out.reserve(std::min<uint64_t>(last - from + 1, 4096));
  for (it->Seek(lower); it->Valid(); it->Next()) {
    if (it->key().size() != 8) {
      return Status::corruption("journal has a malformed event key after " + at(expect - 1),
                                at(expect));
    }
    uint64_t position = format::get_u64_be(it->key().ToStringView());
    if (position != expect) {
      return Status::corruption("journal has a gap: " + at(expect) +
                                    " is missing (the next record is " + at(position) + ")",
                                at(expect));
    }
    ANNALS_ASSIGN_OR_RETURN(events::Event event, decode_at(position, it->value().ToStringView()));
    out.push_back(std::move(event));
    ++expect;
  }
  if (!it->status().ok()) return iterator_failure(it->status(), expect);
  if (expect <= last) {
    return Status::corruption(
        "journal has a gap: " + at(expect) + " is missing below the head " + std::to_string(head),
        at(expect));
  }
  return out;
}

Result<events::Event> RocksJournal::read_position(uint64_t position) {
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), events_cf_, format::position_key(position), &value);
  if (s.IsNotFound()) {
    return Status::corruption("journal index names " + at(position) + " but it is missing",
                              at(position));
  }
  if (!s.ok()) return iterator_failure(s, position);
  return decode_at(position, value);
}

Result<std::vector<events::Event>> RocksJournal::read_org(std::string_view org_id, uint64_t from,
                                                          size_t max_events) {
  std::vector<events::Event> out;
  uint64_t head = this->head();
  if (from == 0) from = 1;
  if (from > head || max_events == 0) return out;
  std::string prefix = format::org_events_prefix(org_id);
  std::string lower = format::org_event_key(org_id, from);
  std::string upper = format::org_event_key(org_id, head + 1);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, org_events_cf_));
  for (it->Seek(lower); it->Valid() && out.size() < max_events; it->Next()) {
    auto key = it->key().ToStringView();
    if (key.size() != prefix.size() + 8) {
      return Status::corruption("journal org index has a malformed key for org '" +
                                std::string(org_id) + "'");
    }
    uint64_t position = format::get_u64_be(key.substr(prefix.size()));
    ANNALS_ASSIGN_OR_RETURN(events::Event event, read_position(position));
    if (event.org_id() != org_id) {
      return Status::corruption("journal org index puts " + at(position) + " in org '" +
                                    std::string(org_id) + "' but the event is of org '" +
                                    std::string(event.org_id()) + "'",
                                at(position));
    }
    out.push_back(std::move(event));
  }
  if (!it->status().ok()) return iterator_failure(it->status(), from);
  return out;
}

Result<uint64_t> RocksJournal::stream_version(std::string_view org_id, std::string_view stream_id) {
  ANNALS_ASSIGN_OR_RETURN(auto stored, get(streams_cf_, format::stream_key(org_id, stream_id)));
  if (!stored.has_value()) return uint64_t{0};
  if (stored->size() != 8) return Status::corruption("malformed stream version entry");
  return format::get_u64_be(*stored);
}

uint64_t RocksJournal::wait_for_durable_head(uint64_t after, std::chrono::milliseconds timeout) {
  std::unique_lock lock(head_mu_);
  head_cv_.wait_for(lock, timeout, [&] { return durable_head() > after || !db_; });
  return durable_head();
}

uint64_t RocksJournal::wait_for_head(uint64_t after, std::chrono::milliseconds timeout) {
  std::unique_lock lock(head_mu_);
  head_cv_.wait_for(lock, timeout, [&] { return head() > after || !db_; });
  return head();
}

}  // namespace annals::journal
