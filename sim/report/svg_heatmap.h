#pragma once
// A heatmap of a fraction (the bubble) over two integer axes, e.g. stages P against micro-batches
// M: as an SVG picture (cells coloured white to red and labelled in %) and as a text table.
#include <string>
#include <vector>

namespace ppsim {

struct Heatmap {
  std::string title;
  std::string x_name = "P", y_name = "M";
  std::vector<int> xs, ys;
  std::vector<std::vector<double>> value;  // [y][x], a fraction in [0, 1]; NaN where there is none
};

std::string render_svg_heatmap(const Heatmap& h);
std::string render_text_heatmap(const Heatmap& h);

// Escapes &, <, > and " for SVG text and attributes.
std::string xml_escape(const std::string& s);

}  // namespace ppsim
