#include "cli/args.h"

#include <charconv>

namespace annals::cli {

Result<Args> Args::parse(const std::vector<std::string>& argv, const ArgSpec& spec) {
  Args args;
  for (size_t i = 0; i < argv.size(); ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) {
      return Status::invalid_argument("arguments", "unexpected argument '" + arg + "'");
    }
    std::string name = arg;
    std::optional<std::string> value;
    if (auto eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    if (spec.flags.count(name)) {
      if (value) return Status::invalid_argument(name, name + " takes no value");
      args.flags_.insert(name);
      continue;
    }
    if (!spec.options.count(name)) {
      return Status::invalid_argument(name, "unknown option '" + name + "'");
    }
    if (!value) {
      if (i + 1 >= argv.size()) return Status::invalid_argument(name, name + " needs a value");
      value = argv[++i];
    }
    args.values_[name] = *value;
  }
  return args;
}

std::optional<std::string> Args::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string Args::get_or(const std::string& name, const std::string& fallback) const {
  auto v = get(name);
  return v ? *v : fallback;
}

Result<int64_t> Args::get_int(const std::string& name, int64_t fallback, int64_t min,
                              int64_t max) const {
  auto v = get(name);
  if (!v) return fallback;
  int64_t out = 0;
  auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || ptr != v->data() + v->size() || out < min || out > max) {
    return Status::invalid_argument(name, name + " must be a whole number from " +
                                              std::to_string(min) + " to " + std::to_string(max) +
                                              ", not '" + *v + "'");
  }
  return out;
}

}  // namespace annals::cli
