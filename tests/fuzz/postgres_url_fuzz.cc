// The PostgreSQL URL functions on any text: never a crash, and redact_url
// never shows a secret libpq reads from the input. Where libpq reads the
// input, the redacted and rebuilt URLs read back as the same connection.
#include <cctype>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "projections/postgres_url.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/libpq_keywords.h"

namespace {

using annals::testing::libpq_keywords;

std::string shown(const std::map<std::string, std::string>& m) {
  std::string out;
  for (const auto& [k, v] : m) out += k + "=[" + v + "] ";
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string url(reinterpret_cast<const char*>(data), size);
  std::string redacted = annals::db::redact_url(url);
  std::string with_user = annals::db::url_with_user(url, "annals_query");
  std::string with_password = annals::db::url_with_user(url, "q", std::string("n:ew@"));
  std::string with_database = annals::db::url_with_database(url, "other");
  std::string user = annals::db::url_user(url);
  bool postgres = annals::db::is_postgres_url(url);

  if (url.find('\0') != std::string::npos) {
    if (postgres) FUZZ_CHECK(redacted.find("<unparseable") != std::string::npos, redacted);
    return 0;
  }
  auto before = libpq_keywords(url);
  if (!before.has_value()) {
    if (postgres) FUZZ_CHECK(redacted.find("<unparseable") != std::string::npos, redacted);
    return 0;
  }
  // Secrets: none of them shows. Checked for secrets of at least 8 letters
  // and digits that no other part of the input holds: the redacted string
  // is otherwise made of keyword names, other values, percent-escapes and
  // punctuation, so such a secret cannot show there by chance (escapes are
  // cut out first, as their hex digits may border on letters).
  std::string others = "postgres postgresql unparseable URL connection string";
  for (const auto& [name, value] : before->values) {
    others += "\n" + name;
    if (!before->secret[name]) others += "\n" + value;
  }
  std::string plain;
  for (size_t i = 0; i < redacted.size(); ++i) {
    if (redacted[i] == '%' && i + 2 < redacted.size()) {
      plain += '\n';
      i += 2;
    } else {
      plain += redacted[i];
    }
  }
  for (const auto& [name, value] : before->values) {
    if (!before->secret[name] || value.size() < 8) continue;
    bool alnum = true;
    for (char c : value) alnum = alnum && std::isalnum(static_cast<unsigned char>(c));
    if (!alnum || others.find(value) != std::string::npos) continue;
    FUZZ_CHECK(plain.find(value) == std::string::npos, redacted);
  }
  // The redacted form reads back as the input, secrets as "***".
  auto shown_back = libpq_keywords(redacted);
  FUZZ_CHECK(shown_back.has_value(), redacted);
  auto expected = before->values;
  for (auto& [name, value] : expected) {
    if (before->secret[name]) value = "***";
  }
  FUZZ_CHECK(shown_back->values == expected, shown(expected) + "| " + redacted);
  if (!postgres) return 0;

  // The rebuilt URLs read back as the input, but for what was changed.
  auto as_user = libpq_keywords(with_user);
  FUZZ_CHECK(as_user.has_value(), with_user);
  expected = before->values;
  expected["user"] = "annals_query";
  FUZZ_CHECK(as_user->values == expected, shown(expected) + "| " + with_user);

  auto as_password = libpq_keywords(with_password);
  FUZZ_CHECK(as_password.has_value(), with_password);
  expected["user"] = "q";
  expected["password"] = "n:ew@";
  FUZZ_CHECK(as_password->values == expected, shown(expected) + "| " + with_password);

  auto in_database = libpq_keywords(with_database);
  FUZZ_CHECK(in_database.has_value(), with_database);
  expected = before->values;
  expected["dbname"] = "other";
  FUZZ_CHECK(in_database->values == expected, shown(expected) + "| " + with_database);

  auto u = before->values.find("user");
  FUZZ_CHECK(user == (u == before->values.end() ? std::string() : u->second), user);
  return 0;
}
