// Contract tests of the seed's InferenceBackend (CR-MLX-001..010), once per device of this build
// (a device this machine cannot open skips, saying why). Timing requirements (CR-MLX-003/004/005)
// are measured by `cmdai bench`, not asserted here.
#include "backend/embedded_backend.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <set>
#include <thread>

#include "base/clock.h"
#include "base/memory_usage.h"
#include "base/testdata.h"
#include "base/testdata_gtest.h"
#include "device/test_devices.h"

namespace cmdai {
namespace {

// "" when the test-data folder is absent (REQUIRE_MODEL skips); a file missing from a present
// folder records a failure too, so the skip reports the test FAILED (base/testdata_gtest.h).
std::string model_path(const char* name) {
  const auto path = require_testdata_file(name);
  return path ? path->string() : "";
}

#define REQUIRE_MODEL(path) \
  if ((path).empty()) GTEST_SKIP() << "shared testdata not found (set CMDAI_TESTDATA): skipping"

const char* kPrompt = "<|im_start|>user\nlist files<|im_end|>\n<|im_start|>assistant\n";

EmbeddedConfig short_config(float temperature = 0.1f) {
  EmbeddedConfig config;
  config.sampling.temperature = temperature;
  config.max_tokens = 8;
  return config;
}

BackendOptions options_for(const std::string& path, const std::string& prefix_cache_dir = "") {
  BackendOptions options;
  options.model_path = path;
  options.threads = 2;
  options.prefix_cache_dir = prefix_cache_dir;
  return options;
}

// A CPU backend, for the tests of what every device shares (prefix cache, line constraint).
std::unique_ptr<EmbeddedBackend> cpu_backend(const BackendOptions& options) {
  BackendOptions cpu = options;
  cpu.backend = "cpu";
  auto backend = EmbeddedBackend::create(cpu);
  EXPECT_TRUE(backend.ok());
  return std::move(backend).value();
}

// CR-MLX-001: MLX runs on Metal on macOS arm64 only, on its CPU backend everywhere else.
constexpr bool mlx_on_metal() {
#if defined(__APPLE__) && defined(__aarch64__)
  return true;
#else
  return false;
#endif
}

bool mlx_in_build() {
  const auto kinds = device::compiled_devices();
  return std::find(kinds.begin(), kinds.end(), device::DeviceKind::kMlx) != kinds.end();
}

TEST(BackendChoice, MlxIsRefusedWithoutMlxAndAutoAlwaysOpensADevice) {  // CR-MLX-001
  BackendOptions options;
  options.backend = "mlx";
  if (mlx_in_build()) {
    // The mlx preset: Metal on Apple Silicon, MLX's CPU backend elsewhere, and it says which.
    auto mlx = EmbeddedBackend::create(options);
    ASSERT_TRUE(mlx.ok()) << mlx.error().to_string();
    EXPECT_EQ((*mlx)->variant(), ModelVariant::kMlx);
    const std::string description = (*mlx)->device_description();
    EXPECT_NE(description.find(mlx_on_metal() ? "Metal" : "CPU backend"), std::string::npos)
        << description;
  } else {
    auto mlx = create_backend(options);
    ASSERT_FALSE(mlx.ok());
    EXPECT_EQ(mlx.error().code, ErrorCode::kPlatformUnsupported);
    EXPECT_NE(mlx.error().message.find("Apple Silicon"), std::string::npos);
  }
  options.backend = "cpu";
  auto cpu = create_backend(options);
  ASSERT_TRUE(cpu.ok());
  EXPECT_EQ((*cpu)->variant(), ModelVariant::kCpu);
  options.backend = "auto";
  auto best = create_backend(options);
  ASSERT_TRUE(best.ok()) << best.error().to_string();
  options.backend = "tpu";
  EXPECT_EQ(create_backend(options).error().code, ErrorCode::kInvalidArgument);
}

TEST(BackendChoice, CudaOpensOrSaysInOneLineWhyNot) {  // CR-MLX-001
  BackendOptions options;
  options.backend = "cuda";
  auto cuda = create_backend(options);
  if (cuda.ok()) {
    EXPECT_EQ((*cuda)->variant(), ModelVariant::kCuda);
    return;
  }
  EXPECT_EQ(cuda.error().code, ErrorCode::kPlatformUnsupported);
  EXPECT_EQ(cuda.error().message.find('\n'), std::string::npos) << cuda.error().message;
  EXPECT_NE(cuda.error().message.find("CUDA"), std::string::npos) << cuda.error().message;
}

// Whether `path` is mapped into this process (/proc/self/maps; false where there is none).
bool is_mapped_here(const std::string& path) {
  std::ifstream maps("/proc/self/maps");
  const std::string name = std::filesystem::canonical(path).string();
  for (std::string line; std::getline(maps, line);) {
    if (line.size() >= name.size() &&
        line.compare(line.size() - name.size(), name.size(), name) == 0)
      return true;
  }
  return false;
}

// The contract, once per device: skipped where the device cannot run.
class BackendContract : public ::testing::TestWithParam<device::DeviceChoice> {
 protected:
  void SetUp() override {
    std::string why;
    if (!device::open_test_device(GetParam(), &why)) GTEST_SKIP() << why;
  }

