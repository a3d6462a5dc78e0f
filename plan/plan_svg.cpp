#include "plan/plan_svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>

#include "plan/candidate.h"
#include "sim/report/svg_timeline.h"
#include "sim/simulation.h"

namespace ppsim {

std::string render_pareto_svg(const PlanConfig& plan, const PlanOutcome& o) {
  const double left = 90, top = 40, w = 800, h = 450;
  double max_mem = static_cast<double>(plan.memory_limit_bytes), max_tps = 0;
  for (const CandidateResult& r : o.ranked) {
    max_mem = std::max(max_mem, static_cast<double>(r.peak_memory_bytes));
    max_tps = std::max(max_tps, r.tokens_per_s);
  }
  max_mem *= 1.05;
  max_tps = std::max(1.0, max_tps * 1.05);
  auto px = [&](double bytes) { return left + w * bytes / max_mem; };
  auto py = [&](double tps) { return top + h - h * tps / max_tps; };
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" font-family=\"monospace\" "
                "font-size=\"11\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
                left + w + 30, top + h + 60);
  std::string out = buf;
  out += "<text x=\"10\" y=\"20\" font-size=\"14\">" +
         xml_escape("ppsim plan: " + plan.model_name + " on " + std::to_string(plan.gpus) + " x " + plan.hardware_name +
                    ": throughput against peak memory per GPU (" + std::to_string(o.evaluated) + " simulated)") +
         "</text>\n";
  std::snprintf(buf, sizeof buf,
                "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n"
                "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n",
                left, top + h, left + w, top + h, left, top, left, top + h);
  out += buf;
  for (int i = 0; i <= 5; ++i) {
    const double mem = max_mem * i / 5, tps = max_tps * i / 5;
    std::snprintf(buf, sizeof buf,
                  "<text x=\"%.1f\" y=\"%.1f\">%.0f GB</text>\n<text x=\"5\" y=\"%.1f\">%.3g</text>\n", px(mem) - 15,
                  top + h + 15, mem * 1e-9, py(tps) + 4, tps);
    out += buf;
  }
  std::snprintf(buf, sizeof buf,
                "<text x=\"%.1f\" y=\"%.1f\">peak memory per GPU</text>\n<text x=\"5\" y=\"%.1f\">tokens/s</text>\n",
                left + w / 2 - 60, top + h + 35, top - 8);
  out += buf;
  std::snprintf(buf, sizeof buf,
                "<line class=\"memory-limit\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"red\" "
                "stroke-dasharray=\"6,4\"/>\n<text x=\"%.1f\" y=\"%.1f\" fill=\"red\">memory limit %.1f GB</text>\n",
                px(static_cast<double>(plan.memory_limit_bytes)), top, px(static_cast<double>(plan.memory_limit_bytes)), top + h,
                px(static_cast<double>(plan.memory_limit_bytes)) + 4, top + 12, static_cast<double>(plan.memory_limit_bytes) * 1e-9);
  out += buf;
  for (const CandidateResult& r : o.ranked) {
    std::snprintf(buf, sizeof buf, "<circle class=\"%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" %s/>\n",
                  r.fits ? "candidate" : "candidate non-fitting", px(static_cast<double>(r.peak_memory_bytes)), py(r.tokens_per_s),
                  r.fits ? "fill=\"#3182bd\" fill-opacity=\"0.5\"" : "fill=\"none\" stroke=\"#de2d26\"");
    out += buf;
  }
  std::string points;
  for (std::size_t i : o.pareto) {
    std::snprintf(buf, sizeof buf, "%.1f,%.1f ", px(static_cast<double>(o.ranked[i].peak_memory_bytes)), py(o.ranked[i].tokens_per_s));
    points += buf;
  }
  out += "<polyline class=\"pareto\" points=\"" + points + "\" fill=\"none\" stroke=\"black\" stroke-width=\"1.5\"/>\n";
  if (o.fitting > 0) {
    const CandidateResult& b = o.ranked.front();
    std::snprintf(buf, sizeof buf,
                  "<circle class=\"best\" cx=\"%.1f\" cy=\"%.1f\" r=\"7\" fill=\"none\" stroke=\"#31a354\" stroke-width=\"2\"/>\n"
                  "<text x=\"%.1f\" y=\"%.1f\" fill=\"#31a354\">best: %s</text>\n",
                  px(static_cast<double>(b.peak_memory_bytes)), py(b.tokens_per_s), left + 10, top + h + 52,
                  xml_escape(describe(b.config)).c_str());
    out += buf;
  }
  return out + "</svg>\n";
}

Heatmap plan_bubble_heatmap(const PlanOutcome& o) {
  Heatmap h;
  if (o.ranked.empty()) return h;
  const std::string schedule = (o.fitting > 0 ? o.ranked.front() : o.ranked[o.pareto.back()]).config.schedule;
  std::set<int> ps, ms;
  for (const CandidateResult& r : o.ranked)
    if (r.config.schedule == schedule) {
      ps.insert(r.config.stages);
      ms.insert(r.config.microbatches);
    }
  h.title = "bubble fraction of " + schedule + " over stages P and micro-batches M (the smallest among the simulated candidates)";
  h.xs.assign(ps.begin(), ps.end());
  h.ys.assign(ms.begin(), ms.end());
  h.value.assign(h.ys.size(), std::vector<double>(h.xs.size(), std::numeric_limits<double>::quiet_NaN()));
  for (const CandidateResult& r : o.ranked) {
    if (r.config.schedule != schedule) continue;
    const auto x = std::lower_bound(h.xs.begin(), h.xs.end(), r.config.stages) - h.xs.begin();
    const auto y = std::lower_bound(h.ys.begin(), h.ys.end(), r.config.microbatches) - h.ys.begin();
    double& v = h.value[y][x];
    if (std::isnan(v) || r.bubble_fraction < v) v = r.bubble_fraction;
  }
  return h;
}

std::string render_best_timeline_svg(const PlanConfig& plan, const PlanOutcome& o) {
  const Candidate& best = (o.fitting > 0 ? o.ranked.front() : o.ranked[o.pareto.back()]).config;
  SimulationConfig config = simulation_config(plan, best);
  config.model->memory_limit_bytes = std::numeric_limits<std::int64_t>::max();  // drawn even when it would not fit
  const SimulationResult r = run_simulation(config);
  return render_svg_timeline(r.timeline, (o.fitting > 0 ? "best: " : "fastest (does not fit): ") + describe(best));
}

}  // namespace ppsim
