// Event versions and upcasters: what a writer stamps, what decode makes of
// each version, and the registry being complete.
#include <capnp/schema.h>
#include <gtest/gtest.h>

#include <string>

#include "events/event.h"
#include "events/versions.h"
#include "tests/event_envelope.h"
#include "tests/test_support.h"

namespace annals::events {
namespace {

// A settingUpserted as Annals wrote it before versions: valueType holds the
// type's name and eventVersion is 0, unless `event_version` says otherwise.
std::string setting_v1_bytes(const std::string& value_type, uint16_t event_version = 0) {
  NewEvent e("acme", "setting/BODHI_PORT", "admin");
  auto env = e.envelope();
  env.setPosition(7);
  env.setStreamVersion(3);
  env.setRecordedAtMicros(1'700'000'000'000'000);
  env.setIdempotencyKey("cmd-1");
  env.setCommandIndex(1);
  env.setCommandEvents(2);
  env.setEventVersion(event_version);
  auto p = e.payload().initSettingUpserted();
  p.setKey("BODHI_PORT");
  p.setValue("1135");
  p.setValueType(value_type);
  return e.encode();
}

TEST(Upcaster, VersionOneSettingIsReadAsVersionTwo) {
  auto e = Event::decode(setting_v1_bytes("number"));
  ASSERT_OK(e);
  EXPECT_EQ(e->stored_version(), 1);
  EXPECT_EQ(e->version(), 2);
  EXPECT_EQ(e->envelope().getEventVersion(), 2);
  auto p = e->payload().getSettingUpserted();
  EXPECT_EQ(p.getKind(), schema::SettingKind::NUMBER);
  EXPECT_EQ(p.getCustomType().size(), 0u);
  EXPECT_EQ(setting_value_type(p), "number");
  EXPECT_EQ(Event::view(p.getKey()), "BODHI_PORT");
  EXPECT_EQ(Event::view(p.getValue()), "1135");
  EXPECT_OK(deep_validate(*e));
}

TEST(Upcaster, UpcastingKeepsTheEnvelope) {
  auto e = Event::decode(setting_v1_bytes("string"));
  ASSERT_OK(e);
  testing::expect_envelope(*e,
                           {7, "acme", "setting/BODHI_PORT", 3, "admin", 1'700'000'000'000'000});
  EXPECT_EQ(Event::view(e->envelope().getIdempotencyKey()), "cmd-1");
  EXPECT_EQ(e->envelope().getCommandIndex(), 1u);
  EXPECT_EQ(e->envelope().getCommandEvents(), 2u);
}

TEST(Upcaster, EveryValueTypeNameMapsToAKindOrCustom) {
  struct Case {
    std::string name;
    schema::SettingKind kind;
    std::string custom;
  };
  for (const Case& c : {Case{"string", schema::SettingKind::STRING, ""},
                        Case{"number", schema::SettingKind::NUMBER, ""},
                        Case{"boolean", schema::SettingKind::BOOLEAN, ""},
                        Case{"option", schema::SettingKind::OPTION, ""},
                        Case{"String", schema::SettingKind::CUSTOM, "String"},
                        Case{"executable-path", schema::SettingKind::CUSTOM, "executable-path"},
                        Case{"ns:type.v1", schema::SettingKind::CUSTOM, "ns:type.v1"}}) {
    SCOPED_TRACE(c.name);
    // Version 0 (before versions) and an explicit 1 are the same.
    for (uint16_t written : {0, 1}) {
      auto e = Event::decode(setting_v1_bytes(c.name, written));
      ASSERT_OK(e);
      auto p = e->payload().getSettingUpserted();
      EXPECT_EQ(p.getKind(), c.kind);
      EXPECT_EQ(Event::view(p.getCustomType()), c.custom);
      EXPECT_EQ(setting_value_type(p), c.name) << "the upcast is lossless";
    }
  }
}

TEST(Upcaster, VersionTwoIsReadAsWritten) {
  NewEvent e("acme", "setting/BODHI_PORT", "admin");
  auto p = e.payload().initSettingUpserted();
  p.setKey("BODHI_PORT");
  p.setValue("1135");
  set_setting_value_type(p, "Port.Number");
  e.stamp_version();
  EXPECT_EQ(e.envelope().getEventVersion(), 2);
  std::string bytes = e.encode();
  auto decoded = Event::decode(bytes);
  ASSERT_OK(decoded);
  EXPECT_EQ(decoded->stored_version(), 2);
  EXPECT_EQ(decoded->version(), 2);
  auto r = decoded->payload().getSettingUpserted();
  EXPECT_EQ(r.getKind(), schema::SettingKind::CUSTOM);
  EXPECT_EQ(setting_value_type(r), "Port.Number");
  EXPECT_EQ(r.getValueType().size(), 0u);
}

TEST(Upcaster, KindsThatNeverChangedAreStampedVersionOne) {
  NewEvent token("acme", "token/t1", "user-1");
  token.payload().initTokenCreated().setId("t1");
  token.stamp_version();
  EXPECT_EQ(token.envelope().getEventVersion(), 1);
  EXPECT_EQ(kind_name(kind_of(token.envelope().asReader())), "tokenCreated");

  NewEvent download("acme", "download_request/d1", "system");
  download.payload().initModel().initDownloadRequestCreated().setId("d1");
  download.stamp_version();
  EXPECT_EQ(download.envelope().getEventVersion(), 1);
  EXPECT_EQ(kind_name(kind_of(download.envelope().asReader())), "model.downloadRequestCreated");
  auto decoded = Event::decode(download.encode());
  ASSERT_OK(decoded);
  EXPECT_EQ(decoded->version(), 1);
  EXPECT_EQ(decoded->stored_version(), 1);
}

TEST(Upcaster, AFutureVersionIsCorruptionNotACrash) {
  auto setting = Event::decode(setting_v1_bytes("number", 3));
  EXPECT_CODE(setting, Code::kCorruption);
  EXPECT_NE(setting.status().message().find("settingUpserted event is version 3, newer than "
                                            "version 2"),
            std::string::npos)
      << setting.status().to_string();

  NewEvent download("acme", "download_request/d1", "system");
  download.payload().initModel().initDownloadRequestCreated().setId("d1");
  download.envelope().setEventVersion(2);
  auto r = Event::decode(download.encode());
  EXPECT_CODE(r, Code::kCorruption);
  EXPECT_NE(r.status().message().find("model.downloadRequestCreated event is version 2"),
            std::string::npos)
      << r.status().to_string();
}

TEST(Upcaster, MalformedVersionOneDataIsAClearError) {
  auto r =
      Event::decode(setting_v1_bytes("num\xff"
                                     "ber"));
  EXPECT_CODE(r, Code::kCorruption);
  EXPECT_NE(r.status().message().find("cannot upcast settingUpserted version 1 -> 2: "
                                      "settingUpserted version 1 has a valueType that is not "
                                      "UTF-8"),
            std::string::npos)
      << r.status().to_string();
}

// Whatever the version-1 projection projected still reads: an empty type,
// or one the settings repository would refuse today.
TEST(Upcaster, EveryValueTypeTheOldReaderAcceptedStillReads) {
  for (const std::string& name : {std::string(), std::string("two words"), std::string(300, 't')}) {
    SCOPED_TRACE(name);
    auto e = Event::decode(setting_v1_bytes(name));
    ASSERT_OK(e);
    auto p = e->payload().getSettingUpserted();
    EXPECT_EQ(p.getKind(), schema::SettingKind::CUSTOM);
    EXPECT_EQ(setting_value_type(p), name);
    EXPECT_OK(deep_validate(*e));
  }
}

// For every kind of event the schema has, each version below the current one
// has an upcaster, so every version this code ever wrote can be read.
TEST(Upcaster, EveryOlderVersionOfEveryKindHasAnUpcaster) {
  auto payload = capnp::Schema::from<schema::Envelope::Payload>();
  int kinds = 0;
  for (auto field : payload.getUnionFields()) {
    auto type = static_cast<PayloadType>(field.getProto().getDiscriminantValue());
    if (type == PayloadType::UNSET) continue;
    std::vector<EventKind> members;
    auto t = field.getType();
    if (t.isStruct() && t.asStruct().getUnionFields().size() > 0) {
      for (auto m : t.asStruct().getUnionFields()) {
        if (m.getProto().getDiscriminantValue() == 0) continue;  // the group's unset
        members.push_back({type, m.getProto().getDiscriminantValue()});
      }
    } else {
      members.push_back({type, 0});
    }
    for (EventKind kind : members) {
      ++kinds;
      uint16_t current = current_version(kind);
      EXPECT_GE(current, 1) << kind_name(kind);
      for (uint16_t v = 1; v < current; ++v) {
        EXPECT_NE(find_upcaster(kind, v), nullptr) << kind_name(kind) << " version " << v;
      }
      EXPECT_EQ(find_upcaster(kind, current), nullptr) << kind_name(kind);
    }
  }
  EXPECT_GT(kinds, 20);
  EXPECT_EQ(current_version({PayloadType::SETTING_UPSERTED, 0}), 2);
}

}  // namespace
}  // namespace annals::events
