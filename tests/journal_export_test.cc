// Export and import of a journal as JSON lines: a journal written through
// the real repositories survives the trip byte for byte (events, org index,
// stream versions, idempotency entries, data keys, reservations), its
// secrets still open, and projecting it gives the same read tables; bad
// input is refused with the line it is on and nothing written.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "journal/export.h"
#include "journal/format.h"
#include "journal/journal.h"
#include "projections/import_dry_run.h"
#include "projections/sqlite_database.h"
#include "repositories/operator.h"
#include "repositories/reservation_rules.h"
#include "tests/test_support.h"

namespace annals {
namespace {

using journal::Journal;
using testing::Backend;
using testing::TempDir;
using testing::TestDatabase;

const std::string kMasterKey(32, 'K');

// Every column family of a closed journal folder, raw: family -> key -> value.
using RawJournal = std::map<std::string, std::map<std::string, std::string>>;

RawJournal read_raw(const std::string& dir) {
  RawJournal out;
  const std::vector<std::string> names = {"default",
                                          journal::format::kEventsFamily,
                                          journal::format::kOrgEventsFamily,
                                          journal::format::kStreamsFamily,
                                          journal::format::kIdempotencyFamily,
                                          journal::format::kReservationsFamily,
                                          journal::format::kKeysFamily};
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const auto& name : names) families.emplace_back(name, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), dir, families, &handles, &raw);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (!s.ok()) return out;
  for (size_t i = 0; i < names.size(); ++i) {
    std::unique_ptr<rocksdb::Iterator> it(raw->NewIterator(rocksdb::ReadOptions(), handles[i]));
    auto& family = out[names[i]];
    for (it->SeekToFirst(); it->Valid(); it->Next())
      family[it->key().ToString()] = it->value().ToString();
  }
  for (auto* h : handles) raw->DestroyColumnFamilyHandle(h);
  delete raw;
  return out;
}

journal::Options read_only() {
  journal::Options options;
  options.read_only = true;
  options.create_if_missing = false;
  return options;
}