  std::unique_ptr<EmbeddedBackend> backend_for(const std::string& path) const {
    BackendOptions options = options_for(path);
    options.backend = device::device_choice_name(GetParam());
    auto backend = EmbeddedBackend::create(options);
    EXPECT_TRUE(backend.ok()) << backend.error().to_string();
    return std::move(backend).value();
  }
  bool on_cpu() const { return GetParam() == device::DeviceChoice::kCpu; }
  ModelVariant expected_variant() const {
    switch (GetParam()) {
      case device::DeviceChoice::kCuda:
        return ModelVariant::kCuda;
      case device::DeviceChoice::kMlx:
        return ModelVariant::kMlx;
      default:
        return ModelVariant::kCpu;
    }
  }
  // CR-MLX-002: the CPU reads the mapped file, CUDA its own memory, MLX unified memory on Apple
  // Silicon and its own host copy elsewhere.
  MemoryType expected_memory() const {
    switch (GetParam()) {
      case device::DeviceChoice::kCuda:
        return MemoryType::kDevice;
      case device::DeviceChoice::kMlx:
        return mlx_on_metal() ? MemoryType::kUnified : MemoryType::kHost;
      default:
        return MemoryType::kHostMapped;
    }
  }
  // The name a device fault's message carries (CR-MLX-006).
  const char* device_name() const {
    switch (GetParam()) {
      case device::DeviceChoice::kCuda:
        return "CUDA";
      case device::DeviceChoice::kMlx:
        return "MLX";
      default:
        return "CPU";
    }
  }
};

TEST_P(BackendContract, ReportsTheVariantAndMemoryOfItsDevice) {  // CR-MLX-002
  const std::string path = model_path("tiny-qwen2-q8_0.gguf");
  REQUIRE_MODEL(path);
  auto backend = backend_for(path);
  const ModelVariant variant = expected_variant();
  const MemoryType memory = expected_memory();
  // Before load() the answers are already the device's (inference_backend.h), and they stay so
  // once the weights are in place and after unload().
  ASSERT_FALSE(backend->is_loaded());
  EXPECT_EQ(backend->variant(), variant);
  EXPECT_EQ(backend->memory_type(), memory);
  EXPECT_FALSE(is_mapped_here(path)) << "mapped before load()";
  ASSERT_TRUE(backend->load().ok());
  ASSERT_TRUE(backend->infer(kPrompt, short_config()).ok());
  EXPECT_EQ(backend->variant(), variant);
  EXPECT_EQ(backend->memory_type(), memory);
  if (memory == MemoryType::kHostMapped && std::filesystem::exists("/proc/self/maps")) {
    // Host-mapped means the weights are read in place from the mapped model file.
    EXPECT_TRUE(is_mapped_here(path)) << "the loaded model file is not mapped";
  }
  ASSERT_TRUE(backend->unload().ok());
  EXPECT_EQ(backend->memory_type(), memory);
  EXPECT_FALSE(is_mapped_here(path)) << "still mapped after unload()";
}

TEST_P(BackendContract, LoadsQ4KMAndQ8_0AndGenerates) {  // CR-MLX-007, lifecycle
  for (const char* name : {"tiny-qwen2-q4_k_m.gguf", "tiny-qwen2-q8_0.gguf"}) {
    const std::string path = model_path(name);
    REQUIRE_MODEL(path);
    auto backend = backend_for(path);
    EXPECT_FALSE(backend->is_loaded());
    ASSERT_TRUE(backend->load().ok()) << name;
    EXPECT_TRUE(backend->is_loaded());
    auto text = backend->infer(kPrompt, short_config());
    ASSERT_TRUE(text.ok()) << name << ": " << text.error().to_string();
    EXPECT_EQ(backend->last_timings().generated_tokens, 8) << name;
    ASSERT_TRUE(backend->unload().ok());
    EXPECT_FALSE(backend->is_loaded());
    ASSERT_TRUE(backend->load().ok()) << "load after unload must work: " << name;
  }
}

TEST_P(BackendContract, StreamingCallsBackPerPieceAndCanStop) {
  const std::string path = model_path("tiny-qwen2-q8_0.gguf");
  REQUIRE_MODEL(path);
  auto backend = backend_for(path);
  std::string streamed;
  int calls = 0;
  EmbeddedConfig config = short_config(0.0f);
  config.max_tokens = 16;
  auto text = backend->infer_stream(kPrompt, config, [&](std::string_view piece) {
    streamed += piece;
    return ++calls < 3;
  });
  ASSERT_TRUE(text.ok()) << text.error().to_string();
  EXPECT_EQ(calls, 3);
  EXPECT_LE(backend->last_timings().generated_tokens, 16);
  EXPECT_GT(backend->last_timings().first_token_ms, 0.0);
}

TEST_P(BackendContract, FiveConcurrentRequestsEachGetTheAnswerTheyGetAlone) {  // CR-MLX-008
  const std::string path = model_path("tiny-qwen2-q4_k_m.gguf");
  REQUIRE_MODEL(path);
  const auto prompt = [](int i) {
    return "<|im_start|>user\nrequest " + std::to_string(i) + "<|im_end|>\n<|im_start|>assistant\n";
  };
  // Alone: each request on a backend of its own, one after the other.
  std::vector<std::string> alone;
  for (int i = 0; i < 5; ++i) {
    auto answer = backend_for(path)->infer(prompt(i), short_config());
    ASSERT_TRUE(answer.ok()) << i << ": " << answer.error().to_string();
    alone.push_back(*answer);
  }
  EXPECT_GT(std::set<std::string>(alone.begin(), alone.end()).size(), 1u)
      << "the five prompts should not all give one answer";
  auto backend = backend_for(path);
  std::vector<std::thread> threads;
  std::vector<Result<std::string>> results(5, Result<std::string>(std::string()));
  for (int i = 0; i < 5; ++i) {
    threads.emplace_back([&, i] { results[i] = backend->infer(prompt(i), short_config()); });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(results[i].ok()) << i << ": " << results[i].error().to_string();
    EXPECT_EQ(*results[i], alone[i]) << "request " << i;
  }
}

TEST_P(BackendContract, LowTemperatureWithOneSeedIsDeterministic) {  // CR-MLX-010
  const std::string path = model_path("tiny-qwen2-q4_k_m.gguf");
  REQUIRE_MODEL(path);
  auto backend = backend_for(path);
  EmbeddedConfig config = short_config(0.1f);
  config.max_tokens = 12;
  auto a = backend->infer(kPrompt, config);
  auto b = backend->infer(kPrompt, config);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  // High temperature with different seeds explores: over a few seeds, some output differs.
  config.sampling = SamplingParams{};  // off: pure temperature sampling
  config.sampling.temperature = 1.5f;
  std::set<std::string> outputs;
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    config.sampling.seed = seed;
    auto out = backend->infer(kPrompt, config);
    ASSERT_TRUE(out.ok());
    outputs.insert(*out);
  }
  EXPECT_GT(outputs.size(), 1u);
}

TEST_P(BackendContract, SecondRequestReusesTheSharedPrefix) {  // CR-MLX-005's lever
  const std::string path = model_path("tiny-qwen2-q8_0.gguf");
  REQUIRE_MODEL(path);
  auto backend = backend_for(path);
  const std::string system = "<|im_start|>system\nYou are a shell command generator.<|im_end|>\n";
  EmbeddedConfig config = short_config(0.0f);
  config.cacheable_prefix_bytes = system.size();
  ASSERT_TRUE(backend->infer(system + "<|im_start|>user\nlist files<|im_end|>\n", config).ok());
  ASSERT_TRUE(
      backend->infer(system + "<|im_start|>user\nshow disk usage<|im_end|>\n", config).ok());
  EXPECT_GE(backend->last_timings().cached_prompt_tokens, 10);
}

TEST_P(BackendContract, UnloadGivesTheMemoryBack) {  // CR-MLX-009
  const std::string path = model_path("tiny-qwen2-q8_0.gguf");
  REQUIRE_MODEL(path);
  auto backend = backend_for(path);
  ASSERT_TRUE(backend->load().ok());
  ASSERT_TRUE(backend->infer(kPrompt, short_config()).ok());  // touches every weight page
  if (!on_cpu()) {
    // Device memory, as the device counts it (cudaMemGetInfo on CUDA, MLX's active memory).
    const size_t loaded = backend->device_memory().used_bytes;
    ASSERT_TRUE(backend->unload().ok());
    const size_t unloaded = backend->device_memory().used_bytes;
    std::printf("device memory loaded %.1f MB, after unload %.1f MB\n", loaded / 1e6,
                unloaded / 1e6);
    EXPECT_LT(unloaded + 30'000'000, loaded);
    ASSERT_TRUE(backend->load().ok());
    EXPECT_TRUE(backend->infer(kPrompt, short_config()).ok());
    return;
  }
  const int64_t loaded_rss = current_rss_bytes();
  ASSERT_TRUE(backend->unload().ok());
  const int64_t unloaded_rss = current_rss_bytes();
  std::printf("RSS loaded %.1f MB, after unload %.1f MB\n", loaded_rss / 1e6, unloaded_rss / 1e6);
  // The 48.5 MB file was resident; at least most of it must leave.
  EXPECT_LT(unloaded_rss, loaded_rss - 30'000'000);
}

TEST_P(BackendContract, DeviceFaultsSurfaceAsErrorsNamingTheDevice) {  // CR-MLX-006
  const std::string path = model_path("tiny-qwen2-q8_0.gguf");
  REQUIRE_MODEL(path);
  auto backend = backend_for(path);
  const EmbeddedConfig config = short_config(0.0f);
  auto before = backend->infer(kPrompt, config);
  ASSERT_TRUE(before.ok()) << before.error().to_string();
  backend->inject_device_fault("simulated memory error");
  auto out = backend->infer(kPrompt, config);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::kDeviceError);
  const std::string& message = out.error().message;
  EXPECT_NE(message.find("simulated memory error"), std::string::npos) << message;
  EXPECT_NE(message.find(device_name()), std::string::npos) << message;
  // As embedded_backend.cc documents: a device error unloads the model, and says so.
  EXPECT_FALSE(backend->is_loaded());
  EXPECT_NE(message.find("unloaded"), std::string::npos) << message;
  // The fault lasts until turned off: the next request loads the model again and fails the same
  // way, streaming nothing.
  int pieces = 0;
  auto streamed = backend->infer_stream(kPrompt, config, [&](std::string_view) {
    ++pieces;
    return true;
  });
  ASSERT_FALSE(streamed.ok());
  EXPECT_EQ(streamed.error().code, ErrorCode::kDeviceError);
  EXPECT_EQ(pieces, 0);
  backend->inject_device_fault("");
  // Afterwards the backend works again, reloading by itself, and answers as before the fault.
  auto again = backend->infer(kPrompt, config);
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_TRUE(backend->is_loaded());
  EXPECT_EQ(*again, *before);
}

