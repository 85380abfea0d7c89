#include "gguf/gguf_file.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "base/testdata.h"

namespace cmdai::gguf {
namespace {

std::optional<std::filesystem::path> testdata() { return find_testdata_dir(CMDAI_SOURCE_DIR); }

// Each *.tensors.json was written by a dumper over ggml's own reader: our reader must agree.
class GgufReaderMatchesDump : public ::testing::TestWithParam<std::string> {};

TEST_P(GgufReaderMatchesDump, HeaderMetadataAndTensorTable) {
  auto dir = testdata();
  if (!dir) GTEST_SKIP() << "shared testdata not found (set CMDAI_TESTDATA): skipping";
  const std::string stem = GetParam();
  std::ifstream in(*dir / (stem + ".tensors.json"));
  const auto dump = nlohmann::json::parse(in);

  auto file = GgufFile::open((*dir / (stem + ".gguf")).string());
  ASSERT_TRUE(file.ok()) << file.error().to_string();
  EXPECT_EQ(file->version(), dump["version"].get<uint32_t>());
  EXPECT_EQ(file->alignment(), dump["alignment"].get<uint64_t>());
  EXPECT_EQ(file->data_offset(), dump["data_offset"].get<uint64_t>());
  EXPECT_EQ(file->metadata().size(), dump["kv"].size());
  for (const auto& [key, entry] : dump["kv"].items()) {
    const Value* v = file->find(key);
    ASSERT_NE(v, nullptr) << key;
    const std::string type = entry["type"];
    if (type.rfind("arr[", 0) == 0) {
      EXPECT_EQ(v->count, entry["n"].get<uint64_t>()) << key;
    } else if (type == "str") {
      EXPECT_EQ(v->string, entry["value"].get<std::string>()) << key;
    } else if (type == "f32" || type == "f64") {
      EXPECT_FLOAT_EQ(static_cast<float>(v->real), entry["value"].get<float>()) << key;
    } else if (type == "bool") {
      EXPECT_EQ(v->boolean, entry["value"].get<bool>()) << key;
    } else {
      EXPECT_EQ(v->integer, entry["value"].get<int64_t>()) << key;
    }
  }
  ASSERT_EQ(file->tensors().size(), dump["tensors"].size());
  for (size_t i = 0; i < file->tensors().size(); ++i) {
    const TensorInfo& t = file->tensors()[i];
    const auto& d = dump["tensors"][i];
    EXPECT_EQ(t.name, d["name"].get<std::string>());
    EXPECT_EQ(type_name(t.type), d["type"].get<std::string>()) << t.name;
    EXPECT_EQ(t.ne[0], d["ne"][0].get<int64_t>()) << t.name;
    EXPECT_EQ(t.rows(), d["ne"][1].get<int64_t>()) << t.name;
    EXPECT_EQ(t.offset - file->data_offset(), d["offset"].get<uint64_t>()) << t.name;
    EXPECT_EQ(t.size_bytes, d["bytes"].get<uint64_t>()) << t.name;
  }
}

INSTANTIATE_TEST_SUITE_P(SharedModels, GgufReaderMatchesDump,
                         ::testing::Values("stories260K", "tiny-qwen2-q4_k_m", "tiny-qwen2-q8_0"));

TEST(GgufReader, TypedAccessorsReadVocabArrays) {
  auto dir = testdata();
  if (!dir) GTEST_SKIP() << "shared testdata not found (set CMDAI_TESTDATA): skipping";
  auto file = GgufFile::open((*dir / "tiny-qwen2-q8_0.gguf").string());
  ASSERT_TRUE(file.ok()) << file.error().to_string();
  EXPECT_EQ(file->architecture(), "qwen2");
  auto tokens = file->get_string_array("tokenizer.ggml.tokens");
  ASSERT_TRUE(tokens.ok());
  EXPECT_EQ((*tokens)->size(), 151936u);
  EXPECT_EQ((**tokens)[151645], "<|im_end|>");
  auto types = file->get_int_array("tokenizer.ggml.token_type");
  ASSERT_TRUE(types.ok());
  EXPECT_EQ(types->size(), 151936u);
  EXPECT_EQ(file->get_int("qwen2.block_count").value(), 2);
  EXPECT_NEAR(file->get_float("qwen2.attention.layer_norm_rms_epsilon").value(), 1e-6, 1e-12);
  EXPECT_EQ(file->get_int("tokenizer.ggml.eos_token_id").value(), 151645);
}

TEST(GgufReader, WrongTypeAndMissingKeyNameTheKey) {
  auto dir = testdata();
  if (!dir) GTEST_SKIP() << "shared testdata not found (set CMDAI_TESTDATA): skipping";
  auto file = GgufFile::open((*dir / "stories260K.gguf").string());
  ASSERT_TRUE(file.ok()) << file.error().to_string();
  auto missing = file->get_int("llama.no_such_key");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("llama.no_such_key"), std::string::npos);
  auto wrong = file->get_string("llama.block_count");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, ErrorCode::kCorruptFile);
  EXPECT_EQ(file->get_int_or("llama.no_such_key", 7).value(), 7);
  auto tensor = file->tensor("blk.99.attn_q.weight");
  ASSERT_FALSE(tensor.ok());
  EXPECT_NE(tensor.error().message.find("blk.99.attn_q.weight"), std::string::npos);
}

TEST(GgufReader, RejectsBadMagic) {
  const std::vector<uint8_t> bytes = {'G', 'G', 'M', 'L', 3, 0, 0, 0};
  auto file = GgufFile::parse(bytes, "x.gguf");
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.error().code, ErrorCode::kCorruptFile);
  EXPECT_NE(file.error().message.find("not a GGUF"), std::string::npos);
}

TEST(GgufReader, RejectsUnknownVersion) {
  const std::vector<uint8_t> bytes = {'G', 'G', 'U', 'F', 9, 0, 0, 0, 0, 0, 0, 0,
                                      0,   0,   0,   0,   0, 0, 0, 0, 0, 0, 0, 0};
  auto file = GgufFile::parse(bytes, "x.gguf");
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.error().code, ErrorCode::kUnsupported);
}

TEST(GgufReader, RejectsAbsurdTensorCountWithoutAllocating) {
  std::vector<uint8_t> bytes = {'G', 'G', 'U', 'F', 3, 0, 0, 0};
  for (int i = 0; i < 8; ++i) bytes.push_back(0xff);  // n_tensors
  for (int i = 0; i < 8; ++i) bytes.push_back(0);     // n_kv
  auto file = GgufFile::parse(bytes, "x.gguf");
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.error().code, ErrorCode::kCorruptFile);
}

}  // namespace
}  // namespace cmdai::gguf
