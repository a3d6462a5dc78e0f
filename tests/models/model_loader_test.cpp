#include "models/model_loader.h"

#include <cstdio>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "models/cost_model.h"
#include "models/detail/shipped_files.h"
#include "base/error.h"
#include "tests/input_error.h"

namespace ppsim {
namespace {

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

TEST(ModelLoader, ShipsTheWellKnownModels) {
  const std::vector<std::string> names = shipped_model_names();
  for (const char* want : {"gpt3-125m", "gpt3-350m", "gpt3-760m", "gpt3-2.7b", "gpt3-6.7b", "gpt3-175b", "llama3-8b",
                           "llama3-70b", "tiny"})
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
}

TEST(ModelLoader, EveryShippedModelLoadsAndIsConsistent) {
  for (const std::string& name : shipped_model_names()) {
    const ModelSpec m = load_model(name);
    EXPECT_EQ(m.name, name);
    EXPECT_GT(m.layers, 0);
    EXPECT_EQ(m.hidden % m.heads, 0) << name;
    EXPECT_EQ(m.heads % m.kv_heads, 0) << name;
  }
}

TEST(ModelLoader, EveryShippedFileCitesItsSource) {
  for (const EmbeddedFile& f : embedded_models()) {
    const std::string text = f.text;
    if (std::string(f.name) == "tiny") continue;  // made up for tests, and says so
    EXPECT_NE(text.find("# Source: "), std::string::npos) << f.name;
  }
  for (const EmbeddedFile& f : embedded_hardware())
    EXPECT_NE(std::string(f.text).find("datasheet"), std::string::npos) << f.name;
}

TEST(ModelLoader, ShippedFileMatchesTheInTreeFile) {
  const ModelSpec shipped = load_model("llama3-70b");
  const ModelSpec file = load_model(std::string(PPSIM_SOURCE_DIR) + "/models/llama3-70b.yaml");
  EXPECT_EQ(file.layers, shipped.layers);
  EXPECT_EQ(file.ffn_hidden, shipped.ffn_hidden);
}

TEST(ModelLoader, Gpt3_175bHasThePublishedShape) {
  const ModelSpec m = load_model("gpt3-175b");
  EXPECT_EQ(m.layers, 96);
  EXPECT_EQ(m.hidden, 12288);
  EXPECT_EQ(m.ffn_hidden, 4 * 12288);
  EXPECT_EQ(m.heads, 96);
  EXPECT_EQ(m.kv_heads, 96);
  EXPECT_EQ(m.vocab, 50257);
  EXPECT_EQ(m.activation, Activation::Gelu);
  EXPECT_EQ(m.norm, Norm::LayerNorm);
  EXPECT_TRUE(m.tied_embeddings);
  EXPECT_EQ(m.position, PositionEmbedding::Learned);
  // 12lh^2 + 13lh (blocks with biases and two LayerNorms) + (V + 2048)h + 2h: 174.6B, as published.
  const std::int64_t l = 96, h = 12288, V = 50257;
  EXPECT_EQ(model_params(m), 12 * l * h * h + 13 * l * h + (V + 2048) * h + 2 * h);
  EXPECT_NEAR(static_cast<double>(model_params(m)) / 1e9, 174.6, 0.05);
}

TEST(ModelLoader, LlamaParameterCountsMatchTheReleasedCheckpoints) {
  // Hugging Face parameter counts of meta-llama/Meta-Llama-3-8B and -70B.
  EXPECT_EQ(model_params(load_model("llama3-8b")), 8'030'261'248);
  EXPECT_EQ(model_params(load_model("llama3-70b")), 70'553'706'496);
  const ModelSpec m = load_model("llama3-8b");
  EXPECT_EQ(m.kv_heads, 8);
  EXPECT_EQ(m.activation, Activation::SwiGlu);
  EXPECT_EQ(m.norm, Norm::RmsNorm);
  EXPECT_FALSE(m.bias);
  EXPECT_FALSE(m.tied_embeddings);
}

// The models of the validation runs (docs/validation.md) have their published sizes: Narayanan et
// al. 2021 Table 1 (529.6B, 1008.0B, via eq. 2 with V = 51200), the BLOOM paper (176,247M) and the
// Llama 3 405B checkpoint (405,853,388,800 parameters on Hugging Face).
TEST(ModelLoader, ValidationModelsHaveTheirPublishedSizes) {
  EXPECT_NEAR(model_params(load_model("mt-nlg-530b")) / 1e9, 529.6, 0.1);
  EXPECT_NEAR(model_params(load_model("megatron-1t")) / 1e9, 1008.0, 0.1);
  EXPECT_NEAR(model_params(load_model("megatron-22b")) / 1e9, 22.0, 0.2);
  EXPECT_NEAR(model_params(load_model("bloom-176b")) / 1e9, 176.247, 0.01);
  EXPECT_EQ(model_params(load_model("llama3-405b")), 405'853'388'800);
  EXPECT_EQ(load_model("bloom-176b").position, PositionEmbedding::Alibi);
}

TEST(ModelLoader, UnknownNameListsTheShippedModels) {
  const std::string msg = error_of([] { load_model("gpt5"); });
  EXPECT_NE(msg.find("unknown model 'gpt5'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("gpt3-175b"), std::string::npos) << msg;
  EXPECT_NE(msg.find("llama3-8b"), std::string::npos) << msg;
  EXPECT_NE(msg.find("tiny"), std::string::npos) << msg;
}

TEST(ModelLoader, BadValueNamesFileLineAndField) {
  const std::string path = write_temp("bad_hidden.yaml", "# a comment\nlayers: 2\nhidden: abc\n");
  const std::string msg = error_of([&] { load_model(path); });
  EXPECT_NE(msg.find(path + ":3:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("hidden"), std::string::npos) << msg;
  EXPECT_NE(msg.find("abc"), std::string::npos) << msg;
}

TEST(ModelLoader, Errors) {
  const std::string base =
      "layers: 2\nhidden: 64\nffn_hidden: 256\nheads: 4\nvocab: 100\nactivation: gelu\nnorm: layernorm\n"
      "max_positions: 16\nposition_embedding: learned\n";
  EXPECT_EQ(parse_model(base, "ok.yaml").layers, 2);
  EXPECT_EQ(parse_model(base, "ok.yaml").kv_heads, 4);  // defaults to heads
  struct Case {
    std::string yaml, expect;
  };
  const Case cases[] = {
      {base + "hiden: 3\n",
       "m.yaml:10:1: hiden: unknown key (valid keys: activation, bias, ffn_hidden, heads, hidden, kv_heads, layers, "
       "max_positions, name, norm, position_embedding, tied_embeddings, vocab)"},
      {std::string(base).replace(base.find("max_positions: 16"), 17, "max_positions: 0"),
       "m.yaml:8:16: max_positions: must be a positive integer with position_embedding: learned (got '0')"},
      {base + "kv_heads: 3\n", "m.yaml:10:11: kv_heads: heads (4) must be a multiple of kv_heads (3)"},
      {"layers: 0\n", "m.yaml:1:9: layers: must be a positive integer (got '0')"},
      {"layers: 2\nhidden: 64\n", "m.yaml:1:1: ffn_hidden: missing required key"},
      {"layers: [1\n", "m.yaml:2:1: malformed YAML: end of sequence flow not found"},
      {"- 1\n- 2\n", "m.yaml: must be a mapping of keys at the top level (got a list)"},
  };
  for (const Case& c : cases) {
    const std::string msg = error_of([&] { parse_model(c.yaml, "m.yaml"); });
    EXPECT_NE(msg.find(c.expect), std::string::npos) << "got: " << msg << "\nwant: " << c.expect;
  }
  const std::string act = error_of([&] {
    std::string y = base;
    y.replace(y.find("gelu"), 4, "relu");
    parse_model(y, "<shipped model x>");
  });
  EXPECT_NE(act.find("<shipped model x>:6:13: activation: must be one of gelu, swiglu (got 'relu')"),
            std::string::npos)
      << act;
  const std::string heads = error_of([&] {
    std::string y = base;
    y.replace(y.find("heads: 4"), 8, "heads: 5");
    parse_model(y, "m.yaml");
  });
  EXPECT_NE(heads.find("hidden (64) is not divisible by heads (5)"), std::string::npos) << heads;
}

}  // namespace
}  // namespace ppsim
