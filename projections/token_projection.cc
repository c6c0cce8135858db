// api_tokens table.
#include "projections/standard_projections.h"
#include "projections/table_projection.h"

namespace annals::projections {
namespace {

using events::Event;
using events::PayloadType;

class TokenProjection final : public TableProjection {
 public:
  TokenProjection()
      : TableProjection("tokens", {"api_tokens"},
                        {PayloadType::TOKEN_CREATED, PayloadType::TOKEN_UPDATED}) {}

  Status apply(db::Transaction& txn, const Event& event) override {
    const auto [org, at, version] = stamp_of(event);
    auto payload = event.payload();
    if (payload.which() == PayloadType::TOKEN_CREATED) {
      auto p = payload.getTokenCreated();
      return txn.execute_deferred(
          "INSERT INTO api_tokens (org_id, id, user_id, name, token_prefix, token_hash, scopes,"
          " status, created_at, updated_at, version, created_position)"
          " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11)",
          {org, text(p.getId()), text(p.getUserId()), text(p.getName()), text(p.getTokenPrefix()),
           text(p.getTokenHash()), text(p.getScopes()),
           std::string(token_status_name(p.getStatus())), at, version,
           static_cast<int64_t>(event.position())});
    }
    auto p = payload.getTokenUpdated();
    std::string status(token_status_name(p.getStatus()));
    // last_deactivated_at comes from history: the time of the update that
    // took the token from active to inactive.
    ANNALS_ASSIGN_OR_RETURN(
        int64_t changed,
        txn.execute("UPDATE api_tokens SET name = $3, status = $4, updated_at = $5, version = $6,"
                    " last_deactivated_at = CASE WHEN status = 'active' AND $4 = 'inactive'"
                    " THEN $5 ELSE last_deactivated_at END"
                    " WHERE org_id = $1 AND id = $2",
                    {org, text(p.getId()), text(p.getName()), status, at, version}));
    if (changed != 1) {
      return Status::internal("token.updated for token '" + text(p.getId()) +
                              "', which the projection does not hold");
    }
    return Status::ok();
  }
};

}  // namespace

std::string_view token_status_name(schema::TokenStatus status) {
  switch (status) {
    case schema::TokenStatus::ACTIVE:
      return "active";
    case schema::TokenStatus::INACTIVE:
      return "inactive";
  }
  return "unknown";
}

std::unique_ptr<Projection> make_token_projection() { return std::make_unique<TokenProjection>(); }

}  // namespace annals::projections
