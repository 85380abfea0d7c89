// Where cmdai keeps its files: XDG config and cache directories, overridable for tests.
// CMDAI_CONFIG_DIR / CMDAI_CACHE_DIR win over $XDG_CONFIG_HOME / $XDG_CACHE_HOME and ~.
#pragma once

#include <filesystem>

namespace cmdai::catalog {

// ($CMDAI_CONFIG_DIR) or ($XDG_CONFIG_HOME or ~/.config)/cmdai. Not created.
std::filesystem::path config_dir();

// ($CMDAI_CACHE_DIR) or ($XDG_CACHE_HOME or ~/.cache)/cmdai. Not created.
std::filesystem::path cache_dir();

// cache_dir()/models: where pulled models live.
std::filesystem::path models_dir();

}  // namespace cmdai::catalog
