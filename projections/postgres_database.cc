#include "projections/postgres_database.h"

#include <cctype>
#include <cstdio>
#include <utility>
#include <vector>

#include "projections/postgres_url.h"

namespace annals::db {
namespace {

std::string first_line(const std::string& s) {
  auto nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

// What a statement does and to which table, and nothing of its values:
// "INSERT INTO api_tokens", "UPDATE settings", "SELECT set_config". Errors
// name deferred statements this way (their text holds the values as
// literals).
std::string statement_shape(std::string_view sql) {
  std::vector<std::string> words;
  size_t i = 0;
  while (words.size() < 4 && i < sql.size()) {
    while (i < sql.size() && std::isspace(static_cast<unsigned char>(sql[i]))) ++i;
    size_t start = i;
    while (i < sql.size() && (std::isalnum(static_cast<unsigned char>(sql[i])) || sql[i] == '_' ||
                              sql[i] == '.' || sql[i] == '"')) {
      ++i;
    }
    if (i == start) break;  // punctuation, a literal, a parameter: no more names
    words.emplace_back(sql.substr(start, i - start));
  }
  if (words.empty()) return "a statement";
  std::string verb = words[0];
  for (char& c : verb) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string out = verb;
  for (size_t w = 1; w < words.size(); ++w) {
    std::string upper = words[w];
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (upper == "INTO" || upper == "FROM" || upper == "ONLY") {
      out += " " + upper;
      continue;
    }
    out += " " + words[w];
    break;
  }
  return out;
}

// Column values by type OID: booleans and integers become typed values,
// everything else stays text.
Value to_value(const pqxx::field& f) {
  if (f.is_null()) return Null{};
  switch (f.type()) {
    case 16:  // bool
      return f.c_str()[0] == 't';
    case 20:  // int8
    case 21:  // int2
    case 23:  // int4
    case 26:  // oid
      return static_cast<int64_t>(std::strtoll(f.c_str(), nullptr, 10));
    case 700:  // float4
    case 701:  // float8
      return std::strtod(f.c_str(), nullptr);
    default:
      return std::string(f.c_str(), f.size());
  }
}

class PgTransaction final : public Transaction {
 public:
  PgTransaction(PgDatabase* owner, std::unique_ptr<PgConnection> conn, Access access)
      : owner_(owner), conn_(std::move(conn)) {
    if (access == Access::kRead) {
      // One snapshot for every statement of the read (a count and its page agree).
      txn_ =
          std::make_unique<pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>>(conn_->raw());
    } else {
      txn_ = std::make_unique<pqxx::work>(conn_->raw());
    }
  }

  ~PgTransaction() override {
    try {
      while (!subs_.empty()) subs_.pop_back();
      txn_.reset();  // aborts unless committed
    } catch (const std::exception&) {
      conn_->broken = true;
    }
    owner_->release(std::move(conn_));
  }

  Status set_org(std::string_view org_id) override {
    if (org_ == org_id) return Status::ok();
    // Transaction-local (the third argument): nothing outlives this
    // transaction on a pooled connection. Deferred: it travels with the
    // statements it scopes.
    Status s = execute_deferred("SELECT set_config('app.current_org_id', $1, true)",
                                {std::string(org_id)});
    if (s.is_ok()) org_ = std::string(org_id);
    return s;
  }

  Status execute_deferred(std::string_view sql, const std::vector<Value>& params) override {
    ANNALS_ASSIGN_OR_RETURN(std::string statement, with_literals(sql, params));
    pending_ += statement;
    pending_ += ";\n";
    ++pending_count_;
    std::string shape = statement_shape(sql);
    if (pending_shapes_.empty() || pending_shapes_.back().first != shape) {
      pending_shapes_.emplace_back(std::move(shape), 0);
    }
    ++pending_shapes_.back().second;
    if (pending_.size() >= kMaxPendingBytes) return flush();
    return Status::ok();
  }

  Status execute_script(std::string_view sql) override {
    ANNALS_RETURN_IF_ERROR(flush());
    try {
      current().exec(std::string(sql));
      return Status::ok();
    } catch (const std::exception& e) {
      return fail(e, sql);
    }
  }

  Result<int64_t> execute(std::string_view sql, const std::vector<Value>& params) override {
    ANNALS_RETURN_IF_ERROR(flush());
    ANNALS_ASSIGN_OR_RETURN(pqxx::result r, run(sql, params));
    return static_cast<int64_t>(r.affected_rows());
  }

  Result<std::vector<Row>> query(std::string_view sql, const std::vector<Value>& params) override {
    ANNALS_RETURN_IF_ERROR(flush());
    ANNALS_ASSIGN_OR_RETURN(pqxx::result r, run(sql, params));
    std::vector<Row> rows;
    rows.reserve(r.size());
    for (const auto& row : r) {
      std::vector<Value> values;
      values.reserve(row.size());
      for (const auto& field : row) values.push_back(to_value(field));
      rows.emplace_back(std::move(values));
    }
    return rows;
  }

  // Savepoints are libpqxx subtransactions: after an error inside one,
  // libpqxx closes it (not the whole transaction), and statements go to the
  // innermost one still open.
  Status savepoint(std::string_view name) override {
    ANNALS_RETURN_IF_ERROR(flush());  // what is deferred so far belongs outside it
    try {
      subs_.push_back({std::string(name),
                       std::make_unique<pqxx::subtransaction>(current(), std::string(name))});
      return Status::ok();
    } catch (const std::exception& e) {
      return fail(e, "SAVEPOINT");
    }
  }

  Status release_savepoint(std::string_view name) override {
    if (subs_.empty() || subs_.back().name != name) {
      return Status::internal("no open savepoint '" + std::string(name) + "' to release");
    }
    Status s = flush();
    if (s.is_ok()) {
      try {
        subs_.back().txn->commit();
      } catch (const std::exception& e) {
        s = fail(e, "RELEASE SAVEPOINT");
      }
    }
    if (s.is_ok()) subs_.pop_back();  // on an error it stays, to be rolled back
    return s;
  }

  Status rollback_to_savepoint(std::string_view name) override {
    pending_.clear();  // deferred statements of the part being undone
    pending_count_ = 0;
    pending_shapes_.clear();
    org_.clear();  // set_config(..., true) since the savepoint is undone too
    bool found = false;
    while (!subs_.empty() && !found) {
      found = subs_.back().name == name;
      try {
        subs_.back().txn->abort();
      } catch (const std::exception& e) {
        subs_.pop_back();
        return fail(e, "ROLLBACK TO SAVEPOINT");
      }
      subs_.pop_back();
    }
    if (!found) return Status::internal("no open savepoint '" + std::string(name) + "'");
    return Status::ok();
  }

  Status commit() override {
    if (committed_) return Status::internal("transaction already ended");
    ANNALS_RETURN_IF_ERROR(flush());
    try {
      while (!subs_.empty()) {
        subs_.back().txn->commit();
        subs_.pop_back();
      }
      txn_->commit();
      committed_ = true;
      return Status::ok();
    } catch (const std::exception& e) {
      return fail(e, "COMMIT");
    }
  }

 private:
  static constexpr size_t kMaxPendingBytes = 1 << 20;

  // Sends every deferred statement in one simple-query round trip.
  Status flush() {
    if (pending_.empty()) return Status::ok();
    std::string batch = std::move(pending_);
    size_t count = pending_count_;
    auto shapes = std::move(pending_shapes_);
    pending_.clear();
    pending_count_ = 0;
    pending_shapes_.clear();
    try {
      current().exec(batch);
      return Status::ok();
    } catch (const std::exception& e) {
      // The batch holds the values as literals: it is named by its
      // statements' verbs and tables, in order, never quoted.
      return fail(e, std::to_string(count) + " deferred statements: " + describe(shapes));
    }
  }

  // "SELECT set_config, INSERT INTO api_tokens x3, ..." for runs of statements.
  static std::string describe(const std::vector<std::pair<std::string, size_t>>& shapes) {
    constexpr size_t kMaxRuns = 6;
    std::string out;
    for (size_t i = 0; i < shapes.size() && i < kMaxRuns; ++i) {
      if (i > 0) out += ", ";
      out += shapes[i].first;
      if (shapes[i].second > 1) out += " x" + std::to_string(shapes[i].second);
    }
    if (shapes.size() > kMaxRuns) out += ", ...";
    return out;
  }

  // The statement with $N replaced by SQL literals of the values (quoted by
  // libpq for this connection's encoding), outside string literals only.
  Result<std::string> with_literals(std::string_view sql, const std::vector<Value>& params) {
    std::string out;
    out.reserve(sql.size() + 32 * params.size());
    bool in_string = false;
    for (size_t i = 0; i < sql.size(); ++i) {
      char c = sql[i];
      if (c == '\'') in_string = !in_string;
      if (in_string || c != '$' || i + 1 >= sql.size() ||
          !std::isdigit(static_cast<unsigned char>(sql[i + 1]))) {
        out.push_back(c);
        continue;
      }
      size_t j = i + 1;
      size_t n = 0;
      while (j < sql.size() && std::isdigit(static_cast<unsigned char>(sql[j])))
        n = n * 10 + (sql[j++] - '0');
      if (n == 0 || n > params.size()) {
        return Status::internal("SQL names parameter $" + std::to_string(n) + " but " +
                                std::to_string(params.size()) + " were given: " + std::string(sql));
      }
      const Value& v = params[n - 1];
      if (std::holds_alternative<Null>(v)) {
        out += "NULL";
      } else if (auto* b = std::get_if<bool>(&v)) {
        out += *b ? "TRUE" : "FALSE";
      } else if (auto* x = std::get_if<int64_t>(&v)) {
        out += "(" + std::to_string(*x) + ")";
      } else if (auto* d = std::get_if<double>(&v)) {
        char buf[40];
        std::snprintf(buf, sizeof buf, "'%.17g'::float8", *d);
        out += buf;
      } else {
        try {
          out += txn_->quote(std::get<std::string>(v));
        } catch (const std::exception& e) {
          return fail(e, "quoting a value");
        }
      }
      i = j - 1;
    }
    return out;
  }

  Result<pqxx::result> run(std::string_view sql, const std::vector<Value>& params) {
    try {
      const std::string& name = conn_->prepared(sql);
      std::vector<std::string> text;
      text.reserve(params.size());
      std::vector<const char*> args;
      args.reserve(params.size());
      for (const auto& v : params) {
        if (std::holds_alternative<Null>(v)) {
          text.emplace_back();
        } else if (auto* b = std::get_if<bool>(&v)) {
          text.emplace_back(*b ? "t" : "f");
        } else if (auto* i = std::get_if<int64_t>(&v)) {
          text.emplace_back(std::to_string(*i));
        } else if (auto* d = std::get_if<double>(&v)) {
          char buf[32];
          std::snprintf(buf, sizeof buf, "%.17g", *d);
          text.emplace_back(buf);
        } else {
          text.emplace_back(std::get<std::string>(v));
        }
      }
      for (size_t i = 0; i < params.size(); ++i) {
        args.push_back(std::holds_alternative<Null>(params[i]) ? nullptr : text[i].c_str());
      }
      return current().exec_prepared(name, pqxx::prepare::make_dynamic_params(args));
    } catch (const std::exception& e) {
      return fail(e, sql);
    }
  }

  Status fail(const std::exception& e, std::string_view sql) {
    if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr ||
        dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr) {
      conn_->broken = true;
    }
    return status_from_pqxx(e, sql);
  }

  PgDatabase* owner_;
  std::unique_ptr<PgConnection> conn_;
  std::unique_ptr<pqxx::dbtransaction> txn_;
  struct Savepoint {
    std::string name;
    std::unique_ptr<pqxx::subtransaction> txn;
  };
  std::vector<Savepoint> subs_;  // open savepoints, innermost last
  pqxx::dbtransaction& current() { return subs_.empty() ? *txn_ : *subs_.back().txn; }
  std::string org_;
  bool committed_ = false;
  std::string pending_;  // deferred statements, not yet sent
  size_t pending_count_ = 0;
  // The pending statements' shapes (statement_shape), run-length: for errors.
  std::vector<std::pair<std::string, size_t>> pending_shapes_;
};

}  // namespace

const std::string& PgConnection::prepared(std::string_view sql) {
  auto it = names_.find(sql);
  if (it != names_.end()) return it->second;
  std::string name = "annals_" + std::to_string(names_.size() + 1);
  conn_->prepare(name, std::string(sql));
  return names_.emplace(std::string(sql), std::move(name)).first->second;
}

std::string not_set_up_message(std::string_view sqlstate, std::string_view message) {
  bool missing_role = message.find("role \"annals_") != std::string_view::npos &&
                      message.find("does not exist") != std::string_view::npos;
  if (sqlstate != "42P01" && sqlstate != "3F000" && !missing_role) return {};
  // What PostgreSQL said, without libpq's prefixes ("connection to server
  // ... failed: FATAL:  ", "ERROR:  ").
  for (std::string_view prefix : {"FATAL:  ", "ERROR:  "}) {
    if (auto at = message.rfind(prefix); at != std::string_view::npos) {
      message.remove_prefix(at + prefix.size());
    }
  }
  return "the database is not set up for Annals (" + std::string(message) +
         "): run `annals setup --database <superuser URL>` first";
}

Status status_from_pqxx(const std::exception& e, std::string_view context) {
  std::string message = first_line(e.what());
  std::string where = " (in: " + std::string(context.substr(0, 200)) + ")";
  if (auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    std::string not_set_up = not_set_up_message(sql->sqlstate(), message);
    if (!not_set_up.empty()) return Status::internal(not_set_up);
  }
  if (dynamic_cast<const pqxx::unique_violation*>(&e))
    return Status::conflict("unique", message + where);
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e)) {
    return Status::unavailable("the connection broke during COMMIT; the outcome is unknown: " +
                               message);
  }
  if (dynamic_cast<const pqxx::broken_connection*>(&e)) {
    return Status::unavailable("lost the PostgreSQL connection: " + message);
  }
  if (auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    const std::string& state = sql->sqlstate();
    if (state == "42501") return Status::permission_denied(message + where);
    if (state == "40001" || state == "40P01")
      return Status::unavailable(message + " (retry)" + where);
    if (state.rfind("08", 0) == 0 || state.rfind("57P", 0) == 0) {
      return Status::unavailable("PostgreSQL is unavailable: " + message);
    }
    if (state.rfind("23", 0) == 0 || state.rfind("22", 0) == 0) {
      return Status::invalid_argument("row", message + where);
    }
    return Status::internal("PostgreSQL error " + state + ": " + message + where);
  }
  return Status::internal(message + where);
}

