#include "measure/trace/trace_reader.h"

#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string_view>
#include <unordered_map>

#include "base/error.h"
#include "measure/trace/detail/json_input_stream.h"
#include "measure/trace/kernel_class.h"

namespace ppsim::trace {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

bool parse_int(const std::string& text, std::int64_t& v) {
  if (text.empty()) return false;
  char* end = nullptr;
  v = std::strtoll(text.c_str(), &end, 10);
  return end && *end == '\0';
}

// The fields of one trace event that matter here, gathered as the parser walks its object.
struct Event {
  std::size_t offset = 0;  // where its object starts, for error messages
  std::string ph, cat, name, ts, dur, tid, correlation, stream;
  bool has_ts = false, has_dur = false;
  void clear(std::size_t at) {
    offset = at;
    ph.clear(), cat.clear(), name.clear(), ts.clear(), dur.clear(), tid.clear(), correlation.clear(), stream.clear();
    has_ts = has_dur = false;
  }
};

// RapidJSON SAX handler: a small state machine over the document's nesting. Numbers arrive as
// text (kParseNumbersAsStringsFlag) so timestamps keep every digit.
class Handler : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, Handler> {
 public:
  Handler(RankTrace& out, const OpPatterns& patterns, const detail::JsonInputStream& in)
      : out_(out), patterns_(patterns), in_(in) {}

  bool StartObject() {
    ++depth_;
    if (depth_ == 3 && in_events_) {
      event_.clear(in_.Tell());  // the iterative parser calls StartObject before taking the '{'
      in_event_ = true;
    } else if (depth_ == 4 && in_event_ && key_ == "args") {
      in_args_ = true;
    } else if (depth_ == 2 && top_key_ == "distributedInfo") {
      in_distributed_ = true;
    } else if (depth_ == 3 && top_key_ == "deviceProperties") {
      in_device_ = true;
    }
    return true;
  }
  bool EndObject(rapidjson::SizeType) {
    if (depth_ == 3 && in_event_) {
      in_event_ = false;
      finish_event();
    } else if (depth_ == 4) {
      in_args_ = false;
    } else if (depth_ == 2) {
      in_distributed_ = false;
    } else if (depth_ == 3) {
      in_device_ = false;
    }
    --depth_;
    return true;
  }
  bool StartArray() {
    ++depth_;
    if (depth_ == 2 && top_key_ == "traceEvents") in_events_ = true;
    return true;
  }
  bool EndArray(rapidjson::SizeType) {
    if (depth_ == 2) in_events_ = false;
    --depth_;
    return true;
  }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    key_.assign(s, n);
    if (depth_ == 1) top_key_ = key_;
    return true;
  }
  bool String(const char* s, rapidjson::SizeType n, bool) { return scalar(s, n, false); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) { return scalar(s, n, true); }
  bool Default() { return true; }  // null, booleans

  const std::string& semantic_error() const { return error_; }
  std::size_t error_offset() const { return error_offset_; }

 private:
  bool scalar(const char* s, rapidjson::SizeType n, bool number) {
    if (in_event_ && depth_ == 3) {
      std::string* field = key_ == "ph"     ? &event_.ph
                           : key_ == "cat"  ? &event_.cat
                           : key_ == "name" ? &event_.name
                           : key_ == "ts"   ? &event_.ts
                           : key_ == "dur"  ? &event_.dur
                           : key_ == "tid"  ? &event_.tid
                                            : nullptr;
      if (field) {
        field->assign(s, n);
        if (field == &event_.ts) event_.has_ts = number;
        if (field == &event_.dur) event_.has_dur = number;
      }
    } else if (in_args_ && depth_ == 4) {
      if (key_ == "correlation" && number) event_.correlation.assign(s, n);
      else if (key_ == "stream" && number) event_.stream.assign(s, n);
    } else if (in_distributed_ && depth_ == 2 && number) {
      std::int64_t v = 0;
      if (key_ == "rank" && parse_int(std::string(s, n), v)) out_.rank = static_cast<int>(v);
      if (key_ == "world_size" && parse_int(std::string(s, n), v)) out_.world_size = static_cast<int>(v);
    } else if (in_device_ && depth_ == 3 && key_ == "name" && out_.device_name.empty()) {
      out_.device_name.assign(s, n);
    }
    return true;
  }

