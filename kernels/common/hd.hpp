#pragma once
// Marks functions that run on both the host and a CUDA device.
#if defined(__CUDACC__)
#define RACKQUAL_HD __host__ __device__
#else
#define RACKQUAL_HD
#endif
