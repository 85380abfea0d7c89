// libcurl, loaded with dlopen() on the first download instead of linked: its ~30 dependencies
// (TLS, Kerberos, LDAP, SSH, ...) cost several milliseconds at every process start, and most
// commands (`cmdai check`, `--version`) never download.
#pragma once

#include <curl/curl.h>

#include <string>

#include "base/result.h"

namespace cmdai::catalog {

// The soname of libcurl's ABI 4, from the Debian package libcurl4.
inline constexpr const char* kCurlLibraryName = "libcurl.so.4";

// The libcurl functions download.cc uses, resolved from the loaded library. The pointer types are
// those of the declarations in <curl/curl.h>, so the variadic setopt/getinfo keep their varargs
// calling convention.
struct CurlLibrary {
  decltype(&::curl_global_init) global_init = nullptr;
  decltype(&::curl_easy_init) easy_init = nullptr;
  decltype(&::curl_easy_setopt) easy_setopt = nullptr;
  decltype(&::curl_easy_perform) easy_perform = nullptr;
  decltype(&::curl_easy_getinfo) easy_getinfo = nullptr;
  decltype(&::curl_easy_strerror) easy_strerror = nullptr;
  decltype(&::curl_easy_cleanup) easy_cleanup = nullptr;
};

// Loads `library_name` (a soname or path, as dlopen takes it), resolves the functions and runs
// curl_global_init, once per name for the process's lifetime (libcurl cannot be unloaded safely
// once initialised). Thread-safe. A library that cannot be loaded or lacks a function is a
// kNetwork error (a download that cannot run) naming it and the Debian package to install; a later
// call tries again.
Result<const CurlLibrary*> load_curl_library(const std::string& library_name = kCurlLibraryName);

}  // namespace cmdai::catalog
