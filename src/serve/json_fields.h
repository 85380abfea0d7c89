// Typed reads of optional fields of a client's JSON object: each either leaves the target as it
// was (field absent or null), stores a checked value, or returns the 400 error naming the field.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "serve/api_error.h"

namespace cmdai::serve {

std::optional<ApiError> read_string(const nlohmann::json& object, const char* field,
                                    std::string* out);
std::optional<ApiError> read_bool(const nlohmann::json& object, const char* field, bool* out);
// A number in [min, max].
std::optional<ApiError> read_float(const nlohmann::json& object, const char* field, double min,
                                   double max, float* out);
// An integer in [min, max] (2.0 counts; 2.5 does not).
std::optional<ApiError> read_int(const nlohmann::json& object, const char* field, int64_t min,
                                 int64_t max, int64_t* out);
// A string or an array of at most max_count non-empty strings.
std::optional<ApiError> read_stop(const nlohmann::json& object, const char* field, size_t max_count,
                                  std::vector<std::string>* out);

// The body as a JSON object, or 400 saying why it is not one.
std::optional<ApiError> parse_object(const std::string& body, nlohmann::json* out);

}  // namespace cmdai::serve
