// The names of the public enums, one table per enum: the public *_name
// functions, the text the read tables hold, the validation of a value and
// the value the events hold all read the same table.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "annals/access.h"
#include "annals/access_requests.h"
#include "annals/mcp_servers.h"
#include "annals/models.h"
#include "annals/status.h"
#include "annals/tokens.h"
#include "events/event.h"

namespace annals::repositories {

// A value of a public enum `E`, its name, and its value `S` in the events
// (events/*.capnp), where the events hold it.
template <typename E, typename S = E>
struct EnumName {
  E value;
  std::string_view name;
  S schema{};
};

// An enum's table: its values, and the value a name outside the table reads
// as (a read table holds only names a repository wrote). names_of(value)
// finds an enum's table by its type.
template <typename E, size_t N, typename S = E>
struct EnumNames {
  std::array<EnumName<E, S>, N> entries;
  E unknown;
};

// The name of `value`, or "unknown" for a value outside the table.
template <typename E, typename S, size_t N>
constexpr std::string_view name_of(const EnumNames<E, N, S>& names, E value) {
  for (const auto& n : names.entries) {
    if (n.value == value) return n.name;
  }
  return "unknown";
}

// The value called `name`, or the table's `unknown` for a name outside it.
template <typename E, typename S, size_t N>
constexpr E parse(const EnumNames<E, N, S>& names, std::string_view name) {
  for (const auto& n : names.entries) {
    if (n.name == name) return n.value;
  }
  return names.unknown;
}

// The events' value of `value`; the first entry's for a value outside the
// table (values are validated before they are written).
template <typename E, typename S, size_t N>
constexpr S schema_of(const EnumNames<E, N, S>& names, E value) {
  for (const auto& n : names.entries) {
    if (n.value == value) return n.schema;
  }
  return names.entries.front().schema;
}

// OK for a value in the table; otherwise kInvalidArgument on `field`, naming
// the values it may take ("status 7 is not one of: active, inactive").
template <typename E, typename S, size_t N>
Status validate_enum(std::string_view field, const EnumNames<E, N, S>& names, E value) {
  for (const auto& n : names.entries) {
    if (n.value == value) return Status::ok();
  }
  std::string message =
      std::string(field) + " " + std::to_string(static_cast<int>(value)) + " is not one of: ";
  for (size_t i = 0; i < N; ++i) {
    if (i > 0) message += ", ";
    message += names.entries[i].name;
  }
  return Status::invalid_argument(std::string(field), std::move(message));
}

inline constexpr EnumNames<TokenStatus, 2, schema::TokenStatus> kTokenStatusNames{
    .entries = {{
        {TokenStatus::kActive, "active", schema::TokenStatus::ACTIVE},
        {TokenStatus::kInactive, "inactive", schema::TokenStatus::INACTIVE},
    }},
    .unknown = TokenStatus::kInactive,
};
constexpr const auto& names_of(TokenStatus) { return kTokenStatusNames; }

inline constexpr EnumNames<UserAccessStatus, 3, schema::UserAccessStatus> kUserAccessStatusNames{
    .entries = {{
        {UserAccessStatus::kPending, "pending", schema::UserAccessStatus::PENDING},
        {UserAccessStatus::kApproved, "approved", schema::UserAccessStatus::APPROVED},
        {UserAccessStatus::kRejected, "rejected", schema::UserAccessStatus::REJECTED},
    }},
    .unknown = UserAccessStatus::kPending,
};
constexpr const auto& names_of(UserAccessStatus) { return kUserAccessStatusNames; }

inline constexpr EnumNames<AppAccessFlowType, 2, schema::AppAccessFlowType> kAppAccessFlowTypeNames{
    .entries = {{
        {AppAccessFlowType::kRedirect, "redirect", schema::AppAccessFlowType::REDIRECT},
        {AppAccessFlowType::kPopup, "popup", schema::AppAccessFlowType::POPUP},
    }},
    .unknown = AppAccessFlowType::kRedirect,
};
constexpr const auto& names_of(AppAccessFlowType) { return kAppAccessFlowTypeNames; }

// Not in the events: each event of a request says its state.
inline constexpr EnumNames<AppAccessStatus, 4> kAppAccessStatusNames{
    .entries = {{
        {AppAccessStatus::kDraft, "draft"},
        {AppAccessStatus::kApproved, "approved"},
        {AppAccessStatus::kDenied, "denied"},
        {AppAccessStatus::kFailed, "failed"},
    }},
    .unknown = AppAccessStatus::kDraft,
};
constexpr const auto& names_of(AppAccessStatus) { return kAppAccessStatusNames; }

inline constexpr EnumNames<DownloadStatus, 3, schema::DownloadStatus> kDownloadStatusNames{
    .entries = {{
        {DownloadStatus::kPending, "pending", schema::DownloadStatus::PENDING},
        {DownloadStatus::kCompleted, "completed", schema::DownloadStatus::COMPLETED},
        {DownloadStatus::kError, "error", schema::DownloadStatus::ERROR},
    }},
    .unknown = DownloadStatus::kPending,
};
constexpr const auto& names_of(DownloadStatus) { return kDownloadStatusNames; }

inline constexpr EnumNames<ModelSource, 2, schema::ModelSource> kModelSourceNames{
    .entries = {{
        {ModelSource::kModel, "model", schema::ModelSource::MODEL},
        {ModelSource::kApi, "api", schema::ModelSource::API},
    }},
    .unknown = ModelSource::kModel,
};
constexpr const auto& names_of(ModelSource) { return kModelSourceNames; }

inline constexpr EnumNames<McpAuthType, 3, schema::McpInstanceAuthType> kMcpAuthTypeNames{
    .entries = {{
        {McpAuthType::kPublic, "public", schema::McpInstanceAuthType::PUBLIC},
        {McpAuthType::kHeader, "header", schema::McpInstanceAuthType::HEADER},
        {McpAuthType::kOauth, "oauth", schema::McpInstanceAuthType::OAUTH},
    }},
    .unknown = McpAuthType::kPublic,
};
constexpr const auto& names_of(McpAuthType) { return kMcpAuthTypeNames; }

}  // namespace annals::repositories
