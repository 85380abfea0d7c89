#include "backend/embedded_backend.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <span>

#include "base/clock.h"
#include "base/fnv1a.h"
#include "base/mapped_file.h"
#include "base/thread_pool.h"

namespace cmdai {

namespace {

// Writes a cache file whole or not at all (temp file, then rename). Best effort: a cache that
// cannot be written (full disk, read-only home) only costs speed.
bool write_cache_file(const std::string& path, std::span<const uint8_t> bytes) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  // A name no other writer (another process or thread) can be using at the same moment.
  static std::atomic<uint64_t> counter{0};
  const std::string tmp = fmt::format("{}.tmp.{}.{}", path, static_cast<long>(getpid()),
                                      counter.fetch_add(1, std::memory_order_relaxed));
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

Result<std::unique_ptr<EmbeddedBackend>> EmbeddedBackend::create(BackendOptions options) {
  const double start_ms = now_ms();
  CMDAI_ASSIGN_OR_RETURN(std::unique_ptr<device::Device> device,
                         engine::open_device_named(options.backend, options.threads));
  auto backend = std::make_unique<EmbeddedBackend>(std::move(options), std::move(device));
  backend->device_open_ms_ = now_ms() - start_ms;
  return backend;
}

EmbeddedBackend::EmbeddedBackend(BackendOptions options, std::unique_ptr<device::Device> device)
    : options_(std::move(options)), device_(std::move(device)) {}

EmbeddedBackend::~EmbeddedBackend() {
  std::lock_guard<std::mutex> lock(mutex_);
  generator_.reset();
  line_constraint_.reset();
  loaded_ = {};
}

ModelVariant variant_of(device::DeviceKind kind) {
  switch (kind) {
    case device::DeviceKind::kCpu:
      return ModelVariant::kCpu;
    case device::DeviceKind::kCuda:
      return ModelVariant::kCuda;
    case device::DeviceKind::kMlx:
      return ModelVariant::kMlx;
  }
  return ModelVariant::kCpu;
}

ModelVariant EmbeddedBackend::variant() const { return variant_of(device_->kind()); }

MemoryType EmbeddedBackend::memory_type() const {
  switch (device_->memory_kind()) {
    case device::MemoryKind::kHostMapped:
      return MemoryType::kHostMapped;
    case device::MemoryKind::kUnified:
      return MemoryType::kUnified;
    case device::MemoryKind::kDevice:
      return MemoryType::kDevice;
    case device::MemoryKind::kHost:
      return MemoryType::kHost;
  }
  return MemoryType::kHostMapped;
}

std::string EmbeddedBackend::device_description() const { return device_->description(); }

device::DeviceMemory EmbeddedBackend::device_memory() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return device_->memory();
}

std::string EmbeddedBackend::model_name() const {
  return std::filesystem::path(options_.model_path).filename().string();
}

bool EmbeddedBackend::is_loaded() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return loaded_.model != nullptr;
}

InferenceTimings EmbeddedBackend::last_timings() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return timings_;
}

void EmbeddedBackend::inject_device_fault(std::string what) {
  std::lock_guard<std::mutex> lock(mutex_);
  device_->inject_fault(std::move(what));
}

Status EmbeddedBackend::load() {
  std::lock_guard<std::mutex> lock(mutex_);
  return load_locked();
}

Status EmbeddedBackend::load_locked() {
  if (loaded_.model != nullptr) return ok_status();
  engine::LoadOptions load_options;
  load_options.precision = options_.precision;
  // The page tables fill while the tokenizer and the model's tables are built.
  load_options.populate_in_background = true;
  auto loaded = engine::load_model(options_.model_path, *device_, load_options);
  if (!loaded.ok()) {
    const Error& e = loaded.error();
    switch (e.code) {
      case ErrorCode::kNotFound:
      case ErrorCode::kResourceExhausted:
      case ErrorCode::kDeviceError:
        return e;
      default:
        return Error{ErrorCode::kModelLoadFailed, e.message};
    }
  }
  model_file_key_ = model_file_key();
  // The tokenizer's text index and merges come from the cache file when it holds this model's.
  const std::string index_path = cache_file_locked(".ti");
  std::optional<MappedFile> cached_index;
  if (!index_path.empty()) {
    if (auto mapped = MappedFile::open(index_path); mapped.ok())
      cached_index.emplace(std::move(mapped).value());
  }
  auto tok = tokenizer::Tokenizer::from_gguf(
      *loaded->file, cached_index ? cached_index->bytes() : std::span<const uint8_t>());
  cached_index.reset();
  if (!tok.ok()) return make_error(ErrorCode::kModelLoadFailed, "{}", tok.error().message);
  if (!index_path.empty() && !tok->vocab().index_from_cache() &&
      write_cache_file(index_path, tok->vocab().index_bytes())) {
    prune_cache_files_locked(".ti");
  }
  loaded_ = std::move(loaded).value();
  tokenizer_ = std::move(tok).value();
  generator_ = std::make_unique<engine::Generator>(*loaded_.model);
  return ok_status();
}