TEST_P(BackendContract, TimeoutStopsDecodingMidAnswerAndReturnsPromptly) {
  const std::string path = model_path("tiny-qwen2-q8_0.gguf");
  REQUIRE_MODEL(path);
  auto backend = backend_for(path);
  ASSERT_TRUE(backend->load().ok());
  // Measure this machine's speed on the request that is timed below (the prompt then comes from
  // the in-memory prefix, as it will below).
  EmbeddedConfig config = short_config(0.0f);
  config.max_tokens = 48;
  for (int round = 0; round < 2; ++round) ASSERT_TRUE(backend->infer(kPrompt, config).ok());
  const InferenceTimings measured = backend->last_timings();
  ASSERT_EQ(measured.generated_tokens, 48) << "the greedy answer ended early: pick another prompt";
  const double token_ms = measured.decode_ms / measured.generated_tokens;
  // A deadline about 16 tokens into decoding: it can only pass mid-answer.
  config.max_tokens = 1500;
  config.timeout_ms = static_cast<int>(std::ceil(measured.first_token_ms + 16 * token_ms));
  int pieces = 0;
  const double start_ms = now_ms();
  auto out = backend->infer_stream(kPrompt, config, [&](std::string_view) {
    ++pieces;
    return true;
  });
  const double late_ms = now_ms() - start_ms - config.timeout_ms;
  std::printf("decode %.2f ms/token, timeout %d ms: %d pieces, returned %.1f ms after it\n",
              token_ms, config.timeout_ms, pieces, late_ms);
  ASSERT_FALSE(out.ok()) << "all 1500 tokens within the timeout";
  EXPECT_EQ(out.error().code, ErrorCode::kTimeout);
  EXPECT_GT(pieces, 0) << "the deadline passed before decoding started";
  // The deadline is checked before every token: the call returns within about one token of it
  // (the slack is for a machine other processes share).
  EXPECT_LT(late_ms, 3 * token_ms + 100);
}

