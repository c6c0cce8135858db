// What an update does to a stored secret: a model alias's or toolset's API
// key, an MCP header value, an OAuth token. Keep it, set it, or clear it.
#pragma once

#include <string>
#include <utility>

namespace annals::repositories {

struct SecretChange {
  enum class Action { kKeep, kSet, kClear };
  Action action = Action::kKeep;
  std::string value;  // kSet: the new secret, in plain text; stored only sealed

  static SecretChange keep() { return {}; }
  static SecretChange set(std::string value) { return {Action::kSet, std::move(value)}; }
  static SecretChange clear() { return {Action::kClear, {}}; }
  bool operator==(const SecretChange&) const = default;
};

}  // namespace annals::repositories
