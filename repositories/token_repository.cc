#include "repositories/token_repository.h"

#include "core/validate.h"
#include "repositories/command.h"
#include "repositories/common.h"
#include "repositories/enum_names.h"
#include "repositories/reservation_rules.h"

namespace annals::repositories {
namespace {

constexpr const char* kPrefixRule = rules::kTokenPrefix;
constexpr const char* kIdRule = "token.id";
constexpr const char* kColumns =
    "org_id, id, user_id, name, token_prefix, token_hash, scopes, status, created_at, updated_at,"
    " version, last_deactivated_at";

std::string stream_of(std::string_view id) { return "token/" + std::string(id); }

Status validate_status(TokenStatus status) {
  return validate_enum("status", kTokenStatusNames, status);
}

schema::TokenStatus to_schema(TokenStatus status) {
  return status == TokenStatus::kActive ? schema::TokenStatus::ACTIVE
                                        : schema::TokenStatus::INACTIVE;
}

struct StoredToken {
  ApiToken token;
  uint64_t version;
};

StoredToken from_row(const db::Row& row) {
  ApiToken t;
  t.org_id = row.text(0);
  t.id = row.text(1);
  t.user_id = row.text(2);
  t.name = row.text(3);
  t.token_prefix = row.text(4);
  t.token_hash = row.text(5);
  t.scopes = row.text(6);
  t.status = parse(kTokenStatusNames, row.text(7), TokenStatus::kInactive);
  t.created_at = from_micros(row.i64(8));
  t.updated_at = from_micros(row.i64(9));
  if (!row.is_null(11)) t.last_deactivated_at = from_micros(row.i64(11));
  return {std::move(t), static_cast<uint64_t>(row.i64(10))};
}

ApiToken token_of(const db::Row& row) { return from_row(row).token; }

class SqlTokenRepository final : public TokenRepository {
 public:
  explicit SqlTokenRepository(RepositoryContext& context) : ctx_(context) {}

  Result<ApiToken> create(std::string_view org_id, const NewApiToken& t) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_identifier("id", t.id, kMaxTokenIdBytes));
    ANNALS_RETURN_IF_ERROR(validate_text("user_id", t.user_id, {kMaxUserIdBytes}));
    ANNALS_RETURN_IF_ERROR(validate_text("name", t.name, {kMaxTokenNameBytes, true}));
    ANNALS_RETURN_IF_ERROR(
        validate_identifier("token_prefix", t.token_prefix, kMaxTokenPrefixBytes));
    ANNALS_RETURN_IF_ERROR(validate_text("token_hash", t.token_hash, {kMaxTokenHashBytes}));
    ANNALS_RETURN_IF_ERROR(validate_text("scopes", t.scopes, {kMaxScopesBytes}));
    ANNALS_RETURN_IF_ERROR(validate_status(t.status));

    Command cmd(ctx_, org_id, stream_of(t.id), t.user_id);
    cmd.expect_new();
    // Creating the same token twice (a retry) appends it once.
    cmd.idempotency_key("token.create/" + t.id);
    cmd.claim(kPrefixRule, t.token_prefix, /*across_orgs=*/true);
    auto p = cmd.add_event().initTokenCreated();
    p.setId(t.id);
    p.setUserId(t.user_id);
    p.setName(t.name);
    p.setTokenPrefix(t.token_prefix);
    p.setTokenHash(t.token_hash);
    p.setScopes(t.scopes);
    p.setStatus(to_schema(t.status));

    ANNALS_ASSIGN_OR_RETURN(auto appended, cmd.append_or_taken(id_taken(t.id)));
    if (appended.replayed) {
      // A retry only if the first create asked for exactly this token.
      ANNALS_ASSIGN_OR_RETURN(bool same, same_as_created(appended.first_position, t));
      if (!same) return id_taken(t.id);
    }
    ANNALS_ASSIGN_OR_RETURN(auto stored, find(org_id, t.id));
    return stored.token;
  }

