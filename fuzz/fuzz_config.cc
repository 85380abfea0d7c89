// libFuzzer target: the config file parser (TOML text, then cmdai's keys and values). Any text
// must end in the applied config or a typed error naming the origin, never a crash or a hang.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  cmdai::config::Config config;
  auto status = cmdai::config::apply_toml(config, text, "fuzz.toml");
  if (!status.ok() && status.error().message.find("fuzz.toml") == std::string_view::npos) {
    std::fprintf(stderr, "config error does not name its origin: %s\n",
                 status.error().message.c_str());
    std::abort();
  }
  return 0;
}
