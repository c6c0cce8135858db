// The fixture of the tests of an export's lines and of the import: a small
// journal appended to directly, its export as lines, and an empty journal
// to import into.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "journal/export.h"
#include "journal/journal.h"
#include "tests/journal_support.h"
#include "tests/test_support.h"

namespace annals::testing {

// A small journal appended to directly: commands of one and of two events.
class JournalImportErrorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = journal::Journal::open_rocksdb(dir_.sub("source"), {});
    ASSERT_OK(opened);
    source_ = std::move(opened).value();
    for (int i = 0; i < 4; ++i) append_setting(*source_, "acme", "key-" + std::to_string(i), 1);
    append_setting(*source_, "acme", "pair", 2);  // positions 5 and 6: one command
    append_setting(*source_, "globex", "other", 1);
    ASSERT_OK(source_->import_data_key("acme", std::string("\x00\x01wrapped\xff", 10)));
    ASSERT_OK(source_->import_data_key("globex", "forgotten at 1718000000000000"));
    journal::AppendRequest claim;
    claim.org_id = "acme";
    claim.events.push_back(setting_event("acme", "claimed", "v"));
    claim.reservations.push_back(
        journal::Reservation::claim("settings.key", "claimed", "setting/claimed"));
    claim.reservations.push_back(
        journal::Reservation::claim("token.prefix", "bodhiapp_x", "token/x", /*across_orgs=*/true));
    claim.idempotency_key = "claim-1";
    ASSERT_OK(source_->append(std::move(claim)));
    std::ostringstream out;
    ASSERT_OK(journal::export_journal(*source_, out, {.with_keys = true}));
    lines_ = split_lines(out.str());
    // header, 2 keys, 8 events, 2 reservations
    ASSERT_EQ(lines_.size(), 13u) << out.str();

    auto target = journal::Journal::open_rocksdb(dir_.sub("target"), {});
    ASSERT_OK(target);
    target_ = std::move(target).value();
  }

  static void append_setting(journal::Journal& journal, const std::string& org,
                             const std::string& key, int events) {
    journal::AppendRequest request;
    request.org_id = org;
    for (int i = 0; i < events; ++i)
      request.events.push_back(setting_event(org, key, "value " + std::to_string(i)));
    ASSERT_OK(journal.append(std::move(request)));
  }

  static std::string join(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
  }

  static std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  // `lines` joined, with the first `from` in lines[index] replaced by `to`.
  static std::string edit(std::vector<std::string> lines, size_t index, const std::string& from,
                          const std::string& to) {
    size_t at = lines[index].find(from);
    EXPECT_NE(at, std::string::npos) << from << " not in " << lines[index];
    if (at != std::string::npos) lines[index].replace(at, from.size(), to);
    return join(lines);
  }

  // Imports `text` into the target and expects a failure that changes nothing.
  Status import_fails(const std::string& text, Code code = Code::kInvalidArgument,
                      journal::ImportOptions options = {}) {
    auto before = target_->snapshot_state();
    EXPECT_OK(before);
    std::istringstream in(text);
    auto result = journal::import_journal(*target_, in, options);
    EXPECT_FALSE(result.is_ok()) << "imported what should be refused";
    if (result.is_ok()) return Status::internal("imported");
    EXPECT_EQ(result.status().code(), code) << result.status().to_string();
    auto after = target_->snapshot_state();
    EXPECT_OK(after);
    EXPECT_EQ(after->head, before->head);
    EXPECT_EQ(target_->head(), before->head);
    EXPECT_EQ(after->data_keys, before->data_keys);
    EXPECT_EQ(after->reservations.size(), before->reservations.size());
    return result.status();
  }

  static void expect_names(const Status& s, const std::string& fragment) {
    EXPECT_NE(s.message().find(fragment), std::string::npos)
        << "'" << fragment << "' not in: " << s.to_string();
  }

  TempDir dir_;
  std::unique_ptr<journal::Journal> source_;
  std::unique_ptr<journal::Journal> target_;
  std::vector<std::string> lines_;  // 0 header, 1-2 keys, 3-10 events, 11-12 reservations
};

}  // namespace annals::testing
