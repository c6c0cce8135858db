#include "repositories/command.h"

#include <utility>

namespace annals::repositories {

Command::Command(RepositoryContext& ctx, std::string_view org_id, std::string_view stream,
                 std::string_view actor)
    : ctx_(ctx), stream_(stream), actor_(actor) {
  request_.org_id = std::string(org_id);
}

Command Command::create(RepositoryContext& ctx, std::string_view org_id, std::string_view stream,
                        std::string_view actor) {
  Command cmd(ctx, org_id, stream, actor);
  cmd.expect_new();
  return cmd;
}

Command Command::change(RepositoryContext& ctx, std::string_view org_id, std::string_view stream,
                        std::string_view actor, uint64_t version) {
  Command cmd(ctx, org_id, stream, actor);
  cmd.expect_version(version);
  return cmd;
}

events::Envelope::Payload::Builder Command::add_event() { return add_event(stream_); }

events::Envelope::Payload::Builder Command::add_event(std::string_view stream) {
  request_.events.emplace_back(request_.org_id, stream, actor_);
  // The builder stays valid when the vector grows: each event's message is
  // on the heap, and moving the event moves only the pointer to it.
  return request_.events.back().payload();
}

Command& Command::expect_new() {
  request_.expectations.push_back({stream_, journal::ExpectedVersion::no_stream()});
  return *this;
}

Command& Command::expect_version(uint64_t version) { return expect_version(stream_, version); }

Command& Command::expect_version(std::string_view stream, uint64_t version) {
  request_.expectations.push_back(
      {std::string(stream), journal::ExpectedVersion::exactly(version)});
  return *this;
}

Command& Command::idempotency_key(std::string key) {
  request_.idempotency_key = std::move(key);
  return *this;
}

Command& Command::claim(std::string_view rule, std::string value, bool across_orgs) {
  request_.reservations.push_back(
      journal::Reservation::claim(std::string(rule), std::move(value), stream_, across_orgs));
  return *this;
}

Command& Command::release(std::string_view rule, std::string value, bool across_orgs) {
  request_.reservations.push_back(
      journal::Reservation::release(std::string(rule), std::move(value), stream_, across_orgs));
  return *this;
}

Command& Command::claim_for(std::string_view owner, std::string_view rule, std::string value) {
  request_.reservations.push_back(
      journal::Reservation::claim(std::string(rule), std::move(value), std::string(owner)));
  return *this;
}

Command& Command::release_for(std::string_view owner, std::string_view rule, std::string value) {
  request_.reservations.push_back(
      journal::Reservation::release(std::string(rule), std::move(value), std::string(owner)));
  return *this;
}

Command& Command::rename(std::string_view rule, std::string from, std::string to) {
  if (from == to) return *this;
  release(rule, std::move(from));
  return claim(rule, std::move(to));
}

Result<journal::AppendResult> Command::append() {
  if (appended_) return Status::internal("a command is appended once");
  appended_ = true;
  return ctx_.write(std::move(request_));
}

Result<journal::AppendResult> Command::append_or_taken(Status taken) {
  auto appended = append();
  if (!appended.is_ok() && appended.status().code() == Code::kConcurrencyConflict) return taken;
  return appended;
}

}  // namespace annals::repositories
