// Exit codes of the cmdai binary (documented in docs/CLI.md). Errors stay below 100; a command
// that cmdai ran passes its own exit status through instead.
#pragma once

#include "base/result.h"

namespace cmdai::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitError = 1,             // anything not listed below
  kExitUsage = 2,             // bad flags or arguments
  kExitBlocked = 3,           // the safety check blocked the command
  kExitDeclined = 4,          // the user said no
  kExitModelMissing = 5,      // no model file and it could not be fetched
  kExitGenerationFailed = 6,  // the model's answer was unusable
  kExitModelInvalid = 7,      // the model file is corrupt or unsupported
  kExitNetwork = 8,           // a download failed
  kExitTimeout = 9,           // the request ran past its deadline
  kExitIo = 10,               // a file could not be read or written
  kExitInterrupted = 130,     // Ctrl-C, as shells report SIGINT
};

int exit_code_for(const Error& error);

}  // namespace cmdai::cli
