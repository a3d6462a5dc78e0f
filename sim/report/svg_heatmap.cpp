#include "sim/report/svg_heatmap.h"

#include <cmath>
#include <cstdio>

namespace ppsim {

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string render_svg_heatmap(const Heatmap& h) {
  const double left = 80, top = 50, cell_w = 70, cell_h = 28;
  const double width = left + cell_w * static_cast<double>(h.xs.size()) + 30;
  const double height = top + cell_h * static_cast<double>(h.ys.size()) + 50;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" font-family=\"monospace\" "
                "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
                std::max(width, 420.0), height);
  std::string out = buf;
  out += "<text x=\"10\" y=\"20\" font-size=\"14\">" + xml_escape(h.title) + "</text>\n";
  for (std::size_t y = 0; y < h.ys.size(); ++y) {
    const double cy = top + cell_h * static_cast<double>(y);
    std::snprintf(buf, sizeof buf, "<text x=\"10\" y=\"%.1f\">%s = %d</text>\n", cy + 18, xml_escape(h.y_name).c_str(), h.ys[y]);
    out += buf;
    for (std::size_t x = 0; x < h.xs.size(); ++x) {
      const double v = h.value[y][x], cx = left + cell_w * static_cast<double>(x);
      // White (no bubble) to red (all bubble); grey where nothing ran.
      const int shade = std::isnan(v) ? 0 : static_cast<int>(std::lround(255 * (1 - std::min(1.0, std::max(0.0, v)))));
      std::snprintf(buf, sizeof buf,
                    "<rect class=\"cell\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
                    "stroke=\"#999\"/>\n",
                    cx, cy, cell_w, cell_h, std::isnan(v) ? "#dddddd" : ("rgb(255," + std::to_string(shade) + "," + std::to_string(shade) + ")").c_str());
      out += buf;
      if (std::isnan(v)) std::snprintf(buf, sizeof buf, "<text x=\"%.1f\" y=\"%.1f\">-</text>\n", cx + 30, cy + 18);
      else std::snprintf(buf, sizeof buf, "<text x=\"%.1f\" y=\"%.1f\">%.1f%%</text>\n", cx + 12, cy + 18, 100 * v);
      out += buf;
    }
  }
  const double by = top + cell_h * static_cast<double>(h.ys.size()) + 20;
  for (std::size_t x = 0; x < h.xs.size(); ++x) {
    std::snprintf(buf, sizeof buf, "<text x=\"%.1f\" y=\"%.1f\">%s = %d</text>\n", left + cell_w * static_cast<double>(x) + 12, by,
                  xml_escape(h.x_name).c_str(), h.xs[x]);
    out += buf;
  }
  std::snprintf(buf, sizeof buf, "<text x=\"10\" y=\"%.1f\" font-size=\"11\">bubble fraction: white 0 %%, red 100 %%, grey: not run</text>\n", by + 22);
  out += buf;
  return out + "</svg>\n";
}

std::string render_text_heatmap(const Heatmap& h) {
  std::string out = h.title + "\n";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%8s", (h.y_name + " \\ " + h.x_name).c_str());
  out += buf;
  for (int x : h.xs) {
    std::snprintf(buf, sizeof buf, "%9d", x);
    out += buf;
  }
  out += "\n";
  for (std::size_t y = 0; y < h.ys.size(); ++y) {
    std::snprintf(buf, sizeof buf, "%8d", h.ys[y]);
    out += buf;
    for (std::size_t x = 0; x < h.xs.size(); ++x) {
      if (std::isnan(h.value[y][x])) std::snprintf(buf, sizeof buf, "%9s", "-");
      else std::snprintf(buf, sizeof buf, "%8.1f%%", 100 * h.value[y][x]);
      out += buf;
    }
    out += "\n";
  }
  return out;
}

}  // namespace ppsim
