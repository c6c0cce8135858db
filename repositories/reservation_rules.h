// The uniqueness rules of the repositories, in one place: each rule's name,
// how its value is folded, and which events claim and release it. The
// repositories claim and release with these when they write; the journal
// tools recompute the reservations a history implies from its events alone
// (ReservationFold) and compare them with what a journal or an export holds
// (annals verify, annals import).
//
//   repositories::ReservationFold fold;
//   for (const auto& event : events) fold.apply(event);
//   auto differences = repositories::compare_reservations(fold, stored, 50);
//
// Every claim is owned by the stream of the event that makes it (the id of
// an API model alias by "<stream>@<version of its create>", so that an alias
// re-created on the same stream claims its id anew). A stream holds at most
// one value of each rule; a later event of the stream replaces or frees it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "events/event.h"
#include "journal/export.h"
#include "journal/journal.h"

namespace annals::repositories {

namespace rules {

// Rules with reservations, and the events behind them:
inline constexpr const char* kSettingKey = "settings.key";   // settingUpserted / settingDeleted
inline constexpr const char* kTokenPrefix = "token.prefix";  // tokenCreated; across orgs
inline constexpr const char* kToolsetSlug = "toolset.slug";  // toolset created/updated/deleted
inline constexpr const char* kToolsetConfigType = "app_toolset_config.type";  // config set
inline constexpr const char* kMcpServerUrl = "mcp_server.url";  // server created/updated
inline constexpr const char* kMcpSlug = "mcp.slug";             // instance created/updated/deleted
inline constexpr const char* kMcpAuthHeaderName = "mcp_auth_header.name";    // header c/u/d
inline constexpr const char* kMcpOAuthConfigName = "mcp_oauth_config.name";  // config c/d
inline constexpr const char* kApiAliasId = "api_alias.id";          // alias created/deleted
inline constexpr const char* kApiAliasPrefix = "api_alias.prefix";  // alias created/updated/deleted
inline constexpr const char* kModelMetadataIdentity = "model_metadata.identity";   // upserted
inline constexpr const char* kAppAccessRequestScope = "app_access_request.scope";  // approved
inline constexpr const char* kUserAliasAlias = "user_alias.alias";  // user alias c/u/d

// Values, folded as the projections fold their *_key columns (core/fold.h):
// a slug, unique per user, case-insensitive ("<lower slug>/<user>"; a slug
// holds no '/', so the first '/' ends it).
std::string slug_value(std::string_view slug, std::string_view user_id);
// an MCP server URL, trimmed and case-insensitive.
std::string url_value(std::string_view url);
// an auth header's or OAuth config's name, unique per server, case-insensitive.
std::string name_value(std::string_view server_id, std::string_view name);
// the owner of an API model alias's id: "<stream>@<version of its create>".
std::string alias_id_owner(std::string_view stream, uint64_t created_version);
// An API model alias's prefix is reserved only when it is set and not empty.
bool alias_prefix_reserved(bool has_prefix, std::string_view prefix);

}  // namespace rules

// The reservations a history implies. Feed it every event from position 1,
// in order; it keeps only each stream's current claims.
class ReservationFold {
 public:
  void apply(const events::Event& event);

  // As the journal stores them (scope: the org, or "*" for a rule across
  // orgs), in key order, each with the position of the event that claimed it.
  struct Claim {
    journal::StoredReservation reservation;
    uint64_t position = 0;
  };
  std::vector<Claim> claims() const;

 private:
  struct StreamState {
    std::map<std::string, Claim> held;  // rule -> its claim
    std::string server_id;              // auth headers: the server they belong to
  };
  void hold(StreamState& s, const events::Event& e, const char* rule, std::string value,
            bool across_orgs = false, std::string owner = {});

  std::map<std::string, StreamState> streams_;  // org \0 stream -> state
};

// Where `stored` differs from what the history implies: each difference by
// family "reservations" and a readable key ("rule scope value"). At most
// `limit` are returned.
std::vector<journal::FamilyDifference> compare_reservations(
    const ReservationFold& fold, const std::vector<journal::StoredReservation>& stored,
    size_t limit);

// An import's check that the export's reservations are exactly those its
// events imply (journal::ImportOptions::checks): an export whose reservation
// lines were edited, lost or added to is refused, each difference named by
// its line (or, when the export lacks one, by the event that claims it).
class ImportReservationCheck final : public journal::ImportCheck {
 public:
  Status event(const events::Event& event) override {
    fold_.apply(event);
    return Status::ok();
  }
  Status reservations(const std::vector<ReservationLine>& lines) override;

 private:
  ReservationFold fold_;
};

}  // namespace annals::repositories
