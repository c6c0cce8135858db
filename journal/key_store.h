// The org key store: each org's data key, wrapped by the app's master key.
// The keys live beside the journal, not in it: destroying one
// (crypto-shredding an org) must not rewrite history. Secrets
// (repositories/secrets.h) is its one user.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "annals/status.h"

namespace annals::journal {

class OrgKeyStore {
 public:
  virtual ~OrgKeyStore() = default;

  // The stored (wrapped) key, or nullopt when none.
  virtual Result<std::optional<std::string>> data_key(std::string_view org_id) = 0;
  // Stores `wrapped` unless the org has a key already; returns the stored one.
  // A forgotten org gets no key again: kNotFound naming when it was forgotten.
  virtual Result<std::string> put_data_key_if_absent(std::string_view org_id,
                                                     std::string wrapped) = 0;

  // Crypto-shreds the org: replaces its data key (if any) with a tombstone
  // recording `forgotten_at_micros`, then flushes and compacts until no live
  // journal file (table or write-ahead log) holds the wrapped key any more.
  // The org's events are untouched. Idempotent: forgetting again keeps the
  // first time. kInvalidArgument for a bad org id, nothing written.
  virtual Status forget_data_key(std::string_view org_id, int64_t forgotten_at_micros) = 0;
  // When the org was forgotten, or nullopt when it was not. data_key() of a
  // forgotten org is nullopt.
  virtual Result<std::optional<int64_t>> data_key_forgotten_at(std::string_view org_id) = 0;

  // Master-key rotation: replaces every stored data key (tombstones stay as
  // they are) with rewrap(org, wrapped), in one synced atomic write, then
  // purges the old values from the journal's files as forget_data_key does.
  // A rewrap that fails writes nothing: its error is returned. No data key
  // is stored or forgotten meanwhile. Returns how many keys were rewrapped.
  using Rewrap =
      std::function<Result<std::string>(std::string_view org_id, std::string_view wrapped)>;
  virtual Result<size_t> rewrap_data_keys(const Rewrap& rewrap) = 0;
};

}  // namespace annals::journal
