#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/common/random.hpp"
#include "kernels/common/training_check.hpp"
#include "kernels/common/transformer.hpp"
#include "kernels/common/transformer_math.hpp"
#include "kernels/host/transformer_primitives.hpp"
#include "kernels/model/buckets.hpp"
#include "kernels/model/collective.hpp"
#include "kernels/model/model.hpp"
#include "kernels/model/out_of_memory.hpp"
#include "kernels/model/solo_collective.hpp"
#include "kernels/model/tokens.hpp"
#include "kernels/model/training_step.hpp"
#include "kernels/model/transfer.hpp"

namespace rackqual {
namespace {

using transformer::Layout;
using transformer::Shape;
using transformer::Tensor;

constexpr model::Precision fp64{DType::fp64, DType::fp64, DType::fp64};
constexpr model::Precision fp32{DType::fp32, DType::fp32, DType::fp32};

// |got - want| within a relative 1e-5 or an absolute 1e-8.
bool close(double got, double want, double rel = 1e-5, double abs = 1e-8) {
  return std::fabs(got - want) <= std::max(abs, rel * std::max(std::fabs(got), std::fabs(want)));
}

constexpr double fd_eps = 1e-6;

const Shape tiny{8, 2, 5, 2, 2, 13};   // hidden, heads, seq, micro_batch, layers, vocab

TEST(TransformerFlops, HandCount) {
  // hidden 4, seq 3, vocab 5, 1 layer, 2 sequences. Forward FLOPs per token: QKV 2*4*12,
  // proj 2*4*4, fc1 2*4*16, fc2 2*16*4, scores 2*3*4, P.V 2*3*4, LM head 2*4*5 = 472;
  // backward twice that: 1416 per token, 6 tokens.
  const Shape s{4, 2, 3, 2, 1, 5};
  EXPECT_DOUBLE_EQ(transformer::matmul_parameters(s), 212.0);
  EXPECT_DOUBLE_EQ(transformer::flops_per_token(s), 1416.0);
  EXPECT_DOUBLE_EQ(transformer::flops_per_step(s), 8496.0);
}

TEST(TransformerLayout, TensorsTileTheBuffer) {
  const Layout layout(tiny);
  const std::int64_t h = tiny.hidden, V = tiny.vocab;
  EXPECT_EQ(layout.total(), V * h + tiny.seq * h + tiny.layers * (12 * h * h + 13 * h) + 2 * h + h * V);
  ASSERT_EQ(layout.tensors(), 2 + 12 * tiny.layers + 3);
  std::int64_t at = 0;
  for (std::int64_t k = 0; k < layout.tensors(); ++k) {
    const auto t = layout.tensor(k);
    EXPECT_EQ(t.offset, at) << "tensor " << k;
    EXPECT_EQ(t.offset, layout.offset(t.tensor, t.layer < 0 ? 0 : t.layer));
    for (std::int64_t i = t.offset; i < t.offset + t.size(); ++i) {
      const auto found = layout.locate(i);
      ASSERT_EQ(found.tensor, t.tensor) << "element " << i;
      ASSERT_EQ(found.layer, t.layer) << "element " << i;
    }
    at += t.size();
  }
  EXPECT_EQ(at, layout.total());
  EXPECT_EQ(layout.tensor(0).role, transformer::Role::matrix);
  EXPECT_EQ(layout.locate(layout.offset(Tensor::ln2_gamma, 1)).role, transformer::Role::gamma);
  EXPECT_EQ(layout.locate(layout.offset(Tensor::fc1_bias, 1) + 3).role, transformer::Role::bias);
  EXPECT_EQ(layout.locate(layout.total() - 1).tensor, Tensor::lm_head);
}

TEST(TransformerLayout, InitialisationMatchesElementFormula) {
  const Layout layout(tiny);
  host::TransformerPrimitives primitives;
  const model::View weights = primitives.allocate(DType::fp64, layout.total());
  primitives.initialise(layout, 9, weights);
  const std::vector<double> w = model::read_values(primitives, weights);
  for (std::int64_t i = 0; i < layout.total(); ++i) ASSERT_EQ(w[i], transformer::initial_weight<double>(layout, i, 9)) << i;
  EXPECT_EQ(w[layout.offset(Tensor::final_gamma)], 1.0);
  EXPECT_EQ(w[layout.offset(Tensor::qkv_bias, 1)], 0.0);
  EXPECT_NE(w[layout.offset(Tensor::lm_head)], 0.0);
  EXPECT_LE(std::fabs(w[layout.offset(Tensor::qkv_weight)]), 0.02 * std::sqrt(3.0));
}

TEST(TransformerMath, GeluDerivativeMatchesFiniteDifference) {
  for (double u : {-4.0, -1.3, -0.2, 0.0, 0.4, 1.0, 2.7}) {
    const double fd = (transformer::gelu(u + fd_eps) - transformer::gelu(u - fd_eps)) / (2 * fd_eps);
    EXPECT_TRUE(close(transformer::gelu_derivative(u), fd)) << u;
  }
  for (double u : {-3.0, -0.5, 0.0, 1.0, 2.5}) {   // the tanh form it is written for
    const double tanh_form = 0.5 * u * (1 + std::tanh(std::sqrt(2 / std::numbers::pi) * (u + 0.044715 * u * u * u)));
    EXPECT_NEAR(transformer::gelu(u), tanh_form, 1e-15) << u;
  }
  EXPECT_NEAR(transformer::gelu(-20.0f), 0.0f, 1e-30f);
  EXPECT_NEAR(transformer::gelu(20.0f), 20.0f, 1e-6f);
}

TEST(TransformerMath, LayernormBackwardMatchesFiniteDifference) {
  const int n = 7;
  std::vector<double> x(n), gamma(n), beta(n), dy(n), y(n);
  for (int j = 0; j < n; ++j) {
    x[j] = random::uniform(1, j, -2, 2);
    gamma[j] = random::uniform(2, j, 0.5, 1.5);
    beta[j] = random::uniform(3, j, -1, 1);
    dy[j] = random::uniform(4, j, -1, 1);
  }
  // f(x) = sum_j dy_j y_j(x), so df/dx is the input gradient for output gradient dy.
  auto f = [&](const std::vector<double>& in) {
    double mean, rstd, sum = 0;
    transformer::layernorm_forward_row(n, in.data(), gamma.data(), beta.data(), y.data(), &mean, &rstd);
    for (int j = 0; j < n; ++j) sum += dy[j] * y[j];
    return sum;
  };
  double mean, rstd;
  transformer::layernorm_forward_row(n, x.data(), gamma.data(), beta.data(), y.data(), &mean, &rstd);
  std::vector<double> dx(n, 0.5);   // the backward adds to what is there
  transformer::layernorm_backward_row(n, x.data(), gamma.data(), mean, rstd, dy.data(), dx.data());
  for (int j = 0; j < n; ++j) {
    auto plus = x, minus = x;
    plus[j] += fd_eps;
    minus[j] -= fd_eps;
    EXPECT_TRUE(close(dx[j] - 0.5, (f(plus) - f(minus)) / (2 * fd_eps))) << j;
  }
}

TEST(TransformerMath, CausalSoftmaxAndBackward) {
  const int n = 6, valid = 4;
  std::vector<double> z(n), c(n);
  for (int j = 0; j < n; ++j) {
    z[j] = random::uniform(5, j, -3, 3);
    c[j] = random::uniform(6, j, -1, 1);
  }
  auto softmax = [&](std::vector<double> in) {
    transformer::causal_softmax_row(valid, n, in.data());
    return in;
  };
  const auto p = softmax(z);
  double sum = 0;
  for (int j = 0; j < valid; ++j) sum += p[j];
  EXPECT_NEAR(sum, 1.0, 1e-15);
  for (int j = valid; j < n; ++j) EXPECT_EQ(p[j], 0.0);
  // f(z) = sum_j c_j p_j(z).
  auto f = [&](const std::vector<double>& in) {
    const auto q = softmax(in);
    double s = 0;
    for (int j = 0; j < n; ++j) s += c[j] * q[j];
    return s;
  };
  auto d = c;
  transformer::causal_softmax_backward_row(valid, n, p.data(), d.data());
  for (int j = 0; j < n; ++j) {
    auto plus = z, minus = z;
    plus[j] += fd_eps;
    minus[j] -= fd_eps;
    EXPECT_TRUE(close(d[j], (f(plus) - f(minus)) / (2 * fd_eps))) << j;
  }
}

TEST(TransformerMath, CrossEntropyGradientMatchesFiniteDifference) {
  const int n = 9, target = 4;
  std::vector<double> z(n);
  for (int j = 0; j < n; ++j) z[j] = random::uniform(7, j, -2, 2);
  auto loss = [&](std::vector<double> in) { return transformer::cross_entropy_row(n, in.data(), target, 1.0); };
  double sum = 0;
  for (double v : z) sum += std::exp(v);
  EXPECT_NEAR(loss(z), std::log(sum) - z[target], 1e-14);
  auto g = z;
  transformer::cross_entropy_row(n, g.data(), target, 1.0);
  for (int j = 0; j < n; ++j) {
    auto plus = z, minus = z;
    plus[j] += fd_eps;
    minus[j] -= fd_eps;
    EXPECT_TRUE(close(g[j], (loss(plus) - loss(minus)) / (2 * fd_eps))) << j;
  }
}

TEST(TransformerMath, AdamWFirstStep) {
  // Step 1 from zero moments: m / c1 = g and v / c2 = g^2, so the step is lr * g / (|g| + eps).
  double w = 0.5, m = 0, v = 0;
  const transformer::AdamW opt;
  const double c1 = transformer::bias_correction(opt.beta1, 1), c2 = transformer::bias_correction(opt.beta2, 1);
  transformer::adamw_update(w, m, v, 0.2, opt.lr, opt.beta1, opt.beta2, opt.eps, c1, c2, opt.lr * opt.weight_decay);
  EXPECT_NEAR(w, 0.5 * (1 - opt.lr * opt.weight_decay) - opt.lr * 0.2 / (0.2 + opt.eps), 1e-15);
  EXPECT_NEAR(m, 0.02, 1e-15);
  EXPECT_NEAR(v, 0.05 * 0.04, 1e-15);
}

TEST(TransformerModel, InitialLossNearLogVocab) {
  host::TransformerPrimitives primitives;
  model::Model model(primitives, tiny, fp64);
  model.initialise(1);
  model.set_tokens(model::synthetic_tokens(tiny, 2));
  model.forward();
  // Logits of standard deviation about 0.02 * sqrt(hidden) over 10 tokens: within a few of
  // their standard errors of the uniform prediction's loss.
  EXPECT_NEAR(model.loss(), std::log(13.0), 0.06);
}

TEST(TransformerModel, RejectsBadShapes) {
  host::TransformerPrimitives primitives;
  EXPECT_THROW(model::Model(primitives, Shape{8, 3, 5, 2, 2, 13}, fp64), std::invalid_argument);
  EXPECT_THROW(model::Model(primitives, Shape{8, 2, 0, 2, 2, 13}, fp64), std::invalid_argument);
  model::Model model(primitives, tiny, fp64);
  std::vector<std::int32_t> tokens = model::synthetic_tokens(tiny, 2);
  tokens[3] = 13;
  EXPECT_THROW(model.set_tokens(tokens), std::invalid_argument);
  tokens.pop_back();
  EXPECT_THROW(model.set_tokens(tokens), std::invalid_argument);
}

TEST(TransformerModel, OutOfMemoryNamesTheBytesAskedFor) {
  host::TransformerPrimitives primitives;
  primitives.allocate(DType::fp32, 1024);
  try {
    primitives.allocate(DType::fp32, std::int64_t{1} << 58);
    FAIL() << "2^60 bytes allocated";
  } catch (const model::OutOfMemory& e) {
    EXPECT_EQ(e.bytes(), std::size_t{1} << 60);
    EXPECT_EQ(std::string(e.what()),
              "out of memory on the host: 1152921504606846976 bytes (1073741824.00 GiB) asked for, 0.00 GiB already held");
  }
}

TEST(TransformerBuckets, TileTheBufferInBackwardOrder) {
  const Layout layout(tiny);
  const auto buckets = model::gradient_buckets(layout);
  ASSERT_EQ(buckets.size(), static_cast<std::size_t>(tiny.layers + 2));
  EXPECT_EQ(buckets.front().name, "head");
  EXPECT_EQ(buckets.front().first, layout.offset(Tensor::final_gamma));
  EXPECT_EQ(buckets[1].name, "layer 1");
  EXPECT_EQ(buckets[1].first, layout.offset(Tensor::ln1_gamma, 1));
  EXPECT_EQ(buckets.back().name, "embeddings");
  EXPECT_EQ(buckets.back().first, 0);
  std::int64_t covered = 0;
  for (const auto& b : buckets) covered += b.count;
  EXPECT_EQ(covered, layout.total());
  // Each bucket ends where the one completed before it begins, from the end of the buffer back.
  std::int64_t end = layout.total();
  for (const auto& b : buckets) {
    EXPECT_EQ(b.first + b.count, end) << b.name;
    end = b.first;
  }
}

// Gradients against central differences of the loss, in double, at weights away from their
// initial values (gammas not 1, biases not 0) so that no term hides. Checks the given elements
// of the flat buffer, or all of them; returns how many have a gradient above 1e-8.
std::int64_t check_gradients(const Shape& shape, std::vector<std::int64_t> elements) {
  host::TransformerPrimitives primitives;
  model::Model model(primitives, shape, fp64);
  const Layout& layout = model.layout();
  const std::int64_t total = layout.total();
  model.initialise(1);
  std::vector<double> w = model::read_values(primitives, model.weights());
  for (std::int64_t i = 0; i < total; ++i) w[i] += random::uniform(11, i, -0.3, 0.3);
  model.load_weights(w);
  model.set_tokens(model::synthetic_tokens(shape, 3));
  if (elements.empty())
    for (std::int64_t i = 0; i < total; ++i) elements.push_back(i);

  // Every gradient starts wrong, so that one the backward pass leaves unwritten shows.
  model::write_values(primitives, std::vector<double>(static_cast<std::size_t>(total), -1.0), model.gradients());
  model.forward();
  EXPECT_TRUE(std::isfinite(model.loss()));
  model.backward();
  const std::vector<double> grads = model::read_values(primitives, model.gradients());
  // The forward passes of the differences run on one thread: thousands of small parallel
  // regions crawl when the test shares its cores with other work.
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  std::int64_t wrong = 0, nonzero = 0;
  double worst_relative = 0, worst_absolute = 0;
  for (const std::int64_t i : elements) {
    const double keep = w[i];
    model.set_weight(i, keep + fd_eps);
    model.forward();
    const double up = model.loss();
    model.set_weight(i, keep - fd_eps);
    model.forward();
    const double down = model.loss();
    model.set_weight(i, keep);
    const double fd = (up - down) / (2 * fd_eps);
    if (std::fabs(fd) > 1e-8) ++nonzero;
    worst_absolute = std::max(worst_absolute, std::fabs(grads[i] - fd));
    if (std::fabs(fd) > 1e-6) worst_relative = std::max(worst_relative, std::fabs(grads[i] - fd) / std::fabs(fd));
    if (!close(grads[i], fd)) {
      const auto t = layout.locate(i);
      if (++wrong <= 10)
        ADD_FAILURE() << "element " << i << " (tensor " << static_cast<int>(t.tensor) << ", layer " << t.layer
                      << ", index " << i - t.offset << "): gradient " << grads[i] << ", finite difference " << fd;
    }
  }
  omp_set_num_threads(threads);
  EXPECT_EQ(wrong, 0) << "of " << elements.size() << " parameters checked";
  std::ostringstream worst;
  worst << elements.size() << " checked; worst error " << std::scientific << worst_relative
        << " relative (gradients above 1e-6), " << worst_absolute << " absolute";
  ::testing::Test::RecordProperty("gradient_check", worst.str());
  return nonzero;
}

TEST(TransformerModel, EveryGradientMatchesFiniteDifferences) {
  const std::int64_t total = Layout(tiny).total();
  // Embedding rows of tokens that never occur have zero gradient; nearly all the rest do not.
  EXPECT_GT(check_gradients(tiny, {}), total * 9 / 10);
}

// A wider shape, so that the column blocks of the reductions split unevenly across threads and
// heads are not a power of two wide: the first, the last and 6 random elements of every tensor.
TEST(TransformerModel, SampledGradientsMatchFiniteDifferencesWhenWider) {
  const Shape wide{136, 4, 9, 2, 2, 37};
  const Layout layout(wide);
  std::vector<std::int64_t> elements;
  for (std::int64_t k = 0; k < layout.tensors(); ++k) {
    const auto t = layout.tensor(k);
    elements.push_back(t.offset);
    elements.push_back(t.offset + t.size() - 1);
    for (int s = 0; s < 6; ++s) {
      const double u = random::uniform(17, static_cast<std::uint64_t>(6 * k + s));
      elements.push_back(t.offset + static_cast<std::int64_t>(u * static_cast<double>(t.size())));
    }
  }
  // Embedding rows of unused tokens aside, sampled gradients are nonzero.
  EXPECT_GT(check_gradients(wide, elements), static_cast<std::int64_t>(elements.size()) / 2);
}

TEST(TransformerModel, AdamWStepsLowerTheLossInFloat) {
  const Shape s{16, 2, 8, 2, 2, 32};
  host::TransformerPrimitives primitives;
  model::Model model(primitives, s, fp32);
  model.initialise(1);
  model.set_tokens(model::synthetic_tokens(s, 4));
  transformer::AdamW opt;
  model.forward();
  model.backward();
  const auto first = static_cast<float>(model.loss());
  float last = first;
  for (int step = 1; step <= 10; ++step) {
    model.optimizer_step(opt, step, 1.0);
    model.forward();
    model.backward();
    last = static_cast<float>(model.loss());
  }
  EXPECT_NEAR(first, std::log(32.0f), 0.05f);
  EXPECT_LT(last, first - 0.05f) << first << " -> " << last;
}

// Two identical ranks, simulated: each bucket's sum is twice this rank's values. Records the
// buckets it is asked to sum.
class TwinRanks final : public model::GradientCollective {
 public:
  explicit TwinRanks(model::Primitives& primitives) : primitives_(primitives) {}
  int ranks() const override { return 2; }
  void start(std::size_t bucket, model::View gradients) override {
    started.push_back({bucket, gradients.type, gradients.count});
    std::vector<double> values = model::read_values(primitives_, gradients);
    for (double& x : values) x *= 2;
    model::write_values(primitives_, values, gradients);
  }
  void join() override { ++joins; }
  void wait() override {}
  std::vector<std::uint64_t> all_gather(std::uint64_t value) override { return {value, value}; }

