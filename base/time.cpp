#include "base/time.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <string>

#include "base/error.h"

namespace ppsim {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Splits "18.5 ms" into the decimal number 18.5 and the unit "ms". The number is parsed exactly
// as integer + fraction digits so that "18.5ms" is exactly 18'500'000 ns.
struct Quantity {
  long double value = 0;
  std::string unit;
};

Quantity split_quantity(std::string_view text, const std::string& what) {
  std::string_view s = trim(text);
  std::size_t i = 0;
  bool digits = false;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.' ||
                          ((s[i] == 'e' || s[i] == 'E') && digits && i + 1 < s.size() &&
                           (std::isdigit(static_cast<unsigned char>(s[i + 1])) || s[i + 1] == '-' || s[i + 1] == '+')) ||
                          ((s[i] == '-' || s[i] == '+') && (i == 0 || s[i - 1] == 'e' || s[i - 1] == 'E')))) {
    if (std::isdigit(static_cast<unsigned char>(s[i]))) digits = true;
    ++i;
  }
  if (!digits) throw InputError(what + ": '" + std::string(text) + "' is not a number with a unit");
  std::string number(s.substr(0, i));
  std::size_t used = 0;
  long double v = 0;
  try {
    v = std::stold(number, &used);
  } catch (...) {
    used = 0;
  }
  if (used != number.size()) throw InputError(what + ": '" + std::string(text) + "' is not a valid number");
  Quantity q;
  q.value = v;
  q.unit = std::string(trim(s.substr(i)));
  return q;
}

}  // namespace

TimeNs parse_duration(std::string_view text, const std::string& what) {
  Quantity q = split_quantity(text, what);
  long double scale = 0;
  if (q.unit == "ns") scale = 1;
  else if (q.unit == "us" || q.unit == "µs") scale = 1e3L;
  else if (q.unit == "ms") scale = 1e6L;
  else if (q.unit == "s") scale = 1e9L;
  else if (q.unit.empty() && q.value == 0) scale = 1;
  else if (q.unit.empty())
    throw InputError(what + ": '" + std::string(text) + "' needs a unit (ns, us, ms or s)");
  else
    throw InputError(what + ": unknown unit '" + q.unit + "' in '" + std::string(text) +
                     "' (valid units: ns, us, ms, s)");
  if (q.value < 0) throw InputError(what + ": '" + std::string(text) + "' is negative");
  long double ns = q.value * scale;
  if (!std::isfinite(static_cast<double>(ns)) || ns > 9.0e18L)
    throw InputError(what + ": '" + std::string(text) + "' is too large");
  return static_cast<TimeNs>(std::llround(ns));
}

std::string format_duration(TimeNs ns) {
  char buf[64];
  const double v = static_cast<double>(ns);
  const double a = std::fabs(v);
  if (a >= 1e9) std::snprintf(buf, sizeof buf, "%.3f s", v / 1e9);
  else if (a >= 1e6) std::snprintf(buf, sizeof buf, "%.3f ms", v / 1e6);
  else if (a >= 1e3) std::snprintf(buf, sizeof buf, "%.3f us", v / 1e3);
  else std::snprintf(buf, sizeof buf, "%lld ns", static_cast<long long>(ns));
  return buf;
}

namespace {
long double byte_prefix(const std::string& p, bool& ok) {
  ok = true;
  if (p.empty()) return 1;
  if (p == "K" || p == "k") return 1e3L;
  if (p == "M") return 1e6L;
  if (p == "G") return 1e9L;
  if (p == "T") return 1e12L;
  if (p == "Ki") return 1024.0L;
  if (p == "Mi") return 1024.0L * 1024;
  if (p == "Gi") return 1024.0L * 1024 * 1024;
  if (p == "Ti") return 1024.0L * 1024 * 1024 * 1024;
  ok = false;
  return 0;
}
}  // namespace

double parse_bandwidth(std::string_view text, const std::string& what) {
  Quantity q = split_quantity(text, what);
  const std::string suffix = "B/s";
  if (q.unit.size() < suffix.size() || q.unit.compare(q.unit.size() - suffix.size(), suffix.size(), suffix) != 0)
    throw InputError(what + ": '" + std::string(text) + "' needs a bandwidth unit like GB/s, GiB/s, MB/s");
  bool ok = false;
  long double scale = byte_prefix(q.unit.substr(0, q.unit.size() - suffix.size()), ok);
  if (!ok) throw InputError(what + ": unknown unit '" + q.unit + "' (valid: B/s, KB/s, MB/s, GB/s, TB/s, KiB/s, MiB/s, GiB/s, TiB/s)");
  if (q.value <= 0) throw InputError(what + ": bandwidth '" + std::string(text) + "' must be positive");
  return static_cast<double>(q.value * scale);
}

std::int64_t parse_bytes(std::string_view text, const std::string& what) {
  Quantity q = split_quantity(text, what);
  std::string unit = q.unit;
  if (!unit.empty() && unit.back() == 'B') unit.pop_back();
  else if (!unit.empty()) throw InputError(what + ": unknown unit '" + q.unit + "' (valid: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)");
  bool ok = false;
  long double scale = byte_prefix(unit, ok);
  if (!ok) throw InputError(what + ": unknown unit '" + q.unit + "' (valid: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)");
  if (q.value < 0) throw InputError(what + ": '" + std::string(text) + "' is negative");
  return static_cast<std::int64_t>(std::llround(q.value * scale));
}

}  // namespace ppsim
