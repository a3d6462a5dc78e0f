#include "base/yaml_reader.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <sstream>

#include "base/error.h"

namespace ppsim {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string location(const std::string& display, const YAML::Mark& m) {
  if (m.is_null()) return display;
  return display + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

YAML::Node parse(const std::string& text, const std::string& display) {
  try {
    YAML::Node root = YAML::Load(text);
    if (!root.IsMap()) throw InputError(display + ": expected a YAML mapping of fields at the top level");
    return root;
  } catch (const YAML::Exception& e) {
    throw InputError(location(display, e.mark) + ": invalid YAML: " + e.msg);
  }
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + v[i];
  return out;
}

}  // namespace

YamlDoc parse_yaml(const std::string& text, const std::string& display) {
  return YamlDoc{display, parse(text, display)};
}

YamlDoc open_yaml(const std::string& name_or_path, std::span<const EmbeddedFile> shipped,
                  const std::string& kind) {
  for (const EmbeddedFile& f : shipped) {
    if (name_or_path == f.name) {
      std::string display = "<shipped " + kind + " " + f.name + ">";
      return YamlDoc{display, parse(f.text, display)};
    }
  }
  std::ifstream in(name_or_path);
  if (!in) {
    std::vector<std::string> names;
    for (const EmbeddedFile& f : shipped) names.push_back(f.name);
    throw InputError("unknown " + kind + " '" + name_or_path + "': not a shipped " + kind +
                     " and no such file (shipped " + kind + "s: " + join(names) + ")");
  }
  std::stringstream buf;
  buf << in.rdbuf();
  return YamlDoc{name_or_path, parse(buf.str(), name_or_path)};
}

YamlFields::YamlFields(const YamlDoc& doc, const YAML::Node& map, std::string prefix)
    : doc_(doc), map_(map), prefix_(std::move(prefix)) {}

void YamlFields::fail(const YAML::Node& at, const std::string& key, const std::string& message) const {
  const YAML::Node& n = at.IsDefined() ? at : map_;
  throw InputError(location(doc_.display, n.Mark()) + ": " + prefix_ + key + ": " + message);
}

void YamlFields::only(std::initializer_list<const char*> known) const {
  std::vector<std::string> valid(known.begin(), known.end());
  for (const auto& kv : map_) {
    const std::string key = kv.first.as<std::string>();
    if (std::find(valid.begin(), valid.end(), key) == valid.end())
      fail(kv.first, key, "unknown field (valid fields: " + join(valid) + ")");
  }
}

bool YamlFields::has(const std::string& key) const { return static_cast<bool>(map_[key]); }

YAML::Node YamlFields::node(const std::string& key) const {
  YAML::Node n = map_[key];
  if (!n || n.IsNull()) fail(map_, key, "missing required field");
  return n;
}

std::string YamlFields::text(const std::string& key) const {
  YAML::Node n = node(key);
  if (!n.IsScalar()) fail(n, key, "expected a single value");
  return n.Scalar();
}

std::string YamlFields::text_or(const std::string& key, const std::string& fallback) const {
  return has(key) ? text(key) : fallback;
}

std::int64_t YamlFields::positive_int(const std::string& key) const {
  YAML::Node n = node(key);
  std::int64_t v = 0;
  if (!n.IsScalar() || !YAML::convert<std::int64_t>::decode(n, v))
    fail(n, key, "expected a whole number, got '" + (n.IsScalar() ? n.Scalar() : std::string("?")) + "'");
  if (v <= 0) fail(n, key, "must be positive, got " + std::to_string(v));
  return v;
}

std::int64_t YamlFields::int_or(const std::string& key, std::int64_t fallback, std::int64_t min_value) const {
  if (!has(key)) return fallback;
  YAML::Node n = node(key);
  std::int64_t v = 0;
  if (!n.IsScalar() || !YAML::convert<std::int64_t>::decode(n, v))
    fail(n, key, "expected a whole number, got '" + (n.IsScalar() ? n.Scalar() : std::string("?")) + "'");
  if (v < min_value) fail(n, key, "must be at least " + std::to_string(min_value) + ", got " + std::to_string(v));
  return v;
}

double YamlFields::positive_double(const std::string& key) const {
  YAML::Node n = node(key);
  double v = 0;
  if (!n.IsScalar() || !YAML::convert<double>::decode(n, v) || !std::isfinite(v))
    fail(n, key, "expected a number, got '" + (n.IsScalar() ? n.Scalar() : std::string("?")) + "'");
  if (v <= 0) fail(n, key, "must be positive, got " + n.Scalar());
  return v;
}

bool YamlFields::boolean_or(const std::string& key, bool fallback) const {
  if (!has(key)) return fallback;
  YAML::Node n = node(key);
  bool v = false;
  if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v))
    fail(n, key, "expected true or false, got '" + (n.IsScalar() ? n.Scalar() : std::string("?")) + "'");
  return v;
}

int YamlFields::choice(const std::string& key, const std::vector<std::string>& choices) const {
  const std::string v = lower(text(key));
  for (std::size_t i = 0; i < choices.size(); ++i)
    if (v == choices[i]) return static_cast<int>(i);
  fail(map_[key], key, "unknown value '" + map_[key].Scalar() + "' (valid: " + join(choices) + ")");
}

YamlFields YamlFields::sub(const std::string& key) const {
  YAML::Node n = node(key);
  if (!n.IsMap()) fail(n, key, "expected a mapping of fields");
  return YamlFields(doc_, n, prefix_ + key + ".");
}

}  // namespace ppsim