// The canonical Cap'n Proto encoding of a stored envelope.
std::string canonical(const std::string& stored) {
  kj::Array<capnp::word> words = kj::heapArray<capnp::word>(stored.size() / sizeof(capnp::word));
  std::memcpy(words.begin(), stored.data(), words.size() * sizeof(capnp::word));
  capnp::FlatArrayMessageReader message(words.asPtr());
  kj::Array<capnp::word> canon = capnp::canonicalize(message.getRoot<events::Envelope>());
  auto bytes = canon.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

std::string describe(const db::Value& v) {
  struct {
    std::string operator()(db::Null) const { return "NULL"; }
    std::string operator()(bool b) const { return b ? "bool:true" : "bool:false"; }
    std::string operator()(int64_t i) const { return "int:" + std::to_string(i); }
    std::string operator()(double d) const { return "real:" + std::to_string(d); }
    std::string operator()(const std::string& s) const { return "text:" + s; }
  } visitor;
  return std::visit(visitor, v);
}

// Every row of every table of a read database, as text, sorted per table.
// Opened as the owner/superuser so that PostgreSQL's row-level security
// hides nothing.
std::map<std::string, std::vector<std::string>> dump_tables(const TestDatabase& database) {
  std::map<std::string, std::vector<std::string>> out;
  db::DatabaseOptions options;
  options.require_unprivileged = false;
  auto opened = db::Database::open(database.url(), options);
  EXPECT_TRUE(opened.is_ok()) << opened.status().to_string();
  if (!opened.is_ok()) return out;
  auto txn = (*opened)->begin(db::Access::kRead);
  EXPECT_TRUE(txn.is_ok()) << txn.status().to_string();
  if (!txn.is_ok()) return out;
  std::vector<std::string> tables;
  const bool postgres = database.backend() == Backend::kPostgres;
  auto names = (*txn)->query(
      postgres ? "SELECT table_schema || '.' || table_name FROM information_schema.tables "
                 "WHERE table_schema IN ('annals', 'annals_meta') AND table_type = 'BASE TABLE' "
                 "ORDER BY 1"
               : "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE "
                 "'sqlite_%' ORDER BY 1");
  EXPECT_TRUE(names.is_ok()) << names.status().to_string();
  if (!names.is_ok()) return out;
  for (const auto& row : *names) tables.push_back(row.text(0));
  for (const auto& table : tables) {
    // The migration record's applied_at is when each database was set up,
    // not something the journal holds: every other column is compared.
    std::string sql = table.ends_with("annals_migrations")
                          ? "SELECT version, name, checksum FROM " + table
                          : "SELECT * FROM " + table;
    auto rows = (*txn)->query(sql);
    EXPECT_TRUE(rows.is_ok()) << table << ": " << rows.status().to_string();
    if (!rows.is_ok()) continue;
    auto& lines = out[table.substr(table.find('.') + 1)];
    for (const auto& row : *rows) {
      std::string line;
      for (size_t i = 0; i < row.size(); ++i) line += describe(row.at(i)) + " | ";
      lines.push_back(line);
    }
    std::sort(lines.begin(), lines.end());
  }
  return out;
}

// A realistic history in two orgs, with a secret in every kind of call that
// takes one, updates, removals and renames (releases of reservations).
void write_history(repositories::Store& store) {
  using namespace repositories;
  for (const std::string org : {"acme", "globex"}) {
    ASSERT_OK(store.settings().upsert(org, "theme", "dark", "string"));
    ASSERT_OK(store.settings().upsert(org, "theme", "light \"quoted\" ✓", "string"));
    ASSERT_OK(store.settings().upsert(org, "temp", "1", "number"));
    ASSERT_OK(store.settings().remove(org, "temp"));

    for (int i = 0; i < 3; ++i) {
      NewApiToken token;
      token.id = org + "-tok-" + std::to_string(i);
      token.user_id = "user-1";
      token.name = "laptop " + std::to_string(i);
      token.token_prefix = "bodhiapp_" + org + std::to_string(i);
      token.token_hash = "hash-" + std::to_string(i);
      token.scopes = "scope_token_user";
      ASSERT_OK(store.tokens().create(org, token));
    }
    ASSERT_OK(
        store.tokens().update(org, "user-1", org + "-tok-1", "renamed", TokenStatus::kInactive));

    NewToolset toolset;
    toolset.id = org + "-ts-1";
    toolset.user_id = "user-1";
    toolset.toolset_type = "builtin-exa-search";
    toolset.slug = "exa";
    toolset.description = "search";
    toolset.api_key = "exa-key-" + org;
    ASSERT_OK(store.toolsets().create(org, toolset));
    ToolsetUpdate update;
    update.slug = "exa-renamed";
    update.api_key = SecretChange::set("exa-key-v2-" + org);
    ASSERT_OK(store.toolsets().update(org, "user-1", org + "-ts-1", update));
    NewToolset second = toolset;
    second.id = org + "-ts-2";
    second.slug = "gone";
    second.api_key = std::nullopt;
    ASSERT_OK(store.toolsets().create(org, second));
    ASSERT_OK(store.toolsets().remove(org, "user-1", org + "-ts-2"));

    NewApiModelAlias alias;
    alias.id = org + "-alias-1";
    alias.api_format = "openai";
    alias.base_url = "https://api.example.com/v1";
    alias.models = "[\"gpt-4\"]";
    alias.api_key = "sk-" + org;
    ASSERT_OK(store.models().create_api_alias(org, alias));

    NewAppInstance instance;
    instance.client_id = "client-" + org;
    instance.client_secret = "client-secret-" + org;
    instance.scope = "scope_user";
    ASSERT_OK(store.app_instance().upsert(org, instance));

    NewMcpServer server;
    server.id = org + "-srv-1";
    server.url = "https://mcp.example.com/" + org;
    server.name = "example";
    server.created_by = "admin";
    ASSERT_OK(store.mcp().servers().create_server(org, server));
    NewMcpAuthHeader header;
    header.id = org + "-hdr-1";
    header.name = "api key";
    header.mcp_server_id = org + "-srv-1";
    header.header_key = "X-API-Key";
    header.value = "header-secret-" + org;
    header.created_by = "admin";
    ASSERT_OK(store.mcp().credentials().create_auth_header(org, header));
  }
}

// --- round trip, on both backends ------------------------------------------

class JournalExportTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    ANNALS_SETUP_BACKEND(source_db_, GetParam(), source_dir_);
    ANNALS_SETUP_BACKEND(target_db_, GetParam(), target_dir_);
  }

  std::unique_ptr<repositories::Store> open_store(const TempDir& dir, const TestDatabase& db) {
    repositories::StoreOptions options;
    options.data_dir = dir.sub("data");
    options.database_url = db.url();
    options.setup_database = true;  // a superuser URL: set it up first
    options.master_key = kMasterKey;
    auto store = repositories::Store::open(options);
    EXPECT_TRUE(store.is_ok()) << store.status().to_string();
    return store.is_ok() ? std::move(store).value() : nullptr;
  }

  TempDir source_dir_;
  TempDir target_dir_;
  std::unique_ptr<TestDatabase> source_db_;
  std::unique_ptr<TestDatabase> target_db_;
};

