// Programmatic dependent launch (Hopper and later): a kernel may start while the one before it on
// the stream finishes, doing its independent work (prefetching its weights) first and waiting for
// the predecessor's results only where it reads them. On older GPUs launches are plain.
#pragma once

#include <cuda_runtime.h>

#include <utility>

namespace cmdai::cuda {

// Set once per device (sm_90 and later); read by every launch.
void set_programmatic_launch(bool enabled);
bool programmatic_launch();

// Waits until the kernels this one depends on have finished and their writes are visible.
__device__ __forceinline__ void wait_for_inputs() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

// Lets the next kernel on the stream begin launching (it still waits for this one's results).
__device__ __forceinline__ void let_next_kernel_launch() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;");
#endif
}

// Pulls [p, p + bytes) towards L2, a 128-byte line per lane step.
__device__ __forceinline__ void prefetch_l2(const void* p, size_t bytes, int lane) {
  const char* c = static_cast<const char*>(p);
  for (size_t off = static_cast<size_t>(lane) * 128; off < bytes; off += 32 * 128) {
    asm volatile("prefetch.global.L2 [%0];" ::"l"(c + off));
  }
}

// kernel<<<grid, block, shared, stream>>>(args...), allowed to overlap its predecessor where the
// GPU supports it.
template <typename... Params, typename... Args>
void launch_overlapped(void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared,
                       cudaStream_t stream, Args&&... args) {
  cudaLaunchAttribute attribute;
  attribute.id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attribute.val.programmaticStreamSerializationAllowed = 1;
  cudaLaunchConfig_t config = {};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = shared;
  config.stream = stream;
  config.attrs = &attribute;
  config.numAttrs = programmatic_launch() ? 1 : 0;
  cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...);
}

}  // namespace cmdai::cuda
