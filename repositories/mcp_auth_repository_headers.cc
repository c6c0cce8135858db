// McpAuthRepository: auth headers (mcp_auth_headers), the helpers every part
// shares, and the factory.
#include "repositories/mcp_auth_repository.h"
#include "repositories/secret_change.h"

#include "repositories/mcp_auth_repository_impl.h"

namespace annals::repositories {
namespace mcp_auth_detail {
namespace {

const Columns<StoredHeader> kHeaderColumns{
    {"org_id", &McpAuthHeader::org_id},
    {"id", &McpAuthHeader::id},
    {"name", &McpAuthHeader::name},
    {"mcp_server_id", &McpAuthHeader::mcp_server_id},
    {"header_key", &McpAuthHeader::header_key},
    {"created_by", &McpAuthHeader::created_by},
    {"created_at", &McpAuthHeader::created_at},
    {"updated_at", &McpAuthHeader::updated_at},
    {"sealed_header_value", &StoredHeader::sealed_value},
    {"version", &StoredHeader::version},
};

// An HTTP field name (RFC 9110 token).
Status validate_header_key(std::string_view key) {
  ANNALS_RETURN_IF_ERROR(validate_text("header_key", key, {kMaxMcpAuthHeaderKeyBytes}));
  static constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              kSpecials.find(c) != std::string_view::npos;
    if (!ok) {
      return Status::invalid_argument("header_key",
                                      "header_key must be an HTTP field name (letters, digits and "
                                      "!#$%&'*+-.^_`|~)");
    }
  }
  return Status::ok();
}

// A header value: a secret that may not break out of its header line.
Status validate_header_value(std::string_view value) {
  ANNALS_RETURN_IF_ERROR(validate_secret("value", value));
  if (value.find_first_of("\r\n") != std::string_view::npos) {
    return Status::invalid_argument("value", "a header value may not contain CR or LF");
  }
  return Status::ok();
}

Status header_id_taken(std::string_view id) {
  return Status::conflict(
      kHeaderIdRule, "auth header id '" + std::string(id) + "' holds, or held, another header");
}

}  // namespace

// --- Shared helpers -------------------------------------------------------------

Result<std::string> SqlMcpAuthRepository::seal(std::string_view org_id, const std::string& purpose,
                                               std::string_view plaintext) {
  ANNALS_ASSIGN_OR_RETURN(Secrets * secrets, ctx_.secrets());
  return secrets->seal(org_id, purpose, plaintext);
}

Result<std::string> SqlMcpAuthRepository::open(std::string_view org_id, const std::string& purpose,
                                               std::string_view sealed) {
  ANNALS_ASSIGN_OR_RETURN(Secrets * secrets, ctx_.secrets());
  return secrets->open(org_id, purpose, sealed);
}

bool SqlMcpAuthRepository::opens_to(std::string_view org_id, const std::string& purpose,
                                    std::string_view sealed, std::string_view plaintext) {
  auto opened = open(org_id, purpose, sealed);
  return opened.is_ok() && *opened == plaintext;
}

Result<std::optional<events::Event>> SqlMcpAuthRepository::mcp_auth_event_at(
    uint64_t position, schema::McpAuthEvent::Which which) {
  ANNALS_ASSIGN_OR_RETURN(auto events, ctx_.journal().read(position, 1));
  if (events.empty() || events.front().type() != events::PayloadType::MCP_AUTH ||
      events.front().payload().getMcpAuth().which() != which) {
    return std::optional<events::Event>();
  }
  return std::optional<events::Event>(std::move(events.front()));
}

// --- Auth headers -----------------------------------------------------------------

Result<McpAuthHeader> SqlMcpAuthRepository::create_auth_header(std::string_view org_id,
                                                               const NewMcpAuthHeader& h) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_id("id", h.id));
  ANNALS_RETURN_IF_ERROR(validate_name(h.name));
  ANNALS_RETURN_IF_ERROR(validate_id("mcp_server_id", h.mcp_server_id));
  ANNALS_RETURN_IF_ERROR(validate_header_key(h.header_key));
  ANNALS_RETURN_IF_ERROR(validate_header_value(h.value));
  ANNALS_RETURN_IF_ERROR(validate_user("created_by", h.created_by));
  ANNALS_ASSIGN_OR_RETURN(std::string sealed, seal(org_id, header_value_purpose(h.id), h.value));

  auto cmd = Command::create(ctx_, org_id, header_stream(h.id), h.created_by);
  // Creating the same header twice (a retry) appends it once.
  cmd.idempotency_key("mcp_auth_header.create/" + h.id);
  cmd.claim(kHeaderNameRule, name_reservation(h.mcp_server_id, h.name));
  auto p = cmd.add_event().initMcpAuth().initAuthHeaderCreated();
  p.setId(h.id);
  p.setName(h.name);
  p.setMcpServerId(h.mcp_server_id);
  p.setHeaderKey(h.header_key);
  p.setSealedHeaderValue(sealed);
  p.setCreatedBy(h.created_by);

  auto same = [&](uint64_t position) { return header_same_as_created(org_id, position, h); };
  return public_value<McpAuthHeader>(
      cmd.append_create(header_id_taken(h.id), same, [&] { return find_header(org_id, h.id); }));
}

