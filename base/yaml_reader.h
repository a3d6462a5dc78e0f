#pragma once
// The one way ppsim reads YAML input (schedule.yaml, model, hardware and profile files). Every
// error is an InputError "<file>:<line>:<column>: <dotted.key>: <what is wrong>" (1-based), quoting
// the bad value as "(got '<value>')", so a new key gets the same checks and wording as the old ones.
// YamlValue and YamlMap are views into a YamlDoc, which must outlive them.
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "base/embedded_file.h"
#include "base/time.h"

namespace ppsim {

// One YAML document and the name to show in errors: a path, or "<shipped model gpt3-175b>".
struct YamlDoc {
  std::string display;
  YAML::Node root;  // a mapping
};

// Parses YAML text whose top level must be a mapping; `display` names it in errors.
YamlDoc parse_yaml(const std::string& text, const std::string& display);

// Reads and parses the file at `path`; "<path>: cannot open the file" when it cannot.
YamlDoc read_yaml_file(const std::string& path);

// A shipped name resolves to the embedded text; otherwise `name_or_path` must be a readable file.
// Unknown names throw InputError listing the shipped ones. `kind` is "model" or "hardware".
YamlDoc open_yaml(const std::string& name_or_path, std::span<const EmbeddedFile> shipped, const std::string& kind);

// "gpu" for "dir/gpu.yaml" or "gpu.yml": the name a model or hardware file goes by by default.
std::string yaml_stem(const std::string& path);

// How an enumeration is spelled in files, for choice(): {{"gelu", Activation::Gelu}, ...}.
template <class E>
using Names = std::vector<std::pair<std::string, E>>;

class YamlMap;

// One node (never an absent one) and its dotted key path ("times.forward", "partition.layers[2]").
// The conversions below return the value or throw the error that says what it must be.
class YamlValue {
 public:
  YamlValue(const YamlDoc& doc, YAML::Node node, std::string path);
  YamlValue(const YamlDoc&&, YAML::Node, std::string) = delete;  // the document must outlive the view
  YamlValue(const YamlValue&) = default;
  // Rebinds; YAML::Node's own operator= would write into the document instead.
  YamlValue& operator=(const YamlValue& other);

  const std::string& path() const { return path_; }  // "" for the top level
  const YAML::Node& node() const { return node_; }   // the raw node, for what no accessor reads
  std::string where() const;                              // "<file>:<line>:<column>: <path>"
  [[noreturn]] void fail(const std::string& what) const;  // throws "<where>: <what>"
  std::string got() const;  // for messages: 'text' quoted, or "a list", "a mapping", "nothing"

  bool is_map() const { return node_.IsMap(); }
  bool is_list() const { return node_.IsSequence(); }
  bool is_text(const std::string& text) const { return node_.IsScalar() && node_.Scalar() == text; }

  std::string text() const;  // a single value, as written
  // A decimal whole number in [min, max]; T is the type it must fit (int unless given).
  template <class T = int>
  T integer(std::type_identity_t<T> min, std::type_identity_t<T> max = std::numeric_limits<T>::max()) const {
    return static_cast<T>(whole_number(min, max));
  }
  double number(double min = -kInfinity, double max = kInfinity) const;  // finite, in [min, max]
  double positive_number() const;                                         // finite, > 0
  double fraction() const;                                                // in (0, 1]
  bool boolean() const;  // YAML's true/false (also yes/no, on/off)
  std::string choice(const std::vector<std::string>& names) const;  // one of `names`, exactly
  template <class E>
  E choice(const Names<E>& names) const {
    return names[choice_index(spellings(names))].second;
  }
  TimeNs duration() const;     // "18.5ms", "600us" (base/time.h)
  std::int64_t bytes() const;  // "80GB", "1.5GiB"; positive
  double bandwidth() const;    // "450GB/s", in bytes per second; positive
  YamlMap map() const;
  std::vector<YamlValue> items() const;  // a list; item i has the path "<path>[i]"

  // One value for all n places, or a list of exactly n: the n values, each read by `read`. A list
  // of another length fails with "has <k> values but <expected>" (e.g. "stages is 3 (give one
  // value, or one per stage)").
  template <class Read>
  auto one_or_each(std::size_t n, const std::string& expected, Read read) const
      -> std::vector<decltype(read(std::declval<const YamlValue&>()))> {
    using T = decltype(read(std::declval<const YamlValue&>()));
    if (!is_list()) return std::vector<T>(n, read(*this));
    const std::vector<YamlValue> list = items();
    if (list.size() != n) fail("has " + std::to_string(list.size()) + " values but " + expected);
    std::vector<T> out;
    out.reserve(n);
    for (const YamlValue& v : list) out.push_back(read(v));
    return out;
  }

 private:
  friend class YamlMap;  // makes views of its keys on the same document
  static constexpr double kInfinity = std::numeric_limits<double>::infinity();
  std::int64_t whole_number(std::int64_t min, std::int64_t max) const;
  std::size_t choice_index(const std::vector<std::string>& names) const;
  template <class E>
  static std::vector<std::string> spellings(const Names<E>& names) {
    std::vector<std::string> out;
    for (const auto& n : names) out.push_back(n.first);
    return out;
  }

