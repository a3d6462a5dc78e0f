#include "base/yaml_reader.h"

#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include "base/error.h"
#include "base/input_file.h"

namespace ppsim {
namespace {

std::string location(const std::string& display, const YAML::Mark& m) {
  if (m.is_null()) return display;
  return display + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + v[i];
  return out;
}


// Decimal only (no octal or hex surprises), with an optional '+'; false unless all of `s` is used.
template <class T>
bool parse_decimal(const YAML::Node& n, T& v) {
  if (!n.IsScalar()) return false;
  std::string_view s = n.Scalar();
  if (s.starts_with('+')) s.remove_prefix(1);
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

// NaN unless the node is a finite decimal number, so that every range check below fails on it.
double finite_or_nan(const YAML::Node& n) {
  double v = 0;
  return parse_decimal(n, v) && std::isfinite(v) ? v : std::nan("");
}

std::string integer_kind(std::int64_t min) {
  if (min == 1) return "a positive integer";
  if (min == 0) return "a non-negative integer";
  return "an integer of at least " + std::to_string(min);
}

std::string number_kind(double min, double max) {
  const double inf = std::numeric_limits<double>::infinity();
  if (min == -inf && max == inf) return "a number";
  if (min == 0 && max == inf) return "a non-negative number";
  std::ostringstream os;
  os << "a number in [" << min << ", " << max << "]";
  return os.str();
}

// Runs a base/time.h parser and moves its InputError ("<what>: <message>") onto the node.
template <class Parse>
auto with_unit(const YamlValue& v, Parse parse) {
  const std::string text = v.text();
  try {
    return parse(text, v.path());
  } catch (const InputError& e) {
    const std::string message = e.what();
    v.fail(message.substr(std::min(message.size(), v.path().size() + 2)));
  }
}

}  // namespace

YamlDoc parse_yaml(const std::string& text, const std::string& display) {
  YamlDoc doc{display, {}};
  try {
    doc.root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw InputError(location(display, e.mark) + ": malformed YAML: " + e.msg);
  }
  if (!doc.root.IsMap())
    throw InputError(display + ": must be a mapping of keys at the top level (got " +
                     YamlValue(doc, doc.root, "").got() + ")");
  return doc;
}

YamlDoc read_yaml_file(const std::string& path) { return parse_yaml(read_input_file(path), path); }

YamlDoc open_yaml(const std::string& name_or_path, std::span<const EmbeddedFile> shipped, const std::string& kind) {
  std::vector<std::string> names;
  for (const EmbeddedFile& f : shipped) {
    if (name_or_path == f.name) return parse_yaml(f.text, "<shipped " + kind + " " + f.name + ">");
    names.push_back(f.name);
  }
  struct stat st {};
  if (::stat(name_or_path.c_str(), &st) != 0)
    throw InputError("unknown " + kind + " '" + name_or_path + "': not a shipped " + kind +
                     " and no such file (shipped " + kind + "s: " + join(names) + ")");
  return parse_yaml(read_input_file(name_or_path), name_or_path);
}

std::string yaml_stem(const std::string& path) {
  std::string s = path.substr(path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/') + 1);
  for (const std::string ext : {".yaml", ".yml"})
    if (s.size() > ext.size() && s.ends_with(ext)) return s.substr(0, s.size() - ext.size());
  return s;
}

// --- YamlValue ---

YamlValue::YamlValue(const YamlDoc& doc, YAML::Node node, std::string path)
    : doc_(&doc), node_(std::move(node)), path_(std::move(path)), mark_(node_.Mark()) {}

YamlValue& YamlValue::operator=(const YamlValue& other) {
  doc_ = other.doc_;
  node_.reset(other.node_);
  path_ = other.path_;
  mark_ = other.mark_;
  return *this;
}

std::string YamlValue::where() const {
  const std::string at = location(doc_->display, mark_);
  return path_.empty() ? at : at + ": " + path_;
}

void YamlValue::fail(const std::string& what) const { throw InputError(where() + ": " + what); }

std::string YamlValue::got() const {
  if (node_.IsScalar()) return "'" + node_.Scalar() + "'";
  if (node_.IsSequence()) return "a list";
  if (node_.IsMap()) return "a mapping";
  return "nothing";
}

std::string YamlValue::text() const {
  if (!node_.IsScalar()) fail("must be a single value (got " + got() + ")");
  return node_.Scalar();
}

std::int64_t YamlValue::whole_number(std::int64_t min, std::int64_t max) const {
  std::int64_t v = 0;
  if (!parse_decimal(node_, v) || v < min) fail("must be " + integer_kind(min) + " (got " + got() + ")");
  if (v > max) fail("must be at most " + std::to_string(max) + " (got " + got() + ")");
  return v;
}

double YamlValue::number(double min, double max) const {
  const double v = finite_or_nan(node_);
  if (!(v >= min && v <= max)) fail("must be " + number_kind(min, max) + " (got " + got() + ")");
  return v;
}

double YamlValue::positive_number() const {
  const double v = finite_or_nan(node_);
  if (!(v > 0)) fail("must be a positive number (got " + got() + ")");
  return v;
}

double YamlValue::fraction() const {
  const double v = finite_or_nan(node_);
  if (!(v > 0 && v <= 1)) fail("must be a fraction in (0, 1] (got " + got() + ")");
  return v;
}

bool YamlValue::boolean() const {
  bool v = false;
  if (!node_.IsScalar() || !YAML::convert<bool>::decode(node_, v)) fail("must be true or false (got " + got() + ")");
  return v;
}

std::size_t YamlValue::choice_index(const std::vector<std::string>& names) const {
  if (node_.IsScalar())
    for (std::size_t i = 0; i < names.size(); ++i)
      if (node_.Scalar() == names[i]) return i;
  fail("must be one of " + join(names) + " (got " + got() + ")");
}

std::string YamlValue::choice(const std::vector<std::string>& names) const { return names[choice_index(names)]; }

TimeNs YamlValue::duration() const { return with_unit(*this, parse_duration); }

std::int64_t YamlValue::bytes() const {
  const std::int64_t v = with_unit(*this, parse_bytes);
  if (v <= 0) fail("must be positive (got " + got() + ")");
  return v;
}

double YamlValue::bandwidth() const { return with_unit(*this, parse_bandwidth); }

YamlMap YamlValue::map() const {
  if (!is_map()) fail("must be a mapping of keys (got " + got() + ")");
  return YamlMap(*this);
}

std::vector<YamlValue> YamlValue::items() const {
  if (!is_list()) fail("must be a list (got " + got() + ")");
  std::vector<YamlValue> out;
  for (std::size_t i = 0; i < node_.size(); ++i)
    out.emplace_back(*doc_, node_[i], path_ + "[" + std::to_string(i) + "]");
  return out;
}

// --- YamlMap ---

YamlMap::YamlMap(const YamlDoc& doc) : self_(doc, doc.root, "") {}

std::string YamlMap::path_of(const std::string& key) const {
  return self_.path().empty() ? key : self_.path() + "." + key;
}

std::vector<std::string> YamlMap::keys() const {
  std::vector<std::string> out;
  for (const auto& kv : self_.node()) out.push_back(kv.first.as<std::string>());
  return out;
}

void YamlMap::only(std::initializer_list<const char*> keys) const {
  std::vector<std::string> valid(keys.begin(), keys.end());
  std::sort(valid.begin(), valid.end());
  for (const auto& kv : self_.node()) {
    const std::string key = kv.first.Scalar();
    if (!std::binary_search(valid.begin(), valid.end(), key))
      YamlValue(*self_.doc_, kv.first, path_of(key)).fail("unknown key (valid keys: " + join(valid) + ")");
  }
}

bool YamlMap::has(const std::string& key) const { return self_.node()[key].IsDefined(); }

YamlValue YamlMap::value(const std::string& key) const {
  if (!has(key)) fail_at(key, "missing required key");
  YamlValue v(*self_.doc_, self_.node()[key], path_of(key));
  // yaml-cpp marks an empty value ("key:" and nothing) where the next token starts: point at the key.
  if (v.node_.IsNull())
    for (const auto& kv : self_.node())
      if (kv.first.Scalar() == key) v.mark_ = kv.first.Mark();
  return v;
}

void YamlMap::fail_at(const std::string& key, const std::string& what) const {
  if (has(key)) value(key).fail(what);
  YamlValue(*self_.doc_, self_.node(), path_of(key)).fail(what);
}

}  // namespace ppsim