Result<McpAuthHeader> SqlMcpAuthRepository::get_auth_header(std::string_view org_id,
                                                            std::string_view id) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_id("id", id));
  return public_value<McpAuthHeader>(find_header(org_id, id));
}

Result<McpAuthHeader> SqlMcpAuthRepository::update_auth_header(std::string_view org_id,
                                                               std::string_view id,
                                                               const McpAuthHeaderUpdate& u) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_id("id", id));
  ANNALS_RETURN_IF_ERROR(validate_name(u.name));
  ANNALS_RETURN_IF_ERROR(validate_header_key(u.header_key));
  ANNALS_RETURN_IF_ERROR(
      validate_secret_change("value", u.value, Clearable::kNo, validate_header_value));
  ANNALS_ASSIGN_OR_RETURN(auto stored, find_header(org_id, id));

  auto cmd = Command::change(ctx_, org_id, header_stream(id), "system", stored.version);
  // A rename: the old name is freed and the new one claimed in the same append.
  cmd.rename(kHeaderNameRule, name_reservation(stored.mcp_server_id, stored.name),
             name_reservation(stored.mcp_server_id, u.name));
  auto p = cmd.add_event().initMcpAuth().initAuthHeaderUpdated();
  p.setId(std::string(id));
  p.setName(u.name);
  p.setHeaderKey(u.header_key);
  ANNALS_RETURN_IF_ERROR(
      write_secret_change(ctx_, org_id, header_value_purpose(id), u.value, p.initHeaderValue()));
  return public_value<McpAuthHeader>(cmd.append_then([&] { return find_header(org_id, id); }));
}

Status SqlMcpAuthRepository::delete_auth_header(std::string_view org_id, std::string_view id) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_id("id", id));
  ANNALS_ASSIGN_OR_RETURN(auto stored, find_header(org_id, id));

  auto cmd = Command::change(ctx_, org_id, header_stream(id), "system", stored.version);
  cmd.release(kHeaderNameRule, name_reservation(stored.mcp_server_id, stored.name));
  cmd.add_event().initMcpAuth().initAuthHeaderDeleted().setId(std::string(id));
  return cmd.append().status();
}

Result<std::vector<McpAuthHeader>> SqlMcpAuthRepository::list_auth_headers(
    std::string_view org_id, std::string_view mcp_server_id) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_id("mcp_server_id", mcp_server_id));
  return select_all(
      ctx_, org_id,
      kHeaderColumns.select("FROM mcp_auth_headers WHERE org_id = $1 AND mcp_server_id = $2"
                            " ORDER BY created_at DESC, created_position DESC"),
      {std::string(org_id), std::string(mcp_server_id)}, kHeaderColumns.reader<McpAuthHeader>());
}

Result<std::pair<std::string, std::string>> SqlMcpAuthRepository::get_auth_header_value(
    std::string_view org_id, std::string_view id) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_id("id", id));
  ANNALS_ASSIGN_OR_RETURN(auto stored, find_header(org_id, id));
  ANNALS_ASSIGN_OR_RETURN(std::string value,
                          open(org_id, header_value_purpose(id), stored.sealed_value));
  return std::make_pair(stored.header_key, std::move(value));
}

Result<StoredHeader> SqlMcpAuthRepository::find_header(std::string_view org_id,
                                                       std::string_view id) {
  return select_by_id(ctx_, org_id, id, kHeaderColumns,
                      "FROM mcp_auth_headers WHERE org_id = $1 AND id = $2", "auth header");
}

Result<bool> SqlMcpAuthRepository::header_same_as_created(std::string_view org_id,
                                                          uint64_t position,
                                                          const NewMcpAuthHeader& h) {
  ANNALS_ASSIGN_OR_RETURN(auto event,
                          mcp_auth_event_at(position, schema::McpAuthEvent::AUTH_HEADER_CREATED));
  if (!event.has_value()) return false;
  auto c = event->payload().getMcpAuth().getAuthHeaderCreated();
  return same_text(c.getId(), h.id) && same_text(c.getName(), h.name) &&
         same_text(c.getMcpServerId(), h.mcp_server_id) &&
         same_text(c.getHeaderKey(), h.header_key) && same_text(c.getCreatedBy(), h.created_by) &&
         opens_to(org_id, header_value_purpose(h.id), text(c.getSealedHeaderValue()), h.value);
}

}  // namespace mcp_auth_detail

std::unique_ptr<McpAuthRepository> make_mcp_auth_repository(RepositoryContext& context) {
  return std::make_unique<mcp_auth_detail::SqlMcpAuthRepository>(context);
}

}  // namespace annals::repositories
