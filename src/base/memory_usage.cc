#include "base/memory_usage.h"

#include <cstdio>
#include <cstring>

namespace cmdai {
namespace {

int64_t read_status_kb(const char* key) {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return -1;
  char line[256];
  int64_t value = -1;
  const size_t key_len = std::strlen(key);
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, key, key_len) == 0 && line[key_len] == ':') {
      long long kb = 0;
      if (std::sscanf(line + key_len + 1, "%lld", &kb) == 1) value = kb;
      break;
    }
  }
  std::fclose(f);
  return value;
}

}  // namespace

int64_t current_rss_bytes() {
  const int64_t kb = read_status_kb("VmRSS");
  return kb < 0 ? -1 : kb * 1024;
}

int64_t peak_rss_bytes() {
  const int64_t kb = read_status_kb("VmHWM");
  return kb < 0 ? -1 : kb * 1024;
}

}  // namespace cmdai
