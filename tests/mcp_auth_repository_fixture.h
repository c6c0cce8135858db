// What the McpAuthRepository tests (auth headers, OAuth configs and tokens)
// share: the fixture (a RepositoryTest with a master key and the repository
// made over the store's internals), reads of the journal's bytes and of the
// tables' stored rows, and builders of OAuth configs and tokens.
#pragma once

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "annals/clock.h"
#include "repositories/mcp_auth_repository.h"
#include "tests/conformance_helpers.h"

namespace annals::repositories {

// When the OAuth configs' client ids were issued.
inline const Timestamp kIssued = from_micros(1'700'000'000'000'000);

inline NewMcpOAuthConfig new_config(std::string id, std::string name,
                                    std::string server = "srv-1") {
  NewMcpOAuthConfig c;
  c.id = std::move(id);
  c.name = std::move(name);
  c.mcp_server_id = std::move(server);
  c.registration_type = "dynamic";
  c.client_id = "client-" + c.id;
  c.client_secret = "CLIENT-SECRET-" + c.id;
  c.authorization_endpoint = "https://auth.example.com/authorize";
  c.token_endpoint = "https://auth.example.com/token";
  c.registration_endpoint = "https://auth.example.com/register";
  c.registration_access_token = "REG-TOKEN-" + c.id;
  c.client_id_issued_at = kIssued;
  c.token_endpoint_auth_method = "client_secret_basic";
  c.scopes = "mcp:tools read";
  c.created_by = "admin-1";
  return c;
}

inline McpOAuthConfig expected_config(const std::string& org, const NewMcpOAuthConfig& c,
                                      Timestamp at) {
  // clang-format off
  return {org, c.id, c.name, c.mcp_server_id, c.registration_type, c.client_id,
          c.client_secret.has_value(), c.authorization_endpoint, c.token_endpoint,
          c.registration_endpoint, c.registration_access_token.has_value(), c.client_id_issued_at,
          c.token_endpoint_auth_method, c.scopes, c.created_by, at, at};
  // clang-format on
}

// A token (of user-1 unless told) that expires an hour after the fixture's start.
inline NewMcpOAuthToken new_token(std::string id, std::string config, std::string user = "user-1") {
  using namespace std::chrono_literals;
  NewMcpOAuthToken t;
  t.id = std::move(id);
  t.mcp_oauth_config_id = std::move(config);
  t.access_token = "ACCESS-" + t.id;
  t.refresh_token = "REFRESH-" + t.id;
  t.scopes_granted = "mcp:tools";
  t.expires_at = testing::kFixtureStart + 3600s;
  t.created_by = std::move(user);
  return t;
}

inline McpOAuthToken expected_token(const std::string& org, const NewMcpOAuthToken& t,
                                    Timestamp at) {
  return {org,
          t.id,
          t.mcp_oauth_config_id,
          t.refresh_token.has_value(),
          t.scopes_granted,
          t.expires_at,
          t.created_by,
          at,
          at};
}

// The McpAuthRepository over the store's journal, database, projector and
// secrets; the store has a master key unless a test clears it in options()
// and reopens.
class McpAuthRepositoryTest : public testing::RepositoryTest {
 protected:
  void configure(StoreOptions& options) override { options.master_key = std::string(32, 'k'); }

  McpAuthRepository& repo() { return store().mcp().credentials(); }

  // Whether any journalled event's bytes contain `needle`.
  bool journal_contains(const std::string& needle) {
    for (const auto& e : journalled()) {
      capnp::MallocMessageBuilder copy;
      copy.setRoot(e.envelope());
      auto words = capnp::messageToFlatArray(copy);
      auto bytes = words.asBytes();
      std::string_view s(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
      if (s.find(needle) != std::string_view::npos) return true;
    }
    return false;
  }

  // What `sql` with `params` reads straight from the tables, in a read
  // transaction scoped to `org`.
  std::vector<db::Row> read_rows(const std::string& org, const std::string& sql,
                                 const std::vector<db::Value>& params) {
    auto txn = store_->internals().database().begin(db::Access::kRead);
    EXPECT_OK(txn);
    if (!txn.is_ok()) return {};
    EXPECT_OK((*txn)->set_org(org));
    auto rows = (*txn)->query(sql, params);
    EXPECT_OK(rows);
    if (!rows.is_ok()) return {};
    return std::move(rows).value();
  }

  // The sealed value column of a header, read straight from the table.
  std::string stored_value(const std::string& org, const std::string& id) {
    auto rows = read_rows(
        org, "SELECT sealed_header_value FROM mcp_auth_headers WHERE org_id = $1 AND id = $2",
        {org, id});
    return rows.empty() ? "" : rows.front().text(0);
  }

  // Every row of the org's OAuth configs and tokens, sealed secrets included.
  std::vector<std::string> dump(const std::string& org) {
    std::vector<std::string> out;
    for (const char* sql : {"SELECT * FROM mcp_oauth_configs WHERE org_id = $1 ORDER BY id",
                            "SELECT * FROM mcp_oauth_tokens WHERE org_id = $1 ORDER BY id"}) {
      for (const auto& row : read_rows(org, sql, {org})) {
        std::string line;
        for (size_t i = 0; i < row.size(); ++i) {
          const auto& v = row.at(i);
          if (row.is_null(i))
            line += "NULL|";
          else if (auto* s = std::get_if<std::string>(&v))
            line += *s + "|";
          else if (auto* n = std::get_if<int64_t>(&v))
            line += std::to_string(*n) + "|";
          else
            line += "?|";
        }
        out.push_back(line);
      }
    }
    return out;
  }

  // Token rows (any user) of an OAuth config, straight from the table.
  int64_t tokens_of(const std::string& org, const std::string& config) {
    auto rows = read_rows(
        org, "SELECT COUNT(*) FROM mcp_oauth_tokens WHERE org_id = $1 AND mcp_oauth_config_id = $2",
        {org, config});
    EXPECT_EQ(rows.size(), 1u);
    return rows.empty() ? -1 : rows.front().i64(0);
  }
};

}  // namespace annals::repositories
