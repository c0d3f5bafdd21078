// Which GPU a rank binds, from the local rank, the ranks on the host and the visible devices.
#include "kernels/cuda/device_binding.hpp"

namespace rackqual::cuda {

// The device index for this rank, or why there is none.
DeviceChoice choose_device(int local_rank, int local_size, int visible_devices) {
  if (local_rank < 0 || local_size < 1 || local_rank >= local_size)
    return "cuda backend: local rank " + std::to_string(local_rank) + " of " + std::to_string(local_size) +
           " ranks is not a valid placement";
  if (visible_devices < 1) return std::string("cuda backend: no GPU visible to this rank");
  if (visible_devices >= local_size) return local_rank;
  if (visible_devices == 1) return 0;
  return "cuda backend: " + std::to_string(local_size) + " ranks on this host but " + std::to_string(visible_devices) +
         " GPUs visible to each: launch one rank per GPU, or show each rank one GPU (--gpus-per-task=1)";
}

}  // namespace rackqual::cuda
