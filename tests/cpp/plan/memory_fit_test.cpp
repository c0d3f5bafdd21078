// What each kind says a point needs, and the refusal of a suite the device cannot hold.
#include "rackqual/plan/memory_fit.hpp"

#include <gtest/gtest.h>

#include "kernels/common/transformer.hpp"
#include "kernels/common/transformer_math.hpp"
#include "kernels/host/transformer_primitives.hpp"
#include "kernels/model/model.hpp"
#include "rackqual/base/error.hpp"
#include "temp_dir.hpp"

namespace rackqual {
namespace {

constexpr double mib = 1 << 20, gib = 1 << 30;

// The first point of `kind` with every parameter at its default but the given ones.
MemoryNeed need(const std::string& name, const std::map<std::string, std::string>& overrides) {
  const Kind& kind = *KindRegistry::instance().find(name);
  Params p;
  for (const auto& spec : kind.params()) {
    const auto it = overrides.find(spec.name);
    p.set(spec.name, parse_param(spec, it == overrides.end() ? spec.default_value : it->second));
  }
  const auto need = kind.memory(kind.points(p).front());
  if (!need) throw std::runtime_error(name + " gives no memory estimate");
  return *need;
}

TEST(KindMemory, GemmHoldsItsOperandsAndTheLibrarysWorkspace) {
  const MemoryNeed fp64 = need("gemm", {{"m", "1000"}, {"n", "2000"}, {"k", "3000"}, {"dtype", "fp64"}});
  EXPECT_DOUBLE_EQ(fp64.bytes, (1000.0 * 3000 + 3000.0 * 2000 + 1000.0 * 2000) * 8 + 32 * mib);
  EXPECT_EQ(fp64.param, "k");
  // fp8 inputs, a bf16 output.
  const MemoryNeed fp8 = need("gemm", {{"m", "4096"}, {"n", "1024"}, {"k", "1024"}, {"dtype", "fp8"}});
  EXPECT_DOUBLE_EQ(fp8.bytes, (4096.0 * 1024 + 1024.0 * 1024) * 1 + 4096.0 * 1024 * 2 + 32 * mib);
  EXPECT_EQ(fp8.param, "m");
  EXPECT_EQ(need("gemm", {{"n", "8192"}}).param, "n");
}

TEST(KindMemory, HbmHoldsThreeArrays) {
  const MemoryNeed hbm = need("hbm", {{"op", "copy"}, {"bytes", "2GiB"}});
  EXPECT_DOUBLE_EQ(hbm.bytes, 6 * gib);
  EXPECT_EQ(hbm.param, "bytes");
}

TEST(KindMemory, AllreduceHoldsASendAndAReceiveBuffer) {
  EXPECT_DOUBLE_EQ(need("allreduce", {{"sizes", "256MiB"}}).bytes, 512 * mib);
  EXPECT_DOUBLE_EQ(need("allreduce", {{"sizes", "256MiB"}, {"in_place", "true"}}).bytes, 256 * mib);
  EXPECT_EQ(need("allreduce", {{"sizes", "256MiB"}}).param, "sizes");
}

TEST(KindMemory, P2pHoldsWhatItSendsAndWhatArrivesFromEachSide) {
  const MemoryNeed p2p = need("p2p", {{"sizes", "64MiB"}});
  EXPECT_DOUBLE_EQ(p2p.bytes, 3 * 64 * mib);
  EXPECT_EQ(p2p.param, "sizes");
}

// The estimate is what the host's model really allocates, byte for byte.
TEST(KindMemory, TransformerStepIsWhatTheModelAllocates) {
  const transformer::Shape shape{64, 4, 32, 2, 3, 100};
  host::TransformerPrimitives primitives;
  const model::Model model(primitives, shape, model::Precision{DType::fp32, DType::fp32, DType::fp32});
  EXPECT_DOUBLE_EQ(transformer::resident_bytes(shape, 4, 4), static_cast<double>(primitives.held()));

  const MemoryNeed step = need("transformer_step", {{"hidden", "64"}, {"heads", "4"}, {"seq", "32"}, {"micro_batch", "2"},
                                                    {"layers", "3"}, {"vocab", "100"}});
  EXPECT_DOUBLE_EQ(step.bytes, static_cast<double>(primitives.held()));
  // Long sequences: the activations dominate; a wide model: its weights and optimizer state.
  EXPECT_EQ(need("transformer_step", {{"seq", "8192"}, {"micro_batch", "8"}}).param, "seq");
  EXPECT_EQ(need("transformer_step", {{"hidden", "8192"}, {"heads", "64"}, {"seq", "16"}}).param, "hidden");
  // bf16: a compute copy of the weights and of the backward scratch, and the bf16 exchange buffer.
  const transformer::Shape s{1024, 16, 512, 1, 2, 8192};
  const double p = static_cast<double>(transformer::Layout(s).total());
  EXPECT_GT(transformer::resident_bytes(s, 2, 2), transformer::resident_bytes(s, 2, 4));
  EXPECT_DOUBLE_EQ(transformer::resident_bytes(s, 2, 2) - transformer::resident_bytes(s, 2, 4), 2 * p);
}

class MemoryFit : public ::testing::Test {
 protected:
  // Loaded and planned as prepare_suite does, without a backend's operations.
  PreparedSuite suite(const std::string& checks) {
    PreparedSuite prepared;
    prepared.path = dir_.write("suite.yaml", "name: s\nplatform: host\nchecks:\n" + checks);
    prepared.suite = std::make_unique<Suite>(load_suite(prepared.path));
    prepared.platform = platform_profile(prepared.path, "host", "platform");
    prepared.plans = plan_suite(*prepared.suite, prepared.platform);
    return prepared;
  }
  // Expects check_memory to refuse at `line` and `field`; returns the message.
  std::string refusal(const PreparedSuite& s, const DeviceInfo& device, int ranks, int line, const std::string& field) {
    try {
      check_memory(s, device, ranks);
    } catch (const InputError& e) {
      EXPECT_EQ(e.file(), s.suite->path);
      EXPECT_EQ(e.line(), line);
      EXPECT_EQ(e.field(), field);
      return e.message();
    }
    ADD_FAILURE() << "not refused: " << field;
    return "";
  }
  static DeviceInfo gpu(double bytes) {
    DeviceInfo d{0, "GPU", "", ""};
    d.memory_bytes = bytes;
    return d;
  }
  static DeviceInfo host(double bytes) {
    DeviceInfo d = gpu(bytes);
    d.memory_shared = true;
    return d;
  }

