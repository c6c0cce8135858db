#include "repositories/common.h"

#include <openssl/rand.h>

#include <nlohmann/json.hpp>

#include "core/validate.h"

namespace annals::repositories {

Status validate_json(std::string_view field, std::string_view text, size_t max_bytes) {
  ANNALS_RETURN_IF_ERROR(validate_text(field, text, {max_bytes}));
  if (!nlohmann::json::accept(text.begin(), text.end())) {
    return Status::invalid_argument(std::string(field), std::string(field) + " is not valid JSON");
  }
  return Status::ok();
}

std::string new_uuid() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) std::abort();
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 15];
  }
  return out;
}

Result<std::vector<db::Row>> select_rows(RepositoryContext& ctx, std::string_view org_id,
                                         std::string_view sql,
                                         const std::vector<db::Value>& params) {
  ANNALS_ASSIGN_OR_RETURN(auto txn, ctx.read(org_id));
  return txn->query(sql, params);
}

}  // namespace annals::repositories
