// `cmdai bench`: load time, time to first token, prefill and decode speed, peak memory, as JSON.
// Token ids are random (speed does not depend on them); every number comes from one process.
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "base/clock.h"
#include "base/cpu_features.h"
#include "base/memory_usage.h"
#include "base/thread_pool.h"
#include "cli/bench_e2e.h"
#include "cli/bench_read_probe.h"
#include "cli/command_registry.h"
#include "cli/exit_codes.h"
#include "engine/model_loader.h"
#include "gguf/gguf_file.h"
#include "model/model.h"

namespace cmdai::cli {
namespace {

struct BenchFlags {
  std::string model_path;
  std::string backend = "auto";
  int threads = 0;
  std::string prefill_sizes = "16,64,256";
  int decode_tokens = 32;
  int repetitions = 3;
  bool json = true;
  bool e2e = false;
  std::string request = "find pdf files over 10MB in Downloads";
  int e2e_tokens = 20;
  std::string streams;  // "1,8": aggregate decode of that many sequences per forward_batch step
};

std::vector<int> parse_sizes(const std::string& text) {
  std::vector<int> sizes;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) sizes.push_back(std::stoi(item));
  }
  return sizes;
}

std::vector<int32_t> random_tokens(int n, int64_t vocab_size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int32_t> tokens(n);
  for (auto& t : tokens) t = static_cast<int32_t>(rng() % static_cast<uint64_t>(vocab_size));
  return tokens;
}

// Aggregate decode speed of n sequences stepped together (what `cmdai serve` does with n
// concurrent requests): each after its own 16-token prompt, decode_tokens batched steps.
Result<nlohmann::json> batched_decode(model::Model& model, int n_streams, int decode_tokens,
                                      int repetitions) {
  const auto& hp = model.hparams();
  constexpr int kPromptTokens = 16;
  std::vector<std::unique_ptr<model::KvState>> caches;
  std::vector<float> logits(static_cast<size_t>(n_streams * hp.vocab_size));
  for (int s = 0; s < n_streams; ++s) {
    CMDAI_ASSIGN_OR_RETURN(auto cache, model.make_cache(kPromptTokens + decode_tokens + 1));
    caches.push_back(std::move(cache));
  }
  double best_ms = 1e30;
  for (int r = 0; r < repetitions; ++r) {
    for (int s = 0; s < n_streams; ++s) {
      caches[s]->truncate(0);
      const auto prompt = random_tokens(kPromptTokens, hp.vocab_size, 1000 + s);
      CMDAI_TRY(
          model.forward(prompt, 0, *caches[s], model::LogitsRequest::kLastRow, logits.data()));
    }
    const auto tokens = random_tokens(decode_tokens * n_streams, hp.vocab_size, 5);
    std::vector<device::BatchSlot> slots(static_cast<size_t>(n_streams));
    const double t0 = now_ms();
    for (int i = 0; i < decode_tokens; ++i) {
      for (int s = 0; s < n_streams; ++s) {
        slots[s] = {tokens[i * n_streams + s], kPromptTokens + i, caches[s].get()};
      }
      CMDAI_TRY(model.forward_batch(slots, logits.data()));
    }
    best_ms = std::min(best_ms, now_ms() - t0);
  }
  const double aggregate = n_streams * decode_tokens * 1000.0 / best_ms;
  return nlohmann::json{{"streams", n_streams},
                        {"ms", best_ms},
                        {"tokens_per_s", aggregate},
                        {"tokens_per_s_per_stream", aggregate / n_streams}};
}

