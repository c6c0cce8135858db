#include "repositories/secrets.h"
#include "journal/journal.h"

#include <gtest/gtest.h>

#include <future>
#include <map>
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

// A journal whose forget_data_key waits until released: a forget caught in
// its slow part (the compaction that purges the key from the files).
class SlowForgetJournal : public journal::Journal {
 public:
  explicit SlowForgetJournal(journal::Journal& inner) : inner_(inner) {}
  void release() { released_.set_value(); }

  Status forget_data_key(std::string_view org_id, int64_t at) override {
    entered_promise_.set_value();
    released_future_.wait();
    return inner_.forget_data_key(org_id, at);
  }
  Result<journal::AppendResult> append(journal::AppendRequest r) override {
    return inner_.append(std::move(r));
  }
  uint64_t head() const override { return inner_.head(); }
  Result<std::vector<events::Event>> read(uint64_t from, size_t max) override {
    return inner_.read(from, max);
  }
  Result<std::vector<events::Event>> read_org(std::string_view org, uint64_t from,
                                              size_t max) override {
    return inner_.read_org(org, from, max);
  }
  Result<uint64_t> stream_version(std::string_view org, std::string_view stream) override {
    return inner_.stream_version(org, stream);
  }
  uint64_t wait_for_head(uint64_t after, std::chrono::milliseconds t) override {
    return inner_.wait_for_head(after, t);
  }
  Status sync() override { return inner_.sync(); }
  uint64_t durable_head() const override { return inner_.durable_head(); }
  Status sync_to(uint64_t position) override { return inner_.sync_to(position); }
  uint64_t wait_for_durable_head(uint64_t after, std::chrono::milliseconds t) override {
    return inner_.wait_for_durable_head(after, t);
  }
  Result<std::vector<journal::FamilyDifference>> verify_families(size_t limit) override {
    return inner_.verify_families(limit);
  }
  Result<journal::JournalState> snapshot_state() override { return inner_.snapshot_state(); }
  Result<std::vector<std::string>> read_records(uint64_t from, size_t max) override {
    return inner_.read_records(from, max);
  }
  Result<journal::AppendResult> import_command(std::vector<std::string> envelopes) override {
    return inner_.import_command(std::move(envelopes));
  }
  Status import_data_key(std::string_view org, std::string value) override {
    return inner_.import_data_key(org, std::move(value));
  }
  Status import_reservations(uint64_t at_head,
                             std::vector<journal::StoredReservation> reservations) override {
    return inner_.import_reservations(at_head, std::move(reservations));
  }
  Result<std::optional<std::string>> data_key(std::string_view org) override {
    return inner_.data_key(org);
  }
  Result<std::string> put_data_key_if_absent(std::string_view org, std::string value) override {
    return inner_.put_data_key_if_absent(org, std::move(value));
  }
  Result<std::optional<int64_t>> data_key_forgotten_at(std::string_view org) override {
    return inner_.data_key_forgotten_at(org);
  }
  Result<size_t> rewrap_data_keys(const Rewrap& rewrap) override {
    return inner_.rewrap_data_keys(rewrap);
  }

 private:
  journal::Journal& inner_;
  std::promise<void> entered_promise_;
  std::future<void> entered_future_ = entered_promise_.get_future();
  std::promise<void> released_;
  std::shared_future<void> released_future_ = released_.get_future().share();

 public:
  std::future<void>& entered_future() { return entered_future_; }
};

// A forget caught in its slow part holds up no other org's secrets, and a
// key read while it runs is not cached past it.
TEST_F(SecretsTest, AForgetInProgressHoldsUpNoOtherOrgAndLeavesNoKeyBehind) {
  SlowForgetJournal slow(*journal_);
  auto made = Secrets::create(slow, std::string(32, 'm'));
  ASSERT_OK(made);
  Secrets& secrets = **made;
  auto acme = secrets.seal("acme", "p", "acme secret");
  auto globex = secrets.seal("globex", "p", "globex secret");
  ASSERT_OK(acme);
  ASSERT_OK(globex);

  std::thread forgetting([&] { EXPECT_OK(secrets.forget("globex")); });
  slow.entered_future().wait();
  // Another org's secrets, and a new org's first one, while the forget waits.
  auto during = std::async(std::launch::async, [&] {
    auto opened = secrets.open("acme", "p", *acme);
    auto sealed = secrets.seal("initech", "p", "new");
    return opened.is_ok() && *opened == "acme secret" && sealed.is_ok();
  });
  bool done = during.wait_for(std::chrono::seconds(20)) == std::future_status::ready;
  // The forgotten org's key, read from the journal before it is gone.
  auto racing =
      std::async(std::launch::async, [&] { return secrets.open("globex", "p", *globex); });
  racing.wait_for(std::chrono::seconds(2));
  slow.release();
  forgetting.join();
  racing.wait();
  ASSERT_TRUE(done) << "another org's secrets waited for the forget";
  EXPECT_TRUE(during.get());
  auto after = secrets.open("globex", "p", *globex);
  EXPECT_CODE(after, Code::kNotFound);
  EXPECT_TRUE(is_forgotten_org(after.status())) << after.status().to_string();
}

