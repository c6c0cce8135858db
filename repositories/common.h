// Small helpers every repository uses.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "annals/status.h"
#include "core/fold.h"  // ascii_lower, trim: shared with the projections
#include "projections/database.h"

namespace annals::repositories {

// Valid JSON text (kept byte for byte; only checked).
Status validate_json(std::string_view field, std::string_view text, size_t max_bytes);

// A random RFC 4122 version-4 UUID, lower-case hex with dashes.
std::string new_uuid();

// A nullable text column or parameter.
inline db::Value nullable(const std::optional<std::string>& v) {
  return v.has_value() ? db::Value(*v) : db::Value(db::Null{});
}
inline db::Value nullable(const std::optional<int64_t>& v) {
  return v.has_value() ? db::Value(*v) : db::Value(db::Null{});
}
inline std::optional<std::string> optional_text(const db::Row& row, size_t i) {
  return row.is_null(i) ? std::nullopt : std::optional<std::string>(row.text(i));
}
inline std::optional<int64_t> optional_i64(const db::Row& row, size_t i) {
  return row.is_null(i) ? std::nullopt : std::optional<int64_t>(row.i64(i));
}

}  // namespace annals::repositories