TEST_P(BackendContract, MissingOrCorruptModelFailsToLoadWithItsName) {
  auto missing = backend_for("/nonexistent/model.gguf");
  auto status = missing->load();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("/nonexistent/model.gguf"), std::string::npos);
  const auto corrupt = std::filesystem::temp_directory_path() / "cmdai_corrupt_backend.gguf";
  std::ofstream(corrupt) << "GGUF but not really";
  auto bad = backend_for(corrupt.string());
  status = bad->load();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kModelLoadFailed);
  std::filesystem::remove(corrupt);
}

INSTANTIATE_TEST_SUITE_P(Devices, BackendContract,
                         ::testing::ValuesIn(device::devices_under_test()),
                         [](const auto& info) { return device::device_choice_name(info.param); });

// The Qwen tokenizer of the tiny test model (152k tokens), or nullopt if it does not load.
std::optional<tokenizer::Tokenizer> tiny_qwen_tokenizer(const std::string& path) {
  auto file = gguf::GgufFile::open(path);
  if (!file.ok()) return std::nullopt;
  auto tok = tokenizer::Tokenizer::from_gguf(*file);
  if (!tok.ok()) return std::nullopt;
  return std::move(tok).value();
}

TEST(LineAnswer, ClassifiesTheSameOnAPoolAsOnOneThread) {
  const std::string path = model_path("tiny-qwen2-q8_0.gguf");
  REQUIRE_MODEL(path);
  const std::optional<tokenizer::Tokenizer> tok = tiny_qwen_tokenizer(path);
  ASSERT_TRUE(tok.has_value());
  ThreadPool pool(3);
  LineAnswerConstraint serial(*tok), split(*tok, &pool);
  for (const int32_t steps_left : {10, 1}) {
    std::vector<float> a(tok->vocab_size(), 0.0f), b(tok->vocab_size(), 0.0f);
    serial.reset(1);
    split.reset(1);
    serial.apply(a, 0, steps_left);
    split.apply(b, 0, steps_left);
    EXPECT_EQ(a, b) << "steps_left " << steps_left;
    EXPECT_GT(std::count_if(a.begin(), a.end(), [](float x) { return std::isinf(x); }), 0);
    EXPECT_GT(std::count(a.begin(), a.end(), 0.0f), 0);
  }
}

