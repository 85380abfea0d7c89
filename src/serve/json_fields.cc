#include "serve/json_fields.h"

#include <fmt/format.h>

#include <cmath>

#include "base/utf8.h"

namespace cmdai::serve {
namespace {

const nlohmann::json* field_of(const nlohmann::json& object, const char* field) {
  auto it = object.find(field);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

ApiError wrong_type(const char* field, const char* wanted) {
  return invalid_request(fmt::format("'{}' must be {}", field, wanted), field);
}

}  // namespace

std::optional<ApiError> read_string(const nlohmann::json& object, const char* field,
                                    std::string* out) {
  const nlohmann::json* value = field_of(object, field);
  if (value == nullptr) return std::nullopt;
  if (!value->is_string()) return wrong_type(field, "a string");
  *out = value->get<std::string>();
  return std::nullopt;
}

std::optional<ApiError> read_bool(const nlohmann::json& object, const char* field, bool* out) {
  const nlohmann::json* value = field_of(object, field);
  if (value == nullptr) return std::nullopt;
  if (!value->is_boolean()) return wrong_type(field, "true or false");
  *out = value->get<bool>();
  return std::nullopt;
}

std::optional<ApiError> read_float(const nlohmann::json& object, const char* field, double min,
                                   double max, float* out) {
  const nlohmann::json* value = field_of(object, field);
  if (value == nullptr) return std::nullopt;
  if (!value->is_number()) return wrong_type(field, "a number");
  const double v = value->get<double>();
  if (!(v >= min && v <= max)) {
    return invalid_request(
        fmt::format("'{}' must be between {} and {}, not {}", field, min, max, v), field);
  }
  *out = static_cast<float>(v);
  return std::nullopt;
}

std::optional<ApiError> read_int(const nlohmann::json& object, const char* field, int64_t min,
                                 int64_t max, int64_t* out) {
  const nlohmann::json* value = field_of(object, field);
  if (value == nullptr) return std::nullopt;
  int64_t v = 0;
  if (value->is_number_integer()) {
    if (value->is_number_unsigned() && value->get<uint64_t>() > uint64_t(INT64_MAX)) {
      return invalid_request(fmt::format("'{}' is too large (at most {})", field, max), field);
    }
    v = value->get<int64_t>();
  } else if (value->is_number_float() && std::isfinite(value->get<double>()) &&
             std::trunc(value->get<double>()) == value->get<double>() &&
             std::fabs(value->get<double>()) < 9e18) {
    v = static_cast<int64_t>(value->get<double>());
  } else {
    return wrong_type(field, "an integer");
  }
  if (v < min || v > max) {
    return invalid_request(
        fmt::format("'{}' must be between {} and {}, not {}", field, min, max, v), field);
  }
  *out = v;
  return std::nullopt;
}

std::optional<ApiError> read_stop(const nlohmann::json& object, const char* field, size_t max_count,
                                  std::vector<std::string>* out) {
  const nlohmann::json* value = field_of(object, field);
  if (value == nullptr) return std::nullopt;
  std::vector<std::string> stop;
  if (value->is_string()) {
    stop.push_back(value->get<std::string>());
  } else if (value->is_array()) {
    for (const auto& item : *value) {
      if (!item.is_string()) return wrong_type(field, "a string or an array of strings");
      stop.push_back(item.get<std::string>());
    }
  } else {
    return wrong_type(field, "a string or an array of strings");
  }
  if (stop.size() > max_count) {
    return invalid_request(fmt::format("'{}' may hold at most {} strings", field, max_count),
                           field);
  }
  for (auto& s : stop) {
    if (!s.empty()) out->push_back(std::move(s));
  }
  return std::nullopt;
}

std::optional<ApiError> parse_object(const std::string& body, nlohmann::json* out) {
  if (!is_valid_utf8(body)) return invalid_request("the request body is not valid UTF-8");
  try {
    *out = nlohmann::json::parse(body);
  } catch (const nlohmann::json::parse_error& e) {
    return invalid_request(fmt::format("the request body is not valid JSON: {}", e.what()));
  }
  if (!out->is_object()) return invalid_request("the request body must be a JSON object");
  return std::nullopt;
}

}  // namespace cmdai::serve
