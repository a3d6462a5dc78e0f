#include "models/partition.h"

#include <algorithm>
#include <cassert>
#include <numeric>

#include "base/error.h"

namespace ppsim {
namespace {

std::string list(const std::vector<int>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

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

// Exact dynamic programme for the "most balanced minimum-bottleneck" split.
//
// Objective. A split's profile is the multiset of its S stage times, compared by the leximin order:
// sort both descending and compare lexicographically (smaller first entry = smaller bottleneck;
// equal bottleneck, smaller second-largest stage; and so on). The first entry is the bottleneck, so
// every leximin-optimal split is a minimum-bottleneck split, and among those it has the fewest
// stages at the bottleneck, then the smallest next-slowest stage, and so on: the most balanced one.
//
// Lemma (the order is compatible with multiset union). For multisets A, A' of equal size,
// A < A' iff at the largest value x whose multiplicity differs, A holds x fewer times than A'.
// (Take the first index where the sorted vectors differ, a_i < a'_i = x: above x both vectors agree
// on the common prefix, and A' has one more x than A.) Adding the same multiset B to both adds
// count_B(y) to both multiplicities of every y, so the largest differing value and its sign are
// unchanged: A <= A' implies A u B <= A' u B, with equality iff A = A', strict iff strict.
//
// DP. h[k][i] is the leximin-smallest profile of placing blocks i..L-1 on stages k..S-1, each
// non-empty. Every such placement is {cost(k, i..j-1)} u M for some end j and some placement M of
// blocks j.. on stages k+1.. with M >= h[k+1][j], and by the lemma {c} u M >= {c} u h[k+1][j]. So
// h[k][i] = min over j of {cost(k, i..j-1)} u h[k+1][j] (principle of optimality) and h[0][0] is
// the optimum. The values are int64 ns and compared exactly, so there is no rounding anywhere.
//
// Tie-break. Among splits with the optimal profile the lexicographically smallest size vector is
// returned (earlier stages smaller): walking forward with prefix multiset P, a first stage ending at
// j admits an optimal completion iff {cost(k, i..j-1)} u h[k+1][j] == h[k][i] (P u X == P u Y iff
// X == Y, and any completion's profile is >= this one by the lemma), so taking the smallest such j
// at each stage gives the lexicographically smallest optimal split. Deterministic.
//
// Cost: O(S * L^2) candidate profiles, each merged and compared in O(S): O(S^2 * L^2) time,
// O(S^2 * L) memory; for 96 blocks on 64 stages that is a few million operations.
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

  // Profiles, sorted descending. Stage k starts at block i in k..L-(S-k) (every stage non-empty);
  // h[k][i - k] holds the profile for that state, h[S][0] the empty profile at i = L.
  using Profile = std::vector<TimeNs>;
  const int width = L - S + 1;
  std::vector<std::vector<Profile>> h(S + 1, std::vector<Profile>(width));
  auto merged = [](TimeNs c, const Profile& rest, Profile& out) {  // {c} u rest, sorted descending
    out.clear();
    auto pos = std::find_if(rest.begin(), rest.end(), [c](TimeNs t) { return t < c; });  // after equal values
    out.insert(out.end(), rest.begin(), pos);
    out.push_back(c);
    out.insert(out.end(), pos, rest.end());
  };
  Profile candidate;
  for (int k = S - 1; k >= 0; --k) {
    const int stages_after = S - 1 - k;
    for (int i = k; i <= L - (S - k); ++i) {
      Profile& best = h[k][i - k];
      bool have = false;
      // Stage k holds blocks i..j-1; the last stage takes all that is left.
      for (int j = k == S - 1 ? L : i + 1; j <= L - stages_after; ++j) {
        merged(cost(k, i, j), h[k + 1][j - (k + 1)], candidate);
        if (!have || candidate < best) {  // std::vector's < is the lexicographic order
          best = candidate;
          have = true;
        }
      }
      assert(have);
    }
  }
  std::vector<int> sizes;
  int i = 0;
  for (int k = 0; k < S; ++k) {
    int j = k == S - 1 ? L : i + 1;
    for (;; ++j) {
      assert(j <= L - (S - 1 - k));
      merged(cost(k, i, j), h[k + 1][j - (k + 1)], candidate);
      if (candidate == h[k][i - k]) break;
    }
    sizes.push_back(j - i);
    i = j;
  }
  assert(i == L);
  return sizes;
}

}  // namespace ppsim
