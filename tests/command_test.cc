// The command builder (repositories/command.h): the AppendRequest it builds,
// and what appending it does to a real Store (RocksDB journal, SQLite read
// tables).
#include "repositories/command.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "annals/status.h"
#include "repositories/operator.h"
#include "repositories/reservation_rules.h"
#include "tests/test_support.h"

namespace annals::repositories {
namespace {

using journal::Reservation;

class CommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions options;
    options.data_dir = dir_.path();
    auto store = Store::open(options);
    ASSERT_OK(store);
    store_ = std::move(store).value();
  }

  void TearDown() override {
    if (store_)
      annals::testing::expect_reservations_follow_the_events(store_->internals().journal());
  }

  RepositoryContext& ctx() { return store_->internals().context(); }
  uint64_t head() { return store_->internals().journal().head(); }

  // A setting upsert on the stream of `key`, claiming the key.
  Command setting(const std::string& key, const std::string& value) {
    Command cmd(ctx(), "acme", "setting/" + key, "system");
    cmd.claim(rules::kSettingKey, key);
    auto p = cmd.add_event().initSettingUpserted();
    p.setKey(key);
    p.setValue(value);
    events::set_setting_value_type(p, "string");
    return cmd;
  }

  annals::testing::TempDir dir_;
  std::unique_ptr<Store> store_;
};

void expect_reservation(const Reservation& r, Reservation::Action action, const std::string& rule,
                        const std::string& value, const std::string& owner, bool across_orgs) {
  EXPECT_EQ(r.action, action);
  EXPECT_EQ(r.rule, rule);
  EXPECT_EQ(r.value, value);
  EXPECT_EQ(r.owner, owner);
  EXPECT_EQ(r.across_orgs, across_orgs);
}

TEST_F(CommandTest, BuildsTheAppendRequestItDeclares) {
  Command cmd(ctx(), "acme", "token/t1", "alice");
  cmd.expect_new();
  cmd.expect_version("config/c1", 7);
  cmd.idempotency_key("token.create/t1");
  cmd.claim(rules::kTokenPrefix, "ab12", /*across_orgs=*/true);
  cmd.rename(rules::kMcpSlug, "old/alice", "new/alice");
  cmd.rename(rules::kMcpSlug, "same/alice", "same/alice");  // unchanged: nothing
  cmd.claim_for("api_alias/a1@3", rules::kApiAliasId, "a1");
  cmd.release_for("api_alias/a0@1", rules::kApiAliasId, "a0");
  cmd.release(rules::kSettingKey, "k");
  cmd.add_event().initTokenCreated().setId("t1");
  cmd.add_event("token/t2").initTokenCreated().setId("t2");

  const journal::AppendRequest& r = cmd.request();
  EXPECT_EQ(r.org_id, "acme");
  EXPECT_EQ(r.idempotency_key, "token.create/t1");

  ASSERT_EQ(r.expectations.size(), 2u);
  EXPECT_EQ(r.expectations[0].stream_id, "token/t1");
  EXPECT_EQ(r.expectations[0].expected.version(), 0u);  // no stream
  EXPECT_EQ(r.expectations[1].stream_id, "config/c1");
  EXPECT_EQ(r.expectations[1].expected.version(), 7u);
  EXPECT_FALSE(r.expectations[1].expected.is_any());

  ASSERT_EQ(r.reservations.size(), 6u);
  expect_reservation(r.reservations[0], Reservation::Action::kClaim, rules::kTokenPrefix, "ab12",
                     "token/t1", true);
  expect_reservation(r.reservations[1], Reservation::Action::kRelease, rules::kMcpSlug, "old/alice",
                     "token/t1", false);
  expect_reservation(r.reservations[2], Reservation::Action::kClaim, rules::kMcpSlug, "new/alice",
                     "token/t1", false);
  expect_reservation(r.reservations[3], Reservation::Action::kClaim, rules::kApiAliasId, "a1",
                     "api_alias/a1@3", false);
  expect_reservation(r.reservations[4], Reservation::Action::kRelease, rules::kApiAliasId, "a0",
                     "api_alias/a0@1", false);
  expect_reservation(r.reservations[5], Reservation::Action::kRelease, rules::kSettingKey, "k",
                     "token/t1", false);

  ASSERT_EQ(r.events.size(), 2u);
  auto first = const_cast<events::NewEvent&>(r.events[0]).envelope();
  auto second = const_cast<events::NewEvent&>(r.events[1]).envelope();
  EXPECT_EQ(std::string(first.getOrgId().cStr()), "acme");
  EXPECT_EQ(std::string(first.getStreamId().cStr()), "token/t1");
  EXPECT_EQ(std::string(first.getActor().cStr()), "alice");
  EXPECT_EQ(std::string(first.getPayload().getTokenCreated().getId().cStr()), "t1");
  EXPECT_EQ(std::string(second.getStreamId().cStr()), "token/t2");
  EXPECT_EQ(std::string(second.getActor().cStr()), "alice");
  EXPECT_EQ(std::string(second.getPayload().getTokenCreated().getId().cStr()), "t2");
}

