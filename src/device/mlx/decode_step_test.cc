// The compiled decode step against the eager pass: the same greedy tokens and logits within float
// rounding, a reused cache's stale rows masked, the policy, and the fallback to the eager step
// when MLX's run-time compiler fails.
#include "device/mlx/decode_step.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "device/mlx/mlx_model.h"
#include "device/mlx/test_spec.h"

namespace cmdai::mlx_device {
namespace {

namespace fs = std::filesystem;

// Logits of the same graph differ by float rounding only: the masked attention sums the same
// nonzero terms over a longer row (OpenBLAS blocks by length), fused kernels round like MLX's own.
constexpr float kLogitTolerance = 1e-4f;

struct Decoded {
  std::vector<int32_t> tokens;
  std::vector<std::vector<float>> logits;  // per decode step, [vocab_size]
};

// A model loaded as the device loads it (no weight cache), its decode step compiled or not.
struct Loaded {
  Loaded(const device::ModelSpec& spec, bool compile)
      : status(std::make_shared<DecodeCompileStatus>(compile)) {
    MlxModelContext context{&fault, "", std::make_shared<std::atomic<size_t>>(0), status};
    auto loaded = load_mlx_model(spec, context);
    EXPECT_TRUE(loaded.ok()) << loaded.error().to_string();
    if (loaded.ok()) model = std::move(loaded).value();
  }
  std::string fault;
  std::shared_ptr<DecodeCompileStatus> status;
  std::unique_ptr<device::DeviceModel> model;
};

// Prefills `prompt` at `pos` of `kv`, then takes the argmax `steps` times.
Decoded greedy(device::DeviceModel& model, device::KvState& kv, std::vector<int32_t> prompt,
               int32_t pos, int steps, int64_t vocab_size) {
  Decoded out;
  std::vector<float> logits(static_cast<size_t>(vocab_size));
  device::ForwardPass pass;
  pass.tokens = prompt;
  pass.pos = pos;
  pass.kv = &kv;
  pass.logits = logits.data();
  for (int i = 0; i <= steps; ++i) {
    const Status done = model.forward(pass);
    EXPECT_TRUE(done.ok()) << done.error().to_string();
    if (!done.ok()) break;
    if (i > 0) out.logits.push_back(logits);
    pass.pos += static_cast<int32_t>(pass.tokens.size());
    out.tokens.push_back(
        static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin()));
    pass.tokens = std::span<const int32_t>(&out.tokens.back(), 1);
  }
  return out;
}

void expect_same(const Decoded& compiled, const Decoded& eager) {
  EXPECT_EQ(compiled.tokens, eager.tokens);
  ASSERT_EQ(compiled.logits.size(), eager.logits.size());
  float max_delta = 0;
  for (size_t step = 0; step < eager.logits.size(); ++step) {
    for (size_t i = 0; i < eager.logits[step].size(); ++i) {
      max_delta = std::max(max_delta, std::abs(compiled.logits[step][i] - eager.logits[step][i]));
    }
  }
  EXPECT_LE(max_delta, kLogitTolerance);
  std::printf("max |compiled - eager| logit over %zu steps: %.3g\n", eager.logits.size(),
              max_delta);
}

// Two layers of grouped-query attention (4 heads over 2), llama's and qwen2's flavours.
TinySpecOptions two_layers(bool qwen2) {
  TinySpecOptions options;
  options.n_layers = 2;
  options.n_heads = 4;
  options.n_kv_heads = 2;
  options.context_length = 64;
  options.qkv_bias = qwen2;
  options.rope_style = qwen2 ? device::RopeStyle::kHalves : device::RopeStyle::kAdjacentPairs;
  return options;
}

class MlxDecodeStep : public ::testing::TestWithParam<bool> {};

TEST_P(MlxDecodeStep, CompiledGreedyDecodeMatchesTheEagerPass) {
  const TinySpec tiny(11, two_layers(GetParam()));
  Loaded eager(tiny.spec, false), compiled(tiny.spec, true);
  ASSERT_TRUE(eager.model && compiled.model);
  auto eager_kv = eager.model->make_kv(64);
  auto compiled_kv = compiled.model->make_kv(64);
  ASSERT_TRUE(eager_kv.ok() && compiled_kv.ok());
  const std::vector<int32_t> prompt = {1, 17, 42, 5, 88};
  const Decoded want = greedy(*eager.model, **eager_kv, prompt, 0, 40, 96);
  const Decoded got = greedy(*compiled.model, **compiled_kv, prompt, 0, 40, 96);
  expect_same(got, want);
  EXPECT_FALSE(compiled.status->failure()) << *compiled.status->failure();
}

TEST_P(MlxDecodeStep, ReusedCacheMasksTheRowsPastTheFilledOnes) {
  const TinySpec tiny(12, two_layers(GetParam()));
  Loaded eager(tiny.spec, false), compiled(tiny.spec, true);
  ASSERT_TRUE(eager.model && compiled.model);
  auto eager_kv = eager.model->make_kv(48);
  auto compiled_kv = compiled.model->make_kv(48);
  ASSERT_TRUE(eager_kv.ok() && compiled_kv.ok());
  // A long first sequence leaves rows behind; the second keeps three of its positions.
  (void)greedy(*eager.model, **eager_kv, {3, 9, 27, 81}, 0, 40, 96);
  (void)greedy(*compiled.model, **compiled_kv, {3, 9, 27, 81}, 0, 40, 96);
  (*eager_kv)->truncate(3);
  (*compiled_kv)->truncate(3);
  const Decoded want = greedy(*eager.model, **eager_kv, {50, 60}, 3, 20, 96);
  const Decoded got = greedy(*compiled.model, **compiled_kv, {50, 60}, 3, 20, 96);
  expect_same(got, want);
}

INSTANTIATE_TEST_SUITE_P(Flavours, MlxDecodeStep, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "qwen2" : "llama"; });

