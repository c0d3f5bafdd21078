// Output digests for the consensus vote: the training step's own gradients before any exchange,
// the one-ulp corruption only the vote can see, and the GEMM element it changes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "kernels/common/consensus.hpp"
#include "kernels/common/gemm_check.hpp"
#include "kernels/host/transformer_primitives.hpp"
#include "kernels/model/solo_collective.hpp"
#include "kernels/model/training_step.hpp"

namespace rackqual {
namespace {

const transformer::Shape small{16, 2, 8, 2, 2, 32};
constexpr model::Precision fp32{DType::fp32, DType::fp32, DType::fp32};

TEST(ConsensusText, HashesAreSixteenHexDigits) {
  EXPECT_EQ(consensus::hex(0x1a2bull), "0000000000001a2b");
  EXPECT_EQ(consensus::hex(~0ull), "ffffffffffffffff");
}

TEST(ConsensusText, FlippingTheLowestBitMovesAFloatByOneUlp) {
  float x = 1.0f;
  consensus::flip_lowest_bit(&x);
  EXPECT_EQ(x, std::nextafter(1.0f, 2.0f));
  double y = -3.0;
  consensus::flip_lowest_bit(&y);
  EXPECT_EQ(y, std::nextafter(-3.0, -4.0));
}

TEST(ConsensusGemm, TheCorruptElementIsOneTheCheckDoesNotSample) {
  for (auto [m, n] : {std::pair<std::int64_t, std::int64_t>{4096, 4096}, {96, 64}, {9, 9}, {1, 200}}) {
    const auto element = consensus::unsampled_element(m, n, 62);
    const auto checked = gemm::samples(m, n, 62);
    EXPECT_EQ(std::count(checked.begin(), checked.end(), element), 0) << m << "x" << n;
    EXPECT_LT(element.first, m);
    EXPECT_LT(element.second, n);
  }
}

// Two ranks on one batch: equal digests, whatever the order of their calls; another batch differs.
TEST(ConsensusTrainingStep, RanksOnOneBatchAgreeBitForBit) {
  host::TransformerPrimitives primitives;
  model::SoloCollective solo(primitives);
  model::TrainingStep a(primitives, small, fp32, 0), b(primitives, small, fp32, 0), other(primitives, small, fp32, 1);
  a.run(solo);
  b.run(solo);
  other.run(solo);
  const Digest da = a.digest(true);
  EXPECT_EQ(da.hash.size(), 16u);
  EXPECT_TRUE(da.bit_exact());
  EXPECT_NE(da.covers.find("before any exchange"), std::string::npos) << da.covers;
  EXPECT_EQ(a.digest(true).hash, da.hash);   // the local pass runs once per step
  EXPECT_EQ(b.digest(true).hash, da.hash);
  EXPECT_NE(other.digest(true).hash, da.hash);
}

// The digest's local pass leaves the training as it was: the same weights after verify().
TEST(ConsensusTrainingStep, TheDigestDoesNotChangeTheTraining) {
  host::TransformerPrimitives primitives;
  model::SoloCollective solo(primitives);
  model::TrainingStep plain(primitives, small, fp32, 0), digested(primitives, small, fp32, 0);
  plain.run(solo);
  digested.run(solo);
  digested.digest(true);
  EXPECT_TRUE(plain.verify(solo).ok);
  const Correctness c = digested.verify(solo);
  EXPECT_TRUE(c.ok) << c.detail;
  EXPECT_EQ(primitives.hash(plain.model().weights()), primitives.hash(digested.model().weights()));
}

// One ulp of one gradient: the digest differs, the step's own check passes.
TEST(ConsensusTrainingStep, ACorruptGradientChangesOnlyTheDigest) {
  host::TransformerPrimitives primitives;
  model::SoloCollective solo(primitives);
  model::TrainingStep healthy(primitives, small, fp32, 0), corrupt(primitives, small, fp32, 0);
  healthy.run(solo);
  corrupt.run(solo);
  corrupt.corrupt();
  EXPECT_NE(corrupt.digest(true).hash, healthy.digest(true).hash);
  const Correctness c = corrupt.verify(solo);
  EXPECT_TRUE(c.ok) << c.detail;
  EXPECT_TRUE(healthy.verify(solo).ok);   // the next steps compute their gradients afresh
  EXPECT_EQ(primitives.hash(healthy.model().weights()), primitives.hash(corrupt.model().weights()));
}

// Where the token embedding's gradient is not reproducible bit for bit: the hash leaves it out,
// and a sample of it, at rows the batch reaches, is voted within a tolerance.
TEST(ConsensusTrainingStep, ANonReproducibleTokenEmbeddingGradientIsSampled) {
  host::TransformerPrimitives primitives;
  model::SoloCollective solo(primitives);
  model::TrainingStep a(primitives, small, fp32, 0), b(primitives, small, fp32, 0);
  a.run(solo);
  b.run(solo);
  const Digest full = a.digest(true), sampled = a.digest(false);
  EXPECT_FALSE(sampled.bit_exact());
  EXPECT_EQ(sampled.sample.size(), 64u);   // 8 rows (seq 8) x 8 columns
  EXPECT_DOUBLE_EQ(sampled.tolerance, 1e-4);
  EXPECT_NE(sampled.hash, full.hash);
  EXPECT_TRUE(std::any_of(sampled.sample.begin(), sampled.sample.end(), [](double v) { return v != 0; }));
  EXPECT_NE(sampled.covers.find("sampled"), std::string::npos) << sampled.covers;
  const Digest again = b.digest(false);
  EXPECT_EQ(again.hash, sampled.hash);
  EXPECT_EQ(again.sample, sampled.sample);
}

}  // namespace
}  // namespace rackqual
