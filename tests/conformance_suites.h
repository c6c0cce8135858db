// Checks every repository's tests run the same way, fed one table per
// repository: bad input to a write is refused with kInvalidArgument naming the
// field, and appends nothing.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "annals/status.h"
#include "journal/journal.h"
#include "tests/conformance_helpers.h"

namespace annals::testing {

// One bad input to a write: what it is, the change that makes a valid input
// bad, and the field the refusal must name.
template <typename Input>
struct BadInput {
  std::string what;
  std::function<void(Input&)> change;
  std::string field;
};

template <typename Input>
using BadInputs = std::vector<BadInput<Input>>;

// The rows of `tables`, one table after the other.
template <typename Input, typename... More>
BadInputs<Input> rows_of(BadInputs<Input> first, More&&... more) {
  (first.insert(first.end(), more.begin(), more.end()), ...);
  return first;
}

// Rows setting `member` to each of `values` ({what, value}), refused naming `field`.
template <typename Input, typename Member>
BadInputs<Input> bad_values(const std::string& field, Member Input::*member,
                            std::vector<std::pair<std::string, std::string>> values) {
  BadInputs<Input> rows;
  for (auto& [what, value] : values) {
    rows.push_back({std::move(what), [member, value](Input& in) { in.*member = value; }, field});
  }
  return rows;
}

// An identifier (core/validate.h): empty, longer than `max_bytes`, or with a
// space, a quote, a double quote or a slash.
template <typename Input, typename Member>
BadInputs<Input> bad_identifier(const std::string& field, Member Input::*member,
                                size_t max_bytes = 64) {
  return bad_values(
      field, member,
      {{"empty " + field, ""},
       {std::to_string(max_bytes + 1) + "-byte " + field, std::string(max_bytes + 1, 'x')},
       {field + " with space", "a b"},
       {field + " with quote", "a'1"},
       {field + " with double quote", "a\"1"},
       {field + " with slash", "a/b"}});
}

enum class Empty { kRefused, kAllowed };

// Text (core/validate.h): longer than `max_bytes`, not UTF-8 (bytes UTF-8
// never uses, a sequence cut short, a bad continuation byte, an overlong
// form), with a NUL byte, and empty unless `empty` is allowed.
template <typename Input, typename Member>
BadInputs<Input> bad_text(const std::string& field, Member Input::*member, size_t max_bytes,
                          Empty empty = Empty::kRefused) {
  std::vector<std::pair<std::string, std::string>> values = {
      {std::to_string(max_bytes + 1) + "-byte " + field, std::string(max_bytes + 1, 't')},
      {field + " not UTF-8", "\xff\xfe"},
      {field + " cut short", "\xc3"},
      {field + " bad continuation", "\xc3\x28"},
      {field + " overlong", "\xc0\x80"},
      {field + " with NUL", std::string("a\0b", 3)}};
  if (empty == Empty::kRefused) values.push_back({"empty " + field, ""});
  return bad_values(field, member, std::move(values));
}

// Orgs that every repository refuses (core/validate.h validate_org_id).
inline std::vector<std::pair<std::string, std::string>> bad_orgs() {
  return {{"empty org", ""},         {"65-char org", std::string(65, 'o')},
          {"org with slash", "a/b"}, {"org with space", "a b"},
          {"org with quote", "o'1"}, {"org with SQL", "o'; DROP TABLE t;--"}};
}

// `write(org, input)` must be refused with kInvalidArgument naming the field,
// appending nothing to `journal`: in each of the bad orgs with `valid`, and in
// org "default" with `valid` changed by each row. `verb` names the write in
// a failure.
template <typename Input>
void expect_bad_inputs_refused(
    journal::Journal& journal, const std::string& verb, const Input& valid,
    const BadInputs<Input>& rows,
    const std::type_identity_t<std::function<Status(const std::string& org, const Input&)>>&
        write) {
  for (const auto& [what, org] : bad_orgs()) {
    const NothingAppended guard(journal, verb + " " + what);
    expect_invalid(write(org, valid), "org_id", verb + " " + what);
  }
  for (const auto& row : rows) {
    const NothingAppended guard(journal, verb + " " + row.what);
    Input input = valid;
    row.change(input);
    expect_invalid(write("default", input), row.field, verb + " " + row.what);
  }
}

}  // namespace annals::testing