  const YamlDoc* doc_;
  YAML::Node node_;
  std::string path_;
  YAML::Mark mark_;  // where errors point: the node's, or its key's for an empty value
};

// A mapping: the document's top level or a nested one (its keys' paths are "<path>.<key>").
// Each accessor reads one key with YamlValue's conversion of the same name; a missing key is
// "missing required key", and the *_or forms return `fallback` for it instead.
class YamlMap {
 public:
  explicit YamlMap(const YamlDoc& doc);  // the top level
  explicit YamlMap(const YamlDoc&&) = delete;

  // Rejects any other key (a typo), listing the valid ones.
  void only(std::initializer_list<const char*> keys) const;
  std::vector<std::string> keys() const;  // in document order (for mappings whose keys are data)
  bool has(const std::string& key) const;
  YamlValue value(const std::string& key) const;
  std::string where() const { return self_.where(); }
  [[noreturn]] void fail(const std::string& what) const { self_.fail(what); }  // at the mapping
  // At the key's value, or at the mapping where the key is absent; the path names the key.
  [[noreturn]] void fail_at(const std::string& key, const std::string& what) const;

  std::string text(const std::string& key) const { return value(key).text(); }
  std::string text_or(const std::string& key, const std::string& fallback) const {
    return has(key) ? text(key) : fallback;
  }
  template <class T = int>
  T integer(const std::string& key, std::type_identity_t<T> min,
            std::type_identity_t<T> max = std::numeric_limits<T>::max()) const {
    return value(key).integer<T>(min, max);
  }
  template <class T = int>
  T integer_or(const std::string& key, std::type_identity_t<T> fallback, std::type_identity_t<T> min,
               std::type_identity_t<T> max = std::numeric_limits<T>::max()) const {
    return has(key) ? integer<T>(key, min, max) : fallback;
  }
  double number(const std::string& key, double min = -kInfinity, double max = kInfinity) const {
    return value(key).number(min, max);
  }
  double number_or(const std::string& key, double fallback, double min = -kInfinity, double max = kInfinity) const {
    return has(key) ? number(key, min, max) : fallback;
  }
  double positive_number(const std::string& key) const { return value(key).positive_number(); }
  double fraction(const std::string& key) const { return value(key).fraction(); }
  bool boolean(const std::string& key) const { return value(key).boolean(); }
  bool boolean_or(const std::string& key, bool fallback) const { return has(key) ? boolean(key) : fallback; }
  std::string choice(const std::string& key, const std::vector<std::string>& names) const {
    return value(key).choice(names);
  }
  template <class E>
  E choice(const std::string& key, const Names<E>& names) const {
    return value(key).choice(names);
  }
  template <class E>
  E choice_or(const std::string& key, E fallback, const Names<E>& names) const {
    return has(key) ? choice(key, names) : fallback;
  }
  TimeNs duration(const std::string& key) const { return value(key).duration(); }
  std::int64_t bytes(const std::string& key) const { return value(key).bytes(); }
  double bandwidth(const std::string& key) const { return value(key).bandwidth(); }
  YamlMap sub(const std::string& key) const { return value(key).map(); }

  // Lists: each item is converted like the single value, its errors naming "<key>[i]".
  std::vector<YamlValue> list(const std::string& key) const { return value(key).items(); }
  template <class T = int>
  std::vector<T> list_of_integers(const std::string& key, std::type_identity_t<T> min,
                                  std::type_identity_t<T> max = std::numeric_limits<T>::max()) const {
    return list_of<T>(key, [&](const YamlValue& v) { return v.integer<T>(min, max); });
  }
  std::vector<double> list_of_numbers(const std::string& key, double min = -kInfinity, double max = kInfinity) const {
    return list_of<double>(key, [&](const YamlValue& v) { return v.number(min, max); });
  }
  std::vector<std::string> list_of_texts(const std::string& key) const {
    return list_of<std::string>(key, &YamlValue::text);
  }
  std::vector<TimeNs> list_of_durations(const std::string& key) const {
    return list_of<TimeNs>(key, &YamlValue::duration);
  }
  std::vector<YamlMap> list_of_maps(const std::string& key) const { return list_of<YamlMap>(key, &YamlValue::map); }

 private:
  friend class YamlValue;  // map() makes one after checking the node is a mapping
  explicit YamlMap(YamlValue self) : self_(std::move(self)) {}
  static constexpr double kInfinity = std::numeric_limits<double>::infinity();
  std::string path_of(const std::string& key) const;
  template <class T, class Read>
  std::vector<T> list_of(const std::string& key, Read read) const {
    std::vector<T> out;
    for (const YamlValue& v : list(key)) out.push_back(std::invoke(read, v));
    return out;
  }

  YamlValue self_;
};

}  // namespace ppsim
