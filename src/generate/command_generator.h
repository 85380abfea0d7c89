// CommandGenerator: a request in plain language -> one shell command with an explanation.
// The embedded generator runs the model in-process; a canned one serves tests through the same
// seam.
#pragma once

#include <string>

#include "base/result.h"

namespace cmdai {

struct GenerationRequest {
  std::string text;      // what the user asked for
  std::string shell;     // bash, zsh, fish, sh, powershell
  std::string os;        // "Linux (GNU coreutils)", "macOS (BSD userland)", ...
  std::string cwd;       // the current directory
  bool explain = false;  // also produce a short explanation
};

struct GenerationTimings {
  double device_open_ms = 0;  // the device's start (a CUDA context), before any load
  double load_ms = 0;         // mapping the model and putting its weights on the device
  double prompt_ms = 0;       // prefill of the request's own tokens
  double first_token_ms = 0;
  double decode_ms = 0;
  double total_ms = 0;
  int prompt_tokens = 0;
  int cached_prompt_tokens = 0;
  int generated_tokens = 0;
};

struct GeneratedCommand {
  std::string command;
  std::string explanation;
  std::string backend;  // "cpu", "cuda", "canned"
  std::string model;    // model name or file
  std::string device;   // what the embedded model ran on (Device::description()); "" otherwise
  GenerationTimings timings;
  int attempts = 1;  // 2 when the first answer was malformed and retried
};

class CommandGenerator {
 public:
  virtual ~CommandGenerator() = default;
  virtual Result<GeneratedCommand> generate(const GenerationRequest& request) = 0;
  virtual std::string name() const = 0;
};

}  // namespace cmdai
