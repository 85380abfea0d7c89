// `cmdai bench` run as a user would: it must report every figure for any prompt and decode size.
// Only the shape of the report is checked; its timings are for people (nothing here asserts a
// time).
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/testdata.h"
#include "base/testdata_gtest.h"
#include "cli/cli_test_runner.h"
#include "device/device.h"

namespace cmdai {
namespace {

using cli::testing::run_cli_line;
using cli::testing::shell_quote;

// "" when the test-data folder is absent; a file missing from it fails the test.
std::string tiny_model() {
  const auto path = require_testdata_file("tiny-qwen2-q4_k_m.gguf");
  return path ? path->string() : "";
}

TEST(BenchCli, ReportsEveryFigureForShortPromptsAndLongDecodes) {
  const std::string model = tiny_model();
  if (model.empty()) GTEST_SKIP() << "shared testdata not found (set CMDAI_TESTDATA): skipping";
  // Decode runs after a 16-token prompt: a prompt size below 16 must still leave it room.
  const auto r =
      run_cli_line("bench --model " + shell_quote(model) + " --threads 2 -p 1,4 -n 40 -r 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["prefill"].size(), 2u);
  EXPECT_EQ(j["prefill"][0]["n_tokens"], 1);
  EXPECT_EQ(j["prefill"][1]["n_tokens"], 4);
  EXPECT_EQ(j["decode"]["n_tokens"], 40);
  EXPECT_GT(j["decode"]["tokens_per_s"].get<double>(), 0.0);
  EXPECT_GT(j["read_probe"]["gb_per_s"].get<double>(), 0.0);
  EXPECT_GT(j["decode"]["share_of_read_probe"].get<double>(), 0.0);
  EXPECT_GT(j["peak_rss_bytes"].get<double>(), 0.0);
  EXPECT_GE(j["load_ms"].get<double>(), 0.0);
  // The CPU and, for each weight type of the model, the kernels that multiplied it.
  EXPECT_FALSE(j["cpu"]["model_name"].get<std::string>().empty());
  EXPECT_FALSE(j["cpu"]["features"].is_null());
  const auto& kernels = j["device"]["kernels"];
  for (const char* type : {"q4_K", "q6_K"}) {  // the Q4_K_M mix
    ASSERT_TRUE(kernels.contains(type)) << kernels.dump();
    EXPECT_FALSE(kernels[type]["decode"].get<std::string>().empty()) << kernels.dump();
    EXPECT_FALSE(kernels[type]["prefill"].get<std::string>().empty()) << kernels.dump();
  }
  EXPECT_FALSE(kernels.contains("f32")) << "norm vectors are not matrices: " << kernels.dump();
}

TEST(BenchCli, MlxBackendReportsItsDeviceAndWhatMlxRunsOn) {  // CR-MLX-001
  const auto kinds = device::compiled_devices();
  if (std::find(kinds.begin(), kinds.end(), device::DeviceKind::kMlx) == kinds.end()) {
    GTEST_SKIP() << "this build has no MLX device (cmake --preset mlx)";
  }
  const std::string model = tiny_model();
  if (model.empty()) GTEST_SKIP() << "shared testdata not found (set CMDAI_TESTDATA): skipping";
  const auto r = run_cli_line("bench --backend mlx --model " + shell_quote(model) +
                              " --threads 2 -p 4 -n 8 -r 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["device"]["name"], "mlx");
  const std::string description = j["device"]["description"];
#if defined(__APPLE__) && defined(__aarch64__)
  EXPECT_NE(description.find("Metal"), std::string::npos) << description;
#else
  EXPECT_NE(description.find("CPU backend"), std::string::npos) << description;
#endif
  EXPECT_GT(j["decode"]["tokens_per_s"].get<double>(), 0.0);
  EXPECT_GT(j["device"]["weight_bytes_on_device"].get<double>(), 0.0);
  EXPECT_NE(j["device"]["kernels"]["q4_K"]["decode"].get<std::string>().find("affine 4-bit"),
            std::string::npos)
      << j["device"]["kernels"].dump();
}

TEST(BenchCli, MissingModelIsAnErrorNamingIt) {
  const auto r = run_cli_line("bench --model /nonexistent/model.gguf -n 2");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("/nonexistent/model.gguf"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

}  // namespace
}  // namespace cmdai
