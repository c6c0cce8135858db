// SHA-256 as lower-case hex, the one way Annals names content by its digest
// (migration checksums, the rebuild's table digests, model identities).
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace annals {

// The digest of `data`.
std::string sha256_hex(std::string_view data);

// A digest of data given in parts.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::string_view data);
  // The digest of everything given so far; the object is spent afterwards.
  std::string hex();

 private:
  struct Context;
  std::unique_ptr<Context> ctx_;
};

}  // namespace annals
