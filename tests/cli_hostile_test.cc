// The annals binary fed what a careless or hostile user types: every bad
// command line and every bad path gets a clear one-line error and a non-zero
// exit, never a crash, and a refused command leaves nothing behind.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "tests/cli_support.h"
#include "tests/small_disk.h"
#include "tests/test_support.h"

namespace annals {
namespace {

namespace fs = std::filesystem;
using testing::annals;
using testing::CliRun;
using testing::SmallDisk;
using testing::TempDir;

// Every path under `dir`, to prove a command changed nothing there.
std::set<std::string> tree(const std::string& dir) {
  std::set<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    out.insert(it->path().string());
  }
  return out;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// A refusal: exit 1 or 2 (never a signal), one line, starting "annals".
void expect_refused(const CliRun& r, const std::string& what, const std::string& needle = "") {
  EXPECT_TRUE(r.exit_code == 1 || r.exit_code == 2)
      << what << " -> " << r.exit_code << ": " << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << what << ": " << r.out;
  EXPECT_EQ(r.out.rfind("annals", 0), 0u) << what << ": " << r.out;
  if (!needle.empty()) {
    EXPECT_NE(r.out.find(needle), std::string::npos) << what << ": " << r.out;
  }
}

TEST(CliHostile, EveryBadCommandLineIsRefusedNamingTheMistake) {
  TempDir dir;
  const std::string data = dir.sub("data");
  const std::string big(100'000, 'x');
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"demo --data a --data b", "--data: given more than once"},
      {"demo --data --commands 5", "'--commands' looks like an option"},
      {"demo --data ''", "--data: must not be empty"},
      {"demo --commands 0", "--commands"},
      {"demo --commands 99999999999999999999", "--commands"},
      {"demo --commands 1e3", "--commands"},
      {"demo --orgs 9", "--orgs"},
      {"demo --durability fast", "--durability"},
      {"demo --database bogus:", "expected sqlite:PATH or postgres://"},
      {"demo --database ''", "--database: must not be empty"},
      {"demo --bogus", "--bogus"},
      {"demo stray", "stray"},
      {"status extra", "extra"},
      {"verify --data", "--data"},
      {"export --output -x", "looks like an option"},
      {"import", "--input is required"},
      {"import --input a --input b", "given more than once"},
      {"import --max-stdin-bytes 0 --input -", "--max-stdin-bytes"},
      {"rebuild --check --discard", "excludes"},
      {"rebuild --check=yes", "--check takes no value"},
      {"rebuild --batch -1", "--batch"},
      {"replay", "--projection is required"},
      {"replay --projection tokens --from 0", "--from"},
      {"org", "org"},
      {"org bogus", "unknown command 'bogus'"},
      {"org forget", "ORG is required"},
      {"org forget a b --yes", "b"},
      {"org forget --yes --yes acme", "given more than once"},
      {"frobnicate", "unknown command 'frobnicate'"},
      {"'demo\\x01'", "unknown command"},
      // Control characters are shown escaped, never sent to the terminal.
      {"\"$(printf 'de\\033[31mmo\\nx')\"", "unknown command 'de\\x1b[31mmo\\x0ax'"},
      {"--data " + data, ""},
      {"demo --data " + big + " --data " + data, "given more than once"},
  };
  for (const auto& [args, needle] : cases) {
    expect_refused(annals(args), args.substr(0, 80), needle);
  }
  EXPECT_FALSE(fs::exists(data)) << "a refused command line created the data folder";
  EXPECT_FALSE(fs::exists("./annals-data")) << "a refused command line created ./annals-data";
}

TEST(CliHostile, HelpForEveryCommandComesFromItsDefinition) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> commands = {
      {"demo",
       {"--data", "--database", "--commands", "--orgs", "--users", "--seed", "--durability"}},
      {"status", {"--data", "--database"}},
      {"verify", {"--data", "--database"}},
      {"setup", {"--database"}},
      {"export", {"--data", "--output", "0600"}},
      {"import", {"--data", "--input", "--max-stdin-bytes", "8388608", "4194304", "10000 events"}},
      {"rebuild", {"--data", "--database", "--dry-run", "--check", "--discard", "--batch"}},
      {"replay", {"--data", "--database", "--projection", "--from"}},
      {"org forget", {"ORG", "--data", "--yes", "IRREVERSIBLE"}},
      {"keys rotate", {"--data", "ANNALS_NEW_MASTER_KEY", "atomic"}},
  };
  for (const auto& [command, words] : commands) {
    for (const std::string& help : {command + " --help", command + " -h"}) {
      CliRun r = annals(help);
      EXPECT_EQ(r.exit_code, 0) << help << ": " << r.out;
      EXPECT_NE(r.out.find("Usage: annals " + command), std::string::npos) << help << ": " << r.out;
      for (const std::string& word : words) {
        EXPECT_NE(r.out.find(word), std::string::npos)
            << help << " lacks " << word << ": " << r.out;
      }
    }
  }
  CliRun top = annals("--help");
  EXPECT_EQ(top.exit_code, 0);
  for (const auto& [command, words] : commands) {
    std::string first = command.substr(0, command.find(' '));
    EXPECT_NE(top.out.find(first), std::string::npos) << first << ": " << top.out;
  }
  CliRun version = annals("--version");
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out.rfind("annals ", 0), 0u) << version.out;
}

