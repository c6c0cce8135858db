// The names of the public enums, one table per enum: the public *_name
// functions, the text the read tables hold and the validation of a value all
// read the same table.
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

namespace annals::repositories {

template <typename E>
struct EnumName {
  E value;
  std::string_view name;
};

template <typename E, size_t N>
using EnumNames = std::array<EnumName<E>, N>;

// The name of `value`, or "unknown" for a value outside the table.
template <typename E, size_t N>
constexpr std::string_view name_of(const EnumNames<E, N>& names, E value) {
  for (const auto& n : names) {
    if (n.value == value) return n.name;
  }
  return "unknown";
}

// The value called `name`, or `otherwise` for a name outside the table (a
// read table holds only names a repository wrote).
template <typename E, size_t N>
constexpr E parse(const EnumNames<E, N>& names, std::string_view name, E otherwise) {
  for (const auto& n : names) {
    if (n.name == name) return n.value;
  }
  return otherwise;
}

// OK for a value in the table; otherwise kInvalidArgument on `field`, naming
// the values it may take ("status 7 is not one of: active, inactive").
template <typename E, size_t N>
Status validate_enum(std::string_view field, const EnumNames<E, N>& names, E value) {
  for (const auto& n : names) {
    if (n.value == value) return Status::ok();
  }
  std::string message =
      std::string(field) + " " + std::to_string(static_cast<int>(value)) + " is not one of: ";
  for (size_t i = 0; i < N; ++i) {
    if (i > 0) message += ", ";
    message += names[i].name;
  }
  return Status::invalid_argument(std::string(field), std::move(message));
}

inline constexpr EnumNames<TokenStatus, 2> kTokenStatusNames{{
    {TokenStatus::kActive, "active"},
    {TokenStatus::kInactive, "inactive"},
}};

inline constexpr EnumNames<UserAccessStatus, 3> kUserAccessStatusNames{{
    {UserAccessStatus::kPending, "pending"},
    {UserAccessStatus::kApproved, "approved"},
    {UserAccessStatus::kRejected, "rejected"},
}};

inline constexpr EnumNames<AppAccessFlowType, 2> kAppAccessFlowTypeNames{{
    {AppAccessFlowType::kRedirect, "redirect"},
    {AppAccessFlowType::kPopup, "popup"},
}};

inline constexpr EnumNames<AppAccessStatus, 4> kAppAccessStatusNames{{
    {AppAccessStatus::kDraft, "draft"},
    {AppAccessStatus::kApproved, "approved"},
    {AppAccessStatus::kDenied, "denied"},
    {AppAccessStatus::kFailed, "failed"},
}};

inline constexpr EnumNames<DownloadStatus, 3> kDownloadStatusNames{{
    {DownloadStatus::kPending, "pending"},
    {DownloadStatus::kCompleted, "completed"},
    {DownloadStatus::kError, "error"},
}};

inline constexpr EnumNames<ModelSource, 2> kModelSourceNames{{
    {ModelSource::kModel, "model"},
    {ModelSource::kApi, "api"},
}};

inline constexpr EnumNames<McpAuthType, 3> kMcpAuthTypeNames{{
    {McpAuthType::kPublic, "public"},
    {McpAuthType::kHeader, "header"},
    {McpAuthType::kOauth, "oauth"},
}};

}  // namespace annals::repositories
