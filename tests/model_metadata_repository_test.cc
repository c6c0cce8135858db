// ModelRepository, model metadata: over a real Store (RocksDB journal;
// SQLite, or PostgreSQL under row-level security) with a frozen clock.
#include <gtest/gtest.h>

#include <barrier>
#include <chrono>
#include <functional>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "annals/clock.h"
#include "annals/status.h"
#include "tests/conformance_suites.h"
#include "tests/model_repository_fixture.h"

namespace annals {
namespace repositories {

void PrintTo(const ModelMetadata& m, std::ostream* os) {
  auto opt = [](const auto& v) {
    if (!v.has_value()) return std::string("null");
    std::ostringstream s;
    s << *v;
    return s.str();
  };
  *os << "{id=" << m.id << ", source=" << model_source_name(m.source) << ", repo=\"" << m.repo
      << "\", filename=\"" << m.filename << "\", snapshot=\"" << m.snapshot
      << "\", api_model_id=" << opt(m.api_model_id) << ", vision=" << opt(m.capabilities.vision)
      << ", audio=" << opt(m.capabilities.audio) << ", thinking=" << opt(m.capabilities.thinking)
      << ", function_calling=" << opt(m.capabilities.function_calling)
      << ", structured_output=" << opt(m.capabilities.structured_output)
      << ", max_input_tokens=" << opt(m.max_input_tokens)
      << ", max_output_tokens=" << opt(m.max_output_tokens)
      << ", architecture=" << opt(m.architecture)
      << ", additional_metadata=" << opt(m.additional_metadata) << ", chat_template="
      << (m.chat_template ? std::to_string(m.chat_template->size()) + " bytes" : "null")
      << ", extracted_at=" << format_timestamp(m.extracted_at)
      << ", created_at=" << format_timestamp(m.created_at)
      << ", updated_at=" << format_timestamp(m.updated_at) << "}";
}

namespace {

using namespace std::chrono_literals;

ModelMetadataInput local(std::string repo, std::string filename, std::string snapshot = "main") {
  ModelMetadataInput m;
  m.source = ModelSource::kModel;
  m.repo = std::move(repo);
  m.filename = std::move(filename);
  m.snapshot = std::move(snapshot);
  m.extracted_at = kStart - 1h;
  return m;
}

ModelMetadataInput remote(std::string api_model_id) {
  ModelMetadataInput m;
  m.source = ModelSource::kApi;
  m.api_model_id = std::move(api_model_id);
  m.extracted_at = kStart - 1h;
  return m;
}

ModelMetadataInput full(ModelMetadataInput m) {
  m.capabilities = {true, false, std::nullopt, true, false};
  m.max_input_tokens = 131072;
  m.max_output_tokens = 8192;
  m.architecture = R"({"family": "llama", "parameter_count": 8030261248})";
  m.additional_metadata = R"({"quantization": "Q4_K_M", "tags": ["chat"]})";
  m.chat_template = "{% for m in messages %}{{ m.content }}{% endfor %}";
  return m;
}

ModelMetadata expected_row(int64_t id, const ModelMetadataInput& m, Timestamp created,
                           Timestamp updated) {
  return {id,
          m.source,
          m.repo,
          m.filename,
          m.snapshot,
          m.api_model_id,
          m.capabilities,
          m.max_input_tokens,
          m.max_output_tokens,
          m.architecture,
          m.additional_metadata,
          m.chat_template,
          m.extracted_at,
          created,
          updated};
}

class ModelMetadataRepositoryTest : public ModelRepositoryTest {};

TEST_P(ModelMetadataRepositoryTest, UpsertCreatesARowWhoseIdIsTheJournalPosition) {
  ASSERT_OK(models().upsert_model_metadata("default", local("r/a", "a.gguf")));
  ModelMetadataInput m =
      full(local("TheBloke/Llama-2-7B-GGUF", "llama-2-7b.Q4_K_M.gguf", "abc123"));
  auto created = models().upsert_model_metadata("default", m);
  ASSERT_OK(created);
  EXPECT_EQ(head(), 2u);
  EXPECT_EQ(*created, expected_row(2, m, kStart, kStart));
  clock_.advance(1s);
  auto got = models().get_model_metadata("default", m.repo, m.filename, m.snapshot);
  ASSERT_OK(got);
  EXPECT_EQ(*got, *created);
  // Nothing set: every nullable field is null.
  auto bare = models().get_model_metadata("default", "r/a", "a.gguf", "main");
  ASSERT_OK(bare);
  EXPECT_EQ(*bare, expected_row(1, local("r/a", "a.gguf"), kStart, kStart));
}

TEST_P(ModelMetadataRepositoryTest, UpsertOfTheSameFileReplacesItKeepingIdAndCreatedAt) {
  ModelMetadataInput first = full(local("r/a", "a.gguf"));
  ASSERT_OK(models().upsert_model_metadata("default", first));
  clock_.advance(10s);
  ModelMetadataInput second = local("r/a", "a.gguf");  // every nullable field back to null
  second.capabilities.audio = true;
  second.extracted_at = kStart + 5s;
  auto replaced = models().upsert_model_metadata("default", second);
  ASSERT_OK(replaced);
  EXPECT_EQ(*replaced, expected_row(1, second, kStart, kStart + 10s));
  EXPECT_EQ(head(), 2u);
  clock_.advance(10s);
  auto third = models().upsert_model_metadata("default", first);
  ASSERT_OK(third);
  EXPECT_EQ(*third, expected_row(1, first, kStart, kStart + 20s));
  auto all = models().list_model_metadata("default");
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front(), *third);
}

TEST_P(ModelMetadataRepositoryTest, EveryPartOfTheIdentityTellsRowsApart) {
  const std::vector<ModelMetadataInput> inputs = {
      local("r/a", "a.gguf", "main"),
      local("r/a", "a.gguf", "v2"),
      local("r/a", "b.gguf"),
      local("r/b", "a.gguf"),
      local("R/A", "a.gguf"),
      remote("gpt-4o"),
      remote("GPT-4o"),
      [] {  // an api row that names the same file as a local one
        ModelMetadataInput m = remote("gpt-4o");
        m.repo = "r/a";
        m.filename = "a.gguf";
        m.snapshot = "main";
        return m;
      }(),
      [] {  // a local file with an api_model_id is another identity than without
        ModelMetadataInput m = local("r/a", "a.gguf");
        m.api_model_id = "x";
        return m;
      }(),
  };
  std::set<int64_t> ids;
  for (const auto& m : inputs) {
    auto r = models().upsert_model_metadata("default", m);
    ASSERT_OK(r);
    ids.insert(r->id);
  }
  EXPECT_EQ(ids.size(), inputs.size());
  // Upserting all of them again changes no ids and adds no rows.
  clock_.advance(1s);
  for (const auto& m : inputs) {
    auto r = models().upsert_model_metadata("default", m);
    ASSERT_OK(r);
    EXPECT_TRUE(ids.count(r->id));
    EXPECT_EQ(r->created_at, kStart);
    EXPECT_EQ(r->updated_at, kStart + 1s);
  }
  auto all = models().list_model_metadata("default");
  ASSERT_OK(all);
  EXPECT_EQ(all->size(), inputs.size());
  // One stream per identity: both upserts of each landed on the same one.
  auto events = journal().read(1, 100);
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), 2 * inputs.size());
  std::set<std::string> streams;
  for (size_t i = 0; i < inputs.size(); ++i) {
    EXPECT_EQ((*events)[i].stream_id(), (*events)[i + inputs.size()].stream_id()) << i;
    streams.insert(std::string((*events)[i].stream_id()));
  }
  EXPECT_EQ(streams.size(), inputs.size());
  // The local file without api_model_id is the one get finds.
  auto got = models().get_model_metadata("default", "r/a", "a.gguf", "main");
  ASSERT_OK(got);
  EXPECT_EQ(got->source, ModelSource::kModel);
  EXPECT_EQ(got->api_model_id, std::nullopt);
  EXPECT_EQ(got->id, 1);
}

