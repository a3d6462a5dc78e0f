#pragma once
// Which files make up a traced job: the command line's directories and files, one file per rank.
#include <optional>
#include <string>
#include <vector>

namespace ppsim::trace {

// Every *.json / *.json.gz in each directory (not recursive, sorted by name) and every file named
// directly, in order. Throws InputError for a path that does not exist or a directory with no trace.
std::vector<std::string> expand_trace_paths(const std::vector<std::string>& args);

// The rank a file name gives: "rank3", "rank-3", "rank_3" anywhere in the base name, else a final
// "_3.json" / "-3.json" (before .gz, and before .pt.trace.json). nullopt when the name says none.
std::optional<int> rank_from_file_name(const std::string& path);

}  // namespace ppsim::trace
