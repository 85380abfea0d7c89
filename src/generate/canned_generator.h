// A CommandGenerator that answers with a fixed command: for tests of the CLI and the safety gate
// (e.g. proving that a critical command is never executed). Enabled in the CLI only by the
// environment variable CMDAI_TEST_CANNED_COMMAND, never by a flag a user would type by accident.
#pragma once

#include "generate/command_generator.h"

namespace cmdai {

class CannedGenerator : public CommandGenerator {
 public:
  CannedGenerator(std::string command, std::string explanation)
      : command_(std::move(command)), explanation_(std::move(explanation)) {}

  Result<GeneratedCommand> generate(const GenerationRequest& request) override {
    GeneratedCommand out;
    out.command = command_;
    out.explanation = explanation_;
    out.backend = "canned";
    out.model = "canned";
    return out;
  }
  std::string name() const override { return "canned"; }

 private:
  std::string command_;
  std::string explanation_;
};

}  // namespace cmdai
