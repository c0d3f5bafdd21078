#include "rackqual/input/suite.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>

#include "rackqual/base/error.hpp"
#include "temp_dir.hpp"

namespace rackqual {
namespace {

class SuiteTest : public ::testing::Test {
 protected:
  std::string write(const std::string& yaml) { return dir_.write("suite.yaml", yaml); }

  // Loads `yaml`; expects an InputError naming `line` and `field`, and returns its message.
  std::string error(const std::string& yaml, int line, const std::string& field) {
    const std::string path = write(yaml);
    try {
      load_suite(path);
    } catch (const InputError& e) {
      EXPECT_EQ(e.file(), path);
      EXPECT_EQ(e.line(), line);
      EXPECT_EQ(e.field(), field);
      EXPECT_EQ(e.what(), path + ":" + std::to_string(line) + ": " + field + ": " + e.message());
      return e.message();
    }
    ADD_FAILURE() << "no InputError for:\n" << yaml;
    return "";
  }

  unit::TempDir dir_;
};

TEST_F(SuiteTest, ValidSuite) {
  const std::string path = write(R"(name: nightly
description: a test
platform: h100
defaults:
  repetitions: 3
  min_time: 50ms
  deadline: 2m
checks:
  - id: gemm-small
    kind: gemm
    params: {m: 512, dtype: fp64}
    criteria:
      tflops: {min: 0.5, warn_below_fraction_of_peak: 0.3}
  - id: ar
    kind: allreduce
    scope: cluster
    repetitions: 7
    params:
      sizes: [64KiB, 4MiB]
    criteria:
      busbw_gbps: {min: 1, at: 4MiB}
  - id: mem
    kind: hbm
    min_time: 1s
)");
  const Suite s = load_suite(path);
  EXPECT_EQ(s.name, "nightly");
  EXPECT_EQ(s.path, path);
  EXPECT_EQ(s.platform, "h100");
  ASSERT_EQ(s.checks.size(), 3u);

  const Check& gemm = s.checks[0];
  EXPECT_EQ(gemm.id, "gemm-small");
  EXPECT_EQ(gemm.kind, KindRegistry::instance().find("gemm"));
  EXPECT_EQ(gemm.scope, Scope::gpu);
  EXPECT_EQ(gemm.line, 9);
  EXPECT_EQ(gemm.params.integer("m"), 512);
  EXPECT_EQ(gemm.params.integer("n"), 4096);
  EXPECT_EQ(gemm.params.integer("k"), 4096);
  EXPECT_EQ(gemm.params.text("dtype"), "fp64");
  EXPECT_EQ(gemm.repetitions, 3);
  EXPECT_DOUBLE_EQ(gemm.min_time, 0.05);
  EXPECT_DOUBLE_EQ(gemm.deadline, 120);
  ASSERT_EQ(gemm.criteria.size(), 1u);
  const Criterion& tflops = gemm.criteria[0];
  EXPECT_EQ(tflops.metric, "tflops");
  EXPECT_EQ(tflops.min, 0.5);
  EXPECT_EQ(tflops.warn_below_fraction_of_peak, 0.3);
  EXPECT_FALSE(tflops.max);
  EXPECT_FALSE(tflops.at);
  EXPECT_TRUE(tflops.uses_peak());
  EXPECT_EQ(tflops.text, "tflops: {min: 0.5, warn_below_fraction_of_peak: 0.3}");
  EXPECT_EQ(tflops.line, 13);

  const Check& ar = s.checks[1];
  EXPECT_EQ(ar.scope, Scope::cluster);
  EXPECT_EQ(ar.repetitions, 7);
  EXPECT_DOUBLE_EQ(ar.min_time, 0.05);
  EXPECT_EQ(ar.params.list("sizes"), (std::vector<std::int64_t>{64 << 10, 4 << 20}));
  EXPECT_EQ(ar.params.text("dtype"), "fp32");
  ASSERT_EQ(ar.criteria.size(), 1u);
  EXPECT_EQ(ar.criteria[0].at, 4 << 20);
  EXPECT_EQ(ar.criteria[0].min, 1.0);
  EXPECT_EQ(ar.criteria[0].text, "busbw_gbps: {min: 1, at: 4MiB}");
  EXPECT_EQ(ar.criteria[0].line, 21);

  const Check& mem = s.checks[2];
  EXPECT_EQ(mem.scope, Scope::gpu);
  EXPECT_EQ(mem.params.text("op"), "triad");
  EXPECT_EQ(mem.params.integer("bytes"), 1LL << 30);
  EXPECT_TRUE(mem.criteria.empty());
  EXPECT_EQ(mem.repetitions, 3);
  EXPECT_DOUBLE_EQ(mem.min_time, 1.0);
  EXPECT_DOUBLE_EQ(mem.deadline, 120);
}

TEST_F(SuiteTest, BuiltInDefaults) {
  const Suite s = load_suite(write("name: s\nchecks:\n  - {id: g, kind: gemm}\n  - {id: a, kind: allreduce}\n"));
  EXPECT_EQ(s.platform, "auto");
  ASSERT_EQ(s.checks.size(), 2u);
  EXPECT_EQ(s.checks[0].repetitions, 5);
  EXPECT_DOUBLE_EQ(s.checks[0].min_time, 0.2);
  EXPECT_DOUBLE_EQ(s.checks[0].deadline, 600);
  EXPECT_EQ(s.checks[1].scope, Scope::node);
  EXPECT_EQ(s.checks[1].params.list("sizes"), (std::vector<std::int64_t>{1 << 20, 64 << 20}));
}

TEST_F(SuiteTest, HashIsFnv1aOfTheFileBytes) {
  EXPECT_EQ(load_suite(write("name: s\nchecks:\n  - {id: g, kind: gemm}\n")).hash, "dc31505c2fa9207f");
  EXPECT_NE(load_suite(write("# note\nname: s\nchecks:\n  - {id: g, kind: gemm}\n")).hash, "dc31505c2fa9207f");
}

TEST_F(SuiteTest, Durations) {
  const Suite s = load_suite(write(R"(name: s
checks:
  - {id: a, kind: gemm, min_time: 50ms, deadline: 1h}
  - {id: b, kind: gemm, min_time: 0.5, deadline: 90s}
  - {id: c, kind: gemm, min_time: 250us, deadline: 3min}
)"));
  EXPECT_DOUBLE_EQ(s.checks[0].min_time, 0.05);
  EXPECT_DOUBLE_EQ(s.checks[0].deadline, 3600);
  EXPECT_DOUBLE_EQ(s.checks[1].min_time, 0.5);
  EXPECT_DOUBLE_EQ(s.checks[1].deadline, 90);
  EXPECT_DOUBLE_EQ(s.checks[2].min_time, 250e-6);
  EXPECT_DOUBLE_EQ(s.checks[2].deadline, 180);
}

// YAML is UTF-8 text without NUL bytes; what is not stops at its line and column, before a name
// that no JSON record could hold reaches a run.
TEST_F(SuiteTest, TextThatIsNotUtf8) {
  EXPECT_EQ(error(std::string("name: a\0b\nchecks: [{id: g, kind: gemm}]\n", 35), 1, "file"), "a NUL byte at column 8");
  EXPECT_EQ(error("name: s\nchecks: [{id: \xff, kind: gemm}]\n", 2, "file"), "not UTF-8 text at column 15");
  EXPECT_EQ(error("name: s\n# \xed\xa0\x80 (a surrogate)\nchecks: [{id: g, kind: gemm}]\n", 2, "file"), "not UTF-8 text at column 3");
  EXPECT_EQ(error("name: s\n# \xc0\xaf (overlong)\nchecks: [{id: g, kind: gemm}]\n", 2, "file"), "not UTF-8 text at column 3");
  EXPECT_EQ(error("name: s\nchecks: [{id: g, kind: gemm}]\n# \xe2\x82", 3, "file"), "not UTF-8 text at column 3");
  EXPECT_EQ(load_suite(write("name: \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\nchecks: [{id: g, kind: gemm}]\n")).name,
            "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
}

// yaml-cpp stops at 500 levels of nesting with the words "bad file": said as what it is.
TEST_F(SuiteTest, NestedTooDeep) {
  EXPECT_EQ(error("name: s\nchecks: " + std::string(600, '[') + std::string(600, ']') + "\n", 2, "yaml"),
            "mappings and lists nested more than 500 levels deep");
}

// A key YAML allows but that names nothing (empty, or a list) is named by the mapping it is in.
TEST_F(SuiteTest, KeyThatIsNotAName) {
  EXPECT_EQ(error("name: s\n\"\": 1\nchecks: [{id: g, kind: gemm}]\n", 2, "file"), "a key must be a non-empty name");
  EXPECT_EQ(error("name: s\nchecks:\n  - {id: g, kind: gemm, [a]: 1}\n", 3, "checks[0]"), "a key must be a non-empty name");
  // A key with ':' or a space would break "file:line: field: message" apart: the mapping is the
  // field, and the message quotes the key.
  EXPECT_EQ(error("name: s\ndefaults:\n  min_time:0.5s x: 1\nchecks: [{id: g, kind: gemm}]\n", 3, "defaults"),
            "unknown field 'min_time:0.5s x' (known: deadline, min_time, repetitions)");
  EXPECT_EQ(error("name: s\nchecks:\n  - {id: g, kind: gemm, criteria: {'tflops: x': {min: 1}}}\n", 3, "checks[g].criteria"),
            "unknown metric 'tflops: x' for kind gemm");
  EXPECT_NE(error("name: s\nchecks:\n  - {id: g, kind: gemm, criteria: {tflops: {'min: 1': 2}}}\n", 3, "checks[g].criteria.tflops")
                .find("unknown criterion 'min: 1'"),
            std::string::npos);
}

TEST_F(SuiteTest, BadDuration) {
  EXPECT_EQ(error("name: s\nchecks:\n  - id: g\n    kind: gemm\n    deadline: soon\n", 5, "checks[g].deadline"),
            "expected a positive duration such as 0.5s or 300s, got 'soon'");
  EXPECT_EQ(error("name: s\ndefaults:\n  min_time: 0s\nchecks:\n  - {id: g, kind: gemm}\n", 3, "defaults.min_time"),
            "expected a positive duration such as 0.5s or 300s, got '0s'");
  EXPECT_EQ(error("name: s\nchecks:\n  - {id: g, kind: gemm, min_time: -1s}\n", 3, "checks[g].min_time"),
            "expected a positive duration such as 0.5s or 300s, got '-1s'");
  // An infinite or endless deadline would overflow the watchdog's clock.
  EXPECT_EQ(error("name: s\nchecks:\n  - {id: g, kind: gemm, deadline: 1e308h}\n", 3, "checks[g].deadline"),
            "at most a week (604800s), got '1e308h'");
}

TEST_F(SuiteTest, BadRepetitions) {
  EXPECT_EQ(error("name: s\nchecks:\n  - {id: g, kind: gemm, repetitions: 0}\n", 3, "checks[g].repetitions"),
            "must be a whole number from 1 to 1000000");
  EXPECT_EQ(error("name: s\nchecks:\n  - {id: g, kind: gemm, repetitions: 2.5}\n", 3, "checks[g].repetitions"),
            "must be a whole number from 1 to 1000000");
  EXPECT_EQ(error("name: s\nchecks:\n  - {id: g, kind: gemm, repetitions: 1e10}\n", 3, "checks[g].repetitions"),
            "must be a whole number from 1 to 1000000");
  EXPECT_EQ(error("name: s\ndefaults: {repetitions: many}\nchecks:\n  - {id: g, kind: gemm}\n", 2,
                  "defaults.repetitions"),
            "expected a number, got 'many'");
}

TEST_F(SuiteTest, UnknownTopLevelKey) {
  EXPECT_EQ(error("name: s\nchecks:\n  - {id: g, kind: gemm}\ntimeout: 5\n", 4, "timeout"),
            "unknown field (known: checks, defaults, description, name, platform)");
}

TEST_F(SuiteTest, UnknownDefaultsKey) {
  EXPECT_EQ(error("name: s\ndefaults:\n  retries: 2\nchecks:\n  - {id: g, kind: gemm}\n", 3, "defaults.retries"),
            "unknown field (known: deadline, min_time, repetitions)");
}

TEST_F(SuiteTest, MalformedYamlNamesALine) {
  const std::string message = error("name: s\nchecks:\n  - id: g\n    kind: [gemm\n  - id: h\n", 5, "yaml");
  EXPECT_FALSE(message.empty());
}

TEST_F(SuiteTest, TopLevelMustBeAMapping) {
  EXPECT_EQ(error("- a\n- b\n", 1, "file"), "expected a mapping at the top level");
}

TEST_F(SuiteTest, RequiredTopLevelFields) {
  EXPECT_EQ(error("checks:\n  - {id: g, kind: gemm}\n", 1, "name"), "required field is missing");
  EXPECT_EQ(error("name: s\n", 1, "checks"), "required field is missing");
  EXPECT_EQ(error("name: s\nchecks: []\n", 2, "checks"), "expected a non-empty list of checks");
}

TEST_F(SuiteTest, MissingFile) {
  const std::string path = (dir_.path() / "absent.yaml").string();
  try {
    load_suite(path);
    FAIL() << "no InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(e.line(), 1);
    EXPECT_EQ(e.field(), "file");
    EXPECT_EQ(std::string(e.what()), path + ":1: file: cannot read: No such file or directory");
  }
}

TEST_F(SuiteTest, UnknownCheckKey) {
  EXPECT_EQ(error("name: s\nchecks:\n  - id: g\n    kind: gemm\n    repeat: 3\n", 5, "checks[0].repeat"),
            "unknown field (known: criteria, deadline, id, kind, min_time, params, repetitions, scope)");
}

TEST_F(SuiteTest, CheckMustBeAMapping) {
  EXPECT_EQ(error("name: s\nchecks:\n  - gemm\n", 3, "checks[0]"), "expected a mapping");
  EXPECT_EQ(error("name: s\nchecks:\n  - id: g\n    kind: gemm\n    params: [m]\n", 5, "checks[g].params"),
            "expected a mapping");
}

TEST_F(SuiteTest, CheckNeedsIdAndKind) {
  EXPECT_EQ(error("name: s\nchecks:\n  - {id: g, kind: gemm}\n  - kind: gemm\n    scope: gpu\n", 4, "checks[1].id"),
            "required field is missing");
  EXPECT_EQ(error("name: s\nchecks:\n  - id: g\n    scope: gpu\n", 3, "checks[g].kind"), "required field is missing");
}

TEST_F(SuiteTest, BadId) {
  const std::string rule = " (a name is letters, digits, '.', '_' and '-', not starting with '.')";
  EXPECT_EQ(error("name: s\nchecks:\n  - id: \"a b\"\n    kind: gemm\n", 3, "checks[0].id"), "'a b' holds a space" + rule);
  EXPECT_EQ(error("name: s\nchecks:\n  - {id: a/b, kind: gemm}\n", 3, "checks[0].id"), "'a/b' is a path, not a name" + rule);
}

TEST_F(SuiteTest, DuplicateIds) {
  EXPECT_EQ(error("name: s\nchecks:\n  - id: x\n    kind: gemm\n  - id: x\n    kind: hbm\n", 5, "checks[x].id"),
            "duplicate check id");
}

TEST_F(SuiteTest, UnknownKind) {
  EXPECT_EQ(error("name: s\nchecks:\n  - id: g\n    kind: tensor\n", 4, "checks[g].kind"),
            "unknown kind 'tensor' (kinds: allreduce, gemm, hbm, p2p, transformer_step)");
}

TEST_F(SuiteTest, ScopeNotAllowedForKind) {
  EXPECT_EQ(error("name: s\nchecks:\n  - id: g\n    kind: gemm\n    scope: node\n", 5, "checks[g].scope"),
            "kind gemm runs at scope gpu");
  EXPECT_EQ(error("name: s\nchecks:\n  - id: a\n    kind: allreduce\n    scope: gpu\n", 5, "checks[a].scope"),
            "kind allreduce runs at scope node, nvlink_domain, rack, cluster");
}

TEST_F(SuiteTest, UnknownScope) {
  EXPECT_EQ(error("name: s\nchecks:\n  - {id: g, kind: gemm, scope: host}\n", 3, "checks[g].scope"),
            "unknown scope 'host' (gpu, node, nvlink_domain, rack, cluster)");
}

TEST_F(SuiteTest, UnknownParam) {
  EXPECT_EQ(error("name: s\nchecks:\n  - id: g\n    kind: gemm\n    params:\n      m: 512\n      size: 3\n", 7,
                  "checks[g].params.size"),
            "unknown field (known: consensus, dtype, k, m, n)");
}

TEST_F(SuiteTest, WrongParamType) {
  const std::string path = write("name: s\nchecks:\n  - id: g\n    kind: gemm\n    params: {m: abc}\n");
  try {
    load_suite(path);
    FAIL() << "no InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), path + ":5: checks[g].params.m: expected an integer, got 'abc'");
  }
}

TEST_F(SuiteTest, ListForAScalarParam) {
  EXPECT_EQ(error("name: s\nchecks:\n  - id: g\n    kind: gemm\n    params: {n: [1, 2]}\n", 5, "checks[g].params.n"),
            "expected a single value, got a list");
}

TEST_F(SuiteTest, BadChoice) {
  EXPECT_EQ(error("name: s\nchecks:\n  - id: g\n    kind: gemm\n    params:\n      dtype: fp128\n", 6,
                  "checks[g].params.dtype"),
            "expected one of fp64, fp32, tf32, bf16, fp16, fp8, got 'fp128'");
}

TEST_F(SuiteTest, ZeroOrNegativeInteger) {
  EXPECT_EQ(error("name: s\nchecks:\n  - id: g\n    kind: gemm\n    params:\n      k: 0\n", 6, "checks[g].params.k"),
            "must be at least 1, got 0");
  EXPECT_EQ(error("name: s\nchecks:\n  - id: g\n    kind: gemm\n    params:\n      n: -3\n", 6, "checks[g].params.n"),
            "must be at least 1, got -3");
}

TEST_F(SuiteTest, NegativeSize) {
  EXPECT_EQ(error("name: s\nchecks:\n  - id: h\n    kind: hbm\n    params:\n      bytes: -64MiB\n", 6,
                  "checks[h].params.bytes"),
            "must be at least 4096, got -64MiB");
  EXPECT_EQ(error("name: s\nchecks:\n  - id: a\n    kind: allreduce\n    params:\n      sizes: [64KiB, -1]\n", 6,
                  "checks[a].params.sizes"),
            "must be at least 8, got -1");
}

TEST_F(SuiteTest, NotASize) {
  EXPECT_EQ(error("name: s\nchecks:\n  - id: h\n    kind: hbm\n    params: {bytes: huge}\n", 5, "checks[h].params.bytes"),
            "expected a size such as 4096, 64MiB or 8GiB, got 'huge'");
}

TEST_F(SuiteTest, KindValidationNamesTheParam) {
  EXPECT_EQ(error("name: s\nchecks:\n  - id: h\n    kind: hbm\n    params:\n      op: copy\n      bytes: 4100\n", 7,
                  "checks[h].params.bytes"),
            "must be a multiple of 16 (kernels move 16-byte vectors)");
  EXPECT_EQ(error("name: s\nchecks:\n  - id: a\n    kind: allreduce\n    params:\n      dtype: fp64\n      sizes: "
                  "[64, 12]\n",
                  7, "checks[a].params.sizes"),
            "12 bytes is not a whole number of fp64 elements");
}

TEST_F(SuiteTest, CriteriaMustBeAMapping) {
  EXPECT_EQ(error("name: s\nchecks:\n  - id: g\n    kind: gemm\n    criteria: [tflops]\n", 5, "checks[g].criteria"),
            "expected a mapping of metric to bounds");
}

TEST_F(SuiteTest, UnknownMetric) {
  EXPECT_EQ(error("name: s\nchecks:\n  - id: g\n    kind: gemm\n    criteria:\n      gflops: {min: 1}\n", 6,
                  "checks[g].criteria.gflops"),
            "unknown metric 'gflops' for kind gemm (metrics: tflops, tflops_per_watt)");
}

TEST_F(SuiteTest, UnknownCriterionKey) {
  EXPECT_EQ(error("name: s\nchecks:\n  - id: g\n    kind: gemm\n    criteria:\n      tflops:\n        minimum: 1\n", 7,
                  "checks[g].criteria.tflops.minimum"),
            "unknown criterion (known: min, max, min_fraction_of_peak, max_fraction_of_peak, warn_below, warn_above, "
            "warn_below_fraction_of_peak, warn_above_fraction_of_peak, min_fraction_of_group_median, max_robust_z, at)");
}

TEST_F(SuiteTest, CriterionWithoutBound) {
  EXPECT_EQ(error("name: s\nchecks:\n  - id: a\n    kind: allreduce\n    params: {sizes: [4MiB]}\n    criteria:\n"
                  "      busbw_gbps: {at: 4MiB}\n",
                  7, "checks[a].criteria.busbw_gbps"),
            "a criterion needs at least one bound");
  EXPECT_EQ(error("name: s\nchecks:\n  - id: g\n    kind: gemm\n    criteria:\n      tflops: {}\n", 6,
                  "checks[g].criteria.tflops"),
            "expected a mapping such as {min: 100}");
}

TEST_F(SuiteTest, CriterionWithoutBodyNamesItsLine) {
  EXPECT_EQ(error("name: s\nchecks:\n  - id: g\n    kind: gemm\n    criteria:\n      tflops:\n  - {id: h, kind: hbm}\n", 6,
                  "checks[g].criteria.tflops"),
            "expected a mapping such as {min: 100}");
}

TEST_F(SuiteTest, NonFiniteBoundIsRejected) {
  error("name: s\nchecks:\n  - id: g\n    kind: gemm\n    criteria:\n      tflops: {min: nan}\n", 6,
        "checks[g].criteria.tflops.min");
  error("name: s\nchecks:\n  - id: g\n    kind: gemm\n    criteria:\n      tflops: {min_fraction_of_peak: nan}\n", 6,
        "checks[g].criteria.tflops.min_fraction_of_peak");
}

TEST_F(SuiteTest, CriterionBoundMustBeANumber) {
  EXPECT_EQ(error("name: s\nchecks:\n  - id: g\n    kind: gemm\n    criteria:\n      tflops: {min: fast}\n", 6,
                  "checks[g].criteria.tflops.min"),
            "expected a number, got 'fast'");
}

TEST_F(SuiteTest, FractionOfPeakRange) {
  EXPECT_EQ(error("name: s\nchecks:\n  - id: g\n    kind: gemm\n    criteria:\n      tflops: {min_fraction_of_peak: 0}\n",
                  6, "checks[g].criteria.tflops.min_fraction_of_peak"),
            "a fraction of peak lies in (0, 10], got 0");
  EXPECT_EQ(error("name: s\nchecks:\n  - id: g\n    kind: gemm\n    criteria:\n      tflops: {warn_above_fraction_of_peak: "
                  "11}\n",
                  6, "checks[g].criteria.tflops.warn_above_fraction_of_peak"),
            "a fraction of peak lies in (0, 10], got 11");
}

TEST_F(SuiteTest, AtNotAmongTheSizes) {
  EXPECT_EQ(error("name: s\nchecks:\n  - id: a\n    kind: allreduce\n    params: {sizes: [64KiB, 4MiB]}\n    criteria:\n"
                  "      busbw_gbps: {min: 1, at: 2MiB}\n",
                  7, "checks[a].criteria.busbw_gbps.at"),
            "2MiB is not one of the check's sizes");
  EXPECT_EQ(error("name: s\nchecks:\n  - id: a\n    kind: allreduce\n    criteria:\n      busbw_gbps: {min: 1, at: big}\n",
                  6, "checks[a].criteria.busbw_gbps.at"),
            "expected a size, got 'big'");
}

TEST_F(SuiteTest, AtForAKindThatSweepsNothing) {
  EXPECT_EQ(error("name: s\nchecks:\n  - id: g\n    kind: gemm\n    criteria:\n      tflops: {min: 1, at: 4MiB}\n", 6,
                  "checks[g].criteria.tflops.at"),
            "kind gemm sweeps no parameter");
}

TEST_F(SuiteTest, ACriterionOnTheTailLatencyLoads) {
  const Suite s = load_suite(write(R"(name: s
defaults: {repetitions: 20}
checks:
  - id: ar
    kind: allreduce
    scope: rack
    params: {sizes: [1KiB, 1MiB, 64MiB]}
    criteria:
      time_p95_us: {max: 250, at: 1KiB}
      busbw_gbps: {min: 40, at: 64MiB}
  - id: pair
    kind: p2p
    scope: node
    repetitions: 25
    params: {sizes: [8KiB, 256MiB]}
    criteria:
      time_p95_us: {max: 100, at: 8KiB}
      bandwidth_gbps: {min: 10, at: 256MiB}
)"));
  ASSERT_EQ(s.checks.size(), 2u);
  const Check& ar = s.checks[0];
  EXPECT_EQ(ar.repetitions, 20);
  ASSERT_EQ(ar.criteria.size(), 2u);
  EXPECT_EQ(ar.criteria[0].metric, "time_p95_us");
  EXPECT_EQ(*ar.criteria[0].max, 250);
  EXPECT_EQ(*ar.criteria[0].at, 1024);
  EXPECT_EQ(ar.criteria[0].text, "time_p95_us: {max: 250, at: 1KiB}");
  const Check& pair = s.checks[1];
  EXPECT_EQ(pair.kind->name(), "p2p");
  EXPECT_EQ(pair.scope, Scope::node);
  EXPECT_EQ(pair.repetitions, 25);
  EXPECT_EQ(pair.params.list("sizes"), (std::vector<std::int64_t>{8 << 10, 256 << 20}));
  EXPECT_EQ(pair.criteria[1].metric, "bandwidth_gbps");
}

TEST_F(SuiteTest, GatingTheTailLatencyNeedsTwentyRepetitions) {
  EXPECT_EQ(error("name: s\ndefaults: {repetitions: 10}\nchecks:\n  - id: ar\n    kind: allreduce\n    params: {sizes: [1KiB]}\n"
                  "    criteria:\n      busbw_gbps: {min: 1}\n      time_p95_us: {max: 250}\n",
                  9, "checks[ar].criteria.time_p95_us"),
            "time_p95_us is the 0.95 percentile of the repetitions: gating it needs repetitions: 20 or more, not 10");
  // The built-in 5 repetitions: recorded, but not gated.
  EXPECT_EQ(error("name: s\nchecks:\n  - id: p\n    kind: p2p\n    criteria:\n      time_p95_us: {max: 9}\n", 6,
                  "checks[p].criteria.time_p95_us"),
            "time_p95_us is the 0.95 percentile of the repetitions: gating it needs repetitions: 20 or more, not 5");
  EXPECT_NO_THROW(load_suite(write("name: s\nchecks:\n  - id: p\n    kind: p2p\n    repetitions: 20\n    criteria:\n"
                                   "      time_p95_us: {max: 9}\n")));
}

TEST_F(SuiteTest, AKeyWrittenTwiceIsRefusedAtTheSecond) {
  // The run would take the first, PyYAML (and every notebook) the last.
  EXPECT_EQ(error("name: s\nchecks:\n  - id: g\n    kind: gemm\n    criteria:\n      tflops: {min: 1}\n"
                  "      tflops: {min: 2}\n",
                  7, "checks[g].criteria.tflops"),
            "key written twice (first at line 6)");
  EXPECT_EQ(error("name: s\nname: t\nchecks:\n  - {id: g, kind: gemm}\n", 2, "name"), "key written twice (first at line 1)");
  EXPECT_EQ(error("name: s\nchecks:\n  - {id: g, kind: gemm, params: {m: 64, m: 128}}\n", 3, "checks[g].params.m"),
            "key written twice (first at line 3)");
  // A list item without an id is named by its index; a key that is no name, in the message.
  EXPECT_EQ(error("name: s\nchecks:\n  - kind: gemm\n    kind: hbm\n", 4, "checks[0].kind"),
            "key written twice (first at line 3)");
  EXPECT_EQ(error("name: s\n\"a b\": 1\n\"a b\": 2\nchecks: []\n", 3, "file"), "key 'a b' written twice (first at line 2)");
}

TEST_F(SuiteTest, AliasesAreWalkedOnce) {
  // Nested aliases multiply a naive walk (10 levels of 10 would be 10^10 nodes); each is walked once.
  std::string yaml = "name: s\nx0: &a0 [1, 2]\n";
  for (char i = '1'; i <= '9'; ++i) {
    yaml += {'x', i, ':', ' ', '&', 'a', i, ' ', '['};
    for (int k = 0; k < 10; ++k) yaml += {k ? ',' : ' ', '*', 'a', static_cast<char>(i - 1)};
    yaml += "]\n";
  }
  yaml += "checks:\n  - {id: g, kind: gemm}\n";
  EXPECT_EQ(error(yaml, 2, "x0"), "unknown field (known: checks, defaults, description, name, platform)");
}

TEST_F(SuiteTest, ACheckThatCannotFinishWithinItsDeadlineIsRefused) {
  EXPECT_EQ(error("name: s\nchecks:\n  - id: g\n    kind: gemm\n    repetitions: 1000000\n    min_time: 0.05s\n"
                  "    deadline: 120s\n",
                  5, "checks[g].repetitions"),
            "repetitions: 1000000 × min_time: 0.05s is 13.9 h, past deadline: 120s");
  // Every point counts; timing from the suite's defaults names the check.
  EXPECT_EQ(error("name: s\ndefaults: {repetitions: 10, min_time: 1s, deadline: 25s}\nchecks:\n  - id: ar\n"
                  "    kind: allreduce\n    params: {sizes: [1KiB, 1MiB, 4MiB]}\n",
                  4, "checks[ar]"),
            "3 points × repetitions: 10 × min_time: 1s is 30 s, past deadline: 25s");
  EXPECT_EQ(error("name: s\nchecks:\n  - {id: g, kind: gemm, min_time: 1s, deadline: 4s}\n", 3, "checks[g].min_time"),
            "repetitions: 5 × min_time: 1s is 5 s, past deadline: 4s");
  EXPECT_NO_THROW(load_suite(write("name: s\nchecks:\n  - {id: g, kind: gemm, min_time: 1s, deadline: 5s}\n")));
}

TEST_F(SuiteTest, P2pRunsBetweenRanksOnly) {
  EXPECT_EQ(error("name: s\nchecks:\n  - id: p\n    kind: p2p\n    scope: gpu\n", 5, "checks[p].scope"),
            "kind p2p runs at scope node, nvlink_domain, rack, cluster");
  EXPECT_EQ(load_suite(write("name: s\nchecks:\n  - {id: p, kind: p2p}\n")).checks[0].scope, Scope::node);
}

TEST(Suite, TheSmokeSuiteLoads) {
  const Suite s = load_suite(RACKQUAL_SOURCE_DIR "/suites/smoke.yaml");
  EXPECT_EQ(s.name, "smoke");
  EXPECT_FALSE(s.checks.empty());
}

TEST(Suite, TheRackBringupSuiteGatesLatencyBelowAMebibyteAndBusbwAbove) {
  const Suite s = load_suite(RACKQUAL_SOURCE_DIR "/suites/rack-bringup.yaml");
  int latency = 0, bandwidth = 0;
  for (const auto& check : s.checks)
    for (const auto& c : check.criteria) {
      if (!c.at) continue;
      if (c.metric == "time_p95_us") {
        EXPECT_LT(*c.at, 1 << 20) << check.id;
        EXPECT_GE(check.repetitions, 20) << check.id;
        ++latency;
      }
      if (c.metric == "busbw_gbps" || c.metric == "bandwidth_gbps") {
        if (*c.at >= 1 << 20) ++bandwidth;
      }
    }
  EXPECT_GE(latency, 1);
  EXPECT_GE(bandwidth, 1);
  EXPECT_TRUE(std::any_of(s.checks.begin(), s.checks.end(), [](const Check& c) { return c.kind->name() == "p2p"; }));
}

}  // namespace
}  // namespace rackqual
