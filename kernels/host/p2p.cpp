// p2p on the host: nonblocking MPI send/receive between ring neighbours on the check's group,
// one shift to the right, then one to the left; every received byte checked.
#include <mpi.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

#include "kernels/common/p2p.hpp"
#include "rackqual/api/backend.hpp"
#include "rackqual/api/kind_params.hpp"
#include "rackqual/base/error.hpp"
#include "rackqual/world/mpi_native.hpp"

namespace rackqual::host {
namespace {

static_assert(std::endian::native == std::endian::little, "payload words are stored little end first");

class P2p : public Op {
 public:
  P2p(const Group& group, std::int64_t bytes)
      : comm_(native_comm(group)), rank_(group.rank()), left_(p2p::left(rank_, group.size())),
        right_(p2p::right(rank_, group.size())), left_world_(group.world_rank(left_)),
        right_world_(group.world_rank(right_)), bytes_(bytes), send_(std::make_unique_for_overwrite<unsigned char[]>(bytes)),
        from_left_(std::make_unique<unsigned char[]>(bytes)), from_right_(std::make_unique<unsigned char[]>(bytes)) {
    unsigned char* send = send_.get();
    const std::int64_t words = bytes_ / 8;
#pragma omp parallel for schedule(static)
    for (std::int64_t w = 0; w < words; ++w) {
      const std::uint64_t x = p2p::word(rank_, static_cast<std::uint64_t>(w));
      std::memcpy(send + 8 * w, &x, 8);
    }
    for (std::int64_t i = 8 * words; i < bytes_; ++i) send[i] = p2p::byte(rank_, static_cast<std::uint64_t>(i));
  }

  // Both shifts run to completion; each sends while it receives.
  void launch() override {
    shift(right_, left_, from_left_.get(), 1);
    shift(left_, right_, from_right_.get(), 2);
  }

  // Every byte from each neighbour against what that neighbour sends (valid after the first launch).
  Correctness verify() override {
    const bool pair = left_ == right_;   // two ranks: both shifts exchange with the one peer
    std::string wrong = compare(from_left_.get(), left_, left_world_, pair ? "first shift" : "left");
    const std::string other = compare(from_right_.get(), right_, right_world_, pair ? "second shift" : "right");
    if (!other.empty()) wrong += (wrong.empty() ? "" : "; ") + other;
    if (!wrong.empty()) return {false, wrong};
    char detail[200];
    if (pair)
      std::snprintf(detail, sizeof detail, "every byte of 2 x %lld from rank %d as it sent them", static_cast<long long>(bytes_),
                    left_world_);
    else
      std::snprintf(detail, sizeof detail, "every byte of %lld from rank %d (left) and of %lld from rank %d (right) as sent",
                    static_cast<long long>(bytes_), left_world_, static_cast<long long>(bytes_), right_world_);
    return {true, detail};
  }

  void inject_error() override { from_left_[bytes_ / 2] ^= 0xff; }

 private:
  // Sends this rank's bytes to `to` while receiving `from`'s into `into`.
  void shift(int to, int from, unsigned char* into, int tag) {
    MPI_Request requests[2];
    const int count = static_cast<int>(bytes_);
    check(MPI_Irecv(into, count, MPI_BYTE, from, tag, comm_, &requests[0]), "MPI_Irecv");
    check(MPI_Isend(send_.get(), count, MPI_BYTE, to, tag, comm_, &requests[1]), "MPI_Isend");
    check(MPI_Waitall(2, requests, MPI_STATUSES_IGNORE), "MPI_Waitall");
  }
  static void check(int rc, const char* call) {
    if (rc != MPI_SUCCESS) throw std::runtime_error(std::string(call) + " failed with code " + std::to_string(rc));
  }

  // Empty when `got` holds exactly what group rank `sender` sends; else how many bytes differ, and the first.
  std::string compare(const unsigned char* got, int sender, int sender_world, const char* side) const {
    const std::int64_t words = bytes_ / 8;
    std::int64_t wrong = 0, first = bytes_;
#pragma omp parallel for schedule(static) reduction(+ : wrong) reduction(min : first)
    for (std::int64_t w = 0; w < words; ++w) {
      std::uint64_t x;
      std::memcpy(&x, got + 8 * w, 8);
      const std::uint64_t diff = x ^ p2p::word(sender, static_cast<std::uint64_t>(w));
      for (int k = 0; diff && k < 8; ++k)
        if ((diff >> (8 * k)) & 0xff) {
          ++wrong;
          first = std::min(first, 8 * w + k);
        }
    }
    for (std::int64_t i = 8 * words; i < bytes_; ++i)
      if (got[i] != p2p::byte(sender, static_cast<std::uint64_t>(i))) {
        ++wrong;
        first = std::min(first, i);
      }
    if (!wrong) return "";
    char detail[200];
    std::snprintf(detail, sizeof detail, "%lld of %lld bytes from rank %d (%s) wrong (byte %lld = 0x%02x, sent 0x%02x)",
                  static_cast<long long>(wrong), static_cast<long long>(bytes_), sender_world, side,
                  static_cast<long long>(first), got[first], p2p::byte(sender, static_cast<std::uint64_t>(first)));
    return detail;
  }

  MPI_Comm comm_;
  int rank_, left_, right_, left_world_, right_world_;
  std::int64_t bytes_;
  // Ordinary heap buffers, as applications use (see allreduce.cpp); the receive buffers zeroed.
  std::unique_ptr<unsigned char[]> send_, from_left_, from_right_;
};

std::unique_ptr<Op> make(const OpContext& ctx) {
  const auto& p = ctx.params.typed<P2pParams>();
  if (p.bytes > INT32_MAX) throw SetupError("host backend: p2p messages of 2^31 bytes or more");
  return std::make_unique<P2p>(ctx.group, p.bytes);
}

const OpRegistration registration("host", "p2p", make);

}  // namespace
}  // namespace rackqual::host
