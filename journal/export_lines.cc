// Reading and writing the lines of an export, and parsing the lines that
// are not events (the header, org keys, reservations).
#include <istream>
#include <ostream>

#include "core/validate.h"
#include "journal/export.h"
#include "journal/export_lines.h"
#include "journal/format.h"

namespace annals::journal::lines {
namespace {

// Deeply nested input is refused before it is parsed.
bool nesting_within(std::string_view text, int limit) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > limit) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

// No NUL in any string or key (the parser has checked UTF-8 already).
bool strings_are_clean(const Json& j) {
  switch (j.type()) {
    case Json::value_t::string:
      return j.get_ref<const std::string&>().find('\0') == std::string::npos;
    case Json::value_t::object:
      for (const auto& [key, value] : j.items()) {
        if (key.find('\0') != std::string::npos || !strings_are_clean(value)) return false;
      }
      return true;
    case Json::value_t::array:
      for (const auto& value : j) {
        if (!strings_are_clean(value)) return false;
      }
      return true;
    default:
      return true;
  }
}

}  // namespace

Result<Json> parse_line(std::string_view text) {
  if (!nesting_within(text, kMaxJsonDepth)) {
    return Status::invalid_argument(
        "input", "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::invalid_argument("input", "not valid JSON (or not UTF-8)");
  if (!j.is_object()) return Status::invalid_argument("input", "not a JSON object");
  if (!strings_are_clean(j)) {
    return Status::invalid_argument("input", "a string holds a NUL character");
  }
  return j;
}

bool is_plain_text(std::string_view s) {
  if (!is_valid_utf8(s)) return false;
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

Status write_line(std::ostream& out, const OrderedJson& line) {
  std::string text;
  try {
    text = line.dump(-1, ' ', false, nlohmann::detail::error_handler_t::strict);
  } catch (const std::exception& e) {
    return Status::corruption(std::string("a line cannot be written as JSON: ") + e.what());
  }
  text.push_back('\n');
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!out) return Status::unavailable("writing the export failed (disk full, or output closed)");
  return Status::ok();
}

bool LineReader::next(std::string* line, Status* status) {
  line->clear();
  std::streambuf* buf = in_.rdbuf();
  bool any = false;
  for (;;) {
    int c = buf->sbumpc();
    if (c == std::char_traits<char>::eof()) {
      if (!any) return false;
      ++number_;
      *status = Status::invalid_argument(
          "input", line_label(number_) +
                       " does not end with a newline: the input is truncated or not an export");
      return false;
    }
    any = true;
    if (c == '\n') break;
    if (line->size() >= kMaxExportLineBytes) {
      ++number_;
      *status =
          Status::invalid_argument("input", line_label(number_) + " is longer than " +
                                                std::to_string(kMaxExportLineBytes) + " bytes");
      return false;
    }
    line->push_back(static_cast<char>(c));
  }
  ++number_;
  return true;
}

Result<Header> parse_header(const Json& j) {
  Fields f(j, {"kind", "format", "journal_format", "head", "org_keys", "reservations"});
  ANNALS_ASSIGN_OR_RETURN(std::string kind, f.text("kind"));
  if (kind != kHeaderKind) {
    return Status::invalid_argument("kind", "the first line must be the export header (kind \"" +
                                                std::string(kHeaderKind) + "\"), not kind \"" +
                                                kind + "\"");
  }
  ANNALS_ASSIGN_OR_RETURN(uint64_t version, f.u64("format"));
  if (version != kExportFormat) {
    return Status::invalid_argument("format", "export format " + std::to_string(version) +
                                                  " is not supported; this Annals reads format " +
                                                  std::to_string(kExportFormat));
  }
  ANNALS_ASSIGN_OR_RETURN(std::string journal_format, f.text("journal_format"));
  if (journal_format != format::kFormatValue) {
    return Status::invalid_argument("journal_format",
                                    "journal format '" + journal_format +
                                        "' is not supported; this Annals reads '" +
                                        std::string(format::kFormatValue) + "'");
  }
  Header h;
  ANNALS_ASSIGN_OR_RETURN(h.head, f.u64("head"));
  ANNALS_ASSIGN_OR_RETURN(h.org_keys, f.u64("org_keys"));
  ANNALS_ASSIGN_OR_RETURN(h.reservations, f.u64("reservations"));
  ANNALS_RETURN_IF_ERROR(f.check_unknown());
  return h;
}

Result<std::pair<std::string, std::string>> parse_org_key(const Json& j) {
  Fields f(j, {"kind", "org_id", "value", "value_base64"});
  ANNALS_RETURN_IF_ERROR(f.check_unknown());
  ANNALS_ASSIGN_OR_RETURN(std::string org, f.text("org_id"));
  ANNALS_RETURN_IF_ERROR(validate_org_id(org));
  if (f.has("value") == f.has("value_base64")) {
    return Status::invalid_argument("value",
                                    "an org_key line needs exactly one of 'value' and "
                                    "'value_base64'");
  }
  if (f.has("value")) {
    ANNALS_ASSIGN_OR_RETURN(std::string value, f.text("value"));
    if (value.empty()) return Status::invalid_argument("value", "the key entry is empty");
    return std::make_pair(org, value);
  }
  ANNALS_ASSIGN_OR_RETURN(std::string encoded, f.text("value_base64"));
  auto value = base64_decode(encoded);
  if (!value.has_value() || value->empty()) {
    return Status::invalid_argument("value_base64", "'value_base64' is not base64 of a key entry");
  }
  return std::make_pair(org, *value);
}

Result<StoredReservation> parse_reservation(const Json& j) {
  Fields f(j, {"kind", "rule", "scope", "value", "owner"});
  ANNALS_RETURN_IF_ERROR(f.check_unknown());
  StoredReservation r;
  ANNALS_ASSIGN_OR_RETURN(r.rule, f.text("rule"));
  ANNALS_ASSIGN_OR_RETURN(r.scope, f.text("scope"));
  ANNALS_ASSIGN_OR_RETURN(r.value, f.text("value"));
  ANNALS_ASSIGN_OR_RETURN(r.owner, f.text("owner"));
  ANNALS_RETURN_IF_ERROR(validate_identifier("rule", r.rule, kMaxRuleBytes));
  if (r.scope != format::kGlobalScope && !validate_org_id(r.scope).is_ok()) {
    return Status::invalid_argument("scope",
                                    "scope '" + r.scope + "' is neither an org id nor '*'");
  }
  ANNALS_RETURN_IF_ERROR(validate_text("value", r.value, {kMaxReservationValueBytes}));
  ANNALS_RETURN_IF_ERROR(validate_text("owner", r.owner, {kMaxStreamIdBytes}));
  return r;
}

Result<std::string> kind_of(const Json& j) {
  auto it = j.find("kind");
  if (it == j.end()) return Status::invalid_argument("kind", "missing field 'kind'");
  if (!it->is_string()) {
    return Status::invalid_argument(
        "kind", "field 'kind' must be a string, not " + std::string(it->type_name()));
  }
  return it->get<std::string>();
}

}  // namespace annals::journal::lines
