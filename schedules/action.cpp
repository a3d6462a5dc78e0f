#include "schedules/action.h"

#include <charconv>

namespace ppsim {

const char* kind_name(ActionKind kind) {
  switch (kind) {
    case ActionKind::F: return "F";
    case ActionKind::B: return "B";
    case ActionKind::W: return "W";
    case ActionKind::BW: return "BW";
  }
  return "?";
}

char kind_csv_letter(ActionKind kind) {
  switch (kind) {
    case ActionKind::F: return 'F';
    case ActionKind::B: return 'I';
    case ActionKind::W: return 'W';
    case ActionKind::BW: return 'B';
  }
  return '?';
}

std::string to_csv_string(const Action& a) {
  return std::to_string(a.stage) + kind_csv_letter(a.kind) + std::to_string(a.microbatch);
}

std::string overlapped_csv_string(const Action& forward, const Action& backward) {
  return "(" + to_csv_string(forward) + ";" + to_csv_string(backward) + ")" + std::string(kOverlapSuffix);
}

std::optional<Action> parse_csv_action(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
  std::size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  if (i == 0 || i + 1 >= text.size()) return std::nullopt;
  Action a;
  char letter = text[i];
  switch (letter) {
    case 'F': a.kind = ActionKind::F; break;
    case 'I': a.kind = ActionKind::B; break;
    case 'W': a.kind = ActionKind::W; break;
    case 'B': a.kind = ActionKind::BW; break;
    default: return std::nullopt;
  }
  auto stage_res = std::from_chars(text.data(), text.data() + i, a.stage);
  // Digits only after the letter: from_chars would take "-2" as a negative micro-batch.
  if (text[i + 1] < '0' || text[i + 1] > '9') return std::nullopt;
  auto mb_res = std::from_chars(text.data() + i + 1, text.data() + text.size(), a.microbatch);
  if (stage_res.ec != std::errc() || mb_res.ec != std::errc() || mb_res.ptr != text.data() + text.size())
    return std::nullopt;
  return a;
}

std::string label(const Action& a, bool with_stage) {
  std::string s = kind_name(a.kind);
  s += std::to_string(a.microbatch);
  if (with_stage) {
    s += '@';
    s += std::to_string(a.stage);
  }
  return s;
}

}  // namespace ppsim
