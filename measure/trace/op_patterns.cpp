#include "measure/trace/op_patterns.h"

#include <fstream>
#include <sstream>

#include "base/error.h"
#include "base/yaml_reader.h"

namespace ppsim::trace {
namespace {

// std::regex (ECMAScript) has no named groups: drop the names, keeping each group's number.
// Returns the bare expression and, per name, its group number.
std::string strip_group_names(const std::string& re, std::vector<std::pair<std::string, int>>& names,
                              const std::string& origin) {
  std::string out;
  int group = 0;
  bool in_class = false;
  for (std::size_t i = 0; i < re.size(); ++i) {
    const char c = re[i];
    if (c == '\\' && i + 1 < re.size()) {  // an escaped character is never syntax
      out += c;
      out += re[++i];
      continue;
    }
    if (in_class) {
      in_class = c != ']';
      out += c;
      continue;
    }
    if (c == '[') {
      in_class = true;
      out += c;
      if (i + 1 < re.size() && re[i + 1] == ']') out += re[++i];  // "[]...]": a literal ]
      continue;
    }
    if (c != '(') {
      out += c;
      continue;
    }
    if (i + 1 < re.size() && re[i + 1] == '?') {
      std::size_t name_at = 0;
      if (re.compare(i + 2, 1, "<") == 0 && i + 3 < re.size() && re[i + 3] != '=' && re[i + 3] != '!')
        name_at = i + 3;
      else if (re.compare(i + 2, 2, "P<") == 0)
        name_at = i + 4;
      if (name_at == 0) {  // (?: (?= (?! : not a capturing group
        out += c;
        continue;
      }
      const std::size_t close = re.find('>', name_at);
      if (close == std::string::npos) throw InputError(origin + ": unterminated group name in '" + re + "'");
      names.emplace_back(re.substr(name_at, close - name_at), ++group);
      out += '(';
      i = close;
      continue;
    }
    ++group;
    out += c;
  }
  return out;
}

std::optional<ActionKind> letter_kind(std::string_view letter, bool pytorch) {
  if (letter == "F") return ActionKind::F;
  if (letter == "W") return ActionKind::W;
  if (letter == "I") return ActionKind::B;
  if (letter == "BW") return ActionKind::BW;
  if (letter == "B") return pytorch ? ActionKind::BW : ActionKind::B;
  return std::nullopt;
}

int to_int(const std::csub_match& m) {
  int v = 0;
  for (auto it = m.first; it != m.second; ++it) {
    if (*it < '0' || *it > '9') return -1;
    v = v * 10 + (*it - '0');
  }
  return m.length() > 0 ? v : -1;
}

}  // namespace

OpPattern make_pattern(const std::string& origin, const std::string& regex, PatternRole role,
                       std::optional<ActionKind> kind, bool pytorch_letters) {
  OpPattern p;
  p.origin = origin;
  p.text = regex;
  p.role = role;
  p.kind = kind;
  p.pytorch_letters = pytorch_letters;
  std::vector<std::pair<std::string, int>> names;
  const std::string bare = strip_group_names(regex, names, origin);
  for (const auto& [name, index] : names) {
    int* slot = name == "stage"         ? &p.stage_group
                : name == "microbatch"  ? &p.microbatch_group
                : name == "kind"        ? &p.kind_group
                : name == "stage2"      ? &p.stage2_group
                : name == "microbatch2" ? &p.microbatch2_group
                : name == "kind2"       ? &p.kind2_group
                                        : nullptr;
    if (!slot)
      throw InputError(origin + ": unknown group name '" + name + "' in '" + regex +
                       "' (known: stage, microbatch, kind, stage2, microbatch2, kind2)");
    *slot = index;
  }
  if (!kind && p.kind_group < 0 && role != PatternRole::Unit)
    throw InputError(origin + ": '" + regex + "' gives no kind: name one (F, B, W, BW) or add a (?<kind>...) group");
  try {
    p.regex = std::regex(bare, std::regex::ECMAScript | std::regex::optimize);
  } catch (const std::regex_error& e) {
    throw InputError(origin + ": '" + regex + "' is not a valid regular expression (" + e.what() + ")");
  }
  return p;
}

int OpPatterns::match(std::string_view name) const {
  for (std::size_t i = 0; i < patterns_.size(); ++i)
    if (std::regex_match(name.begin(), name.end(), patterns_[i].regex)) return static_cast<int>(i);
  return -1;
}

std::vector<OpName> OpPatterns::decode(int index, std::string_view name) const {
  const OpPattern& p = patterns_[static_cast<std::size_t>(index)];
  std::cmatch m;
  std::regex_match(name.begin(), name.end(), m, p.regex);
  auto one = [&](int stage_group, int microbatch_group, int kind_group) {
    OpName op;
    op.role = p.role;
    if (kind_group > 0) {
      const std::string letter = m[kind_group].str();
      const auto k = letter_kind(letter, p.pytorch_letters);
      if (!k) return std::optional<OpName>{};
      op.kind = *k;
      // A send or receive carries an activation (F) or a gradient (any backward letter).
      if (p.role == PatternRole::Send || p.role == PatternRole::Recv) op.kind = *k == ActionKind::F ? ActionKind::F : ActionKind::B;
    } else if (p.kind) {
      op.kind = *p.kind;
    }
    if (stage_group > 0) op.stage = to_int(m[stage_group]);
    if (microbatch_group > 0) op.microbatch = to_int(m[microbatch_group]);
    return std::optional<OpName>{op};
  };
  std::vector<OpName> out;
  if (auto a = one(p.stage_group, p.microbatch_group, p.kind_group)) out.push_back(*a);
  if (p.stage2_group > 0 || p.kind2_group > 0)
    if (auto b = one(p.stage2_group, p.microbatch2_group, p.kind2_group)) out.push_back(*b);
  return out;
}

void OpPatterns::append(const OpPatterns& more) {
  patterns_.insert(patterns_.end(), more.patterns_.begin(), more.patterns_.end());
}

OpPatterns shipped_patterns() {
  OpPatterns p;
  using K = ActionKind;
  // torch.distributed.pipelining, _PipelineScheduleRuntime: every action of the lowered schedule
  // runs inside record_function("PP:" + str(action)) (schedules.py, _get_profiler_function_name):
  // "PP:2F0", "PP:1I3" (input grad), "PP:0W2", "PP:3B1" (full backward), overlapped F and B as
  // "PP:(0F7;7B3)OVERLAP_F_B", and the transfers "PP:1SEND_F0", "PP:2RECV_B3".
  p.add(make_pattern("pytorch", R"(PP:(?<stage>\d+)(?<kind>[FIWB])(?<microbatch>\d+))", PatternRole::Op, {}, true));
  p.add(make_pattern("pytorch",
                     R"(PP:\((?<stage>\d+)(?<kind>F)(?<microbatch>\d+);(?<stage2>\d+)(?<kind2>[IB])(?<microbatch2>\d+)\)OVERLAP_F_B)",
                     PatternRole::Op, {}, true));
  p.add(make_pattern("pytorch", R"(PP:(?<stage>\d+)RECV_(?<kind>[FB])(?<microbatch>\d+))", PatternRole::Recv, {}, true));
  p.add(make_pattern("pytorch", R"(PP:(?<stage>\d+)SEND_(?<kind>[FB])(?<microbatch>\d+))", PatternRole::Send, {}, true));
  // Its single-stage schedules (ScheduleGPipe, forward-only) wrap each micro-batch in
  // record_function(f"Forward {i}") / (f"Backward {i}"); the stage is the rank's own.
  p.add(make_pattern("pytorch", R"(Forward (?<microbatch>\d+))", PatternRole::Op, K::F, true));
  p.add(make_pattern("pytorch", R"(Backward (?<microbatch>\d+))", PatternRole::Op, K::BW, true));
  // Megatron-LM records no ranges of its own for the profiler; with with_stack=True its
  // schedules' forward_step and backward_step appear as Python frames
  // ("megatron/core/pipeline_parallel/schedules.py(123): forward_step").
  p.add(make_pattern("megatron", R"(.*pipeline_parallel/schedules\.py\(\d+\): forward_step)", PatternRole::Op, K::F, true));
  p.add(make_pattern("megatron", R"(.*pipeline_parallel/schedules\.py\(\d+\): backward_step)", PatternRole::Op, K::BW, true));
  // DeepSeek's DualPipe profile: parts of a layer named like "attn(F)", "mlp(B)", "mlp(W)",
  // "dispatch(F)", "combine(B)" (B is the input gradient), grouped by one overlapped "1F1B" chunk pair.
  p.add(make_pattern("dualpipe", R"((attn|mlp|dispatch|combine|moe|shared)\((?<kind>[FBW])\))", PatternRole::Part, {}, false));
  p.add(make_pattern("dualpipe", R"(1F1B)", PatternRole::Unit, {}, false));
  return p;
}

OpPatterns load_patterns(const std::string& path) {
  const YamlDoc doc = read_yaml_file(path);
  const YamlMap root(doc);
  OpPatterns out;
  for (const std::string& regex : root.keys()) {
    const YamlValue v = root.value(regex);
    const std::string origin = path + ":" + std::to_string(v.node().Mark().line + 1);
    if (!v.node().IsScalar()) v.fail("expected a kind (F, B, W, BW or kind, optionally ' part'), or unit (got " + v.got() + ")");
    std::string spec = v.text();
    PatternRole role = PatternRole::Op;
    if (spec.size() > 5 && spec.compare(spec.size() - 5, 5, " part") == 0) {
      role = PatternRole::Part;
      spec.resize(spec.size() - 5);
    }
    std::optional<ActionKind> kind;
    if (spec == "unit") {
      role = PatternRole::Unit;
    } else if (spec != "kind") {
      kind = letter_kind(spec, false);
      if (!kind) v.fail("unknown kind '" + v.text() + "' (valid: F, B, W, BW, kind; a suffix ' part'; or unit)");
    }
    try {
      out.add(make_pattern(origin, regex, role, kind, false));
    } catch (const InputError& e) {
      v.fail(e.what());
    }
  }
  if (out.patterns().empty()) throw InputError(path + ": no patterns (expected a mapping of regular expression to kind)");
  return out;
}

}  // namespace ppsim::trace
