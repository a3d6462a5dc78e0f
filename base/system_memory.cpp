#include "base/system_memory.h"

#include <cstdio>
#include <fstream>
#include <sstream>

namespace ppsim {
namespace {

std::int64_t meminfo_available() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  std::int64_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024;
  return 0;
}

// cgroup v2 (memory.max, "max" when unlimited) or v1 (memory.limit_in_bytes), minus what is used.
std::int64_t cgroup_available() {
  for (const auto& [limit_file, usage_file] :
       {std::pair{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"},
        std::pair{"/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"}}) {
    std::ifstream l(limit_file), u(usage_file);
    std::string limit;
    std::int64_t used = 0;
    if (!(l >> limit) || limit == "max") continue;
    u >> used;
    std::int64_t max = 0;
    std::istringstream(limit) >> max;
    if (max > 0 && max < (std::int64_t{1} << 60)) return max > used ? max - used : 0;
  }
  return 0;
}

}  // namespace

std::int64_t available_memory_bytes() {
  const std::int64_t mem = meminfo_available(), cg = cgroup_available();
  if (mem > 0 && cg > 0) return mem < cg ? mem : cg;
  return mem > 0 ? mem : cg;
}

std::string format_bytes(std::int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 5) v /= 1024, ++u;
  char buf[32];
  if (u == 0) std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(bytes));
  else std::snprintf(buf, sizeof buf, v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

std::string format_count(std::int64_t count) {
  const char* units[] = {"", " k", " M", " G", " T"};
  double v = static_cast<double>(count);
  int u = 0;
  while (v >= 1000 && u < 4) v /= 1000, ++u;
  char buf[32];
  if (u == 0) std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(count));
  else std::snprintf(buf, sizeof buf, v < 10 ? "%.2f%s" : v < 100 ? "%.1f%s" : "%.0f%s", v, units[u]);
  return buf;
}

std::int64_t memory_budget(std::int64_t requested) {
  if (requested > 0) return requested;
  return available_memory_bytes() / 10 * 9;
}

}  // namespace ppsim
