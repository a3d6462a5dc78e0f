#include "sim/report/timeline_json.h"

#include <yaml-cpp/yaml.h>

#include "base/error.h"
#include "base/input_file.h"

namespace ppsim {

void write_timeline_fields(JsonWriter& w, const Timeline& tl) {
  const OpTable& t = *tl.table;
  w.key("rank_of_stage").begin_array();
  for (int r : t.rank_of_stage) w.value(r);
  w.end_array();
  w.key("resources").begin_array();
  for (const Resource& r : t.resources) w.value(r.name);
  w.end_array();
  w.key("ops").begin_array();
  for (std::size_t v = 0; v < t.ops.size(); ++v) {
    const Op& op = t.ops[v];
    const char* kind = op.step != StepKind::None ? step_kind_name(op.step) : kind_name(op.kind);
    std::string row = "[\"" + std::string(kind) + "\"," + std::to_string(op.stage) + "," +
                      std::to_string(op.microbatch) + "," + std::to_string(op.resource) + "," +
                      (op.is_transfer ? "true" : "false") + "," + std::to_string(tl.start[v]) + "," +
                      std::to_string(tl.end[v]) + "]";
    w.raw(row);
  }
  w.end_array();
}

Timeline read_timeline_json(const std::string& path, const std::string& nested) {
  YAML::Node j;
  try {
    // Read through the common checks first: YAML::LoadFile on a directory throws from inside the
    // stream (an internal error, and yaml-cpp leaks its buffer; found by fuzz_command_line).
    j = YAML::Load(read_input_file(path, kMaxReportFileBytes));
    // A measure report nests its timelines under "measured" / "predicted".
    if (!j["ops"] && !nested.empty() && j[nested] && j[nested]["ops"]) j = YAML::Node(j[nested]);
  } catch (const YAML::BadFile&) {
    throw InputError(path + ": cannot open the file");
  } catch (const YAML::ParserException& e) {
    throw InputError(path + ":" + std::to_string(e.mark.line + 1) + ": not valid JSON: " + e.msg);
  }
  auto need = [&](const char* key) {
    if (!j[key]) throw InputError(path + ": no '" + std::string(key) + "' (write the report with the per-op timeline: "
                                  "'ppsim simulate --json F --with-ops' or 'ppsim measure --json F')");
    return j[key];
  };
  auto table = std::make_shared<OpTable>();
  try {
    need("ops");
    table->ranks = need("num_stages").as<int>();
    table->microbatches = need("num_microbatches").as<int>();
    table->chunks = need("num_chunks").as<int>();
    for (const auto& r : need("rank_of_stage")) table->rank_of_stage.push_back(r.as<int>());
    table->stages = static_cast<int>(table->rank_of_stage.size());
    for (const auto& r : need("resources")) {
      Resource res;
      res.name = r.as<std::string>();
      int a = -1, b = -1;
      if (std::sscanf(res.name.c_str(), "link %d->%d", &a, &b) == 2) {
        res.src = a;
        res.dst = b;
      } else if (std::sscanf(res.name.c_str(), "rank %d", &a) == 1) {
        res.rank = a;
      } else if (std::sscanf(res.name.c_str(), "dp %d", &a) == 1) {
        res.data_parallel_of = a;
      }
      table->resources.push_back(res);
    }
    Timeline tl;
    const YAML::Node ops = need("ops");
    int last_rank = -1;
    for (std::size_t v = 0; v < ops.size(); ++v) {
      const YAML::Node o = ops[v];
      Op op;
      const std::string kind = o[0].as<std::string>();
      if (kind == "F") op.kind = ActionKind::F;
      else if (kind == "B") op.kind = ActionKind::B;
      else if (kind == "W") op.kind = ActionKind::W;
      else if (kind == "BW") op.kind = ActionKind::BW;
      else if (kind == "grad-reduce") op.step = StepKind::GradReduce;
      else if (kind == "optimizer") op.step = StepKind::Optimizer;
      else if (kind == "param-gather") op.step = StepKind::ParamGather;
      else throw InputError(path + ": op " + std::to_string(v) + " has unknown kind '" + kind + "'");
      op.stage = o[1].as<int>();
      op.microbatch = o[2].as<int>();
      op.resource = o[3].as<int>();
      op.is_transfer = o[4].as<bool>();
      tl.start.push_back(o[5].as<TimeNs>());
      tl.end.push_back(o[6].as<TimeNs>());
      op.duration = tl.end.back() - tl.start.back();
      if (op.resource < 0 || op.resource >= static_cast<int>(table->resources.size()) || op.stage < 0 ||
          op.stage >= table->stages || op.microbatch < 0 || op.microbatch >= table->microbatches)
        throw InputError(path + ": op " + std::to_string(v) + " is out of range of the configuration");
      const bool after_step = !table->ops.empty() && table->ops.back().step != StepKind::None;
      if (op.step != StepKind::None) {
        const Resource& res = table->resources[op.resource];
        const int owner = op.step == StepKind::Optimizer ? res.rank : res.data_parallel_of;
        if (op.is_transfer || owner < 0 || owner >= table->ranks)
          throw InputError(path + ": op " + std::to_string(v) + " (" + kind + ") is not on a rank or a 'dp' channel");
        ++table->step_ops;
      } else if (after_step) {
        throw InputError(path + ": op " + std::to_string(v) + " follows training-step ops, which must come last");
      } else if (!op.is_transfer) {
        if (op.resource < last_rank || (!table->ops.empty() && table->ops.back().is_transfer))
          throw InputError(path + ": ops are not grouped rank by rank with compute ops first");
        while (last_rank < op.resource) {
          table->rank_begin.push_back(static_cast<OpId>(table->ops.size()));
          ++last_rank;
        }
      }
      table->ops.push_back(op);
    }
    OpId compute = 0;
    for (const Op& op : table->ops) compute += !op.is_transfer && op.step == StepKind::None;
    while (last_rank < table->ranks - 1) {
      table->rank_begin.push_back(compute);
      ++last_rank;
    }
    table->rank_begin.push_back(compute);
    tl.table = std::move(table);
    tl.source = j["source"] ? j["source"].as<std::string>() : "from " + path;
    return tl;
  } catch (const YAML::Exception& e) {
    throw InputError(path + ": unexpected content (" + e.msg + ")");
  }
}

}  // namespace ppsim