TEST(CliHostile, DemoRefusesAFolderItCannotOrMustNotUse) {
  TempDir dir;
  const std::string file = dir.sub("a-file");
  write_file(file, "not a folder");
  const std::string foreign = dir.sub("someone-elses");
  fs::create_directories(foreign);
  write_file(foreign + "/notes.txt", "mine");
  auto before = tree(dir.path());

  for (const auto& [data, needle] : std::vector<std::pair<std::string, std::string>>{
           {file, "is not a folder"},
           {file + "/sub", "not a folder"},
           {file + "/sub/deeper", "not a folder"},
           {foreign, "holds other files and no Annals data"}}) {
    expect_refused(annals("demo --commands 1 --data " + data), data, needle);
  }
  // A read database that cannot be reached: the new folder is not left behind.
  expect_refused(annals("demo --commands 1 --data " + dir.sub("fresh/x") +
                        " --database postgres://nobody@127.0.0.1:1/none?connect_timeout=2"),
                 "unreachable database");
  EXPECT_EQ(tree(dir.path()), before) << "a refused demo left something behind";
}

TEST(CliHostile, DemoOnAReadOnlyDiskIsRefusedCleanly) {
  TempDir dir;
  SmallDisk disk(dir.sub("ro"), 1, /*read_only=*/true);
  ANNALS_REQUIRE_MOUNT(disk);
  expect_refused(annals("demo --commands 1 --data " + dir.sub("ro/data")), "read-only",
                 "Read-only file system");
  EXPECT_TRUE(tree(dir.sub("ro")).empty());
}

TEST(CliHostile, ImportRefusesWhatItCannotReadAndCreatesNothing) {
  TempDir dir;
  const std::string data = dir.sub("data");
  fs::create_directories(dir.sub("a-folder"));
  write_file(dir.sub("bad.jsonl"), "{\"kind\":\"bogus\"}\n");
  write_file(dir.sub("empty.jsonl"), "");
  auto before = tree(dir.path());
  for (const auto& [input, needle] :
       std::vector<std::pair<std::string, std::string>>{{dir.sub("a-folder"), "is a folder"},
                                                        {dir.sub("missing.jsonl"), "no such file"},
                                                        {dir.sub("bad.jsonl"), "line 1"},
                                                        {dir.sub("empty.jsonl"), ""}}) {
    expect_refused(annals("import --data " + data + " --input " + input), input, needle);
  }
  // Standard input beyond its bound is refused before anything is created.
  CliRun piped = annals("import --data " + data + " --input - --max-stdin-bytes 1000",
                        "head -c 5000 /dev/zero |");
  expect_refused(piped, "stdin over the bound", "--max-stdin-bytes 1000");
  // Nor into a folder that belongs to something else.
  expect_refused(
      annals("import --data " + dir.sub("a-folder/..") + " --input " + dir.sub("bad.jsonl")),
      "foreign folder", "holds other files");
  EXPECT_EQ(tree(dir.path()), before) << "a refused import left something behind";
}

TEST(CliHostile, LookingAtANamedReadDatabaseNeverCreatesOne) {
  TempDir dir;
  const std::string data = dir.sub("data");
  ASSERT_EQ(annals("demo --commands 20 --data " + data).exit_code, 0);
  auto before = tree(dir.path());
  for (const char* command : {"status", "verify"}) {
    expect_refused(annals(std::string(command) + " --data " + data +
                          " --database sqlite:" + dir.sub("missing/x/read.sqlite")),
                   command, "no read database at");
  }
  EXPECT_FALSE(fs::exists(dir.sub("missing")));
  EXPECT_EQ(tree(dir.path()), before);
}

TEST(CliHostile, ExportWritesOnlyRegularFilesPrivatelyAndSynced) {
  TempDir dir;
  const std::string data = dir.sub("data");
  ASSERT_EQ(annals("demo --commands 20 --data " + data).exit_code, 0);
  fs::create_directories(dir.sub("a-folder"));
  fs::create_symlink(dir.sub("target.jsonl"), dir.sub("link.jsonl"));
  for (const auto& [output, needle] : std::vector<std::pair<std::string, std::string>>{
           {"/dev/null", "not a regular file"},
           {"/dev/full", "not a regular file"},
           {dir.sub("a-folder"), "not a regular file"},
           {dir.sub("link.jsonl"), "symbolic link"},
           {dir.sub("no/such/folder/x.jsonl"), "does not exist"}}) {
    expect_refused(annals("export --data " + data + " --output " + output), output, needle);
  }
  struct stat st;
  ASSERT_EQ(::stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode)) << "/dev/null was replaced";
  EXPECT_FALSE(fs::exists(dir.sub("target.jsonl")));
  EXPECT_FALSE(fs::exists("/dev/null.partial"));

  const std::string out = dir.sub("export.jsonl");
  ::umask(022);
  CliRun ok = annals("export --data " + data + " --output " + out);
  ASSERT_EQ(ok.exit_code, 0) << ok.out;
  ASSERT_EQ(::stat(out.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(fs::exists(out + ".partial"));
}

TEST(CliHostile, ExportToAFullDiskSaysSoAndLeavesTheOldFile) {
  TempDir dir;
  const std::string data = dir.sub("data");
  ASSERT_EQ(annals("demo --commands 300 --data " + data).exit_code, 0);
  SmallDisk disk(dir.sub("disk"), 1);
  ANNALS_REQUIRE_MOUNT(disk);
  const std::string out = dir.sub("disk/export.jsonl");
  write_file(out, "the previous export\n");
  write_file(dir.sub("disk/filler"), std::string(2 << 20, 'f'));  // fills the disk
  CliRun full = annals("export --data " + data + " --output " + out);
  expect_refused(full, "full disk", "No space left on device");
  std::ifstream in(out);
  std::string kept((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(kept, "the previous export\n");
  EXPECT_FALSE(fs::exists(out + ".partial"));
}

}  // namespace
}  // namespace annals
