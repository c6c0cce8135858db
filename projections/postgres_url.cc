#include "projections/postgres_url.h"

#include <libpq-fe.h>

#include <memory>
#include <new>
#include <vector>

namespace annals::db {
namespace {

constexpr std::string_view kRedacted = "***";

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// "postgres://" or "postgresql://", empty when `url` is neither.
std::string_view scheme_of(std::string_view url) {
  for (std::string_view scheme : {"postgres://", "postgresql://"}) {
    if (starts_with(url, scheme)) return scheme;
  }
  return {};
}

struct Keyword {
  std::string name;
  std::string value;
  bool secret = false;  // libpq shows it as a password field
};

// libpq's reading of a connection string: the keywords it sets, in libpq's
// order.
struct Parsed {
  std::string scheme;  // empty for a key=value string
  std::vector<Keyword> keywords;

  const std::string* find(std::string_view name) const {
    for (const auto& k : keywords) {
      if (k.name == name) return &k.value;
    }
    return nullptr;
  }
  void set(std::string_view name, std::string value) {
    for (auto& k : keywords) {
      if (k.name == name) {
        k.value = std::move(value);
        return;
      }
    }
    keywords.push_back({std::string(name), std::move(value), name == "password"});
  }
  void erase(std::string_view name) {
    std::erase_if(keywords, [&](const Keyword& k) { return k.name == name; });
  }
};

struct FreeOptions {
  void operator()(PQconninfoOption* options) const { PQconninfoFree(options); }
};

std::optional<Parsed> parse(std::string_view conninfo) {
  // libpq reads a C string: a NUL would cut it short.
  if (conninfo.find('\0') != std::string_view::npos) return std::nullopt;
  std::string text(conninfo);
  char* error = nullptr;
  std::unique_ptr<PQconninfoOption, FreeOptions> options(PQconninfoParse(text.c_str(), &error));
  if (error != nullptr) PQfreemem(error);
  if (options == nullptr) return std::nullopt;
  Parsed p;
  p.scheme = std::string(scheme_of(conninfo));
  for (const PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    bool secret = o->dispchar != nullptr && o->dispchar[0] == '*';
    p.keywords.push_back({o->keyword, o->val, secret});
  }
  return p;
}

std::string percent_encode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::vector<std::string_view> split_list(std::string_view s) {
  std::vector<std::string_view> out;
  for (;;) {
    auto comma = s.find(',');
    out.push_back(s.substr(0, comma));
    if (comma == std::string_view::npos) return out;
    s.remove_prefix(comma + 1);
  }
}

bool all_of(std::string_view s, std::string_view allowed_punctuation) {
  for (char c : s) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && allowed_punctuation.find(c) == std::string_view::npos) return false;
  }
  return true;
}

// "h1:5432,[::1]:5433" for the URL's authority, or nullopt when the hosts
// and ports are better given as ?host= and ?port= (socket directories, a
// port list that does not pair with the hosts, ...).
std::optional<std::string> authority(const Parsed& p) {
  const std::string* host = p.find("host");
  const std::string* port = p.find("port");
  if (host == nullptr) return port == nullptr ? std::optional<std::string>("") : std::nullopt;
  if (host->empty()) return std::nullopt;
  auto hosts = split_list(*host);
  // libpq reads a host list in the URL as having a port list too (",,").
  if (port == nullptr && hosts.size() > 1) return std::nullopt;
  std::vector<std::string_view> ports;
  if (port != nullptr) {
    ports = split_list(*port);
    // An empty port list would read back as no port at all.
    if (ports.size() != hosts.size() || port->empty()) return std::nullopt;
  }
  std::string out;
  for (size_t i = 0; i < hosts.size(); ++i) {
    std::string_view h = hosts[i];
    if (h.empty()) return std::nullopt;
    if (i > 0) out += ',';
    if (all_of(h, ".-_")) {
      out += h;
    } else if (h.find(':') != std::string_view::npos && all_of(h, ":.")) {
      out += "[" + std::string(h) + "]";
    } else {
      return std::nullopt;
    }
    if (!ports.empty() && !ports[i].empty()) {
      if (!all_of(ports[i], "") || ports[i].size() > 5) return std::nullopt;
      out += ":" + std::string(ports[i]);
    }
  }
  return out;
}

