// What the API model alias tests share: the ModelRepository fixture over a
// store with a master key (so API keys are sealed for real), the alias
// builders and the row printer.
#pragma once

#include <capnp/message.h>

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "annals/clock.h"
#include "tests/model_repository_fixture.h"

namespace annals::repositories {

using testing::ids_of;

inline void PrintTo(const ApiModelAlias& a, std::ostream* os) {
  *os << "{id=\"" << a.id << "\", api_format=\"" << a.api_format << "\", base_url=\"" << a.base_url
      << "\", models=" << a.models << ", prefix=" << (a.prefix ? "\"" + *a.prefix + "\"" : "null")
      << ", forward_all_with_prefix=" << a.forward_all_with_prefix
      << ", models_cache=" << a.models_cache.value_or("null")
      << ", cache_fetched_at=" << format_timestamp(a.cache_fetched_at)
      << ", has_api_key=" << a.has_api_key << ", created_at=" << format_timestamp(a.created_at)
      << ", updated_at=" << format_timestamp(a.updated_at) << "}";
}

inline const Timestamp kEpoch = from_micros(0);
inline const std::string kKey = "sk-live-PLAINTEXT-0123456789abcdef";

inline NewApiModelAlias new_alias(std::string id, std::optional<std::string> prefix = std::nullopt,
                                  std::optional<std::string> key = std::nullopt) {
  NewApiModelAlias a;
  a.id = std::move(id);
  a.api_format = "openai";
  a.base_url = "https://api.openai.com/v1";
  a.models = R"(["gpt-4o", "gpt-4o-mini"])";
  a.prefix = std::move(prefix);
  a.api_key = std::move(key);
  return a;
}

inline ApiModelAlias expected_row(const NewApiModelAlias& a, Timestamp at) {
  return {a.id,
          a.api_format,
          a.base_url,
          a.models,
          a.prefix,
          a.forward_all_with_prefix,
          std::nullopt,
          kEpoch,
          a.api_key.has_value(),
          at,
          at};
}

inline ApiModelAliasUpdate update_of(const NewApiModelAlias& a,
                                     SecretChange key = SecretChange::keep()) {
  return {a.api_format, a.base_url, a.models, a.prefix, a.forward_all_with_prefix, std::move(key)};
}

// The master key every test opens the store with.
inline const std::string kMasterKey(32, 'k');

class ModelAliasRepositoryTest : public ModelRepositoryTest {
 protected:
  void configure(StoreOptions& options) override { options.master_key = kMasterKey; }

  // Every journalled event's canonical bytes.
  std::vector<std::string> event_bytes() {
    std::vector<std::string> out;
    for (const auto& e : journalled()) {
      auto words = capnp::canonicalize(e.envelope());
      auto bytes = words.asBytes();
      out.emplace_back(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
    }
    return out;
  }

  // The encrypted_api_key column as stored.
  std::optional<std::string> stored_key(const std::string& org, const std::string& id) {
    auto txn = store().internals().database().begin(db::Access::kRead);
    EXPECT_OK(txn);
    EXPECT_OK((*txn)->set_org(org));
    auto rows = (*txn)->query(
        "SELECT encrypted_api_key FROM api_model_aliases WHERE org_id = $1 AND id = $2", {org, id});
    EXPECT_OK(rows);
    if (!rows.is_ok() || rows->empty() || rows->front().is_null(0)) return std::nullopt;
    return rows->front().text(0);
  }
};

}  // namespace annals::repositories
