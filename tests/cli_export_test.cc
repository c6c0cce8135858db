// Runs annals export and annals import the way a user does: a journal
// exported and imported again is the same journal, and an import of input
// the read tables cannot hold, of rewritten reservations or of bad lines is
// refused naming the line, leaving nothing behind.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "tests/cli_support.h"
#include "tests/test_support.h"

namespace annals {
namespace {

using annals::testing::annals;
using annals::testing::CliRun;
using annals::testing::file_contents;
using annals::testing::TempDir;

TEST(Cli, ExportThenImportGivesTheSameJournal) {
  TempDir dir;
  const std::string source = dir.sub("source");
  const std::string target = dir.sub("target");
  ASSERT_EQ(annals("demo --data " + source + " --commands 300").exit_code, 0);

  CliRun exported =
      annals("export --with-keys --data " + source + " --output " + dir.sub("backup.jsonl"));
  ASSERT_EQ(exported.exit_code, 0) << exported.out;
  EXPECT_NE(exported.out.find("annals export: "), std::string::npos) << exported.out;
  EXPECT_NE(exported.out.find(" reservations -> "), std::string::npos) << exported.out;
  const std::string backup = file_contents(dir.sub("backup.jsonl"));
  EXPECT_EQ(backup.rfind("{\"kind\":\"annals-export\",\"format\":1,", 0), 0u);
  EXPECT_EQ(file_contents(dir.sub("backup.jsonl.partial")), "");

  // From stdin into a new folder; then the new journal verifies and exports
  // to the same text.
  CliRun imported = annals("import --data " + target + " --input - < " + dir.sub("backup.jsonl"));
  ASSERT_EQ(imported.exit_code, 0) << imported.out;
  EXPECT_NE(imported.out.find("annals import: "), std::string::npos) << imported.out;
  EXPECT_NE(imported.out.find("(0 already present)"), std::string::npos) << imported.out;
  CliRun verify = annals("verify --data " + target);
  ASSERT_EQ(verify.exit_code, 0) << verify.out;
  CliRun again =
      annals("export --with-keys --data " + target + " --output " + dir.sub("again.jsonl"));
  ASSERT_EQ(again.exit_code, 0) << again.out;
  EXPECT_EQ(file_contents(dir.sub("again.jsonl")), backup);

  // Importing the same file again adds nothing.
  CliRun twice = annals("import --data " + target + " --input " + dir.sub("backup.jsonl"));
  ASSERT_EQ(twice.exit_code, 0) << twice.out;
  EXPECT_NE(twice.out.find("annals import: 0 events"), std::string::npos) << twice.out;
}

// A demo's export in `dir`/backup.jsonl, as lines.
std::vector<std::string> demo_export_lines(const TempDir& dir) {
  std::vector<std::string> lines;
  EXPECT_EQ(annals("demo --data " + dir.sub("source") + " --commands 120").exit_code, 0);
  EXPECT_EQ(annals("export --with-keys --data " + dir.sub("source") + " --output " +
                   dir.sub("backup.jsonl"))
                .exit_code,
            0);
  std::istringstream in(file_contents(dir.sub("backup.jsonl")));
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

void write_lines(const std::string& path, const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::fputs(text.c_str(), f);
  std::fclose(f);
}

TEST(Cli, ImportRefusesWhatNoReadTableCanHold) {
  TempDir dir;
  // The second token created takes the first one's prefix: the journal's
  // own checks pass it, the token table's unique prefix does not.
  std::vector<std::string> lines = demo_export_lines(dir);
  const std::string key = "\"tokenPrefix\":\"";
  std::vector<size_t> creates;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find("\"type\":\"tokenCreated\"") != std::string::npos) creates.push_back(i);
  }
  ASSERT_GE(creates.size(), 2u);
  auto prefix_of = [&](const std::string& line) {
    size_t from = line.find(key) + key.size();
    return line.substr(from, line.find('"', from) - from);
  };
  std::string& second = lines[creates[1]];
  size_t from = second.find(key) + key.size();
  second.replace(from, prefix_of(second).size(), prefix_of(lines[creates[0]]));
  ASSERT_NO_FATAL_FAILURE(write_lines(dir.sub("edited.jsonl"), lines));

  CliRun r = annals("import --data " + dir.sub("data") + " --input " + dir.sub("edited.jsonl"));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  const std::string line = "line " + std::to_string(creates[1] + 1) + " (position ";
  EXPECT_NE(r.out.find(line), std::string::npos) << line << " not in " << r.out;
  EXPECT_NE(r.out.find("projection 'tokens' cannot hold this event"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir.sub("data"))) << "a refused import left a journal";
}

TEST(Cli, ImportRefusesAReservationWhoseOwnerWasRewritten) {
  TempDir dir;
  std::vector<std::string> lines = demo_export_lines(dir);
  size_t at = 0;
  while (at < lines.size() && lines[at].find("\"kind\":\"reservation\"") == std::string::npos) ++at;
  ASSERT_LT(at, lines.size());
  const std::string owner = "\"owner\":\"";
  size_t from = lines[at].find(owner);
  ASSERT_NE(from, std::string::npos) << lines[at];
  from += owner.size();
  lines[at].replace(from, lines[at].find('"', from) - from, "token/someone-else");
  ASSERT_NO_FATAL_FAILURE(write_lines(dir.sub("edited.jsonl"), lines));

  CliRun r = annals("import --data " + dir.sub("data") + " --input " + dir.sub("edited.jsonl"));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("the export's reservations disagree with its events"), std::string::npos)
      << r.out;
  const std::string named = "line " + std::to_string(at + 1) + ": ";
  EXPECT_NE(r.out.find(named), std::string::npos) << named << " not in " << r.out;
  EXPECT_NE(r.out.find("held by 'token/someone-else'; the events give it to stream '"),
            std::string::npos)
      << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir.sub("data"))) << "a refused import left a journal";
  // The unedited export goes in.
  CliRun good = annals("import --data " + dir.sub("data") + " --input " + dir.sub("backup.jsonl"));
  EXPECT_EQ(good.exit_code, 0) << good.out;
}

TEST(Cli, ImportOfBadInputNamesTheLineAndWritesNothing) {
  TempDir dir;
  const std::string bad = dir.sub("bad.jsonl");
  FILE* f = std::fopen(bad.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::fputs(
      "{\"kind\":\"annals-export\",\"format\":1,\"journal_format\":\"annals-journal/1\","
      "\"head\":1,\"org_keys\":0,\"reservations\":0}\nnot json at all\n",
      f);
  std::fclose(f);
  CliRun r = annals("import --data " + dir.sub("data") + " --input " + bad);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  EXPECT_NE(r.out.find("line 2: not valid JSON"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir.sub("data"))) << "a refused import left a journal";

  for (const char* args : {"import", "import --input", "export --bogus", "import --input x y"}) {
    CliRun usage = annals(std::string(args) + " --data " + dir.sub("data"));
    EXPECT_EQ(usage.exit_code, 2) << args << ": " << usage.out;
  }
  CliRun missing = annals("export --data " + dir.sub("nothing-here"));
  EXPECT_EQ(missing.exit_code, 1) << missing.out;
  EXPECT_NE(missing.out.find("no Annals data"), std::string::npos) << missing.out;
  for (const char* args : {"export --help", "import --help"}) {
    CliRun help = annals(args);
    EXPECT_EQ(help.exit_code, 0) << args;
    EXPECT_NE(help.out.find("Usage: annals"), std::string::npos) << help.out;
  }
}

}  // namespace
}  // namespace annals