TEST_P(JournalExportTest, RoundTripKeepsEveryByteSecretAndRow) {
  std::string exported;
  journal::ExportReport export_report;
  {
    auto store = open_store(source_dir_, *source_db_);
    ASSERT_NE(store, nullptr);
    write_history(*store);
    std::ostringstream out;
    auto report = journal::export_journal(store->internals().journal(), out, {.with_keys = true});
    ASSERT_OK(report);
    export_report = *report;
    exported = out.str();
  }
  EXPECT_GT(export_report.head, 25u);
  EXPECT_EQ(export_report.events, export_report.head);
  EXPECT_EQ(export_report.org_keys, 2u);
  EXPECT_GT(export_report.reservations, 4u);
  // Secrets travel sealed, never opened.
  EXPECT_EQ(exported.find("exa-key-acme"), std::string::npos);
  EXPECT_EQ(exported.find("header-secret-globex"), std::string::npos);
  EXPECT_NE(exported.find("\"sealedApiKey\":\"v1."), std::string::npos) << exported.substr(0, 2000);

  {
    auto target = Journal::open_rocksdb(target_dir_.sub("data") + "/journal", {});
    ASSERT_OK(target);
    std::istringstream in(exported);
    // With the projections' dry run, as the CLI imports: a history the
    // repositories wrote is one every read table holds.
    auto dry_run = projections::ImportDryRun::open();
    ASSERT_OK(dry_run);
    journal::ImportOptions options;
    repositories::ImportReservationCheck reservations;
    options.checks = {dry_run->get(), &reservations};
    auto report = journal::import_journal(**target, in, options);
    ASSERT_OK(report);
    EXPECT_EQ((*dry_run)->applied(), export_report.head);
    EXPECT_EQ(report->events, export_report.head);
    EXPECT_EQ(report->head, export_report.head);
    EXPECT_EQ(report->org_keys, 2u);
    EXPECT_EQ(report->reservations, export_report.reservations);
    EXPECT_EQ(report->already_present, 0u);
  }

  // Every event reads back the same: field for field, every byte of every
  // text, in the version it was written as (the stored envelopes have equal
  // canonical encodings; the message layout inside a record may differ, as
  // it depends on the order the writer set the fields in).
  {
    auto source_journal = Journal::open_rocksdb(source_dir_.sub("data") + "/journal", read_only());
    auto target_journal = Journal::open_rocksdb(target_dir_.sub("data") + "/journal", read_only());
    ASSERT_OK(source_journal);
    ASSERT_OK(target_journal);
    auto a = (*source_journal)->read_records(1, 100000);
    auto b = (*target_journal)->read_records(1, 100000);
    ASSERT_OK(a);
    ASSERT_OK(b);
    ASSERT_EQ(a->size(), export_report.head);
    ASSERT_EQ(a->size(), b->size());
    for (size_t i = 0; i < a->size(); ++i) {
      EXPECT_EQ(canonical((*a)[i]), canonical((*b)[i])) << "position " << i + 1;
    }
  }
  // Every other column family holds the same bytes: org index, stream
  // versions, idempotency entries, reservations, data keys.
  RawJournal source = read_raw(source_dir_.sub("data") + "/journal");
  RawJournal target = read_raw(target_dir_.sub("data") + "/journal");
  ASSERT_EQ(source.size(), target.size());
  for (const auto& [family, entries] : source) {
    if (family == journal::format::kEventsFamily) {
      EXPECT_EQ(entries.size(), target[family].size());
      continue;
    }
    EXPECT_TRUE(entries == target[family]) << "column family " << family << " differs";
  }
  EXPECT_GT(source[journal::format::kIdempotencyFamily].size(), 5u);
  EXPECT_GT(source[journal::format::kStreamsFamily].size(), 10u);

  // Projected afresh, the imported journal gives the same tables, and its
  // secrets open with the same master key.
  auto store = open_store(target_dir_, *target_db_);
  ASSERT_NE(store, nullptr);
  auto key = store->toolsets().get_api_key("acme", "user-1", "acme-ts-1");
  ASSERT_OK(key);
  EXPECT_EQ(key->value_or(""), "exa-key-v2-acme");
  auto token = store->tokens().get_by_prefix("bodhiapp_globex2");
  ASSERT_OK(token);
  EXPECT_EQ(token->org_id, "globex");
  // The reservations came along: a taken prefix is still taken.
  repositories::NewApiToken clash;
  clash.id = "another";
  clash.user_id = "user-2";
  clash.token_prefix = "bodhiapp_acme0";
  clash.token_hash = "h";
  clash.scopes = "scope_token_user";
  EXPECT_CODE(store->tokens().create("acme", clash), Code::kConflict);
  store.reset();

  auto source_tables = dump_tables(*source_db_);
  auto target_tables = dump_tables(*target_db_);
  EXPECT_GE(source_tables.size(), 15u);
  size_t rows = 0;
  for (const auto& [table, lines] : source_tables) rows += lines.size();
  EXPECT_GT(rows, 30u);
  EXPECT_EQ(source_tables.size(), target_tables.size());
  for (const auto& [table, lines] : source_tables) {
    EXPECT_EQ(lines, target_tables[table]) << "table " << table;
  }
}