Status run_bench(const BenchFlags& f, nlohmann::json& out) {
  const double device_start = now_ms();
  CMDAI_ASSIGN_OR_RETURN(auto device, engine::open_device_named(f.backend, f.threads));
  const double device_ms = now_ms() - device_start;
  const double load_start = now_ms();
  CMDAI_ASSIGN_OR_RETURN(engine::LoadedModel loaded, engine::load_model(f.model_path, *device));
  const double load_ms = now_ms() - load_start;
  model::Model* model = loaded.model.get();
  const gguf::GgufFile& file = *loaded.file;
  const auto& hp = model->hparams();
  std::vector<float> logits(hp.vocab_size);

  const std::vector<int> sizes = parse_sizes(f.prefill_sizes);
  constexpr int kFirstPromptTokens = 16;  // the time-to-first-token prompt, also decode's context
  int max_prefill = kFirstPromptTokens;
  for (int n : sizes) max_prefill = std::max(max_prefill, n);
  CMDAI_ASSIGN_OR_RETURN(auto cache_owner, model->make_cache(max_prefill + f.decode_tokens + 1));
  model::KvState& cache = *cache_owner;

  // Time to first token: a cold 16-token prompt (first pass also touches the mapped weights).
  const auto first_prompt = random_tokens(kFirstPromptTokens, hp.vocab_size, 1);
  const double ttft_start = now_ms();
  CMDAI_TRY(model->forward(first_prompt, 0, cache, model::LogitsRequest::kLastRow, logits.data()));
  const double ttft_ms = now_ms() - ttft_start;

  nlohmann::json prefill = nlohmann::json::array();
  for (int n : sizes) {
    const auto tokens = random_tokens(n, hp.vocab_size, 7 + n);
    double best_ms = 1e30;
    for (int r = 0; r < f.repetitions; ++r) {
      cache.truncate(0);
      const double t0 = now_ms();
      CMDAI_TRY(model->forward(tokens, 0, cache, model::LogitsRequest::kLastRow, logits.data()));
      best_ms = std::min(best_ms, now_ms() - t0);
    }
    prefill.push_back({{"n_tokens", n}, {"ms", best_ms}, {"tokens_per_s", n * 1000.0 / best_ms}});
  }

  // Decode after a 16-token prompt, one token at a time, as generation does.
  cache.truncate(0);
  CMDAI_TRY(model->forward(first_prompt, 0, cache, model::LogitsRequest::kLastRow, logits.data()));
  const auto decode_tokens = random_tokens(f.decode_tokens, hp.vocab_size, 99);
  const double t0 = now_ms();
  for (int i = 0; i < f.decode_tokens; ++i) {
    const int32_t token = decode_tokens[i];
    CMDAI_TRY(model->forward(std::span<const int32_t>(&token, 1), kFirstPromptTokens + i, cache,
                             model::LogitsRequest::kLastRow, logits.data()));
  }
  const double decode_ms = now_ms() - t0;

  nlohmann::json batched = nlohmann::json::array();
  for (int n : parse_sizes(f.streams)) {
    if (n < 1 || n > static_cast<int>(model::kMaxBatchTokens)) {
      return make_error(ErrorCode::kInvalidArgument, "--streams {} is outside 1..{}", n,
                        model::kMaxBatchTokens);
    }
    CMDAI_ASSIGN_OR_RETURN(auto row, batched_decode(*model, n, f.decode_tokens, f.repetitions));
    batched.push_back(std::move(row));
  }

  uint64_t weight_bytes = 0;
  std::vector<std::span<const uint8_t>> weights;
  for (const auto& t : file.tensors()) {
    weight_bytes += t.size_bytes;
    weights.emplace_back(t.data, t.size_bytes);
  }
  const double decode_tps = f.decode_tokens * 1000.0 / decode_ms;
  const double decode_gb_per_s = weight_bytes * decode_tps / 1e9;
  // The ceiling decode is measured against: as many threads merely reading the same weights.
  ThreadPool pool(f.threads);
  const cli::ReadProbeResult probe = cli::read_probe(weights, pool, 3);
  const device::DeviceMemory memory = device->memory();
  // Which kernel multiplies each weight type on this device, decode and prefill.
  nlohmann::json kernels = nlohmann::json::object();
  for (const auto& t : file.tensors()) {
    const std::string type(type_name(t.type));
    if (t.ne.size() < 2 || kernels.contains(type)) continue;
    const device::Device::KernelChoice choice = device->kernels_for(t.type);
    if (choice.decode.empty() && choice.prefill.empty()) continue;
    kernels[type] = {{"decode", choice.decode}, {"prefill", choice.prefill}};
  }
  out = {{"model", f.model_path},
         {"cpu",
          {{"model_name", cpu_model_name()},
           {"family", cpu_family_model().family},
           {"model", cpu_family_model().model},
           {"features", cpu_features().to_string()}}},
         {"device",
          {{"name", std::string(device::device_kind_name(device->kind()))},
           {"description", device->description()},
           {"open_ms", device_ms},
           {"weight_bytes_on_device", model->device_model().weight_bytes()},
           {"memory_used_bytes", memory.used_bytes},
           {"memory_total_bytes", memory.total_bytes},
           {"kernels", kernels}}},
         {"threads", pool.size()},
         {"load_ms", load_ms},
         {"ttft_ms", ttft_ms},
         {"prefill", prefill},
         {"decode",
          {{"n_tokens", f.decode_tokens},
           {"ms", decode_ms},
           {"tokens_per_s", decode_tps},
           {"weight_gb_per_s", decode_gb_per_s},
           {"share_of_read_probe", probe.gb_per_s > 0 ? decode_gb_per_s / probe.gb_per_s : 0.0}}},
         {"batched_decode", batched},
         {"read_probe",
          {{"gb_per_s", probe.gb_per_s},
           {"streams_per_thread", probe.streams_per_thread},
           {"note",
            "the bench's threads reading every weight byte once, best of 3 passes "
            "as 1 and 3 as 4 sequential streams per thread"}}},
         {"weight_bytes", weight_bytes},
         {"peak_rss_bytes", peak_rss_bytes()}};
  return ok_status();
}

