#pragma once
// Reads one rank's Kineto / torch.profiler Chrome trace (JSON, plain or .gz) by streaming it through
// a SAX parser, keeping only what trace_events.h describes.
#include <string>

#include "measure/trace/op_patterns.h"
#include "measure/trace/trace_events.h"

namespace ppsim::trace {

// Reads `path`. Annotation ranges are kept when their name matches one of `patterns` (or is a
// ProfilerStep#N). Throws InputError naming the file and the byte offset (in the decompressed
// text for a .gz) for malformed or truncated JSON, a corrupt .gz, or an event without its times.
// The rank comes from distributedInfo when the trace has it (rank stays -1 otherwise).
RankTrace read_rank_trace(const std::string& path, const OpPatterns& patterns);

// Kineto's timestamps are microseconds with up to three decimals ("1682725898082228.123"); this
// reads them into exact integer nanoseconds (a double would round times after 2^53 ns). Returns
// false for text that is not a non-negative decimal number.
bool parse_microseconds(const char* text, std::size_t length, TimeNs& ns);

}  // namespace ppsim::trace