  std::uint32_t intern(const std::string& name) {
    auto [it, added] = ids_.try_emplace(name, static_cast<std::uint32_t>(out_.names.size()));
    if (added) out_.names.push_back(name);
    return it->second;
  }

  // The pattern an annotation name matches (-1: none), remembered per distinct name: Python frames
  // and CPU ops repeat the same few names many times.
  int pattern_of(const std::string& name) {
    auto it = matches_.find(name);
    if (it != matches_.end()) return it->second;
    const int p = patterns_.match(name);
    matches_.emplace(name, p);
    return p;
  }

  bool fail(const std::string& what) {
    error_ = what;
    error_offset_ = event_.offset;
    return false;  // stops the parser
  }

  bool times(TimeNs& start, TimeNs& end) {
    TimeNs dur = 0;
    if (!event_.has_ts || !parse_microseconds(event_.ts.data(), event_.ts.size(), start))
      return fail("a '" + event_.cat + "' event ('" + event_.name.substr(0, 80) + "') has no numeric 'ts'");
    if (!event_.has_dur || !parse_microseconds(event_.dur.data(), event_.dur.size(), dur))
      return fail("a '" + event_.cat + "' event ('" + event_.name.substr(0, 80) + "') has no numeric 'dur'");
    end = start + dur;
    return true;
  }

  void finish_event() {
    ++out_.events;
    if (event_.ph != "X") return;  // Kineto writes every activity as a complete event
    const std::string_view cat = event_.cat;
    std::int64_t v = 0;
    if (iequals(cat, "kernel") || iequals(cat, "gpu_memcpy") || iequals(cat, "gpu_memset") || iequals(cat, "memcpy") ||
        iequals(cat, "memset")) {
      GpuEvent e;
      if (!times(e.start, e.end)) return;
      if (parse_int(event_.correlation, v)) e.correlation = v;
      // The stream is in args; older traces only put it in tid.
      if (parse_int(event_.stream, v) || parse_int(event_.tid, v)) e.stream = static_cast<std::int32_t>(v);
      e.cls = classify_gpu_event(cat, event_.name);
      e.name = intern(event_.name);
      out_.gpu.push_back(e);
      return;
    }
    if (iequals(cat, "cuda_runtime") || iequals(cat, "cuda_driver") || iequals(cat, "runtime")) {
      if (!parse_int(event_.correlation, v)) return;  // only launches are linked to GPU work
      HostCall c;
      c.correlation = v;
      if (!times(c.start, c.end)) return;
      parse_int(event_.tid, c.thread);
      out_.calls.push_back(c);
      return;
    }
    // GPU-side copies of annotations would count every op twice; the host ranges are used.
    if (iequals(cat, "gpu_user_annotation")) return;
    const bool step = event_.name.rfind("ProfilerStep#", 0) == 0;
    const bool comm = event_.name.rfind("nccl:", 0) == 0;  // ProcessGroupNCCL's record_function
    const int pattern = step || comm ? -1 : pattern_of(event_.name);
    if (!step && !comm && pattern < 0) return;
    HostRange r;
    if (!times(r.start, r.end)) return;
    parse_int(event_.tid, r.thread);
    r.name = intern(event_.name);
    r.pattern = pattern;
    if (step) {
      if (!parse_int(event_.name.substr(13), r.step)) r.step = static_cast<std::int64_t>(out_.steps.size());
      out_.steps.push_back(r);
    } else if (comm) {
      out_.comms.push_back(r);
    } else {
      out_.ranges.push_back(r);
    }
  }

  RankTrace& out_;
  const OpPatterns& patterns_;
  const detail::JsonInputStream& in_;
  int depth_ = 0;
  std::string key_, top_key_;
  bool in_events_ = false, in_event_ = false, in_args_ = false, in_distributed_ = false, in_device_ = false;
  Event event_;
  std::unordered_map<std::string, std::uint32_t> ids_;
  std::unordered_map<std::string, int> matches_;
  std::string error_;
  std::size_t error_offset_ = 0;
};

