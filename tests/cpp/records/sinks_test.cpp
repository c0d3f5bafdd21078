// The JUnit XML and Prometheus textfile sinks: escaping, units in base units, names, series
// that never repeat, and files replaced whole.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "rackqual/plan/plan.hpp"
#include "rackqual/records/sink.hpp"
#include "rackqual/records/sink_format.hpp"
#include "temp_dir.hpp"

namespace rackqual {
namespace {

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(SinkFormat, IllFormedUtf8BecomesReplacementCharacters) {
  EXPECT_EQ(valid_utf8("gpu \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x94\xA5"), "gpu \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x94\xA5");
  EXPECT_EQ(valid_utf8("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(valid_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");        // overlong '/'
  EXPECT_EQ(valid_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");   // a surrogate
  EXPECT_EQ(valid_utf8("\xE2\x82"), "\xEF\xBF\xBD\xEF\xBF\xBD");        // cut short
}

TEST(SinkFormat, XmlEscapesMarkupQuotesAndControlCharacters) {
  EXPECT_EQ(xml_escaped("1.2 < 3 & 4 > \"5\" 'six'"), "1.2 &lt; 3 &amp; 4 &gt; &quot;5&quot; &apos;six&apos;");
  EXPECT_EQ(xml_escaped("a\tb\nc\rd"), "a&#9;b&#10;c&#13;d");
  EXPECT_EQ(xml_escaped(std::string("nul\0bell\x07" "esc\x1b", 13)), "nul\\x00bell\\x07esc\\x1b");
  EXPECT_EQ(xml_escaped("\xEF\xBF\xBF\xEF\xBF\xBE"), "\xEF\xBF\xBD\xEF\xBF\xBD");   // no XML characters
  EXPECT_EQ(xml_escaped("bad \xFE byte"), "bad \xEF\xBF\xBD byte");
  EXPECT_EQ(xml_escaped("r\xC3\xA9sum\xC3\xA9"), "r\xC3\xA9sum\xC3\xA9");
}

TEST(SinkFormat, PrometheusEscapesLabelValuesAndHelp) {
  EXPECT_EQ(prometheus_label_value("a\\b \"c\"\nd"), "a\\\\b \\\"c\\\"\\nd");
  EXPECT_EQ(prometheus_label_value("tab\there\x01"), "tab\xEF\xBF\xBDhere\xEF\xBF\xBD");
  EXPECT_EQ(prometheus_label_value("\xFF"), "\xEF\xBF\xBD");
  EXPECT_EQ(prometheus_help("2mnk / time \"quoted\" a\\b\nnext"), "2mnk / time \"quoted\" a\\\\b\\nnext");
  EXPECT_EQ(prometheus_name_part("gemm-fp32"), "gemm_fp32");
  EXPECT_EQ(prometheus_name_part("--a..b--"), "a_b");
  EXPECT_EQ(prometheus_name_part("8gpu"), "_8gpu");
}

TEST(SinkFormat, UnitsConvertToBaseUnits) {
  const auto check = [](const std::string& unit, const std::string& suffix, double factor) {
    const BaseUnit b = base_unit(unit);
    EXPECT_EQ(b.suffix, suffix) << unit;
    EXPECT_DOUBLE_EQ(b.factor, factor) << unit;
  };
  check("TFLOP/s", "flops_per_second", 1e12);
  check("GB/s", "bytes_per_second", 1e9);
  check("s", "seconds", 1);
  check("us", "seconds", 1e-6);
  check("ms", "seconds", 1e-3);
  check("fraction", "ratio", 1);
  check("%", "ratio", 0.01);
  check("TFLOP/s/W", "flops_per_joule", 1e12);
  check("GB/s/W", "bytes_per_joule", 1e9);
  check("tokens/s", "tokens_per_second", 1);
  // Unknown: the value as it is, the unit's own name sanitized.
  check("widgets/s", "widgets_per_second", 1);
  check("Link-Errors/h", "link_errors_per_h", 1);
  check("", "", 1);
}

TEST(SinkFormat, MetricNamesDropTheUnitTheyStateAndTakeTheBaseUnit) {
  EXPECT_EQ(prometheus_metric_name("gemm", "tflops", "TFLOP/s"), "rackqual_gemm_flops_per_second");
  EXPECT_EQ(prometheus_metric_name("gemm", "tflops_per_watt", "TFLOP/s/W"), "rackqual_gemm_flops_per_joule");
  EXPECT_EQ(prometheus_metric_name("hbm", "gbps", "GB/s"), "rackqual_hbm_bytes_per_second");
  EXPECT_EQ(prometheus_metric_name("allreduce", "busbw_gbps", "GB/s"), "rackqual_allreduce_busbw_bytes_per_second");
  EXPECT_EQ(prometheus_metric_name("allreduce", "time_p95_us", "us"), "rackqual_allreduce_time_p95_seconds");
  EXPECT_EQ(prometheus_metric_name("transformer_step", "step_time_s", "s"), "rackqual_transformer_step_step_time_seconds");
  EXPECT_EQ(prometheus_metric_name("transformer_step", "mfu", "fraction"), "rackqual_transformer_step_mfu_ratio");
  EXPECT_EQ(prometheus_metric_name("transformer_step", "tokens_per_s", "tokens/s"),
            "rackqual_transformer_step_tokens_per_second");
  EXPECT_EQ(prometheus_metric_name("transformer_step", "model_tflops", "TFLOP/s"),
            "rackqual_transformer_step_model_flops_per_second");
  EXPECT_EQ(prometheus_metric_name("p2p", "bandwidth_gbps", "GB/s"), "rackqual_p2p_bandwidth_bytes_per_second");
  EXPECT_EQ(prometheus_metric_name("fans", "speed", "widgets/s"), "rackqual_fans_speed_widgets_per_second");
  EXPECT_EQ(prometheus_metric_name("fans", "count", ""), "rackqual_fans_count");
}

TEST(SinkFormat, OverallVerdictIsTheWorstJudgedOne) {
  EXPECT_EQ(overall_verdict({Verdict::pass, Verdict::skip}), Verdict::pass);
  EXPECT_EQ(overall_verdict({Verdict::skip, Verdict::skip}), Verdict::skip);
  EXPECT_EQ(overall_verdict({Verdict::skip, Verdict::warn, Verdict::pass}), Verdict::warn);
  EXPECT_EQ(overall_verdict({Verdict::fail, Verdict::error, Verdict::pass}), Verdict::error);
}

TEST(SinkFormat, ParsesRecordTimes) {
  EXPECT_DOUBLE_EQ(*parse_utc("1970-01-02T00:00:01.250Z"), 86401.25);
  EXPECT_FALSE(parse_utc("yesterday"));
  EXPECT_FALSE(parse_utc("2026-11-21T21:03:00.123+01:00"));
}

// Records of a small run: two GPUs of one check, a swept node collective, an error, an
// isolation probe and qualify-style verdicts, with names and reasons that need escaping.
class SinkRun : public ::testing::Test {
 protected:
  void SetUp() override {
    platform_ = load_platform(dir_.write("lab.yaml", "name: lab\npeaks:\n  busbw_gbps: {value: 400, unit: GB/s, source: test}\n"));
    suite_ = load_suite(dir_.write("s.yaml", R"(name: lab-suite
checks:
  - id: gemm
    kind: gemm
    params: {m: 64, n: 64, k: 64, dtype: fp32}
    criteria:
      tflops: {min: 2, warn_below: 3}
  - id: ar
    kind: allreduce
    scope: node
    params: {sizes: [1MiB, 1GiB]}
    criteria:
      busbw_gbps: {min_fraction_of_peak: 0.5, at: 1GiB}
      time_us: {max: 100, at: 1MiB}
)"));
    plans_ = plan_suite(suite_, platform_);
  }

  Record gpu_record(int rank, double tflops, Verdict verdict, const std::string& reason) const {
    Record r;
    r.run_id = "run";
    r.time = "2026-11-21T21:03:00.500Z";
    r.suite = "lab-suite";
    r.check = "gemm";
    r.kind = "gemm";
    r.backend = "host";
    r.scope = Scope::gpu;
    r.host = "node\"a\\" + std::to_string(rank / 2);
    r.group = r.host;
    r.rack = "r1";
    r.rank = rank;
    r.device = DeviceInfo{rank % 2, "H100", "GPU-x", "SN-" + std::to_string(rank)};
    r.params = plans_[0].points[0].params.to_json();
    r.metric = "tflops";
    r.unit = "TFLOP/s";
    r.better = Better::higher;
    r.value = tflops;
    r.correct = true;
    r.criterion = "tflops: {min: 2, warn_below: 3}";
    r.verdict = verdict;
    r.reason = reason;
    return r;
  }

  Record node_record(std::size_t point, const std::string& metric, const std::string& unit, double value) const {
    Record r = gpu_record(0, 0, Verdict::pass, "fine");
    r.check = "ar";
    r.kind = "allreduce";
    r.scope = Scope::node;
    r.device.reset();
    r.params = plans_[1].points[point].params.to_json();
    r.metric = metric;
    r.unit = unit;
    r.value = value;
    return r;
  }

  std::vector<Record> records() const {
    std::vector<Record> out;
    out.push_back(gpu_record(0, 3.5, Verdict::pass, "3.5 >= min 2"));
    out.push_back(gpu_record(1, 1.5, Verdict::fail, "1.5 < min 2 <b>&\"'\x01"));
    out.push_back(gpu_record(2, 2.5, Verdict::warn, "2.5 < warn_below 3"));
    out.push_back(node_record(0, "time_us", "us", 50));
    out.push_back(node_record(0, "busbw_gbps", "GB/s", 210));
    out.push_back(node_record(1, "time_us", "us", 5000));
    out.push_back(node_record(1, "busbw_gbps", "GB/s", 190));
    out.back().verdict = Verdict::fail;
    out.back().reason = "190 < min 200";
    Record probe = node_record(1, "busbw_gbps", "GB/s", 380);   // a sub-group's figure: no series of its own
    probe.isolation = {{"probe", 1}};
    out.push_back(probe);
    Record error = node_record(1, "", "", 0);
    error.metric.clear();
    error.unit.clear();
    error.value.reset();
    error.host = "node\"a\\1";
    error.group = error.host;
    error.verdict = Verdict::error;
    error.reason = "rank 2 never arrived";
    out.push_back(error);
    // Qualify's node and rack verdicts carry rank 0's device yet speak for a group.
    Record node = gpu_record(0, 0, Verdict::pass, "node fine");
    node.check = node.kind = "qualify";
    node.scope = Scope::node;
    node.metric.clear();
    node.value.reset();
    Record rack = node;
    rack.scope = Scope::rack;
    rack.group = "r1";
    rack.verdict = Verdict::fail;
    out.push_back(node);
    out.push_back(rack);
    return out;
  }

  unit::TempDir dir_;
  Platform platform_;
  Suite suite_;
  std::vector<CheckPlan> plans_;
};

// "name{labels}" -> value of every sample of a textfile; fails on a repeated series.
std::map<std::string, double> samples_of(const std::string& text) {
  std::map<std::string, double> out;
  for (const auto& line : lines_of(text)) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    EXPECT_TRUE(out.emplace(line.substr(0, space), std::stod(line.substr(space + 1))).second) << "repeated: " << line;
  }
  return out;
}

TEST_F(SinkRun, PrometheusTextfileHasEverySeriesOnceInBaseUnits) {
  const std::string path = (dir_.path() / "rackqual.prom").string();
  {
    auto sink = prometheus_sink(path, plans_);
    for (const auto& r : records()) sink->write(r);
    sink->end_run("finished", 1);
  }
  const std::string text = read(path);
  const auto samples = samples_of(text);
  const std::string gpu1 = R"(suite="lab-suite",check="gemm",group="node\"a\\0",host="node\"a\\0",rack="r1",gpu="1",serial="SN-1")";
  EXPECT_DOUBLE_EQ(samples.at("rackqual_gemm_flops_per_second{" + gpu1 + "}"), 1.5e12);
  EXPECT_DOUBLE_EQ(samples.at("rackqual_gemm_flops_per_second_threshold{" + gpu1 + ",bound=\"min\"}"), 2e12);
  EXPECT_DOUBLE_EQ(samples.at("rackqual_gemm_flops_per_second_threshold{" + gpu1 + ",bound=\"warn_below\"}"), 3e12);
  for (const char* state : {"pass", "warn", "error", "skip"})
    EXPECT_EQ(samples.at("rackqual_check_verdict{" + gpu1 + ",verdict=\"" + state + "\"}"), 0) << state;
  EXPECT_EQ(samples.at("rackqual_check_verdict{" + gpu1 + ",verdict=\"fail\"}"), 1);

  // The swept size is a label; bounds relative to a peak are absolute by now.
  const std::string node = R"(suite="lab-suite",check="ar",group="node\"a\\0",host="node\"a\\0",rack="r1",gpu="",serial="")";
  EXPECT_DOUBLE_EQ(samples.at("rackqual_allreduce_busbw_bytes_per_second{" + node + ",size=\"1073741824\"}"), 190e9);
  EXPECT_DOUBLE_EQ(samples.at("rackqual_allreduce_busbw_bytes_per_second_threshold{" + node + ",size=\"1073741824\",bound=\"min\"}"), 200e9);
  EXPECT_DOUBLE_EQ(samples.at("rackqual_allreduce_time_seconds{" + node + ",size=\"1048576\"}"), 50e-6);
  EXPECT_DOUBLE_EQ(samples.at("rackqual_allreduce_time_seconds_threshold{" + node + ",size=\"1048576\",bound=\"max\"}"), 100e-6);
  EXPECT_EQ(samples.count("rackqual_allreduce_time_seconds_threshold{" + node + ",size=\"1073741824\",bound=\"max\"}"), 0u);
  EXPECT_EQ(samples.at("rackqual_check_verdict{" + node + ",verdict=\"fail\"}"), 1);
  const std::string errored = R"(suite="lab-suite",check="ar",group="node\"a\\1",host="node\"a\\1",rack="r1",gpu="",serial="")";
  EXPECT_EQ(samples.at("rackqual_check_verdict{" + errored + ",verdict=\"error\"}"), 1);

