#include "measure/allocation_counter.hpp"

#include <cstdlib>
#include <new>

#include "measure/clock.hpp"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define AIWAY_COUNT_ALLOCATIONS 0
#else
#define AIWAY_COUNT_ALLOCATIONS 1
#endif

namespace aiway {
namespace {
thread_local AllocationCount t_count;

#if AIWAY_COUNT_ALLOCATIONS  // sanitizers keep their own allocator hooks
void* counted_allocate(std::size_t size) {
  ++t_count.allocations;
  t_count.bytes += size;
  if (size == 0) size = 1;
  return std::malloc(size);
}

void* counted_allocate_aligned(std::size_t size, std::size_t alignment) {
  ++t_count.allocations;
  t_count.bytes += size;
  const std::size_t rounded = (size + alignment - 1) / alignment * alignment;
  return std::aligned_alloc(alignment, rounded == 0 ? alignment : rounded);
}
#endif
}  // namespace

AllocationCount thread_allocations() { return t_count; }
bool allocation_counting_active() { return AIWAY_COUNT_ALLOCATIONS; }

StageMeter::StageMeter() : cpu0_(thread_cpu_seconds()), allocations0_(t_count) {}

StageUsage StageMeter::finish() const {
  StageUsage u;
  u.cpu_s = thread_cpu_seconds() - cpu0_;
  u.allocations.allocations = t_count.allocations - allocations0_.allocations;
  u.allocations.bytes = t_count.bytes - allocations0_.bytes;
  return u;
}

}  // namespace aiway

#if AIWAY_COUNT_ALLOCATIONS
// Replacements of the global allocation functions (this file is linked
// whenever thread_allocations() is used, so the binary counts).
void* operator new(std::size_t size) {
  if (void* p = aiway::counted_allocate(size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return ::operator new(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return aiway::counted_allocate(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return aiway::counted_allocate(size); }
void* operator new(std::size_t size, std::align_val_t al) {
  if (void* p = aiway::counted_allocate_aligned(size, std::size_t(al))) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size, std::align_val_t al) { return ::operator new(size, al); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
#endif  // AIWAY_COUNT_ALLOCATIONS
