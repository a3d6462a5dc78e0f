#include "measure/trace/rank_files.h"

#include <algorithm>
#include <filesystem>
#include <regex>

#include "base/error.h"

namespace ppsim::trace {
namespace {

namespace fs = std::filesystem;

bool is_trace_name(const std::string& name) {
  auto ends = [&](const std::string& suffix) {
    return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends(".json") || ends(".json.gz");
}

}  // namespace

std::vector<std::string> expand_trace_paths(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (const std::string& a : args) {
    std::error_code ec;
    if (fs::is_directory(a, ec)) {
      std::vector<std::string> found;
      for (const auto& entry : fs::directory_iterator(a, ec))
        if (entry.is_regular_file() && is_trace_name(entry.path().filename().string())) found.push_back(entry.path().string());
      if (found.empty()) throw InputError(a + ": no trace files in this directory (expected *.json or *.json.gz)");
      std::sort(found.begin(), found.end());
      out.insert(out.end(), found.begin(), found.end());
    } else if (fs::exists(a, ec)) {
      out.push_back(a);
    } else {
      throw InputError(a + ": no such file or directory");
    }
  }
  return out;
}

std::optional<int> rank_from_file_name(const std::string& path) {
  const std::string name = fs::path(path).filename().string();
  static const std::regex named(R"(rank[-_]?(\d+))", std::regex::icase);
  static const std::regex trailing(R"([-_](\d+)(\.pt\.trace)?\.json(\.gz)?$)");
  std::smatch m;
  if (std::regex_search(name, m, named) || std::regex_search(name, m, trailing)) {
    if (m[1].length() > 6) return std::nullopt;
    return std::stoi(m[1].str());
  }
  return std::nullopt;
}

}  // namespace ppsim::trace
