// Base64 (RFC 4648, with padding) through OpenSSL: sealed secrets and the
// binary entries of an export.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace annals {

std::string base64_encode(std::string_view in);

// The bytes `in` encodes; nullopt for anything but the canonical encoding
// of some bytes (a length not a multiple of 4, a foreign character,
// whitespace, padding inside, stray bits in the last digit).
std::optional<std::string> base64_decode(std::string_view in);

}  // namespace annals
