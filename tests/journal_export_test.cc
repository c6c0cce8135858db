// Export and import of a journal as JSON lines, on both backends: a journal
// written through the real repositories survives the trip byte for byte
// (events, org index, stream versions, idempotency entries, data keys,
// reservations), its secrets still open, projecting it gives the same read
// tables, and its export exports again to the same text; an export without
// keys cannot restore secrets.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <sstream>

#include "journal/export.h"
#include "journal/format.h"
#include "journal/journal.h"
#include "projections/import_dry_run.h"
#include "repositories/operator.h"
#include "repositories/reservation_rules.h"
#include "tests/raw_journal.h"
#include "tests/test_support.h"

namespace annals {
namespace {

using journal::Journal;
using testing::Backend;
using testing::TempDir;
using testing::TestDatabase;

const std::string kMasterKey(32, 'K');

// Every column family of a closed journal folder, raw: family -> key -> value.
using RawFamilies = std::map<std::string, std::map<std::string, std::string>>;

RawFamilies read_raw(const std::string& dir) {
  testing::RawJournal raw(dir, testing::RawJournal::Mode::kReadOnly);
  EXPECT_TRUE(raw.opened()) << raw.status().ToString();
  if (!raw.opened()) return {};
  return raw.contents();
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
  RawFamilies source = read_raw(source_dir_.sub("data") + "/journal");
  RawFamilies target = read_raw(target_dir_.sub("data") + "/journal");
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

}  // namespace
}  // namespace annals
