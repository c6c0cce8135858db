#include "repositories/secrets.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "events/event.h"
#include "tests/test_support.h"

namespace annals::repositories {
namespace {

using annals::testing::TempDir;

class SecretsTest : public ::testing::Test {
 protected:
  void SetUp() override { reopen(std::string(32, 'm')); }

  void reopen(const std::string& master_key) {
    secrets_.reset();
    journal_.reset();
    auto j = journal::Journal::open_rocksdb(dir_.sub("journal"), journal::Options{});
    ASSERT_OK(j);
    journal_ = std::move(j).value();
    auto s = Secrets::create(*journal_, master_key);
    ASSERT_OK(s);
    secrets_ = std::move(s).value();
  }

  TempDir dir_;
  std::unique_ptr<journal::Journal> journal_;
  std::unique_ptr<Secrets> secrets_;
};

TEST_F(SecretsTest, SealThenOpenRoundTrips) {
  for (std::string plain : {std::string("sk-live-1234"), std::string(), std::string("x\0y", 3),
                            std::string(kMaxSecretBytes, 'z'), std::string("🔑 ünïcode")}) {
    auto sealed = secrets_->seal("acme", "toolsets.api_key/t1", plain);
    ASSERT_OK(sealed);
    EXPECT_EQ(sealed->rfind("v1.", 0), 0u);
    if (!plain.empty()) {
      EXPECT_EQ(sealed->find(plain), std::string::npos);
    }
    auto opened = secrets_->open("acme", "toolsets.api_key/t1", *sealed);
    ASSERT_OK(opened);
    EXPECT_EQ(*opened, plain);
  }
}

TEST_F(SecretsTest, EverySealIsDifferent) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto sealed = secrets_->seal("acme", "p", "same secret");
    ASSERT_OK(sealed);
    EXPECT_TRUE(seen.insert(*sealed).second) << "nonce reused";
  }
}

TEST_F(SecretsTest, ASealedValueOpensOnlyForItsOrgAndPurpose) {
  auto sealed = secrets_->seal("acme", "toolsets.api_key/t1", "sk-123");
  ASSERT_OK(sealed);
  ASSERT_OK(secrets_->seal("globex", "x", "y"));  // globex has a key too
  EXPECT_CODE(secrets_->open("acme", "toolsets.api_key/t2", *sealed), Code::kCorruption);
  EXPECT_CODE(secrets_->open("globex", "toolsets.api_key/t1", *sealed), Code::kCorruption);
  EXPECT_CODE(secrets_->open("initech", "toolsets.api_key/t1", *sealed), Code::kNotFound);
}

TEST_F(SecretsTest, AlteredOrMalformedValuesAreCorruption) {
  auto sealed = secrets_->seal("acme", "p", "sk-123");
  ASSERT_OK(sealed);
  std::string flipped = *sealed;
  flipped[10] = flipped[10] == 'A' ? 'B' : 'A';
  EXPECT_CODE(secrets_->open("acme", "p", flipped), Code::kCorruption);
  EXPECT_CODE(secrets_->open("acme", "p", "sk-123"), Code::kCorruption);
  EXPECT_CODE(secrets_->open("acme", "p", "v1.not base64!"), Code::kCorruption);
  EXPECT_CODE(secrets_->open("acme", "p", "v1."), Code::kCorruption);
  EXPECT_CODE(secrets_->open("acme", "p", ""), Code::kCorruption);
}

TEST_F(SecretsTest, DataKeysSurviveReopen) {
  auto sealed = secrets_->seal("acme", "p", "sk-123");
  ASSERT_OK(sealed);
  reopen(std::string(32, 'm'));
  auto opened = secrets_->open("acme", "p", *sealed);
  ASSERT_OK(opened);
  EXPECT_EQ(*opened, "sk-123");
}

TEST_F(SecretsTest, AWrongMasterKeyIsAClearErrorNotGarbage) {
  auto sealed = secrets_->seal("acme", "p", "sk-123");
  ASSERT_OK(sealed);
  reopen(std::string(32, 'w'));
  auto opened = secrets_->open("acme", "p", *sealed);
  EXPECT_CODE(opened, Code::kPermissionDenied);
  EXPECT_NE(opened.status().message().find("master key"), std::string::npos);
  // Sealing for that org is refused too, rather than creating a second key.
  EXPECT_CODE(secrets_->seal("acme", "p", "new"), Code::kPermissionDenied);
}

