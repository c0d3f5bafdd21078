#include "rackqual/input/platform.hpp"
#include "rackqual/plan/plan.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "rackqual/base/error.hpp"
#include "rackqual/input/suite.hpp"
#include "temp_dir.hpp"

namespace rackqual {
namespace {

const char* const profile = R"(name: lab
description: a lab machine
peaks:
  tflops_fp32:
    value: 60
    unit: TFLOP/s
    source: datasheet
  memory_gbps: {value: 3350, unit: GB/s, source: datasheet}
)";

class PlatformTest : public ::testing::Test {
 protected:
  // Loads `yaml` as a profile; expects an InputError naming `line` and `field`, and returns its message.
  std::string error(const std::string& yaml, int line, const std::string& field) {
    const std::string path = dir_.write("p.yaml", yaml);
    try {
      load_platform(path);
    } catch (const InputError& e) {
      EXPECT_EQ(e.line(), line);
      EXPECT_EQ(e.field(), field);
      return e.message();
    }
    ADD_FAILURE() << "no InputError for:\n" << yaml;
    return "";
  }

  unit::TempDir dir_;
};

TEST_F(PlatformTest, Loads) {
  const std::string path = dir_.write("lab.yaml", profile);
  const Platform p = load_platform(path);
  EXPECT_EQ(p.name, "lab");
  EXPECT_EQ(p.path, path);
  EXPECT_EQ(p.description, "a lab machine");
  ASSERT_EQ(p.peaks.size(), 2u);
  EXPECT_DOUBLE_EQ(p.peaks.at("tflops_fp32").value, 60);
  EXPECT_EQ(p.peaks.at("tflops_fp32").unit, "TFLOP/s");
  EXPECT_EQ(p.peaks.at("memory_gbps").source, "datasheet");
  EXPECT_EQ(p.peak("memory_gbps"), 3350.0);
  EXPECT_EQ(p.peak("tflops_fp64"), std::nullopt);
}

TEST_F(PlatformTest, Errors) {
  EXPECT_EQ(error("name: x\npeaks:\n  a: {value: 1, unit: u, source: s}\nvendor: y\n", 4, "vendor"),
            "unknown field (known: defaults, description, devices, expected, name, peaks)");
  EXPECT_EQ(error("name: x\n", 1, "peaks"), "required field is missing");
  EXPECT_EQ(error("name: x\npeaks: [1]\n", 2, "peaks"), "expected a mapping of figure name to {value, unit, source}");
  EXPECT_EQ(error("name: x\npeaks:\n  a: {value: 0, unit: u, source: s}\n", 3, "peaks.a.value"), "a peak must be positive");
  EXPECT_EQ(error("name: x\npeaks:\n  a: {value: -2, unit: u, source: s}\n", 3, "peaks.a.value"),
            "a peak must be positive");
  EXPECT_EQ(error("name: x\npeaks:\n  a: {value: fast, unit: u, source: s}\n", 3, "peaks.a.value"),
            "expected a number, got 'fast'");
  EXPECT_EQ(error("name: x\npeaks:\n  a:\n    value: 1\n    source: s\n", 4, "peaks.a.unit"), "required field is missing");
  EXPECT_EQ(error("name: x\npeaks:\n  a: {value: 1, unit: u, source: s, note: n}\n", 3, "peaks.a.note"),
            "unknown field (known: source, unit, value)");
}

TEST_F(PlatformTest, MissingFile) {
  try {
    load_platform((dir_.path() / "none.yaml").string());
    FAIL() << "no InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(e.line(), 1);
    EXPECT_EQ(e.field(), "file");
  }
}

TEST_F(PlatformTest, CheckPeaks) {
  const Platform lab = load_platform(dir_.write("lab.yaml", profile));
  const std::string suite_path = dir_.write("s.yaml", R"(name: s
checks:
  - id: g32
    kind: gemm
    criteria:
      tflops: {min_fraction_of_peak: 0.5}
  - id: g64
    kind: gemm
    params: {dtype: fp64}
    criteria:
      tflops: {min: 1}
  - id: g64-peak
    kind: gemm
    params: {dtype: fp64}
    criteria:
      tflops: {warn_below_fraction_of_peak: 0.5}
)");
  Suite suite = load_suite(suite_path);
  try {
    plan_suite(suite, lab);
    FAIL() << "no InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(e.file(), suite_path);
    EXPECT_EQ(e.line(), 16);
    EXPECT_EQ(e.field(), "checks[g64-peak].criteria.tflops");
    EXPECT_EQ(e.message(), "relative to peak, but platform lab (" + lab.path + ") gives no figure 'tflops_fp64'");
  }
  suite.checks.pop_back();
  EXPECT_NO_THROW(plan_suite(suite, lab));
}

TEST(Platform, ResolveAuto) {
  const std::vector<std::string> installed = {RACKQUAL_SOURCE_DIR "/suites/platforms"};
  Suite suite;
  suite.platform = "auto";
  EXPECT_EQ(resolve_platform(suite, "host", "", installed), "host");
  EXPECT_EQ(resolve_platform(suite, "cuda", "NVIDIA H100 80GB HBM3", installed), "h100-sxm");
  EXPECT_THROW(resolve_platform(suite, "cuda", "NVIDIA H100 PCIe", installed), InputError);
  suite.platform = "h100-sxm";
  EXPECT_EQ(resolve_platform(suite, "host", "", installed), "h100-sxm");
}

TEST_F(PlatformTest, Expected) {
  const std::string ok = std::string(profile) +
                         "expected:\n  hbm_triad: {fraction_of_peak: 0.89, peak: memory_gbps, source: BabelStream}\n";
  EXPECT_NO_THROW(load_platform(dir_.write("lab.yaml", ok)));
  const std::string head = std::string(profile) + "expected:\n  hbm_triad: ";
  EXPECT_EQ(error(head + "{fraction_of_peak: 1.2, peak: memory_gbps, source: s}\n", 10,
                  "expected.hbm_triad.fraction_of_peak"),
            "a fraction of peak must be in (0, 1]");
  EXPECT_EQ(error(head + "{fraction_of_peak: 0, peak: memory_gbps, source: s}\n", 10,
                  "expected.hbm_triad.fraction_of_peak"),
            "a fraction of peak must be in (0, 1]");
  EXPECT_EQ(error(head + "{fraction_of_peak: 0.9, peak: hbm_gbps, source: s}\n", 10, "expected.hbm_triad.peak"),
            "no figure 'hbm_gbps' in peaks");
  EXPECT_EQ(error(head + "{fraction_of_peak: 0.9, peak: memory_gbps}\n", 10, "expected.hbm_triad.source"),
            "required field is missing");
  EXPECT_EQ(error(head + "{fraction_of_peak: 0.9, peak: memory_gbps, source: s, min: 1}\n", 10,
                  "expected.hbm_triad.min"),
            "unknown field (known: fraction_of_peak, peak, source)");
  EXPECT_EQ(error(std::string(profile) + "expected: [0.9]\n", 9, "expected"),
            "expected a mapping of figure name to {fraction_of_peak, peak, source}");
}

TEST(Platform, FormFactorsOnlyMatchTheirOwnProfile) {
  const std::vector<std::string> installed = {RACKQUAL_SOURCE_DIR "/suites/platforms"};
  EXPECT_EQ(match_platform("NVIDIA H200 NVL", installed), "h200-nvl");
  EXPECT_EQ(match_platform("NVIDIA H200", installed), "h200-sxm");
  EXPECT_EQ(match_platform("NVIDIA H100 NVL", installed), "");
  EXPECT_EQ(match_platform("NVIDIA H100 PCIe", installed), "");
  EXPECT_EQ(match_platform("NVIDIA H100 80GB HBM3", installed), "h100-sxm");
  EXPECT_EQ(match_platform("NVIDIA GB200", installed), "gb200");
}

TEST_F(PlatformTest, AnNvlCardNeverFitsAProfileWithoutNvl) {
  // A site's own folder with only the SXM profile: the NVL card fits nothing there.
  dir_.write("sxm.yaml", "name: sxm\ndevices: [\"H200\"]\npeaks:\n  memory_gbps: {value: 4800, unit: GB/s, source: s}\n");
  EXPECT_EQ(match_platform("NVIDIA H200 NVL", {dir_.path().string()}), "");
  EXPECT_EQ(match_platform("NVIDIA H200-NVL", {dir_.path().string()}), "");
  EXPECT_EQ(match_platform("NVIDIA H200", {dir_.path().string()}), "sxm");
}

TEST(Platform, DataDirFromTheEnvironment) {
  const char* before = std::getenv("RACKQUAL_DATA_DIR");
  const std::string saved = before ? before : "";
  setenv("RACKQUAL_DATA_DIR", "/opt/rackqual-bundle", 1);
  EXPECT_EQ(platform_dirs("/site/suites/mine.yaml"),
            (std::vector<std::string>{"/site/suites/platforms", "/opt/rackqual-bundle/suites/platforms"}));
  unsetenv("RACKQUAL_DATA_DIR");
  EXPECT_NE(platform_dirs("/site/suites/mine.yaml").back(), "/opt/rackqual-bundle/suites/platforms");
  if (before) setenv("RACKQUAL_DATA_DIR", saved.c_str(), 1);
}

TEST(Platform, MatchPicksTheLongestDeviceName) {
  const std::vector<std::string> installed = {RACKQUAL_SOURCE_DIR "/suites/platforms"};
  EXPECT_EQ(match_platform("NVIDIA H100 80GB HBM3", installed), "h100-sxm");
  EXPECT_EQ(match_platform("NVIDIA H200", installed), "h200-sxm");
  EXPECT_EQ(match_platform("NVIDIA B200", installed), "b200");
  EXPECT_EQ(match_platform("NVIDIA GB200", installed), "gb200");   // "GB200" beats "B200"
  EXPECT_EQ(match_platform("NVIDIA A100-SXM4-80GB", installed), "");
}

TEST_F(PlatformTest, Defaults) {
  const std::string path = dir_.write("lab.yaml", std::string(profile) +
                                                      "devices: [\"Lab GPU\"]\n"
                                                      "defaults:\n  gemm.tflops: {min_fraction_of_peak: 0.7}\n");
  const Platform p = load_platform(path);
  EXPECT_EQ(p.devices, std::vector<std::string>{"Lab GPU"});
  ASSERT_NE(p.default_for("gemm", "tflops"), nullptr);
  EXPECT_EQ(p.default_for("gemm", "tflops")->min_fraction_of_peak, 0.7);
  EXPECT_EQ(p.default_for("hbm", "gbps"), nullptr);
  EXPECT_EQ(error(std::string(profile) + "defaults:\n  matmul.tflops: {min: 1}\n", 10, "defaults.matmul.tflops"),
            "expected KIND.METRIC with a known kind, e.g. gemm.tflops");
  EXPECT_EQ(error(std::string(profile) + "defaults:\n  allreduce.busbw_gbps: {min: 1, at: 1MiB}\n", 10,
                  "defaults.allreduce.busbw_gbps.at"),
            "a default applies to every point; `at` belongs in a suite's check");
}

TEST_F(PlatformTest, FindPrefersTheGivenDirectory) {
  const std::vector<std::string> dirs = {dir_.path().string(), RACKQUAL_SOURCE_DIR "/suites/platforms"};
  EXPECT_EQ(find_platform("host", dirs), RACKQUAL_SOURCE_DIR "/suites/platforms/host.yaml");
  const std::string own = dir_.write("host.yaml", profile);
  EXPECT_EQ(find_platform("host", dirs), own);
  EXPECT_EQ(find_platform("no-such-machine", dirs), "");
}

TEST(Platform, EveryGpuProfileLoadsWithSourcedFigures) {
  for (const char* name : {"h100-sxm", "h200-sxm", "h200-nvl", "b200", "gb200"}) {
    const Platform p = load_platform(std::string(RACKQUAL_SOURCE_DIR "/suites/platforms/") + name + ".yaml");
    EXPECT_EQ(p.name, name);
    EXPECT_FALSE(p.devices.empty()) << name;
    for (const char* key : {"tflops_bf16", "tflops_fp8", "tflops_tf32", "memory_gbps"}) EXPECT_TRUE(p.peak(key)) << name << key;
    for (const auto& [key, peak] : p.peaks) EXPECT_FALSE(peak.source.empty()) << name << key;
    EXPECT_NE(p.default_for("gemm", "tflops"), nullptr) << name;
  }
}

TEST(Platform, InstalledHostProfileFitsTheSmokeSuite) {
  const Platform host = load_platform(RACKQUAL_SOURCE_DIR "/suites/platforms/host.yaml");
  EXPECT_EQ(host.name, "host");
  EXPECT_EQ(host.peak("tflops_fp32"), 0.384);
  EXPECT_EQ(host.peak("memory_gbps"), 51.2);
  EXPECT_NO_THROW(plan_suite(load_suite(RACKQUAL_SOURCE_DIR "/suites/smoke.yaml"), host));
}

}  // namespace
}  // namespace rackqual
