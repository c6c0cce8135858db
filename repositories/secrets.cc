#include "repositories/secrets.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "core/base64.h"
#include "core/validate.h"
#include "events/event.h"

namespace annals::repositories {
namespace {

constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;
constexpr std::string_view kSealedPrefix = "v1.";

std::string random_bytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    std::abort();  // no randomness: nothing safe can be done
  }
  return out;
}

constexpr std::string_view kErasedPrefix = "secret erased: ";
constexpr std::string_view kForgottenMarker = "' was forgotten at ";

// The failure of every secret call of a forgotten org. kNotFound: the secret
// no longer exists anywhere (see secrets.h for why not another code).
Status forgotten(std::string_view org_id, int64_t at_micros, bool sealing) {
  std::string what = "org '" + std::string(org_id) + std::string(kForgottenMarker) +
                     format_timestamp(from_micros(at_micros)) + " and its data key destroyed: ";
  if (sealing) return Status::not_found(what + "no secret can be stored for it any more");
  return Status::not_found(std::string(kErasedPrefix) + what +
                           "its secrets can never be read again");
}

std::string wrap_aad(std::string_view org_id) { return "annals data key/" + std::string(org_id); }
std::string value_aad(std::string_view org_id, std::string_view purpose) {
  return std::string(org_id) + '\0' + std::string(purpose);
}

}  // namespace

namespace {

// One AES-256-GCM context, freed however the call ends.
struct CipherContext {
  CipherContext() : ctx(EVP_CIPHER_CTX_new()) {}
  ~CipherContext() { EVP_CIPHER_CTX_free(ctx); }
  CipherContext(const CipherContext&) = delete;
  CipherContext& operator=(const CipherContext&) = delete;
  EVP_CIPHER_CTX* ctx;
};

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

Status cipher_failed(const char* step) {
  unsigned long error = ERR_get_error();
  char text[256] = "no OpenSSL error recorded";
  if (error != 0) ERR_error_string_n(error, text, sizeof text);
  ERR_clear_error();
  return Status::internal(std::string("AES-256-GCM failed at ") + step + ": " + text);
}

}  // namespace

Result<std::string> aes_gcm_seal(std::string_view key, std::string_view aad,
                                 std::string_view plaintext) {
  if (key.size() != 32) {
    return Status::invalid_argument(
        "key", "an AES-256 key is 32 bytes, not " + std::to_string(key.size()));
  }
  if (plaintext.size() > kMaxSecretBytes || aad.size() > kMaxSecretBytes) {
    return Status::invalid_argument("secret", "too large to seal");
  }
  std::string nonce = random_bytes(kNonceBytes);
  std::string out = nonce;
  out.resize(kNonceBytes + plaintext.size() + kTagBytes);
  CipherContext c;
  if (c.ctx == nullptr) return cipher_failed("EVP_CIPHER_CTX_new");
  int len = 0;
  auto* ct = reinterpret_cast<unsigned char*>(out.data() + kNonceBytes);
  if (EVP_EncryptInit_ex(c.ctx, EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1)
    return cipher_failed("init");
  if (EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(kNonceBytes), nullptr) !=
      1)
    return cipher_failed("set nonce length");
  if (EVP_EncryptInit_ex(c.ctx, nullptr, nullptr, bytes(key), bytes(nonce)) != 1)
    return cipher_failed("set key");
  if (EVP_EncryptUpdate(c.ctx, nullptr, &len, bytes(aad), static_cast<int>(aad.size())) != 1)
    return cipher_failed("authenticate");
  if (EVP_EncryptUpdate(c.ctx, ct, &len, bytes(plaintext), static_cast<int>(plaintext.size())) !=
          1 ||
      static_cast<size_t>(len) != plaintext.size())
    return cipher_failed("encrypt");
  int tail = 0;
  if (EVP_EncryptFinal_ex(c.ctx, ct + len, &tail) != 1 || tail != 0) return cipher_failed("finish");
  if (EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagBytes),
                          out.data() + kNonceBytes + plaintext.size()) != 1)
    return cipher_failed("tag");
  return out;
}

