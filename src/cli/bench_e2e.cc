#include "cli/bench_e2e.h"

#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "base/clock.h"

namespace cmdai::cli {
namespace {

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// One whole process; returns its JSON object with the wall time added.
Result<nlohmann::json> run_once(const E2eOptions& o, const std::filesystem::path& cache_dir) {
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  const std::string command = fmt::format(
      "CMDAI_CACHE_DIR={} {} --model {} -o json --max-tokens {} {} {} </dev/null 2>/dev/null",
      quote(cache_dir.string()), quote(self), quote(o.model_path), o.max_tokens,
      o.threads > 0 ? fmt::format("--threads {}", o.threads) : "", quote(o.request));
  const double start = now_ms();
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return make_error(ErrorCode::kIo, "cannot start {}", self);
  std::string out;
  char buffer[4096];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  const int status = ::pclose(pipe);
  const double wall_ms = now_ms() - start;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return make_error(ErrorCode::kGenerationFailed,
                      "the timed request failed (exit {}); run `cmdai --model {} {}` to see why",
                      WIFEXITED(status) ? WEXITSTATUS(status) : -1, o.model_path, o.request);
  }
  auto j = nlohmann::json::parse(out, nullptr, false);
  if (j.is_discarded())
    return make_error(ErrorCode::kInternal, "the timed request printed no JSON");
  const auto& t = j["timings"];
  return nlohmann::json{
      {"wall_ms", wall_ms},
      {"load_ms", t["load_ms"]},
      {"first_token_ms", t["load_ms"].get<double>() + t["first_token_ms"].get<double>()},
      {"prompt_tokens", t["prompt_tokens"]},
      {"cached_prompt_tokens", t["cached_prompt_tokens"]},
      {"generated_tokens", t["generated_tokens"]}};
}

}  // namespace

Result<nlohmann::json> run_e2e_bench(const E2eOptions& o) {
  namespace fs = std::filesystem;
  const fs::path cache = fs::temp_directory_path() / fmt::format("cmdai-e2e-{}", ::getpid());
  fs::remove_all(cache);
  CMDAI_ASSIGN_OR_RETURN(nlohmann::json cold, run_once(o, cache));
  std::vector<nlohmann::json> warm;
  for (int i = 0; i < std::max(1, o.warm_rounds); ++i) {
    CMDAI_ASSIGN_OR_RETURN(nlohmann::json run, run_once(o, cache));
    warm.push_back(std::move(run));
  }
  fs::remove_all(cache);
  // Each field's own median over the warm runs: the run with the median wall time need not have
  // the median first token (the two move apart on a shared machine).
  const auto median_of = [&](const char* field) {
    std::vector<double> values;
    for (const auto& run : warm) values.push_back(run[field].get<double>());
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
  };
  nlohmann::json warm_median = warm.front();
  for (const char* field : {"wall_ms", "load_ms", "first_token_ms"})
    warm_median[field] = median_of(field);
  return nlohmann::json{{"request", o.request},
                        {"max_tokens", o.max_tokens},
                        {"cold", cold},
                        {"warm_median", warm_median},
                        {"warm_rounds", warm.size()},
                        {"note",
                         "wall_ms: whole process (start, load, prompt, generate, print); "
                         "first_token_ms: load + time to the first generated token; "
                         "warm_median: each time's median over the warm rounds"}};
}

}  // namespace cmdai::cli