// Without --with-keys an export holds no wrapped data key (only forgotten
// orgs' tombstones), and a restore from it is refused rather than left with
// secrets no key can open.
TEST_P(JournalExportTest, WithoutKeysAnExportHoldsNoDataKeyAndCannotRestoreSecrets) {
  std::string keyless;
  size_t data_keys = 0;
  {
    auto store = open_store(source_dir_, *source_db_);
    ASSERT_NE(store, nullptr);
    write_history(*store);
    ASSERT_OK(store->forget_org("initech"));
    auto state = store->internals().journal().snapshot_state();
    ASSERT_OK(state);
    for (const auto& [org, value] : state->data_keys) {
      if (!value.starts_with(journal::format::kForgottenKeyPrefix)) ++data_keys;
    }
    std::ostringstream out;
    auto report = journal::export_journal(store->internals().journal(), out);
    ASSERT_OK(report);
    EXPECT_EQ(report->org_keys, 1u);  // initech's tombstone
    keyless = out.str();
  }
  ASSERT_GT(data_keys, 0u);
  EXPECT_EQ(keyless.find("value_base64"), std::string::npos);
  EXPECT_NE(keyless.find("\"org_id\":\"initech\""), std::string::npos);
  auto target = Journal::open_rocksdb(target_dir_.sub("journal"), {});
  ASSERT_OK(target);
  std::istringstream in(keyless);
  auto refused = journal::import_journal(**target, in);
  EXPECT_CODE(refused, Code::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("--with-keys"), std::string::npos)
      << refused.status().to_string();
  EXPECT_EQ((*target)->head(), 0u);
}

TEST_P(JournalExportTest, ExportOfTheImportIsTheSameText) {
  std::string first;
  {
    auto store = open_store(source_dir_, *source_db_);
    ASSERT_NE(store, nullptr);
    write_history(*store);
    std::ostringstream out;
    ASSERT_OK(journal::export_journal(store->internals().journal(), out, {.with_keys = true}));
    first = out.str();
  }
  auto target = Journal::open_rocksdb(target_dir_.sub("journal"), {});
  ASSERT_OK(target);
  std::istringstream in(first);
  ASSERT_OK(journal::import_journal(**target, in));
  std::ostringstream again;
  ASSERT_OK(journal::export_journal(**target, again, {.with_keys = true}));
  EXPECT_EQ(first, again.str());
}

INSTANTIATE_TEST_SUITE_P(Backends, JournalExportTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         testing::BackendName);

// --- the format and its errors ----------------------------------------------

// A small journal appended to directly: commands of one and of two events.
class JournalImportErrorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = Journal::open_rocksdb(dir_.sub("source"), {});
    ASSERT_OK(opened);
    source_ = std::move(opened).value();
    for (int i = 0; i < 4; ++i) append_setting(*source_, "acme", "key-" + std::to_string(i), 1);
    append_setting(*source_, "acme", "pair", 2);  // positions 5 and 6: one command
    append_setting(*source_, "globex", "other", 1);
    ASSERT_OK(source_->import_data_key("acme", std::string("\x00\x01wrapped\xff", 10)));
    ASSERT_OK(source_->import_data_key("globex", "forgotten at 1718000000000000"));
    journal::AppendRequest claim;
    claim.org_id = "acme";
    claim.events.emplace_back("acme", "setting/claimed", "tester");
    auto payload = claim.events.back().payload().initSettingUpserted();
    payload.setKey("claimed");
    payload.setValue("v");
    payload.setValueType("string");
    claim.reservations.push_back(
        journal::Reservation::claim("settings.key", "claimed", "setting/claimed"));
    claim.reservations.push_back(
        journal::Reservation::claim("token.prefix", "bodhiapp_x", "token/x", /*across_orgs=*/true));
    claim.idempotency_key = "claim-1";
    ASSERT_OK(source_->append(std::move(claim)));
    std::ostringstream out;
    ASSERT_OK(journal::export_journal(*source_, out, {.with_keys = true}));
    std::istringstream lines(out.str());
    for (std::string line; std::getline(lines, line);) lines_.push_back(line);
    // header, 2 keys, 8 events, 2 reservations
    ASSERT_EQ(lines_.size(), 13u) << out.str();

    auto target = Journal::open_rocksdb(dir_.sub("target"), {});
    ASSERT_OK(target);
    target_ = std::move(target).value();
  }

  static void append_setting(Journal& journal, const std::string& org, const std::string& key,
                             int events) {
    journal::AppendRequest request;
    request.org_id = org;
    for (int i = 0; i < events; ++i) {
      request.events.emplace_back(org, "setting/" + key, "tester");
      auto p = request.events.back().payload().initSettingUpserted();
      p.setKey(key);
      p.setValue("value " + std::to_string(i));
      p.setValueType("string");
    }
    ASSERT_OK(journal.append(std::move(request)));
  }

  static std::string join(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
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
  std::unique_ptr<Journal> source_;
  std::unique_ptr<Journal> target_;
  std::vector<std::string> lines_;  // 0 header, 1-2 keys, 3-10 events, 11-12 reservations
};

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