std::optional<std::string> aes_gcm_open(std::string_view key, std::string_view aad,
                                        std::string_view sealed) {
  if (sealed.size() < kNonceBytes + kTagBytes || key.size() != 32) return std::nullopt;
  if (sealed.size() > kMaxSecretBytes + kNonceBytes + kTagBytes || aad.size() > kMaxSecretBytes) {
    return std::nullopt;
  }
  std::string_view nonce = sealed.substr(0, kNonceBytes);
  std::string_view ct = sealed.substr(kNonceBytes, sealed.size() - kNonceBytes - kTagBytes);
  std::string tag(sealed.substr(sealed.size() - kTagBytes));
  std::string out(ct.size(), '\0');
  CipherContext c;
  int len = 0;
  int tail = 0;
  bool ok =
      c.ctx != nullptr &&
      EVP_DecryptInit_ex(c.ctx, EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(kNonceBytes), nullptr) ==
          1 &&
      EVP_DecryptInit_ex(c.ctx, nullptr, nullptr, bytes(key), bytes(nonce)) == 1 &&
      EVP_DecryptUpdate(c.ctx, nullptr, &len, bytes(aad), static_cast<int>(aad.size())) == 1 &&
      EVP_DecryptUpdate(c.ctx, reinterpret_cast<unsigned char*>(out.data()), &len, bytes(ct),
                        static_cast<int>(ct.size())) == 1 &&
      static_cast<size_t>(len) == ct.size() &&
      EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagBytes), tag.data()) ==
          1 &&
      EVP_DecryptFinal_ex(c.ctx, reinterpret_cast<unsigned char*>(out.data()) + len, &tail) == 1;
  ERR_clear_error();
  if (!ok) {
    OPENSSL_cleanse(out.data(), out.size());
    return std::nullopt;
  }
  return out;
}

bool is_forgotten_org(const Status& status) {
  return status.code() == Code::kNotFound &&
         status.message().find(kForgottenMarker) != std::string::npos &&
         status.message().find("data key destroyed") != std::string::npos;
}

Result<std::unique_ptr<Secrets>> Secrets::create(journal::OrgKeyStore& keys,
                                                 journal::EventLog& events, std::string master_key,
                                                 Clock* clock) {
  if (master_key.size() != kMasterKeyBytes) {
    return Status::invalid_argument("master_key", "the master key must be exactly 32 bytes, not " +
                                                      std::to_string(master_key.size()));
  }
  return std::unique_ptr<Secrets>(new Secrets(keys, events, std::move(master_key), clock));
}

Result<size_t> Secrets::rotate_master_key(journal::OrgKeyStore& keys, std::string_view current,
                                          std::string_view next) {
  if (current.size() != kMasterKeyBytes || next.size() != kMasterKeyBytes) {
    return Status::invalid_argument("master_key", "a master key is exactly 32 bytes");
  }
  if (current == next) {
    return Status::invalid_argument("master_key", "the new master key is the current one");
  }
  return keys.rewrap_data_keys([&](std::string_view org_id,
                                   std::string_view wrapped) -> Result<std::string> {
    auto key = aes_gcm_open(current, wrap_aad(org_id), wrapped);
    if (!key.has_value() || key->size() != 32) {
      if (key.has_value()) OPENSSL_cleanse(key->data(), key->size());
      return Status::permission_denied("the current master key does not open org '" +
                                       std::string(org_id) + "'s data key: nothing was rotated");
    }
    auto rewrapped = aes_gcm_seal(next, wrap_aad(org_id), *key);
    OPENSSL_cleanse(key->data(), key->size());
    return rewrapped;
  });
}

Secrets::~Secrets() {
  std::lock_guard lock(mu_);
  for (auto& [org, key] : cache_) OPENSSL_cleanse(key.data(), key.size());
  OPENSSL_cleanse(master_key_.data(), master_key_.size());
}

