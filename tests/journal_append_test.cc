// The journal in one thread: positions and the envelope, reads, stream
// versions, expected versions, idempotency, reservations, refused
// commands, and opening a folder.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include "journal/journal.h"
#include "tests/journal_support.h"
#include "tests/test_support.h"

namespace annals::journal {
namespace {

using annals::testing::command;
using annals::testing::JournalTest;
using annals::testing::setting_event;
using annals::testing::TempDir;

TEST_F(JournalTest, EmptyJournalHasHeadZero) {
  EXPECT_EQ(journal_->head(), 0u);
  auto r = journal_->read(1, 10);
  ASSERT_OK(r);
  EXPECT_TRUE(r->empty());
}

TEST_F(JournalTest, AppendAssignsContiguousPositionsAndStampsEnvelope) {
  auto a = journal_->append(command("acme", {{"a", "1"}, {"b", "2"}}));
  ASSERT_OK(a);
  EXPECT_EQ(a->first_position, 1u);
  EXPECT_EQ(a->last_position, 2u);
  EXPECT_FALSE(a->replayed);
  clock_.advance(Micros(10));
  auto b = journal_->append(command("acme", {{"c", "3"}}));
  ASSERT_OK(b);
  EXPECT_EQ(b->first_position, 3u);
  EXPECT_EQ(journal_->head(), 3u);

  auto all = read_all();
  ASSERT_EQ(all.size(), 3u);
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].position(), i + 1);
    EXPECT_EQ(all[i].org_id(), "acme");
    EXPECT_EQ(all[i].stream_version(), 1u);
    EXPECT_EQ(all[i].actor(), "tester");
  }
  EXPECT_EQ(all[0].recorded_at_micros(), 1'800'000'000'000'000);
  EXPECT_EQ(all[2].recorded_at_micros(), 1'800'000'000'000'010);
  EXPECT_EQ(events::Event::view(all[1].payload().getSettingUpserted().getKey()), "b");
}

TEST_F(JournalTest, RecordedAtNeverGoesBackwards) {
  ASSERT_OK(journal_->append(command("acme", {{"a", "1"}})));
  clock_.advance(Micros(-1'000'000));  // the wall clock stepped back
  ASSERT_OK(journal_->append(command("acme", {{"b", "1"}})));
  auto all = read_all();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_GE(all[1].recorded_at_micros(), all[0].recorded_at_micros());
}

TEST_F(JournalTest, ReadFromMiddleAndBounded) {
  for (int i = 0; i < 10; ++i)
    ASSERT_OK(journal_->append(command("acme", {{"k" + std::to_string(i), "v"}})));
  auto r = journal_->read(4, 3);
  ASSERT_OK(r);
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].position(), 4u);
  EXPECT_EQ((*r)[2].position(), 6u);
  auto past = journal_->read(11, 5);
  ASSERT_OK(past);
  EXPECT_TRUE(past->empty());
}

TEST_F(JournalTest, HugeReadLimitsDoNotOverflow) {
  for (int i = 0; i < 5; ++i) ASSERT_OK(journal_->append(command("acme", {{"k", "v"}})));
  auto r = journal_->read(2, SIZE_MAX);
  ASSERT_OK(r);
  EXPECT_EQ(r->size(), 4u);
  auto none = journal_->read(UINT64_MAX, SIZE_MAX);
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
  auto org = journal_->read_org("acme", 3, SIZE_MAX);
  ASSERT_OK(org);
  EXPECT_EQ(org->size(), 3u);
}

TEST_F(JournalTest, StreamVersionsCountPerStream) {
  AppendRequest r = command("acme", {{"a", "1"}, {"a", "2"}, {"b", "1"}});
  ASSERT_OK(journal_->append(std::move(r)));
  auto all = read_all();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].stream_version(), 1u);
  EXPECT_EQ(all[1].stream_version(), 2u);
  EXPECT_EQ(all[2].stream_version(), 1u);
  EXPECT_EQ(*journal_->stream_version("acme", "setting/a"), 2u);
  EXPECT_EQ(*journal_->stream_version("acme", "setting/b"), 1u);
  EXPECT_EQ(*journal_->stream_version("acme", "setting/none"), 0u);
  // Streams belong to an org: the same id elsewhere is another stream.
  EXPECT_EQ(*journal_->stream_version("globex", "setting/a"), 0u);
}

