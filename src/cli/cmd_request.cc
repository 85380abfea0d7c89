// `cmdai [options] <request…>`: the product. Generate one command, check it, show it, and run it
// only when the user agrees (or asked with -x -y) and the safety level does not block it.
#include <fmt/color.h>
#include <fmt/format.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "backend/embedded_backend.h"
#include "backend/remote_backend.h"
#include "base/utf8.h"
#include "catalog/paths.h"
#include "cli/command_registry.h"
#include "cli/executor.h"
#include "cli/exit_codes.h"
#include "cli/model_acquisition.h"
#include "cli/output_format.h"
#include "cli/shell_integration.h"
#include "cli/spinner.h"
#include "cli/terminal.h"
#include "config/config.h"
#include "device/device.h"
#include "generate/canned_generator.h"
#include "generate/embedded_generator.h"
#include "generate/prompt_builder.h"
#include "safety/validator.h"
#include "serve/command_result.h"

namespace cmdai::cli {
namespace {

// Ctrl-C during generation: the handler only sets this flag; the engine checks it every token.
std::atomic<bool> g_interrupted{false};
extern "C" void on_sigint(int) { g_interrupted.store(true); }

struct RequestFlags {
  std::vector<std::string> words;
  std::string shell, safety, output, model, backend, url, fallback;
  float temperature = 0, timeout_seconds = 0;
  int max_tokens = 0;
  uint64_t seed = 0;
  int threads = 0;
  bool execute = false, yes = false, dry_run = false, explain = false, quiet = false, edit = false;
  CLI::App* app = nullptr;
};

bool given(const RequestFlags& f, const char* name) { return f.app->count(name) > 0; }

Result<config::Config> effective_config(const RequestFlags& f) {
  CMDAI_ASSIGN_OR_RETURN(config::Config config, config::load_config());
  auto set = [&](const char* flag, const char* key, const std::string& value) -> Status {
    if (!given(f, flag)) return ok_status();
    return config.set(key, value, config::Source::kFlag);
  };
  CMDAI_TRY(set("--shell", "shell", f.shell));
  CMDAI_TRY(set("--safety", "safety", f.safety));
  CMDAI_TRY(set("--output", "output", f.output));
  CMDAI_TRY(set("--model", "model", f.model));
  CMDAI_TRY(set("--backend", "backend", f.backend));
  CMDAI_TRY(set("--url", "remote.url", f.url));
  CMDAI_TRY(set("--fallback", "remote.fallback", f.fallback));
  CMDAI_TRY(set("--temperature", "temperature", fmt::format("{}", f.temperature)));
  CMDAI_TRY(set("--max-tokens", "max_tokens", std::to_string(f.max_tokens)));
  CMDAI_TRY(set("--seed", "seed", std::to_string(f.seed)));
  CMDAI_TRY(set("--threads", "threads", std::to_string(f.threads)));
  CMDAI_TRY(set("--timeout", "timeout", fmt::format("{}", f.timeout_seconds)));
  return config;
}

bool is_remote(std::string_view backend) { return backend == "openai" || backend == "ollama"; }

// remote.fallback as it applies to this backend: the other side of the embedded/server divide, or
// "" (a fallback on the backend's own side does nothing, so a config-wide setting never gets in
// the way of a one-off --backend).
std::string fallback_for(const config::Config& config) {
  const std::string& fallback = config.remote_fallback;
  if (is_remote(config.backend)) return fallback == "embedded" ? fallback : "";
  return is_remote(fallback) ? fallback : "";
}

// Whether remote.fallback takes over after `e` from the side in use: the server cannot be reached
// or is down, or the embedded model is missing or fails to load. The model's own failures (past
// the timeout, an unusable answer), Ctrl-C and usage errors stay errors.
bool falls_back_on(const Error& e, bool remote_in_use) {
  if (g_interrupted) return false;
  if (remote_in_use) return e.code == ErrorCode::kUnavailable;
  return e.code != ErrorCode::kCancelled && e.code != ErrorCode::kInvalidArgument &&
         e.code != ErrorCode::kTimeout && e.code != ErrorCode::kGenerationFailed;
}

// The same prompt, parser and safety check, the model on a server: `api` (openai|ollama) at
// remote.url, asked for `model` ("" = the server's default).
Result<std::unique_ptr<CommandGenerator>> make_remote_generator(const config::Config& config,
                                                                const std::string& api,
                                                                const std::string& model) {
  RemoteOptions options;
  options.api = api == "openai" ? RemoteApi::kOpenAi : RemoteApi::kOllama;
  options.url = config.remote_url;
  if (options.url.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--backend {} needs the server's address: --url http://HOST:PORT (or "
                      "remote.url in the config, CMDAI_REMOTE_URL)",
                      api);
  }
  options.model = model;
  if (const char* key = std::getenv(config.remote_api_key_env.c_str()); key != nullptr) {
    options.api_key = key;
  }
  options.timeout_ms = config.remote_timeout * 1000;
  CMDAI_ASSIGN_OR_RETURN(auto backend, RemoteBackend::create(options));
  SamplingSettings sampling;
  sampling.sampling = config.sampling();
  sampling.max_tokens = config.max_tokens;
  sampling.timeout_ms = options.timeout_ms;
  sampling.cancel = &g_interrupted;
  return std::unique_ptr<CommandGenerator>(std::make_unique<EmbeddedGenerator>(
      std::shared_ptr<InferenceBackend>(std::move(backend)), sampling));
}

// The embedded model `model_name` on `device` (auto|cpu|cuda|mlx).
Result<std::unique_ptr<CommandGenerator>> make_embedded_generator(const config::Config& config,
                                                                  const std::string& model_name,
                                                                  const std::string& device,
                                                                  bool may_download) {
  if (auto choice = device::parse_device_choice(device); !choice.ok()) {
    return choice.take_error();
  }
  auto model = acquire_model(model_name, &g_interrupted, may_download);
  if (!model.ok()) {
    Error e = model.take_error();
    // An unknown name stays a usage error (exit 2); anything else is a model that is missing.
    if (e.code != ErrorCode::kCancelled && e.code != ErrorCode::kResourceExhausted &&
        e.code != ErrorCode::kInvalidArgument) {
      e.code = ErrorCode::kNotFound;
    }
    return e;
  }
  BackendOptions options;
  options.model_path = model->path.string();
  options.backend = device;
  options.threads = config.threads;
  options.prefix_cache_dir = (catalog::cache_dir() / "prefix").string();
  CMDAI_ASSIGN_OR_RETURN(auto backend, create_backend(options));
  SamplingSettings sampling;
  sampling.sampling = config.sampling();
  sampling.max_tokens = config.max_tokens;
  // 0 = no limit; any positive setting stays positive in milliseconds.
  sampling.timeout_ms = config.timeout_seconds > 0
                            ? std::max(1, static_cast<int>(config.timeout_seconds * 1000.0f))
                            : 0;
  sampling.cancel = &g_interrupted;
  return std::unique_ptr<CommandGenerator>(std::make_unique<EmbeddedGenerator>(
      std::shared_ptr<InferenceBackend>(std::move(backend)), sampling));
}

// The generator config.backend names: the embedded model, a server, or (for tests only) a canned
// answer.
Result<std::unique_ptr<CommandGenerator>> make_generator(const config::Config& config) {
  if (const char* canned = std::getenv("CMDAI_TEST_CANNED_COMMAND"); canned != nullptr) {
    const char* why = std::getenv("CMDAI_TEST_CANNED_EXPLANATION");
    return std::unique_ptr<CommandGenerator>(
        std::make_unique<CannedGenerator>(canned, why ? why : ""));
  }
  if (is_remote(config.backend)) {
    // --model names the server's model; the config's own model key is a local file or catalog
    // name.
    const bool flag = config.source_of("model") == config::Source::kFlag;
    return make_remote_generator(
        config, config.backend,
        flag || config.remote_model.empty() ? config.model : config.remote_model);
  }
  // With a server to fall back on, a missing model is not worth a gigabyte's download question.
  return make_embedded_generator(config, config.model, config.backend,
                                 /*may_download=*/fallback_for(config).empty());
}

// remote.fallback's generator: the embedded model when the server failed (the model of the config
// file and environment: a --model flag named the server's model), else the fallback's API at
// remote.url with remote.model.
Result<std::unique_ptr<CommandGenerator>> make_fallback_generator(const config::Config& config,
                                                                  const std::string& fallback) {
  if (fallback != "embedded") return make_remote_generator(config, fallback, config.remote_model);
  std::string model = config.model;
  if (config.source_of("model") == config::Source::kFlag) {
    CMDAI_ASSIGN_OR_RETURN(config::Config without_flags, config::load_config());
    model = without_flags.model;
  }
  return make_embedded_generator(config, model, "auto", /*may_download=*/true);
}

// The command, its risk and the rules that fired, on `out` (stdout, or stderr when stdout carries
// only the command).
void print_plain(const nlohmann::ordered_json& r, bool explain, FILE* out) {
  const bool color = use_color(/*for_stderr=*/out == stderr);
  const std::string risk = r["risk"];
  auto style = [&](fmt::text_style s, const std::string& text) {
    return color ? fmt::format(s, "{}", text) : text;
  };
  fmt::print(out, "  {}\n", style(fmt::emphasis::bold, r["command"].get<std::string>()));
  fmt::text_style risk_style = fmt::fg(fmt::color::green);
  if (risk == "moderate") risk_style = fmt::fg(fmt::color::yellow);
  if (risk == "high" || risk == "critical")
    risk_style = fmt::fg(fmt::color::red) | fmt::emphasis::bold;
  fmt::print(out, "  risk: {}{}\n", style(risk_style, risk),
             r["blocked"].get<bool>() ? fmt::format(" (blocked at safety level {})",
                                                    r["safety_level"].get<std::string>())
                                      : "");
  for (const auto& rule : r["rules"]) {
    fmt::print(out, "  [{}] {}\n", rule["id"].get<std::string>(),
               rule["reason"].get<std::string>());
  }
  if (explain && !r["explanation"].get<std::string>().empty()) {
    fmt::print(out, "  {}\n", r["explanation"].get<std::string>());
  }
  std::fflush(out);
}

// Hands the command to the shell integration (prompt line) or prints it for copying.
void hand_over_for_editing(const std::string& command, bool quiet_stdout) {
  if (const char* file = std::getenv(kEditFileEnv); file != nullptr && *file != '\0') {
    std::ofstream(file, std::ios::trunc) << command;
    return;
  }
  if (quiet_stdout) {
    fmt::print("{}\n", command);
  } else {
    fmt::print(stderr,
               "cmdai: copy the command above; to get it on your prompt line instead, add "
               "`eval \"$(cmdai init bash)\"` (or zsh/fish) to your shell's startup file\n");
  }
}

// Tells the shell integration which command runs, for the shell's history (see kHistoryFileEnv).
void remember_for_history(const std::string& command) {
  if (const char* file = std::getenv(kHistoryFileEnv); file != nullptr && *file != '\0') {
    std::ofstream(file, std::ios::trunc) << command;
  }
}

int fail(const Error& e, int code) {
  fmt::print(stderr, "cmdai: error: {}\n", e.message);
  return code;
}

// --edit (the shell integration's path): the command goes to the prompt line, where Enter runs
// it. A command the safety level would confirm is shown with its risk and asked about first, as a
// request is, since the prompt line shows nothing of its risk.
int edit(const GeneratedCommand& generated, const safety::SafetyVerdict& verdict,
         const nlohmann::ordered_json& result, const std::string& safety_level, bool explain) {
  const std::string_view risk = safety::risk_name(verdict.risk);
  if (verdict.blocked) {
    return fail(
        Error{ErrorCode::kInvalidArgument, fmt::format("'{}' is {} and blocked at safety level {}",
                                                       generated.command, risk, safety_level)},
        kExitBlocked);
  }
  if (verdict.needs_confirmation) {
    print_plain(result, explain, stderr);
    if (!have_terminal()) {
      fmt::print(stderr,
                 "cmdai: not handed over: this command is {} and confirmation needs a terminal\n",
                 risk);
      return kExitDeclined;
    }
    if (!ask_yes_no("Put it on your prompt line?")) return kExitDeclined;
  }
  hand_over_for_editing(generated.command, /*quiet_stdout=*/true);
  return kExitOk;
}

void print_timings(const GeneratedCommand& g) {
  const GenerationTimings& t = g.timings;
  fmt::print(
      stderr,
      "cmdai: {} on {}: device start {:.0f} ms, load {:.0f} ms, prompt {} tokens ({} cached) "
      "{:.0f} ms, first token {:.0f} ms, {} tokens {:.0f} ms, total {:.0f} ms, attempts {}\n",
      g.model, g.backend, t.device_open_ms, t.load_ms, t.prompt_tokens, t.cached_prompt_tokens,
      t.prompt_ms, t.first_token_ms, t.generated_tokens, t.decode_ms, t.total_ms, g.attempts);
  if (!g.device.empty()) fmt::print(stderr, "cmdai: device {}\n", g.device);
}

int run_request(RequestFlags& f, bool verbose) {
  GenerationRequest request;
  for (const auto& w : f.words) request.text += (request.text.empty() ? "" : " ") + w;
  if (request.text.empty() && !stdin_is_terminal()) request.text = read_all_stdin();
  request.text = to_valid_utf8(request.text);  // once, where it enters
  if (f.yes && !f.execute) {
    fmt::print(stderr, "cmdai: note: -y only matters with -x; nothing runs without -x\n");
  }
  if (request.text.empty()) {
    fmt::print(stderr,
               "cmdai: error: say what you want done, e.g. `cmdai find pdf files over 10MB in "
               "Downloads` (see cmdai --help)\n");
    return kExitUsage;
  }
  auto config = effective_config(f);
  if (!config.ok()) return fail(config.error(), kExitUsage);
  if (is_remote(fallback_for(*config)) && config->remote_url.empty()) {
    return fail(
        Error{ErrorCode::kInvalidArgument,
              fmt::format("remote.fallback = {} needs the server's address: --url "
                          "http://HOST:PORT (or remote.url in the config, CMDAI_REMOTE_URL)",
                          config->remote_fallback)},
        kExitUsage);
  }
  const auto level = safety::parse_safety_level(config->safety);
  const std::string output = config->output;
  if (!level)
    return fail(Error{ErrorCode::kInvalidArgument, "unknown safety level " + config->safety},
                kExitUsage);
  if (output != "plain" && output != "json" && output != "yaml") {
    return fail(Error{ErrorCode::kInvalidArgument,
                      "unknown output format '" + output + "' (use plain, json or yaml)"},
                kExitUsage);
  }
  request.shell = config->shell.empty() ? detect_shell() : config->shell;
  request.os = describe_host_os();
  request.cwd = std::filesystem::current_path().string();
  request.explain = f.explain;

  struct sigaction handler {
  }, previous{};
  handler.sa_handler = on_sigint;
  sigemptyset(&handler.sa_mask);
  sigaction(SIGINT, &handler, &previous);
  const std::string fallback = fallback_for(*config);
  bool remote = is_remote(config->backend);
  std::string api = remote ? config->backend : "";  // the server API that answers; "" = embedded
  auto generator = make_generator(*config);  // may download the model, with its own progress bar
  const auto generate = [&]() -> Result<GeneratedCommand> {
    if (!generator.ok()) return generator.error();
    Spinner spinner(spinner_wanted(f.quiet, config->output != "plain"), "cmdai: thinking...");
    return (*generator)->generate(request);  // the spinner's line is erased before anything else
  };
  Result<GeneratedCommand> generated = generate();
  if (!generated.ok() && !fallback.empty() && falls_back_on(generated.error(), remote)) {
    const std::string instead =
        remote ? "using the embedded model instead"
               : fmt::format("asking the {} server at {} instead", fallback, config->remote_url);
    fmt::print(stderr, "cmdai: {}{}; {} (remote.fallback = {})\n",
               remote ? "" : "the embedded model cannot be used: ", generated.error().message,
               instead, fallback);
    remote = !remote;
    api = remote ? fallback : "";
    generator = make_fallback_generator(*config, fallback);
    generated = generate();
  }
  sigaction(SIGINT, &previous, nullptr);
  if (!generated.ok()) {
    const Error& e = generated.error();
    // Cancelled without Ctrl-C: the user said no to the first download of the model.
    if (!generator.ok() && e.code == ErrorCode::kCancelled && !g_interrupted) {
      return fail(e, kExitDeclined);
    }
    if (e.code == ErrorCode::kCancelled || g_interrupted)
      return fail(Error{e.code, "interrupted"}, kExitInterrupted);
    if (!generator.ok() && e.code == ErrorCode::kNotFound) return fail(e, kExitModelMissing);
    if (e.code == ErrorCode::kTimeout && remote) {
      return fail(Error{e.code, fmt::format("{} (raise remote.timeout, now {} s, or "
                                            "CMDAI_REMOTE_TIMEOUT)",
                                            e.message, config->remote_timeout)},
                  kExitTimeout);
    }
    if (e.code == ErrorCode::kTimeout) {
      return fail(Error{e.code, fmt::format("the model did not answer within the timeout of {} s "
                                            "(raise it with --timeout SECONDS, CMDAI_TIMEOUT or "
                                            "`timeout` in the config file; 0 = no limit)",
                                            config->timeout_seconds)},
                  kExitTimeout);
    }
    return fail(e, exit_code_for(e));
  }

  // Whatever generated it, the command is shown, checked and run as well-formed UTF-8.
  generated->command = to_valid_utf8(generated->command);
  generated->explanation = to_valid_utf8(generated->explanation);
  if (!api.empty()) generated->backend = api;  // the generator names the device it believes in
  if (verbose) print_timings(*generated);
  // The command is read in the grammar of the shell that will run it (run_in_shell below).
  const safety::Dialect dialect =
      safety::dialect_of_shell(shell_program(request.shell)).value_or(safety::Dialect::kBash);
  const safety::SafetyVerdict verdict = safety::check_command(generated->command, *level, dialect);
  nlohmann::ordered_json result =
      serve::command_result_object(request, *generated, verdict, config->safety);
  const bool structured = output != "plain";
  if (f.edit) return edit(*generated, verdict, result, config->safety, f.explain);
  if (!structured && !f.quiet) print_plain(result, f.explain, stdout);
  if (!structured && f.quiet) fmt::print("{}\n", generated->command);

  int exit_code = kExitOk;
  bool run = false;
  if (verdict.blocked) {
    fmt::print(stderr, "cmdai: not run: this command is {} and blocked at safety level {}\n",
               safety::risk_name(verdict.risk), config->safety);
    exit_code = kExitBlocked;
  } else if (f.dry_run) {
    // Shown, never run.
  } else if (f.execute && f.yes) {
    run = true;
  } else if ((f.execute || (!structured && stdout_is_terminal())) && have_terminal()) {
    // Asked on the terminal itself, so a request piped in (`echo req | cmdai -x`) is asked too.
    const Choice choice = ask_run_no_edit(/*allow_edit=*/true);
    if (choice == Choice::kRun)
      run = true;
    else if (choice == Choice::kEdit)
      hand_over_for_editing(generated->command, false);
    else
      exit_code = kExitDeclined;  // "no" is declined, with or without -x (docs/CLI.md)
  } else if (f.execute) {
    fmt::print(stderr,
               "cmdai: not run: confirmation needs a terminal; add -y to run without asking\n");
    exit_code = kExitDeclined;
  }
  if (run) {
    remember_for_history(generated->command);
    auto status = run_in_shell(generated->command, shell_program(request.shell), structured);
    if (!status.ok()) return fail(status.error(), kExitError);
    result["executed"] = true;
    result["exit_status"] = *status;
    exit_code = *status;
  }
  if (output == "json") {
    fmt::print("{}\n",
               result.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
  }
  if (output == "yaml") fmt::print("{}", to_yaml(result));
  return exit_code;
}

// `cmdai help` asks cmdai, not the model. ("help me find big files" stays a request; with a
// subcommand after it, `cmdai help model`, CLI11 runs that subcommand, which shows its own list.)
bool is_help_word(const std::vector<std::string>& words) {
  if (words.size() != 1) return false;
  std::string word = words[0];
  for (char& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return word == "help";
}

void setup_request(CLI::App& app, CliContext& context) {
  static RequestFlags f;
  f.app = &app;
  app.add_option("request", f.words, "what you want done, in plain words (quotes optional)");
  app.add_option("--shell", f.shell,
                 "shell to write the command for: bash, zsh, fish, sh (default: $SHELL)");
  app.add_option("--safety", f.safety,
                 "strict, moderate (default) or permissive: what is blocked or confirmed");
  app.add_option("-o,--output", f.output, "plain (default), json or yaml");
  app.add_flag("-x,--execute", f.execute, "run the command after the safety check (asks first)");
  app.add_flag("-y,--yes", f.yes, "with -x: run without asking (blocked commands never run)");
  app.add_flag("--dry-run", f.dry_run, "show the command and its risk, never run it");
  app.add_flag("--explain", f.explain, "also explain the command");
  app.add_flag("-q,--quiet", f.quiet, "print only the command");
  app.add_flag("--edit", f.edit,
               "put the command on the prompt line (with `cmdai init`) or print only it");
  app.add_option("--model", f.model, "catalog name or path to a GGUF file");
  app.add_option(
      "--backend", f.backend,
      "inference device: auto, cpu, cuda, mlx; or a server: openai, ollama (with --url)");
  app.add_option("--url", f.url,
                 "server for --backend openai|ollama, e.g. http://127.0.0.1:8080 (cmdai serve)");
  app.add_option("--fallback", f.fallback,
                 "when the backend cannot answer: embedded (the server is unreachable), openai "
                 "or ollama (the model is missing; the server at --url), none");
  app.add_option("--temperature", f.temperature, "sampling temperature (0 = most likely answer)");
  app.add_option("--max-tokens", f.max_tokens, "most tokens to generate");
  app.add_option("--seed", f.seed, "sampling seed");
  app.add_option("--threads", f.threads, "CPU threads (default: one per core)");
  app.add_option("--timeout", f.timeout_seconds,
                 "seconds the model may take to answer once loaded (default 30; 0 = no limit)");
  app.callback([&app, &context] {
    if (!app.get_subcommands().empty()) return;  // a subcommand ran instead
    if (is_help_word(f.words)) {
      fmt::print("{}", app.help());
      return;
    }
    context.exit_code = run_request(f, context.verbose);
  });
}

CMDAI_REGISTER_COMMAND(setup_request);

}  // namespace
}  // namespace cmdai::cli
