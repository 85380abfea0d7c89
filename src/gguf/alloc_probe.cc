#include "gguf/alloc_probe.h"

#include <atomic>
#include <cstdlib>
#include <new>

namespace cmdai::testing {
namespace {

std::atomic<size_t> largest{0};

void* allocate(size_t size) {
  size_t seen = largest.load(std::memory_order_relaxed);
  while (size > seen && !largest.compare_exchange_weak(seen, size, std::memory_order_relaxed)) {
  }
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}

}  // namespace

void reset_largest_allocation() { largest.store(0); }
size_t largest_allocation_bytes() { return largest.load(); }

}  // namespace cmdai::testing

// Replacing the global operators is the one portable way to see every allocation a library makes.
void* operator new(size_t size) { return cmdai::testing::allocate(size); }
void* operator new[](size_t size) { return cmdai::testing::allocate(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