TEST_F(CommandTest, AppendsEveryEventAndWaitsForTheProjection) {
  Command cmd = setting("color", "blue");
  cmd.expect_new();
  auto appended = cmd.append();
  ASSERT_OK(appended);
  EXPECT_EQ(appended->first_position, 1u);
  EXPECT_EQ(appended->last_position, 1u);
  EXPECT_EQ(head(), 1u);

  // Read-your-writes: the row is there as soon as append() returns.
  auto row = store_->settings().get("acme", "color");
  ASSERT_OK(row);
  EXPECT_EQ(row->value, "blue");

  // Stamped with the current version of its kind.
  auto events = store_->internals().journal().read(1, 10);
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ(events->front().stored_version(), events->front().version());
  EXPECT_EQ(events->front().stream_id(), "setting/color");
  EXPECT_EQ(events->front().actor(), "system");
}

TEST_F(CommandTest, SeveralStreamsInOneAppend) {
  Command cmd(ctx(), "acme", "setting/a", "system");
  for (std::string key : {"a", "b"}) {
    auto p = cmd.add_event("setting/" + key).initSettingUpserted();
    p.setKey(key);
    p.setValue("v");
    events::set_setting_value_type(p, "string");
    cmd.claim_for("setting/" + key, rules::kSettingKey, key);
    cmd.expect_version("setting/" + key, 0);
  }
  auto appended = cmd.append();
  ASSERT_OK(appended);
  EXPECT_EQ(appended->first_position, 1u);
  EXPECT_EQ(appended->last_position, 2u);
  auto version = store_->internals().journal().stream_version("acme", "setting/b");
  ASSERT_OK(version);
  EXPECT_EQ(*version, 1u);
}

TEST_F(CommandTest, AConflictingExpectationAppendsNothing) {
  ASSERT_OK(setting("color", "blue").append());
  ASSERT_EQ(head(), 1u);

  // Two events, the second on a stream that moved on: neither is appended.
  Command cmd = setting("size", "big");
  cmd.add_event("setting/color").initSettingDeleted().setKey("color");
  cmd.expect_version("setting/color", 0);  // it is at 1
  EXPECT_CODE(cmd.append(), Code::kConcurrencyConflict);
  EXPECT_EQ(head(), 1u);
  EXPECT_CODE(store_->settings().get("acme", "size"), Code::kNotFound);

  Command again = setting("color", "red");
  again.expect_new();
  EXPECT_CODE(again.append(), Code::kConcurrencyConflict);
  EXPECT_EQ(head(), 1u);
}

TEST_F(CommandTest, ATakenValueAppendsNothing) {
  ASSERT_OK(setting("color", "blue").append());
  // Another stream claiming the same key.
  Command cmd(ctx(), "acme", "setting/other", "system");
  cmd.claim(rules::kSettingKey, "color");
  auto p = cmd.add_event().initSettingUpserted();
  p.setKey("color");
  p.setValue("red");
  events::set_setting_value_type(p, "string");
  EXPECT_CODE(cmd.append(), Code::kConflict);
  EXPECT_EQ(head(), 1u);
}

TEST_F(CommandTest, ARetryWithTheSameKeyIsReplayed) {
  Command first = setting("color", "blue");
  first.idempotency_key("setting.color/1");
  auto a = first.append();
  ASSERT_OK(a);
  EXPECT_FALSE(a->replayed);

  Command retry = setting("color", "blue");
  retry.idempotency_key("setting.color/1");
  auto b = retry.append();
  ASSERT_OK(b);
  EXPECT_TRUE(b->replayed);
  EXPECT_EQ(b->first_position, a->first_position);
  EXPECT_EQ(head(), 1u);
}

TEST_F(CommandTest, AppendsOnce) {
  Command cmd = setting("color", "blue");
  ASSERT_OK(cmd.append());
  EXPECT_CODE(cmd.append(), Code::kInternal);
  EXPECT_EQ(head(), 1u);
}

}  // namespace
}  // namespace annals::repositories
