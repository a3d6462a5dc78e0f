#pragma once
// Numbers as text for the reports: one printf conversion of one double.
#include <string>

namespace ppsim {

// format_number("%.2f %%", 12.5) == "12.50 %". The format takes exactly one double.
std::string format_number(const char* printf_format, double value);

}  // namespace ppsim
