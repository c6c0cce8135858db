// AppInstanceRepository (app_instances) over a real Store with a frozen
// clock and a master key, on SQLite and on PostgreSQL (under row-level
// security).
#include "repositories/app_instance_repository.h"

#include <gtest/gtest.h>

#include <barrier>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "annals/clock.h"
#include "annals/status.h"
#include "core/validate.h"
#include "repositories/secrets.h"
#include "tests/conformance_helpers.h"
#include "tests/conformance_suites.h"

namespace annals::repositories {

void PrintTo(const AppInstance& a, std::ostream* os) {
  *os << "{org_id=\"" << a.org_id << "\", client_id=\"" << a.client_id << "\", client_secret=\""
      << a.client_secret << "\", scope=\"" << a.scope << "\", status=\"" << a.status
      << "\", created_at=" << format_timestamp(a.created_at)
      << ", updated_at=" << format_timestamp(a.updated_at) << "}";
}

namespace {

using namespace std::chrono_literals;
using testing::expect_invalid;

const Timestamp kStart = testing::kFixtureStart;
const std::string kMasterKey(32, 'k');

NewAppInstance new_instance(std::string client_id, std::string secret,
                            std::string status = "setup") {
  return {std::move(client_id), std::move(secret), "scope_resource-abc", std::move(status)};
}

AppInstance row_of(const std::string& org, const NewAppInstance& a, Timestamp created,
                   Timestamp updated) {
  return {org, a.client_id, a.client_secret, a.scope, a.status, created, updated};
}

class AppInstanceRepositoryTest
    : public testing::OwnRepositoryTest<AppInstanceRepository, make_app_instance_repository> {
 protected:
  void configure(StoreOptions& options) override { options.master_key = kMasterKey; }

  // Reopens the store with `master_key` ("" for none).
  void open_with_master_key(const std::string& master_key) {
    options().master_key = master_key;
    open();
  }

  AppInstanceRepository& instances() { return repository(); }

  // Every journalled event, re-encoded: what the journal holds in its records.
  std::vector<std::string> journal_bytes() {
    std::vector<std::string> out;
    for (const auto& e : journalled()) {
      capnp::MallocMessageBuilder copy;
      copy.setRoot(e.envelope());
      auto words = capnp::messageToFlatArray(copy);
      auto bytes = words.asBytes();
      out.emplace_back(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
    }
    return out;
  }

  // The client_secret column of the org's rows, as stored.
  std::vector<std::string> stored_secrets(const std::string& org) {
    auto txn = context().read(org);
    EXPECT_OK(txn);
    if (!txn.is_ok()) return {};
    auto rows =
        (*txn)->query("SELECT client_secret_sealed FROM app_instances WHERE org_id = $1", {org});
    EXPECT_OK(rows);
    std::vector<std::string> out;
    if (rows.is_ok()) {
      for (const auto& r : *rows) out.push_back(r.text(0));
    }
    return out;
  }

  // Breaks the one-row-per-org rule behind the repository's back: drops the
  // key and duplicates the org's row (as the database owner would).
  void add_a_second_row_behind_the_repositorys_back(const std::string& org) {
    if (GetParam() == testing::Backend::kSqlite) {
      auto database = db::Database::open("sqlite:" + dir_.sub("read.sqlite"));
      ASSERT_OK(database);
      auto txn = (*database)->begin(db::Access::kWrite);
      ASSERT_OK(txn);
      ASSERT_OK(
          (*txn)->execute_script("CREATE TABLE app_instances_copy AS SELECT * FROM app_instances;"
                                 "DROP TABLE app_instances;"
                                 "ALTER TABLE app_instances_copy RENAME TO app_instances;"));
      ASSERT_OK((*txn)->execute(
          "INSERT INTO app_instances SELECT org_id, client_id || '-2', client_secret_sealed,"
          " scope, status, created_at, updated_at, version FROM app_instances WHERE org_id = $1",
          {org}));
      ASSERT_OK((*txn)->commit());
    } else {
      pqxx::connection admin(db_->url());  // superuser: bypasses RLS
      pqxx::work tx(admin);
      tx.exec("ALTER TABLE annals.app_instances DROP CONSTRAINT app_instances_pkey");
      tx.exec_params(
          "INSERT INTO annals.app_instances SELECT org_id, client_id || '-2', client_secret_sealed,"
          " scope, status, created_at, updated_at, version FROM annals.app_instances"
          " WHERE org_id = $1",
          org);
      tx.commit();
    }
  }
};

TEST_P(AppInstanceRepositoryTest, GetOfAnOrgWithoutAnInstanceIsNotFound) {
  EXPECT_CODE(instances().get("default"), Code::kNotFound);
}

TEST_P(AppInstanceRepositoryTest, UpsertCreatesAndGetReturnsTheDecryptedSecret) {
  NewAppInstance a = new_instance("resource-abc", "s3cr3t-Value!");
  auto created = instances().upsert("default", a);
  ASSERT_OK(created);
  EXPECT_EQ(*created, row_of("default", a, kStart, kStart));
  EXPECT_EQ(head(), 1u);
  clock_.advance(1s);
  auto got = instances().get("default");
  ASSERT_OK(got);
  EXPECT_EQ(*got, row_of("default", a, kStart, kStart));
}

TEST_P(AppInstanceRepositoryTest, UpsertReplacesEverythingButCreatedAt) {
  ASSERT_OK(instances().upsert("default", new_instance("client-1", "secret-1")));
  clock_.advance(1min);
  NewAppInstance b = new_instance("client-2", "secret-2", "ready");
  b.scope = "scope_resource-other";
  auto replaced = instances().upsert("default", b);
  ASSERT_OK(replaced);
  EXPECT_EQ(*replaced, row_of("default", b, kStart, kStart + 1min));
  auto got = instances().get("default");
  ASSERT_OK(got);
  EXPECT_EQ(*got, row_of("default", b, kStart, kStart + 1min));
  EXPECT_EQ(stored_secrets("default").size(), 1u);
}

TEST_P(AppInstanceRepositoryTest, UpdateStatusChangesStatusAndUpdatedAtOnly) {
  NewAppInstance a = new_instance("client-1", "secret-1");
  ASSERT_OK(instances().upsert("default", a));
  clock_.advance(10s);
  ASSERT_OK(instances().update_status("default", "resource-admin"));
  a.status = "resource-admin";
  auto got = instances().get("default");
  ASSERT_OK(got);
  EXPECT_EQ(*got, row_of("default", a, kStart, kStart + 10s));
  // The set of statuses is open: any identifier.
  for (const std::string& s :
       std::vector<std::string>{"ready", "custom_state.v2", "x", std::string(64, 's')}) {
    ASSERT_OK(instances().update_status("default", s));
    auto row = instances().get("default");
    ASSERT_OK(row);
    EXPECT_EQ(row->status, s);
  }
}

TEST_P(AppInstanceRepositoryTest, UpdateStatusOrRemoveOfAMissingInstanceIsNotFound) {
  ASSERT_OK(instances().upsert("org-a", new_instance("client-1", "secret-1")));
  EXPECT_REFUSED(instances().update_status("org-b", "ready"), Code::kNotFound, "");
  EXPECT_REFUSED(instances().remove("org-b"), Code::kNotFound, "");
}

TEST_P(AppInstanceRepositoryTest, RemoveDeletesAndAFreshUpsertStartsANewCreatedAt) {
  ASSERT_OK(instances().upsert("default", new_instance("client-1", "secret-1")));
  clock_.advance(1s);
  ASSERT_OK(instances().remove("default"));
  EXPECT_CODE(instances().get("default"), Code::kNotFound);
  EXPECT_REFUSED(instances().remove("default"), Code::kNotFound, "");
  EXPECT_REFUSED(instances().update_status("default", "ready"), Code::kNotFound, "");
  EXPECT_TRUE(stored_secrets("default").empty());

  clock_.advance(1s);
  NewAppInstance b = new_instance("client-2", "secret-2");
  auto again = instances().upsert("default", b);
  ASSERT_OK(again);
  EXPECT_EQ(*again, row_of("default", b, kStart + 2s, kStart + 2s));
}

TEST_P(AppInstanceRepositoryTest, TheSecretIsSealedInEveryEventAndRowAndNeverInPlainText) {
  const std::string secret = "PLAINTEXT-client-secret-0123456789";
  ASSERT_OK(instances().upsert("default", new_instance("client-1", secret)));
  ASSERT_OK(instances().update_status("default", "ready"));
  ASSERT_OK(instances().upsert("default", new_instance("client-1", secret)));
  for (const auto& bytes : journal_bytes()) {
    EXPECT_EQ(bytes.find(secret), std::string::npos) << "the plain secret is in an event";
    EXPECT_EQ(bytes.find("PLAINTEXT"), std::string::npos);
  }
  // The event carries the sealed form, bound to the org and the client id.
  auto events = journal().read(1, 1);
  ASSERT_OK(events);
  auto sealed = std::string(events::Event::view(
      events->front().payload().getAccess().getAppInstanceUpserted().getSealedClientSecret()));
  EXPECT_EQ(sealed.rfind("v1.", 0), 0u) << sealed;
  auto opened = store_->internals().secrets()->open("default",
                                                    "app_instances.client_secret/client-1", sealed);
  ASSERT_OK(opened);
  EXPECT_EQ(*opened, secret);
  // Another org (which has no data key yet) cannot open it either.
  EXPECT_FALSE(store_->internals()
                   .secrets()
                   ->open("other", "app_instances.client_secret/client-1", sealed)
                   .is_ok());
  EXPECT_CODE(store_->internals().secrets()->open("default", "app_instances.client_secret/client-2",
                                                  sealed),
              Code::kCorruption);
  // The table holds only a sealed value, and each upsert seals afresh.
  auto stored = stored_secrets("default");
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_NE(stored[0], secret);
  EXPECT_NE(stored[0], sealed);
  EXPECT_EQ(stored[0].find(secret), std::string::npos);
  auto got = instances().get("default");
  ASSERT_OK(got);
  EXPECT_EQ(got->client_secret, secret);
}

TEST_P(AppInstanceRepositoryTest, WithoutAMasterKeySecretCallsFailAndAppendNothing) {
  ASSERT_OK(instances().upsert("default", new_instance("client-1", "secret-1")));
  open_with_master_key("");  // no master key
  {
    const auto guard = nothing_appended();
    auto upsert = instances().upsert("default", new_instance("client-2", "secret-2"));
    expect_invalid(upsert.status(), "master_key", "upsert without a master key");
    expect_invalid(instances().get("default").status(), "master_key", "get without a master key");
  }
  // Calls that do not touch the secret still work.
  EXPECT_OK(instances().update_status("default", "ready"));

  open_with_master_key(std::string(32, 'x'));  // another master key
  EXPECT_CODE(instances().get("default"), Code::kPermissionDenied);
  open_with_master_key(kMasterKey);
  auto got = instances().get("default");
  ASSERT_OK(got);
  EXPECT_EQ(got->client_secret, "secret-1");
  EXPECT_EQ(got->status, "ready");
}

TEST_P(AppInstanceRepositoryTest, OrgsNeverSeeOrChangeEachOthersInstance) {
  NewAppInstance a = new_instance("client-a", "secret-a");
  NewAppInstance b = new_instance("client-b", "secret-b");
  ASSERT_OK(instances().upsert("org-a", a));
  EXPECT_CODE(instances().get("org-b"), Code::kNotFound);
  clock_.advance(1s);
  ASSERT_OK(instances().upsert("org-b", b));
  ASSERT_OK(instances().update_status("org-b", "ready"));
  ASSERT_OK(instances().remove("org-b"));
  auto got = instances().get("org-a");
  ASSERT_OK(got);
  EXPECT_EQ(*got, row_of("org-a", a, kStart, kStart));
}

TEST_P(AppInstanceRepositoryTest, BadInputIsRefusedNamingTheFieldAndAppendsNothing) {
  ASSERT_OK(instances().upsert("default", new_instance("client-0", "secret-0")));
  const auto guard = nothing_appended();
  using A = NewAppInstance;
  const auto rows = testing::rows_of(
      testing::bad_text("client_id", &A::client_id, kMaxAppInstanceClientIdBytes),
      testing::bad_text("client_secret", &A::client_secret, kMaxAppInstanceClientSecretBytes),
      testing::bad_text("scope", &A::scope, kMaxAppInstanceScopeBytes),
      testing::bad_identifier("status", &A::status, kMaxAppInstanceStatusBytes));
  testing::expect_bad_inputs_refused(
      journal(), "upsert", new_instance("client-1", "secret-1"), rows,
      [&](const std::string& org, const A& a) { return instances().upsert(org, a).status(); });
  expect_invalid(instances().update_status("default", ""), "status", "empty status");
  expect_invalid(instances().update_status("default", "a;b"), "status", "status with ;");
  expect_invalid(instances().update_status("default", std::string(65, 's')), "status", "long");
  expect_invalid(instances().update_status("", "ready"), "org_id", "update org");
  expect_invalid(instances().remove("%"), "org_id", "remove org");
  expect_invalid(instances().get("").status(), "org_id", "get org");
  auto got = instances().get("default");
  ASSERT_OK(got);
  EXPECT_EQ(*got, row_of("default", new_instance("client-0", "secret-0"), kStart, kStart));
}

TEST_P(AppInstanceRepositoryTest, HostileButValidStringsRoundTripByteForByte) {
  const auto values = testing::hostile_text("app_instances");
  for (const auto& v : values) {
    SCOPED_TRACE(v);
    NewAppInstance a{v, v, v, "ready"};
    auto upserted = instances().upsert("default", a);
    ASSERT_OK(upserted);
    auto got = instances().get("default");
    ASSERT_OK(got);
    EXPECT_EQ(*got, row_of("default", a, kStart, kStart));
  }
}

TEST_P(AppInstanceRepositoryTest, ConcurrentUpsertsLeaveExactlyOneInstance) {
  constexpr int kThreads = 8;
  testing::run_together(kThreads, [&](int t) {
    auto r = instances().upsert(
        "default", new_instance("client-" + std::to_string(t), "secret-" + std::to_string(t)));
    EXPECT_OK(r);
    // Whatever it returns is one consistent instance.
    if (r.is_ok()) {
      EXPECT_EQ(r->client_secret, "secret-" + r->client_id.substr(7));
    }
  });
  EXPECT_EQ(stored_secrets("default").size(), 1u);
  auto got = instances().get("default");
  ASSERT_OK(got);
  EXPECT_EQ(got->client_secret, "secret-" + got->client_id.substr(7));
  EXPECT_EQ(got->created_at, kStart);
  // The last upsert in the journal is the one that stands.
  auto events = journal().read(head(), 1);
  ASSERT_OK(events);
  EXPECT_EQ(std::string(events::Event::view(
                events->front().payload().getAccess().getAppInstanceUpserted().getClientId())),
            got->client_id);
}

TEST_P(AppInstanceRepositoryTest, ConcurrentStatusUpdatesSucceedOrAskForARetry) {
  ASSERT_OK(instances().upsert("default", new_instance("client-1", "secret-1")));
  const auto outcome = concurrent_rounds(4, 20, [&](int t, int i) {
    return instances().update_status("default", "s" + std::to_string(t) + "-" + std::to_string(i));
  });
  EXPECT_EQ(head(), 1 + outcome.succeeded.size());
}

TEST_P(AppInstanceRepositoryTest, MoreThanOneRowIsReportedAsCorruption) {
  ASSERT_OK(instances().upsert("default", new_instance("client-1", "secret-1")));
  ASSERT_OK(instances().upsert("other", new_instance("client-1", "secret-1")));
  add_a_second_row_behind_the_repositorys_back("default");
  EXPECT_CODE(instances().get("default"), Code::kCorruption);
  EXPECT_CODE(instances().update_status("default", "ready"), Code::kCorruption);
  EXPECT_OK(instances().get("other"));
}

TEST_P(AppInstanceRepositoryTest, TheInstanceSurvivesReopeningTheStore) {
  ASSERT_OK(instances().upsert("default", new_instance("client-1", "secret-1")));
  clock_.advance(1s);
  ASSERT_OK(instances().update_status("default", "ready"));
  ASSERT_NO_FATAL_FAILURE(expect_same_after_reopening([&] { return instances().get("default"); }));
  // The stored version still guards updates.
  EXPECT_OK(instances().update_status("default", "resource-admin"));
}

INSTANTIATE_ON_BOTH_BACKENDS(AppInstanceRepositoryTest);

}  // namespace
}  // namespace annals::repositories
