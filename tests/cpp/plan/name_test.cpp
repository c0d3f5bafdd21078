// Names are never paths: the rule itself, and every place a suite, profile or inventory gives one.
#include "rackqual/base/name.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "rackqual/base/error.hpp"
#include "rackqual/input/inventory.hpp"
#include "rackqual/input/platform.hpp"
#include "rackqual/input/suite.hpp"
#include "rackqual/plan/prepared_suite.hpp"
#include "temp_dir.hpp"

namespace rackqual {
namespace {

TEST(Name, LettersDigitsDotsUnderscoresAndDashes) {
  for (const char* name : {"h100-sxm", "node001.example.com", "gemm_bf16", "r17", "a..b", "auto", "20261121T210300Z-1a2b"})
    EXPECT_FALSE(name_problem(name)) << name;
}

TEST(Name, PathsAndHiddenNamesAreRefused) {
  const std::string rule = " (a name is letters, digits, '.', '_' and '-', not starting with '.')";
  EXPECT_EQ(name_problem(""), "expected a name, got nothing" + rule);
  EXPECT_EQ(name_problem("../etc"), "'../etc' is a path, not a name" + rule);
  EXPECT_EQ(name_problem("/etc/passwd"), "'/etc/passwd' is a path, not a name" + rule);
  EXPECT_EQ(name_problem("a/b"), "'a/b' is a path, not a name" + rule);
  EXPECT_EQ(name_problem(".."), "'..' starts with '.'" + rule);
  EXPECT_EQ(name_problem("."), "'.' starts with '.'" + rule);
  EXPECT_EQ(name_problem(".hidden"), "'.hidden' starts with '.'" + rule);
  EXPECT_EQ(name_problem("a b"), "'a b' holds a space" + rule);
  EXPECT_EQ(name_problem("a:b"), "'a:b' holds ':'" + rule);
  EXPECT_EQ(name_problem("a\\b"), "'a\\b' holds '\\'" + rule);
  EXPECT_EQ(name_problem("a*"), "'a*' holds '*'" + rule);
  // Unprintable characters are shown, so that the message stays one line.
  EXPECT_EQ(name_problem("a\nb"), "'a\\x0ab' holds '\\x0a'" + rule);
  EXPECT_EQ(name_problem(std::string(256, 'a')), "a name is at most 255 characters, not 256");
  EXPECT_FALSE(name_problem(std::string(255, 'a')));
  EXPECT_FALSE(is_name("x/y"));
  EXPECT_TRUE(is_name("x.y"));
}

class NameInFiles : public ::testing::Test {
 protected:
  // Runs `load` and expects an InputError at `line` naming `field` whose message holds `words`.
  void expect_error(const std::function<void()>& load, int line, const std::string& field, const std::string& words) {
    try {
      load();
      ADD_FAILURE() << "no InputError for " << field;
    } catch (const InputError& e) {
      EXPECT_EQ(e.line(), line) << e.what();
      EXPECT_EQ(e.field(), field) << e.what();
      EXPECT_NE(e.message().find(words), std::string::npos) << e.what();
    }
  }
  void bad_suite(const std::string& yaml, int line, const std::string& field, const std::string& words) {
    const std::string path = dir_.write("suite.yaml", yaml);
    expect_error([&] { load_suite(path); }, line, field, words);
  }
  void bad_inventory(const std::string& yaml, int line, const std::string& field, const std::string& words) {
    expect_error([&] { parse_inventory("inv.yaml", yaml); }, line, field, words);
  }

  unit::TempDir dir_;
};

TEST_F(NameInFiles, TheSuitesPlatformIsAName) {
  bad_suite("name: s\nplatform: ../../etc/evil\nchecks:\n  - {id: g, kind: gemm}\n", 2, "platform", "is a path, not a name");
  bad_suite("name: s\nplatform: /tmp/evil\nchecks:\n  - {id: g, kind: gemm}\n", 2, "platform", "is a path, not a name");
  bad_suite("name: s\nplatform: .hidden\nchecks:\n  - {id: g, kind: gemm}\n", 2, "platform", "starts with '.'");
  bad_suite("name: s\nplatform: \"\"\nchecks:\n  - {id: g, kind: gemm}\n", 2, "platform", "expected a name");
}

TEST_F(NameInFiles, CheckIdsAreNames) {
  bad_suite("name: s\nchecks:\n  - {id: ../x, kind: gemm}\n", 3, "checks[0].id", "is a path, not a name");
  bad_suite("name: s\nchecks:\n  - {id: .x, kind: gemm}\n", 3, "checks[0].id", "starts with '.'");
  bad_suite("name: s\nchecks:\n  - {id: \"a:b\", kind: gemm}\n", 3, "checks[0].id", "holds ':'");
  bad_suite("name: s\nchecks:\n  - {id: \"\", kind: gemm}\n", 3, "checks[0].id", "expected a name");
}

TEST_F(NameInFiles, AProfilesNameIsAName) {
  const std::string path = dir_.write("p.yaml", "name: ../p\npeaks:\n  x: {value: 1, unit: u, source: s}\n");
  expect_error([&] { load_platform(path); }, 1, "name", "is a path, not a name");
}

// --platform, and a suite's platform given to the loader as a name, never reach a file outside
// the profile folders: a profile planted next to the folder is not found through "../".
TEST_F(NameInFiles, ThePlatformOptionIsAName) {
  const std::string suite = dir_.write("suite.yaml", "name: s\nplatform: host\nchecks:\n  - {id: g, kind: gemm}\n");
  std::filesystem::create_directories(dir_.path() / "platforms");
  dir_.write("evil.yaml", "name: evil\npeaks:\n  tflops_fp32: {value: 1, unit: TFLOP/s, source: s}\n");
  expect_error([&] { platform_profile(suite, "../evil", "--platform"); }, 1, "--platform", "is a path, not a name");
  EXPECT_EQ(find_platform("../evil", {(dir_.path() / "platforms").string()}), "");
  EXPECT_EQ(find_platform("evil", {dir_.path().string()}), (dir_.path() / "evil.yaml").string());
}

TEST_F(NameInFiles, InventoryNamesAreNames) {
  bad_inventory("cluster: ../c\nracks:\n  - {name: r1, hosts: [{name: a, gpus: 1}]}\n", 1, "cluster", "is a path");
  bad_inventory("racks:\n  - {name: ../r1, hosts: [{name: a, gpus: 1}]}\n", 2, "racks[0].name", "is a path");
  bad_inventory("racks:\n  - {name: r1, leaf_switch: \"leaf 1\", hosts: [{name: a, gpus: 1}]}\n", 2,
                "racks[r1].leaf_switch", "holds a space");
  bad_inventory("racks:\n  - name: r1\n    gpus: 1\n    hosts: [a/b]\n", 4, "racks[r1].hosts[]", "is a path");
  bad_inventory("racks:\n  - name: r1\n    hosts:\n      - {name: .a, gpus: 1}\n", 4, "racks[r1].hosts[].name",
                "starts with '.'");
  bad_inventory("racks:\n  - name: r1\n    hosts:\n      - {name: a, gpus: 1, nvlink_domain: d/e}\n", 4,
                "racks[r1].hosts[a].nvlink_domain", "is a path");
  EXPECT_NO_THROW(parse_inventory("inv.yaml", "racks:\n  - {name: r1, hosts: [{name: node001.example.com, gpus: 1}]}\n"));
}

}  // namespace
}  // namespace rackqual
