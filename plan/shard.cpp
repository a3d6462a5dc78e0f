#include "plan/shard.h"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <stdexcept>

namespace ppsim {

std::vector<Candidate> shard_candidates(const std::vector<Candidate>& all, int rank, int size) {
  std::vector<Candidate> out;
  for (std::size_t i = static_cast<std::size_t>(rank); i < all.size(); i += static_cast<std::size_t>(size)) out.push_back(all[i]);
  return out;
}

std::string encode_evaluation(const Evaluation& e) {
  std::string s = "cost_models " + std::to_string(e.cost_models_built) + "\n";
  for (const auto& kv : e.skipped) s += "skipped " + kv.first + " " + std::to_string(kv.second) + "\n";
  char buf[512];
  for (const CandidateResult& r : e.results) {
    const Candidate& c = r.config;
    std::snprintf(buf, sizeof buf,
                  "result %d %s %d %d %d %d %d %d %d %d %d %lld %lld %lld %lld %lld %.17g %.17g %.17g %.17g %lld %d\n", c.id,
                  c.schedule.c_str(), c.stages, c.chunks, c.micro_batch_size, c.microbatches, c.tensor_parallel,
                  c.data_parallel, static_cast<int>(c.sequence_parallel), static_cast<int>(c.recompute), c.zero,
                  static_cast<long long>(r.iteration_time_ns), static_cast<long long>(r.makespan_ns),
                  static_cast<long long>(r.largest_busy_ns), static_cast<long long>(r.exposed_data_parallel_ns),
                  static_cast<long long>(r.exposed_optimizer_ns), r.tokens_per_s, r.mfu, r.hfu, r.bubble_fraction,
                  static_cast<long long>(r.peak_memory_bytes), static_cast<int>(r.fits));
    s += buf;
  }
  return s;
}

Evaluation merge_evaluations(const std::vector<std::string>& parts) {
  Evaluation e;
  for (const std::string& part : parts) {
    std::istringstream in(part);
    std::string tag;
    while (in >> tag) {
      if (tag == "cost_models") {
        std::int64_t n = 0;
        in >> n;
        e.cost_models_built += n;
      } else if (tag == "skipped") {
        std::string reason;
        std::int64_t n = 0;
        in >> reason >> n;
        e.skipped[reason] += n;
      } else if (tag == "result") {
        CandidateResult r;
        Candidate& c = r.config;
        int sp = 0, rc = 0, fits = 0;
        long long it = 0, mk = 0, busy = 0, dp = 0, opt = 0, peak = 0;
        std::string tps, mfu, hfu, bubble;
        in >> c.id >> c.schedule >> c.stages >> c.chunks >> c.micro_batch_size >> c.microbatches >> c.tensor_parallel >>
            c.data_parallel >> sp >> rc >> c.zero >> it >> mk >> busy >> dp >> opt >> tps >> mfu >> hfu >> bubble >> peak >> fits;
        c.sequence_parallel = sp != 0;
        c.recompute = static_cast<Recompute>(rc);
        r.iteration_time_ns = it;
        r.makespan_ns = mk;
        r.largest_busy_ns = busy;
        r.exposed_data_parallel_ns = dp;
        r.exposed_optimizer_ns = opt;
        r.tokens_per_s = std::strtod(tps.c_str(), nullptr);
        r.mfu = std::strtod(mfu.c_str(), nullptr);
        r.hfu = std::strtod(hfu.c_str(), nullptr);
        r.bubble_fraction = std::strtod(bubble.c_str(), nullptr);
        r.peak_memory_bytes = peak;
        r.fits = fits != 0;
        e.results.push_back(std::move(r));
      } else {
        throw std::runtime_error("merge_evaluations: unknown record '" + tag + "'");
      }
      if (!in) throw std::runtime_error("merge_evaluations: a malformed '" + tag + "' record");
    }
  }
  std::sort(e.results.begin(), e.results.end(),
            [](const CandidateResult& a, const CandidateResult& b) { return a.config.id < b.config.id; });
  return e;
}

}  // namespace ppsim