TEST_F(SecretsTest, RotatingTheMasterKeyRewrapsEveryOrgAtOnceAndRefusesTheOldKey) {
  const std::string old_key(32, 'm');
  const std::string new_key(32, 'n');
  std::map<std::string, std::string> sealed;
  for (const char* org : {"acme", "globex", "initech"}) {
    auto s = secrets_->seal(org, "p", std::string("secret of ") + org);
    ASSERT_OK(s);
    sealed[org] = *s;
  }
  ASSERT_OK(secrets_->forget("initech"));
  secrets_.reset();

  // The wrong current key: refused, and nothing changes.
  EXPECT_CODE(Secrets::rotate_master_key(*journal_, std::string(32, 'x'), new_key),
              Code::kPermissionDenied);
  EXPECT_CODE(Secrets::rotate_master_key(*journal_, old_key, old_key), Code::kInvalidArgument);
  EXPECT_CODE(Secrets::rotate_master_key(*journal_, old_key, "short"), Code::kInvalidArgument);
  reopen(old_key);
  auto still = secrets_->open("acme", "p", sealed["acme"]);
  ASSERT_OK(still);
  secrets_.reset();

  auto rotated = Secrets::rotate_master_key(*journal_, old_key, new_key);
  ASSERT_OK(rotated);
  EXPECT_EQ(*rotated, 2u);  // the forgotten org keeps its tombstone
  reopen(new_key);
  for (const char* org : {"acme", "globex"}) {
    auto opened = secrets_->open(org, "p", sealed[org]);
    ASSERT_OK(opened);
    EXPECT_EQ(*opened, std::string("secret of ") + org);
  }
  EXPECT_TRUE(is_forgotten_org(secrets_->open("initech", "p", sealed["initech"]).status()));
  reopen(old_key);
  EXPECT_CODE(secrets_->open("acme", "p", sealed["acme"]), Code::kPermissionDenied);
  // And back: a second rotation from the new key.
  secrets_.reset();
  ASSERT_OK(Secrets::rotate_master_key(*journal_, new_key, old_key));
  reopen(old_key);
  EXPECT_OK(secrets_->open("globex", "p", sealed["globex"]));
}

// One org's key that the current master key does not open stops the whole
// rotation: no org is left under the new key while another is under the old.
TEST_F(SecretsTest, ARotationThatFailsPartWayWritesNothing) {
  for (const char* org : {"a1", "a2", "a3", "a4"}) ASSERT_OK(secrets_->seal(org, "p", "s"));
  secrets_.reset();
  std::map<std::string, std::string> before;
  for (const char* org : {"a1", "a2", "a3", "a4"}) before[org] = **journal_->data_key(org);
  int calls = 0;
  auto failed = journal_->rewrap_data_keys(
      [&](std::string_view, std::string_view wrapped) -> Result<std::string> {
        if (++calls == 3) return Status::permission_denied("the third key does not open");
        return std::string(wrapped) + "x";
      });
  EXPECT_CODE(failed, Code::kPermissionDenied);
  for (const char* org : {"a1", "a2", "a3", "a4"})
    EXPECT_EQ(**journal_->data_key(org), before[org]);
}

TEST(AesGcm, TamperedTagOrAadFails) {
  std::string key(32, 'k');
  auto sealed_or = aes_gcm_seal(key, "aad", "plain");
  ASSERT_OK(sealed_or);
  std::string sealed = *sealed_or;
  EXPECT_EQ(aes_gcm_open(key, "aad", sealed), std::optional<std::string>("plain"));
  EXPECT_FALSE(aes_gcm_open(key, "other", sealed).has_value());
  EXPECT_FALSE(aes_gcm_open(std::string(32, 'x'), "aad", sealed).has_value());
  std::string cut = sealed.substr(0, sealed.size() - 1);
  EXPECT_FALSE(aes_gcm_open(key, "aad", cut).has_value());
}

// A key of the wrong size is refused, never read past its end (OpenSSL reads
// 32 bytes of whatever it is given).
TEST(AesGcm, AKeyThatIsNot32BytesIsRefused) {
  for (size_t size : {0, 1, 16, 31, 33, 64}) {
    std::string key(size, 'k');
    SCOPED_TRACE(size);
    EXPECT_CODE(aes_gcm_seal(key, "aad", "plain"), Code::kInvalidArgument);
    auto good = aes_gcm_seal(std::string(32, 'k'), "aad", "plain");
    ASSERT_OK(good);
    EXPECT_FALSE(aes_gcm_open(key, "aad", *good).has_value()) << size;
  }
  EXPECT_CODE(aes_gcm_seal(std::string(32, 'k'), "aad", std::string(kMaxSecretBytes + 1, 'p')),
              Code::kInvalidArgument);
}

}  // namespace
}  // namespace annals::repositories