// The mask apply() makes at the first step of a one-line answer.
std::vector<float> first_step_mask(LineAnswerConstraint& c, int64_t vocab_size) {
  std::vector<float> logits(static_cast<size_t>(vocab_size), 0.0f);
  c.reset(1);
  c.apply(logits, 0, 10);
  return logits;
}

TEST(LineAnswer, CacheBytesRoundTripAndDamageIsRejected) {
  const std::string path = model_path("tiny-qwen2-q8_0.gguf");
  REQUIRE_MODEL(path);
  const std::optional<tokenizer::Tokenizer> tok = tiny_qwen_tokenizer(path);
  ASSERT_TRUE(tok.has_value());
  const int64_t n = tok->vocab_size();
  LineAnswerConstraint built(*tok);
  const std::vector<uint8_t> bytes = built.to_bytes();
  auto restored = LineAnswerConstraint::from_bytes(bytes, n);
  ASSERT_TRUE(restored.has_value());
  EXPECT_EQ(first_step_mask(*restored, n), first_step_mask(built, n));
  EXPECT_FALSE(LineAnswerConstraint::from_bytes(bytes, n + 1)) << "another vocab size";
  EXPECT_FALSE(LineAnswerConstraint::from_bytes(std::span(bytes).first(bytes.size() - 1), n))
      << "truncated";
  std::vector<uint8_t> flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x04;
  EXPECT_FALSE(LineAnswerConstraint::from_bytes(flipped, n)) << "a flag changed: checksum";
  std::vector<uint8_t> magic = bytes;
  magic[7] = '0';
  EXPECT_FALSE(LineAnswerConstraint::from_bytes(magic, n)) << "another format version";
  EXPECT_FALSE(LineAnswerConstraint::from_bytes({}, n));
}

// Runs one request in three fresh backends sharing a cache directory, as three cmdai processes
// would: the first writes <model key><extension>, the second reads it without rewriting it, and
// after `damage` the third replaces it. All three must give the same answer.
void expect_cache_file_reused_and_repaired(
    const char* extension, const std::string& prompt, const EmbeddedConfig& config,
    const std::function<void(const std::filesystem::path&)>& damage) {
  const std::string path = model_path("tiny-qwen2-q8_0.gguf");
  REQUIRE_MODEL(path);
  const auto dir =
      std::filesystem::temp_directory_path() / (std::string("cmdai_cache_file_test") + extension);
  std::filesystem::remove_all(dir);
  const BackendOptions options = options_for(path, dir.string());
  const auto run = [&] {
    auto backend_owner = cpu_backend(options);
    EmbeddedBackend& backend = *backend_owner;
    auto out = backend.infer(prompt, config);
    EXPECT_TRUE(out.ok()) << out.error().to_string();
    return out.ok() ? *out : std::string();
  };
  const std::string first_text = run();
  std::filesystem::path file;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == extension) file = entry.path();
  }
  ASSERT_FALSE(file.empty()) << "no " << extension << " file was written";
  const auto good_size = std::filesystem::file_size(file);
  const auto written = std::filesystem::last_write_time(file);
  EXPECT_EQ(run(), first_text);
  EXPECT_EQ(std::filesystem::last_write_time(file), written)
      << "an intact file is read, not rewritten";
  damage(file);
  EXPECT_EQ(run(), first_text);
  EXPECT_NE(std::filesystem::last_write_time(file), written) << "a damaged file is replaced";
  EXPECT_EQ(std::filesystem::file_size(file), good_size);
  std::filesystem::remove_all(dir);
}

TEST(BackendPrefixCache, LineConstraintIsCachedAndADamagedCacheIsRebuilt) {
  EmbeddedConfig config = short_config(0.0f);
  config.answer_lines = 1;
  expect_cache_file_reused_and_repaired(".lc", std::string(kPrompt) + "```bash\n# list files\n",
                                        config, [](const std::filesystem::path& file) {
                                          std::filesystem::resize_file(
                                              file, std::filesystem::file_size(file) / 2);
                                        });
}

TEST(BackendPrefixCache, TokenizerIndexIsCachedAndADamagedOneIsRebuilt) {
  expect_cache_file_reused_and_repaired(
      ".ti", kPrompt, short_config(0.0f), [](const std::filesystem::path& file) {
        const auto middle = static_cast<std::streamoff>(std::filesystem::file_size(file) / 2);
        std::fstream damage(file, std::ios::in | std::ios::out | std::ios::binary);
        damage.seekg(middle);
        const int byte = damage.get();
        damage.seekp(middle);
        damage.put(static_cast<char>(~byte));  // one byte changed, the size kept
      });
}

}  // namespace
}  // namespace cmdai