// NCCL runs all-to-all (and other collectives) with the same SendRecv kernels a pipeline send
// uses; PyTorch names the collective in a "nccl:all_to_all" range around the launch, so a
// send/recv kernel launched inside a collective's range is a collective.
void reclassify_collectives(RankTrace& t) {
  if (t.comms.empty()) return;
  for (GpuEvent& e : t.gpu) {
    if (e.cls != GpuClass::P2P || e.correlation < 0) continue;
    auto call = std::lower_bound(t.calls.begin(), t.calls.end(), e.correlation,
                                 [](const HostCall& c, std::int64_t id) { return c.correlation < id; });
    if (call == t.calls.end() || call->correlation != e.correlation) continue;
    auto it = std::upper_bound(t.comms.begin(), t.comms.end(), call->start,
                               [](TimeNs x, const HostRange& r) { return x < r.start; });
    for (int back = 0; it != t.comms.begin() && back < 8; ++back) {
      --it;
      if (it->thread != call->thread || it->end < call->start) continue;
      const std::string& name = t.names[it->name];
      const bool p2p = name.rfind("nccl:send", 0) == 0 || name.rfind("nccl:recv", 0) == 0 ||
                       name.rfind("nccl:coalesced", 0) == 0 || name.rfind("nccl:batch", 0) == 0;
      if (!p2p) e.cls = GpuClass::Collective;
      break;
    }
  }
}

std::string where(const std::string& path, const detail::JsonInputStream& in, std::size_t offset) {
  return path + ": byte " + std::to_string(offset) + (in.compressed() ? " of the decompressed JSON" : "");
}

}  // namespace

bool parse_microseconds(const char* s, std::size_t n, TimeNs& ns) {
  std::size_t i = 0;
  TimeNs whole = 0;
  if (n == 0) return false;
  for (; i < n && s[i] >= '0' && s[i] <= '9'; ++i) whole = whole * 10 + (s[i] - '0');
  TimeNs frac = 0;
  int digits = 0;
  bool round_up = false;
  if (i < n && s[i] == '.') {
    for (++i; i < n && s[i] >= '0' && s[i] <= '9'; ++i) {
      if (digits < 3) frac = frac * 10 + (s[i] - '0'), ++digits;
      else if (digits++ == 3) round_up = s[i] >= '5';
    }
  }
  if (i == n) {
    for (int d = std::min(digits, 3); d < 3; ++d) frac *= 10;
    ns = whole * 1000 + frac + (round_up ? 1 : 0);
    return true;
  }
  // Anything else (an exponent, a sign): read as a double and round.
  const std::string text(s, n);
  char* end = nullptr;
  const double us = std::strtod(text.c_str(), &end);
  if (!end || *end != '\0' || !(us >= 0) || !std::isfinite(us)) return false;
  ns = static_cast<TimeNs>(std::llround(us * 1000.0));
  return true;
}

RankTrace read_rank_trace(const std::string& path, const OpPatterns& patterns) {
  RankTrace out;
  out.path = path;
  detail::JsonInputStream in(path);
  Handler handler(out, patterns, in);
  rapidjson::Reader reader;
  constexpr unsigned kFlags = rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseIterativeFlag;
  const rapidjson::ParseResult ok = reader.Parse<kFlags>(in, handler);
  if (!in.decompression_error().empty())
    throw InputError(where(path, in, in.Tell()) + ": the compressed file is damaged or cut short (zlib: " +
                     in.decompression_error() + ")");
  if (!handler.semantic_error().empty())
    throw InputError(where(path, in, handler.error_offset()) + ": " + handler.semantic_error());
  if (!ok) {
    const bool at_end = in.Peek() == '\0';
    throw InputError(where(path, in, ok.Offset()) + ": " +
                     (at_end ? std::string("the JSON ends early (truncated trace: was the profiler still writing it?)")
                             : std::string("invalid JSON: ") + rapidjson::GetParseError_En(ok.Code())));
  }
  out.bytes = in.Tell();
  std::stable_sort(out.gpu.begin(), out.gpu.end(), [](const GpuEvent& a, const GpuEvent& b) { return a.start < b.start; });
  std::stable_sort(out.calls.begin(), out.calls.end(),
                   [](const HostCall& a, const HostCall& b) { return a.correlation < b.correlation; });
  auto by_start = [](const HostRange& a, const HostRange& b) { return a.start < b.start; };
  std::stable_sort(out.ranges.begin(), out.ranges.end(), by_start);
  std::stable_sort(out.steps.begin(), out.steps.end(), by_start);
  std::stable_sort(out.comms.begin(), out.comms.end(), by_start);
  reclassify_collectives(out);
  if (out.rank >= 0) out.rank_source = "distributedInfo";
  return out;
}

}  // namespace ppsim::trace
