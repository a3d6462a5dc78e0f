#pragma once
// Which annotation names are pipeline ops. A pattern is a regular expression over the name of a
// record_function range (or a Python frame) with named groups for the stage, the micro-batch and
// the kind; the shipped ones cover PyTorch's torch.distributed.pipelining, Megatron-LM and
// DeepSeek's DualPipe, and a user's own come from a small YAML file (docs/traces.md).
#include <cstdint>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "schedules/action.h"

namespace ppsim::trace {

enum class PatternRole : std::uint8_t {
  Op,    // one range is one op (F, B, W or BW of one stage and micro-batch)
  Part,  // a piece of an op: the parts of one kind inside one unit (or step) form one op
  Unit,  // a range that groups parts (DualPipe's "1F1B": one overlapped forward and backward)
  Send,  // a pipeline send (its kernels are the transfer's sending side)
  Recv,  // a pipeline receive (its kernels end when the data has arrived)
};

// The groups a pattern may name: (?<stage>..), (?<microbatch>..), (?<kind>..) and, for a name
// that holds two ops (PyTorch's "(0F7;7B3)OVERLAP_F_B"), (?<stage2>..), (?<microbatch2>..),
// (?<kind2>..).
struct OpPattern {
  std::string origin;   // "pytorch", "megatron", "dualpipe", or "FILE:LINE" for a user's
  std::string text;     // the regular expression as written
  std::regex regex;     // the same without group names (std::regex has none)
  PatternRole role = PatternRole::Op;
  std::optional<ActionKind> kind;  // fixed kind; otherwise the `kind` group's letter says
  // How the kind group's letters read. PyTorch: F, I (input grad), W, B (full backward);
  // DualPipe: F, B (input grad), W.
  bool pytorch_letters = true;
  int stage_group = -1, microbatch_group = -1, kind_group = -1;
  int stage2_group = -1, microbatch2_group = -1, kind2_group = -1;
};

// One op (or transfer) a matched name stands for; -1 where the name does not say.
struct OpName {
  PatternRole role = PatternRole::Op;
  ActionKind kind = ActionKind::F;  // Send/Recv: F = an activation, B = a gradient
  int stage = -1, microbatch = -1;
};

class OpPatterns {
 public:
  // The index of the first pattern matching the whole name, or -1.
  int match(std::string_view name) const;
  // What a name matched by pattern `index` stands for: one op, or two for an overlapped unit.
  std::vector<OpName> decode(int index, std::string_view name) const;
  const std::vector<OpPattern>& patterns() const { return patterns_; }
  void add(OpPattern p) { patterns_.push_back(std::move(p)); }
  void append(const OpPatterns& more);

 private:
  std::vector<OpPattern> patterns_;
};

// Builds a pattern from a regular expression with named groups; throws InputError naming
// `origin` when it does not compile or names an unknown group.
OpPattern make_pattern(const std::string& origin, const std::string& regex, PatternRole role,
                       std::optional<ActionKind> kind, bool pytorch_letters);

// The patterns ppsim ships (docs/traces.md lists them with the code they come from).
OpPatterns shipped_patterns();

// A user's patterns: a YAML mapping of regular expression to kind, e.g.
//   '^fwd s(?<stage>\d+) mb(?<microbatch>\d+)$': F
//   '^(attn|mlp)\((?<kind>[FBW])\)$': kind part
// Kinds: F, B (input gradient), W, BW (a whole backward), or `kind` (the kind group's letter:
// F, B or I, W, and BW); a suffix ` part` makes the range a part of an op, `unit` groups parts.
// Throws InputError naming the file, line and column.
OpPatterns load_patterns(const std::string& path);

}  // namespace ppsim::trace
