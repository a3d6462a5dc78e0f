#include "sim/report/stream_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "base/text_format.h"
#include "sim/report/svg_timeline.h"

namespace ppsim {
namespace {

std::string ms(double ns) { return format_duration(static_cast<TimeNs>(std::llround(ns))); }

std::string list_of_times(const std::vector<TimeNs>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + format_duration(v[i]);
  return out + "]";
}

std::string capacities(const StreamConfig& c) {
  if (std::all_of(c.queue_capacity.begin(), c.queue_capacity.end(), [](std::int64_t q) { return q == kUnbounded; }))
    return "queues unbounded";
  std::string out = "queue capacity [";
  for (std::size_t i = 0; i < c.queue_capacity.size(); ++i)
    out += (i ? ", " : "") + (c.queue_capacity[i] == kUnbounded ? std::string("unbounded") : std::to_string(c.queue_capacity[i]));
  return out + "] (blocking after service)";
}

double little_lambda_w(const StreamMetrics& m, double residence_ns) { return m.throughput_items_per_s * residence_ns * 1e-9; }

}  // namespace

const char* stream_bound(const StreamConfig& c, const StreamMetrics& m) {
  if (c.arrivals) return m.stable ? "arrivals" : "throughput";
  if (c.max_outstanding && *c.max_outstanding < m.saturating_in_flight) return "latency";
  return "throughput";
}

std::string render_stream_text_report(const std::string& source, const StreamConfig& c, const StreamMetrics& m) {
  std::ostringstream os;
  os << "ppsim: " << source << " (simulated)\n";
  os << "schedule stream, P = " << c.stages << " stages, " << m.items << " items measured after " << c.warmup_items
     << " warm-up items; ";
  if (c.arrivals)
    os << "open loop, " << (c.arrivals->process == ArrivalProcess::Poisson ? "Poisson" : "fixed-interval")
       << " arrivals every " << format_duration(c.arrivals->interval) << (c.arrivals->process == ArrivalProcess::Poisson ? " on average" : "");
  else
    os << "closed loop";
  if (c.max_outstanding) os << ", max_outstanding " << *c.max_outstanding;
  os << "; " << capacities(c) << "\n";
  os << "op times: forward " << list_of_times(c.forward) << ", transfer "
     << (c.hops.empty() ? format_duration(c.transfer) : list_of_times(c.hops));
  if (c.times_source != "explicit times") os << " (from " << c.times_source << ")";
  os << "; jitter "
     << distribution_name(c.jitter.distribution);
  if (!c.jitter.deterministic()) os << " (cv " << format_number("%g", c.jitter.cv) << ", seed " << c.seed << ")";
  if (c.batch.max > 1 && c.batch.factors.empty())
    os << "; batches of up to " << c.batch.max << " items, t(b) = t(1) (" << format_number("%g", c.batch.fixed_fraction) << " + "
       << format_number("%g", 1 - c.batch.fixed_fraction) << " b)";
  if (c.batch.max > 1 && !c.batch.factors.empty()) {
    os << "; batches of up to " << c.batch.max << " items, t(b) / t(1) = [";
    for (std::size_t i = 0; i < c.batch.factors.size(); ++i) os << (i ? ", " : "") << format_number("%g", c.batch.factors[i]);
    os << "]";
  }
  os << "\n\n";

  os << "throughput          " << format_number("%.2f", m.throughput_items_per_s) << " items/s\n";
  if (!m.stable) {
    os << "UNSTABLE: arrivals (" << format_number("%.2f", 1e9 / static_cast<double>(c.arrivals->interval))
       << " items/s) outpace what the pipeline serves (" << format_number("%.2f", m.throughput_items_per_s)
       << " items/s; offered load of the bottleneck " << format_number("%.3f", m.offered_load) << "): the queue grows by "
       << format_number("%.2f", m.queue_growth_items_per_s)
       << " items/s, so latency has no steady value (it grows with the run's length) and none is reported\n";
  } else {
    os << "latency             mean " << ms(m.latency.mean_ns) << ", p50 " << format_duration(m.latency.p50) << ", p90 "
       << format_duration(m.latency.p90) << ", p99 " << format_duration(m.latency.p99) << ", max "
       << format_duration(m.latency.max) << (c.arrivals ? "   (arrival to finish)" : "   (admission to finish)") << "\n";
    if (c.arrivals) {
      os << "first item out      " << format_duration(m.ttff_ns) << " after the first arrival (ttff)\n";
      os << "offered load        " << format_number("%.3f", m.offered_load) << " of the bottleneck's capacity"
         << (c.batch.max > 1 ? " (in full batches)" : "") << "\n";
    }
  }
  const double lw = little_lambda_w(m, m.latency.mean_ns);
  os << "in the pipeline     L = " << format_number("%.3f", m.mean_in_system) << " items (time average); lambda*W = "
     << format_number("%.3f", lw) << " (Little's law";
  if (m.stable) os << ", differs by " << format_number("%.2f", m.mean_in_system > 0 ? 100 * std::fabs(m.mean_in_system - lw) / m.mean_in_system : 0) << " %";
  os << ")\n\n";

  os << "bottleneck: stage " << m.bottleneck << " (" << format_duration(m.bottleneck_time)
     << (c.batch.max > 1 ? " per item in full batches" : " per item") << ": at most " << format_number("%.2f", m.bottleneck_time > 0 ? 1e9 / static_cast<double>(m.bottleneck_time) : 0)
     << " items/s); one item alone takes " << format_duration(m.unloaded_latency) << " (every stage and hop)\n";
  if (c.batch.max == 1) {
    os << "in flight to saturate the bottleneck: N* = ceil(" << format_duration(m.unloaded_latency) << " / "
       << format_duration(m.bottleneck_time) << ") = " << m.saturating_in_flight << "\n";
  } else {
    TimeNs full = c.total_hops();
    for (int k = 0; k < c.stages; ++k) full += batch_time(c, k, c.batch.max);
    os << "in flight to saturate the bottleneck: N* = ceil(" << c.batch.max << " x a full batch's latency "
       << format_duration(full) << " / its time at stage " << m.bottleneck << " "
       << format_duration(batch_time(c, m.bottleneck, c.batch.max)) << ") = " << m.saturating_in_flight << "\n";
  }
  const std::string bound = stream_bound(c, m);
  if (bound == "latency")
    os << "this run is latency-bound: max_outstanding " << *c.max_outstanding << " < N* = " << m.saturating_in_flight
       << ", so throughput is about N / (sum of the stages) = " << format_number("%.2f", 1e9 * *c.max_outstanding / static_cast<double>(m.unloaded_latency))
       << " items/s and the bottleneck idles\n";
  else if (bound == "arrivals")
    os << "this run is arrival-bound: the arrivals set the rate; the bottleneck is busy "
       << format_number("%.1f", 100 * m.stages[m.bottleneck].utilization) << " % of the time\n";
  else
    os << "this run is throughput-bound: the slowest stage (stage " << m.bottleneck << ") sets the rate\n";

  os << "\nstage  utilization  queue mean  queue max  blocked    mean service   residence W    L (items)  lambda*W\n";
  for (int k = 0; k < c.stages; ++k) {
    const StreamStageMetrics& s = m.stages[k];
    char buf[256];
    std::snprintf(buf, sizeof buf, "%5d  %10.2f%%  %10.3f  %9lld  %7.2f%%  %13s  %13s  %9.3f  %9.3f\n", k, 100 * s.utilization,
                  s.mean_queue_length, static_cast<long long>(s.max_queue_length), 100 * s.blocked_fraction,
                  ms(s.mean_service_ns).c_str(), ms(s.mean_residence_ns).c_str(), s.mean_in_system,
                  little_lambda_w(m, s.mean_residence_ns));
    os << buf;
  }
  os << "Little's law per stage: L (time average over the window) vs lambda*W (throughput x mean residence); they "
        "agree up to the items the window cuts at its ends\n";
  return os.str();
}

void write_stream_json_fields(JsonWriter& w, const std::string& source, const StreamConfig& c, const StreamMetrics& m) {
  w.field("config", source);
  w.field("schedule", "stream");
  w.field("stage_count", c.stages);
  w.field("items", m.items);
  w.field("warmup_items", c.warmup_items);
  w.field("open_loop", m.open_loop);
  w.field("window_ns", m.window_end - m.window_begin);
  w.field("throughput_items_per_s", m.throughput_items_per_s);
  if (m.stable) {
    w.key("latency_ns").begin_object();
    w.field("mean", m.latency.mean_ns);
    w.field("p50", m.latency.p50);
    w.field("p90", m.latency.p90);
    w.field("p99", m.latency.p99);
    w.field("max", m.latency.max);
    w.end_object();
  }
  if (m.open_loop) {
    w.field("ttff_ns", m.ttff_ns);
    w.field("offered_load", m.offered_load);
    w.field("stable", m.stable);
    w.field("queue_growth_items_per_s", m.queue_growth_items_per_s);
  }
  w.field("mean_in_system", m.mean_in_system);
  w.field("littles_law_lambda_w", little_lambda_w(m, m.latency.mean_ns));
  w.field("bottleneck_stage", m.bottleneck);
  w.field("unloaded_latency_ns", m.unloaded_latency);
  w.field("saturating_in_flight", m.saturating_in_flight);
  w.field("bound", stream_bound(c, m));
  w.key("stages").begin_array();
  for (int k = 0; k < c.stages; ++k) {
    const StreamStageMetrics& s = m.stages[k];
    w.begin_object();
    w.field("stage", k);
    w.field("utilization", s.utilization);
    w.field("mean_queue_length", s.mean_queue_length);
    w.field("max_queue_length", s.max_queue_length);
    w.field("blocked_fraction", s.blocked_fraction);
    w.field("mean_in_system", s.mean_in_system);
    w.field("mean_residence_ns", s.mean_residence_ns);
    w.field("littles_law_lambda_w", little_lambda_w(m, s.mean_residence_ns));
    w.field("mean_service_ns", s.mean_service_ns);
    w.end_object();
  }
  w.end_array();
}

std::string render_stream_svg(const Timeline& tl, const StreamRun& run, const std::string& title) {
  const std::string inner = render_svg_timeline(tl, title);
  // The timeline's size, from its opening tag; its plot spans x = 90 .. 1490 over [t0, t1].
  const auto number_after = [&inner](const std::string& attr) {
    const std::size_t p = inner.find(attr + "=\"");
    return std::stod(inner.substr(p + attr.size() + 2));
  };
  const double width = number_after("width"), top = number_after("height");
  TimeNs t0 = tl.start.empty() ? 0 : tl.start[0], t1 = 1;
  for (std::size_t v = 0; v < tl.start.size(); ++v) {
    t0 = std::min(t0, tl.start[v]);
    t1 = std::max(t1, tl.end[v]);
  }
  const double left = 90, plot_w = 1400, row_h = 60, gap = 14;
  const double scale = plot_w / static_cast<double>(std::max<TimeNs>(1, t1 - t0));
  const double height = top + 24 + run.stages * (row_h + gap) + 10;
  char buf[512];
  std::string out;
  std::snprintf(buf, sizeof buf,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" font-family=\"monospace\" "
                "font-size=\"11\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
                width, height);
  out += buf;
  out += inner;
  std::snprintf(buf, sizeof buf, "<text x=\"10\" y=\"%.1f\" font-size=\"13\">items waiting in front of each stage</text>\n", top + 14);
  out += buf;
  for (int k = 0; k < run.stages; ++k) {
    const auto q = queue_occupancy(run, k);
    std::int64_t peak = 1;
    for (const auto& s : q) peak = std::max(peak, s.second);
    const double y0 = top + 24 + k * (row_h + gap), base = y0 + row_h;
    std::snprintf(buf, sizeof buf,
                  "<text x=\"5\" y=\"%.1f\">stage %d</text><text x=\"5\" y=\"%.1f\" font-size=\"9\">max %lld</text>\n"
                  "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#f4f4f4\"/>\n",
                  y0 + 14, k, y0 + 28, static_cast<long long>(peak), left, y0, plot_w, row_h);
    out += buf;
    out += "<polyline fill=\"none\" stroke=\"#d62728\" stroke-width=\"1\" points=\"";
    double prev_y = base;
    for (const auto& s : q) {
      if (s.first > t1) break;
      const double x = left + static_cast<double>(std::max(s.first, t0) - t0) * scale;
      const double y = base - row_h * static_cast<double>(s.second) / static_cast<double>(peak);
      std::snprintf(buf, sizeof buf, "%.2f,%.2f %.2f,%.2f ", x, prev_y, x, y);
      out += buf;
      prev_y = y;
    }
    std::snprintf(buf, sizeof buf, "%.2f,%.2f\"/>\n", left + plot_w, prev_y);
    out += buf;
  }
  out += "</svg>\n";
  return out;
}

}  // namespace ppsim
