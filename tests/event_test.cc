#include "events/event.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>

#include "tests/event_envelope.h"
#include "tests/test_support.h"

namespace annals::events {
namespace {

std::string token_created_bytes(std::string_view org = "acme") {
  NewEvent e(org, "token/t1", "user-1");
  auto env = e.envelope();
  env.setPosition(42);
  env.setStreamVersion(1);
  env.setRecordedAtMicros(1'700'000'000'000'000);
  auto p = e.payload().initTokenCreated();
  p.setId("t1");
  p.setUserId("user-1");
  p.setTokenPrefix("bodhiapp_abc");
  p.setTokenHash("hash");
  p.setScopes("scope_token_user");
  p.setStatus(schema::TokenStatus::ACTIVE);
  return e.encode();
}

TEST(Event, EncodeThenDecodeKeepsEveryField) {
  auto event = Event::decode(token_created_bytes());
  ASSERT_OK(event);
  testing::expect_envelope(*event, {42, "acme", "token/t1", 1, "user-1", 1'700'000'000'000'000});
  ASSERT_EQ(event->type(), PayloadType::TOKEN_CREATED);
  EXPECT_EQ(Event::view(event->payload().getTokenCreated().getTokenPrefix()), "bodhiapp_abc");
  EXPECT_EQ(payload_type_name(event->type()), "tokenCreated");
  EXPECT_OK(deep_validate(*event));
}

// The sealed-secret finder, on every shape a sealed value takes.
Event sealed_probe(const std::function<void(NewEvent&)>& fill) {
  NewEvent e("acme", "s/1", "user-1");
  e.envelope().setPosition(1);
  e.envelope().setStreamVersion(1);
  fill(e);
  auto event = Event::decode(e.encode());
  EXPECT_TRUE(event.is_ok()) << event.status().to_string();
  return std::move(event).value();
}

TEST(Event, SealedSecretFieldFindsEveryShapeOfSealedValue) {
  // A "sealed..." text field.
  auto alias = sealed_probe([](NewEvent& e) {
    auto a = e.payload().initModel().initApiModelAliasCreated();
    a.setId("a1");
    a.setSealedApiKey("v1.AAAA");
    a.setHasApiKey(true);
  });
  EXPECT_EQ(sealed_secret_field(alias), "event.payload.model.apiModelAliasCreated.sealedApiKey");
  // A union member named "sealed".
  auto toolset = sealed_probe([](NewEvent& e) {
    auto t = e.payload().initToolset().initToolsetCreated();
    t.setId("t1");
    t.getApiKey().setSealed("v1.BBBB");
  });
  EXPECT_EQ(sealed_secret_field(toolset), "event.payload.toolset.toolsetCreated.apiKey.sealed");
  // A SecretChange that sets one.
  auto update = sealed_probe([](NewEvent& e) {
    auto u = e.payload().initModel().initApiModelAliasUpdated();
    u.setId("a1");
    u.initApiKey().setSet("v1.CCCC");
  });
  EXPECT_EQ(sealed_secret_field(update), "event.payload.model.apiModelAliasUpdated.apiKey.set");
}

TEST(Event, SealedSecretFieldIgnoresEventsWithoutOne) {
  EXPECT_EQ(sealed_secret_field(*Event::decode(token_created_bytes())), std::nullopt);
  auto no_key = sealed_probe([](NewEvent& e) {
    auto a = e.payload().initModel().initApiModelAliasCreated();
    a.setId("a1");
    a.setHasApiKey(false);  // sealedApiKey left empty
  });
  EXPECT_EQ(sealed_secret_field(no_key), std::nullopt);
  auto kept = sealed_probe([](NewEvent& e) {
    auto u = e.payload().initModel().initApiModelAliasUpdated();
    u.setId("a1");
    u.initApiKey().setKeep();
  });
  EXPECT_EQ(sealed_secret_field(kept), std::nullopt);
  auto cleared = sealed_probe([](NewEvent& e) {
    auto u = e.payload().initModel().initApiModelAliasUpdated();
    u.setId("a1");
    u.initApiKey().setClear();
  });
  EXPECT_EQ(sealed_secret_field(cleared), std::nullopt);
  auto none = sealed_probe([](NewEvent& e) {
    auto t = e.payload().initToolset().initToolsetCreated();
    t.setId("t1");
    t.getApiKey().setNone();
  });
  EXPECT_EQ(sealed_secret_field(none), std::nullopt);
}

TEST(Event, EmptyAndRaggedBytesAreCorruption) {
  EXPECT_CODE(Event::decode(""), Code::kCorruption);
  std::string bytes = token_created_bytes();
  EXPECT_CODE(Event::decode(std::string_view(bytes).substr(0, bytes.size() - 3)),
              Code::kCorruption);
  EXPECT_CODE(Event::decode(std::string_view(bytes).substr(0, bytes.size() - 8)),
              Code::kCorruption);
  EXPECT_CODE(Event::decode(bytes + std::string(8, '\0')), Code::kCorruption);  // trailing words
}

TEST(Event, OversizedBytesAreRefusedBeforeParsing) {
  std::string huge(kMaxEventBytes + 8, '\0');
  auto r = Event::decode(huge);
  EXPECT_CODE(r, Code::kCorruption);
  EXPECT_NE(r.status().message().find("limit"), std::string::npos);
}

TEST(Event, MissingPayloadIsCorruption) {
  NewEvent e("acme", "s", "a");
  auto r = Event::decode(e.encode());
  EXPECT_CODE(r, Code::kCorruption);
  EXPECT_NE(r.status().message().find("no payload"), std::string::npos);
}

TEST(Event, BadOrgIdIsCorruption) {
  EXPECT_CODE(Event::decode(token_created_bytes("not an org!")), Code::kCorruption);
}

TEST(Event, UnknownPayloadTypeIsReportedNotCrashed) {
  std::string bytes = token_created_bytes();
  // The union discriminant lives in the root struct's data section; rewrite
  // it to a value no payload has, as a newer writer would.
  auto words = kj::heapArray<capnp::word>(bytes.size() / 8);
  memcpy(words.begin(), bytes.data(), bytes.size());
  {
    capnp::FlatArrayMessageReader reader(words);
    auto root = reader.getRoot<Envelope>();
    ASSERT_EQ(root.getPayload().which(), PayloadType::TOKEN_CREATED);
  }
  // Find the 16-bit discriminant (TOKEN_CREATED) and replace it with 999.
  bool patched = false;
  auto* b = reinterpret_cast<unsigned char*>(words.begin());
  uint16_t want = static_cast<uint16_t>(PayloadType::TOKEN_CREATED);
  for (size_t i = 8; i + 1 < 64 && !patched; i += 2) {
    if (b[i] == (want & 0xff) && b[i + 1] == (want >> 8)) {
      std::string candidate(reinterpret_cast<char*>(b), bytes.size());
      candidate[i] = static_cast<char>(999 & 0xff);
      candidate[i + 1] = static_cast<char>(999 >> 8);
      auto r = Event::decode(candidate);
      if (!r.is_ok() && r.status().message().find("unknown event type 999") != std::string::npos) {
        patched = true;
      }
    }
  }
  EXPECT_TRUE(patched) << "no decode reported the unknown event type";
}

TEST(Event, RandomBitFlipsNeverCrash) {
  std::string bytes = token_created_bytes();
  std::mt19937 rng(1234);
  int failures = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string copy = bytes;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f)
      copy[rng() % copy.size()] ^= static_cast<char>(1 << (rng() % 8));
    auto r = Event::decode(copy);
    if (!r.is_ok()) {
      EXPECT_EQ(r.status().code(), Code::kCorruption);
      ++failures;
    } else {
      // Whatever decodes must survive a full walk without throwing.
      Status deep = deep_validate(*r);
      if (!deep.is_ok()) {
        EXPECT_EQ(deep.code(), Code::kCorruption);
      }
    }
  }
  EXPECT_GT(failures, 0);
}

TEST(Event, LargeTextWithinTheLimitsDecodes) {
  capnp::MallocMessageBuilder builder;
  auto root = builder.initRoot<Envelope>();
  root.setOrgId("acme");
  root.setStreamId("s");
  auto p = root.getPayload().initSettingUpserted();
  p.setKey(std::string(1 << 20, 'k'));
  auto words = capnp::messageToFlatArray(builder);
  std::string bytes(reinterpret_cast<const char*>(words.asBytes().begin()), words.asBytes().size());
  auto r = Event::decode(bytes);
  ASSERT_OK(r);
  EXPECT_EQ(r->payload().getSettingUpserted().getKey().size(), 1u << 20);
}

// An input the fuzzer found (tests/fuzz/corpus/event_decode_fuzz/): a
// valid-looking event with a capability pointer in a pointer slot the
// schema does not know. Nothing reads that slot, but every copy of the
// event (an upcast, canonicalising it) would throw: it is refused whole.
TEST(Event, ACapabilityPointerIsCorruption) {
  auto path = std::filesystem::path(testing::tests_source_dir()) / "fuzz" / "corpus" /
              "event_decode_fuzz" / "capability-pointer-in-an-unknown-slot";
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << path;
  std::stringstream bytes;
  bytes << in.rdbuf();
  auto r = Event::decode(bytes.str());
  EXPECT_CODE(r, Code::kCorruption);
  EXPECT_NE(r.status().message().find("capability"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace annals::events
