#include "plan/ranking.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "base/error.h"
#include "base/time.h"

namespace ppsim {
namespace {

bool faster(const CandidateResult& a, const CandidateResult& b) {
  if (a.iteration_time_ns != b.iteration_time_ns) return a.iteration_time_ns < b.iteration_time_ns;
  if (a.peak_memory_bytes != b.peak_memory_bytes) return a.peak_memory_bytes < b.peak_memory_bytes;
  return a.config.id < b.config.id;
}

// "12.30 ms", "45.600 us": base/time.h's format for a difference of `ns` nanoseconds.
std::string ms(double ns) { return format_duration(static_cast<TimeNs>(std::llround(ns))); }

// What differs between two configurations, "schedule zb-h1 vs 1f1b, V 1 vs 2".
std::string config_difference(const Candidate& a, const Candidate& b) {
  std::string out;
  auto add = [&out](const std::string& what, const std::string& x, const std::string& y) {
    if (x != y) out += (out.empty() ? "" : ", ") + what + " " + x + " vs " + y;
  };
  add("schedule", a.schedule, b.schedule);
  add("t", std::to_string(a.tensor_parallel), std::to_string(b.tensor_parallel));
  add("sequence parallel", a.sequence_parallel ? "on" : "off", b.sequence_parallel ? "on" : "off");
  add("P", std::to_string(a.stages), std::to_string(b.stages));
  add("V", std::to_string(a.chunks), std::to_string(b.chunks));
  add("d", std::to_string(a.data_parallel), std::to_string(b.data_parallel));
  add("micro-batch size", std::to_string(a.micro_batch_size), std::to_string(b.micro_batch_size));
  add("M", std::to_string(a.microbatches), std::to_string(b.microbatches));
  add("recompute", to_string(a.recompute), to_string(b.recompute));
  add("zero", std::to_string(a.zero), std::to_string(b.zero));
  return out;
}

}  // namespace

std::string explain_difference(const CandidateResult& a, const CandidateResult& b, int b_rank) {
  std::string other = "#";
  other += std::to_string(b_rank);
  struct Part {
    const char* name;
    double a, b;
  };
  const Part parts[] = {
      {"compute on the busiest rank (F, B, W with recompute and tensor-parallel collectives)",
       static_cast<double>(a.largest_busy_ns), static_cast<double>(b.largest_busy_ns)},
      {"pipeline bubble", static_cast<double>(a.makespan_ns - a.largest_busy_ns),
       static_cast<double>(b.makespan_ns - b.largest_busy_ns)},
      {"exposed data-parallel communication", static_cast<double>(a.exposed_data_parallel_ns),
       static_cast<double>(b.exposed_data_parallel_ns)},
      {"exposed optimizer", static_cast<double>(a.exposed_optimizer_ns), static_cast<double>(b.exposed_optimizer_ns)},
  };
  const double gain = static_cast<double>(b.iteration_time_ns - a.iteration_time_ns);
  char head[160];
  std::snprintf(head, sizeof head, "#1 is %.2f %% faster than %s (%s less per step; ", 100.0 * gain / static_cast<double>(b.iteration_time_ns),
                other.c_str(), ms(gain).c_str());
  std::string out = head + config_difference(a.config, b.config) + "); #1 against " + other + ": ";
  const Part* decisive = &parts[0];
  std::string list;
  for (const Part& p : parts) {
    const double d = p.b - p.a;
    if (d > decisive->b - decisive->a) decisive = &p;
    if (!list.empty()) list += ", ";
    list += p.name;
    list += ' ';
    if (d == 0) {
      list += "the same";
    } else {
      list += d > 0 ? '-' : '+';
      list += ms(std::abs(d));
    }
  }
  out += list + ". ";
  if (gain <= 0) return out + "They tie; #1 is ranked first for its lower peak memory or its place in the search.";
  out += std::string("The ") + decisive->name + " decides";
  if (decisive == &parts[0] && a.config.recompute != b.config.recompute)
    out += std::string(" (recompute ") + to_string(a.config.recompute) + " vs " + to_string(b.config.recompute) + ")";
  return out + ".";
}

PlanOutcome rank_candidates(const Enumeration& enumeration, Evaluation evaluation) {
  PlanOutcome o;
  o.combinations = enumeration.combinations;
  o.skipped = enumeration.skipped;
  for (const auto& kv : evaluation.skipped) o.skipped[kv.first] += kv.second;
  o.cost_models_built = evaluation.cost_models_built;
  o.ranked = std::move(evaluation.results);
  o.evaluated = static_cast<std::int64_t>(o.ranked.size());
  std::sort(o.ranked.begin(), o.ranked.end(), [](const CandidateResult& a, const CandidateResult& b) {
    if (a.fits != b.fits) return a.fits;
    return faster(a, b);
  });
  o.fitting = std::count_if(o.ranked.begin(), o.ranked.end(), [](const CandidateResult& r) { return r.fits; });
  // The front: by increasing memory, each candidate strictly faster than every one using less.
  std::vector<std::size_t> by_memory(o.ranked.size());
  for (std::size_t i = 0; i < by_memory.size(); ++i) by_memory[i] = i;
  std::sort(by_memory.begin(), by_memory.end(), [&o](std::size_t x, std::size_t y) {
    const CandidateResult &a = o.ranked[x], &b = o.ranked[y];
    if (a.peak_memory_bytes != b.peak_memory_bytes) return a.peak_memory_bytes < b.peak_memory_bytes;
    return faster(a, b);
  });
  TimeNs best = 0;
  for (std::size_t i : by_memory)
    if (o.pareto.empty() || o.ranked[i].iteration_time_ns < best) {
      o.pareto.push_back(i);
      best = o.ranked[i].iteration_time_ns;
    }
  if (o.fitting >= 2) {
    // Runners-up with the very same step (e.g. two schedules that run the same order here) are
    // said to tie; the explanation is against the first slower one.
    std::size_t j = 1;
    while (j + 1 < static_cast<std::size_t>(o.fitting) && o.ranked[j].iteration_time_ns == o.ranked[0].iteration_time_ns) ++j;
    if (j > 1) {
      o.why = "#2";
      if (j > 2) {
        o.why += " to #";
        o.why += std::to_string(j);
      }
      o.why += " tie with #1 (the same step time; ranked by peak memory, then by their place in the search). ";
    }
    o.why += explain_difference(o.ranked[0], o.ranked[j], static_cast<int>(j) + 1);
  }
  return o;
}

void require_simulated(const std::string& source, const PlanOutcome& o) {
  if (o.evaluated > 0) return;
  std::string reasons;
  for (const auto& kv : o.skipped) {
    if (!reasons.empty()) reasons += "; ";
    reasons += std::to_string(kv.second);
    reasons += ' ';
    reasons += skip_reason_text(kv.first);
  }
  throw InputError(source + ": search: the search space is empty: every one of its " + std::to_string(o.combinations) +
                   " combinations is skipped (" + reasons + ")");
}

std::vector<std::size_t> same_but_microbatches(const PlanOutcome& o, const Candidate& c) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < o.ranked.size(); ++i) {
    const Candidate& x = o.ranked[i].config;
    if (x.schedule == c.schedule && x.stages == c.stages && x.chunks == c.chunks && x.tensor_parallel == c.tensor_parallel &&
        x.data_parallel == c.data_parallel && x.sequence_parallel == c.sequence_parallel && x.recompute == c.recompute &&
        x.zero == c.zero)
      out.push_back(i);
  }
  std::sort(out.begin(), out.end(), [&o](std::size_t a, std::size_t b) {
    return o.ranked[a].config.microbatches < o.ranked[b].config.microbatches;
  });
  return out;
}

}  // namespace ppsim
