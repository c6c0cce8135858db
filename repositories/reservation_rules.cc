#include "repositories/reservation_rules.h"

#include <algorithm>

#include "core/fold.h"
#include "journal/format.h"
#include "repositories/common.h"

namespace annals::repositories {

namespace rules {

std::string slug_value(std::string_view slug, std::string_view user_id) {
  return slug_key(slug) + "/" + std::string(user_id);
}

std::string url_value(std::string_view url) { return url_key(url); }

std::string name_value(std::string_view server_id, std::string_view name) {
  return std::string(server_id) + "/" + name_key(name);
}

std::string alias_id_owner(std::string_view stream, uint64_t created_version) {
  return std::string(stream) + "@" + std::to_string(created_version);
}

bool alias_prefix_reserved(bool has_prefix, std::string_view prefix) {
  return has_prefix && !prefix.empty();
}

}  // namespace rules

namespace {

std::string text(capnp::Text::Reader t) { return std::string(t.begin(), t.size()); }

constexpr std::string_view kMetadataStream = "model_metadata/";

// A reservation as a difference names it: "rule scope 'value'".
std::string readable(const journal::StoredReservation& r) {
  return r.rule + " " + r.scope + " '" + r.value + "'";
}

}  // namespace

void ReservationFold::hold(StreamState& s, const events::Event& e, const char* rule,
                           std::string value, bool across_orgs, std::string owner) {
  Claim c;
  c.reservation.rule = rule;
  c.reservation.scope =
      across_orgs ? std::string(journal::format::kGlobalScope) : std::string(e.org_id());
  c.reservation.value = std::move(value);
  c.reservation.owner = owner.empty() ? std::string(e.stream_id()) : std::move(owner);
  c.position = e.position();
  s.held[rule] = std::move(c);
}

void ReservationFold::apply(const events::Event& e) {
  using events::PayloadType;
  StreamState& s = streams_[std::string(e.org_id()) + '\0' + std::string(e.stream_id())];
  auto payload = e.payload();
  switch (payload.which()) {
    case PayloadType::SETTING_UPSERTED:
      hold(s, e, rules::kSettingKey, text(payload.getSettingUpserted().getKey()));
      return;
    case PayloadType::SETTING_DELETED:
      s.held.erase(rules::kSettingKey);
      return;
    case PayloadType::TOKEN_CREATED:
      hold(s, e, rules::kTokenPrefix, text(payload.getTokenCreated().getTokenPrefix()),
           /*across_orgs=*/true);
      return;
    case PayloadType::TOOLSET: {
      auto t = payload.getToolset();
      switch (t.which()) {
        case schema::ToolsetEvent::APP_TOOLSET_CONFIG_SET:
          hold(s, e, rules::kToolsetConfigType, text(t.getAppToolsetConfigSet().getToolsetType()));
          return;
        case schema::ToolsetEvent::TOOLSET_CREATED: {
          auto c = t.getToolsetCreated();
          hold(s, e, rules::kToolsetSlug,
               rules::slug_value(text(c.getSlug()), text(c.getUserId())));
          return;
        }
        case schema::ToolsetEvent::TOOLSET_UPDATED: {
          auto u = t.getToolsetUpdated();
          hold(s, e, rules::kToolsetSlug,
               rules::slug_value(text(u.getSlug()), text(u.getUserId())));
          return;
        }
        case schema::ToolsetEvent::TOOLSET_DELETED:
          s.held.erase(rules::kToolsetSlug);
          return;
        default:
          return;
      }
    }
    case PayloadType::MCP: {
      auto m = payload.getMcp();
      switch (m.which()) {
        case schema::McpEvent::SERVER_CREATED:
          hold(s, e, rules::kMcpServerUrl, rules::url_value(text(m.getServerCreated().getUrl())));
          return;
        case schema::McpEvent::SERVER_UPDATED:
          hold(s, e, rules::kMcpServerUrl, rules::url_value(text(m.getServerUpdated().getUrl())));
          return;
        case schema::McpEvent::INSTANCE_CREATED: {
          auto i = m.getInstanceCreated();
          hold(s, e, rules::kMcpSlug, rules::slug_value(text(i.getSlug()), text(i.getCreatedBy())));
          return;
        }
        case schema::McpEvent::INSTANCE_UPDATED: {
          auto i = m.getInstanceUpdated();
          hold(s, e, rules::kMcpSlug, rules::slug_value(text(i.getSlug()), text(i.getCreatedBy())));
          return;
        }
        case schema::McpEvent::INSTANCE_DELETED:
          s.held.erase(rules::kMcpSlug);
          return;
        default:
          return;
      }
    }
    case PayloadType::MCP_AUTH: {
      auto a = payload.getMcpAuth();
      switch (a.which()) {
        case schema::McpAuthEvent::AUTH_HEADER_CREATED: {
          auto h = a.getAuthHeaderCreated();
          s.server_id = text(h.getMcpServerId());
          hold(s, e, rules::kMcpAuthHeaderName, rules::name_value(s.server_id, text(h.getName())));
          return;
        }
        case schema::McpAuthEvent::AUTH_HEADER_UPDATED:
          hold(s, e, rules::kMcpAuthHeaderName,
               rules::name_value(s.server_id, text(a.getAuthHeaderUpdated().getName())));
          return;
        case schema::McpAuthEvent::AUTH_HEADER_DELETED:
          s.held.erase(rules::kMcpAuthHeaderName);
          return;
        case schema::McpAuthEvent::OAUTH_CONFIG_CREATED: {
          auto c = a.getOauthConfigCreated();
          hold(s, e, rules::kMcpOAuthConfigName,
               rules::name_value(text(c.getMcpServerId()), text(c.getName())));
          return;
        }
        case schema::McpAuthEvent::OAUTH_CONFIG_DELETED:
          s.held.erase(rules::kMcpOAuthConfigName);
          return;
        default:
          return;
      }
    }
    case PayloadType::MODEL: {
      auto m = payload.getModel();
      switch (m.which()) {
        case schema::ModelEvent::API_MODEL_ALIAS_CREATED: {
          auto c = m.getApiModelAliasCreated();
          hold(s, e, rules::kApiAliasId, text(c.getId()), false,
               rules::alias_id_owner(e.stream_id(), e.stream_version()));
          s.held.erase(rules::kApiAliasPrefix);
          if (rules::alias_prefix_reserved(c.getHasPrefix(), text(c.getPrefix()))) {
            hold(s, e, rules::kApiAliasPrefix, text(c.getPrefix()));
          }
          return;
        }
        case schema::ModelEvent::API_MODEL_ALIAS_UPDATED: {
          auto u = m.getApiModelAliasUpdated();
          if (rules::alias_prefix_reserved(u.getHasPrefix(), text(u.getPrefix()))) {
            // Unchanged, the claim (and the position that made it) stays.
            auto held = s.held.find(rules::kApiAliasPrefix);
            if (held == s.held.end() || held->second.reservation.value != text(u.getPrefix())) {
              hold(s, e, rules::kApiAliasPrefix, text(u.getPrefix()));
            }
          } else {
            s.held.erase(rules::kApiAliasPrefix);
          }
          return;
        }
        case schema::ModelEvent::API_MODEL_ALIAS_DELETED:
          s.held.erase(rules::kApiAliasId);
          s.held.erase(rules::kApiAliasPrefix);
          return;
        case schema::ModelEvent::MODEL_METADATA_UPSERTED: {
          // The stream is named by the identity's digest, the rule's value.
          std::string_view stream = e.stream_id();
          if (stream.substr(0, kMetadataStream.size()) == kMetadataStream) {
            hold(s, e, rules::kModelMetadataIdentity,
                 std::string(stream.substr(kMetadataStream.size())));
          }
          return;
        }
        default:
          return;
      }
    }
    case PayloadType::ACCESS: {
      auto a = payload.getAccess();
      switch (a.which()) {
        case schema::AccessEvent::APP_ACCESS_REQUEST_APPROVED: {
          std::string scope = text(a.getAppAccessRequestApproved().getAccessRequestScope());
          if (!scope.empty()) hold(s, e, rules::kAppAccessRequestScope, std::move(scope));
          return;
        }
        case schema::AccessEvent::USER_ALIAS_CREATED:
          hold(s, e, rules::kUserAliasAlias, text(a.getUserAliasCreated().getAlias()));
          return;
        case schema::AccessEvent::USER_ALIAS_UPDATED:
          hold(s, e, rules::kUserAliasAlias, text(a.getUserAliasUpdated().getAlias()));
          return;
        case schema::AccessEvent::USER_ALIAS_DELETED:
          s.held.erase(rules::kUserAliasAlias);
          return;
        default:
          return;
      }
    }
    default:
      return;
  }
}

std::vector<ReservationFold::Claim> ReservationFold::claims() const {
  std::vector<std::pair<std::string, Claim>> keyed;
  for (const auto& [stream, state] : streams_) {
    for (const auto& [rule, claim] : state.held) {
      const auto& r = claim.reservation;
      keyed.emplace_back(journal::format::reservation_key(r.rule, r.scope, r.value), claim);
    }
  }
  std::sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second.position < b.second.position;
  });
  std::vector<Claim> out;
  out.reserve(keyed.size());
  for (auto& [key, claim] : keyed) out.push_back(std::move(claim));
  return out;
}

