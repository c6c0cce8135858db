// A read table's columns, each with the member of a struct it fills: one
// list gives both the SELECT list of a query and the reading of its rows.
// The member's type says how its column is read: text, an optional text,
// an integer, a boolean, a time in microseconds (Timestamp), a stream
// version (uint64_t), an enum by its name in its table
// (repositories/enum_names.h), any of them NULL-able as a std::optional.
//
//   using StoredToken = Versioned<ApiToken>;   // the token and its stream's version
//   const Columns<StoredToken> kColumns{
//       {"id", &ApiToken::id},
//       {"status", &ApiToken::status},
//       {"created_at", &ApiToken::created_at},
//       {"version", &StoredToken::version},
//   };
//   select_one(ctx, org_id, kColumns.select("FROM api_tokens WHERE org_id = $1 AND id = $2"),
//              params, not_found, kColumns.reader());        // a StoredToken
//   select_all(ctx, org_id, kColumns.select("FROM api_tokens WHERE org_id = $1"), params,
//              kColumns.reader<ApiToken>());                 // the public ApiToken of each row
//
// A member may be one of a base of the struct (the public value a stored
// row extends, as Versioned does) or, given as a pair, a member of a member
// ({"capabilities_vision", &ModelMetadata::capabilities, &ModelCapabilities::vision}).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "annals/clock.h"
#include "projections/database.h"
#include "repositories/common.h"
#include "repositories/enum_names.h"

namespace annals::repositories {

// How column `i` of `row` becomes a member of each type.
inline void read_column(const db::Row& row, size_t i, std::string& out) { out = row.text(i); }
inline void read_column(const db::Row& row, size_t i, int64_t& out) { out = row.i64(i); }
// A stream version.
inline void read_column(const db::Row& row, size_t i, uint64_t& out) {
  out = static_cast<uint64_t>(row.i64(i));
}
inline void read_column(const db::Row& row, size_t i, bool& out) { out = row.boolean(i); }
// Microseconds since the epoch.
inline void read_column(const db::Row& row, size_t i, Timestamp& out) {
  out = from_micros(row.i64(i));
}
// An enum, by its name in its table (repositories/enum_names.h).
template <typename E>
requires std::is_enum_v<E>
void read_column(const db::Row& row, size_t i, E& out) { out = parse(names_of(out), row.text(i)); }
// NULL is std::nullopt.
template <typename T>
void read_column(const db::Row& row, size_t i, std::optional<T>& out) {
  if (row.is_null(i)) {
    out.reset();
    return;
  }
  T value{};
  read_column(row, i, value);
  out = std::move(value);
}

// A row as a repository reads it: the public value `T` and the version of
// its stream (which the repository's next command on the stream expects).
template <typename T>
struct Versioned : T {
  uint64_t version = 0;
};

// One column: its name in the SELECT list (an expression such as "t.id" in
// a join) and how it fills the struct `S`.
template <typename S>
class Column {
 public:
  // A member of `S` or of a base of it.
  template <typename M, typename Owner>
  requires std::is_base_of_v<Owner, S> Column(std::string_view name, M Owner::*member)
      : name_(name),
        read_([member](S& s, const db::Row& row, size_t i) { read_column(row, i, s.*member); }) {}

  // A sealed secret, NULL when there is none: the sealed text, and the
  // flag that says whether there is one (has_api_key).
  template <typename SealedOwner, typename FlagOwner>
  requires std::is_base_of_v<SealedOwner, S> && std::is_base_of_v<FlagOwner, S> Column(
      std::string_view name, std::optional<std::string> SealedOwner::*sealed,
      bool FlagOwner::*present)
      : name_(name), read_([sealed, present](S& s, const db::Row& row, size_t i) {
          read_column(row, i, s.*sealed);
          s.*present = (s.*sealed).has_value();
        }) {}

  // A member of the member `part` of `S` (or of a base of it).
  template <typename M, typename Part, typename Owner>
  requires std::is_base_of_v<Owner, S> Column(std::string_view name, Part Owner::*part,
                                              M Part::*member)
      : name_(name), read_([part, member](S& s, const db::Row& row, size_t i) {
          read_column(row, i, (s.*part).*member);
        }) {}

  std::string_view name() const { return name_; }
  void read(S& s, const db::Row& row, size_t i) const { read_(s, row, i); }

 private:
  std::string_view name_;
  std::function<void(S&, const db::Row&, size_t)> read_;
};

// The columns a query selects, in order.
template <typename S>
class Columns {
 public:
  Columns(std::initializer_list<Column<S>> columns) : columns_(columns) {
    for (const auto& c : columns_) {
      if (!list_.empty()) list_ += ", ";
      list_ += c.name();
    }
  }

  // "a, b, c": the SELECT list.
  const std::string& list() const { return list_; }
  size_t size() const { return columns_.size(); }

  // "SELECT <the list> <rest>", `rest` being "FROM ... WHERE ...".
  std::string select(std::string_view rest) const {
    return "SELECT " + list_ + " " + std::string(rest);
  }

  // The struct the row fills; the row may hold further columns after these.
  S read(const db::Row& row) const {
    S s{};
    for (size_t i = 0; i < columns_.size(); ++i) columns_[i].read(s, row, i);
    return s;
  }

  // A row reader for select_one, select_all and select_page
  // (repositories/common.h): each row as `S`, or as `T`, a base of `S` (the
  // public value of a stored row). The columns must outlive it.
  template <typename T = S>
  requires std::is_base_of_v<T, S>
  auto reader() const {
    return [this](const db::Row& row) -> T { return read(row); };
  }

 private:
  std::vector<Column<S>> columns_;
  std::string list_;
};

// The row of `org_id` that `columns.select(rest)` finds by its id `id`
// ($1 the org, $2 the id), or kNotFound "<what> '<id>' not found".
template <typename S>
Result<S> select_by_id(RepositoryContext& ctx, std::string_view org_id, std::string_view id,
                       const Columns<S>& columns, std::string_view rest, std::string_view what) {
  return select_one(ctx, org_id, columns.select(rest), {std::string(org_id), std::string(id)},
                    std::string(what) + " '" + std::string(id) + "' not found", columns.reader());
}

}  // namespace annals::repositories
