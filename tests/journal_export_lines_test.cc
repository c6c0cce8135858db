// The lines of an export and their codec: one JSON object a line in a
// fixed field order, keys and reservations that travel verbatim, and input
// that is cut short, not JSON, hostile, too large or of the wrong shape
// refused with its line and nothing written.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "journal/export.h"
#include "journal/journal.h"
#include "tests/journal_export_support.h"
#include "tests/test_support.h"

namespace annals {
namespace {

using testing::JournalImportErrorTest;

TEST_F(JournalImportErrorTest, FormatIsOneObjectALine) {
  EXPECT_NE(lines_[0].find("{\"kind\":\"annals-export\",\"format\":1,"), std::string::npos);
  EXPECT_NE(lines_[0].find("\"head\":8"), std::string::npos) << lines_[0];
  EXPECT_NE(lines_[1].find("\"value_base64\":\"AAF3cmFwcGVk/w==\""), std::string::npos)
      << lines_[1];
  EXPECT_NE(lines_[2].find("\"value\":\"forgotten at 1718000000000000\""), std::string::npos);
  // Envelope fields in schema order, then the type and the payload.
  const std::string& event = lines_[3];
  EXPECT_EQ(event.rfind("{\"kind\":\"event\",\"position\":1,\"org_id\":\"acme\",\"stream_id\":"
                        "\"setting/key-0\",\"stream_version\":1,\"actor\":\"tester\","
                        "\"recorded_at_micros\":",
                        0),
            0u)
      << event;
  EXPECT_NE(event.find(",\"idempotency_key\":\"\",\"command_index\":0,\"command_events\":1"),
            std::string::npos)
      << event;
  EXPECT_NE(event.find(",\"type\":\"settingUpserted\",\"payload\":{\"key\":\"key-0\",\"value\":"
                       "\"value 0\",\"valueType\":\"string\""),
            std::string::npos)
      << event;
  EXPECT_NE(lines_[8].find("\"command_index\":1,\"command_events\":2"), std::string::npos);
  EXPECT_NE(lines_[11].find("{\"kind\":\"reservation\",\"rule\":\"settings.key\",\"scope\":"
                            "\"acme\",\"value\":\"claimed\",\"owner\":\"setting/claimed\"}"),
            std::string::npos)
      << lines_[11];
  EXPECT_NE(lines_[12].find("\"scope\":\"*\""), std::string::npos) << lines_[12];
}

TEST_F(JournalImportErrorTest, TombstonesAndBinaryKeysTravelVerbatim) {
  std::istringstream in(join(lines_));
  ASSERT_OK(journal::import_journal(*target_, in));
  auto a = source_->snapshot_state();
  auto b = target_->snapshot_state();
  ASSERT_OK(a);
  ASSERT_OK(b);
  EXPECT_EQ(a->data_keys, b->data_keys);
  ASSERT_EQ(a->reservations.size(), b->reservations.size());
  for (size_t i = 0; i < a->reservations.size(); ++i) {
    EXPECT_EQ(a->reservations[i].rule, b->reservations[i].rule);
    EXPECT_EQ(a->reservations[i].scope, b->reservations[i].scope);
    EXPECT_EQ(a->reservations[i].value, b->reservations[i].value);
    EXPECT_EQ(a->reservations[i].owner, b->reservations[i].owner);
  }
  // Rebuilt state answers like the original's.
  EXPECT_EQ(*target_->stream_version("acme", "setting/pair"), 2u);
  journal::AppendRequest retry;
  retry.org_id = "acme";
  retry.events.emplace_back("acme", "setting/claimed", "tester");
  retry.events.back().payload().initSettingDeleted().setKey("claimed");
  retry.idempotency_key = "claim-1";
  auto replayed = target_->append(std::move(retry));
  ASSERT_OK(replayed);
  EXPECT_TRUE(replayed->replayed);
  EXPECT_EQ(replayed->first_position, 8u);
}

TEST_F(JournalImportErrorTest, TruncatedInputIsRefused) {
  std::string text = join(lines_);
  // Cut inside the last line.
  Status s = import_fails(text.substr(0, text.size() - 10));
  expect_names(s, "line 13");
  expect_names(s, "truncated");
  // Cut at a line boundary: the header's counts tell.
  auto lines = lines_;
  lines.resize(12);
  s = import_fails(join(lines));
  expect_names(s, "reservations");
  lines.resize(9);
  s = import_fails(join(lines));
  expect_names(s, "truncated");
  s = import_fails("");
  expect_names(s, "empty");
}

TEST_F(JournalImportErrorTest, GarbageIsRefused) {
  auto lines = lines_;
  lines[5] = "this is not json";
  expect_names(import_fails(join(lines)), "line 6: not valid JSON");
  lines[5] = "[1,2,3]";
  expect_names(import_fails(join(lines)), "line 6: not a JSON object");
  expect_names(import_fails("{\"kind\":\"event\"}\n"), "line 1");
  expect_names(import_fails(std::string(100, '\0') + "\n"), "line 1");
}

TEST_F(JournalImportErrorTest, HostileStringsAreRefused) {
  expect_names(import_fails(edit(lines_, 3, "\"org_id\":\"acme\"", "\"org_id\":\"../../etc\"")),
               "line 4");
  expect_names(import_fails(edit(lines_, 3, "\"stream_id\":\"setting/key-0\"",
                                 "\"stream_id\":\"a\\u0000b\"")),
               "NUL");
  expect_names(import_fails(edit(lines_, 3, "\"value\":\"value 0\"", "\"value\":\"\xff\xfe\"")),
               "not valid JSON");
  expect_names(import_fails(edit(lines_, 3, "\"actor\":\"tester\"", "\"actor\":\"\xed\xa0\x80\"")),
               "line 4");
  expect_names(import_fails(edit(lines_, 3, "\"stream_id\":\"setting/key-0\"",
                                 "\"stream_id\":\"" + std::string(600, 'x') + "\"")),
               "stream_id");
  expect_names(
      import_fails(edit(lines_, 3, "\"payload\":{", "\"payload\":" + std::string(5000, '[') + "{")),
      "nested deeper");
  expect_names(
      import_fails(edit(lines_, 11, "\"rule\":\"settings.key\"", "\"rule\":\"x'; DROP TABLE\"")),
      "line 12");
  // Longer than any event may be.
  std::string huge =
      "{\"kind\":\"event\",\"pad\":\"" + std::string(journal::kMaxExportLineBytes, 'x') + "\"}";
  expect_names(import_fails(lines_[0] + "\n" + huge + "\n"), "line 2 is longer than");
}

TEST_F(JournalImportErrorTest, AnEventTooLargeToReadIsRefused) {
  // Within the line and event limits, but too big to be read whole under
  // the decode limits: refused with its line, never thrown.
  auto lines = lines_;
  size_t at = lines[3].find("\"actor\":\"tester\"");
  ASSERT_NE(at, std::string::npos);
  lines[3].replace(at, 16, "\"actor\":\"" + std::string(3 << 20, 'a') + "\"");
  Status s = import_fails(join(lines));
  expect_names(s, "line 4");
  expect_names(s, "too large to be read");
}

TEST_F(JournalImportErrorTest, WrongTypesAndUnknownNamesAreRefused) {
  Status s = import_fails(edit(lines_, 4, "\"position\":2", "\"position\":\"2\""));
  expect_names(s, "line 5: field 'position' must be a non-negative whole number, not string");
  EXPECT_EQ(s.subject(), "position");
  expect_names(import_fails(edit(lines_, 4, "\"position\":2", "\"position\":-2")), "not number");
  expect_names(import_fails(edit(lines_, 4, "\"position\":2", "\"position\":2.0")), "not number");
  expect_names(import_fails(edit(lines_, 4, "\"actor\":\"tester\",", "")), "missing field 'actor'");
  expect_names(import_fails(edit(lines_, 4, "\"kind\":\"event\"", "\"kind\":\"evnt\"")),
               "line 5: unknown kind \"evnt\"");
  expect_names(
      import_fails(edit(lines_, 4, "\"type\":\"settingUpserted\"", "\"type\":\"tokenExploded\"")),
      "unknown event type 'tokenExploded'");
  expect_names(import_fails(edit(lines_, 4, "\"type\":\"settingUpserted\"", "\"type\":\"unset\"")),
               "not an event type");
  expect_names(import_fails(edit(lines_, 4, "\"valueType\":\"string\"", "\"valueTyp\":\"string\"")),
               "line 5");
  expect_names(import_fails(edit(lines_, 4, "\"valueType\":\"string\"", "\"valueType\":7")),
               "line 5");
  expect_names(
      import_fails(edit(lines_, 4, "\"actor\":\"tester\"", "\"actor\":\"tester\",\"extra\":1")),
      "unknown field 'extra'");
  expect_names(import_fails(edit(lines_, 0, "\"format\":1", "\"format\":2")), "format 2");
  expect_names(import_fails(edit(lines_, 1, "\"value_base64\":\"", "\"value_base64\":\"!!")),
               "line 2");
}

}  // namespace
}  // namespace annals
