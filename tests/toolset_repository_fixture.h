// What the ToolsetRepository tests share: printers for their values, a toolset
// builder, the row create() should give, and the fixture (a RepositoryTest
// with a master key and a toolset repository built on the store).
#pragma once

#include <capnp/pretty-print.h>
#include <gtest/gtest.h>

#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "annals/clock.h"
#include "annals/status.h"
#include "repositories/toolset_repository.h"
#include "tests/conformance_helpers.h"

namespace annals::repositories {

inline void PrintTo(const Toolset& t, std::ostream* os) {
  *os << "{id=\"" << t.id << "\", user_id=\"" << t.user_id << "\", type=\"" << t.toolset_type
      << "\", slug=\"" << t.slug
      << "\", description=" << (t.description ? "\"" + *t.description + "\"" : "null")
      << ", enabled=" << t.enabled << ", has_api_key=" << t.has_api_key
      << ", created_at=" << format_timestamp(t.created_at)
      << ", updated_at=" << format_timestamp(t.updated_at) << "}";
}

inline void PrintTo(const AppToolsetConfig& c, std::ostream* os) {
  *os << "{type=\"" << c.toolset_type << "\", enabled=" << c.enabled << ", updated_by=\""
      << c.updated_by << "\", created_at=" << format_timestamp(c.created_at)
      << ", updated_at=" << format_timestamp(c.updated_at) << "}";
}

namespace toolset_tests {

inline const Timestamp kStart = testing::kFixtureStart;

inline NewToolset new_toolset(std::string id, std::string slug, std::string user = "user-1",
                              std::string type = "builtin-exa-search") {
  NewToolset t;
  t.id = std::move(id);
  t.user_id = std::move(user);
  t.toolset_type = std::move(type);
  t.slug = std::move(slug);
  t.description = "web search";
  t.enabled = true;
  return t;
}

// The row create() should give for `t`, written at `at`.
inline Toolset expected_row(const NewToolset& t, Timestamp at) {
  return {t.id, t.user_id, t.toolset_type, t.slug, t.description, t.enabled, t.api_key.has_value(),
          at,   at};
}

class ToolsetRepositoryTest : public testing::RepositoryTest {
 protected:
  void configure(StoreOptions& options) override { options.master_key = std::string(32, 'k'); }

  ToolsetRepository& toolsets() { return store().toolsets(); }

  // Every event of the journal, printed with all its fields.
  std::vector<std::string> printed_events() {
    std::vector<std::string> out;
    for (const auto& e : journalled()) {
      out.push_back(capnp::prettyPrint(e.envelope()).flatten().cStr());
    }
    return out;
  }

  // Every sealed_api_key of the org's toolsets, read straight from the table.
  std::vector<std::string> stored_sealed_keys(const std::string& org) {
    std::vector<std::string> out;
    auto txn = store_->internals().database().begin(db::Access::kRead);
    EXPECT_OK(txn);
    if (!txn.is_ok()) return out;
    EXPECT_OK((*txn)->set_org(org));
    auto rows = (*txn)->query(
        "SELECT sealed_api_key FROM toolsets WHERE org_id = $1 AND sealed_api_key IS NOT NULL",
        {org});
    EXPECT_OK(rows);
    if (rows.is_ok()) {
      for (const auto& row : *rows) out.push_back(row.text(0));
    }
    return out;
  }
};

}  // namespace toolset_tests
}  // namespace annals::repositories
