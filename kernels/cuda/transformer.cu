// transformer_step on GPUs: one data-parallel training step of the GPT-style decoder
// (kernels/cuda/transformer_model.hpp) with the same model, data and checks as the host's:
// forward and loss, backward, a summing NCCL all-reduce of the fp32 gradients across the group,
// AdamW on the fp32 master weights.
//
// Streams: everything runs on the backend's stream except the all-reduce, which runs on a
// stream of its own in buckets (the final layernorm and LM head, each layer, the embeddings).
// Each bucket starts as soon as the backward pass has enqueued its gradients, ordered by an
// event, so that it overlaps the rest of the backward pass; the optimizer waits for the last.
#include <mpi.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/common/transformer.hpp"
#include "kernels/common/hash.hpp"
#include "kernels/common/training_check.hpp"
#include "kernels/common/transformer_math.hpp"
#include "kernels/cuda/check.hpp"
#include "kernels/cuda/cuda_backend.hpp"
#include "kernels/cuda/device.hpp"
#include "kernels/cuda/nccl_wait.hpp"
#include "kernels/cuda/transformer_model.hpp"
#include "kernels/host/transformer_model.hpp"
#include "rackqual/backend.hpp"
#include "rackqual/error.hpp"
#include "rackqual/mpi_native.hpp"

namespace rackqual::cuda {
namespace {

using transformer::token_seed;
using transformer::verify_steps;
using transformer::weight_seed;

// A stream of the operation's own, for the all-reduce.
class Stream {
 public:
  Stream() { RACKQUAL_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)); }
  ~Stream() { cudaStreamDestroy(stream_); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  operator cudaStream_t() const { return stream_; }

 private:
  cudaStream_t stream_ = nullptr;
};

std::string gib(double bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f GiB", bytes / (1024.0 * 1024.0 * 1024.0));
  return text;
}

class TransformerStep : public Op {
 public:
  TransformerStep(const OpContext& ctx, const transformer::Shape& shape, Precision precision)
      : gpu_(dynamic_cast<CudaBackend&>(ctx.backend)), group_(ctx.group), stream_(gpu_.stream()), ranks_(group_.size()),
        deadline_(ctx.deadline), model_(TransformerModel::create(shape, precision, gpu_.lt(), gpu_.properties())) {
    std::vector<std::int32_t> tokens(static_cast<std::size_t>(host::token_count(shape)));
    host::synthetic_tokens(shape, token_seed + static_cast<std::uint64_t>(group_.world_rank(group_.rank())), tokens.data());
    model_->set_tokens(tokens.data(), stream_);
    model_->initialise(weight_seed, stream_);
    if (ranks_ > 1) {
      comm_ = gpu_.nccl(group_);
      comm_stream_ = std::make_unique<Stream>();
      for (std::int64_t b = 0; b < shape.layers + 2; ++b) ready_.push_back(std::make_unique<Event>());
    }
  }

  void launch() override {
    const float loss = step();
    if (steps_ == 1) first_loss_ = loss;
  }

  // After the first step: (a) its loss is finite; (b) a few more steps on the same batch lower
  // it; (c) every rank holds the same weights, before and after those steps. Every rank makes
  // the same collective calls whatever it finds, so a failing rank cannot hang the others.
  Correctness verify() override {
    const float first = first_loss_;
    const auto before = weight_hashes();
    float last = first;
    for (int i = 0; i < verify_steps; ++i) last = step();
    const auto after = weight_hashes();
    return transformer::judge_training(first, last, verify_steps + 1, before, after);
  }

  // One master weight of this rank (the first of layer 0's QKV matrix, which every output
  // depends on) becomes NaN, and its compute copy with it.
  void inject_error() override {
    model_->set_weight(model_->layout().offset(transformer::Tensor::qkv_weight, 0), std::numeric_limits<float>::quiet_NaN(),
                       stream_);
  }

  std::map<std::string, double> phases() const override { return phases_; }

 private:
  // One training step, waited for; returns this rank's loss. The all-reduce sums; AdamW
  // divides by the number of ranks as it reads the gradient.
  float step() {
    RACKQUAL_CHECK(cudaEventRecord(start_, stream_));
    model_->forward(stream_);
    RACKQUAL_CHECK(cudaEventRecord(forward_end_, stream_));
    std::size_t bucket = 0;
    model_->backward(stream_, [&](std::int64_t first, std::int64_t count) { all_reduce(bucket++, first, count); });
    RACKQUAL_CHECK(cudaEventRecord(backward_end_, stream_));
    if (comm_stream_) {
      RACKQUAL_CHECK(cudaEventRecord(allreduce_end_, *comm_stream_));
      RACKQUAL_CHECK(cudaStreamWaitEvent(stream_, allreduce_end_, 0));
    }
    RACKQUAL_CHECK(cudaEventRecord(optimizer_start_, stream_));
    model_->optimizer_step(optimizer_, ++steps_, 1.0f / static_cast<float>(ranks_), stream_);
    RACKQUAL_CHECK(cudaEventRecord(stop_, stream_));
    wait();

    phases_["forward"] = seconds_between(start_, forward_end_);
    phases_["backward"] = seconds_between(forward_end_, backward_end_);
    // The all-reduce's tail beyond the backward pass: the part not hidden behind it. One rank
    // all-reduces nothing and reports no such phase.
    if (comm_stream_) phases_["allreduce"] = std::max(0.0, seconds_between(backward_end_, allreduce_end_));
    phases_["optimizer"] = seconds_between(optimizer_start_, stop_);
    return model_->loss(stream_);
  }