Status EmbeddedBackend::unload() {
  std::lock_guard<std::mutex> lock(mutex_);
  // Order matters: the generator borrows the model, the model views the mapped file.
  generator_.reset();
  line_constraint_.reset();
  tokenizer_.reset();
  loaded_ = {};  // the model's device memory, then the mapping: their pages leave
  return ok_status();
}

Result<std::string> EmbeddedBackend::infer(std::string_view prompt, const EmbeddedConfig& config) {
  return infer_stream(prompt, config, [](std::string_view) { return true; });
}

Result<std::string> EmbeddedBackend::infer_stream(std::string_view prompt,
                                                  const EmbeddedConfig& config,
                                                  const PieceCallback& on_piece) {
  std::lock_guard<std::mutex> lock(mutex_);
  return run_locked(prompt, config, on_piece);
}

Result<std::string> EmbeddedBackend::run_locked(std::string_view prompt,
                                                const EmbeddedConfig& config,
                                                const PieceCallback& on_piece) {
  const double start_ms = now_ms();
  // The deadline covers the whole request, including a lazy load.
  const Deadline deadline =
      config.timeout_ms > 0 ? Deadline::after_ms(config.timeout_ms) : Deadline::never();
  CMDAI_TRY(load_locked());
  if (config.max_tokens <= 0) {
    return make_error(ErrorCode::kInvalidArgument, "max_tokens must be positive, got {}",
                      config.max_tokens);
  }
  engine::GenerateRequest request;
  request.prompt = tokenizer_->encode(prompt, /*add_special=*/true, /*parse_special=*/true);
  const auto prefix_token_count = [&](size_t bytes) -> size_t {
    if (bytes == 0) return 0;
    return tokenizer_->encode(prompt.substr(0, std::min(bytes, prompt.size())), true, true).size();
  };
  const size_t prefix_tokens = prefix_token_count(config.cacheable_prefix_bytes);
  const size_t shared_tokens =
      std::min(prefix_token_count(config.shared_prefix_bytes), prefix_tokens);
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
  if (!result.ok()) {
    Error error = result.take_error();
    if (error.code == ErrorCode::kDeviceError) {
      // The device may be unusable until reset: drop the model, so the next request loads it
      // again (the device resets itself on load where the fault requires it).
      generator_.reset();
      line_constraint_.reset();
      tokenizer_.reset();
      loaded_ = {};
      error.message += " (the model was unloaded; the next request loads it again)";
    }
    return error;
  }
  if (shared_tokens < prefix_tokens) persist_prefix_locked(request.prompt, shared_tokens);
  persist_prefix_locked(request.prompt, prefix_tokens);
  timings_ = InferenceTimings{};
  timings_.device_open_ms = device_open_ms_;
  timings_.prefill_ms = result->timings.prefill_ms;
  timings_.first_token_ms = first_token_ms;
  timings_.decode_ms = result->timings.decode_ms;
  timings_.total_ms = now_ms() - start_ms;
  timings_.prompt_tokens = result->timings.prompt_tokens;
  timings_.cached_prompt_tokens = result->timings.cached_prompt_tokens;
  timings_.generated_tokens = result->timings.generated_tokens;
  return std::move(result->text);
}

uint64_t EmbeddedBackend::model_file_key() const {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto size = fs::file_size(options_.model_path, ec);
  const auto mtime = fs::last_write_time(options_.model_path, ec).time_since_epoch().count();
  uint64_t key = fnv1a(options_.model_path.data(), options_.model_path.size());
  key = fnv1a(&size, sizeof size, key);
  return fnv1a(&mtime, sizeof mtime, key);
}

