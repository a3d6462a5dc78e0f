#include "schedules/registry.h"

#include "base/error.h"

namespace ppsim {

std::vector<int> interleaved_layout(int ranks, int chunks) {
  std::vector<int> layout(static_cast<std::size_t>(ranks) * chunks);
  for (std::size_t s = 0; s < layout.size(); ++s) layout[s] = static_cast<int>(s % ranks);
  return layout;
}

std::vector<int> v_layout(int ranks, int chunks) {
  std::vector<int> layout(static_cast<std::size_t>(ranks) * chunks);
  for (std::size_t s = 0; s < layout.size(); ++s) {
    const int c = static_cast<int>(s) / ranks, i = static_cast<int>(s) % ranks;
    layout[s] = c % 2 == 0 ? i : ranks - 1 - i;
  }
  return layout;
}

Schedule start_schedule(const char* kind, const ScheduleParams& p, bool split_backward) {
  Schedule s;
  s.kind = kind;
  s.ranks = p.ranks;
  s.chunks = p.chunks;
  s.microbatches = p.microbatches;
  s.split_backward = split_backward;
  s.rank_of_stage = interleaved_layout(p.ranks, p.chunks);
  s.order.resize(p.ranks);
  return s;
}

const std::vector<ScheduleKind>& schedule_kinds() {
  static const std::vector<ScheduleKind> kinds = {
      {"gpipe", generate_gpipe, "all forwards, then all backwards", false},
      {"1f1b", generate_1f1b, "warm-up forwards, then one forward / one backward, then drain", false},
      {"interleaved-1f1b", generate_interleaved_1f1b, "Megatron's 1F1B over V virtual chunks per rank", false},
      {"looped-bfs", generate_looped_bfs, "every micro-batch through each chunk in turn, then the backwards in reverse", false},
      {"zb-h1", generate_zb_h1, "zero bubble H1: 1F1B with B/W split, W delayed by the rank index", true},
      {"zb-h2", generate_zb_h2, "zero bubble H2: 2P-1-2s warm-up forwards, B/W split, W delayed by 2s", true},
      {"interleaved-zb", generate_interleaved_zb, "PyTorch's interleaved zero bubble: interleaved 1F1B with B/W split, W delayed by the rank", true},
      {"zb-v", generate_zb_v, "zero bubble V: two chunks per rank in a V, B/W split, 1F1B's memory", true},
      {"dualpipe", generate_dualpipe, "DeepSeek's DualPipe: two model copies fed from both ends, F of one beside B of the other", true},
      {"dualpipe-v", generate_dualpipe_v, "DeepSeek's DualPipeV: DualPipe folded into a V, one copy, two chunks per rank", true},
      {"v-half", generate_v_half, "V-Half (controllable memory): 2 chunks in a V, about half of 1F1B's activations and bubble", true},
      {"v-min", generate_v_min, "V-Min (controllable memory): 2 chunks in a V, about a third of 1F1B's activations, 2/3 of its bubble", true},
  };
  return kinds;
}

const ScheduleKind* find_schedule_kind(const std::string& name) {
  for (const auto& k : schedule_kinds())
    if (name == k.name) return &k;
  return nullptr;
}

std::string schedule_kind_names() {
  std::string names;
  for (const auto& k : schedule_kinds()) names += std::string(names.empty() ? "" : ", ") + k.name;
  return names + ", custom";
}

Schedule generate_schedule(const std::string& name, const ScheduleParams& params) {
  if (params.ranks < 1 || params.microbatches < 1 || params.chunks < 1)
    throw InputError("schedule needs stages >= 1, microbatches >= 1 and chunks >= 1");
  if (const ScheduleKind* k = find_schedule_kind(name)) return k->generate(params);
  throw InputError("unknown schedule '" + name + "' (valid: " + schedule_kind_names() + ")");
}

}  // namespace ppsim
