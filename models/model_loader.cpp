#include "models/model_loader.h"

#include <yaml-cpp/yaml.h>

#include "models/detail/shipped_files.h"
#include "base/yaml_reader.h"

namespace ppsim {
namespace {

ModelSpec read_model(const YamlDoc& doc, const std::string& default_name) {
  YamlFields f(doc, doc.root, "");
  f.only({"name", "layers", "hidden", "ffn_hidden", "heads", "kv_heads", "vocab", "activation", "norm",
          "tied_embeddings", "bias", "position_embedding", "max_positions"});
  ModelSpec m;
  m.name = f.text_or("name", default_name);
  auto as_int = [&](const char* key) {
    const std::int64_t v = f.positive_int(key);
    if (v > 1'000'000'000) f.fail(f.node(key), key, "is implausibly large: " + std::to_string(v));
    return static_cast<int>(v);
  };
  m.layers = as_int("layers");
  m.hidden = as_int("hidden");
  m.ffn_hidden = as_int("ffn_hidden");
  m.heads = as_int("heads");
  m.kv_heads = f.has("kv_heads") ? as_int("kv_heads") : m.heads;
  m.vocab = as_int("vocab");
  m.activation = f.choice("activation", {"gelu", "swiglu"}) == 0 ? Activation::Gelu : Activation::SwiGlu;
  m.norm = f.choice("norm", {"layernorm", "rmsnorm"}) == 0 ? Norm::LayerNorm : Norm::RmsNorm;
  m.tied_embeddings = f.boolean_or("tied_embeddings", false);
  m.bias = f.boolean_or("bias", m.activation == Activation::Gelu);
  m.position = PositionEmbedding::Rotary;
  if (f.has("position_embedding"))
    m.position = f.choice("position_embedding", {"learned", "rotary"}) == 0 ? PositionEmbedding::Learned
                                                                           : PositionEmbedding::Rotary;
  m.max_positions = static_cast<int>(f.int_or("max_positions", 0, 0));

  if (m.hidden % m.heads != 0)
    f.fail(f.node("heads"), "heads", "hidden (" + std::to_string(m.hidden) + ") is not divisible by heads (" +
                                         std::to_string(m.heads) + ")");
  if (m.kv_heads > m.heads || m.heads % m.kv_heads != 0)
    f.fail(f.node(f.has("kv_heads") ? "kv_heads" : "heads"), "kv_heads",
           "heads (" + std::to_string(m.heads) + ") must be a multiple of kv_heads (" +
               std::to_string(m.kv_heads) + ")");
  if (m.position == PositionEmbedding::Learned && m.max_positions <= 0)
    f.fail(doc.root, "max_positions", "required (positive) with position_embedding: learned");
  return m;
}

std::string stem_of(const std::string& path) {
  std::string s = path.substr(path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/') + 1);
  for (const char* ext : {".yaml", ".yml"}) {
    const std::string e(ext);
    if (s.size() > e.size() && s.compare(s.size() - e.size(), e.size(), e) == 0) return s.substr(0, s.size() - e.size());
  }
  return s;
}

}  // namespace

ModelSpec load_model(const std::string& name_or_path) {
  const YamlDoc doc = open_yaml(name_or_path, embedded_models(), "model");
  return read_model(doc, stem_of(name_or_path));
}

ModelSpec parse_model(const std::string& yaml_text, const std::string& display) {
  const YamlDoc doc = parse_yaml(yaml_text, display);
  return read_model(doc, stem_of(display));
}

std::vector<std::string> shipped_model_names() {
  std::vector<std::string> names;
  for (const EmbeddedFile& f : embedded_models()) names.push_back(f.name);
  return names;
}

}  // namespace ppsim
