#include "sim/report/ascii_timeline.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace ppsim {

int terminal_width() {
  if (const char* c = std::getenv("COLUMNS")) {
    const int w = std::atoi(c);
    if (w > 20) return std::min(w, kMaxTimelineWidth);
  }
  winsize ws{};
  if (::isatty(STDOUT_FILENO) && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20) return std::min<int>(ws.ws_col, kMaxTimelineWidth);
  return 120;
}

std::string render_ascii_timeline(const Timeline& tl, int width) {
  const OpTable& t = *tl.table;
  if (t.ops.empty()) return "";
  TimeNs t0 = tl.start[0], t1 = tl.end[0];
  for (std::size_t v = 0; v < t.ops.size(); ++v) {
    t0 = std::min(t0, tl.start[v]);
    t1 = std::max(t1, tl.end[v]);
  }
  const std::string prefix_example = "rank " + std::to_string(t.ranks - 1) + ": ";
  const int cols = std::max(10, width - static_cast<int>(prefix_example.size()) - 1);
  const double span = static_cast<double>(std::max<TimeNs>(1, t1 - t0));
  auto col = [&](TimeNs x) { return static_cast<int>(static_cast<double>(x - t0) * cols / span); };
  const bool with_stage = t.chunks > 1;
  // Each row's ops in time order: a rank's compute ops then its optimizer update; a data-parallel
  // channel's collectives.
  std::vector<std::vector<OpId>> rows(t.resources.size());
  for (int r = 0; r < t.ranks; ++r)
    for (OpId v = t.rank_begin[r]; v < t.rank_begin[r + 1]; ++v) rows[r].push_back(v);
  for (OpId v = t.pipeline_ops(); v < t.ops.size(); ++v) rows[t.ops[v].resource].push_back(v);
  auto letter_of = [](const Op& o) {
    switch (o.step) {
      case StepKind::GradReduce: return 'R';
      case StepKind::Optimizer: return 'U';
      case StepKind::ParamGather: return 'G';
      case StepKind::None: break;
    }
    return o.overlapped ? 'O' : o.kind == ActionKind::BW ? 'X' : kind_name(o.kind)[0];
  };
  std::string out;
  for (std::size_t res = 0; res < rows.size(); ++res) {
    if (t.resources[res].is_link() || (rows[res].empty() && static_cast<int>(res) >= t.ranks)) continue;
    std::string row(cols, '.');
    bool lower_last = false;  // whether the previous narrow op was drawn in lower case
    char last_drawn = 0;      // the previous drawn op's letter (0: it had a label)
    for (OpId v : rows[res]) {
      const Op& op = t.ops[v];
      int c0 = std::min(col(tl.start[v]), cols - 1);
      int c1 = std::min(col(tl.end[v]), cols);
      if (c1 <= c0) c1 = c0 + 1;
      const std::string text = op_label(t, v, with_stage);
      if (text.empty()) continue;  // the backward half of an overlapped unit: drawn with its F
      const int cells = c1 - c0;
      if (cells > static_cast<int>(text.size())) {
        for (int c = c0; c < c1; ++c) row[c] = ' ';
        std::copy(text.begin(), text.end(), row.begin() + c0);
        lower_last = false;
        last_drawn = 0;
      } else {
        // Too narrow for a label: the kind's letter, in alternating case so that neighbours
        // stay apart ("FfFf" is four forwards).
        char letter = letter_of(op);
        if (letter == last_drawn && !lower_last) letter = static_cast<char>(letter - 'A' + 'a');
        lower_last = letter >= 'a';
        last_drawn = letter_of(op);
        for (int c = c0; c < c1; ++c) row[c] = letter;
      }
    }
    std::string name = t.resources[res].name + ": ";
    name.resize(std::max(prefix_example.size(), name.size()), ' ');
    out += name.substr(0, prefix_example.size()) + row + "\n";
  }
  std::string axis(prefix_example.size(), ' ');
  axis += "0";
  const std::string end = format_duration(t1 - t0);
  if (cols > static_cast<int>(end.size()) + 2) axis += std::string(cols - 1 - end.size(), ' ') + end;
  out += axis + "\n";
  bool overlapped = false;
  for (OpId v = 0; v < t.compute_ops(); ++v) overlapped = overlapped || t.ops[v].overlapped;
  out += "(where labels do not fit: F forward, B input gradient, W weight gradient, X fused backward, ";
  out += overlapped ? "O an overlapped\n F&B unit, " : "";
  if (t.step_ops > 0) out += std::string(overlapped ? "" : "\n ") + "R gradient reduction, U optimizer update, G parameter gather, ";
  out += overlapped || t.step_ops > 0 ? "in alternating case from one op to the next; . idle)\n"
                                      : "in alternating\n case from one op to the next; . idle)\n";
  return out;
}

}  // namespace ppsim
