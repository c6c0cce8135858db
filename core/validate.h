// Input checks shared by every component. Each returns InvalidArgument naming
// the field, so a caller always learns which input was wrong.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string_view>

#include "annals/status.h"

namespace annals {

inline constexpr size_t kMaxOrgIdLength = 64;

// org_id: non-empty, at most 64 characters of [A-Za-z0-9_.-].
Status validate_org_id(std::string_view org_id);

struct TextRule {
  size_t max_bytes;
  bool allow_empty = false;
};

// Text: valid UTF-8, no NUL byte, within the size rule. Quotes, SQL and any
// other printable content are just data.
Status validate_text(std::string_view field, std::string_view value, TextRule rule);

// Identifier-like text: non-empty, at most max_bytes of [A-Za-z0-9_.:-].
Status validate_identifier(std::string_view field, std::string_view value, size_t max_bytes);

// One of the listed values, exactly.
Status validate_enum(std::string_view field, std::string_view value,
                     std::initializer_list<std::string_view> allowed);

bool is_valid_utf8(std::string_view s);

}  // namespace annals