TEST(MlxDecodeCompile, IsOnForMetalOnlyUnlessTheEnvironmentSays) {
  struct Case {
    bool metal;
    const char* env;
    bool want;
  };
  for (const Case& c : {Case{true, nullptr, true}, Case{false, nullptr, false},
                        Case{false, "1", true}, Case{true, "0", false}, Case{false, "0", false},
                        Case{true, "1", true}, Case{false, "yes", false}, Case{true, "", true}}) {
    EXPECT_EQ(decode_compile_wanted(c.metal, c.env), c.want)
        << "metal " << c.metal << ", CMDAI_MLX_COMPILE=" << (c.env ? c.env : "(unset)");
  }
}

TEST(MlxDecodeCompile, StatusSaysWhetherTheStepIsCompiledAndWhyNot) {
  EXPECT_EQ(DecodeCompileStatus(true).describe(), "decode step compiled");
  EXPECT_NE(DecodeCompileStatus(false).describe().find("CMDAI_MLX_COMPILE=1"), std::string::npos);
  DecodeCompileStatus failed(true);
  EXPECT_TRUE(failed.active());
  failed.record_failure("g++: not found");
  EXPECT_FALSE(failed.active());
  EXPECT_NE(failed.describe().find("g++: not found"), std::string::npos) << failed.describe();
}

// Run by the test below in a child process whose `g++` answers --version and fails to compile,
// with an empty MLX kernel folder: the first compiled step fails, the device stops compiling, and
// every token is still the eager pass's.
TEST(MlxDecodeCompile, DISABLED_ChildFallsBackWhenTheCompilerFails) {
  const TinySpec tiny(13, two_layers(true));
  Loaded eager(tiny.spec, false), compiled(tiny.spec, true);
  ASSERT_TRUE(eager.model && compiled.model);
  auto eager_kv = eager.model->make_kv(32);
  auto compiled_kv = compiled.model->make_kv(32);
  ASSERT_TRUE(eager_kv.ok() && compiled_kv.ok());
  const Decoded want = greedy(*eager.model, **eager_kv, {7, 8, 9}, 0, 12, 96);
  const Decoded got = greedy(*compiled.model, **compiled_kv, {7, 8, 9}, 0, 12, 96);
  expect_same(got, want);
  ASSERT_TRUE(compiled.status->failure());
  EXPECT_NE(compiled.status->failure()->find("fake g++"), std::string::npos)
      << *compiled.status->failure();
  EXPECT_FALSE(compiled.status->active());
}

TEST(MlxDecodeCompile, FallsBackToTheEagerStepWhenTheCompilerFails) {
  const fs::path dir = fs::temp_directory_path() / ("cmdai_mlx_nocxx_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "bin");
  fs::create_directories(dir / "tmp");
  {
    std::ofstream fake(dir / "bin" / "g++");
    fake << "#!/bin/sh\n[ \"$1\" = --version ] && exit 0\necho 'fake g++: no compiler'\nexit 1\n";
  }
  fs::permissions(dir / "bin" / "g++", fs::perms::owner_all);
  const std::string command =
      "PATH='" + (dir / "bin").string() + "':\"$PATH\" TMPDIR='" + (dir / "tmp").string() + "' '" +
      fs::read_symlink("/proc/self/exe").string() +
      "' --gtest_also_run_disabled_tests "
      "--gtest_filter=MlxDecodeCompile.DISABLED_ChildFallsBackWhenTheCompilerFails > '" +
      (dir / "child.log").string() + "' 2>&1";
  const int status = std::system(command.c_str());
  std::ifstream log(dir / "child.log");
  const std::string output((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_EQ(status, 0) << output;
  EXPECT_NE(output.find("[  PASSED  ] 1 test"), std::string::npos) << output;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cmdai::mlx_device
