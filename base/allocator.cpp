#include "base/allocator.h"

#include <malloc.h>

namespace ppsim {

void keep_freed_memory_for_reuse() {
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

}  // namespace ppsim
