// Secrets: API keys, client secrets, header values and OAuth tokens are kept
// only encrypted, in events and in tables alike.
//
// Each org has a random 256-bit data key. It is stored beside the journal
// (journal::OrgKeyStore::data_key) wrapped with AES-256-GCM under the master key the app
// provides, so the master key never touches disk and an org's secrets can be
// destroyed for good by destroying its data key (crypto-shredding).
//
// A sealed value is "v1." followed by base64 of nonce (12 bytes), ciphertext
// and GCM tag (16 bytes). The additional authenticated data is the org id and
// a purpose string naming the field and row (e.g. "toolsets.api_key/<id>"), so
// a sealed value copied to another org, field or row does not open.
//
// Forgetting an org (forget()) destroys its data key and leaves a tombstone
// in its place: the org's events stay, but every secret in them is erased
// for good. open() then fails with kNotFound, not kPermissionDenied (which
// says a different master key might open it) nor kCorruption (the value is
// intact): the secret no longer exists anywhere. The message starts with
// "secret erased: org '<id>' was forgotten at <time>"; is_forgotten_org()
// tells it from a missing row. seal() for a forgotten org fails the same
// way instead of creating a new key, so nothing new is stored for it.
//
// A key is made only for an org whose events hold no sealed secret: one that
// has them but no key lost its key (a damaged or partly restored journal),
// and a new key could never open them, so seal() fails with kCorruption
// instead. The check reads the org's events once, when its first key is
// made.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "annals/clock.h"
#include "annals/status.h"
#include "journal/event_log.h"
#include "journal/journal.h"
#include "journal/key_store.h"

namespace annals::repositories {

inline constexpr size_t kMasterKeyBytes = 32;
inline constexpr size_t kMaxSecretBytes = 16 * 1024;

// Thread-safe. "keys" (and "clock", when given) must outlive the Secrets.
class Secrets {
 public:
  // master_key: exactly 32 bytes (kInvalidArgument otherwise). clock stamps
  // forget(); null means the system clock.
  // `events` is read only to refuse a new key for an org whose events
  // already hold sealed secrets (its key was lost).
  static Result<std::unique_ptr<Secrets>> create(journal::OrgKeyStore& keys,
                                                 journal::EventLog& events, std::string master_key,
                                                 Clock* clock = nullptr);
  // The journal's key store and event log.
  static Result<std::unique_ptr<Secrets>> create(journal::Journal& journal, std::string master_key,
                                                 Clock* clock = nullptr) {
    return create(journal, journal, std::move(master_key), clock);
  }
  // Wipes the master key and every cached data key from memory.
  ~Secrets();

  // Master-key rotation: re-wraps every org's data key under `next` in one
  // atomic, synced write (OrgKeyStore::rewrap_data_keys) and purges the old
  // wrapped values from the journal's files; afterwards only `next` opens
  // the orgs' secrets. kPermissionDenied, nothing written, when `current`
  // does not open some org's key; kInvalidArgument for a key that is not 32
  // bytes, or `next` equal to `current`. Run it with no Secrets open over
  // the journal (they hold keys unwrapped by the old master key). Returns
  // how many org keys were re-wrapped.
  static Result<size_t> rotate_master_key(journal::OrgKeyStore& keys, std::string_view current,
                                          std::string_view next);

  // Encrypts `plaintext` (at most kMaxSecretBytes) for the org, bound to
  // `purpose`. Creates the org's data key on first use.
  Result<std::string> seal(std::string_view org_id, std::string_view purpose,
                           std::string_view plaintext);

  // Decrypts what seal() returned for the same org and purpose.
  // kPermissionDenied when the master key is not the one the data key was
  // wrapped with; kCorruption when the sealed value was altered or moved.
  Result<std::string> open(std::string_view org_id, std::string_view purpose,
                           std::string_view sealed);

  // Crypto-shreds the org: destroys its data key on disk (OrgKeyStore::
  // forget_data_key) and in this object's memory. Irreversible; idempotent;
  // an org that never had a key is recorded as forgotten all the same.
  // kInvalidArgument for a bad org id, nothing written.
  Status forget(std::string_view org_id);

 private:
  Secrets(journal::OrgKeyStore& keys, journal::EventLog& events, std::string master_key,
          Clock* clock)
      : keys_(keys), events_(events), master_key_(std::move(master_key)), clock_(clock) {}
  // The org's unwrapped data key, creating it when `create` and missing.
  Result<std::string> data_key(std::string_view org_id, bool create);
  // kCorruption when the org's events hold a sealed secret (see above).
  Status refuse_if_sealed(std::string_view org_id);

  journal::OrgKeyStore& keys_;
  journal::EventLog& events_;
  std::string master_key_;  // wiped by the destructor
  SystemClock system_clock_;
  Clock* const clock_;  // null: system_clock_
  std::mutex mu_;
  std::map<std::string, std::string, std::less<>> cache_;  // org -> data key; guarded by mu_
  uint64_t generation_ = 0;  // moves at each forget's start and end; guarded by mu_
};

// Whether a status is the failure of open() or seal() for a forgotten org.
bool is_forgotten_org(const Status& status);

// AES-256-GCM with a random nonce: nonce || ciphertext || tag.
// kInvalidArgument for a key that is not 32 bytes or an oversized input;
// kInternal (never a wrong result) when OpenSSL fails.
Result<std::string> aes_gcm_seal(std::string_view key, std::string_view aad,
                                 std::string_view plaintext);
// nullopt when the key, the AAD or the bytes do not match.
std::optional<std::string> aes_gcm_open(std::string_view key, std::string_view aad,
                                        std::string_view sealed);

}  // namespace annals::repositories
