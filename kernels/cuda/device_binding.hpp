#pragma once
// Which GPU a rank binds: plain arithmetic on counts, no CUDA calls, so it is unit-tested anywhere.
#include <string>
#include <variant>

namespace rackqual::cuda {

// The device index to bind, or a one-line reason why this rank cannot bind one.
using DeviceChoice = std::variant<int, std::string>;

// One rank per GPU. With at least as many visible devices as ranks on the host, rank i binds
// device i; with exactly one visible device (Slurm's --gpus-per-task=1 shows each rank its own
// GPU through CUDA_VISIBLE_DEVICES), every rank binds device 0; anything else is a set-up error.
DeviceChoice choose_device(int local_rank, int local_size, int visible_devices);

}  // namespace rackqual::cuda
