#include "catalog/curl_library.h"

#include <dlfcn.h>

#include <map>
#include <memory>
#include <mutex>
#include <type_traits>

namespace cmdai::catalog {
namespace {

std::string install_hint(const std::string& library_name) {
  return fmt::format(
      "cmdai needs {} to download models; install it with `sudo apt install libcurl4` (Debian "
      "and Ubuntu), or download the .gguf file yourself and use cmdai --model /path/to/file.gguf",
      library_name);
}

Result<std::unique_ptr<CurlLibrary>> open_library(const std::string& library_name) {
  // RTLD_LOCAL: libcurl's symbols are reached only through the pointers below.
  void* handle = ::dlopen(library_name.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* reason = ::dlerror();
    return make_error(ErrorCode::kNetwork, "cannot load {} ({}); {}", library_name,
                      reason != nullptr ? reason : "unknown reason", install_hint(library_name));
  }
  auto library = std::make_unique<CurlLibrary>();
  const char* missing = nullptr;  // the first function not found
  auto resolve = [&](const char* symbol, auto& function) {
    function =
        reinterpret_cast<std::remove_reference_t<decltype(function)>>(::dlsym(handle, symbol));
    if (function == nullptr && missing == nullptr) missing = symbol;
  };
  resolve("curl_global_init", library->global_init);
  resolve("curl_easy_init", library->easy_init);
  resolve("curl_easy_setopt", library->easy_setopt);
  resolve("curl_easy_perform", library->easy_perform);
  resolve("curl_easy_getinfo", library->easy_getinfo);
  resolve("curl_easy_strerror", library->easy_strerror);
  resolve("curl_easy_cleanup", library->easy_cleanup);
  if (missing != nullptr) {
    ::dlclose(handle);
    return make_error(ErrorCode::kNetwork, "{} has no function {}: it is not libcurl; {}",
                      library_name, missing, install_hint(library_name));
  }
  if (library->global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    // The handle stays open: a failed init may have registered state inside the library.
    return make_error(ErrorCode::kNetwork, "curl_global_init of {} failed; {}", library_name,
                      install_hint(library_name));
  }
  return library;
}

}  // namespace

Result<const CurlLibrary*> load_curl_library(const std::string& library_name) {
  // One per name for the whole process: dlopen's handles are process-wide anyway, and libcurl
  // must be initialised exactly once before its first use.
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<CurlLibrary>> loaded;
  std::lock_guard lock(mutex);
  auto found = loaded.find(library_name);
  if (found != loaded.end()) return static_cast<const CurlLibrary*>(found->second.get());
  Result<std::unique_ptr<CurlLibrary>> opened = open_library(library_name);
  if (!opened.ok()) return opened.take_error();
  const CurlLibrary* library = opened->get();
  loaded.emplace(library_name, std::move(*opened));
  return library;
}

}  // namespace cmdai::catalog
