// A small command-line parser: "--name value", "--name=value" and flags.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"

namespace annals::cli {

struct ArgSpec {
  std::set<std::string> options;  // take a value: "--data"
  std::set<std::string> flags;    // take none: "--help"
};

class Args {
 public:
  // Fails on an unknown option, a missing value or a stray argument.
  static Result<Args> parse(const std::vector<std::string>& argv, const ArgSpec& spec);

  bool flag(const std::string& name) const { return flags_.count(name) > 0; }
  std::optional<std::string> get(const std::string& name) const;
  std::string get_or(const std::string& name, const std::string& fallback) const;
  // A positive integer option, or the fallback when absent.
  Result<int64_t> get_int(const std::string& name, int64_t fallback, int64_t min,
                          int64_t max) const;

 private:
  std::map<std::string, std::string> values_;
  std::set<std::string> flags_;
};

}  // namespace annals::cli