TEST_F(JournalImportErrorTest, RunningAgainOrContinuingAPrefixIsFine) {
  // The first five commands (positions 1..6) as their own export.
  {
    auto partial = Journal::open_rocksdb(dir_.sub("partial"), {});
    ASSERT_OK(partial);
    std::vector<std::string> prefix = {lines_[0]};
    for (int i = 3; i <= 8; ++i) prefix.push_back(lines_[i]);
    prefix[0].replace(prefix[0].find("\"head\":8"), 8, "\"head\":6");
    prefix[0].replace(prefix[0].find("\"org_keys\":2"), 12, "\"org_keys\":0");
    prefix[0].replace(prefix[0].find("\"reservations\":2"), 16, "\"reservations\":0");
    std::istringstream in(join(prefix));
    ASSERT_OK(journal::import_journal(*target_, in));
    EXPECT_EQ(target_->head(), 6u);
  }
  std::istringstream rest(join(lines_));
  auto report = journal::import_journal(*target_, rest);
  ASSERT_OK(report);
  EXPECT_EQ(report->already_present, 6u);
  EXPECT_EQ(report->events, 2u);
  EXPECT_EQ(report->head, 8u);
  std::istringstream again(join(lines_));
  report = journal::import_journal(*target_, again);
  ASSERT_OK(report);
  EXPECT_EQ(report->events, 0u);
  EXPECT_EQ(report->already_present, 8u);
}

TEST_F(JournalImportErrorTest, ImportBesideAppendsLeavesAConsistentJournal) {
  // Appends race the import for positions: whichever loses stops cleanly,
  // and the journal never holds a gap or a split command.
  std::atomic<bool> stop{false};
  std::thread appender([&] {
    for (int i = 0; i < 200 && !stop; ++i)
      append_setting(*target_, "other", "k" + std::to_string(i), 1);
  });
  std::istringstream in(join(lines_));
  auto result = journal::import_journal(*target_, in);
  stop = true;
  appender.join();
  if (!result.is_ok()) {
    EXPECT_TRUE(result.status().code() == Code::kInvalidArgument ||
                result.status().code() == Code::kUnavailable)
        << result.status().to_string();
  }
  auto events = target_->read(1, 100000);
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), target_->head());
  for (size_t i = 0; i < events->size(); ++i) {
    const auto& e = (*events)[i];
    EXPECT_EQ(e.position(), i + 1);
    uint32_t index = e.envelope().getCommandIndex();
    if (index > 0) {
      ASSERT_GT(i, 0u);
      EXPECT_EQ((*events)[i - 1].envelope().getCommandIndex(), index - 1) << "position " << i + 1;
    }
  }
}

TEST_F(JournalImportErrorTest, GapIsRefusedNamingLineAndPosition) {
  auto lines = lines_;
  lines.erase(lines.begin() + 4);  // position 2
  Status s = import_fails(join(lines));
  expect_names(s, "line 5 (position 3)");
  expect_names(s, "position 2 is missing");
}

TEST_F(JournalImportErrorTest, DuplicatePositionIsRefused) {
  auto lines = lines_;
  lines.insert(lines.begin() + 5, lines[4]);  // position 2 twice
  Status s = import_fails(join(lines));
  expect_names(s, "line 6 (position 2)");
  expect_names(s, "comes again");
}