// The lock guards only the cache: the journal reads and writes, the scan of
// refuse_if_sealed() and the compaction a forget runs happen outside it, so
// one org's slow step never stalls another's secrets. A key read while a
// forget of any org was under way is used for its call but not cached.
Result<std::string> Secrets::data_key(std::string_view org_id, bool create) {
  uint64_t generation = 0;
  {
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(org_id); it != cache_.end()) return it->second;
    generation = generation_;
  }
  ANNALS_ASSIGN_OR_RETURN(auto stored, keys_.data_key(org_id));
  std::string wrapped;
  if (stored.has_value()) {
    wrapped = std::move(*stored);
  } else {
    ANNALS_ASSIGN_OR_RETURN(auto forgotten_at, keys_.data_key_forgotten_at(org_id));
    if (forgotten_at.has_value()) return forgotten(org_id, *forgotten_at, create);
    if (!create) return Status::not_found("org '" + std::string(org_id) + "' has no data key");
    ANNALS_RETURN_IF_ERROR(refuse_if_sealed(org_id));
    std::string fresh = random_bytes(32);
    auto wrapped_fresh = aes_gcm_seal(master_key_, wrap_aad(org_id), fresh);
    OPENSSL_cleanse(fresh.data(), fresh.size());
    if (!wrapped_fresh.is_ok()) return wrapped_fresh.status();
    auto put = keys_.put_data_key_if_absent(org_id, *wrapped_fresh);
    if (!put.is_ok()) {
      // Forgotten through another Secrets over the same journal meanwhile.
      ANNALS_ASSIGN_OR_RETURN(forgotten_at, keys_.data_key_forgotten_at(org_id));
      if (forgotten_at.has_value()) return forgotten(org_id, *forgotten_at, create);
      return put.status();
    }
    wrapped = std::move(put).value();
  }
  auto key = aes_gcm_open(master_key_, wrap_aad(org_id), wrapped);
  if (!key.has_value() || key->size() != 32) {
    if (key.has_value()) OPENSSL_cleanse(key->data(), key->size());
    return Status::permission_denied("the master key does not open org '" + std::string(org_id) +
                                     "'s data key: it is not the master key its secrets were "
                                     "written with");
  }
  std::lock_guard lock(mu_);
  if (generation_ == generation) cache_.emplace(std::string(org_id), *key);
  return *key;
}

Status Secrets::refuse_if_sealed(std::string_view org_id) {
  constexpr size_t kChunk = 1000;
  for (uint64_t from = 1;;) {
    ANNALS_ASSIGN_OR_RETURN(auto batch, events_.read_org(org_id, from, kChunk));
    for (const auto& event : batch) {
      if (auto field = events::sealed_secret_field(event)) {
        return Status::corruption(
            "org '" + std::string(org_id) +
            "' has no data key, yet its events hold sealed secrets (the first at position " +
            std::to_string(event.position()) + ", " + *field +
            "): a new key could never open them, so none is made. The journal lost the org's "
            "key: restore the journal from a backup, or import an export of it that still "
            "carries the key");
      }
    }
    if (batch.size() < kChunk) return Status::ok();
    from = batch.back().position() + 1;
  }
}

Status Secrets::forget(std::string_view org_id) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  Clock& clock = clock_ != nullptr ? *clock_ : system_clock_;
  // The cached key goes before the journal forgets and again after, and the
  // generation moves both times: a key read meanwhile is never cached.
  auto drop_cached = [&] {
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(org_id); it != cache_.end()) {
      OPENSSL_cleanse(it->second.data(), it->second.size());
      cache_.erase(it);
    }
    ++generation_;
  };
  drop_cached();
  Status forgotten = keys_.forget_data_key(org_id, to_micros(clock.now()));
  drop_cached();
  return forgotten;
}

Result<std::string> Secrets::seal(std::string_view org_id, std::string_view purpose,
                                  std::string_view plaintext) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  if (plaintext.size() > kMaxSecretBytes) {
    return Status::invalid_argument("secret", "a secret is " + std::to_string(plaintext.size()) +
                                                  " bytes; at most " +
                                                  std::to_string(kMaxSecretBytes) + " allowed");
  }
  ANNALS_ASSIGN_OR_RETURN(std::string key, data_key(org_id, /*create=*/true));
  auto sealed = aes_gcm_seal(key, value_aad(org_id, purpose), plaintext);
  OPENSSL_cleanse(key.data(), key.size());
  if (!sealed.is_ok()) return sealed.status();
  return std::string(kSealedPrefix) + base64_encode(*sealed);
}

Result<std::string> Secrets::open(std::string_view org_id, std::string_view purpose,
                                  std::string_view sealed) {
  if (sealed.substr(0, kSealedPrefix.size()) != kSealedPrefix) {
    return Status::corruption("a stored secret is not in the sealed format");
  }
  auto raw = base64_decode(sealed.substr(kSealedPrefix.size()));
  if (!raw.has_value()) return Status::corruption("a stored secret is not valid base64");
  ANNALS_ASSIGN_OR_RETURN(std::string key, data_key(org_id, /*create=*/false));
  auto plain = aes_gcm_open(key, value_aad(org_id, purpose), *raw);
  OPENSSL_cleanse(key.data(), key.size());
  if (!plain.has_value()) {
    return Status::corruption("a stored secret does not open for org '" + std::string(org_id) +
                              "' and " + std::string(purpose) +
                              ": altered, or moved from elsewhere");
  }
  return *plain;
}

}  // namespace annals::repositories
