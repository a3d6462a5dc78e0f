#include "plan/progress.h"

#include <algorithm>

namespace ppsim {

std::string progress_line(std::size_t done, std::size_t total, int width) {
  const std::size_t w = static_cast<std::size_t>(width);
  const std::size_t filled = total ? std::min(w, w * done / total) : w;
  std::string s = "\r[";
  s.append(filled, '#');
  s.append(w - filled, ' ');
  s += "] ";
  s += std::to_string(done);
  s += " / ";
  s += std::to_string(total);
  s += " configurations";
  if (done == total) s += '\n';
  return s;
}

}  // namespace ppsim
