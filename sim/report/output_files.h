#pragma once
// Outputs are rendered in memory and written only once everything has succeeded, each through a
// temporary file renamed into place, so a failed run never leaves a partial output file.
#include <string>
#include <utility>
#include <vector>

namespace ppsim {

class PendingOutputs {
 public:
  void add(std::string path, std::string content) { files_.emplace_back(std::move(path), std::move(content)); }
  // Writes every file; on failure removes what it wrote and throws InputError naming the path.
  void commit();

 private:
  std::vector<std::pair<std::string, std::string>> files_;
};

}  // namespace ppsim