void setup_bench(CLI::App& app, CliContext& context) {
  static BenchFlags flags;
  CLI::App* bench =
      app.add_subcommand("bench", "Measure load, first-token, prefill and decode speed of a model");
  bench->add_option("--model", flags.model_path, "GGUF model file")->required();
  bench->add_option("--backend", flags.backend, "device: auto, cpu, cuda or mlx")
      ->capture_default_str();
  bench->add_option("--threads", flags.threads, "threads (default: one per core)");
  bench->add_option("-p,--prefill", flags.prefill_sizes, "prompt sizes to time")
      ->capture_default_str();
  bench->add_option("-n,--decode", flags.decode_tokens, "tokens to decode")->capture_default_str();
  bench->add_option("-r,--repetitions", flags.repetitions, "runs per prompt size (best is kept)")
      ->capture_default_str();
  bench->add_option("--streams", flags.streams,
                    "also time decode of this many sequences stepped together, e.g. 1,8 (the "
                    "aggregate tokens/s `cmdai serve` gets from that many concurrent requests)");
  bench->add_flag("--json", flags.json, "print one JSON object (the default)");
  bench->add_flag("--e2e", flags.e2e,
                  "time whole `cmdai <request>` processes with the real system prompt: cold "
                  "(empty prefix cache) and warm (median of --repetitions)");
  bench->add_option("--request", flags.request, "the request --e2e times")->capture_default_str();
  bench->add_option("--e2e-tokens", flags.e2e_tokens, "token limit of the --e2e request")
      ->capture_default_str();
  bench->callback([&context] {
    nlohmann::json out;
    Status status = ok_status();
    if (flags.e2e) {
      auto e2e = run_e2e_bench(E2eOptions{flags.model_path, flags.request, flags.e2e_tokens,
                                          flags.repetitions, flags.threads});
      if (e2e.ok())
        out = {{"e2e", *e2e}};
      else
        status = e2e.take_error();
    } else {
      status = run_bench(flags, out);
    }
    if (!status.ok()) {
      fmt::print(stderr, "cmdai: error: {}\n", status.error().message);
      context.exit_code = exit_code_for(status.error());
      return;
    }
    fmt::print("{}\n", out.dump());
  });
}

CMDAI_REGISTER_COMMAND(setup_bench);

}  // namespace
}  // namespace cmdai::cli
