// base/yaml_reader: each accessor's value, and its error "<file>:<line>:<column>: <key path>: ...".
#include "base/yaml_reader.h"

#include <gtest/gtest.h>

#include "base/error.h"
#include "tests/input_error.h"

namespace ppsim {
namespace {

const char* kText = R"(count: 3
ratio: 0.25
flag: yes
kind: cuda
wait: 1.5ms
size: 2GiB
speed: 50GB/s
empty:
nested:
  sizes: [1, 2, -3]
  names: [a, b]
  steps: [1ms, 2]
  points: [{x: 1}, {y: 2}]
)";

TEST(YamlReader, ReadsTypedValues) {
  const YamlDoc doc = parse_yaml(kText, "t.yaml");
  const YamlMap f(doc);
  EXPECT_EQ(f.integer("count", 1, 10), 3);
  EXPECT_EQ(f.integer_or("missing", 7, 1), 7);
  EXPECT_EQ(f.integer<std::int64_t>("count", 0), 3);
  EXPECT_DOUBLE_EQ(f.number("ratio"), 0.25);
  EXPECT_DOUBLE_EQ(f.fraction("ratio"), 0.25);
  EXPECT_DOUBLE_EQ(f.number_or("missing", 2.5), 2.5);
  EXPECT_TRUE(f.boolean("flag"));
  EXPECT_FALSE(f.boolean_or("missing", false));
  EXPECT_EQ(f.choice("kind", {"cpu", "cuda"}), "cuda");
  enum class Kind { Cpu, Cuda };
  EXPECT_EQ(f.choice<Kind>("kind", {{"cpu", Kind::Cpu}, {"cuda", Kind::Cuda}}), Kind::Cuda);
  EXPECT_EQ(f.choice_or("missing", Kind::Cpu, {{"cpu", Kind::Cpu}, {"cuda", Kind::Cuda}}), Kind::Cpu);
  EXPECT_EQ(f.duration("wait"), 1'500'000);
  EXPECT_EQ(f.bytes("size"), 2LL << 30);
  EXPECT_DOUBLE_EQ(f.bandwidth("speed"), 50e9);
  EXPECT_EQ(f.text_or("missing", "x"), "x");
  const YamlMap n = f.sub("nested");
  EXPECT_EQ(n.list_of_integers("sizes", -5), (std::vector<int>{1, 2, -3}));
  EXPECT_EQ(n.list_of_numbers("sizes"), (std::vector<double>{1, 2, -3}));
  EXPECT_EQ(n.list_of_texts("names"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(n.list_of_maps("points").size(), 2u);
  EXPECT_TRUE(f.has("empty"));
  EXPECT_FALSE(f.has("missing"));
}

TEST(YamlReader, ErrorsNameFileLineColumnAndKeyPath) {
  const YamlDoc doc = parse_yaml(kText, "t.yaml");
  const YamlMap f(doc);
  const YamlMap n = f.sub("nested");
  EXPECT_EQ(error_of([&] { f.only({"ratio", "count"}); }), "t.yaml:3:1: flag: unknown key (valid keys: count, ratio)");
  EXPECT_EQ(error_of([&] { f.integer("count", 5); }), "t.yaml:1:8: count: must be an integer of at least 5 (got '3')");
  EXPECT_EQ(error_of([&] { f.integer("count", 0, 2); }), "t.yaml:1:8: count: must be at most 2 (got '3')");
  EXPECT_EQ(error_of([&] { f.integer("ratio", 1); }), "t.yaml:2:8: ratio: must be a positive integer (got '0.25')");
  EXPECT_EQ(error_of([&] { f.integer("empty", 0); }), "t.yaml:8:1: empty: must be a non-negative integer (got nothing)");
  EXPECT_EQ(error_of([&] { f.integer("nested", 1); }), "t.yaml:10:3: nested: must be a positive integer (got a mapping)");
  EXPECT_EQ(error_of([&] { f.integer("missing", 1); }), "t.yaml:1:1: missing: missing required key");
  EXPECT_EQ(error_of([&] { f.number("kind"); }), "t.yaml:4:7: kind: must be a number (got 'cuda')");
  EXPECT_EQ(error_of([&] { f.number("ratio", 0.5, 1); }), "t.yaml:2:8: ratio: must be a number in [0.5, 1] (got '0.25')");
  EXPECT_EQ(error_of([&] { f.fraction("count"); }), "t.yaml:1:8: count: must be a fraction in (0, 1] (got '3')");
  EXPECT_EQ(error_of([&] { f.boolean("kind"); }), "t.yaml:4:7: kind: must be true or false (got 'cuda')");
  EXPECT_EQ(error_of([&] { f.choice("kind", {"cpu", "tpu"}); }), "t.yaml:4:7: kind: must be one of cpu, tpu (got 'cuda')");
  EXPECT_EQ(error_of([&] { f.duration("count"); }), "t.yaml:1:8: count: '3' needs a unit (ns, us, ms or s)");
  EXPECT_EQ(error_of([&] { f.text("nested"); }), "t.yaml:10:3: nested: must be a single value (got a mapping)");
  EXPECT_EQ(error_of([&] { f.sub("count"); }), "t.yaml:1:8: count: must be a mapping of keys (got '3')");
  EXPECT_EQ(error_of([&] { f.list("count"); }), "t.yaml:1:8: count: must be a list (got '3')");
  EXPECT_EQ(error_of([&] { n.list_of_integers("sizes", 0); }),
            "t.yaml:10:17: nested.sizes[2]: must be a non-negative integer (got '-3')");
  EXPECT_EQ(error_of([&] { n.list_of_durations("steps"); }),
            "t.yaml:12:16: nested.steps[1]: '2' needs a unit (ns, us, ms or s)");
  EXPECT_EQ(error_of([&] { n.list_of_maps("points")[1].integer("x", 0); }),
            "t.yaml:13:20: nested.points[1].x: missing required key");
  EXPECT_EQ(error_of([&] { n.fail_at("sizes", "is wrong"); }), "t.yaml:10:10: nested.sizes: is wrong");
  EXPECT_EQ(error_of([&] { n.fail_at("other", "is wrong"); }), "t.yaml:10:3: nested.other: is wrong");
}

TEST(YamlReader, DocumentErrors) {
  EXPECT_EQ(error_of([] { parse_yaml("a: [1\n", "d.yaml"); }), "d.yaml:2:1: malformed YAML: end of sequence flow not found");
  EXPECT_EQ(error_of([] { parse_yaml("- 1\n", "d.yaml"); }), "d.yaml: must be a mapping of keys at the top level (got a list)");
  EXPECT_EQ(error_of([] { parse_yaml("", "d.yaml"); }), "d.yaml: must be a mapping of keys at the top level (got nothing)");
  EXPECT_EQ(error_of([] { read_yaml_file("/nonexistent/d.yaml"); }), "/nonexistent/d.yaml: cannot open the file (no such file)");
  EXPECT_EQ(yaml_stem("dir/gpu.yaml"), "gpu");
  EXPECT_EQ(yaml_stem("a100.yml"), "a100");
  EXPECT_EQ(yaml_stem("<shipped model tiny>"), "<shipped model tiny>");
}

// Assigning a view rebinds it; it must never write into the document (YAML::Node's operator= would).
TEST(YamlReader, AssigningAViewLeavesTheDocumentAlone) {
  const YamlDoc doc = parse_yaml(kText, "t.yaml");
  const YamlMap f(doc);
  YamlValue v = f.value("count");
  v = f.value("kind");
  EXPECT_EQ(v.text(), "cuda");
  EXPECT_EQ(f.integer("count", 1), 3);
}

}  // namespace
}  // namespace ppsim
