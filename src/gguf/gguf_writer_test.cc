#include "gguf/gguf_writer.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <limits>

#include "base/mapped_file.h"
#include "base/testdata.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_test_util.h"

namespace cmdai::gguf {
namespace {

using testing::add_pattern_tensor;
using testing::compare_values;
using testing::pattern_bytes;

Value scalar(ValueType type, int64_t integer) {
  Value v;
  v.type = type;
  v.integer = integer;
  v.uinteger = static_cast<uint64_t>(integer);
  return v;
}

// Raw little-endian array bytes that outlive the Value pointing at them.
template <typename T>
Value numeric_array(ValueType element_type, const std::vector<T>& values,
                    std::vector<std::vector<uint8_t>>& storage) {
  auto& raw = storage.emplace_back(values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(raw.data(), values.data(), raw.size());
  Value v;
  v.type = ValueType::kArray;
  v.element_type = element_type;
  v.count = values.size();
  v.array_data = raw.data();
  return v;
}

struct ExpectedTensor {
  std::string name;
  TensorType type;
  std::vector<int64_t> ne;
};

const std::vector<ExpectedTensor> kTensors = {
    {"odd.f32", TensorType::kF32, {5}},    {"cube.f16", TensorType::kF16, {3, 2, 2}},
    {"bf16", TensorType::kBF16, {7, 3}},   {"q8_0", TensorType::kQ8_0, {64, 3}},
    {"q4_0", TensorType::kQ4_0, {32, 1}},  {"q5_1", TensorType::kQ5_1, {32, 2}},
    {"q4_K", TensorType::kQ4_K, {256, 2}}, {"four.q6_K", TensorType::kQ6_K, {256, 1, 1, 2}},
};

class WriterRoundTrip : public ::testing::TestWithParam<uint64_t> {};

TEST_P(WriterRoundTrip, ReadsBackEveryValueTypeTensorAndAlignedOffset) {
  const uint64_t alignment = GetParam();
  std::vector<std::vector<uint8_t>> storage;
  std::vector<std::pair<std::string, Value>> values;
  auto add = [&values](std::string key, const Value& value) {
    values.push_back({std::move(key), value});
  };
  add("v.u8", scalar(ValueType::kUint8, 250));
  add("v.i8", scalar(ValueType::kInt8, -100));
  add("v.u16", scalar(ValueType::kUint16, 65000));
  add("v.i16", scalar(ValueType::kInt16, -32000));
  add("v.u32", scalar(ValueType::kUint32, 4000000000));
  add("v.i32", scalar(ValueType::kInt32, -2000000000));
  add("v.i64", scalar(ValueType::kInt64, std::numeric_limits<int64_t>::min()));
  Value big_u64 = scalar(ValueType::kUint64, std::numeric_limits<int64_t>::max());
  big_u64.uinteger = std::numeric_limits<uint64_t>::max() - 5;
  add("v.u64", big_u64);
  Value f32;
  f32.type = ValueType::kFloat32;
  f32.real = 0.1f;
  add("v.f32", f32);
  Value f64;
  f64.type = ValueType::kFloat64;
  f64.real = -1.0 / 3.0;
  add("v.f64", f64);
  Value yes;
  yes.type = ValueType::kBool;
  yes.boolean = true;
  yes.integer = 1;
  add("v.bool", yes);
  Value str;
  str.type = ValueType::kString;
  str.string = std::string_view("caf\xc3\xa9 \0 nul", 11);
  add("v.str", str);
  Value empty_str;
  empty_str.type = ValueType::kString;
  add("v.empty_str", empty_str);
  Value strings;
  strings.type = ValueType::kArray;
  strings.element_type = ValueType::kString;
  strings.strings = {"a", "", "\xe4\xb8\xad"};
  strings.count = 3;
  add("v.arr.str", strings);
  add("v.arr.u8", numeric_array<uint8_t>(ValueType::kUint8, {1, 2, 255}, storage));
  add("v.arr.i16", numeric_array<int16_t>(ValueType::kInt16, {-1, 7}, storage));
  add("v.arr.u32", numeric_array<uint32_t>(ValueType::kUint32, {1u << 31}, storage));
  add("v.arr.i64", numeric_array<int64_t>(ValueType::kInt64, {-5, 1ll << 40}, storage));
  add("v.arr.f64", numeric_array<double>(ValueType::kFloat64, {0.5, -2.25}, storage));
  add("v.arr.bool", numeric_array<uint8_t>(ValueType::kBool, {1, 0, 1}, storage));
  add("v.arr.empty", numeric_array<int32_t>(ValueType::kInt32, {}, storage));

  GgufWriter writer(alignment);
  for (const auto& [key, value] : values) writer.set_value(key, value);
  writer.set_u32("t.u32", 42);
  writer.set_i32("t.i32", -42);
  writer.set_u64("t.u64", 1ull << 60);
  writer.set_f32("t.f32", 2.5f);
  writer.set_bool("t.bool", false);
  writer.set_string("t.str", "qwen2");
  writer.set_string_array("t.arr.str", {"x", "yz"});
  writer.set_i32_array("t.arr.i32", {-1, 0, 1});
  writer.set_f32_array("t.arr.f32", {1.5f, -0.25f});
  std::vector<std::vector<uint8_t>> data;
  for (size_t i = 0; i < kTensors.size(); ++i) {
    const auto& t = kTensors[i];
    data.push_back(pattern_bytes(testing::tensor_size(t.type, t.ne), static_cast<uint32_t>(i + 1)));
    writer.add_tensor(t.name, t.type, t.ne, data.back());
  }
  auto bytes = writer.to_bytes();
  ASSERT_TRUE(bytes.ok()) << bytes.error().to_string();
  auto file = GgufFile::parse(*bytes, "roundtrip.gguf");
  ASSERT_TRUE(file.ok()) << file.error().to_string();

  EXPECT_EQ(file->version(), 3u);
  EXPECT_EQ(file->alignment(), alignment);
  EXPECT_EQ(file->data_offset() % alignment, 0u);
  EXPECT_EQ(file->file_size() % alignment, 0u);
  const size_t extra_keys = alignment == 32 ? 0 : 1;  // general.alignment
  ASSERT_EQ(file->metadata().size(), values.size() + 9 + extra_keys);
  EXPECT_EQ(file->find("general.alignment") != nullptr, alignment != 32);
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(file->metadata()[i].key, values[i].first);
    EXPECT_EQ(compare_values(file->metadata()[i].value, values[i].second), "") << values[i].first;
  }
  EXPECT_EQ(file->get_int("t.u32").value(), 42);
  EXPECT_EQ(file->get_int("t.i32").value(), -42);
  EXPECT_EQ(file->get_int("t.u64").value(), 1ll << 60);
  EXPECT_EQ(file->get_float("t.f32").value(), 2.5);
  EXPECT_FALSE(file->get_bool("t.bool").value());
  EXPECT_EQ(file->get_string("t.str").value(), "qwen2");
  EXPECT_EQ(*file->get_string_array("t.arr.str").value(),
            (std::vector<std::string_view>{"x", "yz"}));
  EXPECT_EQ(file->get_int_array("t.arr.i32").value(), (std::vector<int64_t>{-1, 0, 1}));
  EXPECT_EQ(file->get_float_array("t.arr.f32").value(), (std::vector<float>{1.5f, -0.25f}));

  ASSERT_EQ(file->tensors().size(), kTensors.size());
  for (size_t i = 0; i < kTensors.size(); ++i) {
    const TensorInfo& t = file->tensors()[i];
    EXPECT_EQ(t.name, kTensors[i].name);
    EXPECT_EQ(t.type, kTensors[i].type) << t.name;
    EXPECT_EQ(t.ne, kTensors[i].ne) << t.name;
    EXPECT_EQ(t.offset % alignment, 0u) << t.name;
    ASSERT_EQ(t.size_bytes, data[i].size()) << t.name;
    EXPECT_EQ(std::memcmp(t.data, data[i].data(), data[i].size()), 0) << t.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Alignments, WriterRoundTrip, ::testing::Values(8, 32, 64, 4096));

TEST(GgufWriter, SettingAKeyTwiceKeepsItsPositionAndTheLastValue) {
  GgufWriter writer;
  writer.set_u32("first", 1);
  writer.set_string("second", "x");
  writer.set_string("first", "replaced");
  auto bytes = writer.to_bytes();
  ASSERT_TRUE(bytes.ok());
  auto file = GgufFile::parse(*bytes, "twice.gguf");
  ASSERT_TRUE(file.ok()) << file.error().to_string();
  ASSERT_EQ(file->metadata().size(), 2u);
  EXPECT_EQ(file->metadata()[0].key, "first");
  EXPECT_EQ(file->get_string("first").value(), "replaced");
}

TEST(GgufWriter, AnEmptyModelHasOnlyAHeader) {
  auto bytes = GgufWriter().to_bytes();
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->size(), 24u + 8u);  // 24-byte header, padded to 32
  auto file = GgufFile::parse(*bytes, "empty.gguf");
  ASSERT_TRUE(file.ok()) << file.error().to_string();
  EXPECT_TRUE(file->metadata().empty());
  EXPECT_TRUE(file->tensors().empty());
}

struct BadTensorCase {
  const char* what;
  TensorType type;
  std::vector<int64_t> ne;
  size_t data_bytes;
};

class WriterRejectsTensor : public ::testing::TestWithParam<BadTensorCase> {};

TEST_P(WriterRejectsTensor, WithInvalidArgumentNamingIt) {
  const BadTensorCase& c = GetParam();
  GgufWriter writer;
  writer.add_tensor("bad.weight", c.type, c.ne, std::vector<uint8_t>(c.data_bytes));
  auto bytes = writer.to_bytes();
  ASSERT_FALSE(bytes.ok()) << c.what;
  EXPECT_EQ(bytes.error().code, ErrorCode::kInvalidArgument) << c.what;
  EXPECT_NE(bytes.error().message.find("bad.weight"), std::string::npos) << bytes.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, WriterRejectsTensor,
    ::testing::Values(BadTensorCase{"one byte short", TensorType::kF32, {4, 2}, 31},
                      BadTensorCase{"one byte long", TensorType::kQ8_0, {32, 2}, 69},
                      BadTensorCase{"row not whole blocks", TensorType::kQ4_K, {128, 2}, 144},
                      BadTensorCase{"no dimensions", TensorType::kF32, {}, 4},
                      BadTensorCase{"five dimensions", TensorType::kF32, {1, 1, 1, 1, 1}, 4},
                      BadTensorCase{"zero dimension", TensorType::kF32, {4, 0}, 0},
                      BadTensorCase{"negative dimension", TensorType::kF32, {-4}, 0},
                      BadTensorCase{"unknown type", static_cast<TensorType>(77), {4}, 16}));

TEST(GgufWriter, RejectsTheSameTensorNameTwice) {
  GgufWriter writer;
  add_pattern_tensor(writer, "dup", TensorType::kF32, {4}, 1);
  add_pattern_tensor(writer, "dup", TensorType::kF32, {4}, 2);
  auto bytes = writer.to_bytes();
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(bytes.error().message.find("'dup'"), std::string::npos);
}

TEST(GgufWriter, RejectsAnAlignmentThatIsNotAPowerOfTwo) {
  for (uint64_t alignment : {0ull, 1ull, 2ull, 3ull, 4ull, 48ull, 1ull << 40}) {
    auto bytes = GgufWriter(alignment).to_bytes();
    ASSERT_FALSE(bytes.ok()) << alignment;
    EXPECT_EQ(bytes.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(GgufWriter, RejectsGeneralAlignmentMetadataThatDisagreesWithTheLayout) {
  GgufWriter writer(32);
  writer.set_u32("general.alignment", 64);
  auto bytes = writer.to_bytes();
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.error().code, ErrorCode::kInvalidArgument);
  GgufWriter agreeing(64);
  agreeing.set_u32("general.alignment", 64);
  auto ok = agreeing.to_bytes();
  ASSERT_TRUE(ok.ok()) << ok.error().to_string();
  EXPECT_EQ(GgufFile::parse(*ok, "x")->metadata().size(), 1u);
}

TEST(GgufWriter, SetValueOfANestedArrayIsReportedByToBytes) {
  Value nested;
  nested.type = ValueType::kArray;
  nested.element_type = ValueType::kArray;
  nested.count = 1;
  GgufWriter writer;
  writer.set_value("nested.key", nested);
  auto bytes = writer.to_bytes();
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(bytes.error().message.find("nested.key"), std::string::npos);
}

std::filesystem::path scratch_dir(const std::string& test) {
  auto dir = std::filesystem::temp_directory_path() /
             ("cmdai-gguf-" + test + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

TEST(GgufWriter, WriteReplacesTheFileAtomicallyAndLeavesNoTemporary) {
  const auto dir = scratch_dir("write");
  const std::string path = (dir / "model.gguf").string();
  ASSERT_TRUE(GgufWriter().write(path).ok());  // an older file that gets replaced
  GgufWriter writer = testing::small_model();
  auto status = writer.write(path);
  ASSERT_TRUE(status.ok()) << status.error().to_string();
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  auto file = GgufFile::open(path);
  ASSERT_TRUE(file.ok()) << file.error().to_string();
  EXPECT_EQ(file->tensors().size(), 4u);
  EXPECT_EQ(file->file_size(), writer.to_bytes()->size());
  std::filesystem::remove_all(dir);
}

TEST(GgufWriter, WriteIntoAMissingFolderIsAnIoErrorNamingThePath) {
  const std::string path = "/nonexistent-cmdai-folder/model.gguf";
  auto status = testing::small_model().write(path);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kIo);
  EXPECT_NE(status.error().message.find(path), std::string::npos) << status.error().message;
}

TEST(GgufWriter, WriteOfAnInvalidModelCreatesNoFile) {
  const auto dir = scratch_dir("invalid");
  const std::string path = (dir / "model.gguf").string();
  GgufWriter writer;
  writer.add_tensor("short", TensorType::kF32, {4}, std::vector<uint8_t>(3));
  EXPECT_EQ(writer.write(path).error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(std::filesystem::is_empty(dir));
  std::filesystem::remove_all(dir);
}

// A file-size limit makes write() fail with EFBIG part-way, as a full disk would with ENOSPC.
// It runs in a child process so the limit cannot leak into other tests.
TEST(GgufWriter, AFullDiskIsResourceExhaustedNamingThePathAndRemovesTheTemporary) {
  const auto dir = scratch_dir("full");
  const std::string path = (dir / "model.gguf").string();
  GgufWriter writer;
  add_pattern_tensor(writer, "big", TensorType::kF32, {4096, 4}, 1);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::signal(SIGXFSZ, SIG_IGN);
    rlimit limit{4096, 4096};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    auto status = writer.write(path);
    int code = 0;
    if (status.ok())
      code = 10;
    else if (status.error().code != ErrorCode::kResourceExhausted)
      code = 11;
    else if (status.error().message.find(path) == std::string::npos)
      code = 12;
    ::_exit(code);
  }
  int wait_status = 0;
  ASSERT_EQ(::waitpid(pid, &wait_status, 0), pid);
  ASSERT_TRUE(WIFEXITED(wait_status));
  EXPECT_EQ(WEXITSTATUS(wait_status), 0)
      << "10: write succeeded, 11: wrong error code, 12: no path";
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  std::filesystem::remove_all(dir);
}

// Copying a real file key by key and tensor by tensor must reproduce its metadata and data.
TEST(GgufWriter, CopyOfARealModelReadsBackIdentical) {
  auto dir = find_testdata_dir(CMDAI_SOURCE_DIR);
  if (!dir) GTEST_SKIP() << "shared testdata not found (set CMDAI_TESTDATA): skipping";
  auto original = GgufFile::open((*dir / "tiny-qwen2-q8_0.gguf").string());
  ASSERT_TRUE(original.ok()) << original.error().to_string();
  GgufWriter writer(original->alignment());
  for (const auto& entry : original->metadata()) writer.set_value(entry.key, entry.value);
  for (const auto& t : original->tensors()) {
    writer.add_tensor(t.name, t.type, t.ne, std::vector<uint8_t>(t.data, t.data + t.size_bytes));
  }
  auto bytes = writer.to_bytes();
  ASSERT_TRUE(bytes.ok()) << bytes.error().to_string();
  auto copy = GgufFile::parse(*bytes, "copy.gguf");
  ASSERT_TRUE(copy.ok()) << copy.error().to_string();

  EXPECT_EQ(copy->data_offset(), original->data_offset());
  ASSERT_EQ(copy->metadata().size(), original->metadata().size());
  for (size_t i = 0; i < copy->metadata().size(); ++i) {
    const auto& key = original->metadata()[i].key;
    EXPECT_EQ(copy->metadata()[i].key, key);
    EXPECT_EQ(compare_values(copy->metadata()[i].value, original->metadata()[i].value), "") << key;
  }
  ASSERT_EQ(copy->tensors().size(), original->tensors().size());
  for (size_t i = 0; i < copy->tensors().size(); ++i) {
    const TensorInfo& a = original->tensors()[i];
    const TensorInfo& b = copy->tensors()[i];
    EXPECT_EQ(b.name, a.name);
    EXPECT_EQ(b.type, a.type) << a.name;
    EXPECT_EQ(b.ne, a.ne) << a.name;
    EXPECT_EQ(b.offset, a.offset) << a.name;
    ASSERT_EQ(b.size_bytes, a.size_bytes) << a.name;
    EXPECT_EQ(std::memcmp(a.data, b.data, a.size_bytes), 0) << a.name;
  }
  // ggml lays files out the same way, so the copy is byte for byte the original.
  auto raw = MappedFile::open((*dir / "tiny-qwen2-q8_0.gguf").string());
  ASSERT_TRUE(raw.ok());
  ASSERT_EQ(bytes->size(), raw->size());
  EXPECT_EQ(std::memcmp(bytes->data(), raw->data(), raw->size()), 0);
}

}  // namespace
}  // namespace cmdai::gguf
