// p2p on GPUs: NCCL send/receive between ring neighbours of the check's group, one shift to the
// right, then one to the left, each a group of one send and one receive on the launch stream.
// A rank that sees NCCL fail, or waits past the deadline, aborts the communicator rather than
// hang; every received byte is checked on the device (p2p_kernels.cu).
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "kernels/common/p2p.hpp"
#include "kernels/cuda/check.hpp"
#include "kernels/cuda/cuda_backend.hpp"
#include "kernels/cuda/device.hpp"
#include "kernels/cuda/nccl_wait.hpp"
#include "kernels/cuda/p2p_kernels.hpp"
#include "rackqual/api/kind_params.hpp"

namespace rackqual::cuda {
namespace {
class P2p : public Op {
 public:
  P2p(const OpContext& ctx, std::int64_t bytes)
      : gpu_(dynamic_cast<CudaBackend&>(ctx.backend)), group_(ctx.group), comm_(gpu_.nccl(group_, ctx.deadline)), stream_(gpu_.stream()),
        rank_(group_.rank()), left_(p2p::left(rank_, group_.size())), right_(p2p::right(rank_, group_.size())),
        bytes_(bytes), deadline_(ctx.deadline), blocks_(grid_blocks(gpu_.properties())), send_(device_array<unsigned char>(bytes)),
        from_left_(device_array<unsigned char>(bytes)), from_right_(device_array<unsigned char>(bytes)),
        counters_(device_array<unsigned long long>(2)) {
    launch_p2p_fill(blocks_, send_.get(), bytes_, rank_, stream_);
    RACKQUAL_CHECK(cudaGetLastError());
    // Zero until a neighbour's bytes (none of them zero) arrive.
    RACKQUAL_CHECK(cudaMemsetAsync(from_left_.get(), 0, bytes_, stream_));
    RACKQUAL_CHECK(cudaMemsetAsync(from_right_.get(), 0, bytes_, stream_));
    RACKQUAL_CHECK(cudaStreamSynchronize(stream_));
  }

  void launch() override {
    shift(right_, left_, from_left_.get());
    shift(left_, right_, from_right_.get());
  }

  // Two NCCL groups, each one kernel that NCCL 2.28 brackets on the launch stream with a wait for
  // its internal stream and an event record (enqueue.cc, ncclLaunchPrepare / ncclLaunchFinish).
  int stream_entries() const override { return 2 * 3; }

  // Waits for every transfer so far without blocking forever (nccl_wait.hpp).
  void wait() override {
    RACKQUAL_CHECK(cudaEventRecord(done_, stream_));
    wait_or_abort(done_, comm_, gpu_, group_, deadline_, "NCCL send/receive");
  }

  // Every byte from each neighbour against what that neighbour sends (valid after the first launch).
  Correctness verify() override {
    const bool pair = left_ == right_;   // two ranks: both shifts exchange with the one peer
    std::string wrong = compare(from_left_.get(), left_, pair ? "first shift" : "left");
    const std::string other = compare(from_right_.get(), right_, pair ? "second shift" : "right");
    if (!other.empty()) wrong += (wrong.empty() ? "" : "; ") + other;
    if (!wrong.empty()) return {false, wrong};
    char detail[200];
    if (pair)
      std::snprintf(detail, sizeof detail, "every byte of 2 x %lld from rank %d as it sent them", static_cast<long long>(bytes_),
                    group_.world_rank(left_));
    else
      std::snprintf(detail, sizeof detail, "every byte of %lld from rank %d (left) and of %lld from rank %d (right) as sent",
                    static_cast<long long>(bytes_), group_.world_rank(left_), static_cast<long long>(bytes_),
                    group_.world_rank(right_));
    return {true, detail};
  }

  void inject_error() override {
    unsigned char* target = from_left_.get() + bytes_ / 2;
    unsigned char x;
    to_host(&x, target, 1, stream_);
    x ^= 0xff;
    to_device(target, &x, 1, stream_);
  }

 private:
  // Sends this rank's bytes to `to` while receiving `from`'s into `into`: one NCCL group.
  void shift(int to, int from, unsigned char* into) {
    RACKQUAL_CHECK(ncclGroupStart());
    RACKQUAL_CHECK(ncclSend(send_.get(), static_cast<std::size_t>(bytes_), ncclUint8, to, comm_, stream_));
    RACKQUAL_CHECK(ncclRecv(into, static_cast<std::size_t>(bytes_), ncclUint8, from, comm_, stream_));
    RACKQUAL_CHECK(ncclGroupEnd());
  }

  // Empty when `got` holds exactly what group rank `sender` sends; else how many bytes differ, and the first.
  std::string compare(const unsigned char* got, int sender, const char* side) {
    RACKQUAL_CHECK(cudaMemsetAsync(counters_.get(), 0, sizeof(unsigned long long), stream_));
    RACKQUAL_CHECK(cudaMemsetAsync(counters_.get() + 1, 0xff, sizeof(unsigned long long), stream_));
    launch_p2p_check(blocks_, got, bytes_, sender, counters_.get(), stream_);
    RACKQUAL_CHECK(cudaGetLastError());
    unsigned long long counters[2];
    to_host(counters, counters_.get(), 2, stream_);
    if (!counters[0]) return "";
    const auto first = static_cast<std::int64_t>(counters[1]);
    unsigned char byte;
    to_host(&byte, got + first, 1, stream_);
    char detail[200];
    std::snprintf(detail, sizeof detail, "%llu of %lld bytes from rank %d (%s) wrong (byte %lld = 0x%02x, sent 0x%02x)",
                  counters[0], static_cast<long long>(bytes_), group_.world_rank(sender), side, static_cast<long long>(first),
                  byte, p2p::byte(sender, static_cast<std::uint64_t>(first)));
    return detail;
  }

  CudaBackend& gpu_;
  const Group& group_;
  ncclComm_t comm_;
  cudaStream_t stream_;
  int rank_, left_, right_;
  std::int64_t bytes_;
  double deadline_;
  int blocks_;
  DeviceArray<unsigned char> send_, from_left_, from_right_;
  DeviceArray<unsigned long long> counters_;
  Event done_;
};

std::unique_ptr<Op> make(const OpContext& ctx) { return std::make_unique<P2p>(ctx, ctx.params.typed<P2pParams>().bytes); }

const OpRegistration registration("cuda", "p2p", make);

}  // namespace
}  // namespace rackqual::cuda