PgDatabase::PgDatabase(std::string url, DatabaseOptions options)
    : url_(std::move(url)), redacted_(redact_url(url_)), options_(std::move(options)) {}

Result<std::unique_ptr<Database>> PgDatabase::open(const std::string& url,
                                                   DatabaseOptions options) {
  std::unique_ptr<PgDatabase> db(new PgDatabase(url, std::move(options)));
  // Connect once now: a bad URL or a privileged role is refused at open.
  ANNALS_ASSIGN_OR_RETURN(auto first, db->connect());
  if (db->options_.require_unprivileged) {
    try {
      pqxx::nontransaction check(first->raw());
      pqxx::result r = check.exec(
          "SELECT r.rolname, r.rolsuper, r.rolbypassrls,"
          " (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
          "   WHERE c.relowner = r.oid AND n.nspname IN ('annals', 'annals_meta')),"
          " EXISTS (SELECT 1 FROM pg_roles o WHERE o.rolname = 'annals_owner'"
          "   AND pg_has_role(r.oid, o.oid, 'MEMBER'))"
          " FROM pg_roles r WHERE r.rolname = current_user");
      std::string role = r[0][0].c_str();
      std::string fix =
          " Annals serves only as a role that cannot bypass row-level security: run"
          " 'annals setup --database <a superuser URL>' once, then connect as"
          " annals_query (queries) and annals_projector (projections).";
      if (r[0][1].c_str()[0] == 't') {
        return Status::permission_denied("role '" + role + "' is a superuser." + fix);
      }
      if (r[0][2].c_str()[0] == 't') {
        return Status::permission_denied("role '" + role + "' has BYPASSRLS." + fix);
      }
      if (std::strtoll(r[0][3].c_str(), nullptr, 10) > 0) {
        return Status::permission_denied("role '" + role + "' owns Annals tables." + fix);
      }
      if (r[0][4].c_str()[0] == 't') {
        return Status::permission_denied("role '" + role + "' can act as annals_owner." + fix);
      }
    } catch (const std::exception& e) {
      return status_from_pqxx(e, "role check");
    }
  }
  db->release(std::move(first));
  return std::unique_ptr<Database>(std::move(db));
}

