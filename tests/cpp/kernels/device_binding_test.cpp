#include "kernels/cuda/device_binding.hpp"

#include <gtest/gtest.h>

namespace rackqual::cuda {
namespace {

int bound(const DeviceChoice& c) {
  EXPECT_TRUE(std::holds_alternative<int>(c)) << std::get<std::string>(c);
  return std::holds_alternative<int>(c) ? std::get<int>(c) : -1;
}

std::string refused(const DeviceChoice& c) {
  EXPECT_TRUE(std::holds_alternative<std::string>(c)) << "bound device " << std::get<int>(c);
  return std::holds_alternative<std::string>(c) ? std::get<std::string>(c) : "";
}

TEST(DeviceBinding, OneRankPerGpuBindsTheLocalRank) {
  for (int rank = 0; rank < 8; ++rank) EXPECT_EQ(bound(choose_device(rank, 8, 8)), rank);
  EXPECT_EQ(bound(choose_device(3, 4, 8)), 3);  // fewer ranks than GPUs: the first ones
  EXPECT_EQ(bound(choose_device(0, 1, 1)), 0);
}

TEST(DeviceBinding, OneVisibleGpuPerTaskBindsDeviceZero) {
  // srun --gpus-per-task=1: CUDA_VISIBLE_DEVICES shows each of the 8 ranks its own single GPU.
  for (int rank = 0; rank < 8; ++rank) EXPECT_EQ(bound(choose_device(rank, 8, 1)), 0);
}

TEST(DeviceBinding, TooFewGpusIsOneLineNamingTheCounts) {
  const std::string why = refused(choose_device(5, 8, 4));
  EXPECT_EQ(why,
            "cuda backend: 8 ranks on this host but 4 GPUs visible to each: launch one rank per GPU, or show each "
            "rank one GPU (--gpus-per-task=1)");
  EXPECT_EQ(why.find('\n'), std::string::npos);
  EXPECT_NE(refused(choose_device(0, 3, 2)).find("3 ranks on this host but 2 GPUs"), std::string::npos);
}

TEST(DeviceBinding, NoGpuOrBadPlacementIsRefused) {
  EXPECT_EQ(refused(choose_device(0, 1, 0)), "cuda backend: no GPU visible to this rank");
  EXPECT_EQ(refused(choose_device(2, 2, 2)), "cuda backend: local rank 2 of 2 ranks is not a valid placement");
  EXPECT_FALSE(refused(choose_device(-1, 2, 2)).empty());
  EXPECT_FALSE(refused(choose_device(0, 0, 2)).empty());
}

}  // namespace
}  // namespace rackqual::cuda
