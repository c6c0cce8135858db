#include "projections/postgres_url.h"

namespace annals::db {
namespace {

struct Parts {
  std::string scheme;    // "postgres://"
  std::string userinfo;  // "user:password" (may be empty)
  std::string rest;      // "host:port/db?..."
};

Parts split(std::string_view url) {
  Parts p;
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    p.rest = std::string(url);
    return p;
  }
  p.scheme = std::string(url.substr(0, scheme_end + 3));
  std::string_view after = url.substr(scheme_end + 3);
  auto authority_end = after.find_first_of("/?");
  std::string_view authority = after.substr(0, authority_end);
  auto at = authority.rfind('@');
  if (at != std::string_view::npos) {
    p.userinfo = std::string(authority.substr(0, at));
    p.rest = std::string(after.substr(at + 1));
  } else {
    p.rest = std::string(after);
  }
  return p;
}

std::string percent_encode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

bool is_postgres_url(std::string_view url) {
  return url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0;
}

std::string redact_url(std::string_view url) {
  Parts p = split(url);
  if (p.userinfo.empty()) return std::string(url);
  auto colon = p.userinfo.find(':');
  std::string user = colon == std::string::npos ? p.userinfo : p.userinfo.substr(0, colon) + ":***";
  return p.scheme + user + "@" + p.rest;
}

std::string url_with_user(std::string_view url, std::string_view user,
                          const std::optional<std::string>& password) {
  Parts p = split(url);
  std::string userinfo = percent_encode(user);
  if (password.has_value()) {
    if (!password->empty()) userinfo += ":" + percent_encode(*password);
  } else if (auto colon = p.userinfo.find(':'); colon != std::string::npos) {
    userinfo += p.userinfo.substr(colon);  // already encoded
  }
  return p.scheme + userinfo + "@" + p.rest;
}

std::string url_user(std::string_view url) {
  Parts p = split(url);
  auto colon = p.userinfo.find(':');
  return colon == std::string::npos ? p.userinfo : p.userinfo.substr(0, colon);
}

std::string url_with_database(std::string_view url, std::string_view database) {
  std::string base(url);
  auto scheme = base.find("://");
  auto slash = base.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  auto query = base.find('?', slash == std::string::npos ? 0 : slash);
  std::string params = query == std::string::npos ? "" : base.substr(query);
  return (slash == std::string::npos ? base.substr(0, query) : base.substr(0, slash)) + "/" +
         std::string(database) + params;
}

}  // namespace annals::db
