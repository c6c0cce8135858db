#include "annals/status.h"

namespace annals {

std::string_view code_name(Code code) {
  switch (code) {
    case Code::kOk:
      return "OK";
    case Code::kNotFound:
      return "NotFound";
    case Code::kConflict:
      return "Conflict";
    case Code::kInvalidArgument:
      return "InvalidArgument";
    case Code::kConcurrencyConflict:
      return "ConcurrencyConflict";
    case Code::kUnavailable:
      return "Unavailable";
    case Code::kTimedOut:
      return "TimedOut";
    case Code::kCorruption:
      return "Corruption";
    case Code::kPermissionDenied:
      return "PermissionDenied";
    case Code::kInternal:
      return "Internal";
  }
  return "Unknown";
}

std::string Status::to_string() const {
  if (is_ok()) return "OK";
  std::string out(code_name(code_));
  out += ": ";
  out += message_;
  if (!subject_.empty()) {
    switch (code_) {
      case Code::kConflict:
        out += " [rule " + subject_ + "]";
        break;
      case Code::kInvalidArgument:
        out += " [field " + subject_ + "]";
        break;
      case Code::kCorruption:
        out += " [at " + subject_ + "]";
        break;
      default:
        out += " [" + subject_ + "]";
        break;
    }
  }
  return out;
}

Status Status::with_context(std::string_view context) const {
  if (is_ok()) return *this;
  std::string message(context);
  message += ": ";
  message += message_;
  return Status(code_, std::move(message), subject_);
}

}  // namespace annals