TEST_P(ModelMetadataRepositoryTest, GetOfAMissingFileOrAnotherOrgsIsNotFound) {
  ASSERT_OK(models().upsert_model_metadata("org-a", local("r/a", "a.gguf")));
  ASSERT_OK(models().upsert_model_metadata("org-a", remote("gpt-4o")));
  EXPECT_CODE(models().get_model_metadata("org-b", "r/a", "a.gguf", "main"), Code::kNotFound);
  EXPECT_CODE(models().get_model_metadata("org-a", "r/a", "a.gguf", "v2"), Code::kNotFound);
  EXPECT_CODE(models().get_model_metadata("org-a", "r/a", "A.gguf", "main"), Code::kNotFound);
  EXPECT_CODE(models().get_model_metadata("org-a", "r/%", "%", "%"), Code::kNotFound);
  auto other = models().list_model_metadata("org-b");
  ASSERT_OK(other);
  EXPECT_TRUE(other->empty());
  // The same file in another org is another row.
  auto b = models().upsert_model_metadata("org-b", local("r/a", "a.gguf"));
  ASSERT_OK(b);
  EXPECT_EQ(b->id, 3);
  auto a = models().get_model_metadata("org-a", "r/a", "a.gguf", "main");
  ASSERT_OK(a);
  EXPECT_EQ(a->id, 1);
}

