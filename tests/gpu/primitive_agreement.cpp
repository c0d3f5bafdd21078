// Each cuda primitive of the training step against the host primitive on the same random
// inputs: the host computes in fp64 on exactly the values the GPU holds (inputs rounded to the
// GPU's type first), and every output must agree within a bound per compute type: the largest
// error at most `bound` x the largest reference magnitude of that output. fp32: 1e-4 (fp32
// arithmetic in a different order); bf16: 1e-2 (outputs rounded to 8 significant bits, 2^-9
// relative, with fp32 accumulation behind them). Conversions and the weight hash must agree
// exactly.
//
// Usage: primitive_agreement [PRIMITIVE]  (every primitive without an argument). Prints one line
// per primitive, type and output; exits 1 when any disagrees, 77 (ctest's skip) without a GPU.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <string>
#include <vector>

#include "kernels/common/dtype.hpp"
#include "kernels/common/random.hpp"
#include "kernels/common/transformer.hpp"
#include "kernels/common/transformer_math.hpp"
#include "kernels/cuda/transformer_primitives.hpp"
#include "kernels/host/transformer_primitives.hpp"
#include "kernels/model/transfer.hpp"

namespace {

using namespace rackqual;
using model::View;

constexpr int skip = 77;

// The same buffer on both sides: the host's in fp64, the GPU's in its own type.
struct Pair {
  View host, gpu;
};

// x as the GPU stores it in `type`.
double rounded(DType type, double x) {
  if (type == DType::bf16) return dtype::bf16_to_float(dtype::float_to_bf16(static_cast<float>(x)));
  if (type == DType::fp32) return static_cast<float>(x);
  return x;
}

// Buffers on both backends and the comparison of their outputs.
class Rig {
 public:
  Rig(host::TransformerPrimitives& host, cuda::TransformerPrimitives& gpu) : host_(host), gpu_(gpu) {}

  host::TransformerPrimitives& host() { return host_; }
  cuda::TransformerPrimitives& gpu() { return gpu_; }

  // `count` random values in [lo, hi), rounded to `type`, on both sides (host fp64).
  Pair random(DType type, std::int64_t count, double lo, double hi) {
    std::vector<double> values(static_cast<std::size_t>(count));
    ++stream_;
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = rounded(type, random::uniform(stream_, i, lo, hi));
    return with(type, values);
  }
  // The given values (already representable in `type`) on both sides.
  Pair with(DType type, const std::vector<double>& values) {
    const auto count = static_cast<std::int64_t>(values.size());
    Pair p{host_.allocate(type == DType::int32 ? DType::int32 : DType::fp64, count), gpu_.allocate(type, count)};
    model::write_values(host_, values, p.host);
    model::write_values(gpu_, values, p.gpu);
    return p;
  }
  // Token ids in [0, vocab), repeating.
  Pair tokens(std::int64_t count, std::int64_t vocab) {
    std::vector<double> ids(static_cast<std::size_t>(count));
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<double>((i * 7 + i / 3) % static_cast<std::size_t>(vocab));
    return with(DType::int32, ids);
  }

  // Largest |gpu - host| and largest |host| of an output; a NaN anywhere is an infinite error.
  std::pair<double, double> error(const Pair& p) {
    const std::vector<double> want = model::read_values(host_, p.host), got = model::read_values(gpu_, p.gpu);
    double worst = 0, scale = 0;
    for (std::size_t i = 0; i < want.size(); ++i) {
      const double e = std::fabs(got[i] - want[i]);
      worst = std::isnan(e) ? INFINITY : std::max(worst, e);
      scale = std::max(scale, std::fabs(want[i]));
    }
    return {worst, scale};
  }