TEST_F(JournalImportErrorTest, SplitCommandIsRefused) {
  auto lines = lines_;
  lines.erase(lines.begin() + 8);  // the second event of the command at position 5
  Status s = import_fails(join(lines));
  expect_names(s, "line 9");
  // And a command cut at the end of the events.
  auto cut = lines_;
  cut.resize(8);
  cut[0].replace(cut[0].find("\"head\":8"), 8, "\"head\":5");
  s = import_fails(join(cut));
  expect_names(s, "1 of its 2 events");
}

TEST_F(JournalImportErrorTest, NonEmptyJournalThatDoesNotContinueIsRefused) {
  append_setting(*target_, "acme", "something-else", 1);
  Status s = import_fails(join(lines_));
  expect_names(s, "line 4 (position 1)");
  expect_names(s, "not a prefix");
}

TEST_F(JournalImportErrorTest, ClashingDataKeyIsRefused) {
  ASSERT_OK(target_->import_data_key("acme", "another wrapped key"));
  Status s = import_fails(join(lines_), Code::kConflict);
  expect_names(s, "line 2");
}

TEST_F(JournalImportErrorTest, SealedSecretsWithoutTheirOrgsKeyAreRefused) {
  // A journal whose events hold initech's sealed secret but not its key.
  auto keyless = Journal::open_rocksdb(dir_.sub("keyless"), {});
  ASSERT_OK(keyless);
  append_setting(**keyless, "initech", "plain", 1);
  journal::AppendRequest request;
  request.org_id = "initech";
  request.events.emplace_back("initech", "toolset/t1", "tester");
  auto toolset = request.events.back().payload().initToolset().initToolsetCreated();
  toolset.setId("t1");
  toolset.setUserId("user-1");
  toolset.getApiKey().setSealed("v1.c2VhbGVk");
  ASSERT_OK((*keyless)->append(std::move(request)));
  std::ostringstream out;
  ASSERT_OK(journal::export_journal(**keyless, out));

  Status s = import_fails(out.str());
  expect_names(s, "org 'initech' has sealed secrets");
  expect_names(s, "line 3 (position 2, event.payload.toolset.toolsetCreated.apiKey.sealed)");
  expect_names(s, "no data key");
  // Once the journal holds the key (or the org's tombstone), it goes in.
  ASSERT_OK(target_->import_data_key("initech", "forgotten at 1718000000000000"));
  std::istringstream in(out.str());
  auto report = journal::import_journal(*target_, in);
  ASSERT_OK(report);
  EXPECT_EQ(report->events, 2u);
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
  auto with = [&](size_t index, const std::string& from, const std::string& to) {
    auto lines = lines_;
    size_t at = lines[index].find(from);
    EXPECT_NE(at, std::string::npos) << from;
    lines[index].replace(at, from.size(), to);
    return join(lines);
  };
  expect_names(import_fails(with(3, "\"org_id\":\"acme\"", "\"org_id\":\"../../etc\"")), "line 4");
  expect_names(
      import_fails(with(3, "\"stream_id\":\"setting/key-0\"", "\"stream_id\":\"a\\u0000b\"")),
      "NUL");
  expect_names(import_fails(with(3, "\"value\":\"value 0\"", "\"value\":\"\xff\xfe\"")),
               "not valid JSON");
  expect_names(import_fails(with(3, "\"actor\":\"tester\"", "\"actor\":\"\xed\xa0\x80\"")),
               "line 4");
  expect_names(import_fails(with(3, "\"stream_id\":\"setting/key-0\"",
                                 "\"stream_id\":\"" + std::string(600, 'x') + "\"")),
               "stream_id");
  expect_names(
      import_fails(with(3, "\"payload\":{", "\"payload\":" + std::string(5000, '[') + "{")),
      "nested deeper");
  expect_names(import_fails(with(11, "\"rule\":\"settings.key\"", "\"rule\":\"x'; DROP TABLE\"")),
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
  auto with = [&](size_t index, const std::string& from, const std::string& to) {
    auto lines = lines_;
    size_t at = lines[index].find(from);
    EXPECT_NE(at, std::string::npos) << from;
    lines[index].replace(at, from.size(), to);
    return join(lines);
  };
  Status s = import_fails(with(4, "\"position\":2", "\"position\":\"2\""));
  expect_names(s, "line 5: field 'position' must be a non-negative whole number, not string");
  EXPECT_EQ(s.subject(), "position");
  expect_names(import_fails(with(4, "\"position\":2", "\"position\":-2")), "not number");
  expect_names(import_fails(with(4, "\"position\":2", "\"position\":2.0")), "not number");
  expect_names(import_fails(with(4, "\"actor\":\"tester\",", "")), "missing field 'actor'");
  expect_names(import_fails(with(4, "\"kind\":\"event\"", "\"kind\":\"evnt\"")),
               "line 5: unknown kind \"evnt\"");
  expect_names(import_fails(with(4, "\"type\":\"settingUpserted\"", "\"type\":\"tokenExploded\"")),
               "unknown event type 'tokenExploded'");
  expect_names(import_fails(with(4, "\"type\":\"settingUpserted\"", "\"type\":\"unset\"")),
               "not an event type");
  expect_names(import_fails(with(4, "\"valueType\":\"string\"", "\"valueTyp\":\"string\"")),
               "line 5");
  expect_names(import_fails(with(4, "\"valueType\":\"string\"", "\"valueType\":7")), "line 5");
  expect_names(import_fails(with(4, "\"actor\":\"tester\"", "\"actor\":\"tester\",\"extra\":1")),
               "unknown field 'extra'");
  expect_names(import_fails(with(0, "\"format\":1", "\"format\":2")), "format 2");
  expect_names(import_fails(with(1, "\"value_base64\":\"", "\"value_base64\":\"!!")), "line 2");
}

// Records what it sees; refuses the event at `refuse_at`.
class RecordingCheck : public journal::ImportCheck {
 public:
  Status event(const events::Event& event) override {
    seen.push_back(event.position());
    if (event.position() == refuse_at) return Status::internal("refused for the test");
    return Status::ok();
  }
  uint64_t refuse_at = 0;
  std::vector<uint64_t> seen;
};

TEST_F(JournalImportErrorTest, AFurtherCheckSeesEveryEventAndItsRefusalIsNamed) {
  RecordingCheck check;
  check.refuse_at = 6;
  journal::ImportOptions options;
  options.checks = {&check};
  Status s = import_fails(join(lines_), Code::kInternal, options);
  expect_names(s, "line 9 (position 6): refused for the test");
  EXPECT_EQ(check.seen, (std::vector<uint64_t>{1, 2, 3, 4, 5, 6}));

  // Events the journal holds already are seen too: the check needs the
  // whole history.
  auto lines = lines_;
  lines.resize(7);
  lines[0].replace(lines[0].find("\"head\":8"), 8, "\"head\":4");
  lines[0].replace(lines[0].find("\"reservations\":2"), 16, "\"reservations\":0");
  std::istringstream prefix(join(lines));
  ASSERT_OK(journal::import_journal(*target_, prefix));
  RecordingCheck all;
  options.checks = {&all};
  std::istringstream in(join(lines_));
  auto report = journal::import_journal(*target_, in, options);
  ASSERT_OK(report);
  EXPECT_EQ(report->already_present, 4u);
  EXPECT_EQ(all.seen, (std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST_F(JournalImportErrorTest, ReservationsTheEventsDoNotImplyAreRefused) {
  // The fixture's journal was written without the repositories: its settings
  // claim no key, and its token prefix belongs to no token.
  repositories::ImportReservationCheck check;
  journal::ImportOptions options;
  options.checks = {&check};
  Status s = import_fails(join(lines_), Code::kInvalidArgument, options);
  expect_names(s, "the export's reservations disagree with its events");
  expect_names(s,
               "line 13: token.prefix * 'bodhiapp_x': held by 'token/x' but claimed by no event");
  expect_names(s,
               "not in the export: settings.key acme 'key-0': missing; the events give it to "
               "stream 'setting/key-0' (position 1)");
  // The one reservation the events do imply is not named.
  EXPECT_EQ(s.message().find("'claimed'"), std::string::npos) << s.to_string();
}

// The projections' dry run: events no read table can hold are refused
// before the import writes anything.
class ImportDryRunTest : public JournalImportErrorTest {
 protected:
  static void append_token(Journal& journal, const std::string& id, const std::string& prefix) {
    journal::AppendRequest request;
    request.org_id = "acme";
    request.events.emplace_back("acme", "token/" + id, "tester");
    auto p = request.events.back().payload().initTokenCreated();
    p.setId(id);
    p.setUserId("user-1");
    p.setName("token " + id);
    p.setTokenPrefix(prefix);
    p.setTokenHash("hash-" + id);
    p.setScopes("scope_token_user");
    ASSERT_OK(journal.append(std::move(request)));
  }

  // An export of three tokens (positions 1-3) and an update of the first.
  std::vector<std::string> token_export() {
    auto opened = Journal::open_rocksdb(dir_.sub("tokens"), {});
    EXPECT_OK(opened);
    if (!opened.is_ok()) return {};
    Journal& journal = **opened;
    append_token(journal, "t1", "bodhiapp_aaaa");
    append_token(journal, "t2", "bodhiapp_bbbb");
    append_token(journal, "t3", "bodhiapp_cccc");
    journal::AppendRequest update;
    update.org_id = "acme";
    update.events.emplace_back("acme", "token/t1", "tester");
    auto p = update.events.back().payload().initTokenUpdated();
    p.setId("t1");
    p.setName("renamed");
    EXPECT_OK(journal.append(std::move(update)));
    std::ostringstream out;
    EXPECT_OK(journal::export_journal(journal, out));
    std::vector<std::string> lines;
    std::istringstream in(out.str());
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;  // header, 4 events
  }

  static std::string edit(std::vector<std::string> lines, size_t index, const std::string& from,
                          const std::string& to) {
    size_t at = lines[index].find(from);
    EXPECT_NE(at, std::string::npos) << from << " not in " << lines[index];
    if (at != std::string::npos) lines[index].replace(at, from.size(), to);
    return join(lines);
  }

  journal::ImportOptions with_dry_run() {
    auto opened = projections::ImportDryRun::open();
    EXPECT_OK(opened);
    if (opened.is_ok()) dry_run_ = std::move(opened).value();
    journal::ImportOptions options;
    options.checks = {dry_run_.get()};
    return options;
  }

  std::unique_ptr<projections::ImportDryRun> dry_run_;
};

TEST_F(ImportDryRunTest, AHistoryTheTablesHoldGoesIn) {
  auto lines = token_export();
  ASSERT_EQ(lines.size(), 5u);
  std::istringstream in(join(lines));
  auto report = journal::import_journal(*target_, in, with_dry_run());
  ASSERT_OK(report);
  EXPECT_EQ(report->events, 4u);
  EXPECT_EQ(dry_run_->applied(), 4u);
  // And the settings history of the fixture, with its two orgs.
  auto other = Journal::open_rocksdb(dir_.sub("other"), {});
  ASSERT_OK(other);
  std::istringstream settings(join(lines_));
  auto imported = journal::import_journal(**other, settings, with_dry_run());
  ASSERT_OK(imported);
  EXPECT_EQ(dry_run_->applied(), 8u);
}

TEST_F(ImportDryRunTest, ATokenPrefixTakenTwiceIsRefused) {
  auto lines = token_export();
  ASSERT_EQ(lines.size(), 5u);
  Status s = import_fails(edit(lines, 3, "bodhiapp_cccc", "bodhiapp_aaaa"), Code::kInvalidArgument,
                          with_dry_run());
  expect_names(s, "line 4 (position 3)");
  expect_names(s, "projection 'tokens' cannot hold this event");
  EXPECT_EQ(dry_run_->applied(), 2u);
  // Without the dry run the journal would take it.
  std::istringstream in(edit(lines, 3, "bodhiapp_cccc", "bodhiapp_aaaa"));
  EXPECT_OK(journal::import_journal(*target_, in));
}

TEST_F(ImportDryRunTest, AnUpdateOfARowNeverCreatedIsRefused) {
  auto lines = token_export();
  ASSERT_EQ(lines.size(), 5u);
  Status s = import_fails(edit(lines, 4, "\"id\":\"t1\"", "\"id\":\"ghost\""),
                          Code::kInvalidArgument, with_dry_run());
  expect_names(s, "line 5 (position 4)");
  expect_names(s, "'ghost'");
}

TEST_F(ImportDryRunTest, AnEmptyCreateIsRefusedWhenItClashes) {
  auto lines = token_export();
  ASSERT_EQ(lines.size(), 5u);
  // Two creates stripped of every field: the second has the same (empty)
  // id and prefix as the first.
  auto stripped = lines;
  for (size_t i : {1, 2}) {
    size_t from = stripped[i].find("\"payload\":{");
    ASSERT_NE(from, std::string::npos) << stripped[i];
    from += std::strlen("\"payload\":{");
    size_t to = stripped[i].find('}', from);
    stripped[i].erase(from, to - from);
  }
  Status s = import_fails(join(stripped), Code::kInvalidArgument, with_dry_run());
  expect_names(s, "line 3 (position 2)");
  expect_names(s, "projection 'tokens'");
}

TEST(ImportDryRunScratch, TheScratchDatabaseHasNoReaders) {
  auto opened = projections::ImportDryRun::open();
  ASSERT_OK(opened);
  auto scratch = db::SqliteDatabase::open_scratch();
  ASSERT_OK(scratch);
  EXPECT_CODE((*scratch)->begin(db::Access::kRead), Code::kInternal);
  auto txn = (*scratch)->begin(db::Access::kWrite);
  ASSERT_OK(txn);
  EXPECT_OK((*txn)->execute_script("CREATE TABLE t (x INTEGER)"));
}

}  // namespace
}  // namespace annals
