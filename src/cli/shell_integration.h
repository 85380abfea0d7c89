// Text of `cmdai init <shell>`: a wrapper function and key binding that put a generated command on
// the prompt line for editing. (`cmdai completion <shell>` is generated: completion.h.)
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cmdai::cli {

// nullopt for a shell we do not support.
std::optional<std::string> init_script(std::string_view shell);

// The environment variable through which the init wrapper asks cmdai to hand back the command
// (written to that file) instead of running it.
inline constexpr const char* kEditFileEnv = "CMDAI_EDIT_FILE";
// The environment variable through which the init wrapper learns which command cmdai ran (written
// to that file before it runs), to put it in the shell's history as if it had been typed.
inline constexpr const char* kHistoryFileEnv = "CMDAI_HISTORY_FILE";

}  // namespace cmdai::cli