  Result<Page<ApiToken>> list(std::string_view org_id, std::string_view user_id, int64_t page,
                              int64_t per_page) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_text("user_id", user_id, {kMaxUserIdBytes}));
    ANNALS_RETURN_IF_ERROR(validate_page(page, per_page));
    return select_page(ctx_, org_id,
                       "SELECT COUNT(*) FROM api_tokens WHERE org_id = $1 AND user_id = $2",
                       std::string("SELECT ") + kColumns +
                           " FROM api_tokens WHERE org_id = $1 AND user_id = $2"
                           " ORDER BY created_at DESC, created_position DESC LIMIT $3 OFFSET $4",
                       {std::string(org_id), std::string(user_id)}, page, per_page, token_of);
  }

  Result<ApiToken> get(std::string_view org_id, std::string_view user_id,
                       std::string_view id) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_text("user_id", user_id, {kMaxUserIdBytes}));
    ANNALS_RETURN_IF_ERROR(validate_identifier("id", id, kMaxTokenIdBytes));
    ANNALS_ASSIGN_OR_RETURN(auto stored, find_for_user(org_id, user_id, id));
    return stored.token;
  }

  Result<ApiToken> get_by_prefix(std::string_view token_prefix) override {
    ANNALS_RETURN_IF_ERROR(validate_identifier("token_prefix", token_prefix, kMaxTokenPrefixBytes));
    ANNALS_ASSIGN_OR_RETURN(auto txn, ctx_.read_unscoped());
    // PostgreSQL: no org is set, so row-level security hides every row; the
    // one audited path is a SECURITY DEFINER function returning only the
    // matching row.
    const std::string sql =
        ctx_.dialect() == db::Dialect::kPostgres
            ? std::string("SELECT ") + kColumns + " FROM token_by_prefix($1)"
            : std::string("SELECT ") + kColumns + " FROM api_tokens WHERE token_prefix = $1";
    ANNALS_ASSIGN_OR_RETURN(auto rows, txn->query(sql, {std::string(token_prefix)}));
    if (rows.empty()) return Status::not_found("no token with that prefix");
    return token_of(rows.front());
  }

  Result<ApiToken> update(std::string_view org_id, std::string_view user_id, std::string_view id,
                          std::string_view name, TokenStatus status) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_text("user_id", user_id, {kMaxUserIdBytes}));
    ANNALS_RETURN_IF_ERROR(validate_identifier("id", id, kMaxTokenIdBytes));
    ANNALS_RETURN_IF_ERROR(validate_text("name", name, {kMaxTokenNameBytes, true}));
    ANNALS_RETURN_IF_ERROR(validate_status(status));
    ANNALS_ASSIGN_OR_RETURN(auto stored, find_for_user(org_id, user_id, id));

    Command cmd(ctx_, org_id, stream_of(id), user_id);
    cmd.expect_version(stored.version);
    auto p = cmd.add_event().initTokenUpdated();
    p.setId(std::string(id));
    p.setUserId(std::string(user_id));
    p.setName(std::string(name));
    p.setStatus(to_schema(status));
    ANNALS_RETURN_IF_ERROR(cmd.append().status());
    ANNALS_ASSIGN_OR_RETURN(auto updated, find(org_id, id));
    return updated.token;
  }

 private:
  static Status id_taken(std::string_view id) {
    return Status::conflict(kIdRule,
                            "token id '" + std::string(id) + "' already holds another token");
  }

  // Whether the event at `position` created exactly the token `t`.
  Result<bool> same_as_created(uint64_t position, const NewApiToken& t) {
    ANNALS_ASSIGN_OR_RETURN(auto events, ctx_.journal().read(position, 1));
    if (events.empty() || events.front().type() != events::PayloadType::TOKEN_CREATED) return false;
    auto c = events.front().payload().getTokenCreated();
    auto eq = [](capnp::Text::Reader a, const std::string& b) {
      return std::string_view(a.begin(), a.size()) == b;
    };
    return eq(c.getId(), t.id) && eq(c.getUserId(), t.user_id) && eq(c.getName(), t.name) &&
           eq(c.getTokenPrefix(), t.token_prefix) && eq(c.getTokenHash(), t.token_hash) &&
           eq(c.getScopes(), t.scopes) && c.getStatus() == to_schema(t.status);
  }

  Result<StoredToken> find(std::string_view org_id, std::string_view id) {
    return select_one(
        ctx_, org_id,
        std::string("SELECT ") + kColumns + " FROM api_tokens WHERE org_id = $1 AND id = $2",
        {std::string(org_id), std::string(id)}, "token '" + std::string(id) + "' not found",
        from_row);
  }

  Result<StoredToken> find_for_user(std::string_view org_id, std::string_view user_id,
                                    std::string_view id) {
    auto stored = find(org_id, id);
    if (stored.is_ok() && stored->token.user_id != user_id) {
      return Status::not_found("token '" + std::string(id) + "' not found");
    }
    return stored;
  }

  RepositoryContext& ctx_;
};

}  // namespace

std::string_view token_status_name(TokenStatus status) {
  return name_of(kTokenStatusNames, status);
}

std::unique_ptr<TokenRepository> make_token_repository(RepositoryContext& context) {
  return std::make_unique<SqlTokenRepository>(context);
}

}  // namespace annals::repositories
