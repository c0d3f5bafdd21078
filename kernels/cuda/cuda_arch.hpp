#pragma once
// Whether this build holds code a device can run: CMAKE_CUDA_ARCHITECTURES entries ("90-real",
// "100", "90a-virtual") against the device's compute capability. Plain C++, unit-tested anywhere.
#include <optional>
#include <string>

namespace rackqual::cuda {

// Why `device_name` (compute capability major.minor) cannot run this build's kernels, in one
// line; nothing when it can. `architectures` is CMAKE_CUDA_ARCHITECTURES, its entries separated
// by ',' or ';' ("90-real,100"). Machine code for sm_XY runs on X.Y and later minors of X (the
// "a" variant only on X.Y); plain PTX for XY is compiled by the driver for any later device. A list with entries this function cannot read (native, all) is not judged.
std::optional<std::string> unsupported_architecture(const std::string& device_name, int major, int minor,
                                                    const std::string& architectures);

}  // namespace rackqual::cuda
