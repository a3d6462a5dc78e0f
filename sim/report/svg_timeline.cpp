#include "sim/report/svg_timeline.h"

#include <algorithm>
#include <cstdio>

#include "sim/report/json_writer.h"

namespace ppsim {
namespace {

const char* colour(const Op& op) {
  switch (op.step) {
    case StepKind::GradReduce: return "#e6550d";
    case StepKind::Optimizer: return "#636363";
    case StepKind::ParamGather: return "#9e9ac8";
    case StepKind::None: break;
  }
  if (op.is_transfer) return op.kind == ActionKind::F ? "#9ecae1" : "#a1d99b";
  switch (op.kind) {
    case ActionKind::F: return "#3182bd";
    case ActionKind::B: return "#31a354";
    case ActionKind::W: return "#fd8d3c";
    case ActionKind::BW: return "#756bb1";
  }
  return "#888";
}

}  // namespace

std::string render_svg_timeline(const Timeline& tl, const std::string& title) {
  const OpTable& t = *tl.table;
  TimeNs t0 = tl.start.empty() ? 0 : tl.start[0], t1 = tl.end.empty() ? 1 : tl.end[0];
  for (std::size_t v = 0; v < t.ops.size(); ++v) {
    t0 = std::min(t0, tl.start[v]);
    t1 = std::max(t1, tl.end[v]);
  }
  const int rows = static_cast<int>(t.resources.size());
  // Rank rows are tall enough for labels; link rows are thinner (transfers are usually short).
  const double left = 90, top = 40, rank_h = 22, link_h = 12, plot_w = 1400;
  std::vector<double> row_y(rows + 1, top);
  for (int r = 0; r < rows; ++r) row_y[r + 1] = row_y[r] + (t.resources[r].is_link() ? link_h : rank_h);
  const double height = row_y[rows] + (t.step_ops > 0 ? 68 : 50);
  const double scale = plot_w / static_cast<double>(std::max<TimeNs>(1, t1 - t0));
  std::string out;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" font-family=\"monospace\" "
                "font-size=\"11\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
                left + plot_w + 20, height);
  out += buf;
  out += "<text x=\"10\" y=\"20\" font-size=\"14\">" + json_escape(title) + " (makespan " + format_duration(t1 - t0) + ")</text>\n";
  for (int r = 0; r < rows; ++r) {
    const double h = row_y[r + 1] - row_y[r];
    std::snprintf(buf, sizeof buf, "<text x=\"5\" y=\"%.1f\" font-size=\"%d\">%s</text>\n", row_y[r] + h - 6,
                  t.resources[r].is_link() ? 9 : 11, json_escape(t.resources[r].name).c_str());
    out += buf;
    std::snprintf(buf, sizeof buf, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#f4f4f4\"/>\n", left,
                  row_y[r] + 1, plot_w, h - 2);
    out += buf;
  }
  for (std::size_t v = 0; v < t.ops.size(); ++v) {
    const Op& op = t.ops[v];
    const std::string name = op.is_transfer ? std::to_string(op.microbatch) : op_label(t, static_cast<OpId>(v), false);
    if (name.empty()) continue;  // the backward half of an overlapped unit: drawn with its F
    const double x = left + static_cast<double>(tl.start[v] - t0) * scale;
    const double w = std::max(0.5, static_cast<double>(tl.end[v] - tl.start[v]) * scale);
    const double y = row_y[op.resource] + 2;
    const double h = row_y[op.resource + 1] - row_y[op.resource] - 4;
    std::snprintf(buf, sizeof buf,
                  "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"%s\" stroke=\"white\" "
                  "stroke-width=\"0.5\"><title>%s%s stage %d</title></rect>\n",
                  x, y, w, h, colour(op), op.is_transfer ? kind_name(op.kind) : "", name.c_str(), op.stage);
    out += buf;
    if (!op.is_transfer && w > 5.5 * static_cast<double>(name.size()) + 2) {
      std::snprintf(buf, sizeof buf, "<text x=\"%.2f\" y=\"%.1f\" fill=\"white\" font-size=\"9\">%s</text>\n", x + 2, y + 13,
                    name.c_str());
      out += buf;
    }
  }
  const double ly = row_y[rows] + 25;
  const char* names[] = {"F forward", "B input grad", "W weight grad", "BW fused backward", "activation hop", "gradient hop",
                         "grad reduce", "optimizer", "param gather"};
  const ActionKind kinds[] = {ActionKind::F, ActionKind::B, ActionKind::W, ActionKind::BW, ActionKind::F, ActionKind::B,
                              ActionKind::F, ActionKind::F, ActionKind::F};
  const StepKind steps[] = {StepKind::GradReduce, StepKind::Optimizer, StepKind::ParamGather};
  const int legend = t.step_ops > 0 ? 9 : 6;
  for (int i = 0; i < legend; ++i) {
    Op op;
    op.kind = kinds[i];
    op.is_transfer = i >= 4 && i < 6;
    if (i >= 6) op.step = steps[i - 6];
    const double x = left + (i % 6) * 160.0, y = ly + (i / 6) * 18.0;
    std::snprintf(buf, sizeof buf, "<rect x=\"%.0f\" y=\"%.0f\" width=\"12\" height=\"12\" fill=\"%s\"/><text x=\"%.0f\" y=\"%.0f\">%s</text>\n",
                  x, y, colour(op), x + 16, y + 10, names[i]);
    out += buf;
  }
  out += "</svg>\n";
  return out;
}

}  // namespace ppsim
