// A run writes only inside OUT/RUN_ID, made new, and never through a symbolic link.
#include "rackqual/records/run_folder.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "rackqual/base/error.hpp"
#include "rackqual/records/manifest.hpp"
#include "rackqual/records/record.hpp"
#include "temp_dir.hpp"

namespace rackqual {
namespace {

namespace fs = std::filesystem;

std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void append(int fd, const std::string& text) {
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fd);
}

// The SetupError's text, or "" when `f` throws none.
template <typename F>
std::string refusal(F f) {
  try {
    f();
  } catch (const SetupError& e) {
    return e.what();
  }
  return "";
}

bool holds(const std::string& text, const std::string& words) { return text.find(words) != std::string::npos; }

class RunFolderTest : public ::testing::Test {
 protected:
  RunFolderTest() : out_(dir_.path() / "results"), outside_(dir_.path() / "outside") {
    fs::create_directories(out_);
    fs::create_directories(outside_);
    std::ofstream(outside_ / "keep.txt") << "precious\n";
  }
  // Nothing outside OUT changed: the one file there, as it was.
  void expect_outside_untouched() {
    std::size_t entries = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(outside_)) ++entries;
    EXPECT_EQ(entries, 1u);
    EXPECT_EQ(read(outside_ / "keep.txt"), "precious\n");
  }

  unit::TempDir dir_;
  fs::path out_, outside_;
};

TEST_F(RunFolderTest, MakesTheFolderNewAndItsFilesInIt) {
  const RunFolder folder(out_.string(), "r1");
  EXPECT_EQ(folder.path(), (out_ / "r1").string());
  append(folder.create("records.jsonl"), "{}\n");
  folder.replace("manifest.json", "first\n");
  folder.replace("manifest.json", "second\n");
  EXPECT_EQ(read(out_ / "r1" / "records.jsonl"), "{}\n");
  EXPECT_EQ(read(out_ / "r1" / "manifest.json"), "second\n");
  EXPECT_FALSE(fs::exists(out_ / "r1" / "manifest.json.tmp"));
  EXPECT_TRUE(holds(refusal([&] { folder.create("records.jsonl"); }), "records.jsonl: already exists"));
}

TEST_F(RunFolderTest, OutMayBeMissingOrALinkTheOperatorMade) {
  const RunFolder fresh((dir_.path() / "new" / "deeper").string(), "r1");
  EXPECT_TRUE(fs::is_directory(dir_.path() / "new" / "deeper" / "r1"));
  fs::create_directory_symlink(out_, dir_.path() / "link");
  const RunFolder folder((dir_.path() / "link").string(), "r2");
  append(folder.create("records.jsonl"), "x\n");
  EXPECT_EQ(read(out_ / "r2" / "records.jsonl"), "x\n");
}

TEST_F(RunFolderTest, AnEntryAtTheRunFolderIsRefusedAndNotFollowed) {
  fs::create_directory_symlink(outside_, out_ / "planted");
  const std::string why = refusal([&] { RunFolder(out_.string(), "planted"); });
  EXPECT_TRUE(holds(why, (out_ / "planted").string() + ": already exists")) << why;
  fs::create_directory(out_ / "earlier");
  EXPECT_TRUE(holds(refusal([&] { RunFolder(out_.string(), "earlier"); }), "already exists"));
  expect_outside_untouched();
}

TEST_F(RunFolderTest, TheRunIdIsAName) {
  for (const char* id : {"../outside", "a/b", "..", ".hidden", ""}) {
    const std::string why = refusal([&] { RunFolder(out_.string(), id); });
    EXPECT_TRUE(holds(why, "the run id")) << id << ": " << why;
  }
  EXPECT_FALSE(fs::exists(dir_.path() / "a"));
  expect_outside_untouched();
}

TEST_F(RunFolderTest, OutThatIsNotAFolderIsRefused) {
  std::ofstream(dir_.path() / "file") << "x";
  EXPECT_TRUE(holds(refusal([&] { RunFolder((dir_.path() / "file").string(), "r1"); }), "cannot open the results folder"));
}

// Links planted inside the folder once it exists: a new file is never made through one, and the
// manifest's replacement replaces a link rather than writing where it points.
TEST_F(RunFolderTest, LinksInsideTheFolderAreNotFollowed) {
  const RunFolder folder(out_.string(), "r1");
  const fs::path run = out_ / "r1";
  fs::create_symlink(outside_ / "keep.txt", run / "records.jsonl");
  EXPECT_TRUE(holds(refusal([&] { folder.create("records.jsonl"); }), "records.jsonl: already exists"));
  fs::create_symlink(outside_ / "keep.txt", run / "manifest.json.tmp");
  EXPECT_TRUE(holds(refusal([&] { folder.replace("manifest.json", "x"); }), "manifest.json.tmp: already exists"));
  fs::remove(run / "manifest.json.tmp");
  fs::create_symlink(outside_ / "keep.txt", run / "benchmark.json");
  folder.replace("benchmark.json", "{}\n");
  EXPECT_FALSE(fs::is_symlink(run / "benchmark.json"));
  EXPECT_EQ(read(run / "benchmark.json"), "{}\n");
  expect_outside_untouched();
}

// The folder is held open: swapped for a link after it was made, the files still land in it.
TEST_F(RunFolderTest, AFolderSwappedForALinkIsNotFollowed) {
  const RunFolder folder(out_.string(), "r1");
  fs::rename(out_ / "r1", out_ / "moved");
  fs::create_directory_symlink(outside_, out_ / "r1");
  append(folder.create("records.jsonl"), "x\n");
  EXPECT_EQ(read(out_ / "moved" / "records.jsonl"), "x\n");
  expect_outside_untouched();
}

TEST_F(RunFolderTest, AnOperatorsFileIsWrittenButNeverThroughALink) {
  write_file_no_follow((dir_.path() / "bench.json").string(), "long text\n");
  write_file_no_follow((dir_.path() / "bench.json").string(), "short\n");
  EXPECT_EQ(read(dir_.path() / "bench.json"), "short\n");
  fs::create_symlink(outside_ / "keep.txt", dir_.path() / "link.json");
  EXPECT_TRUE(holds(refusal([&] { write_file_no_follow((dir_.path() / "link.json").string(), "x"); }),
                    "link.json: is a symbolic link; not followed"));
  expect_outside_untouched();
}

TEST_F(RunFolderTest, RecordsAndManifestsByPathFollowNoLink) {
  fs::create_symlink(outside_ / "keep.txt", out_ / "records.jsonl");
  EXPECT_THROW(RecordWriter((out_ / "records.jsonl").string()), std::runtime_error);
  fs::create_symlink(outside_ / "keep.txt", out_ / "manifest.json");
  write_manifest((out_ / "manifest.json").string(), Manifest{});
  EXPECT_FALSE(fs::is_symlink(out_ / "manifest.json"));
  fs::create_symlink(outside_ / "keep.txt", out_ / "again.json.tmp");
  EXPECT_THROW(write_manifest((out_ / "again.json").string(), Manifest{}), std::runtime_error);
  expect_outside_untouched();
}

}  // namespace
}  // namespace rackqual