namespace cmdai {
namespace {

TEST(BackendPrefixCache, NextProcessRestoresThePersistedSystemPromptState) {
  const std::string path = model_path("tiny-qwen2-q8_0.gguf");
  REQUIRE_MODEL(path);
  const auto dir = std::filesystem::temp_directory_path() / "cmdai_prefix_cache_test";
  std::filesystem::remove_all(dir);
  const BackendOptions options = options_for(path, dir.string());
  const std::string system = "<|im_start|>system\nYou are a shell command generator.<|im_end|>\n";
  const std::string prompt =
      system + "<|im_start|>user\nlist files<|im_end|>\n<|im_start|>assistant\n";
  EmbeddedConfig config = short_config(0.0f);
  config.cacheable_prefix_bytes = system.size();
  std::string first_text;
  {
    auto first_owner = cpu_backend(options);
    EmbeddedBackend& first = *first_owner;
    auto out = first.infer(prompt, config);
    ASSERT_TRUE(out.ok()) << out.error().to_string();
    first_text = *out;
    EXPECT_EQ(first.last_timings().cached_prompt_tokens, 0);
  }
  ASSERT_FALSE(std::filesystem::is_empty(dir)) << "the prefix state was not persisted";
  auto second_owner = cpu_backend(options);  // a fresh backend, as in the next cmdai process
  EmbeddedBackend& second = *second_owner;
  auto out = second.infer(prompt, config);
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  EXPECT_GE(second.last_timings().cached_prompt_tokens, 10);
  EXPECT_EQ(*out, first_text) << "restored state must give the same greedy answer";
  std::filesystem::remove_all(dir);
}

// Issue 15 defect 2: a damaged snapshot, another model's snapshot under this model's name, and a
// model file replaced by one of the same size and mtime each used to be restored silently. Each
// must now be refused (the request prefills from scratch) and answer as a fresh cache does.
TEST(BackendPrefixCache, DamagedForeignOrStaleSnapshotsAreRefusedAndAnswerAsAFreshCache) {
  namespace fs = std::filesystem;
  const std::string q8 = model_path("tiny-qwen2-q8_0.gguf");
  const std::string q4 = model_path("tiny-qwen2-q4_k_m.gguf");
  REQUIRE_MODEL(q8);
  const fs::path root =
      fs::temp_directory_path() / ("cmdai_snapshot_trust_" + std::to_string(getpid()));
  fs::remove_all(root);
  fs::create_directories(root);
  const fs::path model = root / "model.gguf";
  fs::copy_file(q8, model);
  const std::string system = "<|im_start|>system\nYou are a shell command generator.<|im_end|>\n";
  const std::string prompt =
      system + "<|im_start|>user\nlist files<|im_end|>\n<|im_start|>assistant\n";
  EmbeddedConfig config = short_config(0.0f);
  config.cacheable_prefix_bytes = system.size();
  // One request in a new backend (the next process): its answer and how much came from disk.
  const auto ask = [&](const fs::path& model_file, const fs::path& cache) {
    auto backend = cpu_backend(options_for(model_file.string(), cache.string()));
    auto out = backend->infer(prompt, config);
    EXPECT_TRUE(out.ok()) << out.error().to_string();
    return std::pair{out.ok() ? *out : std::string(), backend->last_timings().cached_prompt_tokens};
  };
  const auto snapshots = [](const fs::path& dir) {
    std::vector<fs::path> found;
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.path().extension() == ".kv") found.push_back(entry.path());
    }
    return found;
  };
  const fs::path cache = root / "cache";
  const auto [fresh, fresh_cached] = ask(model, cache);
  EXPECT_EQ(fresh_cached, 0);
  ASSERT_EQ(snapshots(cache).size(), 1u);
  const fs::path snapshot = snapshots(cache)[0];
  EXPECT_GE(ask(model, cache).second, 10) << "an intact snapshot must be used";

  // 1. A flipped byte in the rows.
  {
    std::fstream f(snapshot, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(fs::file_size(snapshot) / 2));
    char c;
    f.read(&c, 1);
    f.seekp(static_cast<std::streamoff>(fs::file_size(snapshot) / 2));
    c = static_cast<char>(c ^ 0x40);
    f.write(&c, 1);
  }
  const auto [after_damage, damage_cached] = ask(model, cache);
  EXPECT_EQ(damage_cached, 0) << "a damaged snapshot was restored";
  EXPECT_EQ(after_damage, fresh);

  // 2. Another model's snapshot (same shape) under this model's name.
  if (!q4.empty() && fs::exists(q4)) {
    const fs::path other_cache = root / "other";
    ask(q4, other_cache);
    ASSERT_EQ(snapshots(other_cache).size(), 1u);
    fs::copy_file(snapshots(other_cache)[0], snapshot, fs::copy_options::overwrite_existing);
    const auto [after_swap, swap_cached] = ask(model, cache);
    EXPECT_EQ(swap_cached, 0) << "another model's snapshot was restored";
    EXPECT_EQ(after_swap, fresh);
  }

