#pragma once
// Reading the shipped/user YAML files of models/ with errors that name the file, line and field.
// Internal to models/.
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "base/embedded_file.h"

namespace ppsim {

// One YAML document and the name to show in errors: a path, or "<shipped model gpt3-175b>".
struct YamlDoc {
  std::string display;
  YAML::Node root;
};

// A shipped name resolves to the embedded text; otherwise `name_or_path` must be a readable file.
// Unknown names throw InputError listing the shipped ones. `kind` is "model" or "hardware".
YamlDoc open_yaml(const std::string& name_or_path, std::span<const EmbeddedFile> shipped,
                  const std::string& kind);

// Parses YAML text whose top level must be a mapping; `display` names it in errors.
YamlDoc parse_yaml(const std::string& text, const std::string& display);

// Field access on a top-level or nested mapping; every failure throws InputError with
// "<display>:<line>:<column>: <field>: <what is wrong>" (1-based line and column).
class YamlFields {
 public:
  YamlFields(const YamlDoc& doc, const YAML::Node& map, std::string prefix);

  // Rejects keys not in `known` (catches typos), naming the valid ones.
  void only(std::initializer_list<const char*> known) const;
  bool has(const std::string& key) const;
  YAML::Node node(const std::string& key) const;  // required
  std::string text(const std::string& key) const;
  std::string text_or(const std::string& key, const std::string& fallback) const;
  std::int64_t positive_int(const std::string& key) const;
  std::int64_t int_or(const std::string& key, std::int64_t fallback, std::int64_t min_value) const;
  double positive_double(const std::string& key) const;
  bool boolean_or(const std::string& key, bool fallback) const;
  // Value must be one of `choices` (case-insensitive); returns its index.
  int choice(const std::string& key, const std::vector<std::string>& choices) const;
  YamlFields sub(const std::string& key) const;  // a nested mapping

  [[noreturn]] void fail(const YAML::Node& at, const std::string& key, const std::string& message) const;
  const std::string& display() const { return doc_.display; }

 private:
  const YamlDoc& doc_;
  YAML::Node map_;
  std::string prefix_;
};

}  // namespace ppsim
