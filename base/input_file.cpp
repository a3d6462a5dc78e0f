#include "base/input_file.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "base/error.h"

namespace ppsim {

bool is_regular_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string read_input_file(const std::string& path, std::int64_t max_bytes) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw InputError(path + ": cannot open the file (no such file)");
  if (!S_ISREG(st.st_mode)) throw InputError(path + ": cannot read it: not a regular file");
  if (st.st_size > max_bytes)
    throw InputError(path + ": is " + std::to_string(st.st_size) + " bytes, more than the " + std::to_string(max_bytes) +
                     " this reader accepts");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open the file");
  std::stringstream buf;
  buf << in.rdbuf();
  if (in.bad()) throw InputError(path + ": reading the file failed");
  return buf.str();
}

}  // namespace ppsim