TEST_F(JournalTest, ExpectedVersionMismatchIsAConcurrencyConflictAndAppendsNothing) {
  AppendRequest first = command("acme", {{"a", "1"}});
  first.expectations.push_back({"setting/a", ExpectedVersion::no_stream()});
  ASSERT_OK(journal_->append(std::move(first)));

  AppendRequest again = command("acme", {{"a", "2"}});
  again.expectations.push_back({"setting/a", ExpectedVersion::no_stream()});
  auto r = journal_->append(std::move(again));
  EXPECT_CODE(r, Code::kConcurrencyConflict);
  EXPECT_TRUE(r.status().retryable());
  EXPECT_EQ(journal_->head(), 1u);

  AppendRequest right = command("acme", {{"a", "2"}});
  right.expectations.push_back({"setting/a", ExpectedVersion::exactly(1)});
  ASSERT_OK(journal_->append(std::move(right)));

  AppendRequest stale = command("acme", {{"a", "3"}});
  stale.expectations.push_back({"setting/a", ExpectedVersion::exactly(1)});
  EXPECT_CODE(journal_->append(std::move(stale)), Code::kConcurrencyConflict);
  EXPECT_EQ(journal_->head(), 2u);
  EXPECT_EQ(*journal_->stream_version("acme", "setting/a"), 2u);
}

TEST_F(JournalTest, IdempotentRetryReturnsSamePositionsAndAppendsNothing) {
  AppendRequest r = command("acme", {{"a", "1"}, {"b", "2"}});
  r.idempotency_key = "cmd-1";
  auto first = journal_->append(std::move(r));
  ASSERT_OK(first);
  ASSERT_OK(journal_->append(command("acme", {{"c", "3"}})));

  AppendRequest retry = command("acme", {{"a", "1"}, {"b", "2"}});
  retry.idempotency_key = "cmd-1";
  auto second = journal_->append(std::move(retry));
  ASSERT_OK(second);
  EXPECT_TRUE(second->replayed);
  EXPECT_EQ(second->first_position, first->first_position);
  EXPECT_EQ(second->last_position, first->last_position);
  EXPECT_EQ(journal_->head(), 3u);

  // The key is the org's: another org may use the same key.
  AppendRequest other = command("globex", {{"a", "1"}});
  other.idempotency_key = "cmd-1";
  auto third = journal_->append(std::move(other));
  ASSERT_OK(third);
  EXPECT_FALSE(third->replayed);
  EXPECT_EQ(journal_->head(), 4u);
}

TEST_F(JournalTest, IdempotencySurvivesReopen) {
  AppendRequest r = command("acme", {{"a", "1"}});
  r.idempotency_key = "cmd-1";
  ASSERT_OK(journal_->append(std::move(r)));
  reopen();
  AppendRequest retry = command("acme", {{"a", "1"}});
  retry.idempotency_key = "cmd-1";
  auto again = journal_->append(std::move(retry));
  ASSERT_OK(again);
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->first_position, 1u);
  EXPECT_EQ(journal_->head(), 1u);
}

TEST_F(JournalTest, ReservationConflictNamesTheRuleAndAppendsNothing) {
  AppendRequest a = command("acme", {{"a", "1"}});
  a.reservations.push_back(Reservation::claim("settings.key", "a", "setting/a"));
  ASSERT_OK(journal_->append(std::move(a)));

  AppendRequest b = command("acme", {{"b", "1"}});
  b.reservations.push_back(Reservation::claim("settings.key", "a", "setting/b"));
  auto r = journal_->append(std::move(b));
  EXPECT_CODE(r, Code::kConflict);
  EXPECT_EQ(r.status().subject(), "settings.key");
  EXPECT_EQ(journal_->head(), 1u);

  // The owner may claim again; another org has its own namespace.
  AppendRequest again = command("acme", {{"a", "2"}});
  again.reservations.push_back(Reservation::claim("settings.key", "a", "setting/a"));
  ASSERT_OK(journal_->append(std::move(again)));
  AppendRequest other_org = command("globex", {{"a", "1"}});
  other_org.reservations.push_back(Reservation::claim("settings.key", "a", "setting/b"));
  ASSERT_OK(journal_->append(std::move(other_org)));
}

TEST_F(JournalTest, AcrossOrgReservationHoldsInEveryOrg) {
  AppendRequest a = command("acme", {{"a", "1"}});
  a.reservations.push_back(Reservation::claim("token.prefix", "pfx", "token/1", true));
  ASSERT_OK(journal_->append(std::move(a)));
  AppendRequest b = command("globex", {{"a", "1"}});
  b.reservations.push_back(Reservation::claim("token.prefix", "pfx", "token/2", true));
  auto r = journal_->append(std::move(b));
  EXPECT_CODE(r, Code::kConflict);
  EXPECT_EQ(r.status().subject(), "token.prefix");
}

