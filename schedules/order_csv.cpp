#include "schedules/order_csv.h"

#include <algorithm>

#include "base/error.h"
#include "schedules/validate.h"

namespace ppsim {

namespace {

// Model copies from the order itself: when every micro-batch's forwards cover
// one contiguous block of stages and the blocks tile the stages (DualPipe's two
// copies), those are the chains.
void infer_chains(Schedule& s) {
  const int S = s.stages(), M = s.microbatches;
  std::vector<int> lo(M, S), hi(M, -1);
  for (const auto& row : s.order)
    for (const Action& a : row)
      if (a.kind == ActionKind::F)
        lo[a.microbatch] = std::min(lo[a.microbatch], a.stage), hi[a.microbatch] = std::max(hi[a.microbatch], a.stage);
  std::vector<int> begins;
  for (int m = 0; m < M; ++m) {
    if (hi[m] < 0 || (lo[m] == 0 && hi[m] == S - 1)) return;  // one chain (or a missing forward: the validator says so)
    begins.push_back(lo[m]);
  }
  std::vector<int> chain_begin = begins;
  std::sort(chain_begin.begin(), chain_begin.end());
  chain_begin.erase(std::unique(chain_begin.begin(), chain_begin.end()), chain_begin.end());
  chain_begin.push_back(S);
  if (chain_begin.front() != 0) return;
  std::vector<int> of(M);
  for (int m = 0; m < M; ++m) {
    const auto c = std::lower_bound(chain_begin.begin(), chain_begin.end(), lo[m]) - chain_begin.begin();
    if (hi[m] + 1 != chain_begin[c + 1]) return;  // not a whole block: leave it to the validator
    of[m] = static_cast<int>(c);
  }
  s.chain_begin = std::move(chain_begin);
  s.chain_of_microbatch = std::move(of);
}

}  // namespace

std::string write_order_csv(const Schedule& schedule) {
  std::string out;
  for (const auto& row : schedule.order) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (i) out += ',';
      if (row[i].overlapped_with_next && i + 1 < row.size()) {
        out += overlapped_csv_string(row[i], row[i + 1]);
        ++i;
      } else {
        out += to_csv_string(row[i]);
      }
    }
    out += '\n';
  }
  return out;
}

Schedule read_order_csv(const std::string& text, const std::string& source, int ranks, int microbatches, int chunks) {
  Schedule s;
  s.kind = "custom";
  s.ranks = ranks;
  s.chunks = chunks;
  s.microbatches = microbatches;
  const int stages = ranks * chunks;
  s.rank_of_stage.assign(stages, -1);
  std::size_t line_start = 0;
  int line_no = 0;
  int rank = 0;
  while (line_start < text.size()) {
    std::size_t line_end = text.find('\n', line_start);
    if (line_end == std::string::npos) line_end = text.size();
    ++line_no;
    std::string_view line(text.data() + line_start, line_end - line_start);
    line_start = line_end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t,") == std::string_view::npos) continue;  // blank row
    if (rank >= ranks)
      throw InputError(source + ":" + std::to_string(line_no) + ": more rows than stages (" + std::to_string(ranks) +
                       "); the CSV has one row per rank");
    s.order.emplace_back();
    std::size_t cell_start = 0;
    while (cell_start <= line.size()) {
      std::size_t cell_end = line.find(',', cell_start);
      if (cell_end == std::string_view::npos) cell_end = line.size();
      std::string_view cell = line.substr(cell_start, cell_end - cell_start);
      const std::size_t column = cell_start + 1;
      cell_start = cell_end + 1;
      if (cell.find_first_not_of(" \t\"") == std::string_view::npos) continue;  // idle step
      while (!cell.empty() && (cell.front() == '"' || cell.front() == ' ')) cell.remove_prefix(1);
      while (!cell.empty() && (cell.back() == '"' || cell.back() == ' ')) cell.remove_suffix(1);
      const std::string where = source + ":" + std::to_string(line_no) + ":" + std::to_string(column);
      // PyTorch's overlapped unit "(0F7;7B3)OVERLAP_F_B": two actions, the
      // first marked.
      std::vector<std::string_view> parts{cell};
      const bool overlapped = cell.front() == '(';
      if (overlapped) {
        const std::size_t close = cell.find(')'), semi = cell.find(';');
        if (close == std::string_view::npos || semi == std::string_view::npos || semi > close ||
            cell.substr(close + 1) != kOverlapSuffix)
          throw InputError(where + ": cell '" + std::string(cell) +
                           "' is not an overlapped unit (expected "
                           "(aFm;bBn)OVERLAP_F_B, e.g. (0F7;7B3)OVERLAP_F_B)");
        parts = {cell.substr(1, semi - 1), cell.substr(semi + 1, close - semi - 1)};
      }
      for (std::size_t part = 0; part < parts.size(); ++part) {
        auto a = parse_csv_action(parts[part]);
        if (!a)
          throw InputError(where + ": cell '" + std::string(cell) +
                           "' is not a compute action (expected stage, kind, "
                           "micro-batch like 0F0, 1I3, 1W3, 2B0, "
                           "or (0F7;7B3)OVERLAP_F_B)");
        a->overlapped_with_next = overlapped && part == 0;
        if (a->stage >= stages)
          throw InputError(where + ": cell '" + std::string(cell) + "' names stage " + std::to_string(a->stage) +
                           " but there are " + std::to_string(stages) + " stages (stages x chunks)");
        if (a->microbatch >= microbatches)
          throw InputError(where + ": cell '" + std::string(cell) + "' names micro-batch " +
                           std::to_string(a->microbatch) + " but microbatches is " + std::to_string(microbatches));
        int& owner = s.rank_of_stage[a->stage];
        if (owner >= 0 && owner != rank)
          throw InputError(where + ": stage " + std::to_string(a->stage) + " appears on rank " + std::to_string(rank) +
                           " but already on rank " + std::to_string(owner) + " (a stage lives on one rank)");
        owner = rank;
        if (a->kind != ActionKind::F && a->kind != ActionKind::BW) s.split_backward = true;
        s.order.back().push_back(*a);
      }
    }
    ++rank;
  }
  if (rank != ranks)
    throw InputError(source + ": has " + std::to_string(rank) + " rows but stages is " + std::to_string(ranks) +
                     " (one row per rank)");
  for (int st = 0; st < stages; ++st)
    if (s.rank_of_stage[st] < 0)
      throw InputError(source + ": stage " + std::to_string(st) + " appears in no row (expected " +
                       std::to_string(stages) + " stages = stages x chunks)");
  for (int r = 0; r < ranks; ++r) {
    int held = 0;
    for (int st = 0; st < stages; ++st) held += s.rank_of_stage[st] == r;
    if (held != chunks)
      throw InputError(source + ": rank " + std::to_string(r) + " holds " + std::to_string(held) +
                       " stages but chunks is " + std::to_string(chunks));
  }
  infer_chains(s);
  validate_schedule(s, source);
  return s;
}

}  // namespace ppsim
