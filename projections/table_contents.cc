#include "projections/table_contents.h"

#include <cstdio>

#include "core/sha256.h"

namespace annals::projections {
namespace {

// A value as text that keeps its type: "NULL", "i:42", "s:5:hello", ...
void append_value(std::string* out, const db::Value& v) {
  if (std::holds_alternative<db::Null>(v)) {
    *out += "NULL";
  } else if (auto* b = std::get_if<bool>(&v)) {
    *out += *b ? "b:t" : "b:f";
  } else if (auto* i = std::get_if<int64_t>(&v)) {
    *out += "i:" + std::to_string(*i);
  } else if (auto* d = std::get_if<double>(&v)) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "d:%.17g", *d);
    *out += buf;
  } else {
    const auto& s = std::get<std::string>(v);
    *out += "s:" + std::to_string(s.size()) + ":" + s;
  }
}

// For messages: col='value', with the value cut short.
std::string describe_value(const db::Value& v) {
  if (std::holds_alternative<db::Null>(v)) return "NULL";
  if (auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (auto* d = std::get_if<double>(&v)) return std::to_string(*d);
  std::string s = std::get<std::string>(v);
  if (s.size() > 60) s = s.substr(0, 60) + "…";
  return "'" + s + "'";
}

Result<std::vector<std::string>> list_tables(db::Transaction& txn, db::Dialect dialect,
                                             const std::string& schema) {
  std::vector<std::string> out;
  if (dialect == db::Dialect::kSqlite) {
    ANNALS_ASSIGN_OR_RETURN(auto rows,
                            txn.query("SELECT name FROM sqlite_master WHERE type = 'table'"
                                      " AND name NOT LIKE 'sqlite_%' ORDER BY name"));
    for (const auto& r : rows) out.push_back(r.text(0));
  } else {
    ANNALS_ASSIGN_OR_RETURN(
        auto rows,
        txn.query("SELECT c.relname FROM pg_class c"
                  " JOIN pg_namespace n ON n.oid = c.relnamespace"
                  " WHERE n.nspname IN ($1::text, $1::text || '_meta') AND c.relkind = 'r'"
                  " ORDER BY c.relname",
                  {schema}));
    for (const auto& r : rows) out.push_back(r.text(0));
  }
  return out;
}

Result<std::vector<std::string>> primary_key(db::Transaction& txn, db::Dialect dialect,
                                             const std::string& schema, const std::string& table) {
  std::vector<std::string> out;
  if (dialect == db::Dialect::kSqlite) {
    ANNALS_ASSIGN_OR_RETURN(
        auto rows,
        txn.query("SELECT name FROM pragma_table_info($1) WHERE pk > 0 ORDER BY pk", {table}));
    for (const auto& r : rows) out.push_back(r.text(0));
  } else {
    ANNALS_ASSIGN_OR_RETURN(
        auto rows,
        txn.query("SELECT a.attname FROM pg_index i"
                  " JOIN pg_class c ON c.oid = i.indrelid"
                  " JOIN pg_namespace n ON n.oid = c.relnamespace"
                  " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY (i.indkey)"
                  " WHERE i.indisprimary AND n.nspname IN ($1::text, $1::text || '_meta') AND "
                  "c.relname = $2"
                  " ORDER BY array_position(i.indkey::int2[], a.attnum)",
                  {schema, table}));
    for (const auto& r : rows) out.push_back(r.text(0));
  }
  return out;
}

}  // namespace

Result<std::map<std::string, TableContents>> read_tables(db::Transaction& txn, db::Dialect dialect,
                                                         const std::string& schema) {
  std::map<std::string, TableContents> out;
  ANNALS_ASSIGN_OR_RETURN(auto tables, list_tables(txn, dialect, schema));
  for (const auto& table : tables) {
    // The migration record holds when each migration ran: not contents.
    if (table == "annals_migrations") continue;
    ANNALS_ASSIGN_OR_RETURN(auto key_columns, primary_key(txn, dialect, schema, table));
    std::string columns_sql =
        dialect == db::Dialect::kSqlite
            ? "SELECT name FROM pragma_table_info($1) ORDER BY cid"
            : "SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
              " JOIN pg_namespace n ON n.oid = c.relnamespace"
              " WHERE n.nspname IN ($2::text, $2::text || '_meta') AND c.relname = $1"
              " AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum";
    std::vector<db::Value> params{table};
    if (dialect == db::Dialect::kPostgres) params.push_back(schema);
    ANNALS_ASSIGN_OR_RETURN(auto column_rows, txn.query(columns_sql, params));
    TableContents contents;
    std::string select = "SELECT ";
    for (size_t i = 0; i < column_rows.size(); ++i) {
      contents.columns.push_back(column_rows[i].text(0));
      select += (i ? ", " : "") + std::string("\"") + column_rows[i].text(0) + "\"";
    }
    if (contents.columns.empty()) continue;
    select += " FROM \"" + table + "\"";
    ANNALS_ASSIGN_OR_RETURN(auto rows, txn.query(select));
    for (const auto& row : rows) {
      std::string text;
      std::string key;
      for (size_t c = 0; c < row.size(); ++c) {
        append_value(&text, row.at(c));
        text += '|';
        bool in_key = key_columns.empty();
        for (const auto& k : key_columns) in_key = in_key || k == contents.columns[c];
        if (in_key) {
          key += (key.empty() ? "" : ", ") + contents.columns[c] + "=" + describe_value(row.at(c));
        }
      }
      contents.rows[key] = std::move(text);
    }
    Sha256 digest;
    for (const auto& [key, text] : contents.rows) {
      digest.update(key);
      digest.update("\n");
      digest.update(text);
      digest.update("\n");
    }
    contents.digest = digest.hex();
    out[table] = std::move(contents);
  }
  return out;
}

Result<std::map<std::string, TableContents>> read_all_tables(db::Database& database,
                                                             const std::string& pg_schema) {
  ANNALS_ASSIGN_OR_RETURN(auto txn, database.begin(db::Access::kRead));
  return read_tables(*txn, database.dialect(), pg_schema);
}

std::vector<TableDifference> compare_tables(const std::map<std::string, TableContents>& live,
                                            const std::map<std::string, TableContents>& rebuilt,
                                            size_t limit, bool* truncated) {
  std::vector<TableDifference> out;
  *truncated = false;
  auto add = [&](const std::string& table, const std::string& key, const std::string& what) {
    if (out.size() >= limit) {
      *truncated = true;
      return;
    }
    out.push_back({table, key, what});
  };
  static const TableContents kEmpty;
  std::map<std::string, bool> tables;
  for (const auto& [t, c] : live) tables[t] = true;
  for (const auto& [t, c] : rebuilt) tables[t] = true;
  for (const auto& [table, unused] : tables) {
    auto l = live.find(table);
    auto r = rebuilt.find(table);
    if (l == live.end()) {
      add(table, "", "table only in rebuilt");
      continue;
    }
    if (r == rebuilt.end()) {
      add(table, "", "table only in live");
      continue;
    }
    if (l->second.digest == r->second.digest) continue;
    if (l->second.columns != r->second.columns) add(table, "", "columns differ");
    for (const auto& [key, text] : l->second.rows) {
      auto other = r->second.rows.find(key);
      if (other == r->second.rows.end()) {
        add(table, key, "only in live");
      } else if (other->second != text) {
        add(table, key, "differs");
      }
    }
    for (const auto& [key, text] : r->second.rows) {
      if (!l->second.rows.count(key)) add(table, key, "only in rebuilt");
    }
  }
  return out;
}

}  // namespace annals::projections
