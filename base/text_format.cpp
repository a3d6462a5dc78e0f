#include "base/text_format.h"

#include <cstdio>

namespace ppsim {

std::string format_number(const char* printf_format, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, printf_format, value);
  return buf;
}

}  // namespace ppsim