TEST_P(ModelMetadataRepositoryTest, BatchGetReturnsTheFilesFoundInOneMap) {
  ModelMetadataInput a = full(local("r/a", "a.gguf"));
  ModelMetadataInput b = local("r/b", "b.gguf", "v1");
  ASSERT_OK(models().upsert_model_metadata("default", a));
  ASSERT_OK(models().upsert_model_metadata("default", b));
  ASSERT_OK(models().upsert_model_metadata("default", remote("gpt-4o")));
  ASSERT_OK(models().upsert_model_metadata("other", local("r/c", "c.gguf")));
  auto got =
      models().get_model_metadata_batch("default", {{"r/a", "a.gguf", "main"},
                                                    {"r/b", "b.gguf", "v1"},
                                                    {"r/b", "b.gguf", "v2"},    // another snapshot
                                                    {"r/c", "c.gguf", "main"},  // another org's
                                                    {"r/a", "a.gguf", "main"}});  // twice
  ASSERT_OK(got);
  std::map<ModelFileKey, ModelMetadata> want = {
      {{"r/a", "a.gguf", "main"}, expected_row(1, a, kStart, kStart)},
      {{"r/b", "b.gguf", "v1"}, expected_row(2, b, kStart, kStart)}};
  EXPECT_EQ(*got, want);

  auto empty = models().get_model_metadata_batch("default", {});
  ASSERT_OK(empty);
  EXPECT_TRUE(empty->empty());
  auto none = models().get_model_metadata_batch("default", {{"x", "y", "z"}});
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
}

TEST_P(ModelMetadataRepositoryTest, BatchGetOfEverySizeUpToTheLimit) {
  std::vector<ModelFileKey> keys;
  for (size_t i = 0; i < kMaxMetadataBatchKeys; ++i) {
    keys.push_back({"repo/" + std::to_string(i % 7), "file-" + std::to_string(i) + ".gguf", "s"});
  }
  // Every third key has metadata.
  for (size_t i = 0; i < keys.size(); i += 3) {
    ASSERT_OK(
        models().upsert_model_metadata("default", local(keys[i].repo, keys[i].filename, "s")));
  }
  for (size_t n : {size_t{1}, size_t{2}, size_t{3}, size_t{5}, size_t{64}, size_t{65}, size_t{999},
                   kMaxMetadataBatchKeys}) {
    std::vector<ModelFileKey> ask(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(n));
    auto got = models().get_model_metadata_batch("default", ask);
    ASSERT_OK(got);
    EXPECT_EQ(got->size(), (n + 2) / 3) << n;
    for (const auto& [key, row] : *got) {
      EXPECT_EQ(key, (ModelFileKey{row.repo, row.filename, row.snapshot}));
    }
  }
  keys.push_back({"r", "f", "s"});
  testing::expect_invalid(models().get_model_metadata_batch("default", keys).status(), "keys",
                          "over the limit");
}

TEST_P(ModelMetadataRepositoryTest, ListIsOrderedBySourceRepoFilename) {
  ASSERT_OK(models().upsert_model_metadata("default", local("r/b", "a.gguf")));
  ASSERT_OK(models().upsert_model_metadata("default", local("r/a", "z.gguf")));
  ASSERT_OK(models().upsert_model_metadata("default", local("r/a", "b.gguf", "v2")));
  ASSERT_OK(models().upsert_model_metadata("default", local("r/a", "b.gguf", "v1")));
  ASSERT_OK(models().upsert_model_metadata("default", local("R/a", "b.gguf")));
  ASSERT_OK(models().upsert_model_metadata("default", remote("zeta")));
  ASSERT_OK(models().upsert_model_metadata("default", remote("alpha")));
  ASSERT_OK(models().upsert_model_metadata("other", local("r/0", "0.gguf")));
  auto all = models().list_model_metadata("default");
  ASSERT_OK(all);
  std::vector<std::string> got;
  for (const auto& m : *all) {
    got.push_back(std::string(model_source_name(m.source)) + ":" + m.repo + "/" + m.filename + "@" +
                  m.snapshot + "#" + m.api_model_id.value_or(""));
  }
  // Byte order: "R" sorts before "r" on both backends.
  EXPECT_EQ(got, (std::vector<std::string>{"api:/@#alpha", "api:/@#zeta", "model:R/a/b.gguf@main#",
                                           "model:r/a/b.gguf@v1#", "model:r/a/b.gguf@v2#",
                                           "model:r/a/z.gguf@main#", "model:r/b/a.gguf@main#"}));
}

