// Small helpers every repository uses.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "annals/status.h"
#include "core/fold.h"  // ascii_lower, trim: shared with the projections
#include "projections/database.h"
#include "repositories/context.h"

namespace annals::repositories {

// Valid JSON text (kept byte for byte; only checked).
Status validate_json(std::string_view field, std::string_view text, size_t max_bytes);

// A random RFC 4122 version-4 UUID, lower-case hex with dashes.
std::string new_uuid();

// A name made of a fixed prefix and an id: a stream ("token/<id>"), or the
// purpose a secret is sealed for ("toolsets.api_key/<id>").
struct Prefixed {
  std::string_view prefix;
  std::string operator()(std::string_view id) const {
    return std::string(prefix) + std::string(id);
  }
};

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

// The public value `T` of a stored row `S`, which extends it with what the
// repository alone needs (its stream's version, sealed secrets).
template <typename T, typename S>
requires std::is_base_of_v<T, S> Result<T> public_value(Result<S> stored) {
  if (!stored.is_ok()) return stored.status();
  return T(std::move(stored).value());
}

// `found`, unless its `owner` is another user than `user_id`: then kNotFound
// with `not_found`, as when there is no such row (a user never learns of
// another user's rows).
template <typename S, typename Owner>
requires std::is_base_of_v<Owner, S> Result<S> owned_by(Result<S> found, std::string Owner::*owner,
                                                        std::string_view user_id,
                                                        std::string not_found) {
  if (found.is_ok() && found.value().*owner != user_id) {
    return Status::not_found(std::move(not_found));
  }
  return found;
}

// The rows `sql` selects, read in a transaction scoped to `org_id`.
Result<std::vector<db::Row>> select_rows(RepositoryContext& ctx, std::string_view org_id,
                                         std::string_view sql,
                                         const std::vector<db::Value>& params);

// What `from_row` makes of a row.
template <typename FromRow>
using RowOf = std::decay_t<std::invoke_result_t<FromRow&, const db::Row&>>;

// The first row `sql` selects in `org_id`, made by `from_row`, or kNotFound
// with `not_found` when it selects none.
template <typename FromRow>
Result<RowOf<FromRow>> select_one(RepositoryContext& ctx, std::string_view org_id,
                                  std::string_view sql, const std::vector<db::Value>& params,
                                  std::string not_found, FromRow from_row) {
  ANNALS_ASSIGN_OR_RETURN(auto rows, select_rows(ctx, org_id, sql, params));
  if (rows.empty()) return Status::not_found(std::move(not_found));
  return from_row(rows.front());
}

// Every row `sql` selects in `org_id`, made by `from_row`, in order.
template <typename FromRow>
Result<std::vector<RowOf<FromRow>>> select_all(RepositoryContext& ctx, std::string_view org_id,
                                               std::string_view sql,
                                               const std::vector<db::Value>& params,
                                               FromRow from_row) {
  ANNALS_ASSIGN_OR_RETURN(auto rows, select_rows(ctx, org_id, sql, params));
  std::vector<RowOf<FromRow>> out;
  out.reserve(rows.size());
  for (const auto& row : rows) out.push_back(from_row(row));
  return out;
}

// One page of a list, both queries in one read transaction of `org_id`:
// `count_sql` counts the matching rows with `params`; `rows_sql` selects the
// page with `params` followed by its LIMIT and OFFSET (the next two
// placeholders).
template <typename FromRow>
Result<Page<RowOf<FromRow>>> select_page(RepositoryContext& ctx, std::string_view org_id,
                                         std::string_view count_sql, std::string_view rows_sql,
                                         std::vector<db::Value> params, int64_t page,
                                         int64_t per_page, FromRow from_row) {
  ANNALS_ASSIGN_OR_RETURN(auto txn, ctx.read(org_id));
  ANNALS_ASSIGN_OR_RETURN(auto count, txn->query(count_sql, params));
  params.push_back(per_page);
  params.push_back((page - 1) * per_page);
  ANNALS_ASSIGN_OR_RETURN(auto rows, txn->query(rows_sql, params));
  Page<RowOf<FromRow>> out;
  out.total = count.front().i64(0);
  out.rows.reserve(rows.size());
  for (const auto& row : rows) out.rows.push_back(from_row(row));
  return out;
}

}  // namespace annals::repositories
