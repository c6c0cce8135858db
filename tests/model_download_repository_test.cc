// ModelRepository, download requests: over a real Store (RocksDB journal;
// SQLite, or PostgreSQL under row-level security) with a frozen clock.
#include <gtest/gtest.h>

#include <barrier>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "annals/clock.h"
#include "annals/status.h"
#include "tests/conformance_suites.h"
#include "tests/model_repository_fixture.h"

namespace annals {
namespace repositories {

void PrintTo(const DownloadRequest& r, std::ostream* os) {
  *os << "{id=\"" << r.id << "\", repo=\"" << r.repo << "\", filename=\"" << r.filename
      << "\", status=" << download_status_name(r.status)
      << ", error=" << (r.error ? "\"" + *r.error + "\"" : "null")
      << ", total_bytes=" << (r.total_bytes ? std::to_string(*r.total_bytes) : "null")
      << ", downloaded_bytes=" << r.downloaded_bytes
      << ", started_at=" << (r.started_at ? format_timestamp(*r.started_at) : "null")
      << ", created_at=" << format_timestamp(r.created_at)
      << ", updated_at=" << format_timestamp(r.updated_at) << "}";
}

namespace {

using namespace std::chrono_literals;
using testing::ids_of;

DownloadRequestInput new_request(std::string id, std::string repo = "TheBloke/Llama-2-7B-GGUF",
                                 std::string filename = "llama-2-7b.Q4_K_M.gguf") {
  DownloadRequestInput r;
  r.id = std::move(id);
  r.repo = std::move(repo);
  r.filename = std::move(filename);
  return r;
}

// The row create/update should give for `in`, created at `created`, updated at `updated`.
DownloadRequest expected_row(const DownloadRequestInput& in, Timestamp created, Timestamp updated) {
  return {in.id,    in.repo,        in.filename,         in.status,
          in.error, in.total_bytes, in.downloaded_bytes, in.started_at,
          created,  updated};
}

class ModelDownloadRepositoryTest : public ModelRepositoryTest {};

TEST_P(ModelDownloadRepositoryTest, CreateReturnsAPendingRequestStampedWithClockTime) {
  auto created = models().create_download_request("default", new_request("dl-1"));
  ASSERT_OK(created);
  EXPECT_EQ(*created, (DownloadRequest{"dl-1", "TheBloke/Llama-2-7B-GGUF", "llama-2-7b.Q4_K_M.gguf",
                                       DownloadStatus::kPending, std::nullopt, std::nullopt, 0,
                                       std::nullopt, kStart, kStart}));
  EXPECT_EQ(head(), 1u);
  clock_.advance(1s);
  auto got = models().get_download_request("default", "dl-1");
  ASSERT_OK(got);
  EXPECT_EQ(*got, *created);
}

TEST_P(ModelDownloadRepositoryTest, EveryFieldRoundTrips) {
  DownloadRequestInput in = new_request("dl-1");
  in.status = DownloadStatus::kError;
  in.error = "HTTP 404: not found";
  in.total_bytes = 4'081'004'224;
  in.downloaded_bytes = 1'234'567;
  in.started_at = kStart - 90s;
  auto created = models().create_download_request("default", in);
  ASSERT_OK(created);
  EXPECT_EQ(*created, expected_row(in, kStart, kStart));
  auto got = models().get_download_request("default", "dl-1");
  ASSERT_OK(got);
  EXPECT_EQ(*got, expected_row(in, kStart, kStart));

  // Zero and empty are values, not nulls.
  DownloadRequestInput zero = new_request("dl-2");
  zero.error = "";
  zero.total_bytes = 0;
  zero.started_at = from_micros(0);
  auto z = models().create_download_request("default", zero);
  ASSERT_OK(z);
  EXPECT_EQ(*z, expected_row(zero, kStart, kStart));
}

TEST_P(ModelDownloadRepositoryTest, GetOfAMissingRequestOrAnotherOrgsIsNotFound) {
  ASSERT_OK(models().create_download_request("org-a", new_request("dl-1")));
  EXPECT_CODE(models().get_download_request("org-a", "dl-404"), Code::kNotFound);
  EXPECT_CODE(models().get_download_request("org-b", "dl-1"), Code::kNotFound);
}

TEST_P(ModelDownloadRepositoryTest, ATakenIdIsConflictAndAppendsNothing) {
  DownloadRequestInput first = new_request("dl-1");
  ASSERT_OK(models().create_download_request("default", first));
  clock_.advance(1s);
  EXPECT_REFUSED(
      models().create_download_request("default", new_request("dl-1", "other/repo", "f")),
      Code::kConflict, "download_request.id");
  EXPECT_REFUSED(models().create_download_request("default", first), Code::kConflict,
                 "download_request.id");
  auto got = models().get_download_request("default", "dl-1");
  ASSERT_OK(got);
  EXPECT_EQ(*got, expected_row(first, kStart, kStart));
  // Ids are per org.
  EXPECT_OK(models().create_download_request("other", new_request("dl-1", "other/repo", "f")));
}

TEST_P(ModelDownloadRepositoryTest, UpdateReplacesTheWholeRowButNotCreatedAt) {
  DownloadRequestInput in = new_request("dl-1");
  ASSERT_OK(models().create_download_request("default", in));
  clock_.advance(30s);

  DownloadRequestInput running = in;
  running.total_bytes = 1000;
  running.downloaded_bytes = 250;
  running.started_at = kStart + 1s;
  auto updated = models().update_download_request("default", running);
  ASSERT_OK(updated);
  EXPECT_EQ(*updated, expected_row(running, kStart, kStart + 30s));
  EXPECT_EQ(head(), 2u);

  clock_.advance(30s);
  DownloadRequestInput failed = new_request("dl-1", "renamed/repo", "renamed.gguf");
  failed.status = DownloadStatus::kError;
  failed.error = "disk full";
  auto again = models().update_download_request("default", failed);
  ASSERT_OK(again);
  // The nulls given replace the values stored.
  EXPECT_EQ(*again, expected_row(failed, kStart, kStart + 60s));
  auto got = models().get_download_request("default", "dl-1");
  ASSERT_OK(got);
  EXPECT_EQ(*got, *again);

  clock_.advance(1s);
  DownloadRequestInput done = running;
  done.status = DownloadStatus::kCompleted;
  done.downloaded_bytes = 1000;
  auto completed = models().update_download_request("default", done);
  ASSERT_OK(completed);
  EXPECT_EQ(*completed, expected_row(done, kStart, kStart + 61s));
}

TEST_P(ModelDownloadRepositoryTest, UpdateOfAMissingOrAnotherOrgsRequestIsNotFound) {
  ASSERT_OK(models().create_download_request("org-a", new_request("dl-1")));
  DownloadRequestInput change = new_request("dl-1");
  change.status = DownloadStatus::kCompleted;
  EXPECT_REFUSED(models().update_download_request("org-b", change), Code::kNotFound, "");
  EXPECT_REFUSED(models().update_download_request("org-a", new_request("dl-404")), Code::kNotFound,
                 "");
  auto got = models().get_download_request("org-a", "dl-1");
  ASSERT_OK(got);
  EXPECT_EQ(got->status, DownloadStatus::kPending);
}

TEST_P(ModelDownloadRepositoryTest, ListPagesMostRecentlyUpdatedFirstWithExactTotals) {
  for (int i = 1; i <= 5; ++i) {
    ASSERT_OK(models().create_download_request("default", new_request("dl-" + std::to_string(i))));
    clock_.advance(1s);
  }
  ASSERT_OK(models().create_download_request("other", new_request("dl-other")));
  // An update moves dl-2 to the top.
  DownloadRequestInput progress = new_request("dl-2");
  progress.downloaded_bytes = 10;
  ASSERT_OK(models().update_download_request("default", progress));

  auto p1 = models().list_download_requests("default", 1, 2);
  ASSERT_OK(p1);
  EXPECT_EQ(ids_of(p1->rows), (std::vector<std::string>{"dl-2", "dl-5"}));
  EXPECT_EQ(p1->total, 5);
  EXPECT_EQ(p1->rows.front().updated_at, kStart + 5s);
  EXPECT_EQ(p1->rows.front().created_at, kStart + 1s);
  auto p2 = models().list_download_requests("default", 2, 2);
  ASSERT_OK(p2);
  EXPECT_EQ(ids_of(p2->rows), (std::vector<std::string>{"dl-4", "dl-3"}));
  EXPECT_EQ(p2->total, 5);
  auto p3 = models().list_download_requests("default", 3, 2);
  ASSERT_OK(p3);
  EXPECT_EQ(ids_of(p3->rows), (std::vector<std::string>{"dl-1"}));
  EXPECT_EQ(p3->rows.front(), expected_row(new_request("dl-1"), kStart, kStart));
  EXPECT_EMPTY_PAGE(models().list_download_requests("default", 4, 2), 5);
  EXPECT_EMPTY_PAGE(models().list_download_requests("default", 1'000'000, 2), 5);

  EXPECT_EMPTY_PAGE(models().list_download_requests("empty-org", 1, 10), 0);
}

TEST_P(ModelDownloadRepositoryTest, WritesInTheSameMicrosecondListLaterWriteFirst) {
  // The clock stays frozen.
  for (const char* id : {"a", "b", "c", "d"}) {
    ASSERT_OK(models().create_download_request("default", new_request(id)));
  }
  ASSERT_OK(models().update_download_request("default", new_request("b")));
  auto page = models().list_download_requests("default", 1, 10);
  ASSERT_OK(page);
  EXPECT_EQ(ids_of(page->rows), (std::vector<std::string>{"b", "d", "c", "a"}));
  // find orders by creation, which an update does not change.
  auto found = models().find_download_requests("default", "TheBloke/Llama-2-7B-GGUF",
                                               "llama-2-7b.Q4_K_M.gguf");
  ASSERT_OK(found);
  EXPECT_EQ(ids_of(*found), (std::vector<std::string>{"d", "c", "b", "a"}));
}

TEST_P(ModelDownloadRepositoryTest, ListRefusesBadPages) {
  testing::expect_invalid(models().list_download_requests("default", 0, 10).status(), "page",
                          "page 0");
  testing::expect_invalid(models().list_download_requests("default", -1, 10).status(), "page",
                          "page -1");
  testing::expect_invalid(models().list_download_requests("default", 1, 0).status(), "per_page",
                          "size 0");
  testing::expect_invalid(models().list_download_requests("default", 1, kMaxPerPage + 1).status(),
                          "per_page", "size over the maximum");
  testing::expect_invalid(models().list_download_requests("", 1, 10).status(), "org_id",
                          "empty org");
}

TEST_P(ModelDownloadRepositoryTest, FindReturnsAFilesRequestsNewestFirst) {
  ASSERT_OK(models().create_download_request("default", new_request("old", "r/a", "f.gguf")));
  clock_.advance(1s);
  ASSERT_OK(
      models().create_download_request("default", new_request("other-file", "r/a", "g.gguf")));
  ASSERT_OK(
      models().create_download_request("default", new_request("other-repo", "r/b", "f.gguf")));
  ASSERT_OK(models().create_download_request("other", new_request("other-org", "r/a", "f.gguf")));
  clock_.advance(1s);
  ASSERT_OK(models().create_download_request("default", new_request("new", "r/a", "f.gguf")));
  clock_.advance(1s);
  // An update of the old one does not move it.
  ASSERT_OK(models().update_download_request("default", new_request("old", "r/a", "f.gguf")));

  auto found = models().find_download_requests("default", "r/a", "f.gguf");
  ASSERT_OK(found);
  EXPECT_EQ(ids_of(*found), (std::vector<std::string>{"new", "old"}));
  EXPECT_EQ(found->back(), expected_row(new_request("old", "r/a", "f.gguf"), kStart, kStart + 3s));
  auto none = models().find_download_requests("default", "r/a", "F.GGUF");
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
  auto like = models().find_download_requests("default", "r/%", "%");
  ASSERT_OK(like);
  EXPECT_TRUE(like->empty());
}

TEST_P(ModelDownloadRepositoryTest, BadInputIsRefusedNamingTheFieldAndAppendsNothing) {
  ASSERT_OK(models().create_download_request("default", new_request("dl-0")));
  using R = DownloadRequestInput;
  const auto rows = testing::rows_of(
      testing::bad_identifier("id", &R::id, kMaxDownloadIdBytes),
      testing::bad_text("repo", &R::repo, kMaxRepoBytes),
      testing::bad_text("filename", &R::filename, kMaxFilenameBytes),
      testing::bad_text("error", &R::error, kMaxDownloadErrorBytes, testing::Empty::kAllowed),
      testing::BadInputs<R>{
          {"status 7", [](R& r) { r.status = static_cast<DownloadStatus>(7); }, "status"},
          {"status -1", [](R& r) { r.status = static_cast<DownloadStatus>(-1); }, "status"},
          {"negative total", [](R& r) { r.total_bytes = -1; }, "total_bytes"},
          {"negative downloaded", [](R& r) { r.downloaded_bytes = -1; }, "downloaded_bytes"}});
  testing::expect_bad_inputs_refused(journal(), "create", new_request("dl-1"), rows,
                                     [&](const std::string& org, const R& r) {
                                       return models().create_download_request(org, r).status();
                                     });
  testing::expect_bad_inputs_refused(journal(), "update", new_request("dl-0"), rows,
                                     [&](const std::string& org, const R& u) {
                                       return models().update_download_request(org, u).status();
                                     });
  EXPECT_CODE(models().get_download_request("default", "dl-1"), Code::kNotFound);
  auto unchanged = models().get_download_request("default", "dl-0");
  ASSERT_OK(unchanged);
  EXPECT_EQ(*unchanged, expected_row(new_request("dl-0"), kStart, kStart));

  testing::expect_invalid(models().get_download_request("default", "").status(), "id",
                          "get empty id");
  testing::expect_invalid(models().get_download_request("a/b", "dl-0").status(), "org_id",
                          "get org");
  testing::expect_invalid(models().find_download_requests("default", "", "f").status(), "repo",
                          "find");
  testing::expect_invalid(models().find_download_requests("default", "r", "").status(), "filename",
                          "find");
}

TEST_P(ModelDownloadRepositoryTest, FieldsAtTheirLimitsAndHostileTextRoundTrip) {
  DownloadRequestInput big =
      new_request(std::string(kMaxDownloadIdBytes, 'i'), std::string(kMaxRepoBytes, 'r'),
                  std::string(kMaxFilenameBytes, 'f'));
  big.error = std::string(kMaxDownloadErrorBytes, 'e');
  auto created = models().create_download_request(std::string(64, 'o'), big);
  ASSERT_OK(created);
  EXPECT_EQ(*created, expected_row(big, kStart, kStart));

  const std::vector<std::string> hostile = {
      "it's",    "\"double\"",  "'; DROP TABLE download_requests; --",
      "%",       "_",           "emoji 🎉👩‍💻",
      "a\nb",    "back\\slash", "$1",
      " padded "};
  int n = 0;
  for (const auto& s : hostile) {
    SCOPED_TRACE(s);
    DownloadRequestInput r = new_request("h-" + std::to_string(n++), s, s);
    r.error = s;
    auto c = models().create_download_request("default", r);
    ASSERT_OK(c);
    EXPECT_EQ(*c, expected_row(r, kStart, kStart));
    auto found = models().find_download_requests("default", s, s);
    ASSERT_OK(found);
    ASSERT_EQ(found->size(), 1u);
    EXPECT_EQ(found->front(), *c);
  }
}

TEST_P(ModelDownloadRepositoryTest, ConcurrentCreatesOfOneIdHaveExactlyOneWinner) {
  // Every other call is a conflict naming the id rule.
  const int winner = one_winner("download_request.id", 8, [&](int t) {
    return models()
        .create_download_request("default",
                                 new_request("dl-race", "repo/" + std::to_string(t), "f.gguf"))
        .status();
  });
  EXPECT_EQ(head(), 1u);
  auto got = models().get_download_request("default", "dl-race");
  ASSERT_OK(got);
  EXPECT_EQ(got->repo, "repo/" + std::to_string(winner));
}

TEST_P(ModelDownloadRepositoryTest, ConcurrentUpdatesSucceedOrAskForARetry) {
  ASSERT_OK(models().create_download_request("default", new_request("dl-1")));
  const auto outcome = concurrent_rounds(4, 20, [&](int t, int i) {
    DownloadRequestInput r = new_request("dl-1");
    r.downloaded_bytes = t * 1000 + i;
    return models().update_download_request("default", r).status();
  });
  EXPECT_EQ(head(), 1 + outcome.succeeded.size());
}

TEST_P(ModelDownloadRepositoryTest, RequestsSurviveReopeningTheStore) {
  DownloadRequestInput in = new_request("dl-1");
  in.total_bytes = 42;
  ASSERT_OK(models().create_download_request("default", in));
  clock_.advance(2s);
  in.downloaded_bytes = 42;
  in.status = DownloadStatus::kCompleted;
  auto updated = models().update_download_request("default", in);
  ASSERT_OK(updated);
  const uint64_t before = head();
  open();
  auto got = models().get_download_request("default", "dl-1");
  ASSERT_OK(got);
  EXPECT_EQ(*got, *updated);
  EXPECT_EQ(models().create_download_request("default", in).status().subject(),
            "download_request.id");
  EXPECT_EQ(head(), before);
}

INSTANTIATE_ON_BOTH_BACKENDS(ModelDownloadRepositoryTest);

}  // namespace
}  // namespace repositories
}  // namespace annals
