#include "backend/cpu_backend.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <span>

#include <fmt/format.h>

#include "base/clock.h"
#include "base/fnv1a.h"
#include "base/mapped_file.h"

namespace cmdai {

namespace {

// Writes a cache file whole or not at all (temp file, then rename). Best effort: a cache that
// cannot be written (full disk, read-only home) only costs speed.
bool write_cache_file(const std::string& path, std::span<const uint8_t> bytes) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    if (!out.good()) {
      out.close();
      fs::remove(tmp, ec);
      return false;
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) fs::remove(tmp, ec);
  return !ec;
}

}  // namespace

CpuBackend::CpuBackend(BackendOptions options) : options_(std::move(options)) {}

CpuBackend::~CpuBackend() {
  std::lock_guard<std::mutex> lock(mutex_);
  generator_.reset();
  model_.reset();
  pool_.reset();
  file_.reset();
}

std::string CpuBackend::model_name() const {
  return std::filesystem::path(options_.model_path).filename().string();
}

bool CpuBackend::is_loaded() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return model_ != nullptr;
}

InferenceTimings CpuBackend::last_timings() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return timings_;
}

void CpuBackend::inject_device_fault(std::string what) {
  std::lock_guard<std::mutex> lock(mutex_);
  fault_ = std::move(what);
}

Status CpuBackend::load() {
  std::lock_guard<std::mutex> lock(mutex_);
  return load_locked();
}

Status CpuBackend::load_locked() {
  if (model_ != nullptr) return ok_status();
  auto file = gguf::GgufFile::open(options_.model_path);
  if (!file.ok()) {
    const Error& e = file.error();
    const ErrorCode code = e.code == ErrorCode::kNotFound ? ErrorCode::kNotFound : ErrorCode::kModelLoadFailed;
    return Error{code, e.message};
  }
  auto owned = std::make_unique<gguf::GgufFile>(std::move(file).value());
  owned->populate_in_background();  // while the tokenizer and the model's tables are built
  model_file_key_ = model_file_key();
  // The tokenizer's text index and merges come from the cache file when it holds this model's.
  const std::string index_path = cache_file_locked(".ti");
  std::optional<MappedFile> cached_index;
  if (!index_path.empty()) {
    if (auto mapped = MappedFile::open(index_path); mapped.ok())
      cached_index.emplace(std::move(mapped).value());
  }
  auto tok = tokenizer::Tokenizer::from_gguf(
      *owned, cached_index ? cached_index->bytes() : std::span<const uint8_t>());
  cached_index.reset();
  if (!tok.ok()) return make_error(ErrorCode::kModelLoadFailed, "{}", tok.error().message);
  if (!index_path.empty() && !tok->vocab().index_from_cache() &&
      write_cache_file(index_path, tok->vocab().index_bytes())) {
    prune_cache_files_locked(".ti");
  }
  auto model = model::Model::load(*owned);
  if (!model.ok()) return make_error(ErrorCode::kModelLoadFailed, "{}", model.error().message);
  (*model)->set_precision(options_.precision);
  file_ = std::move(owned);
  tokenizer_ = std::move(tok).value();
  model_ = std::move(model).value();
  pool_ = std::make_unique<ThreadPool>(options_.threads);
  generator_ = std::make_unique<engine::Generator>(*model_, *pool_);
  return ok_status();
}

Status CpuBackend::unload() {
  std::lock_guard<std::mutex> lock(mutex_);
  // Order matters: the generator borrows the model, the model views the mapped file.
  generator_.reset();
  line_constraint_.reset();
  model_.reset();
  pool_.reset();
  tokenizer_.reset();
  file_.reset();  // unmaps the weights: their pages leave the resident set
  return ok_status();
}

Result<std::string> CpuBackend::infer(std::string_view prompt, const EmbeddedConfig& config) {
  return infer_stream(prompt, config, [](std::string_view) { return true; });
}

Result<std::string> CpuBackend::infer_stream(std::string_view prompt, const EmbeddedConfig& config,
                                             const PieceCallback& on_piece) {
  std::lock_guard<std::mutex> lock(mutex_);
  return run_locked(prompt, config, on_piece);
}