std::string EmbeddedBackend::prefix_file_locked(const std::vector<int32_t>& prompt_tokens,
                                                size_t prefix_tokens) const {
  // Bumped whenever a kernel change alters the bits a prefill produces (2: AVX2 q8_0/q4_0/q5_0
  // moved from lane-wise float sums to exact block sums), so snapshots made by an older build are
  // recomputed rather than mixed with this build's arithmetic.
  constexpr uint32_t kPrefillNumerics = 2;
  uint64_t key = fnv1a(&kPrefillNumerics, sizeof kPrefillNumerics, model_file_key_);
  // Each device's snapshot holds its own arithmetic's keys and values.
  const int precision = static_cast<int>(options_.precision);
  key = fnv1a(&precision, sizeof precision, key);
  const int device_kind = static_cast<int>(device_->kind());
  if (device_->kind() != device::DeviceKind::kCpu)
    key = fnv1a(&device_kind, sizeof device_kind, key);
  key = fnv1a(prompt_tokens.data(), prefix_tokens * sizeof(int32_t), key);
  return (std::filesystem::path(options_.prefix_cache_dir) / fmt::format("{:016x}.kv", key))
      .string();
}

std::string EmbeddedBackend::cache_file_locked(std::string_view extension) const {
  if (options_.prefix_cache_dir.empty()) return {};
  return (std::filesystem::path(options_.prefix_cache_dir) /
          fmt::format("{:016x}{}", model_file_key_, extension))
      .string();
}

LineAnswerConstraint& EmbeddedBackend::line_constraint_locked() {
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
  ThreadPool pool(options_.threads);  // ~8 ms of classification, split across the cores
  line_constraint_ = std::make_unique<LineAnswerConstraint>(*tokenizer_, &pool);
  if (!path.empty() && write_cache_file(path, line_constraint_->to_bytes()))
    prune_cache_files_locked(".lc");
  return *line_constraint_;
}

void EmbeddedBackend::restore_prefix_locked(const std::vector<int32_t>& prompt_tokens,
                                            size_t longest, size_t shared) {
  if (options_.prefix_cache_dir.empty() || longest == 0 || longest > prompt_tokens.size()) return;
  const auto& cached = generator_->cached_tokens();
  const auto in_memory = [&](size_t n) {
    return n > 0 && cached.size() >= n &&
           std::equal(prompt_tokens.begin(), prompt_tokens.begin() + static_cast<ptrdiff_t>(n),
                      cached.begin());
  };
  if (in_memory(longest) || restore_prefix_file_locked(prompt_tokens, longest)) return;
  if (in_memory(shared)) return;  // the generator computes the rest and reuses this part
  restore_prefix_file_locked(prompt_tokens, shared);
}

bool EmbeddedBackend::restore_prefix_file_locked(const std::vector<int32_t>& prompt_tokens,
                                                 size_t prefix_tokens) {
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

void EmbeddedBackend::persist_prefix_locked(const std::vector<int32_t>& prompt_tokens,
                                            size_t prefix_tokens) {
  if (options_.prefix_cache_dir.empty() || prefix_tokens == 0 ||
      prefix_tokens > prompt_tokens.size())
    return;
  namespace fs = std::filesystem;
  const std::string path = prefix_file_locked(prompt_tokens, prefix_tokens);
  std::error_code ec;
  if (fs::exists(path, ec)) return;
  auto bytes = generator_->save_prefix(prefix_tokens);
  if (!bytes.ok()) return;
  if (write_cache_file(path, *bytes)) prune_cache_files_locked(".kv");
}

void EmbeddedBackend::prune_cache_files_locked(std::string_view extension) const {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::pair<fs::file_time_type, fs::path>> files;
  for (fs::directory_iterator it(options_.prefix_cache_dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->path().extension() != extension) continue;
    std::error_code time_ec;
    const auto time = it->last_write_time(time_ec);
    if (!time_ec) files.emplace_back(time, it->path());
  }
  if (files.size() <= kMaxPrefixFiles) return;
  std::sort(files.begin(), files.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t i = kMaxPrefixFiles; i < files.size(); ++i) fs::remove(files[i].second, ec);
}

Result<std::unique_ptr<InferenceBackend>> create_backend(BackendOptions options) {
  CMDAI_ASSIGN_OR_RETURN(std::unique_ptr<EmbeddedBackend> backend,
                         EmbeddedBackend::create(std::move(options)));
  return std::unique_ptr<InferenceBackend>(std::move(backend));
}

}  // namespace cmdai
