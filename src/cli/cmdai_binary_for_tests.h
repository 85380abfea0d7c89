// Test helper: where the cmdai binary under test is. Found at run time, not compiled in, so the
// CLI tests of every preset compile to the same objects and ccache shares them.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace cmdai::cli::testing {

// $CMDAI_BINARY when set; otherwise the `cmdai` executable nearest above this test program (the
// build tree puts it at the top of the preset's folder, the test programs in src/<module>/).
// Empty when neither is found: the spawn fails and the test says what it ran.
inline const char* cmdai_binary() {
  static const std::string path = [] {
    namespace fs = std::filesystem;
    if (const char* from_env = std::getenv("CMDAI_BINARY"); from_env && *from_env) {
      return std::string(from_env);
    }
    std::error_code ec;
    fs::path dir = fs::read_symlink("/proc/self/exe", ec).parent_path();
    for (int level = 0; !ec && level < 6 && !dir.empty(); ++level, dir = dir.parent_path()) {
      const fs::path candidate = dir / "cmdai";
      std::error_code missing;  // most levels have no cmdai: that is not an error
      if (fs::is_regular_file(candidate, missing) && ::access(candidate.c_str(), X_OK) == 0) {
        return candidate.string();
      }
      if (dir == dir.root_path()) break;
    }
    return std::string();
  }();
  return path.c_str();
}

}  // namespace cmdai::cli::testing
