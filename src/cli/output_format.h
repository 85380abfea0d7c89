// The object `cmdai -o json|yaml` prints, and its YAML rendering.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace cmdai::cli {

// YAML for the flat objects cmdai prints: keys in order, strings double-quoted (JSON escapes are
// valid YAML), nested objects and arrays indented by two spaces.
std::string to_yaml(const nlohmann::ordered_json& value, int indent = 0);

}  // namespace cmdai::cli
