#include "cli/master_key.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "repositories/secrets.h"

namespace annals::cli {

Result<std::string> master_key_from_hex(std::string_view what, std::string_view hex) {
  const std::string name(what);
  auto refused = [&] { return Status::invalid_argument(name, name + " must be 64 hex digits"); };
  if (hex.size() != 2 * repositories::kMasterKeyBytes) return refused();
  const std::string digits(hex);  // NUL-terminated for OpenSSL
  long length = 0;
  unsigned char* raw = OPENSSL_hexstr2buf(digits.c_str(), &length);
  if (raw == nullptr) return refused();
  std::string key(reinterpret_cast<const char*>(raw), static_cast<size_t>(length));
  OPENSSL_clear_free(raw, static_cast<size_t>(length));
  // 64 characters with ':' separators spell fewer bytes.
  if (key.size() != repositories::kMasterKeyBytes) {
    OPENSSL_cleanse(key.data(), key.size());
    return refused();
  }
  return key;
}

Result<std::string> new_master_key_hex() {
  unsigned char raw[repositories::kMasterKeyBytes];
  if (RAND_bytes(raw, sizeof raw) != 1) {
    return Status::internal("the random number generator failed to make a master key");
  }
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char b : raw) {
    hex.push_back(kDigits[b >> 4]);
    hex.push_back(kDigits[b & 15]);
  }
  OPENSSL_cleanse(raw, sizeof raw);
  return hex;
}

}  // namespace annals::cli