TEST_F(JournalTest, ReleasedReservationCanBeClaimedAgainAndOnlyItsOwnerReleases) {
  AppendRequest a = command("acme", {{"a", "1"}});
  a.reservations.push_back(Reservation::claim("rule", "v", "owner-1"));
  ASSERT_OK(journal_->append(std::move(a)));

  // Someone else's release does nothing.
  AppendRequest foreign = command("acme", {{"b", "1"}});
  foreign.reservations.push_back(Reservation::release("rule", "v", "owner-2"));
  ASSERT_OK(journal_->append(std::move(foreign)));
  AppendRequest still = command("acme", {{"c", "1"}});
  still.reservations.push_back(Reservation::claim("rule", "v", "owner-2"));
  EXPECT_CODE(journal_->append(std::move(still)), Code::kConflict);

  AppendRequest release = command("acme", {{"a", "2"}});
  release.reservations.push_back(Reservation::release("rule", "v", "owner-1"));
  ASSERT_OK(journal_->append(std::move(release)));
  AppendRequest claim = command("acme", {{"c", "1"}});
  claim.reservations.push_back(Reservation::claim("rule", "v", "owner-2"));
  EXPECT_OK(journal_->append(std::move(claim)));
}

TEST_F(JournalTest, RenameReleasesAndClaimsInOneCommand) {
  AppendRequest a = command("acme", {{"a", "1"}});
  a.reservations.push_back(Reservation::claim("slug", "old", "s1"));
  ASSERT_OK(journal_->append(std::move(a)));
  AppendRequest rename = command("acme", {{"a", "2"}});
  rename.reservations.push_back(Reservation::release("slug", "old", "s1"));
  rename.reservations.push_back(Reservation::claim("slug", "new", "s1"));
  ASSERT_OK(journal_->append(std::move(rename)));
  AppendRequest reuse = command("acme", {{"b", "1"}});
  reuse.reservations.push_back(Reservation::claim("slug", "old", "s2"));
  EXPECT_OK(journal_->append(std::move(reuse)));
  AppendRequest clash = command("acme", {{"c", "1"}});
  clash.reservations.push_back(Reservation::claim("slug", "new", "s3"));
  EXPECT_CODE(journal_->append(std::move(clash)), Code::kConflict);
}

TEST_F(JournalTest, ReadOrgSeesOnlyThatOrg) {
  for (int i = 0; i < 30; ++i) {
    std::string org = i % 3 == 0 ? "acme" : (i % 3 == 1 ? "globex" : "initech");
    ASSERT_OK(journal_->append(command(org, {{"k" + std::to_string(i), "v"}})));
  }
  auto acme = journal_->read_org("acme", 1, 100);
  ASSERT_OK(acme);
  ASSERT_EQ(acme->size(), 10u);
  for (const auto& e : *acme) EXPECT_EQ(e.org_id(), "acme");
  EXPECT_EQ((*acme)[1].position(), 4u);
  auto later = journal_->read_org("acme", 5, 3);
  ASSERT_OK(later);
  ASSERT_EQ(later->size(), 3u);
  EXPECT_EQ((*later)[0].position(), 7u);
  auto none = journal_->read_org("nobody", 1, 100);
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
}