TEST_F(SecretsTest, BadInputIsRefused) {
  EXPECT_CODE(Secrets::create(*journal_, "short"), Code::kInvalidArgument);
  EXPECT_CODE(Secrets::create(*journal_, std::string(33, 'k')), Code::kInvalidArgument);
  EXPECT_CODE(secrets_->seal("bad org!", "p", "x"), Code::kInvalidArgument);
  EXPECT_CODE(secrets_->seal("acme", "p", std::string(kMaxSecretBytes + 1, 'x')),
              Code::kInvalidArgument);
}

TEST_F(SecretsTest, ConcurrentFirstUseCreatesOneKeyPerOrg) {
  std::vector<std::string> sealed(8);
  std::vector<std::thread> threads;
  std::vector<std::unique_ptr<Secrets>> separate;
  for (int i = 0; i < 8; ++i) {
    // Separate Secrets objects share the journal's key store, as two
    // components of one process would.
    auto s = Secrets::create(*journal_, std::string(32, 'm'));
    ASSERT_OK(s);
    separate.push_back(std::move(s).value());
  }
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto r = separate[i]->seal("fresh-org", "p", "secret-" + std::to_string(i));
      ASSERT_OK(r);
      sealed[i] = *r;
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 8; ++i) {
    auto opened = secrets_->open("fresh-org", "p", sealed[i]);
    ASSERT_OK(opened);
    EXPECT_EQ(*opened, "secret-" + std::to_string(i));
  }
}

// An org whose events hold a sealed secret but whose key is gone (a
// damaged journal): making a new key would leave those secrets unreadable
// for good, so seal() refuses and nothing is written.
void append_toolset(journal::Journal& journal, const std::string& org, const std::string& id,
                    const std::string& sealed) {
  events::NewEvent e(org, "toolset/" + id, "user-1");
  auto t = e.payload().initToolset().initToolsetCreated();
  t.setId(id);
  t.setUserId("user-1");
  if (sealed.empty()) {
    t.getApiKey().setNone();
  } else {
    t.getApiKey().setSealed(sealed);
  }
  journal::AppendRequest request;
  request.org_id = org;
  request.events.push_back(std::move(e));
  ASSERT_OK(journal.append(std::move(request)));
}

TEST_F(SecretsTest, NoNewKeyForAnOrgWhoseEventsHoldSealedSecrets) {
  // 1500 events without a secret first, so the check reads past its first
  // chunk before it finds one.
  for (int i = 0; i < 1500; ++i) append_toolset(*journal_, "acme", "plain" + std::to_string(i), "");
  append_toolset(*journal_, "acme", "t1", "v1.c2VhbGVkIHVuZGVyIGEgbG9zdCBrZXk=");
  uint64_t head = journal_->head();
  auto sealed = secrets_->seal("acme", "toolsets.api_key/t2", "sk-new");
  EXPECT_CODE(sealed, Code::kCorruption);
  EXPECT_NE(sealed.status().message().find("position " + std::to_string(head)), std::string::npos)
      << sealed.status().message();
  EXPECT_NE(sealed.status().message().find("toolsetCreated.apiKey.sealed"), std::string::npos);
  auto key = journal_->data_key("acme");
  ASSERT_OK(key);
  EXPECT_FALSE(key->has_value()) << "a key was made";
  EXPECT_EQ(journal_->head(), head);
  // Asked again (nothing cached), the answer is the same.
  EXPECT_CODE(secrets_->seal("acme", "toolsets.api_key/t2", "sk-new"), Code::kCorruption);
}

TEST_F(SecretsTest, AnOrgWithEventsButNoSecretsGetsItsFirstKey) {
  for (int i = 0; i < 3; ++i) append_toolset(*journal_, "globex", "t" + std::to_string(i), "");
  // Another org's sealed secret is not globex's.
  append_toolset(*journal_, "acme", "t9", "v1.AAAA");
  auto sealed = secrets_->seal("globex", "toolsets.api_key/t0", "sk-1");
  ASSERT_OK(sealed);
  auto opened = secrets_->open("globex", "toolsets.api_key/t0", *sealed);
  ASSERT_OK(opened);
  EXPECT_EQ(*opened, "sk-1");
}

TEST(AesGcm, TamperedTagOrAadFails) {
  std::string key(32, 'k');
  std::string sealed = aes_gcm_seal(key, "aad", "plain");
  EXPECT_EQ(aes_gcm_open(key, "aad", sealed), std::optional<std::string>("plain"));
  EXPECT_FALSE(aes_gcm_open(key, "other", sealed).has_value());
  EXPECT_FALSE(aes_gcm_open(std::string(32, 'x'), "aad", sealed).has_value());
  std::string cut = sealed.substr(0, sealed.size() - 1);
  EXPECT_FALSE(aes_gcm_open(key, "aad", cut).has_value());
}

}  // namespace
}  // namespace annals::repositories
