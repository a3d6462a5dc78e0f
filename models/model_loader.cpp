#include "models/model_loader.h"

#include "models/detail/shipped_files.h"
#include "base/yaml_reader.h"

namespace ppsim {
namespace {

constexpr int kMaxSize = 1'000'000'000;  // no real model comes near: a typo guard

ModelSpec read_model(const YamlDoc& doc, const std::string& default_name) {
  const YamlMap f(doc);
  f.only({"name", "layers", "hidden", "ffn_hidden", "heads", "kv_heads", "vocab", "activation", "norm",
          "tied_embeddings", "bias", "position_embedding", "max_positions"});
  ModelSpec m;
  m.name = f.text_or("name", default_name);
  m.layers = f.integer("layers", 1, kMaxSize);
  m.hidden = f.integer("hidden", 1, kMaxSize);
  m.ffn_hidden = f.integer("ffn_hidden", 1, kMaxSize);
  m.heads = f.integer("heads", 1, kMaxSize);
  m.kv_heads = f.integer_or("kv_heads", m.heads, 1, kMaxSize);
  m.vocab = f.integer("vocab", 1, kMaxSize);
  m.activation = f.choice("activation", kActivationNames);
  m.norm = f.choice("norm", kNormNames);
  m.tied_embeddings = f.boolean_or("tied_embeddings", false);
  m.bias = f.boolean_or("bias", m.activation == Activation::Gelu);
  m.position = f.choice_or("position_embedding", PositionEmbedding::Rotary,
                           {{"learned", PositionEmbedding::Learned}, {"rotary", PositionEmbedding::Rotary}, {"alibi", PositionEmbedding::Alibi}});
  m.max_positions = f.integer_or("max_positions", 0, 0, kMaxSize);

  if (m.hidden % m.heads != 0)
    f.fail_at("heads", "hidden (" + std::to_string(m.hidden) + ") is not divisible by heads (" +
                           std::to_string(m.heads) + ")");
  if (m.kv_heads > m.heads || m.heads % m.kv_heads != 0)
    f.fail_at("kv_heads", "heads (" + std::to_string(m.heads) + ") must be a multiple of kv_heads (" +
                              std::to_string(m.kv_heads) + ")");
  if (m.position == PositionEmbedding::Learned && m.max_positions <= 0)
    f.fail_at("max_positions", "must be a positive integer with position_embedding: learned (got " +
                                   (f.has("max_positions") ? f.value("max_positions").got() : "nothing") + ")");
  return m;
}

}  // namespace

ModelSpec load_model(const std::string& name_or_path) {
  const YamlDoc doc = open_yaml(name_or_path, embedded_models(), "model");
  return read_model(doc, yaml_stem(name_or_path));
}

ModelSpec parse_model(const std::string& yaml_text, const std::string& display) {
  const YamlDoc doc = parse_yaml(yaml_text, display);
  return read_model(doc, yaml_stem(display));
}

std::vector<std::string> shipped_model_names() {
  std::vector<std::string> names;
  for (const EmbeddedFile& f : embedded_models()) names.push_back(f.name);
  return names;
}

}  // namespace ppsim
