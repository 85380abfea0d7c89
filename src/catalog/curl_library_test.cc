// The libcurl loader: the real library loads once; a missing one is a typed error, never a crash,
// and a download that needs it fails before touching the disk.
#include "catalog/curl_library.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "catalog/download.h"

namespace cmdai::catalog {
namespace {

// A soname no system ships, so dlopen() fails exactly as it does where libcurl4 is not installed.
constexpr const char* kMissingLibrary = "libcurl-cmdai-test-missing.so.4";

TEST(CurlLibrary, LoadsTheSystemLibcurlOnceAndResolvesEveryFunction) {
  Result<const CurlLibrary*> first = load_curl_library();
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  const CurlLibrary& library = **first;
  EXPECT_NE(library.global_init, nullptr);
  EXPECT_NE(library.easy_init, nullptr);
  EXPECT_NE(library.easy_setopt, nullptr);
  EXPECT_NE(library.easy_perform, nullptr);
  EXPECT_NE(library.easy_getinfo, nullptr);
  EXPECT_NE(library.easy_cleanup, nullptr);
  ASSERT_NE(library.easy_strerror, nullptr);
  EXPECT_STREQ(library.easy_strerror(CURLE_OK), "No error");

  Result<const CurlLibrary*> second = load_curl_library(kCurlLibraryName);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, *first);
}

TEST(CurlLibrary, AMissingLibraryIsANetworkErrorNamingItAndThePackage) {
  Result<const CurlLibrary*> library = load_curl_library(kMissingLibrary);
  ASSERT_FALSE(library.ok());
  EXPECT_EQ(library.error().code, ErrorCode::kNetwork);
  EXPECT_NE(library.error().message.find(kMissingLibrary), std::string::npos)
      << library.error().message;
  EXPECT_NE(library.error().message.find("apt install libcurl4"), std::string::npos)
      << library.error().message;
}

TEST(CurlLibrary, ALibraryWithoutTheCurlFunctionsIsRefused) {
  // libc is loaded in every process and has none of libcurl's functions.
  Result<const CurlLibrary*> library = load_curl_library("libc.so.6");
  ASSERT_FALSE(library.ok());
  EXPECT_EQ(library.error().code, ErrorCode::kNetwork);
  EXPECT_NE(library.error().message.find("has no function curl_global_init"), std::string::npos)
      << library.error().message;
}

TEST(CurlLibrary, DownloadWithoutLibcurlFailsBeforeWritingAnything) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / "cmdai_curl_library_test";
  std::filesystem::remove_all(dir);
  DownloadOptions options;
  options.url = "http://127.0.0.1:9/model.gguf";
  options.dest = dir / "model.gguf";
  options.model_name = "tiny";
  options.curl_library = kMissingLibrary;

  Result<DownloadResult> result = download_file(options);

  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kNetwork);
  const std::string& message = result.error().message;
  EXPECT_NE(message.find("cannot download tiny from http://127.0.0.1:9/model.gguf"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find(kMissingLibrary), std::string::npos) << message;
  EXPECT_NE(message.find("libcurl4"), std::string::npos) << message;
  EXPECT_FALSE(std::filesystem::exists(dir));  // not even the cache directory or a .part
}

}  // namespace
}  // namespace cmdai::catalog
