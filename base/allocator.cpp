#include "base/allocator.h"

#include <malloc.h>

namespace ppsim {

void keep_freed_memory_for_reuse() {
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

void return_free_memory_to_system() { malloc_trim(0); }

}  // namespace ppsim
