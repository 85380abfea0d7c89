#include "cli/output_format.h"

namespace cmdai::cli {
namespace {

bool is_scalar(const nlohmann::ordered_json& v) { return !v.is_object() && !v.is_array(); }

std::string scalar(const nlohmann::ordered_json& v) {
  return v.is_null() ? "null"
                     : v.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace

std::string to_yaml(const nlohmann::ordered_json& value, int indent) {
  const std::string pad(indent, ' ');
  std::string out;
  if (value.is_object()) {
    if (value.empty()) return pad + "{}\n";
    for (const auto& [key, item] : value.items()) {
      if (is_scalar(item) || item.empty()) {
        out += pad + key + ": " +
               (is_scalar(item) ? scalar(item) : (item.is_array() ? "[]" : "{}")) + "\n";
      } else {
        out += pad + key + ":\n" + to_yaml(item, indent + 2);
      }
    }
  } else if (value.is_array()) {
    for (const auto& item : value) {
      if (is_scalar(item)) {
        out += pad + "- " + scalar(item) + "\n";
      } else {
        // First line of the nested block goes after "- ", the rest keep its indentation.
        std::string block = to_yaml(item, indent + 2);
        block.replace(0, static_cast<size_t>(indent + 2), pad + "- ");
        out += block;
      }
    }
  } else {
    out += pad + scalar(value) + "\n";
  }
  return out;
}

}  // namespace cmdai::cli