  // Qualify's node and rack verdicts are group verdicts, apart from the GPU's.
  EXPECT_EQ(samples.at(R"(rackqual_check_verdict{suite="lab-suite",check="qualify",group="r1",host="node\"a\\0",rack="r1",gpu="",serial="",verdict="fail"})"), 1);
  EXPECT_EQ(samples.at(R"(rackqual_check_verdict{suite="lab-suite",check="qualify",group="node\"a\\0",host="node\"a\\0",rack="r1",gpu="",serial="",verdict="pass"})"), 1);

  EXPECT_EQ(samples.at(R"(rackqual_run_exit_code{suite="lab-suite"})"), 1);
  EXPECT_GT(samples.at(R"(rackqual_run_timestamp_seconds{suite="lab-suite"})"), 1.7e9);

  // Every family once, HELP and TYPE gauge before its samples; each verdict state set sums to 1.
  std::set<std::string> helped, typed;
  std::map<std::string, double> state_sums;
  for (const auto& line : lines_of(text)) {
    if (line.rfind("# HELP ", 0) == 0) {
      EXPECT_TRUE(helped.insert(line.substr(7, line.find(' ', 7) - 7)).second) << line;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      EXPECT_TRUE(typed.insert(line.substr(7, line.find(' ', 7) - 7)).second) << line;
      EXPECT_EQ(line.substr(line.rfind(' ') + 1), "gauge");
    }
    if (line.empty() || line[0] == '#') continue;
    const std::string name = line.substr(0, line.find('{'));
    EXPECT_TRUE(typed.count(name)) << line;
    if (name == "rackqual_check_verdict") {
      const auto state = line.find(",verdict=");
      state_sums[line.substr(0, state)] += std::stod(line.substr(line.rfind(' ') + 1));
    }
  }
  EXPECT_EQ(helped, typed);
  EXPECT_EQ(state_sums.size(), 7u);   // 3 GPUs, 2 nodes of `ar`, qualify's node and rack
  for (const auto& [series, sum] : state_sums) EXPECT_EQ(sum, 1) << series;
  // The probe of a sub-group adds no figure of its own.
  EXPECT_EQ(samples.count("rackqual_allreduce_busbw_bytes_per_second{" + node + ",size=\"1073741824\"}"), 1u);
}

TEST_F(SinkRun, JunitXmlCountsVerdictsAndEscapesReasons) {
  const std::string path = (dir_.path() / "junit.xml").string();
  {
    auto sink = junit_sink(path);
    const auto all = records();
    sink->begin_check(1, 2, "gemm");
    for (const auto& r : all)
      if (r.check == "gemm") sink->write(r);
    sink->end_check(Verdict::fail);
    sink->begin_check(2, 2, "ar");
    for (const auto& r : all)
      if (r.check == "ar") sink->write(r);
    sink->end_check(Verdict::error);
    for (const auto& r : all)
      if (r.check == "qualify") sink->write(r);
    sink->end_run("finished", 3);
  }
  const std::string xml = read(path);
  EXPECT_EQ(xml.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"lab-suite\" tests=\"8\" failures=\"3\" errors=\"1\"", 0), 0u) << xml;
  EXPECT_NE(xml.find("<testsuite name=\"gemm\" tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"0\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<testsuite name=\"ar\" tests=\"3\" failures=\"1\" errors=\"1\" skipped=\"0\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<testsuite name=\"qualify\" tests=\"2\" failures=\"1\""), std::string::npos) << xml;
  // A test case per GPU (with its serial) and per group and point.
  EXPECT_NE(xml.find("classname=\"lab-suite.gemm\" name=\"node&quot;a\\0 gpu 1 [SN-1]\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("name=\"node node&quot;a\\0 size=1GiB\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("name=\"node node&quot;a\\0 size=1MiB\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<failure message=\"1.5 &lt; min 2 &lt;b&gt;&amp;&quot;&apos;\\x01\" type=\"tflops: {min: 2, warn_below: 3}\">"),
            std::string::npos) << xml;
  EXPECT_NE(xml.find("<error message=\"rank 2 never arrived\" type=\"error\">"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<system-out>warn (passes): 2.5 &lt; warn_below 3"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<property name=\"run_exit_code\" value=\"3\"/>"), std::string::npos) << xml;
  for (char c : xml) EXPECT_TRUE(c == '\n' || static_cast<unsigned char>(c) >= 0x20) << "a raw control character";
}

TEST_F(SinkRun, BothSinksWriteWhatTheyHaveWhenTheRunEndsByAnError) {
  const std::string xml = (dir_.path() / "junit.xml").string(), prom = (dir_.path() / "rackqual.prom").string();
  {
    auto junit = junit_sink(xml);
    auto prometheus = prometheus_sink(prom, plans_);
    junit->begin_check(1, 2, "gemm");
    for (auto* sink : {junit.get(), prometheus.get()}) sink->write(records()[1]);
  }   // destroyed without end_run, as when an exception leaves the runner
  EXPECT_NE(read(xml).find("<property name=\"run_status\" value=\"aborted\"/>"), std::string::npos);
  EXPECT_NE(read(xml).find("failures=\"1\""), std::string::npos);
  EXPECT_EQ(samples_of(read(prom)).at(R"(rackqual_run_exit_code{suite="lab-suite"})"), 3);
}

}  // namespace
}  // namespace rackqual