// The URL libpq reads as `p` (with its secrets as "***" when `redact`).
std::string to_url(const Parsed& p, bool redact) {
  std::string out = p.scheme.empty() ? "postgresql://" : p.scheme;
  // An empty user, password or database name would read back as none at
  // all in the URL's own places: those go in the query (?password=).
  const std::string* user = p.find("user");
  const std::string* password = p.find("password");
  const std::string* dbname = p.find("dbname");
  if (user != nullptr && user->empty()) user = nullptr;
  if (password != nullptr && password->empty() && !redact) password = nullptr;
  if (dbname != nullptr && dbname->empty()) dbname = nullptr;
  if (user != nullptr || password != nullptr) {
    if (user != nullptr) out += percent_encode(*user);
    if (password != nullptr) {
      out += ":" + (redact ? std::string(kRedacted) : percent_encode(*password));
    }
    out += "@";
  }
  std::optional<std::string> hosts = authority(p);
  if (hosts.has_value()) out += *hosts;
  if (dbname != nullptr) out += "/" + percent_encode(*dbname);
  char separator = '?';
  for (const auto& k : p.keywords) {
    if (k.name == "user" && user != nullptr) continue;
    if (k.name == "password" && password != nullptr) continue;
    if (k.name == "dbname" && dbname != nullptr) continue;
    if (hosts.has_value() && (k.name == "host" || k.name == "port")) continue;
    out += separator;
    separator = '&';
    out += k.name + "=" + (redact && k.secret ? std::string(kRedacted) : percent_encode(k.value));
  }
  return out;
}

// key='value' ... with the secrets hidden.
std::string to_redacted_keywords(const Parsed& p) {
  std::string out;
  for (const auto& k : p.keywords) {
    if (!out.empty()) out += ' ';
    out += k.name + "='";
    for (char c : k.secret ? std::string(kRedacted) : k.value) {
      if (c == '\'' || c == '\\') out += '\\';
      out += c;
    }
    out += "'";
  }
  return out;
}

bool mentions_password(std::string_view s) {
  constexpr std::string_view kWord = "password";
  for (size_t i = 0; i + kWord.size() <= s.size(); ++i) {
    size_t j = 0;
    while (j < kWord.size() && (s[i + j] | 0x20) == kWord[j]) ++j;
    if (j == kWord.size()) return true;
  }
  return false;
}

}  // namespace

bool is_postgres_url(std::string_view url) { return !scheme_of(url).empty(); }

std::string redact_url(std::string_view url) {
  try {
    std::optional<Parsed> p = parse(url);
    if (is_postgres_url(url)) {
      if (!p.has_value()) return std::string(scheme_of(url)) + "<unparseable URL>";
      return to_url(*p, true);
    }
    if (p.has_value()) return to_redacted_keywords(*p);
    // A path, most likely; but a broken key=value string may hold a password.
    if (mentions_password(url)) return "<unparseable connection string>";
    return std::string(url);
  } catch (const std::bad_alloc&) {
    return "<URL too large to show>";
  }
}

std::string url_with_user(std::string_view url, std::string_view user,
                          const std::optional<std::string>& password) {
  std::optional<Parsed> p = parse(url);
  if (!p.has_value()) return std::string(url);
  p->set("user", std::string(user));
  if (password.has_value()) {
    if (password->empty()) {
      p->erase("password");
    } else {
      p->set("password", *password);
    }
  }
  return to_url(*p, false);
}

std::string url_user(std::string_view url) {
  std::optional<Parsed> p = parse(url);
  if (!p.has_value()) return {};
  const std::string* user = p->find("user");
  return user == nullptr ? std::string() : *user;
}

std::string url_with_database(std::string_view url, std::string_view database) {
  std::optional<Parsed> p = parse(url);
  if (!p.has_value()) return std::string(url);
  p->set("dbname", std::string(database));
  return to_url(*p, false);
}

}  // namespace annals::db