TEST_F(JournalTest, BadCommandsAreRefusedAndAppendNothing) {
  AppendRequest no_events;
  no_events.org_id = "acme";
  EXPECT_CODE(journal_->append(std::move(no_events)), Code::kInvalidArgument);

  EXPECT_CODE(journal_->append(command("", {{"a", "1"}})), Code::kInvalidArgument);
  EXPECT_CODE(journal_->append(command("bad org", {{"a", "1"}})), Code::kInvalidArgument);
  EXPECT_CODE(journal_->append(command(std::string(65, 'o'), {{"a", "1"}})),
              Code::kInvalidArgument);

  AppendRequest mixed = command("acme", {{"a", "1"}});
  mixed.events.push_back(setting_event("globex", "b", "1"));
  auto r = journal_->append(std::move(mixed));
  EXPECT_CODE(r, Code::kInvalidArgument);
  EXPECT_EQ(r.status().subject(), "events");

  AppendRequest no_payload;
  no_payload.org_id = "acme";
  no_payload.events.emplace_back("acme", "s", "a");
  EXPECT_CODE(journal_->append(std::move(no_payload)), Code::kInvalidArgument);

  AppendRequest empty_stream;
  empty_stream.org_id = "acme";
  empty_stream.events.push_back(setting_event("acme", "a", "1"));
  empty_stream.events.back().envelope().setStreamId("");
  EXPECT_CODE(journal_->append(std::move(empty_stream)), Code::kInvalidArgument);

  AppendRequest bad_key = command("acme", {{"a", "1"}});
  bad_key.idempotency_key = std::string(300, 'k');
  EXPECT_CODE(journal_->append(std::move(bad_key)), Code::kInvalidArgument);

  AppendRequest bad_rule = command("acme", {{"a", "1"}});
  bad_rule.reservations.push_back(Reservation::claim("bad rule!", "v", "o"));
  EXPECT_CODE(journal_->append(std::move(bad_rule)), Code::kInvalidArgument);

  AppendRequest twice = command("acme", {{"a", "1"}});
  twice.expectations.push_back({"setting/a", ExpectedVersion::any()});
  twice.expectations.push_back({"setting/a", ExpectedVersion::no_stream()});
  EXPECT_CODE(journal_->append(std::move(twice)), Code::kInvalidArgument);

  AppendRequest huge = command("acme", {{"a", std::string(events::kMaxEventBytes, 'x')}});
  auto too_big = journal_->append(std::move(huge));
  EXPECT_CODE(too_big, Code::kInvalidArgument);

  // Each event within its limit, the command over its own.
  std::vector<std::pair<std::string, std::string>> large;
  for (size_t i = 0; i * (events::kMaxEventBytes / 2) <= kMaxCommandBytes; ++i) {
    large.push_back({"k" + std::to_string(i), std::string(events::kMaxEventBytes / 2, 'x')});
  }
  auto too_big_together = journal_->append(command("acme", large));
  EXPECT_CODE(too_big_together, Code::kInvalidArgument);
  EXPECT_NE(too_big_together.status().message().find("bytes"), std::string::npos);
  std::vector<std::string> envelopes(kMaxCommandBytes / events::kMaxEventBytes + 1,
                                     std::string(events::kMaxEventBytes, 'x'));
  auto imported_too_big = journal_->import_command(std::move(envelopes));
  EXPECT_CODE(imported_too_big, Code::kInvalidArgument);
  EXPECT_NE(imported_too_big.status().message().find("bytes"), std::string::npos);

  EXPECT_EQ(journal_->head(), 0u);
  EXPECT_TRUE(read_all().empty());
}

TEST_F(JournalTest, ReadOnlyOpenSeesDataAndRefusesWrites) {
  ASSERT_OK(journal_->append(command("acme", {{"a", "1"}})));
  ASSERT_OK(journal_->sync());
  Options ro;
  ro.read_only = true;
  auto reader = Journal::open_rocksdb(dir_.sub("journal"), ro);
  ASSERT_OK(reader);
  EXPECT_EQ((*reader)->head(), 1u);
  EXPECT_CODE((*reader)->append(command("acme", {{"b", "1"}})), Code::kInvalidArgument);
}

TEST(JournalOpen, MissingFolderWithoutCreateIsNotFound) {
  TempDir dir;
  Options options;
  options.create_if_missing = false;
  EXPECT_CODE(Journal::open_rocksdb(dir.sub("nothing"), options), Code::kNotFound);
  EXPECT_CODE(Journal::open_rocksdb("", Options{}), Code::kInvalidArgument);
}

TEST(JournalOpen, SecondWriterOnTheSameFolderIsUnavailable) {
  TempDir dir;
  auto first = Journal::open_rocksdb(dir.sub("j"), Options{});
  ASSERT_OK(first);
  auto second = Journal::open_rocksdb(dir.sub("j"), Options{});
  EXPECT_CODE(second, Code::kUnavailable);
}

TEST(JournalOpen, ARocksDbFolderThatIsNotAJournalIsRefusedUntouched) {
  TempDir dir;
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir.sub("other"), &raw).ok());
    ASSERT_TRUE(raw->Put(rocksdb::WriteOptions(), "k", "v").ok());
    delete raw;
  }
  auto r = Journal::open_rocksdb(dir.sub("other"), Options{});
  EXPECT_CODE(r, Code::kInvalidArgument);
  std::vector<std::string> families;
  ASSERT_TRUE(
      rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir.sub("other"), &families).ok());
  EXPECT_EQ(families, std::vector<std::string>{"default"});
}

TEST(JournalOpen, DurabilityNamesParse) {
  EXPECT_EQ(*parse_durability("sync"), Durability::kSync);
  EXPECT_EQ(*parse_durability("batch"), Durability::kBatch);
  EXPECT_EQ(*parse_durability("none"), Durability::kNone);
  EXPECT_CODE(parse_durability("fsync"), Code::kInvalidArgument);
  EXPECT_CODE(parse_durability(""), Code::kInvalidArgument);
}

}  // namespace
}  // namespace annals::journal
