// Secrets: API keys, client secrets, header values and OAuth tokens are kept
// only encrypted, in events and in tables alike.
//
// Each org has a random 256-bit data key. It is stored beside the journal
// (Journal::data_key) wrapped with AES-256-GCM under the master key the app
// provides, so the master key never touches disk and an org's secrets can be
// destroyed for good by destroying its data key (crypto-shredding).
//
// A sealed value is "v1." followed by base64 of nonce (12 bytes), ciphertext
// and GCM tag (16 bytes). The additional authenticated data is the org id and
// a purpose string naming the field and row (e.g. "toolsets.api_key/<id>"), so
// a sealed value copied to another org, field or row does not open.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "core/status.h"
#include "journal/journal.h"

namespace annals::repositories {

inline constexpr size_t kMasterKeyBytes = 32;
inline constexpr size_t kMaxSecretBytes = 16 * 1024;

// Thread-safe. "keys" must outlive the Secrets.
class Secrets {
 public:
  // master_key: exactly 32 bytes (kInvalidArgument otherwise).
  static Result<std::unique_ptr<Secrets>> create(journal::Journal& keys, std::string master_key);

  // Encrypts `plaintext` (at most kMaxSecretBytes) for the org, bound to
  // `purpose`. Creates the org's data key on first use.
  Result<std::string> seal(std::string_view org_id, std::string_view purpose,
                           std::string_view plaintext);

  // Decrypts what seal() returned for the same org and purpose.
  // kPermissionDenied when the master key is not the one the data key was
  // wrapped with; kCorruption when the sealed value was altered or moved.
  Result<std::string> open(std::string_view org_id, std::string_view purpose,
                           std::string_view sealed);

 private:
  Secrets(journal::Journal& keys, std::string master_key)
      : keys_(keys), master_key_(std::move(master_key)) {}
  // The org's unwrapped data key, creating it when `create` and missing.
  Result<std::string> data_key(std::string_view org_id, bool create);

  journal::Journal& keys_;
  const std::string master_key_;
  std::mutex mu_;
  std::map<std::string, std::string, std::less<>> cache_;  // org -> data key; guarded by mu_
};

// AES-256-GCM with a random nonce: nonce || ciphertext || tag.
std::string aes_gcm_seal(std::string_view key, std::string_view aad, std::string_view plaintext);
// nullopt when the key, the AAD or the bytes do not match.
std::optional<std::string> aes_gcm_open(std::string_view key, std::string_view aad,
                                        std::string_view sealed);

}  // namespace annals::repositories
