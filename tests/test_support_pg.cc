// PostgreSQL for tests: one server per run, one database per test.
#include <pqxx/pqxx>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <random>

#include "projections/postgres_url.h"
#include "tests/test_support.h"

namespace annals::testing {
namespace {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string script() { return std::string(ANNALS_SOURCE_DIR) + "/scripts/pg-test-server"; }

// Runs the script; its last line of output, and whether it succeeded.
bool run_script(const std::string& args, std::string* last_line, std::string* all) {
  std::string cmd = script() + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[512];
  while (p && fgets(buf, sizeof buf, p)) out += buf;
  int rc = p ? pclose(p) : -1;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  auto last_nl = out.rfind('\n');
  *last_line = last_nl == std::string::npos ? out : out.substr(last_nl + 1);
  *all = out;
  return rc == 0;
}

// Starts a throwaway server in a new temp folder: its URL, or empty with
// `why` set. `dir` is set either way (to be removed).
std::string start_server(std::string* dir, std::string* why) {
  char tmpl[] = "/tmp/annals-pg-XXXXXX";
  char* made = mkdtemp(tmpl);
  if (made == nullptr) {
    *why = "cannot make a temp dir";
    return {};
  }
  *dir = made;
  (void)std::system(("chmod 755 " + shell_quote(*dir)).c_str());
  std::string last, out;
  if (!run_script("start " + shell_quote(*dir + "/pg"), &last, &out) ||
      last.rfind("postgres://", 0) != 0) {
    *why = "could not start a PostgreSQL test server (set ANNALS_TEST_PG_URL): " + out;
    return {};
  }
  return last;
}

void stop_server(const std::string& dir) {
  if (dir.empty()) return;
  std::string cmd = script() + " stop " + shell_quote(dir + "/pg") + " >/dev/null 2>&1";
  (void)std::system(cmd.c_str());
  std::string rm = "rm -rf " + shell_quote(dir);
  (void)std::system(rm.c_str());
}

// A server this process started; stopped at exit.
struct OwnServer {
  std::string dir;
  std::string url;
  ~OwnServer() { stop_server(dir); }
};

}  // namespace

bool running_in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

std::string backend_name(Backend backend) {
  return backend == Backend::kSqlite ? "Sqlite" : "Postgres";
}

std::string pg_server_url(std::string* why) {
  static std::mutex mu;
  static OwnServer own;
  static std::string failure;
  std::lock_guard lock(mu);
  if (const char* env = std::getenv("ANNALS_TEST_PG_URL"); env != nullptr && *env) return env;
  // The server ctest's fixture started for the whole run (tests/pg_fixture).
  if (const char* file = std::getenv("ANNALS_TEST_PG_URL_FILE"); file != nullptr && *file) {
    std::ifstream in(file);
    std::string url;
    if (in && std::getline(in, url) && !url.empty()) return url;
  }
  if (!own.url.empty()) return own.url;
  if (!failure.empty()) {
    *why = failure;
    return {};
  }
  own.url = start_server(&own.dir, &failure);
  if (own.url.empty()) {
    *why = failure;
    return {};
  }
  return own.url;
}

PrivatePgServer::PrivatePgServer() { url_ = start_server(&dir_, &why_); }

PrivatePgServer::~PrivatePgServer() { stop_server(dir_); }

bool PrivatePgServer::restart() {
  std::string last, out;
  if (run_script("restart " + shell_quote(dir_ + "/pg"), &last, &out)) return true;
  why_ = "restart failed: " + out;
  return false;
}

std::unique_ptr<TestDatabase> TestDatabase::create(Backend backend, const TempDir& dir,
                                                   std::string* why) {
  std::unique_ptr<TestDatabase> db(new TestDatabase());
  db->backend_ = backend;
  if (backend == Backend::kSqlite) {
    db->url_ = "sqlite:" + dir.sub("read.sqlite");
    return db;
  }
  db->admin_url_ = pg_server_url(why);
  if (db->admin_url_.empty()) return nullptr;
  static std::atomic<int> counter{0};
  std::random_device rd;
  db->name_ = "annals_t_" + std::to_string(getpid()) + "_" + std::to_string(counter++) + "_" +
              std::to_string(rd() % 1000000);
  try {
    pqxx::connection conn(db->admin_url_);
    pqxx::nontransaction tx(conn);
    tx.exec("CREATE DATABASE " + tx.quote_name(db->name_));
  } catch (const std::exception& e) {
    *why = std::string("cannot create a test database: ") + e.what();
    return nullptr;
  }
  // Same server and user, the new database.
  db->url_ = db::url_with_database(db->admin_url_, db->name_);
  return db;
}

std::string TestDatabase::url_as(const std::string& role) const {
  return db::url_with_user(url_, role, std::string());
}

TestDatabase::~TestDatabase() {
  if (backend_ != Backend::kPostgres || name_.empty()) return;
  try {
    pqxx::connection conn(admin_url_);
    pqxx::nontransaction tx(conn);
    tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(name_) + " WITH (FORCE)");
  } catch (const std::exception&) {
    // The server is going away with the run; nothing to keep.
  }
}

}  // namespace annals::testing
