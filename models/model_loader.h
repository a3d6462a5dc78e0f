#pragma once
// Model descriptions: the shipped models/*.yaml (embedded in the library) or a user's YAML file.
#include <string>
#include <vector>

#include "models/model_spec.h"

namespace ppsim {

// A shipped name ("gpt3-175b", "llama3-8b", "tiny", ...) or a path to a model YAML file. Throws
// InputError naming the file, line and field for bad content, or listing the shipped names.
ModelSpec load_model(const std::string& name_or_path);

// The same from YAML text; `display` names it in errors.
ModelSpec parse_model(const std::string& yaml_text, const std::string& display);

// Sorted names of the shipped models.
std::vector<std::string> shipped_model_names();

}  // namespace ppsim
