// `cmdai serve`: the model behind OpenAI- and Ollama-compatible HTTP APIs (and cmdai's own
// /v1/cmdai/command), many requests batched on one model. Stops cleanly on SIGINT/SIGTERM.
#include <fmt/format.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <thread>

#include "base/clock.h"
#include "cli/command_registry.h"
#include "cli/exit_codes.h"
#include "cli/model_acquisition.h"
#include "engine/model_loader.h"
#include "quant/types.h"
#include "serve/auth.h"
#include "serve/completion_service.h"
#include "serve/http_server.h"
#include "tokenizer/tokenizer.h"

namespace cmdai::cli {
namespace {

struct ServeFlags {
  std::string model, backend = "auto", name;
  int threads = 0;
  serve::ServiceOptions service;
  serve::ServerOptions server;
  int request_timeout_s = 300;
  int client_timeout_s = 30;
};

// What /api/tags and /api/show say about the model: name, size, parameters, quantization.
serve::ServedModelInfo describe(const engine::OpenedModel& opened, const AcquiredModel& acquired,
                                const std::string& name) {
  serve::ServedModelInfo info;
  const gguf::GgufFile& file = *opened.loaded.file;
  info.name = name.empty() ? acquired.path.stem().string() : name;
  info.architecture = opened.loaded.model->hparams().arch_name;
  info.context_length = opened.loaded.model->hparams().context_length;
  std::map<TensorType, int64_t> by_type;
  for (const gguf::TensorInfo& t : file.tensors()) {
    info.parameters += t.n_elements;
    if (t.ne.size() >= 2) by_type[t.type] += t.n_elements;
  }
  int64_t most = 0;
  for (const auto& [type, n] : by_type) {
    if (n > most) {
      most = n;
      info.quantization = std::string(type_name(type));
    }
  }
  std::error_code ec;
  info.size_bytes = static_cast<int64_t>(std::filesystem::file_size(acquired.path, ec));
  const auto mtime = std::filesystem::last_write_time(acquired.path, ec);
  if (!ec) {
    info.modified_unix_s = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::file_clock::to_sys(mtime).time_since_epoch())
                               .count();
  }
  return info;
}

// Blocks SIGINT and SIGTERM in every thread started after it; watch_signals() receives them.
void block_stop_signals(sigset_t* set) {
  sigemptyset(set);
  sigaddset(set, SIGINT);
  sigaddset(set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, set, nullptr);
}

Status run_serve(ServeFlags& f) {
  if (const char* key = std::getenv("CMDAI_API_KEY"); f.server.api_key.empty() && key != nullptr) {
    f.server.api_key = key;
  }
  CMDAI_TRY(serve::check_bind_policy(f.server.host, f.server.api_key));
  if (f.service.parallel < 1 || f.service.queue < 0) {
    return make_error(ErrorCode::kInvalidArgument, "--parallel must be >= 1 and --queue >= 0");
  }
  if (f.client_timeout_s < 1 || f.client_timeout_s > 3600) {
    return make_error(ErrorCode::kInvalidArgument, "--client-timeout must be 1 to 3600 seconds");
  }
  f.server.read_timeout_s = f.client_timeout_s;
  f.server.write_timeout_s = f.client_timeout_s;
  sigset_t stop_signals;
  block_stop_signals(&stop_signals);
  const double load_start = now_ms();
  CMDAI_ASSIGN_OR_RETURN(AcquiredModel acquired, acquire_model(f.model, nullptr));
  CMDAI_ASSIGN_OR_RETURN(engine::OpenedModel opened,
                         engine::open_model(acquired.path.string(), f.backend, f.threads, false));
  CMDAI_ASSIGN_OR_RETURN(tokenizer::Tokenizer tok,
                         tokenizer::Tokenizer::from_gguf(*opened.loaded.file));
  f.server.model = describe(opened, acquired, f.name);
  f.server.load_ms = now_ms() - load_start;
  f.service.request_timeout_ms = f.request_timeout_s * 1000;
  f.server.http_threads = std::min(256, f.service.parallel + f.service.queue + 8);
  serve::CompletionService service(std::move(opened), std::move(tok), f.service);
  serve::HttpServer server(service, f.server);
  CMDAI_ASSIGN_OR_RETURN(int port, server.bind());
  fmt::print(stderr, "cmdai serve: {} on http://{}:{} (parallel {}, queue {}{})\n",
             f.server.model.name, f.server.host, port, f.service.parallel, f.service.queue,
             f.server.api_key.empty() ? "" : ", API key required");
  std::fflush(stderr);
  std::atomic<bool> served{false};
  std::thread watcher([&] {
    const timespec tick{0, 200'000'000};
    while (!served.load()) {
      if (sigtimedwait(&stop_signals, nullptr, &tick) > 0) {
        fmt::print(stderr, "cmdai serve: stopping (in-flight requests get {} s)\n",
                   f.server.shutdown_grace_ms / 1000);
        server.stop();
        return;
      }
    }
  });
  const Status status = server.serve();
  served.store(true);
  watcher.join();
  service.shutdown(/*cancel_in_flight=*/true);
  return status;
}

void setup_serve_command(CLI::App& app, CliContext& context) {
  static ServeFlags f;
  CLI::App* cmd = app.add_subcommand(
      "serve", "Serve the model over OpenAI- and Ollama-compatible HTTP APIs (see docs/REMOTE.md)");
  cmd->add_option("--model", f.model, "catalog name or path to a GGUF file (default: the default)");
  cmd->add_option("--backend", f.backend, "device: auto, cpu, cuda or mlx (default auto)");
  cmd->add_option("--threads", f.threads, "CPU threads (default: one per core)");
  cmd->add_option("--name", f.name, "model name clients use (default: the file name's stem)");
  cmd->add_option("--host", f.server.host, "address to listen on (default 127.0.0.1)");
  cmd->add_option("--port", f.server.port, "port (default 8080; 0 = any free port)");
  cmd->add_option("--parallel", f.service.parallel, "sequences decoded together (default 8)");
  cmd->add_option("--queue", f.service.queue,
                  "requests waiting for a slot; more get 429 (default 64)");
  cmd->add_option("--api-key", f.server.api_key,
                  "key clients must send as 'Authorization: Bearer <key>' (or CMDAI_API_KEY); "
                  "required for a non-loopback --host");
  cmd->add_option("--max-body-bytes", f.server.max_body_bytes,
                  "largest request body; larger gets 413 (default 4 MiB)");
  cmd->add_option("--request-timeout", f.request_timeout_s,
                  "seconds one request may run (default 300)");
  cmd->add_option("--client-timeout", f.client_timeout_s,
                  "seconds a client has to send its request and to take each part of the answer "
                  "(default 30)");
  cmd->add_option("--shutdown-grace-ms", f.server.shutdown_grace_ms,
                  "how long in-flight requests may finish after SIGTERM (default 10000)");
  cmd->callback([&context] {
    const Status status = run_serve(f);
    if (!status.ok()) {
      fmt::print(stderr, "cmdai: error: {}\n", status.error().message);
      context.exit_code = exit_code_for(status.error());
    }
  });
}

CMDAI_REGISTER_COMMAND(setup_serve_command);

}  // namespace
}  // namespace cmdai::cli