 private:
  host::TransformerPrimitives& host_;
  cuda::TransformerPrimitives& gpu_;
  std::uint64_t stream_ = 0x5eed;
};

// Outcome of one primitive in one compute type: one line per output, false when any disagrees.
class Report {
 public:
  Report(std::string primitive, DType type, double bound) : name_(primitive + "/" + std::string(to_string(type))), bound_(bound) {}
  // Compares one output within the type's bound (or exactly with bound 0).
  void compare(Rig& rig, const char* output, const Pair& p, double bound = -1) {
    const double b = bound < 0 ? bound_ : bound;
    const auto [worst, scale] = rig.error(p);
    const bool good = worst <= b * std::max(scale, 1e-30) || (b == 0 && worst == 0);
    std::printf("%-32s %-10s %s: largest error %.3g, largest value %.3g (bound %.3g x)\n", name_.c_str(), output,
                good ? "ok" : "FAILED", worst, scale, b);
    ok_ = ok_ && good;
  }
  // Compares two values that must be equal.
  void equal(const char* output, std::uint64_t want, std::uint64_t got) {
    std::printf("%-32s %-10s %s: gpu 0x%016llx, host 0x%016llx\n", name_.c_str(), output, want == got ? "ok" : "FAILED",
                static_cast<unsigned long long>(got), static_cast<unsigned long long>(want));
    ok_ = ok_ && want == got;
  }
  bool ok() const { return ok_; }