  // Sums one bucket of gradients across the group on the all-reduce stream, once the backward
  // pass on the main stream has produced them (nothing on one rank).
  void all_reduce(std::size_t bucket, std::int64_t first, std::int64_t count) {
    if (!comm_stream_) return;
    const Event& ready = *ready_.at(bucket);
    RACKQUAL_CHECK(cudaEventRecord(ready, stream_));
    RACKQUAL_CHECK(cudaStreamWaitEvent(*comm_stream_, ready, 0));
    float* g = model_->gradients() + first;
    RACKQUAL_CHECK(ncclAllReduce(g, g, static_cast<std::size_t>(count), ncclFloat32, ncclSum, comm_, *comm_stream_));
  }

  // Waits for the step; with a communicator, without blocking forever (nccl_wait.hpp).
  void wait() {
    if (!comm_) {
      RACKQUAL_CHECK(cudaEventSynchronize(stop_));
      return;
    }
    wait_or_abort(stop_, comm_, gpu_, group_, deadline_, "training step with its gradient all-reduce");
  }


  // Every rank's hash of its fp32 master weights, on every rank.
  std::vector<std::uint64_t> weight_hashes() const {
    std::vector<float> weights(static_cast<std::size_t>(model_->layout().total()));
    to_host(weights.data(), model_->weights(), weights.size(), stream_);
    const std::uint64_t mine = fnv1a_words(weights.data(), weights.size() * sizeof(float));
    std::vector<std::uint64_t> all(static_cast<std::size_t>(ranks_));
    const int rc = MPI_Allgather(&mine, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, native_comm(group_));
    if (rc != MPI_SUCCESS)
      throw std::runtime_error("MPI_Allgather of the weight hashes failed with code " + std::to_string(rc));
    return all;
  }

  CudaBackend& gpu_;
  const Group& group_;
  cudaStream_t stream_;
  int ranks_;
  double deadline_;
  std::unique_ptr<TransformerModel> model_;
  transformer::AdamW optimizer_;
  ncclComm_t comm_ = nullptr;
  std::unique_ptr<Stream> comm_stream_;         // only with more than one rank
  std::vector<std::unique_ptr<Event>> ready_;   // one per gradient bucket
  Event start_, forward_end_, backward_end_, allreduce_end_, optimizer_start_, stop_;
  std::int64_t steps_ = 0;
  float first_loss_ = std::numeric_limits<float>::quiet_NaN();
  std::map<std::string, double> phases_;
};

std::unique_ptr<Op> make(const OpContext& ctx) {
  auto& gpu = dynamic_cast<CudaBackend&>(ctx.backend);
  const Params& p = ctx.params;
  const std::string& dtype = p.text("dtype");
  if (dtype != "fp32" && dtype != "bf16")
    throw SetupError("cuda backend: transformer_step dtype " + dtype + " is not supported (fp32, bf16)");
  const Precision precision = dtype == "bf16" ? Precision::bf16 : Precision::fp32;
  const cudaDeviceProp& device = gpu.properties();
  if (precision == Precision::bf16 && device.major < 8)
    throw SetupError(std::string("cuda backend: transformer_step dtype bf16 needs compute capability 8.0 or newer; ") +
                     device.name + " is " + std::to_string(device.major) + "." + std::to_string(device.minor));
  const transformer::Shape shape{p.integer("hidden"), p.integer("heads"), p.integer("seq"),
                                 p.integer("micro_batch"), p.integer("layers"), p.integer("vocab")};
  try {
    const std::size_t needed = TransformerModel::device_bytes(shape, precision);
    if (needed > device.totalGlobalMem)
      throw SetupError("cuda backend: transformer_step needs " + gib(static_cast<double>(needed)) +
                       " of device memory at this shape; " + device.name + " has " +
                       gib(static_cast<double>(device.totalGlobalMem)));
    return std::make_unique<TransformerStep>(ctx, shape, precision);
  } catch (const std::invalid_argument& e) {
    throw SetupError(std::string("cuda backend: ") + e.what());
  }
}

const OpRegistration registration("cuda", "transformer_step", make, {{"dtype", {"fp32", "bf16"}}, {"grad_dtype", {"fp32"}}});

}  // namespace
}  // namespace rackqual::cuda
