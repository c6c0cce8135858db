// Status and Result<T>: how every Annals operation reports an expected failure.
//
// Expected failures are values; bugs are assertions. Each code tells the caller
// what it can do: retry (kConcurrencyConflict, kUnavailable), fix its input
// (kInvalidArgument), or stop (kCorruption, kInternal).
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace annals {

enum class Code {
  kOk = 0,
  kNotFound,             // a row that must exist does not
  kConflict,             // a uniqueness rule would be broken; subject() names the rule
  kInvalidArgument,      // bad input; subject() names the field
  kConcurrencyConflict,  // a stream moved on since it was read; retry after re-reading
  kUnavailable,          // storage cannot be reached right now; retry later
  kTimedOut,             // committed, but not visible within the wait; reading again later works
  kCorruption,           // stored bytes fail their checks; subject() names the position
  kPermissionDenied,     // the database refused the role (privileges, row-level security)
  kInternal,             // a bug or an unexpected library failure
};

std::string_view code_name(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;

  static Status ok() { return Status(); }
  static Status not_found(std::string message) { return {Code::kNotFound, std::move(message)}; }
  static Status conflict(std::string rule, std::string message) {
    return {Code::kConflict, std::move(message), std::move(rule)};
  }
  static Status invalid_argument(std::string field, std::string message) {
    return {Code::kInvalidArgument, std::move(message), std::move(field)};
  }
  static Status concurrency_conflict(std::string message) {
    return {Code::kConcurrencyConflict, std::move(message)};
  }
  static Status unavailable(std::string message) {
    return {Code::kUnavailable, std::move(message)};
  }
  static Status timed_out(std::string message) { return {Code::kTimedOut, std::move(message)}; }
  static Status corruption(std::string message, std::string where = {}) {
    return {Code::kCorruption, std::move(message), std::move(where)};
  }
  static Status internal(std::string message) { return {Code::kInternal, std::move(message)}; }
  static Status permission_denied(std::string message) {
    return {Code::kPermissionDenied, std::move(message)};
  }

  bool is_ok() const { return code_ == Code::kOk; }
  explicit operator bool() const { return is_ok(); }
  // Lets generic code treat a Status and a Result<T> alike.
  const Status& status() const { return *this; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // The rule of a conflict, the field of an invalid argument, the position of a corruption.
  const std::string& subject() const { return subject_; }
  // Whether doing the same thing again later may succeed.
  bool retryable() const {
    return code_ == Code::kConcurrencyConflict || code_ == Code::kUnavailable ||
           code_ == Code::kTimedOut;
  }

  // "Conflict: token prefix 'abc' is taken [rule token.prefix]"
  std::string to_string() const;

  // Prefixes the message with context, keeping the code and subject.
  Status with_context(std::string_view context) const;

 private:
  Status(Code code, std::string message, std::string subject = {})
      : code_(code), message_(std::move(message)), subject_(std::move(subject)) {}

  Code code_ = Code::kOk;
  std::string message_;
  std::string subject_;
};

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : state_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(state_).is_ok() && "a Result without a value needs an error");
  }

  bool is_ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return is_ok(); }

  const Status& status() const {
    static const Status kOk;
    return is_ok() ? kOk : std::get<Status>(state_);
  }
  T& value() & {
    assert(is_ok());
    return std::get<T>(state_);
  }
  const T& value() const& {
    assert(is_ok());
    return std::get<T>(state_);
  }
  T&& value() && {
    assert(is_ok());
    return std::get<T>(std::move(state_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace annals

#define ANNALS_CONCAT_INNER(a, b) a##b
#define ANNALS_CONCAT(a, b) ANNALS_CONCAT_INNER(a, b)

// Returns the status from the enclosing function when it is not ok.
#define ANNALS_RETURN_IF_ERROR(expr)                    \
  do {                                                  \
    ::annals::Status annals_status_ = (expr);           \
    if (!annals_status_.is_ok()) return annals_status_; \
  } while (0)

// Declares `lhs` from a Result, or returns its status from the enclosing function.
#define ANNALS_ASSIGN_OR_RETURN(lhs, expr) \
  ANNALS_ASSIGN_OR_RETURN_IMPL(ANNALS_CONCAT(annals_result_, __LINE__), lhs, expr)
#define ANNALS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.is_ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
