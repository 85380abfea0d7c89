#include "catalog/catalog.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <set>
#include <string>

#include "catalog/paths.h"
#include "catalog/sha256.h"

namespace cmdai::catalog {
namespace {

// Sets (or unsets, for nullopt) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      setenv(name, value->c_str(), 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

std::filesystem::path make_temp_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "cmdai-catalog-XXXXXX").string();
  const char* made = mkdtemp(pattern.data());
  EXPECT_NE(made, nullptr);
  return pattern;
}

TEST(Paths, CmdaiOverridesWinOverXdgDirectories) {
  ScopedEnv cache("CMDAI_CACHE_DIR", "/tmp/cmdai-cache-override");
  ScopedEnv config("CMDAI_CONFIG_DIR", "/tmp/cmdai-config-override");
  ScopedEnv xdg_cache("XDG_CACHE_HOME", "/xdg/cache");
  ScopedEnv xdg_config("XDG_CONFIG_HOME", "/xdg/config");
  EXPECT_EQ(cache_dir(), "/tmp/cmdai-cache-override");
  EXPECT_EQ(models_dir(), "/tmp/cmdai-cache-override/models");
  EXPECT_EQ(config_dir(), "/tmp/cmdai-config-override");
}

TEST(Paths, XdgDirectoriesGetACmdaiSubfolder) {
  ScopedEnv cache("CMDAI_CACHE_DIR", std::nullopt);
  ScopedEnv config("CMDAI_CONFIG_DIR", std::nullopt);
  ScopedEnv xdg_cache("XDG_CACHE_HOME", "/xdg/cache");
  ScopedEnv xdg_config("XDG_CONFIG_HOME", "/xdg/config");
  EXPECT_EQ(cache_dir(), "/xdg/cache/cmdai");
  EXPECT_EQ(config_dir(), "/xdg/config/cmdai");
}

TEST(Paths, FallsBackToHomeWhenXdgIsUnsetOrRelative) {
  ScopedEnv cache("CMDAI_CACHE_DIR", std::nullopt);
  ScopedEnv config("CMDAI_CONFIG_DIR", std::nullopt);
  ScopedEnv home("HOME", "/home/someone");
  ScopedEnv xdg_cache("XDG_CACHE_HOME", std::nullopt);
  ScopedEnv xdg_config("XDG_CONFIG_HOME", "relative/dir");
  EXPECT_EQ(cache_dir(), "/home/someone/.cache/cmdai");
  EXPECT_EQ(config_dir(), "/home/someone/.config/cmdai");
}

TEST(Catalog, DefaultModelIsQwenCoder15BQ4KM) {
  const ModelEntry& entry = default_model();
  EXPECT_EQ(entry.name, "qwen2.5-coder-1.5b-q4_k_m");
  EXPECT_EQ(entry.url,
            "https://huggingface.co/Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF/resolve/main/"
            "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf");
  EXPECT_GT(entry.size_bytes, 0u);
}

TEST(Catalog, EveryEntryHasAUniqueNameAHuggingFaceUrlAndAValidOrEmptyHash) {
  std::set<std::string> names;
  for (const ModelEntry& entry : known_models()) {
    EXPECT_TRUE(names.insert(entry.name).second) << entry.name;
    EXPECT_EQ(entry.url,
              "https://huggingface.co/" + entry.repo + "/resolve/main/" + entry.file_name);
    EXPECT_TRUE(entry.sha256.empty() || is_sha256_hex(entry.sha256)) << entry.name;
    EXPECT_FALSE(entry.description.empty()) << entry.name;
  }
  EXPECT_GE(known_models().size(), 4u);
}

TEST(Catalog, FindsModelsIgnoringCaseAndRejectsUnknownNames) {
  ASSERT_NE(find_model("QWEN2.5-CODER-0.5B-Q4_K_M"), nullptr);
  EXPECT_EQ(find_model("QWEN2.5-CODER-0.5B-Q4_K_M")->name, "qwen2.5-coder-0.5b-q4_k_m");
  EXPECT_EQ(find_model("qwen2.5-coder-7b"), nullptr);
}

TEST(ResolveModel, EmptyMeansTheDefaultModelInTheCache) {
  ScopedEnv cache("CMDAI_CACHE_DIR", "/nonexistent/cache");
  auto resolved = resolve_model("");
  ASSERT_TRUE(resolved.ok()) << resolved.error().to_string();
  EXPECT_EQ(resolved->entry, &default_model());
  EXPECT_EQ(resolved->path, "/nonexistent/cache/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf");
  EXPECT_FALSE(resolved->exists);
}

TEST(ResolveModel, AnExistingGgufPathWinsAndAMissingOneIsNotFound) {
  const std::filesystem::path dir = make_temp_dir();
  const std::filesystem::path file = dir / "mine.gguf";
  std::ofstream(file) << "GGUF";
  auto resolved = resolve_model(file.string());
  ASSERT_TRUE(resolved.ok()) << resolved.error().to_string();
  EXPECT_EQ(resolved->path, file);
  EXPECT_EQ(resolved->entry, nullptr);
  EXPECT_TRUE(resolved->exists);

  auto missing = resolve_model((dir / "other.gguf").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("other.gguf"), std::string::npos);

  auto directory = resolve_model(dir.string() + "/");
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.error().code, ErrorCode::kInvalidArgument);
  std::filesystem::remove_all(dir);
}

