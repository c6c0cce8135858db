// annals keys rotate: re-wraps every org's data key under a new master key.
#include <openssl/crypto.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "cli/commands.h"
#include "cli/master_key.h"
#include "journal/journal.h"
#include "repositories/secrets.h"

namespace annals::cli {
namespace {

// A master key from the environment: 64 hex digits.
Result<std::string> key_from_env(const char* name) {
  const char* hex = std::getenv(name);
  if (hex == nullptr || *hex == '\0') {
    return Status::invalid_argument(name, std::string(name) + " is not set (64 hex digits)");
  }
  return master_key_from_hex(name, hex);
}

}  // namespace

int run_keys_rotate(const KeysRotateArgs& args) {
  const std::string journal_dir = args.data + "/journal";
  if (!std::filesystem::exists(journal_dir + "/CURRENT")) {
    return failure("keys rotate", "no Annals data in " + args.data);
  }
  auto current = key_from_env("ANNALS_MASTER_KEY");
  if (!current.is_ok()) return usage_error("keys rotate", current.status().message());
  auto next = key_from_env("ANNALS_NEW_MASTER_KEY");
  if (!next.is_ok()) {
    OPENSSL_cleanse(current->data(), current->size());
    return usage_error("keys rotate", next.status().message());
  }
  journal::Options options;
  options.create_if_missing = false;
  auto journal = journal::Journal::open_rocksdb(journal_dir, options);
  Result<size_t> rotated =
      journal.is_ok() ? repositories::Secrets::rotate_master_key(**journal, *current, *next)
                      : Result<size_t>(journal.status());
  OPENSSL_cleanse(current->data(), current->size());
  OPENSSL_cleanse(next->data(), next->size());
  if (!rotated.is_ok()) return failure("keys rotate", rotated.status().to_string());
  std::printf(
      "ok: %zu org data keys re-wrapped under the new master key in one write; the old master "
      "key opens none of them now. Start the app with the new key (ANNALS_MASTER_KEY).\n",
      *rotated);
  return 0;
}

}  // namespace annals::cli
