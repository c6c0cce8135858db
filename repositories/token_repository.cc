#include "repositories/token_repository.h"

#include "core/validate.h"
#include "repositories/columns.h"
#include "repositories/command.h"
#include "repositories/common.h"
#include "repositories/enum_names.h"
#include "repositories/reservation_rules.h"

namespace annals::repositories {
namespace {

constexpr const char* kPrefixRule = rules::kTokenPrefix;
constexpr const char* kIdRule = "token.id";
constexpr Prefixed stream_of{"token/"};

Status validate_status(TokenStatus status) {
  return validate_enum("status", kTokenStatusNames, status);
}

schema::TokenStatus to_schema(TokenStatus status) { return schema_of(kTokenStatusNames, status); }

using StoredToken = Versioned<ApiToken>;

const Columns<StoredToken> kColumns{
    {"org_id", &ApiToken::org_id},
    {"id", &ApiToken::id},
    {"user_id", &ApiToken::user_id},
    {"name", &ApiToken::name},
    {"token_prefix", &ApiToken::token_prefix},
    {"token_hash", &ApiToken::token_hash},
    {"scopes", &ApiToken::scopes},
    {"status", &ApiToken::status},
    {"created_at", &ApiToken::created_at},
    {"updated_at", &ApiToken::updated_at},
    {"version", &StoredToken::version},
    {"last_deactivated_at", &ApiToken::last_deactivated_at},
};

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

    auto cmd = Command::create(ctx_, org_id, stream_of(t.id), t.user_id);
    // Creating the same token twice (a retry) appends it once.
    cmd.idempotency_key("token.create/" + t.id);
    cmd.claim(kPrefixRule, t.token_prefix, /*across_orgs=*/true);
    fill_token_created(cmd.add_event().initTokenCreated(), t);

    // A retry only if the first create asked for exactly this token.
    auto same = [&](uint64_t position) { return same_as_created(position, t); };
    return public_value<ApiToken>(
        cmd.append_create(id_taken(t.id), same, [&] { return find(org_id, t.id); }));
  }

  Result<Page<ApiToken>> list(std::string_view org_id, std::string_view user_id, int64_t page,
                              int64_t per_page) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_text("user_id", user_id, {kMaxUserIdBytes}));
    ANNALS_RETURN_IF_ERROR(validate_page(page, per_page));
    return select_page(
        ctx_, org_id, "SELECT COUNT(*) FROM api_tokens WHERE org_id = $1 AND user_id = $2",
        kColumns.select("FROM api_tokens WHERE org_id = $1 AND user_id = $2"
                        " ORDER BY created_at DESC, created_position DESC"
                        " LIMIT $3 OFFSET $4"),
        {std::string(org_id), std::string(user_id)}, page, per_page, kColumns.reader<ApiToken>());
  }

  Result<ApiToken> get(std::string_view org_id, std::string_view user_id,
                       std::string_view id) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_text("user_id", user_id, {kMaxUserIdBytes}));
    ANNALS_RETURN_IF_ERROR(validate_identifier("id", id, kMaxTokenIdBytes));
    return public_value<ApiToken>(find_for_user(org_id, user_id, id));
  }

  Result<ApiToken> get_by_prefix(std::string_view token_prefix) override {
    ANNALS_RETURN_IF_ERROR(validate_identifier("token_prefix", token_prefix, kMaxTokenPrefixBytes));
    ANNALS_ASSIGN_OR_RETURN(auto txn, ctx_.read_unscoped());
    // PostgreSQL: no org is set, so row-level security hides every row; the
    // one audited path is a SECURITY DEFINER function returning only the
    // matching row.
    const std::string sql = ctx_.dialect() == db::Dialect::kPostgres
                                ? kColumns.select("FROM token_by_prefix($1)")
                                : kColumns.select("FROM api_tokens WHERE token_prefix = $1");
    ANNALS_ASSIGN_OR_RETURN(auto rows, txn->query(sql, {std::string(token_prefix)}));
    if (rows.empty()) return Status::not_found("no token with that prefix");
    return ApiToken(kColumns.read(rows.front()));
  }

  Result<ApiToken> update(std::string_view org_id, std::string_view user_id, std::string_view id,
                          std::string_view name, TokenStatus status) override {
    ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
    ANNALS_RETURN_IF_ERROR(validate_text("user_id", user_id, {kMaxUserIdBytes}));
    ANNALS_RETURN_IF_ERROR(validate_identifier("id", id, kMaxTokenIdBytes));
    ANNALS_RETURN_IF_ERROR(validate_text("name", name, {kMaxTokenNameBytes, true}));
    ANNALS_RETURN_IF_ERROR(validate_status(status));
    ANNALS_ASSIGN_OR_RETURN(auto stored, find_for_user(org_id, user_id, id));

    auto cmd = Command::change(ctx_, org_id, stream_of(id), user_id, stored.version);
    auto p = cmd.add_event().initTokenUpdated();
    p.setId(std::string(id));
    p.setUserId(std::string(user_id));
    p.setName(std::string(name));
    p.setStatus(to_schema(status));
    return public_value<ApiToken>(cmd.append_then([&] { return find(org_id, id); }));
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
    return select_by_id(ctx_, org_id, id, kColumns, "FROM api_tokens WHERE org_id = $1 AND id = $2",
                        "token");
  }

  Result<StoredToken> find_for_user(std::string_view org_id, std::string_view user_id,
                                    std::string_view id) {
    return owned_by(find(org_id, id), &ApiToken::user_id, user_id,
                    "token '" + std::string(id) + "' not found");
  }

  RepositoryContext& ctx_;
};

}  // namespace

void fill_token_created(schema::TokenCreated::Builder p, const NewApiToken& t) {
  p.setId(t.id);
  p.setUserId(t.user_id);
  p.setName(t.name);
  p.setTokenPrefix(t.token_prefix);
  p.setTokenHash(t.token_hash);
  p.setScopes(t.scopes);
  p.setStatus(to_schema(t.status));
}

std::string_view token_status_name(TokenStatus status) {
  return name_of(kTokenStatusNames, status);
}

std::unique_ptr<TokenRepository> make_token_repository(RepositoryContext& context) {
  return std::make_unique<SqlTokenRepository>(context);
}

}  // namespace annals::repositories