 private:
  std::string name_;
  double bound_;
  bool ok_ = true;
};

// Sizes: rows and widths multiples of 8 (cuBLASLt's bf16 alignment), seq not a power of two.
constexpr std::int64_t rows = 48, width = 96, seq = 24, vocab = 200;

using Case = std::function<void(Rig&, DType compute, Report&)>;

void matmul(Rig& rig, DType c, Report& r) {
  const std::int64_t m = 40, n = 48, k = 32;
  for (int flags = 0; flags < 4; ++flags) {
    const bool ta = flags & 1, tb = flags & 2;
    const Pair a = rig.random(c, m * k, -1, 1), b = rig.random(c, k * n, -1, 1);
    const Pair out = rig.random(DType::fp32, m * n, -1, 1);   // beta = 1 adds to it
    const Pair low = rig.random(c, m * n, -1, 1);            // a compute-type result, beta = 0
    auto products = [&](model::Primitives& p, View Pair::*side) {
      p.matmul({ta, tb, m, n, k, 0.5, a.*side, ta ? m : k, b.*side, tb ? k : n, 1.0, out.*side, n, {}});
      p.matmul({ta, tb, m, n, k, 1.0, a.*side, ta ? m : k, b.*side, tb ? k : n, 0.0, low.*side, n, {}});
    };
    products(rig.host(), &Pair::host);
    products(rig.gpu(), &Pair::gpu);
    const std::string what = std::string(ta ? "A^T" : "A") + (tb ? "B^T" : "B");
    r.compare(rig, (what + "+C").c_str(), out);
    r.compare(rig, what.c_str(), low);
  }
  // A strided batch over 4 heads of one sequence, as attention takes them: scores = Q K^T.
  const std::int64_t heads = 4, d = 16, s = seq, ld = 3 * heads * d;
  const Pair qkv = rig.random(c, s * ld, -1, 1), scores = rig.random(DType::fp32, heads * s * s, -1, 1);
  rig.host().matmul({false, true, s, s, d, 0.25, qkv.host, ld, qkv.host.from(heads * d), ld, 0, scores.host, s,
                     {static_cast<std::int32_t>(heads), d, d, s * s}});
  rig.gpu().matmul({false, true, s, s, d, 0.25, qkv.gpu, ld, qkv.gpu.from(heads * d), ld, 0, scores.gpu, s,
                    {static_cast<std::int32_t>(heads), d, d, s * s}});
  r.compare(rig, "batched", scores);
}

void layernorm_forward(Rig& rig, DType c, Report& r) {
  const Pair x = rig.random(DType::fp32, rows * width, -2, 3), gamma = rig.random(DType::fp32, width, 0.5, 1.5),
             beta = rig.random(DType::fp32, width, -1, 1), y = rig.random(c, rows * width, 0, 1),
             mean = rig.random(DType::fp32, rows, 0, 1), rstd = rig.random(DType::fp32, rows, 0, 1);
  rig.host().layernorm_forward(rows, width, x.host, gamma.host, beta.host, y.host, mean.host, rstd.host);
  rig.gpu().layernorm_forward(rows, width, x.gpu, gamma.gpu, beta.gpu, y.gpu, mean.gpu, rstd.gpu);
  r.compare(rig, "y", y);
  r.compare(rig, "mean", mean);
  r.compare(rig, "rstd", rstd);
}

void layernorm_backward(Rig& rig, DType c, Report& r) {
  const Pair x = rig.random(DType::fp32, rows * width, -2, 2), gamma = rig.random(DType::fp32, width, 0.5, 1.5),
             mean = rig.random(DType::fp32, rows, -0.3, 0.3), rstd = rig.random(DType::fp32, rows, 0.5, 2),
             dy = rig.random(DType::fp32, rows * width, -1, 1), dx = rig.random(DType::fp32, rows * width, -1, 1),
             dgamma = rig.random(DType::fp32, width, 0, 1), dbeta = rig.random(DType::fp32, width, 0, 1);
  const bool separate = c != DType::fp32;
  const Pair copy = separate ? rig.random(c, rows * width, 0, 1) : dx;
  rig.host().layernorm_backward(rows, width, x.host, gamma.host, mean.host, rstd.host, dy.host, dx.host, dx.host,
                                dgamma.host, dbeta.host);
  rig.gpu().layernorm_backward(rows, width, x.gpu, gamma.gpu, mean.gpu, rstd.gpu, dy.gpu, dx.gpu, copy.gpu, dgamma.gpu,
                               dbeta.gpu);
  r.compare(rig, "dx", dx);
  if (separate) r.compare(rig, "dx_copy", {dx.host, copy.gpu});
  r.compare(rig, "dgamma", dgamma);
  r.compare(rig, "dbeta", dbeta);
}

void causal_softmax_forward(Rig& rig, DType c, Report& r) {
  const std::int64_t n = 3 * seq;
  const Pair scores = rig.random(DType::fp32, n * seq, -4, 4), probs = rig.random(c, n * seq, 0, 1);
  rig.host().causal_softmax_forward(n, seq, scores.host, probs.host);
  rig.gpu().causal_softmax_forward(n, seq, scores.gpu, probs.gpu);
  r.compare(rig, "probs", probs);
}

void causal_softmax_backward(Rig& rig, DType c, Report& r) {
  const std::int64_t n = 3 * seq;
  const Pair probs = rig.random(c, n * seq, 0, 0.2), dprobs = rig.random(DType::fp32, n * seq, -1, 1),
             dscores = rig.random(c, n * seq, 0, 1);
  rig.host().causal_softmax_backward(n, seq, probs.host, dprobs.host, dscores.host);
  rig.gpu().causal_softmax_backward(n, seq, probs.gpu, dprobs.gpu, dscores.gpu);
  r.compare(rig, "dscores", dscores);
}

void bias_gelu_forward(Rig& rig, DType c, Report& r) {
  const Pair bias = rig.random(DType::fp32, width, -1, 1), u = rig.random(c, rows * width, -4, 4),
             act = rig.random(c, rows * width, 0, 1);
  rig.host().bias_gelu_forward(rows, width, bias.host, u.host, act.host);
  rig.gpu().bias_gelu_forward(rows, width, bias.gpu, u.gpu, act.gpu);
  r.compare(rig, "u", u);
  r.compare(rig, "act", act);
}

void gelu_backward(Rig& rig, DType c, Report& r) {
  const Pair u = rig.random(c, rows * width, -4, 4), d = rig.random(c, rows * width, -1, 1);
  rig.host().gelu_backward(u.host, d.host);
  rig.gpu().gelu_backward(u.gpu, d.gpu);
  r.compare(rig, "d", d);
}

void cross_entropy(Rig& rig, DType c, Report& r) {
  const std::int64_t n = 16;
  const Pair logits = rig.random(DType::fp32, n * vocab, -3, 3), targets = rig.tokens(n, vocab),
             dlogits = rig.random(c, n * vocab, 0, 1), losses = rig.random(DType::fp32, n, 0, 1);
  rig.host().cross_entropy(n, vocab, logits.host, targets.host, 1.0 / n, dlogits.host, losses.host);
  rig.gpu().cross_entropy(n, vocab, logits.gpu, targets.gpu, 1.0 / n, dlogits.gpu, losses.gpu);
  r.compare(rig, "dlogits", dlogits);
  r.compare(rig, "losses", losses);
}

void mean(Rig& rig, DType, Report& r) {
  const Pair x = rig.random(DType::fp32, 1000, 1, 3), out = rig.random(DType::fp32, 1, 0, 1);
  rig.host().mean(x.host, out.host);
  rig.gpu().mean(x.gpu, out.gpu);
  r.compare(rig, "mean", out);
}

void embedding_forward(Rig& rig, DType, Report& r) {
  const std::int64_t n = 2 * seq;
  const Pair inputs = rig.tokens(n, vocab), E = rig.random(DType::fp32, vocab * width, -1, 1),
             P = rig.random(DType::fp32, seq * width, -1, 1), x = rig.random(DType::fp32, n * width, 0, 1);
  rig.host().embedding_forward(seq, width, inputs.host, E.host, P.host, x.host);
  rig.gpu().embedding_forward(seq, width, inputs.gpu, E.gpu, P.gpu, x.gpu);
  r.compare(rig, "x", x);
}

void embedding_backward(Rig& rig, DType, Report& r) {
  const std::int64_t n = 2 * seq;
  const Pair inputs = rig.tokens(n, vocab), dx = rig.random(DType::fp32, n * width, -1, 1),
             dE = rig.random(DType::fp32, vocab * width, 0, 1), dP = rig.random(DType::fp32, seq * width, 0, 1);
  rig.host().embedding_backward(seq, width, inputs.host, dx.host, dE.host, dP.host);
  rig.gpu().embedding_backward(seq, width, inputs.gpu, dx.gpu, dE.gpu, dP.gpu);
  r.compare(rig, "dtoken", dE);
  r.compare(rig, "dposition", dP);
}

void add_bias(Rig& rig, DType c, Report& r) {
  const Pair bias = rig.random(DType::fp32, width, -1, 1), y = rig.random(c, rows * width, -1, 1);
  rig.host().add_bias(rows, width, bias.host, y.host);
  rig.gpu().add_bias(rows, width, bias.gpu, y.gpu);
  r.compare(rig, "y", y);
}

void residual_with_bias(Rig& rig, DType, Report& r) {
  const Pair x = rig.random(DType::fp32, rows * width, -1, 1), bias = rig.random(DType::fp32, width, -1, 1),
             y = rig.random(DType::fp32, rows * width, 0, 1);
  rig.host().residual_with_bias(rows, width, x.host, bias.host, y.host);
  rig.gpu().residual_with_bias(rows, width, x.gpu, bias.gpu, y.gpu);
  r.compare(rig, "y", y);
}

void column_sums(Rig& rig, DType c, Report& r) {
  const Pair x = rig.random(c, rows * width, -1, 1), out = rig.random(DType::fp32, width, 0, 1);
  rig.host().column_sums(rows, width, x.host, out.host);
  rig.gpu().column_sums(rows, width, x.gpu, out.gpu);
  r.compare(rig, "out", out);
}

void adamw(Rig& rig, DType c, Report& r) {
  const std::int64_t n = 5000;
  const Pair w = rig.random(DType::fp32, n, -1, 1), g = rig.random(DType::fp32, n, -1, 1),
             m = rig.random(DType::fp32, n, -0.1, 0.1), v = rig.random(DType::fp32, n, 0, 0.01);
  const bool separate = c != DType::fp32;
  const Pair copy = separate ? rig.random(c, n, 0, 1) : w;
  const transformer::AdamW opt;
  const model::AdamWScalars s{opt.lr, opt.beta1, opt.beta2, opt.eps, transformer::bias_correction(opt.beta1, 3),
                              transformer::bias_correction(opt.beta2, 3), opt.lr * opt.weight_decay, 0.5};
  rig.host().adamw(s, w.host, g.host, m.host, v.host, w.host);
  rig.gpu().adamw(s, w.gpu, g.gpu, m.gpu, v.gpu, copy.gpu);
  r.compare(rig, "w", w);
  r.compare(rig, "m", m);
  r.compare(rig, "v", v);
  if (separate) r.compare(rig, "copy", {w.host, copy.gpu});
}

// Master fp32 to the compute type and back: exactly the host's rounding.
void convert(Rig& rig, DType c, Report& r) {
  const std::int64_t n = 3000;
  const Pair src = rig.random(DType::fp32, n, -100, 100);
  Pair there{rig.host().allocate(c, n), rig.gpu().allocate(c, n)};
  const Pair back = rig.random(DType::fp32, n, 0, 1);
  rig.host().convert(src.host, there.host);
  rig.gpu().convert(src.gpu, there.gpu);
  r.compare(rig, "to", there, 0);
  rig.host().convert(there.host, back.host);
  rig.gpu().convert(there.gpu, back.gpu);
  r.compare(rig, "back", back, 0);
}

// The initial weights of a small model: the same formula, rounded to fp32 on the GPU.
void initialise(Rig& rig, DType, Report& r) {
  const transformer::Layout layout(transformer::Shape{64, 4, 32, 2, 2, 96});
  const Pair w{rig.host().allocate(DType::fp64, layout.total()), rig.gpu().allocate(DType::fp32, layout.total())};
  rig.host().initialise(layout, transformer::weight_seed, w.host);
  rig.gpu().initialise(layout, transformer::weight_seed, w.gpu);
  r.compare(rig, "weights", w, 1e-7);
}

// Equal bytes, equal hashes: the weight check compares hashes across ranks and backends.
void hash(Rig& rig, DType, Report& r) {
  const std::int64_t n = 4099;   // not a whole number of 64-bit words
  std::vector<double> values(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(random::uniform(3, i, -1, 1));
  const View h = rig.host().allocate(DType::fp32, n), g = rig.gpu().allocate(DType::fp32, n);
  model::write_values(rig.host(), values, h);
  model::write_values(rig.gpu(), values, g);
  r.equal("hash", rig.host().hash(h), rig.gpu().hash(g));
}

struct Named {
  const char* name;
  Case run;
  bool per_type;   // run in both compute types (else only once, the buffers being master type)
};

const std::vector<Named> cases = {
    {"matmul", matmul, true},
    {"layernorm_forward", layernorm_forward, true},
    {"layernorm_backward", layernorm_backward, true},
    {"causal_softmax_forward", causal_softmax_forward, true},
    {"causal_softmax_backward", causal_softmax_backward, true},
    {"bias_gelu_forward", bias_gelu_forward, true},
    {"gelu_backward", gelu_backward, true},
    {"cross_entropy", cross_entropy, true},
    {"mean", mean, false},
    {"embedding_forward", embedding_forward, false},
    {"embedding_backward", embedding_backward, false},
    {"add_bias", add_bias, true},
    {"residual_with_bias", residual_with_bias, false},
    {"column_sums", column_sums, true},
    {"adamw", adamw, true},
    {"convert", convert, true},
    {"initialise", initialise, false},
    {"hash", hash, false},
};

}  // namespace

int main(int argc, char** argv) {
  const std::string only = argc > 1 ? argv[1] : "";
  if (!only.empty() && std::none_of(cases.begin(), cases.end(), [&](const Named& c) { return only == c.name; })) {
    std::printf("unknown primitive %s\n", only.c_str());
    return 2;
  }
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("no GPU on this machine: skipped\n");
    return skip;
  }
  try {
    host::TransformerPrimitives host;
    const auto gpu = cuda::TransformerPrimitives::standalone();
    Rig rig(host, *gpu);
    bool ok = true;
    for (const Named& c : cases) {
      if (!only.empty() && only != c.name) continue;
      for (const DType type : {DType::fp32, DType::bf16}) {
        if (type == DType::bf16 && !c.per_type) continue;
        Report report(c.name, type, type == DType::bf16 ? 1e-2 : 1e-4);
        c.run(rig, type, report);
        ok = ok && report.ok();
      }
    }
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::printf("error: %s\n", e.what());
    return 1;
  }
}