TEST(ResolveModel, CatalogModelReportsWhetherItIsCached) {
  const std::filesystem::path dir = make_temp_dir();
  ScopedEnv cache("CMDAI_CACHE_DIR", dir.string());
  const ModelEntry* entry = find_model("qwen2.5-coder-3b-q4_k_m");
  ASSERT_NE(entry, nullptr);
  EXPECT_FALSE(resolve_model(entry->name)->exists);
  std::filesystem::create_directories(models_dir());
  std::ofstream(cached_path(*entry)) << "GGUF";
  auto resolved = resolve_model(entry->name);
  ASSERT_TRUE(resolved.ok());
  EXPECT_TRUE(resolved->exists);
  EXPECT_EQ(resolved->path, dir / "models" / entry->file_name);
  std::filesystem::remove_all(dir);
}

// Issue 15 defect 10: `model list` shows a model pulled from a URL by its file name.
TEST(ResolveModel, AFileInTheCacheIsFoundByTheNameModelListShows) {
  const std::filesystem::path dir = make_temp_dir();
  ScopedEnv cache("CMDAI_CACHE_DIR", dir.string());
  std::filesystem::create_directories(models_dir());
  std::ofstream(models_dir() / "pulled.gguf") << "GGUF";
  std::ofstream(models_dir() / "qwen2.5-coder-3b-instruct-q4_k_m.gguf") << "GGUF";
  for (const char* name : {"pulled.gguf", "qwen2.5-coder-3b-instruct-q4_k_m.gguf"}) {
    auto resolved = resolve_model(name);
    ASSERT_TRUE(resolved.ok()) << name << ": " << resolved.error().to_string();
    EXPECT_EQ(resolved->path, models_dir() / name);
    EXPECT_TRUE(resolved->exists);
  }
  auto missing = resolve_model("not-pulled.gguf");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  std::filesystem::remove_all(dir);
}

TEST(ResolveModel, UnknownNameListsTheKnownNames) {
  auto resolved = resolve_model("llama-70b");
  ASSERT_FALSE(resolved.ok());
  EXPECT_EQ(resolved.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(resolved.error().message.find("llama-70b"), std::string::npos);
  EXPECT_NE(resolved.error().message.find(std::string(kDefaultModelName)), std::string::npos);
}

TEST(FileNameFromUrl, TakesTheLastPathSegment) {
  struct Case {
    const char* url;
    const char* expected;  // nullptr = error
  };
  const Case cases[] = {
      {"https://huggingface.co/a/b/resolve/main/x.gguf", "x.gguf"},
      {"http://127.0.0.1:8080/m.gguf?download=true", "m.gguf"},
      {"https://host/dir/file.gguf#frag", "file.gguf"},
      {"https://host/dir/Model.GGUF", "Model.GGUF"},
      {"https://host/download/latest?x=1", "latest.gguf"},  // so `model list` shows it
      {"https://host/dir/", nullptr},
      {"https://host", nullptr},
      {"ftp://host/x.gguf", nullptr},
      {"/local/x.gguf", nullptr},
  };
  for (const Case& c : cases) {
    auto name = file_name_from_url(c.url);
    if (c.expected == nullptr) {
      EXPECT_FALSE(name.ok()) << c.url;
    } else {
      ASSERT_TRUE(name.ok()) << c.url << ": " << name.error().to_string();
      EXPECT_EQ(*name, c.expected) << c.url;
    }
  }
}

TEST(RecordedSha256, RoundTripsInSha256sumFormat) {
  const std::filesystem::path dir = make_temp_dir();
  const std::filesystem::path model = dir / "m.gguf";
  EXPECT_EQ(read_recorded_sha256(model), "");
  const std::string hex(64, 'A');
  ASSERT_TRUE(write_recorded_sha256(model, hex).ok());
  EXPECT_EQ(read_recorded_sha256(model), std::string(64, 'a'));
  std::ifstream in(recorded_sha256_path(model));
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, hex + "  m.gguf");
  std::filesystem::remove_all(dir);
}

TEST(Sha256, MatchesTheFips180TestVectors) {
  Sha256 hash;
  hash.update("abc", 3);
  EXPECT_EQ(hash.finish_hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hash.finish_hex(),  // finish resets: this is the empty message
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const std::filesystem::path dir = make_temp_dir();
  std::ofstream(dir / "abc") << "abc";
  auto file_hash = sha256_file_hex(dir / "abc");
  ASSERT_TRUE(file_hash.ok());
  EXPECT_EQ(*file_hash, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_FALSE(sha256_file_hex(dir / "missing").ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cmdai::catalog
