#pragma once
// An action is one unit of compute a rank performs: a kind, a virtual stage (model chunk in model
// order) and a micro-batch. It prints like PyTorch's pipelining actions: "2F0" is stage 2, forward,
// micro-batch 0. Transfers are not actions: the DAG derives them from data dependencies.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ppsim {

enum class ActionKind : std::uint8_t {
  F,   // forward
  B,   // backward w.r.t. the input only (PyTorch's "I")
  W,   // backward w.r.t. the weights
  BW,  // full backward, B and W fused (PyTorch's "B")
};

// Dense index of a kind, for tables keyed by (stage, micro-batch, kind).
constexpr int kActionKinds = 4;
constexpr int kind_index(ActionKind k) { return static_cast<int>(k); }

struct Action {
  // Written {kind, stage, micro-batch}, as an action reads ("2F0" aside); stored kind last so that
  // an action takes 12 bytes, not 16 (a schedule holds one per op: issue 13's bytes per op).
  constexpr Action() = default;
  constexpr Action(ActionKind k, std::int32_t s, std::int32_t m, bool overlapped = false)
      : stage(s), microbatch(m), kind(k), overlapped_with_next(overlapped) {}

  std::int32_t stage = 0;       // virtual stage, 0 .. P*V-1, in model order
  std::int32_t microbatch = 0;  // 0 .. M-1
  ActionKind kind = ActionKind::F;
  // This F and the backward right after it on the rank run as one overlapped unit (DualPipe's F&B:
  // one micro-batch's forward beside another's backward, each hiding the other's communication).
  bool overlapped_with_next = false;

  friend bool operator==(const Action&, const Action&) = default;
};
static_assert(sizeof(Action) == 12);

// "F", "B", "W", "BW": the short name used in reports and traces.
const char* kind_name(ActionKind kind);

// PyTorch's letter for the CSV layout: F, I (input grad), W (weight grad), B (full backward).
char kind_csv_letter(ActionKind kind);

// "2F0" (CSV/PyTorch form: stage, letter, micro-batch).
std::string to_csv_string(const Action& a);

// PyTorch's cell for an overlapped unit: "(0F7;7B3)OVERLAP_F_B" (the forward, then the backward).
std::string overlapped_csv_string(const Action& forward, const Action& backward);
inline constexpr std::string_view kOverlapSuffix = "OVERLAP_F_B";

// Parses "2F0", "1I3", "0W2", "3B1"; nullopt when the text is not an action.
std::optional<Action> parse_csv_action(std::string_view text);

// "F0", "B3", "W1", "BW2" (+ "@s" with the stage when chunks > 1): the label on a timeline.
std::string label(const Action& a, bool with_stage);

}  // namespace ppsim
