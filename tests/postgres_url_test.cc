// PostgreSQL connection URLs: read as libpq reads them, rebuilt so that
// libpq reads them back the same way, and shown without their secrets
// whatever the input.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>

#include "projections/postgres_url.h"
#include "tests/libpq_keywords.h"

namespace annals::db {
namespace {

using Keywords = std::map<std::string, std::string>;
using annals::testing::libpq_keywords;

void expect_hidden(const std::string& url, const std::string& secret) {
  std::string shown = redact_url(url);
  EXPECT_EQ(shown.find(secret), std::string::npos) << url << " -> " << shown;
}

TEST(PostgresUrl, RedactsThePassword) {
  EXPECT_EQ(redact_url("postgres://alice:s3cret@db.local:5432/app"),
            "postgres://alice:***@db.local:5432/app");
  EXPECT_EQ(redact_url("postgres://alice@db.local/app"), "postgres://alice@db.local/app");
  EXPECT_EQ(redact_url("postgresql://db.local/app"), "postgresql://db.local/app");
}

TEST(PostgresUrl, RedactsThePasswordWhereverItIsGiven) {
  // As a query parameter.
  EXPECT_EQ(redact_url("postgres://alice@db.local/app?password=s3cret&sslmode=disable"),
            "postgres://alice:***@db.local/app?sslmode=disable");
  expect_hidden("postgresql://db.local/app?sslmode=require&password=s3cret", "s3cret");
  // Percent-encoded, in either place.
  expect_hidden("postgres://alice:%73%33cr%65t@db.local/app", "s3cret");
  expect_hidden("postgres://alice:%73%33cr%65t@db.local/app", "%73%33cr%65t");
  expect_hidden("postgres://alice@db.local/app?password=%73%33cr%65t", "%73%33cr%65t");
  expect_hidden("postgres://alice@db.local/app?password=%73%33cr%65t", "s3cret");
  // Both: libpq takes the parameter; neither is shown.
  std::string both = "postgres://alice:first-one@db.local/app?password=second-one";
  expect_hidden(both, "first-one");
  expect_hidden(both, "second-one");
  EXPECT_EQ(redact_url(both), "postgres://alice:***@db.local/app");
  // The key's password too.
  expect_hidden("postgres://db.local/app?sslpassword=keypass&sslmode=verify-full", "keypass");
  // A libpq key=value string.
  EXPECT_EQ(redact_url("host=db.local password=s3cret"), "password='***' host='db.local'");
  // Not PostgreSQL at all: shown as it is.
  EXPECT_EQ(redact_url("/data/read.db"), "/data/read.db");
  EXPECT_EQ(redact_url("sqlite:/x"), "sqlite:/x");
  EXPECT_EQ(redact_url("host=h password='s3cret"), "<unparseable connection string>");
}

TEST(PostgresUrl, AnUnparseableUrlIsNeverEchoed) {
  EXPECT_EQ(redact_url("postgres://alice:s3cret@db.local/app?password=%zz"),
            "postgres://<unparseable URL>");
  EXPECT_EQ(redact_url("postgresql://alice:s3cret@[::1/app"), "postgresql://<unparseable URL>");
  EXPECT_EQ(redact_url("postgres://alice:s3cret@db.local/app?nosuchoption=1"),
            "postgres://<unparseable URL>");
  // A NUL would cut the string short for libpq: refused whole.
  EXPECT_EQ(redact_url(std::string("postgres://alice:s3cret@h/d\0?x=1", 32)),
            "postgres://<unparseable URL>");
}

TEST(PostgresUrl, HostileInputNeitherCrashesNorLeaks) {
  std::string nul_password("postgres://u:pa\0ss@h/d", 22);
  std::string big = "postgres://u:hidden-one@h/d?application_name=" + std::string(1 << 20, 'a');
  std::string big_garbage(1 << 20, '\xff');
  for (const std::string& url :
       {std::string(), std::string("postgres://"), std::string("postgresql:///"),
        std::string("postgres://%zz"), std::string("postgres://[[[[::1"),
        std::string("postgres://]]@h"), std::string("postgres://u:hidden-one@h:99999999999/d"),
        std::string("postgres://@@@@"), std::string("postgres://h/d?=&=&&"),
        std::string("postgres://h/d?password"), std::string("\x01\x02garbage=\"'"),
        std::string("password='hidden-one"), nul_password, big, big_garbage,
        std::string(4096, '%')}) {
    std::string shown = redact_url(url);
    EXPECT_EQ(shown.find("hidden-one"), std::string::npos) << shown.substr(0, 200);
    if (is_postgres_url(url)) {
      EXPECT_LT(shown.size(), url.size() + 64);
    }
    url_with_user(url, "annals_query");
    url_with_user(url, "annals_query", std::string("n:ew@"));
    url_with_database(url, "other");
    url_user(url);
  }
  EXPECT_EQ(url_with_user("postgres://%zz@h", "annals_query"), "postgres://%zz@h");
  EXPECT_EQ(url_with_database("postgres://%zz@h", "d"), "postgres://%zz@h");
  EXPECT_EQ(url_user("postgres://%zz@h"), "");
}

TEST(PostgresUrl, SwapsTheUser) {
  EXPECT_EQ(url_with_user("postgres://root:pw@h:1/d?sslmode=disable", "annals_query"),
            "postgres://annals_query:pw@h:1/d?sslmode=disable");
  EXPECT_EQ(url_with_user("postgres://root:pw@h:1/d", "annals_query", std::string("n:ew@")),
            "postgres://annals_query:n%3Aew%40@h:1/d");
  EXPECT_EQ(url_with_user("postgres://root:pw@h:1/d", "annals_query", std::string()),
            "postgres://annals_query@h:1/d");
  EXPECT_EQ(url_with_user("postgres://h/d", "annals_query"), "postgres://annals_query@h/d");
  EXPECT_EQ(url_user("postgres://annals_query:pw@h/d"), "annals_query");
  EXPECT_EQ(url_user("postgres://h/d?user=annals%5Fquery"), "annals_query");
  EXPECT_EQ(url_with_database("postgres://u:pw@h:1/postgres?sslmode=disable", "other"),
            "postgres://u:pw@h:1/other?sslmode=disable");
  EXPECT_EQ(url_with_database("postgres://u@h:1", "other"), "postgres://u@h:1/other");
  EXPECT_TRUE(is_postgres_url("postgresql://h/d"));
  EXPECT_FALSE(is_postgres_url("sqlite:/x"));
}

TEST(PostgresUrl, RebuiltUrlsReadBackAsTheSameConnection) {
  const std::string url =
      "postgresql://root:p%40ss@h1:5432,[::1]:5433/app?sslmode=verify-full&"
      "options=-c%20search_path%3Dx&application_name=a%26b&connect_timeout=3";
  auto with_user = libpq_keywords(url_with_user(url, "annals query", std::string("n:ew@/?")));
  ASSERT_TRUE(with_user.has_value()) << url_with_user(url, "annals query", std::string("n:ew@"));
  EXPECT_EQ(with_user->values, (Keywords{{"user", "annals query"},
                                         {"password", "n:ew@/?"},
                                         {"host", "h1,::1"},
                                         {"port", "5432,5433"},
                                         {"dbname", "app"},
                                         {"sslmode", "verify-full"},
                                         {"options", "-c search_path=x"},
                                         {"application_name", "a&b"},
                                         {"connect_timeout", "3"}}));

  auto with_db = libpq_keywords(url_with_database(url, "other db/ü"));
  ASSERT_TRUE(with_db.has_value());
  EXPECT_EQ(with_db->values.at("dbname"), "other db/ü");
  EXPECT_EQ(with_db->values.at("user"), "root");
  EXPECT_EQ(with_db->values.at("password"), "p@ss");
  EXPECT_EQ(with_db->values.at("host"), "h1,::1");
  EXPECT_EQ(with_db->values.at("options"), "-c search_path=x");

  // Socket directories and a port list that does not pair with the hosts
  // go in the query, where libpq reads them the same way.
  for (const std::string& odd :
       {std::string("postgres://u@%2Fvar%2Frun%2Fpg/d?port=5433"),
        std::string("postgres://u@/d?host=h1,h2&port=5432"), std::string("postgres://u@h1,h2:7/d"),
        std::string("postgres://u@h/d?host=%2Ftmp&hostaddr=127.0.0.1"),
        std::string("postgres://u@h/d?host=h1,h2&sslmode=")}) {
    auto before = libpq_keywords(odd);
    ASSERT_TRUE(before.has_value()) << odd;
    auto after = libpq_keywords(url_with_database(odd, before->values["dbname"]));
    ASSERT_TRUE(after.has_value()) << url_with_database(odd, "d");
    EXPECT_EQ(after->values, before->values) << odd << " -> " << url_with_database(odd, "d");
  }

  // Empty values the URL's own places cannot hold (libpq reads "u:@h" as
  // no password) go in the query.
  for (const std::string& empty :
       {std::string("postgres://ss@h1:5432/d?password=&sslmode=disable"),
        std::string("postgres://h/d?user=&password=x"), std::string("postgres://u@h?dbname=")}) {
    auto before = libpq_keywords(empty);
    ASSERT_TRUE(before.has_value()) << empty;
    before->values["user"] = "annals_query";
    auto after = libpq_keywords(url_with_user(empty, "annals_query"));
    ASSERT_TRUE(after.has_value()) << url_with_user(empty, "annals_query");
    EXPECT_EQ(after->values, before->values)
        << empty << " -> " << url_with_user(empty, "annals_query");
  }

  // The redacted form reads back the same but for the password.
  auto redacted = libpq_keywords(redact_url(url));
  ASSERT_TRUE(redacted.has_value());
  auto original = libpq_keywords(url);
  original->values.at("password") = "***";
  EXPECT_EQ(redacted->values, original->values);
}

}  // namespace
}  // namespace annals::db
