// The one whole-file writer: a reader sees the old text or the new, nothing is written through a
// link, and what is in the way of the temporary file is refused, never overwritten.
#include "rackqual/records/file_writer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "rackqual/base/error.hpp"
#include "temp_dir.hpp"

namespace rackqual {
namespace {

namespace fs = std::filesystem;

std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> names_in(const fs::path& folder) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(FileWriter, ReplacesWholeAndLeavesNoTemporaryFile) {
  unit::TempDir dir;
  const std::string path = (dir.path() / "rackqual.prom").string();
  write_file_whole(path, "first\n");
  write_file_whole(path, "second\n");
  EXPECT_EQ(read(path), "second\n");
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"rackqual.prom"});
  EXPECT_THROW(write_file_whole((dir.path() / "no-such-folder" / "x.prom").string(), "x"), SetupError);
}

TEST(FileWriter, ALinkAtThePathIsReplacedNotFollowed) {
  unit::TempDir dir;
  const fs::path outside = dir.path() / "outside.txt";
  std::ofstream(outside) << "keep\n";
  fs::create_symlink(outside, dir.path() / "report.html");
  write_file_whole((dir.path() / "report.html").string(), "page\n");
  EXPECT_FALSE(fs::is_symlink(dir.path() / "report.html"));
  EXPECT_EQ(read(dir.path() / "report.html"), "page\n");
  EXPECT_EQ(read(outside), "keep\n");
}

TEST(FileWriter, WhatIsInTheWayOfTheTemporaryFileIsRefusedAndNamed) {
  unit::TempDir dir;
  const fs::path outside = dir.path() / "outside.txt";
  std::ofstream(outside) << "keep\n";
  fs::create_symlink(outside, dir.path() / "junit.xml.tmp");   // planted
  const std::string path = (dir.path() / "junit.xml").string();
  try {
    write_file_whole(path, "x");
    FAIL() << "no SetupError";
  } catch (const SetupError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ".tmp: already exists", 0), 0u) << e.what();
  }
  EXPECT_EQ(read(outside), "keep\n");
  EXPECT_FALSE(fs::exists(path));
}

TEST(FileWriter, AFolderAtThePathIsRefusedAndTheTemporaryFileRemoved) {
  unit::TempDir dir;
  fs::create_directory(dir.path() / "out.json");
  fs::create_directory(dir.path() / "out.json" / "inside");
  EXPECT_THROW(write_file_whole((dir.path() / "out.json").string(), "x"), SetupError);
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"out.json"});
}

}  // namespace
}  // namespace rackqual