  unit::TempDir dir_;
};

TEST_F(MemoryFit, AGemmLargerThanTheGpuIsRefusedWithBothFigures) {
  const auto s = suite("  - id: small\n    kind: gemm\n  - id: big\n    kind: gemm\n    params:\n      m: 100000\n"
                       "      n: 100000\n      k: 100000\n      dtype: fp64\n");
  // 3 x 1e10 x 8 bytes and 32 MiB of workspace: 223.5 GiB.
  EXPECT_EQ(refusal(s, gpu(80 * gib), 1, 9, "checks[big].params.m"), "big needs 223.5 GiB per GPU, the device has 80.0 GiB");
}

TEST_F(MemoryFit, HostMemoryIsSharedByTheRanksOfTheHost) {
  const auto s = suite("  - id: mem\n    kind: hbm\n    params: {bytes: 4GiB}\n");
  EXPECT_NO_THROW(check_memory(s, host(16 * gib), 1));
  EXPECT_EQ(refusal(s, host(16 * gib), 2, 6, "checks[mem].params.bytes"),
            "mem needs 12.0 GiB per rank (24.0 GiB for the 2 ranks of this host), the host has 16.0 GiB");
  EXPECT_EQ(refusal(s, host(8 * gib), 1, 6, "checks[mem].params.bytes"), "mem needs 12.0 GiB per rank, the host has 8.0 GiB");
  // A GPU of its own per rank: the ranks of a host share nothing.
  EXPECT_NO_THROW(check_memory(s, gpu(16 * gib), 8));
}

TEST_F(MemoryFit, TheLargestPointOfASweepCounts) {
  const auto s = suite("  - id: ar\n    kind: allreduce\n    scope: node\n    params:\n      sizes: [1MiB, 16GiB]\n");
  EXPECT_EQ(refusal(s, gpu(24 * gib), 1, 8, "checks[ar].params.sizes"), "ar needs 32.0 GiB per GPU, the device has 24.0 GiB");
  EXPECT_NO_THROW(check_memory(s, gpu(40 * gib), 1));
}

TEST_F(MemoryFit, ADefaultedParameterIsNamedAtItsCheck) {
  const auto s = suite("  - id: mem\n    kind: hbm\n");   // bytes 1GiB by default: 3 GiB
  EXPECT_EQ(refusal(s, gpu(2 * gib), 1, 4, "checks[mem].params.bytes"), "mem needs 3.0 GiB per GPU, the device has 2.0 GiB");
}

TEST_F(MemoryFit, UnknownMemoryRefusesNothing) {
  const auto s = suite("  - id: mem\n    kind: hbm\n    params: {bytes: 4GiB}\n");
  EXPECT_NO_THROW(check_memory(s, gpu(0), 1));
}

}  // namespace
}  // namespace rackqual
