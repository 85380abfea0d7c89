// End-to-end benchmark: times whole `cmdai <request>` processes (start, load, prompt, generate,
// print) with the real system prompt, first with an empty prefix cache, then with it warm.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "base/result.h"

namespace cmdai::cli {

struct E2eOptions {
  std::string model_path;
  std::string request = "find pdf files over 10MB in Downloads";
  int max_tokens = 20;
  int warm_rounds = 3;
  int threads = 0;
};

Result<nlohmann::json> run_e2e_bench(const E2eOptions& options);

}  // namespace cmdai::cli