TEST_P(ModelMetadataRepositoryTest, EveryCapabilityFlagCombinationRoundTrips) {
  const std::vector<std::optional<bool>> values = {std::nullopt, false, true};
  int n = 0;
  for (const auto& v : values) {
    for (const auto& w : values) {
      ModelMetadataInput m = local("r/flags", "f" + std::to_string(n++) + ".gguf");
      m.capabilities = {v, w, v, w, v};
      m.max_input_tokens = 0;
      auto r = models().upsert_model_metadata("default", m);
      ASSERT_OK(r);
      auto got = models().get_model_metadata("default", m.repo, m.filename, m.snapshot);
      ASSERT_OK(got);
      EXPECT_EQ(got->capabilities, m.capabilities);
      EXPECT_EQ(got->max_input_tokens, std::optional<int64_t>(0));
    }
  }
}

TEST_P(ModelMetadataRepositoryTest, LargeChatTemplatesAndHostileTextRoundTrip) {
  ModelMetadataInput m = full(local("r/big", "big.gguf"));
  std::string tmpl;
  while (tmpl.size() < kMaxChatTemplateBytes) tmpl += "{{ '<|im_start|>' + m['role'] }}🎉\n";
  // Cut on a character boundary, then fill up to exactly the limit.
  tmpl.resize(kMaxChatTemplateBytes - 8);
  while (static_cast<unsigned char>(tmpl.back()) & 0x80) tmpl.pop_back();
  tmpl.resize(kMaxChatTemplateBytes, 'x');
  m.chat_template = tmpl;
  m.additional_metadata =
      "{\"blob\": \"" + std::string(kMaxAdditionalMetadataBytes - 12, 'x') + "\"}";
  auto r = models().upsert_model_metadata("default", m);
  ASSERT_OK(r);
  auto got = models().get_model_metadata("default", "r/big", "big.gguf", "main");
  ASSERT_OK(got);
  EXPECT_EQ(*got, expected_row(1, m, kStart, kStart));

  const std::vector<std::string> hostile = {
      "it's", "\"q\"", "'; DROP TABLE model_metadata;--", "%", "_", "🎉", "a\nb", "$1", " padded "};
  for (const auto& s : hostile) {
    SCOPED_TRACE(s);
    ModelMetadataInput h = local(s, s, s);
    h.chat_template = s;
    h.architecture = "{\"s\": \"" + std::string(s == "\"q\"" ? "q" : "x") + "\"}";
    auto c = models().upsert_model_metadata("default", h);
    ASSERT_OK(c);
    auto g = models().get_model_metadata("default", s, s, s);
    ASSERT_OK(g);
    EXPECT_EQ(*g, *c);
    EXPECT_EQ(g->chat_template, s);
    auto batch = models().get_model_metadata_batch("default", {{s, s, s}});
    ASSERT_OK(batch);
    ASSERT_EQ(batch->size(), 1u);
    EXPECT_EQ(batch->begin()->second, *c);
  }
}

