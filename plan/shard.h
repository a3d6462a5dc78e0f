#pragma once
// Splitting a plan's candidates across processes (`mpirun -n K ppsim plan`) and merging what each
// simulated: process r takes candidates r, r + K, r + 2K, ... (interleaved, so every process gets
// a like mix of small and large DAGs), sends its evaluation as text, and rank 0 merges them into
// the evaluation one process would have made (the same results; cost models are counted per process).
#include <string>
#include <vector>

#include "plan/evaluate.h"

namespace ppsim {

std::vector<Candidate> shard_candidates(const std::vector<Candidate>& all, int rank, int size);

// Exact text form: integers as such, doubles with 17 significant digits (they read back bit for bit).
std::string encode_evaluation(const Evaluation& e);

// The evaluations of all processes as one, results in enumeration order (by id). Throws
// std::runtime_error on a malformed part (a bug: every part comes from encode_evaluation).
Evaluation merge_evaluations(const std::vector<std::string>& parts);

}  // namespace ppsim