Result<std::unique_ptr<PgConnection>> PgDatabase::connect() {
  try {
    auto conn = std::make_unique<pqxx::connection>(url_);
    pqxx::nontransaction setup(*conn);
    // Not org-specific, the same on every connection: safe to keep per session.
    setup.exec("SET search_path TO " + setup.quote_name(options_.pg_schema) + ", " +
               setup.quote_name(options_.pg_schema + "_meta"));
    if (!options_.session_role.empty()) {
      setup.exec("SET ROLE " + setup.quote_name(options_.session_role));
    }
    if (options_.read_only) setup.exec("SET default_transaction_read_only = on");
    setup.commit();
    return std::make_unique<PgConnection>(std::move(conn));
  } catch (const pqxx::broken_connection& e) {
    std::string message = first_line(e.what());
    std::string not_set_up = not_set_up_message("", message);
    if (!not_set_up.empty()) return Status::internal(redacted_ + ": " + not_set_up);
    return Status::unavailable("cannot connect to " + redacted_ + ": " + message);
  } catch (const std::exception& e) {
    return status_from_pqxx(e, "connect to " + redacted_);
  }
}

Result<std::unique_ptr<Transaction>> PgDatabase::begin(Access access) {
  // An idle connection may have died since it was used (a terminated
  // backend, a server restart): its BEGIN fails before anything ran, so it is
  // dropped and the next one tried, ending with a new connection. Every
  // pooled connection can be dead at once, so that many tries, plus one.
  Status last;
  for (int attempt = 0; attempt <= options_.pool_size; ++attempt) {
    std::unique_ptr<PgConnection> conn;
    bool pooled = false;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return !idle_.empty() || open_ < options_.pool_size; });
      if (!idle_.empty()) {
        conn = std::move(idle_.back());
        idle_.pop_back();
        pooled = true;
      } else {
        ++open_;
      }
    }
    if (!conn) {
      auto made = connect();
      if (!made.is_ok()) {
        std::lock_guard lock(mu_);
        --open_;
        cv_.notify_one();
        return made.status();
      }
      conn = std::move(made).value();
    }
    try {
      return std::unique_ptr<Transaction>(
          std::make_unique<PgTransaction>(this, std::move(conn), access));
    } catch (const std::exception& e) {
      {
        std::lock_guard lock(mu_);
        --open_;
        cv_.notify_one();
      }
      last = status_from_pqxx(e, "BEGIN");
      bool lost = dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr;
      // A new connection that fails at once, or a failure that is not a
      // lost connection, goes to the caller.
      if (!pooled || !lost) return last;
    }
  }
  return last;
}

void PgDatabase::release(std::unique_ptr<PgConnection> conn) {
  std::lock_guard lock(mu_);
  if (!conn || conn->broken || !conn->raw().is_open()) {
    --open_;
  } else {
    idle_.push_back(std::move(conn));
  }
  cv_.notify_one();
}

}  // namespace annals::db
