// One write of a repository, said declaratively: the events it appends, the
// versions the streams must be at, the uniqueness values it claims and
// releases, and its idempotency key. append() sends it to the journal as one
// atomic command through RepositoryContext::write (which stamps the event
// versions and, with read-your-writes, waits until it is projected).
//
//   Command cmd(ctx_, org_id, "token/" + t.id, t.user_id);
//   cmd.expect_new();
//   cmd.idempotency_key("token.create/" + t.id);
//   cmd.claim(rules::kTokenPrefix, t.token_prefix, /*across_orgs=*/true);
//   auto p = cmd.add_event().initTokenCreated();
//   p.setId(t.id);
//   ANNALS_ASSIGN_OR_RETURN(auto appended, cmd.append());
//
// A command has a stream of its own, which the calls without a stream name
// refer to; a command that touches several streams names the others
// (add_event(stream), expect_version(stream, v)). Everything is kept in the
// order it was added. Move-only; not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "annals/status.h"
#include "events/event.h"
#include "journal/types.h"
#include "repositories/context.h"

namespace annals::repositories {

class Command {
 public:
  // A command of `org_id` on `stream`; its events are by `actor`.
  Command(RepositoryContext& ctx, std::string_view org_id, std::string_view stream,
          std::string_view actor);
  Command(Command&&) = default;

  // A command that creates its stream (expect_new), or that changes it from
  // the `version` it was read at (expect_version).
  static Command create(RepositoryContext& ctx, std::string_view org_id, std::string_view stream,
                        std::string_view actor);
  static Command change(RepositoryContext& ctx, std::string_view org_id, std::string_view stream,
                        std::string_view actor, uint64_t version);

  const std::string& stream() const { return stream_; }

  // A new event on the command's stream, or on `stream`: the payload to fill.
  events::Envelope::Payload::Builder add_event();
  events::Envelope::Payload::Builder add_event(std::string_view stream);

  // The command's stream (or `stream`) must not exist yet / must be at `version`.
  Command& expect_new();
  Command& expect_version(uint64_t version);
  Command& expect_version(std::string_view stream, uint64_t version);

  // A retry with the same key appends nothing and answers with the positions
  // of the first (AppendResult::replayed).
  Command& idempotency_key(std::string key);

  // A value of a uniqueness rule (repositories/reservation_rules.h), already
  // folded, claimed or released by the command's stream.
  Command& claim(std::string_view rule, std::string value, bool across_orgs = false);
  Command& release(std::string_view rule, std::string value, bool across_orgs = false);
  // The same, held by `owner` rather than by the command's stream (an API
  // model alias's id is held by "<stream>@<version of its create>").
  Command& claim_for(std::string_view owner, std::string_view rule, std::string value);
  Command& release_for(std::string_view owner, std::string_view rule, std::string value);
  // A rename: `from` is released and `to` claimed in the same append, or
  // nothing when they are equal.
  Command& rename(std::string_view rule, std::string from, std::string to);

  // What append() sends, as it stands.
  const journal::AppendRequest& request() const { return request_; }

  // Appends the command, all of it or (a failed expectation or a value
  // taken) none of it, then waits until it is projected. Once only.
  Result<journal::AppendResult> append();
  // append() of a command that creates its stream: a concurrency conflict
  // (the stream is already there) comes back as `taken` instead.
  Result<journal::AppendResult> append_or_taken(Status taken);

  // append(), then what `read_back` reads: the row as the command left it.
  template <typename ReadBack>
  auto append_then(ReadBack read_back) -> decltype(read_back()) {
    ANNALS_RETURN_IF_ERROR(append().status());
    return read_back();
  }
  // append_or_taken(taken), then what `read_back` reads.
  template <typename ReadBack>
  auto append_or_taken_then(Status taken, ReadBack read_back) -> decltype(read_back()) {
    ANNALS_RETURN_IF_ERROR(append_or_taken(std::move(taken)).status());
    return read_back();
  }
  // A create with an idempotency key: append_or_taken(taken), then the row
  // `find` reads, as read_created() says.
  template <typename SameAsCreated, typename Find>
  auto append_create(const Status& taken, SameAsCreated same_as_created, Find find)
      -> decltype(find());

 private:
  RepositoryContext& ctx_;
  std::string stream_;
  std::string actor_;
  journal::AppendRequest request_;
  bool appended_ = false;
};

// The row of a create with an idempotency key, read back by `find` after its
// append: a retry (a replayed append) must have asked for what the first
// create did (`same_as_created(position of the first)`), and a retry of a
// create whose row was deleted since leaves the id used; otherwise the id
// is `taken`. (Without a retry, a row deleted right after its create is
// kNotFound.)
template <typename SameAsCreated, typename Find>
auto read_created(const journal::AppendResult& appended, const Status& taken,
                  SameAsCreated same_as_created, Find find) -> decltype(find()) {
  if (appended.replayed) {
    ANNALS_ASSIGN_OR_RETURN(bool same, same_as_created(appended.first_position));
    if (!same) return taken;
  }
  auto stored = find();
  if (!stored.is_ok() && stored.status().code() == Code::kNotFound && appended.replayed) {
    return taken;
  }
  return stored;
}

template <typename SameAsCreated, typename Find>
auto Command::append_create(const Status& taken, SameAsCreated same_as_created, Find find)
    -> decltype(find()) {
  ANNALS_ASSIGN_OR_RETURN(auto appended, append_or_taken(taken));
  return read_created(appended, taken, same_as_created, find);
}

}  // namespace annals::repositories
