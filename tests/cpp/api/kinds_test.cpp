#include "rackqual/api/kind.hpp"

#include <gtest/gtest.h>

#include "rackqual/api/kind_params.hpp"
#include "rackqual/base/error.hpp"

namespace rackqual {
namespace {

const Kind& kind(const std::string& name) {
  const Kind* k = KindRegistry::instance().find(name);
  if (!k) throw std::runtime_error("kind not registered: " + name);
  return *k;
}

// Every parameter at its default, then the given overrides (written as a suite would).
Params params(const Kind& k, const std::map<std::string, std::string>& overrides = {}) {
  Params p;
  for (const auto& spec : k.params()) {
    auto it = overrides.find(spec.name);
    p.set(spec.name, parse_param(spec, it == overrides.end() ? spec.default_value : it->second));
  }
  // Typed parameters as the planner decodes them for a point (left out where they do not decode,
  // for the tests of what validate() rejects).
  try {
    p.set_typed(k.decode(p));
  } catch (const FieldError&) {
  }
  return p;
}

TEST(KindRegistry, FindsTheBuiltInKindsSortedByName) {
  std::vector<std::string> names;
  for (const Kind* k : KindRegistry::instance().all()) names.push_back(k->name());
  EXPECT_EQ(names, (std::vector<std::string>{"allreduce", "gemm", "hbm", "p2p", "transformer_step"}));
  EXPECT_EQ(KindRegistry::instance().find("nccl"), nullptr);
}

TEST(KindRegistry, RejectsASecondKindOfTheSameName) {
  struct Twin : Kind {
    std::string name() const override { return "gemm"; }
    std::string help() const override { return ""; }
    std::vector<ParamSpec> params() const override { return {}; }
    std::vector<MetricSpec> metrics() const override { return {}; }
    std::vector<Scope> scopes() const override { return {Scope::gpu}; }
    std::map<std::string, double> derive(const Params&, const Sample&, int) const override { return {}; }
    std::string peak_key(const std::string&, const Params&) const override { return ""; }
  };
  EXPECT_THROW(KindRegistry::instance().add(std::make_unique<Twin>()), std::logic_error);
  EXPECT_NE(KindRegistry::instance().find("gemm")->params().size(), 0u);
}

TEST(Kind, DefaultsParse) {
  for (const Kind* k : KindRegistry::instance().all()) {
    EXPECT_FALSE(k->help().empty()) << k->name();
    EXPECT_FALSE(k->scopes().empty()) << k->name();
    EXPECT_NO_THROW(k->validate(params(*k))) << k->name();
  }
}

TEST(Kind, MetricAndParamLookup) {
  const Kind& gemm = kind("gemm");
  ASSERT_TRUE(gemm.metric("tflops"));
  EXPECT_EQ(gemm.metric("tflops")->unit, "TFLOP/s");
  EXPECT_EQ(gemm.metric("tflops")->better, Better::higher);
  EXPECT_FALSE(gemm.metric("gbps"));
  ASSERT_TRUE(gemm.param("k"));
  EXPECT_EQ(gemm.param("k")->type, ParamType::integer);
  EXPECT_FALSE(gemm.param("sizes"));
  EXPECT_EQ(kind("allreduce").metric("time_us")->better, Better::lower);
}

TEST(Better, Names) {
  EXPECT_EQ(to_string(Better::higher), "higher");
  EXPECT_EQ(to_string(Better::lower), "lower");
}

TEST(Scope, NamesRoundTrip) {
  for (Scope s : {Scope::gpu, Scope::node, Scope::nvlink_domain, Scope::rack, Scope::cluster})
    EXPECT_EQ(parse_scope(to_string(s)), s);
  EXPECT_EQ(to_string(Scope::nvlink_domain), "nvlink_domain");
  EXPECT_EQ(parse_scope("host"), std::nullopt);
  EXPECT_EQ(parse_scope("GPU"), std::nullopt);
}

TEST(Gemm, Declaration) {
  const Kind& gemm = kind("gemm");
  EXPECT_EQ(gemm.scopes(), std::vector<Scope>{Scope::gpu});
  EXPECT_EQ(gemm.sweep_param(), "");
  EXPECT_EQ(gemm.min_ranks(), 1);
  const Params p = params(gemm);
  EXPECT_EQ(p.integer("m"), 4096);
  EXPECT_EQ(p.integer("n"), 4096);
  EXPECT_EQ(p.integer("k"), 4096);
  EXPECT_EQ(p.text("dtype"), "fp32");
  EXPECT_EQ(gemm.points(p), std::vector<Params>{p});
}

TEST(Gemm, TflopsIsTwoMnkOverTime) {
  const Kind& gemm = kind("gemm");
  const auto m = gemm.derive(params(gemm, {{"m", "1000"}, {"n", "2000"}, {"k", "3000"}}), 0.5, 1);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_DOUBLE_EQ(m.at("tflops"), 2.0 * 1000 * 2000 * 3000 / 0.5 / 1e12);
  EXPECT_DOUBLE_EQ(gemm.derive(params(gemm), 1.0, 4).at("tflops"), 2.0 * 4096.0 * 4096.0 * 4096.0 / 1e12);
}

TEST(Gemm, PeakKeyFollowsDtype) {
  const Kind& gemm = kind("gemm");
  EXPECT_EQ(gemm.peak_key("tflops", params(gemm)), "tflops_fp32");
  EXPECT_EQ(gemm.peak_key("tflops", params(gemm, {{"dtype", "bf16"}})), "tflops_bf16");
}

TEST(Hbm, GbpsCountsArraysMoved) {
  const Kind& hbm = kind("hbm");
  const std::map<std::string, double> moved{{"read", 1}, {"write", 1}, {"copy", 2},
                                            {"scale", 2}, {"add", 3},   {"triad", 3}};
  for (const auto& [op, arrays] : moved) {
    const auto m = hbm.derive(params(hbm, {{"op", op}, {"bytes", "1GB"}}), 0.25, 1);
    ASSERT_EQ(m.size(), 1u);
    EXPECT_DOUBLE_EQ(m.at("gbps"), arrays * 1e9 / 0.25 / 1e9) << op;
  }
  EXPECT_DOUBLE_EQ(hbm.derive(params(hbm, {{"op", "triad"}, {"bytes", "64MiB"}}), 0.01, 1).at("gbps"),
                   3.0 * 67108864 / 0.01 / 1e9);
}

TEST(Hbm, Declaration) {
  const Kind& hbm = kind("hbm");
  const Params p = params(hbm);
  EXPECT_EQ(p.text("op"), "triad");
  EXPECT_EQ(p.integer("bytes"), 1LL << 30);
  EXPECT_EQ(hbm.param("bytes")->min, 4096);
  EXPECT_EQ(hbm.peak_key("gbps", p), "memory_gbps");
  EXPECT_EQ(hbm.scopes(), std::vector<Scope>{Scope::gpu});
  EXPECT_EQ(hbm.min_ranks(), 1);
}

TEST(Hbm, BytesMustBeAMultipleOf16) {
  const Kind& hbm = kind("hbm");
  EXPECT_NO_THROW(hbm.validate(params(hbm, {{"bytes", "4112"}})));
  try {
    hbm.validate(params(hbm, {{"bytes", "4100"}}));
    FAIL() << "no FieldError";
  } catch (const FieldError& e) {
    EXPECT_EQ(e.field(), "bytes");
    EXPECT_EQ(e.message(), "must be a multiple of 16 (kernels move 16-byte vectors)");
  }
}

TEST(Allreduce, Declaration) {
  const Kind& allreduce = kind("allreduce");
  EXPECT_EQ(allreduce.sweep_param(), "sizes");
  EXPECT_EQ(allreduce.scopes(), (std::vector<Scope>{Scope::node, Scope::nvlink_domain, Scope::rack, Scope::cluster}));
  const Params p = params(allreduce);
  EXPECT_EQ(p.list("sizes"), (std::vector<std::int64_t>{1 << 20, 64 << 20}));
  EXPECT_EQ(p.text("dtype"), "fp32");
  EXPECT_EQ(p.text("in_place"), "false");
  EXPECT_EQ(allreduce.peak_key("busbw_gbps", p), "busbw_gbps");
  EXPECT_EQ(allreduce.peak_key("time_us", p), "");
  EXPECT_EQ(allreduce.min_ranks(), 2);
}

TEST(Allreduce, PointsOnePerSize) {
  const Kind& allreduce = kind("allreduce");
  const Params p = params(allreduce, {{"sizes", "64KiB,4MiB,1GiB"}, {"dtype", "fp64"}});
  const auto points = allreduce.points(p);
  ASSERT_EQ(points.size(), 3u);
  const std::vector<std::int64_t> sizes{64 << 10, 4 << 20, 1 << 30};
  for (std::size_t i = 0; i < points.size(); ++i) {
    EXPECT_EQ(points[i].list("sizes"), std::vector<std::int64_t>{sizes[i]});
    EXPECT_EQ(points[i].text("dtype"), "fp64");
    EXPECT_EQ(points[i].text("in_place"), "false");
  }
}

TEST(Allreduce, BandwidthFromTime) {
  const Kind& allreduce = kind("allreduce");
  const Params point = allreduce.points(params(allreduce, {{"sizes", "1GB"}}))[0];
  for (const auto& [ranks, factor] : std::map<int, double>{{2, 1.0}, {4, 1.5}, {8, 1.75}}) {
    const auto m = allreduce.derive(point, 0.5, ranks);
    ASSERT_EQ(m.size(), 3u);
    EXPECT_DOUBLE_EQ(m.at("time_us"), 500000);
    EXPECT_DOUBLE_EQ(m.at("algbw_gbps"), 2.0);
    EXPECT_DOUBLE_EQ(m.at("busbw_gbps"), 2.0 * factor) << ranks << " ranks";
  }
  EXPECT_DOUBLE_EQ(allreduce.derive(point, 0.5, 1).at("busbw_gbps"), 0.0);
}

TEST(Allreduce, SizesMustHoldWholeElements) {
  const Kind& allreduce = kind("allreduce");
  EXPECT_NO_THROW(allreduce.validate(params(allreduce, {{"sizes", "10"}, {"dtype", "fp16"}})));
  EXPECT_NO_THROW(allreduce.validate(params(allreduce, {{"sizes", "12"}, {"dtype", "fp32"}})));
  try {
    allreduce.validate(params(allreduce, {{"sizes", "16,12"}, {"dtype", "fp64"}}));
    FAIL() << "no FieldError";
  } catch (const FieldError& e) {
    EXPECT_EQ(e.field(), "sizes");
    EXPECT_EQ(e.message(), "12 bytes is not a whole number of fp64 elements");
  }
  EXPECT_THROW(allreduce.validate(params(allreduce, {{"sizes", "10"}, {"dtype", "fp32"}})), FieldError);
}

TEST(Allreduce, TailLatencyIsTheHarnesssPercentileOfTime) {
  const Kind& allreduce = kind("allreduce");
  const auto tail = allreduce.metric("time_p95_us");
  ASSERT_TRUE(tail);
  EXPECT_EQ(tail->unit, "us");
  EXPECT_EQ(tail->better, Better::lower);
  EXPECT_EQ(tail->percentile_of, "time_us");
  EXPECT_DOUBLE_EQ(tail->percentile, 0.95);
  const Params point = allreduce.points(params(allreduce, {{"sizes", "1KiB"}}))[0];
  EXPECT_EQ(allreduce.derive(point, 0.5, 2).count("time_p95_us"), 0u);   // not per sample
  EXPECT_EQ(allreduce.peak_key("time_p95_us", point), "");
}

TEST(P2p, Declaration) {
  const Kind& p2p = kind("p2p");
  EXPECT_EQ(p2p.sweep_param(), "sizes");
  EXPECT_EQ(p2p.scopes(), (std::vector<Scope>{Scope::node, Scope::nvlink_domain, Scope::rack, Scope::cluster}));
  EXPECT_EQ(p2p.min_ranks(), 2);
  const Params p = params(p2p);
  EXPECT_EQ(p.list("sizes"), (std::vector<std::int64_t>{1 << 20, 64 << 20}));
  std::vector<std::string> metrics;
  for (const auto& m : p2p.metrics()) metrics.push_back(m.name);
  EXPECT_EQ(metrics, (std::vector<std::string>{"time_us", "time_p95_us", "bandwidth_gbps", "bidirectional_gbps"}));
  EXPECT_EQ(p2p.metric("bandwidth_gbps")->better, Better::higher);
  EXPECT_EQ(p2p.metric("time_p95_us")->percentile_of, "time_us");
  for (const auto& m : p2p.metrics()) EXPECT_EQ(p2p.peak_key(m.name, p), "") << m.name;
}

TEST(P2p, PointsOnePerSizeAnyByteCount) {
  const Kind& p2p = kind("p2p");
  const auto points = p2p.points(params(p2p, {{"sizes", "1,7,4KiB"}}));
  ASSERT_EQ(points.size(), 3u);
  EXPECT_EQ(points[0].typed<P2pParams>().bytes, 1);
  EXPECT_EQ(points[1].typed<P2pParams>().bytes, 7);
  EXPECT_EQ(points[2].typed<P2pParams>().bytes, 4096);
  EXPECT_EQ(points[2].list("sizes"), std::vector<std::int64_t>{4096});
}

TEST(P2p, BandwidthFromTimeWhateverTheRankCount) {
  // 1 GB to each neighbour in turn: each rank sends 2 GB and receives 2 GB per launch.
  const Kind& p2p = kind("p2p");
  const Params point = p2p.points(params(p2p, {{"sizes", "1GB"}}))[0];
  for (int ranks : {2, 3, 8}) {
    const auto m = p2p.derive(point, 0.5, ranks);
    ASSERT_EQ(m.size(), 3u);
    EXPECT_DOUBLE_EQ(m.at("time_us"), 500000);
    EXPECT_DOUBLE_EQ(m.at("bandwidth_gbps"), 4.0) << ranks << " ranks";
    EXPECT_DOUBLE_EQ(m.at("bidirectional_gbps"), 8.0) << ranks << " ranks";
  }
}

TEST(TransformerStep, MetricsFromStepTimeAndPhases) {
  const Kind& step = kind("transformer_step");
  const Params p = params(step, {{"hidden", "64"}, {"heads", "4"}, {"seq", "32"}, {"micro_batch", "2"}, {"layers", "3"},
                                 {"vocab", "100"}});
  // 6 * (3 * 12 * 64^2 + 64 * 100) + 12 * 3 * 64 * 32 FLOPs per token, 64 tokens.
  const double flops = (6.0 * (3 * 12 * 64 * 64 + 64 * 100) + 12.0 * 3 * 64 * 32) * 64;
  const auto m = step.derive(p, Sample(0.5, {{"forward", 0.1}, {"backward", 0.3}, {"allreduce", 0.05}, {"optimizer", 0.05}}), 4);
  EXPECT_DOUBLE_EQ(m.at("step_time_s"), 0.5);
  EXPECT_DOUBLE_EQ(m.at("tokens_per_s"), 64.0 * 4 / 0.5);
  EXPECT_DOUBLE_EQ(m.at("model_tflops"), flops / 0.5 / 1e12);
  EXPECT_DOUBLE_EQ(m.at("backward_s"), 0.3);
  EXPECT_EQ(m.count("mfu"), 0u);   // the harness divides by the platform peak
  EXPECT_EQ(step.metric("mfu")->fraction_of_peak_of, "model_tflops");
  EXPECT_EQ(step.peak_key("model_tflops", p), "tflops_fp32");
  EXPECT_EQ(step.peak_key("step_time_s", p), "");
  EXPECT_EQ(step.derive(p, 0.5, 1).count("forward_s"), 0u);   // no phases reported, no phase metrics
}

TEST(TransformerStep, HeadsMustDivideHidden) {
  const Kind& step = kind("transformer_step");
  EXPECT_NO_THROW(step.validate(params(step, {{"hidden", "96"}, {"heads", "12"}})));
  try {
    step.validate(params(step, {{"hidden", "100"}, {"heads", "16"}}));
    FAIL() << "no FieldError";
  } catch (const FieldError& e) {
    EXPECT_EQ(e.field(), "heads");
    EXPECT_EQ(e.message(), "16 heads do not divide hidden 100");
  }
}

}  // namespace
}  // namespace rackqual
