#include "sim/report/output_files.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "base/error.h"

namespace ppsim {

void PendingOutputs::commit() {
  std::vector<std::string> temps;
  auto cleanup = [&] {
    for (const auto& t : temps) std::remove(t.c_str());
  };
  for (const auto& [path, content] : files_) {
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) {
      cleanup();
      throw InputError(path + ": cannot write the output file");
    }
    temps.push_back(tmp);
    f.write(content.data(), static_cast<std::streamsize>(content.size()));
    f.close();
    if (!f) {
      cleanup();
      throw InputError(path + ": writing the output file failed");
    }
  }
  for (std::size_t i = 0; i < files_.size(); ++i) {
    std::error_code ec;
    std::filesystem::rename(temps[i], files_[i].first, ec);
    if (ec) {
      cleanup();
      throw InputError(files_[i].first + ": cannot write the output file (" + ec.message() + ")");
    }
  }
}

}  // namespace ppsim