  // 3. The model file replaced by different weights of the same size, mtime put back.
  ASSERT_GE(ask(model, cache).second, 10);
  const auto mtime = fs::last_write_time(model);
  {
    auto file = gguf::GgufFile::open(model.string());
    ASSERT_TRUE(file.ok());
    const gguf::TensorInfo* t = file->find_tensor("blk.0.attn_q.weight");
    ASSERT_NE(t, nullptr);
    const uint64_t at = t->offset;
    file = gguf::GgufFile::open(q8);  // release the mapping of `model` before writing it
    std::fstream f(model, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(at + 2));  // past the first block's scale: quants
    const char noise[8] = {1, -2, 3, -4, 5, -6, 7, -8};
    f.write(noise, sizeof noise);
  }
  fs::last_write_time(model, mtime);
  ASSERT_EQ(fs::file_size(model), fs::file_size(q8));
  const fs::path clean_cache = root / "clean";
  const auto [replaced_fresh, replaced_fresh_cached] = ask(model, clean_cache);
  EXPECT_EQ(replaced_fresh_cached, 0);
  const auto [after_replace, replace_cached] = ask(model, cache);
  EXPECT_EQ(replace_cached, 0) << "the old model's snapshot was restored for the new weights";
  EXPECT_EQ(after_replace, replaced_fresh);
  fs::remove_all(root);
}

TEST(BackendPrefixCache, NewDirectoryStartsFromTheSharedPrefixAndIsCachedItself) {
  const std::string path = model_path("tiny-qwen2-q8_0.gguf");
  REQUIRE_MODEL(path);
  const auto dir = std::filesystem::temp_directory_path() / "cmdai_prefix_levels_test";
  std::filesystem::remove_all(dir);
  const BackendOptions options = options_for(path, dir.string());
  const std::string head = "<|im_start|>system\nYou are a shell command generator.<|im_end|>\n";
  const auto prompt_in = [&](const std::string& cwd) {
    return head + "# working directory: " + cwd + "\n# list files\n";
  };
  const auto config_in = [&](const std::string& cwd) {
    EmbeddedConfig config = short_config(0.0f);
    config.shared_prefix_bytes = head.size();
    config.cacheable_prefix_bytes = (head + "# working directory: " + cwd + "\n").size();
    return config;
  };
  const auto kv_files = [&] {
    size_t n = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir))
      n += entry.path().extension() == ".kv";
    return n;
  };
  {
    auto first_owner = cpu_backend(options);
    EmbeddedBackend& first = *first_owner;
    ASSERT_TRUE(first.infer(prompt_in("/home/ada"), config_in("/home/ada")).ok());
  }
  EXPECT_EQ(kv_files(), 2u) << "the shared head and the head with its directory line";
  int shared_tokens = 0, with_directory_tokens = 0;
  {
    auto second_owner =
        cpu_backend(options);  // next process, new directory: starts from the shared head
    EmbeddedBackend& second = *second_owner;
    ASSERT_TRUE(second.infer(prompt_in("/srv/www/site"), config_in("/srv/www/site")).ok());
    shared_tokens = second.last_timings().cached_prompt_tokens;
    EXPECT_GT(shared_tokens, 5);
  }
  EXPECT_EQ(kv_files(), 3u);
  {
    auto third_owner =
        cpu_backend(options);  // same directory again: its own line comes from the cache too
    EmbeddedBackend& third = *third_owner;
    ASSERT_TRUE(third.infer(prompt_in("/srv/www/site"), config_in("/srv/www/site")).ok());
    with_directory_tokens = third.last_timings().cached_prompt_tokens;
  }
  EXPECT_GT(with_directory_tokens, shared_tokens);
  std::filesystem::remove_all(dir);
}

