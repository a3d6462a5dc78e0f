#include "models/partition.h"

#include <algorithm>
#include <cassert>
#include <limits>
#include <numeric>

#include "sim/error.h"

namespace ppsim {
namespace {

std::string list(const std::vector<int>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

constexpr TimeNs kInfinity = std::numeric_limits<TimeNs>::max();

}  // namespace

int Partition::first_layer(int stage) const {
  assert(stage >= 0 && stage < virtual_stages());
  return std::accumulate(layers_per_stage.begin(), layers_per_stage.begin() + stage, 0);
}

void validate_partition(const Partition& p, int model_layers, int stages, int chunks, const std::string& where) {
  const int n = stages * chunks;
  if (stages < 1 || chunks < 1)
    throw InputError(where + ": stages (" + std::to_string(stages) + ") and chunks (" + std::to_string(chunks) +
                     ") must be at least 1");
  if (p.virtual_stages() != n)
    throw InputError(where + ": " + list(p.layers_per_stage) + " has " + std::to_string(p.virtual_stages()) +
                     " entries but the pipeline has " + std::to_string(stages) + " stages x " + std::to_string(chunks) +
                     " chunks = " + std::to_string(n) + " virtual stages");
  const int sum = std::accumulate(p.layers_per_stage.begin(), p.layers_per_stage.end(), 0);
  if (sum != model_layers)
    throw InputError(where + ": " + list(p.layers_per_stage) + " adds up to " + std::to_string(sum) +
                     " layers but the model has " + std::to_string(model_layers));
  if (p.embedding_stage < 0 || p.embedding_stage >= n)
    throw InputError(where + ": embedding stage " + std::to_string(p.embedding_stage) + " is not in 0.." +
                     std::to_string(n - 1));
  if (p.head_stage < -1 || p.head_stage >= n)
    throw InputError(where + ": head stage " + std::to_string(p.head_stage) + " is not in 0.." + std::to_string(n - 1));
  for (int v = 0; v < n; ++v) {
    const int k = p.layers_per_stage[v];
    if (k < 0) throw InputError(where + ": virtual stage " + std::to_string(v) + " has a negative layer count " + std::to_string(k));
    if (k == 0 && v != p.embedding_stage && v != p.head())
      throw InputError(where + ": virtual stage " + std::to_string(v) + " of " + list(p.layers_per_stage) +
                       " has no layers and holds neither the embedding nor the head");
  }
}

TimeNs split_bottleneck(const std::vector<int>& sizes, const std::vector<TimeNs>& block_times,
                        const std::vector<TimeNs>& stage_extra) {
  TimeNs worst = 0;
  std::size_t next = 0;
  for (std::size_t v = 0; v < sizes.size(); ++v) {
    TimeNs t = v < stage_extra.size() ? stage_extra[v] : 0;
    for (int i = 0; i < sizes[v]; ++i) t += block_times[next++];
    worst = std::max(worst, t);
  }
  assert(next == block_times.size());
  return worst;
}

// Exact dynamic programme. g[k][i] is the smallest possible bottleneck of placing blocks i..L-1 on
// stages k..S-1 with every stage non-empty. Because a split's bottleneck is the max over its stages
// and max is monotone in each argument, the best split of a suffix whose first stage ends at j is
// max(cost(k, i..j-1), g[k+1][j]) and g[k][i] is the minimum of that over all feasible j: this
// enumerates every contiguous split (principle of optimality), so g[0][0] is the optimum T*.
// The reconstruction then picks, stage by stage, the smallest first stage j - i that still admits
// a completion with bottleneck <= T* (g[k+1][j] <= T*), which yields the lexicographically
// smallest optimal size vector. O(S * L^2) time, O(S * L) memory.
std::vector<int> min_bottleneck_split(const std::vector<TimeNs>& block_times, const std::vector<TimeNs>& stage_extra,
                                      int virtual_stages, const std::string& where) {
  const int L = static_cast<int>(block_times.size());
  const int S = virtual_stages;
  if (S < 1) throw InputError(where + ": need at least one virtual stage, got " + std::to_string(S));
  if (L < S)
    throw InputError(where + ": the model has " + std::to_string(L) + " layers, too few to give each of the " +
                     std::to_string(S) + " virtual stages (stages x chunks) at least one");
  std::vector<TimeNs> prefix(L + 1, 0);
  for (int i = 0; i < L; ++i) prefix[i + 1] = prefix[i] + block_times[i];
  auto extra = [&](int k) { return k < static_cast<int>(stage_extra.size()) ? stage_extra[k] : 0; };
  auto cost = [&](int k, int i, int j) { return extra(k) + prefix[j] - prefix[i]; };

  std::vector<std::vector<TimeNs>> g(S + 1, std::vector<TimeNs>(L + 1, kInfinity));
  g[S][L] = 0;
  for (int k = S - 1; k >= 0; --k) {
    const int stages_after = S - 1 - k;
    for (int i = k; i <= L - (S - k); ++i) {  // i blocks already placed on the k earlier stages
      TimeNs best = kInfinity;
      for (int j = i + 1; j <= L - stages_after; ++j) {
        if (g[k + 1][j] == kInfinity) continue;
        best = std::min(best, std::max(cost(k, i, j), g[k + 1][j]));
      }
      g[k][i] = best;
    }
  }
  const TimeNs optimum = g[0][0];
  std::vector<int> sizes;
  int i = 0;
  for (int k = 0; k < S; ++k) {
    int j = i + 1;
    while (!(g[k + 1][j] != kInfinity && std::max(cost(k, i, j), g[k + 1][j]) <= optimum)) ++j;
    assert(j <= L);
    sizes.push_back(j - i);
    i = j;
  }
  assert(i == L);
  return sizes;
}

}  // namespace ppsim
