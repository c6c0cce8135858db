#include "core/base64.h"

#include <openssl/evp.h>

namespace annals {

std::string base64_encode(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view in) {
  if (in.size() % 4 != 0 || in.size() > (size_t{1} << 30)) return std::nullopt;
  if (in.empty()) return std::string();
  std::string out(in.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the bytes padding stands for; take them off.
  size_t pad = in.ends_with("==") ? 2 : in.ends_with('=') ? 1 : 0;
  out.resize(static_cast<size_t>(n) - pad);
  // Canonical only: no whitespace, padding only at the end, no stray bits.
  if (base64_encode(out) != in) return std::nullopt;
  return out;
}

}  // namespace annals