TEST(BackendPrefixCache, KeepsOnlyTheNewestSnapshots) {
  const std::string path = model_path("tiny-qwen2-q8_0.gguf");
  REQUIRE_MODEL(path);
  const auto dir = std::filesystem::temp_directory_path() / "cmdai_prefix_prune_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  for (int i = 0; i < 30; ++i) std::ofstream(dir / ("old" + std::to_string(i) + ".kv")) << "stale";
  for (int i = 0; i < 30; ++i) {
    std::filesystem::last_write_time(
        dir / ("old" + std::to_string(i) + ".kv"),
        std::filesystem::file_time_type::clock::now() - std::chrono::hours(1 + i));
  }
  const BackendOptions options = options_for(path, dir.string());
  auto backend_owner = cpu_backend(options);
  EmbeddedBackend& backend = *backend_owner;
  const std::string system = "<|im_start|>system\nYou are a shell command generator.<|im_end|>\n";
  EmbeddedConfig config = short_config(0.0f);
  config.cacheable_prefix_bytes = system.size();
  ASSERT_TRUE(backend.infer(system + "<|im_start|>user\nlist files<|im_end|>\n", config).ok());
  size_t n = 0;
  bool newest_kept = false;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".kv") continue;  // the tokenizer's .ti is pruned on its own
    ++n;
    newest_kept |= entry.path().filename().string().rfind("old", 0) != 0;
  }
  EXPECT_EQ(n, EmbeddedBackend::kMaxPrefixFiles);
  EXPECT_TRUE(newest_kept) << "the snapshot just written must survive";
  EXPECT_TRUE(std::filesystem::exists(dir / "old0.kv"));
  EXPECT_FALSE(std::filesystem::exists(dir / "old29.kv"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cmdai

namespace cmdai {
namespace {

TEST(LineAnswer, RandomModelStillEndsACleanCommandLineByTheTokenLimit) {
  const std::string path = model_path("tiny-qwen2-q4_k_m.gguf");
  REQUIRE_MODEL(path);
  auto backend = cpu_backend(options_for(path));
  const std::string prompt = std::string(kPrompt) + "```bash\n# list files\n";
  for (int max_tokens : {1, 3, 12}) {
    for (float temperature : {0.0f, 1.0f}) {
      EmbeddedConfig config = short_config(temperature);
      config.max_tokens = max_tokens;
      config.answer_lines = 1;
      std::string text;
      auto out = backend->infer_stream(prompt, config, [&](std::string_view piece) {
        text.append(piece);
        return text.find('\n') ==
               std::string::npos;  // stop at the line's end, as the generator does
      });
      ASSERT_TRUE(out.ok()) << out.error().to_string();
      const size_t end = text.find('\n');
      ASSERT_NE(end, std::string::npos) << "max_tokens " << max_tokens << ": '" << text << "'";
      const std::string line = text.substr(0, end);
      ASSERT_NE(line.find_first_not_of(" \t"), std::string::npos)
          << "the command must not be blank";
      const char first = line[line.find_first_not_of(" \t")];
      EXPECT_NE(first, '#') << "a comment is no command: '" << line << "'";
      EXPECT_NE(first, '`') << "a code fence is no command: '" << line << "'";
      for (const char c : line) {
        EXPECT_TRUE(static_cast<unsigned char>(c) >= 0x20 || c == '\t')
            << "control byte in '" << line << "'";
      }
    }
  }
}

TEST(LineAnswer, ForbidsBlankCommentAndEndOfGenerationBeforeTheCommand) {
  const std::string path = model_path("tiny-qwen2-q8_0.gguf");
  REQUIRE_MODEL(path);
  const std::optional<tokenizer::Tokenizer> tok = tiny_qwen_tokenizer(path);
  ASSERT_TRUE(tok.has_value());
  const auto id = [&](const char* text) {
    const auto ids = tok->encode(text, false, false);
    EXPECT_EQ(ids.size(), 1u) << text;
    return ids[0];
  };
  const auto forbidden = [](const std::vector<float>& logits, int32_t token) {
    return std::isinf(logits[token]);
  };
  LineAnswerConstraint constraint(*tok);
  constraint.reset(2);
  std::vector<float> logits(tok->vocab_size(), 0.0f);
  constraint.apply(logits, 0, 10);
  const int32_t im_end = *tok->find_token("<|im_end|>");
  EXPECT_TRUE(forbidden(logits, im_end));
  EXPECT_TRUE(forbidden(logits, id("\n")));
  EXPECT_TRUE(forbidden(logits, id("#")));
  EXPECT_TRUE(forbidden(logits, id("```")));
  EXPECT_TRUE(forbidden(logits, id("\r")));
  EXPECT_FALSE(forbidden(logits, id("ls")));
  // On the last step only tokens that end the line remain.
  std::fill(logits.begin(), logits.end(), 0.0f);
  constraint.apply(logits, 3, 1);
  EXPECT_TRUE(forbidden(logits, id("ls")));
  EXPECT_TRUE(forbidden(logits, id("\n"))) << "nothing before it: still an empty line";
  EXPECT_FALSE(forbidden(logits, id(")\n")));
  // With text on the line, a newline ends it, and '#' is part of the command.
  constraint.observe(id("ls"));
  std::fill(logits.begin(), logits.end(), 0.0f);
  constraint.apply(logits, 1, 10);
  EXPECT_FALSE(forbidden(logits, id("\n")));
  EXPECT_FALSE(forbidden(logits, id("#")));
  EXPECT_FALSE(forbidden(logits, im_end));
  constraint.observe(id("\n"));
  EXPECT_FALSE(constraint.done()) << "two lines were asked for";
  // The explanation line may be anything clean; it ends the answer.
  std::fill(logits.begin(), logits.end(), 0.0f);
  constraint.apply(logits, 2, 10);
  EXPECT_FALSE(forbidden(logits, id("#")));
  constraint.observe(id("#"));
  constraint.observe(id("\n"));
  EXPECT_TRUE(constraint.done());
}

}  // namespace
}  // namespace cmdai