Result<std::string> CpuBackend::run_locked(std::string_view prompt, const EmbeddedConfig& config,
                                           const PieceCallback& on_piece) {
  const double start_ms = now_ms();
  // The deadline covers the whole request, including a lazy load.
  const Deadline deadline =
      config.timeout_ms > 0 ? Deadline::after_ms(config.timeout_ms) : Deadline::never();
  if (!fault_.empty()) {
    return make_error(ErrorCode::kDeviceError, "CPU device fault: {} (the request was not run)", fault_);
  }
  CMDAI_TRY(load_locked());
  if (config.max_tokens <= 0) {
    return make_error(ErrorCode::kInvalidArgument, "max_tokens must be positive, got {}", config.max_tokens);
  }
  engine::GenerateRequest request;
  request.prompt = tokenizer_->encode(prompt, /*add_special=*/true, /*parse_special=*/true);
  const auto prefix_token_count = [&](size_t bytes) -> size_t {
    if (bytes == 0) return 0;
    return tokenizer_->encode(prompt.substr(0, std::min(bytes, prompt.size())), true, true).size();
  };
  const size_t prefix_tokens = prefix_token_count(config.cacheable_prefix_bytes);
  const size_t shared_tokens = std::min(prefix_token_count(config.shared_prefix_bytes), prefix_tokens);
  restore_prefix_locked(request.prompt, prefix_tokens, shared_tokens);
  request.max_tokens = config.max_tokens;
  request.sampling = config.sampling;
  request.eog_ids = tokenizer_->vocab().eog_ids();
  request.stop = config.stop;
  request.deadline = deadline;
  request.cancel = config.cancel;
  const tokenizer::Tokenizer& tok = *tokenizer_;
  request.token_text = [&tok](int32_t id) {
    std::string piece;
    tok.append_piece(id, /*render_special=*/false, /*at_start=*/false, piece);
    return piece;
  };
  if (config.answer_lines > 0) {
    line_constraint_locked().reset(config.answer_lines);
    request.logit_filter = [this](std::span<float> logits, int32_t step, int32_t steps_left) {
      line_constraint_->apply(logits, step, steps_left);
    };
  }
  double first_token_ms = 0;
  request.on_token = [&](int32_t token, std::string_view released) {
    if (config.answer_lines > 0) line_constraint_->observe(token);
    if (first_token_ms == 0) first_token_ms = now_ms() - start_ms;
    return released.empty() || on_piece(released);
  };
  auto result = generator_->generate(request);
  if (!result.ok()) return result.take_error();
  if (shared_tokens < prefix_tokens) persist_prefix_locked(request.prompt, shared_tokens);
  persist_prefix_locked(request.prompt, prefix_tokens);
  timings_ = InferenceTimings{};
  timings_.prefill_ms = result->timings.prefill_ms;
  timings_.first_token_ms = first_token_ms;
  timings_.decode_ms = result->timings.decode_ms;
  timings_.total_ms = now_ms() - start_ms;
  timings_.prompt_tokens = result->timings.prompt_tokens;
  timings_.cached_prompt_tokens = result->timings.cached_prompt_tokens;
  timings_.generated_tokens = result->timings.generated_tokens;
  return std::move(result->text);
}

uint64_t CpuBackend::model_file_key() const {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto size = fs::file_size(options_.model_path, ec);
  const auto mtime = fs::last_write_time(options_.model_path, ec).time_since_epoch().count();
  uint64_t key = fnv1a(options_.model_path.data(), options_.model_path.size());
  key = fnv1a(&size, sizeof size, key);
  return fnv1a(&mtime, sizeof mtime, key);
}

std::string CpuBackend::prefix_file_locked(const std::vector<int32_t>& prompt_tokens,
                                           size_t prefix_tokens) const {
  // Bumped whenever a kernel change alters the bits a prefill produces (2: AVX2 q8_0/q4_0/q5_0
  // moved from lane-wise float sums to exact block sums), so snapshots made by an older build are
  // recomputed rather than mixed with this build's arithmetic.
  constexpr uint32_t kPrefillNumerics = 2;
  uint64_t key = fnv1a(&kPrefillNumerics, sizeof kPrefillNumerics, model_file_key_);
  const int precision = static_cast<int>(options_.precision);
  key = fnv1a(&precision, sizeof precision, key);
  key = fnv1a(prompt_tokens.data(), prefix_tokens * sizeof(int32_t), key);
  return (std::filesystem::path(options_.prefix_cache_dir) / fmt::format("{:016x}.kv", key))
      .string();
}

std::string CpuBackend::cache_file_locked(std::string_view extension) const {
  if (options_.prefix_cache_dir.empty()) return {};
  return (std::filesystem::path(options_.prefix_cache_dir) /
          fmt::format("{:016x}{}", model_file_key_, extension))
      .string();
}

LineAnswerConstraint& CpuBackend::line_constraint_locked() {
  if (line_constraint_) return *line_constraint_;
  const std::string path = cache_file_locked(".lc");
  if (!path.empty()) {
    if (auto mapped = MappedFile::open(path); mapped.ok()) {
      if (auto cached =
              LineAnswerConstraint::from_bytes(mapped->bytes(), tokenizer_->vocab_size())) {
        line_constraint_ = std::make_unique<LineAnswerConstraint>(std::move(*cached));
        return *line_constraint_;
      }
    }
  }
  // Missing, stale or damaged: classify the vocab again and replace the file.
  line_constraint_ = std::make_unique<LineAnswerConstraint>(*tokenizer_, pool_.get());
  if (!path.empty() && write_cache_file(path, line_constraint_->to_bytes()))
    prune_cache_files_locked(".lc");
  return *line_constraint_;
}

