// Master keys as an operator gives them: 64 hex digits (32 bytes).
#pragma once

#include <string>
#include <string_view>

#include "annals/status.h"

namespace annals::cli {

// The 32 bytes that 64 hex digits spell; kInvalidArgument naming `what`
// for anything else (another length, a non-hex digit, separators).
Result<std::string> master_key_from_hex(std::string_view what, std::string_view hex);

// 64 hex digits of a new random master key (from OpenSSL's CSPRNG).
Result<std::string> new_master_key_hex();

}  // namespace annals::cli
