#include "serve/command_endpoint.h"

#include <memory>

#include "backend/embedded_backend.h"
#include "generate/embedded_generator.h"
#include "generate/prompt_builder.h"
#include "safety/validator.h"
#include "serve/command_result.h"
#include "serve/json_fields.h"
#include "serve/scheduler_backend.h"

namespace cmdai::serve {
namespace {

constexpr std::string_view kShells[] = {"bash", "zsh", "fish", "sh", "dash", "ksh"};

std::optional<ApiError> parse_command_request(const std::string& body, GenerationRequest* request,
                                              std::string* safety_level) {
  nlohmann::json j;
  if (auto e = parse_object(body, &j)) return e;
  request->shell = "bash";
  request->os = "Linux (GNU coreutils)";
  request->cwd = "~";
  *safety_level = "moderate";
  if (auto e = read_string(j, "request", &request->text)) return e;
  if (request->text.empty()) {
    return invalid_request("'request' must be a non-empty string: what should the command do?",
                           "request");
  }
  if (auto e = read_string(j, "shell", &request->shell)) return e;
  if (std::find(std::begin(kShells), std::end(kShells), request->shell) == std::end(kShells)) {
    return invalid_request("'shell' must be one of bash, zsh, fish, sh, dash, ksh", "shell");
  }
  if (auto e = read_string(j, "safety", safety_level)) return e;
  if (!safety::parse_safety_level(*safety_level)) {
    return invalid_request("'safety' must be strict, moderate or permissive", "safety");
  }
  if (auto e = read_string(j, "os", &request->os)) return e;
  if (auto e = read_string(j, "cwd", &request->cwd)) return e;
  if (auto e = read_bool(j, "explain", &request->explain)) return e;
  return std::nullopt;
}

}  // namespace

CommandReply run_command_request(CompletionService& service, const std::string& model_name,
                                 const std::string& body, std::function<bool()> client_gone) {
  CommandReply reply;
  GenerationRequest request;
  std::string safety_level;
  if (auto e = parse_command_request(body, &request, &safety_level)) {
    reply.error = e;
    return reply;
  }
  bool gone = false;
  auto backend = std::make_shared<SchedulerBackend>(
      service, model_name, variant_of(service.device_kind()), [&gone, &client_gone] {
        if (!gone && client_gone) gone = client_gone();
        return gone;
      });
  EmbeddedGenerator generator(backend, SamplingSettings{});
  auto generated = generator.generate(request);
  if (gone) {
    reply.client_gone = true;
    return reply;
  }
  if (!generated.ok()) {
    reply.error = from_error(generated.error());
    return reply;
  }
  reply.prompt_tokens = generated->timings.prompt_tokens;
  reply.generated_tokens = generated->timings.generated_tokens;
  const auto verdict = safety::check_command(
      generated->command, *safety::parse_safety_level(safety_level),
      safety::dialect_of_shell(request.shell).value_or(safety::Dialect::kBash));
  reply.body = command_result_object(request, *generated, verdict, safety_level);
  return reply;
}

}  // namespace cmdai::serve