void CpuBackend::restore_prefix_locked(const std::vector<int32_t>& prompt_tokens, size_t longest,
                                       size_t shared) {
  if (options_.prefix_cache_dir.empty() || longest == 0 || longest > prompt_tokens.size()) return;
  const auto& cached = generator_->cached_tokens();
  const auto in_memory = [&](size_t n) {
    return n > 0 && cached.size() >= n &&
           std::equal(prompt_tokens.begin(), prompt_tokens.begin() + static_cast<ptrdiff_t>(n), cached.begin());
  };
  if (in_memory(longest) || restore_prefix_file_locked(prompt_tokens, longest)) return;
  if (in_memory(shared)) return;  // the generator computes the rest and reuses this part
  restore_prefix_file_locked(prompt_tokens, shared);
}

bool CpuBackend::restore_prefix_file_locked(const std::vector<int32_t>& prompt_tokens, size_t prefix_tokens) {
  if (prefix_tokens == 0) return false;
  const std::string path = prefix_file_locked(prompt_tokens, prefix_tokens);
  auto mapped = MappedFile::open(path);
  if (!mapped.ok()) return false;  // not persisted yet
  std::error_code ec;
  if (!generator_->restore_prefix(mapped->bytes()).ok()) {
    std::filesystem::remove(path, ec);  // stale or damaged: it is rebuilt after this request
    return false;
  }
  // Recently used snapshots survive pruning.
  std::filesystem::last_write_time(path, std::filesystem::file_time_type::clock::now(), ec);
  return true;
}

void CpuBackend::persist_prefix_locked(const std::vector<int32_t>& prompt_tokens, size_t prefix_tokens) {
  if (options_.prefix_cache_dir.empty() || prefix_tokens == 0 || prefix_tokens > prompt_tokens.size()) return;
  namespace fs = std::filesystem;
  const std::string path = prefix_file_locked(prompt_tokens, prefix_tokens);
  std::error_code ec;
  if (fs::exists(path, ec)) return;
  auto bytes = generator_->save_prefix(prefix_tokens);
  if (!bytes.ok()) return;
  if (write_cache_file(path, *bytes)) prune_cache_files_locked(".kv");
}

void CpuBackend::prune_cache_files_locked(std::string_view extension) const {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::pair<fs::file_time_type, fs::path>> files;
  for (fs::directory_iterator it(options_.prefix_cache_dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() != extension) continue;
    std::error_code time_ec;
    const auto time = it->last_write_time(time_ec);
    if (!time_ec) files.emplace_back(time, it->path());
  }
  if (files.size() <= kMaxPrefixFiles) return;
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t i = kMaxPrefixFiles; i < files.size(); ++i) fs::remove(files[i].second, ec);
}

ModelVariant detect_variant() {
#if defined(__APPLE__) && defined(__aarch64__) && defined(CMDAI_HAVE_MLX)
  return ModelVariant::kMlx;
#elif defined(CMDAI_HAVE_CUDA)
  return ModelVariant::kCuda;
#else
  return ModelVariant::kCpu;
#endif
}

Result<ModelVariant> parse_variant(std::string_view name) {
  if (name == "cpu") return ModelVariant::kCpu;
  if (name == "cuda") return ModelVariant::kCuda;
  if (name == "mlx") return ModelVariant::kMlx;
  if (name == "auto" || name.empty()) return detect_variant();
  return make_error(ErrorCode::kInvalidArgument, "unknown backend '{}' (use auto, cpu, cuda or mlx)", name);
}

Result<std::unique_ptr<InferenceBackend>> create_backend(ModelVariant variant, BackendOptions options) {
  switch (variant) {
    case ModelVariant::kCpu:
      return std::unique_ptr<InferenceBackend>(std::make_unique<CpuBackend>(std::move(options)));
    case ModelVariant::kCuda:
      return make_error(ErrorCode::kPlatformUnsupported,
                        "the CUDA device is not part of this build (build the 'cuda' preset on a "
                        "machine with the CUDA toolkit), use --backend cpu");
    case ModelVariant::kMlx:
      return make_error(ErrorCode::kPlatformUnsupported,
                        "the MLX device needs macOS on Apple Silicon; this is {}, use --backend cpu",
#if defined(__aarch64__)
                        "arm64 without MLX"
#else
                        "x86-64"
#endif
      );
  }
  return make_error(ErrorCode::kInternal, "unknown model variant");
}

}  // namespace cmdai
