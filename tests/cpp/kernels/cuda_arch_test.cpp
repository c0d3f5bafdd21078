#include "kernels/cuda/cuda_arch.hpp"

#include <gtest/gtest.h>

namespace rackqual::cuda {
namespace {

// The project's default: sm_90 machine code, sm_100 machine code and PTX.
const char* const kDefault = "90-real;100";

TEST(CudaArch, HopperAndBlackwellRun) {
  EXPECT_EQ(unsupported_architecture("NVIDIA H100 80GB HBM3", 9, 0, kDefault), std::nullopt);
  EXPECT_EQ(unsupported_architecture("NVIDIA H200", 9, 0, kDefault), std::nullopt);
  EXPECT_EQ(unsupported_architecture("NVIDIA B200", 10, 0, kDefault), std::nullopt);
  EXPECT_EQ(unsupported_architecture("NVIDIA B300", 10, 3, kDefault), std::nullopt);  // sm_100 code, same major
  EXPECT_EQ(unsupported_architecture("NVIDIA RTX PRO 6000", 12, 0, kDefault), std::nullopt);  // sm_100 PTX
}

TEST(CudaArch, AmpereAndAdaAreRefusedInOneLine) {
  EXPECT_EQ(unsupported_architecture("NVIDIA A100-SXM4-80GB", 8, 0, kDefault),
            "cuda backend: NVIDIA A100-SXM4-80GB is compute capability 8.0; this build has code for sm_90 and sm_100 "
            "(rebuild with CMAKE_CUDA_ARCHITECTURES=80)");
  EXPECT_EQ(unsupported_architecture("NVIDIA L40S", 8, 9, kDefault),
            "cuda backend: NVIDIA L40S is compute capability 8.9; this build has code for sm_90 and sm_100 "
            "(rebuild with CMAKE_CUDA_ARCHITECTURES=89)");
}

TEST(CudaArch, MachineCodeOnlyRunsWithinItsMajor) {
  EXPECT_NE(unsupported_architecture("NVIDIA B200", 10, 0, "90-real"), std::nullopt);
  EXPECT_EQ(unsupported_architecture("NVIDIA B200", 10, 0, "90"), std::nullopt);  // sm_90 PTX
  EXPECT_NE(unsupported_architecture("NVIDIA H100", 9, 0, "100-real"), std::nullopt);
  EXPECT_NE(unsupported_architecture("NVIDIA H100", 9, 0, "100-virtual"), std::nullopt);  // PTX never runs backwards
  EXPECT_EQ(unsupported_architecture("NVIDIA A100", 8, 0, "80-real;90-real"), std::nullopt);
  EXPECT_EQ(unsupported_architecture("NVIDIA L40S", 8, 9, "80-real"), std::nullopt);  // later minor, same major
}

TEST(CudaArch, ArchitectureSpecificVariants) {
  EXPECT_EQ(unsupported_architecture("NVIDIA H100", 9, 0, "90a-real"), std::nullopt);
  EXPECT_EQ(unsupported_architecture("NVIDIA GB300", 10, 3, "100a-real"),
            "cuda backend: NVIDIA GB300 is compute capability 10.3; this build has code for sm_100a "
            "(rebuild with CMAKE_CUDA_ARCHITECTURES=103)");
  EXPECT_EQ(unsupported_architecture("NVIDIA GB300", 10, 3, "100f-real"), std::nullopt);
  EXPECT_EQ(unsupported_architecture("NVIDIA A100", 8, 0, "90-real;100-real;120"),
            "cuda backend: NVIDIA A100 is compute capability 8.0; this build has code for sm_90, sm_100 and sm_120 "
            "(rebuild with CMAKE_CUDA_ARCHITECTURES=80)");
}

TEST(CudaArch, CommaSeparatedAsTheBuildPassesIt) {
  EXPECT_EQ(unsupported_architecture("NVIDIA H100", 9, 0, "90-real,100"), std::nullopt);
  EXPECT_NE(unsupported_architecture("NVIDIA A100", 8, 0, "90-real,100"), std::nullopt);
}

TEST(CudaArch, ListsItCannotReadAreNotJudged) {
  EXPECT_EQ(unsupported_architecture("NVIDIA A100", 8, 0, "native"), std::nullopt);
  EXPECT_EQ(unsupported_architecture("NVIDIA A100", 8, 0, "all-major"), std::nullopt);
  EXPECT_EQ(unsupported_architecture("NVIDIA A100", 8, 0, ""), std::nullopt);
}

}  // namespace
}  // namespace rackqual::cuda