std::vector<journal::FamilyDifference> compare_reservations(
    const ReservationFold& fold, const std::vector<journal::StoredReservation>& stored,
    size_t limit) {
  std::map<std::string, const journal::StoredReservation*> held;
  for (const auto& r : stored) {
    held.emplace(journal::format::reservation_key(r.rule, r.scope, r.value), &r);
  }
  std::vector<journal::FamilyDifference> out;
  auto add = [&](std::string key, std::string what) {
    if (out.size() < limit) out.push_back({"reservations", std::move(key), std::move(what)});
  };
  std::string previous_key;
  std::string previous_by;
  for (const auto& claim : fold.claims()) {
    const auto& r = claim.reservation;
    std::string key = journal::format::reservation_key(r.rule, r.scope, r.value);
    std::string by = "stream '" + r.owner + "' (position " + std::to_string(claim.position) + ")";
    if (key == previous_key) {
      // Two streams hold one value: a history no journal would have taken.
      add(readable(r), "claimed by " + previous_by + " and by " + by);
      continue;
    }
    previous_key = key;
    previous_by = by;
    auto it = held.find(key);
    if (it == held.end()) {
      add(readable(r), "missing; the events give it to " + by);
    } else {
      if (it->second->owner != r.owner) {
        add(readable(r), "held by '" + it->second->owner + "'; the events give it to " + by);
      }
      held.erase(it);
    }
  }
  for (const auto& [key, r] : held) {
    add(readable(*r), "held by '" + r->owner + "' but claimed by no event");
  }
  return out;
}

Status ImportReservationCheck::reservations(const std::vector<ReservationLine>& lines) {
  constexpr size_t kMaxListed = 20;
  std::vector<journal::StoredReservation> stored;
  std::map<std::string, uint64_t> line_of;  // readable key -> line
  stored.reserve(lines.size());
  for (const auto& l : lines) {
    const auto& r = l.reservation;
    line_of.emplace(readable(r), l.line);
    stored.push_back(r);
  }
  auto differences = compare_reservations(fold_, stored, kMaxListed + 1);
  if (differences.empty()) return Status::ok();
  std::string message = "the export's reservations disagree with its events:";
  for (size_t i = 0; i < differences.size() && i < kMaxListed; ++i) {
    const auto& d = differences[i];
    auto it = line_of.find(d.key);
    std::string where = it != line_of.end() ? "line " + std::to_string(it->second) + ": "
                                            : std::string("not in the export: ");
    message += "\n  " + where + d.key + ": " + d.what;
  }
  if (differences.size() > kMaxListed) message += "\n  (and more)";
  return Status::invalid_argument("reservation", message);
}

}  // namespace annals::repositories