TEST_P(ModelMetadataRepositoryTest, BadInputIsRefusedNamingTheFieldAndAppendsNothing) {
  ASSERT_OK(models().upsert_model_metadata("default", local("r/a", "a.gguf")));
  using M = ModelMetadataInput;
  const auto rows = testing::rows_of(
      testing::bad_text("repo", &M::repo, kMaxRepoBytes),
      testing::bad_text("filename", &M::filename, kMaxFilenameBytes),
      testing::bad_text("snapshot", &M::snapshot, kMaxSnapshotBytes),
      testing::bad_text("api_model_id", &M::api_model_id, kMaxApiModelIdBytes),
      testing::bad_text("chat_template", &M::chat_template, kMaxChatTemplateBytes,
                        testing::Empty::kAllowed),
      testing::bad_values(
          "architecture", &M::architecture,
          {{"architecture not JSON", "{"},
           {"architecture empty", ""},
           {"architecture too big", "\"" + std::string(kMaxArchitectureBytes, 'a') + "\""}}),
      testing::bad_values("additional_metadata", &M::additional_metadata,
                          {{"metadata not JSON", "{'a': 1}"}}),
      testing::BadInputs<M>{
          {"source 5", [](M& m) { m.source = static_cast<ModelSource>(5); }, "source"},
          {"api without id",
           [](M& m) {
             m = remote("x");
             m.api_model_id.reset();
           },
           "api_model_id"},
          {"negative input", [](M& m) { m.max_input_tokens = -1; }, "max_input_tokens"},
          {"negative output", [](M& m) { m.max_output_tokens = -5; }, "max_output_tokens"}});
  testing::expect_bad_inputs_refused(journal(), "upsert", local("r/new", "new.gguf"), rows,
                                     [&](const std::string& org, const M& m) {
                                       return models().upsert_model_metadata(org, m).status();
                                     });
  testing::expect_invalid(models().get_model_metadata("default", "", "a.gguf", "main").status(),
                          "repo", "get repo");
  testing::expect_invalid(models().get_model_metadata("default", "r/a", "a.gguf", "").status(),
                          "snapshot", "get snapshot");
  testing::expect_invalid(models().get_model_metadata("", "r/a", "a.gguf", "main").status(),
                          "org_id", "get org");
  testing::expect_invalid(models().get_model_metadata_batch("default", {{"r", "", "s"}}).status(),
                          "filename", "batch filename");
  testing::expect_invalid(models().list_model_metadata("o/x").status(), "org_id", "list org");
  auto all = models().list_model_metadata("default");
  ASSERT_OK(all);
  EXPECT_EQ(all->size(), 1u);
}

TEST_P(ModelMetadataRepositoryTest, ConcurrentFirstUpsertsMakeOneRowAndOneStream) {
  constexpr int kThreads = 8;
  std::mutex mu;
  std::set<int64_t> ids;
  testing::run_together(kThreads, [&](int t) {
    ModelMetadataInput m = local("r/race", "race.gguf");
    m.max_input_tokens = t;
    auto r = models().upsert_model_metadata("default", m);
    EXPECT_OK(r);
    std::lock_guard lock(mu);
    if (r.is_ok()) ids.insert(r->id);
  });
  EXPECT_EQ(ids, (std::set<int64_t>{1}));
  EXPECT_EQ(head(), static_cast<uint64_t>(kThreads));
  auto all = models().list_model_metadata("default");
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().id, 1);

  // Every upsert is on one stream, and the row holds the last one.
  auto events = journal().read(1, 100);
  ASSERT_OK(events);
  std::set<std::string> streams;
  for (const auto& e : *events) streams.insert(std::string(e.stream_id()));
  EXPECT_EQ(streams.size(), 1u);
  auto last = events->back().payload().getModel().getModelMetadataUpserted();
  EXPECT_EQ(all->front().max_input_tokens, std::optional<int64_t>(last.getMaxInputTokens()));
  EXPECT_EQ(events->back().stream_version(), static_cast<uint64_t>(kThreads));
}

TEST_P(ModelMetadataRepositoryTest, RowsSurviveReopeningTheStore) {
  ASSERT_OK(models().upsert_model_metadata("default", local("r/x", "x.gguf")));
  ModelMetadataInput m = full(local("r/a", "a.gguf"));
  ASSERT_OK(models().upsert_model_metadata("default", m));
  clock_.advance(1s);
  auto updated = models().upsert_model_metadata("default", m);
  ASSERT_OK(updated);
  open();
  auto got = models().get_model_metadata("default", "r/a", "a.gguf", "main");
  ASSERT_OK(got);
  EXPECT_EQ(*got, *updated);
  EXPECT_EQ(got->id, 2);
  clock_.advance(1s);
  auto again = models().upsert_model_metadata("default", m);
  ASSERT_OK(again);
  EXPECT_EQ(again->id, 2);
  EXPECT_EQ(again->created_at, kStart);
}

INSTANTIATE_ON_BOTH_BACKENDS(ModelMetadataRepositoryTest);

}  // namespace
}  // namespace repositories
}  // namespace annals