  struct Started {
    std::size_t bucket;
    DType type;
    std::int64_t count;
  };
  std::vector<Started> started;
  int joins = 0;

 private:
  model::Primitives& primitives_;
};

const Shape small{16, 2, 8, 2, 2, 32};

TEST(TransformerTrainingStep, OneRankTrainsAndChecksItself) {
  host::TransformerPrimitives primitives;
  model::TrainingStep step(primitives, small, fp32, 0);
  model::SoloCollective solo(primitives);
  EXPECT_GT(step.run(solo), 0.0);
  const auto phases = step.phases();
  EXPECT_EQ(phases.size(), 3u);   // one rank: no all-reduce phase
  for (const char* phase : {"forward", "backward", "optimizer"}) EXPECT_GE(phases.at(phase), 0.0) << phase;
  const Correctness c = step.verify(solo);
  EXPECT_TRUE(c.ok) << c.detail;
  EXPECT_NE(c.detail.find("weights identical on 1 rank"), std::string::npos) << c.detail;
}

TEST(TransformerTrainingStep, InjectedErrorFailsTheCheck) {
  host::TransformerPrimitives primitives;
  model::TrainingStep step(primitives, small, fp32, 0);
  model::SoloCollective solo(primitives);
  step.run(solo);
  step.inject_error();
  const Correctness c = step.verify(solo);
  EXPECT_FALSE(c.ok);
  EXPECT_NE(c.detail.find("loss did not decrease"), std::string::npos) << c.detail;
}

// The exchange type: each bucket converted to bf16, summed, converted back; the buckets start in
// backward order, each once per step, and the step still trains.
TEST(TransformerTrainingStep, ExchangesBucketsInBackwardOrderInTheExchangeType) {
  host::TransformerPrimitives primitives;
  model::TrainingStep step(primitives, small, model::Precision{DType::fp32, DType::fp32, DType::bf16}, 0);
  TwinRanks twins(primitives);
  step.run(twins);
  const auto buckets = model::gradient_buckets(Layout(small));
  ASSERT_EQ(twins.started.size(), buckets.size());
  for (std::size_t k = 0; k < buckets.size(); ++k) {
    EXPECT_EQ(twins.started[k].bucket, k);
    EXPECT_EQ(twins.started[k].type, DType::bf16);
    EXPECT_EQ(twins.started[k].count, buckets[k].count);
  }
  EXPECT_EQ(twins.joins, 1);
  EXPECT_EQ(step.phases().count("allreduce"), 1u);
  const Correctness c = step.verify(twins);
  EXPECT_TRUE(c.ok) << c.detail;
  EXPECT_NE(c.detail.find("weights identical on 2 ranks"), std::string::npos) << c.detail;
  EXPECT_EQ(twins.started.size(), buckets.size() * (1 + transformer::verify_steps));
}

// A gradient summed over two identical ranks and divided by two is the one rank's gradient: in
// fp32 exchange the weights after a step match a single rank's exactly.
TEST(TransformerTrainingStep, SummedGradientsAreAveraged) {
  host::TransformerPrimitives primitives;
  model::TrainingStep alone(primitives, small, fp32, 0), twin(primitives, small, fp32, 0);
  model::SoloCollective solo(primitives);
  TwinRanks twins(primitives);
  alone.run(solo);
  twin.run(twins);
  EXPECT_EQ(primitives.hash(alone.model().weights()), primitives.hash(twin.model().weights()));
}

TEST(TrainingCheck, PassesOnlyAFiniteFallingLossWithIdenticalWeights) {
  using transformer::judge_training;
  const std::vector<std::uint64_t> same = {7, 7, 7}, split = {7, 9, 7};
  const Correctness ok = judge_training(5.0f, 4.0f, 5, same, same);
  EXPECT_TRUE(ok.ok);
  EXPECT_EQ(ok.detail, "loss 5.0000 -> 4.0000 over 5 steps; weights identical on 3 ranks (hash 0x0000000000000007)");
  EXPECT_EQ(judge_training(NAN, NAN, 5, same, same).detail, "loss of the first step is nan");
  EXPECT_EQ(judge_training(5.0f, 5.0f, 5, same, same).detail, "loss did not decrease: 5 -> 5 over 5 steps on one batch");
  const Correctness differ = judge_training(5.0f, 4.0f, 5, same, split);
  EXPECT_FALSE(differ.ok);
  EXPECT_EQ(differ.detail,
            "weights differ across ranks after the extra steps: rank 1 hash 0x0000000000000009, rank 0 0x0000000000000007");
}

}  // namespace
}  // namespace rackqual
