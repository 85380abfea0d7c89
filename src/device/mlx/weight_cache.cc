#include "device/mlx/weight_cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "base/fnv1a.h"
#include "device/mlx/weight_cache_pruning.h"

namespace cmdai::mlx_device {
namespace {

constexpr char kMagic[8] = {'C', 'M', 'D', 'A', 'I', 'M', 'L', 'X'};
constexpr size_t kAlign = 4096;  // page-aligned arrays: what Metal can wrap without a copy
constexpr size_t kSample = 64;

// The first page of the file. The arrays' offsets are not stored: they follow from the spec
// (layout()), which the fingerprint pins down.
struct Header {
  char magic[8];
  uint32_t version;
  uint32_t n_matrices;
  uint64_t fingerprint;
  uint64_t file_bytes;
  uint64_t samples_hash;  // 64-byte samples of every array (start, middle, end)
};

size_t align_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

struct Placed {
  MlxForm form;
  RepackedSizes sizes;
  size_t words_at = 0, scales_at = 0, biases_at = 0;
};

// Where every matrix's arrays go; the file's size.
Result<std::vector<Placed>> layout(const std::vector<const device::WeightMatrix*>& matrices,
                                   size_t* file_bytes) {
  std::vector<Placed> placed;
  size_t at = kAlign;  // after the header page
  for (const device::WeightMatrix* m : matrices) {
    Placed p;
    CMDAI_ASSIGN_OR_RETURN(p.form, mlx_form_of(*m));
    p.sizes = repacked_sizes(*m, p.form);
    p.words_at = at;
    if (p.form.dense != DenseType::kNone) {
      at = align_up(at + p.sizes.dense_bytes);
    } else {
      p.scales_at = align_up(at + p.sizes.word_count * 4);
      p.biases_at = align_up(p.scales_at + p.sizes.group_count * 4);
      at = align_up(p.biases_at + p.sizes.group_count * 4);
    }
    placed.push_back(p);
  }
  *file_bytes = at;
  return placed;
}

uint64_t sample_hash(const uint8_t* base, const std::vector<Placed>& placed) {
  uint64_t h = kFnv1aOffset;
  const auto sample = [&](size_t at, size_t bytes) {
    const size_t n = std::min(kSample, bytes);
    for (size_t off : {size_t{0}, (bytes - n) / 2, bytes - n}) h = fnv1a(base + at + off, n, h);
  };
  for (const Placed& p : placed) {
    if (p.form.dense != DenseType::kNone) {
      sample(p.words_at, p.sizes.dense_bytes);
    } else {
      sample(p.words_at, p.sizes.word_count * 4);
      sample(p.scales_at, p.sizes.group_count * 4);
      sample(p.biases_at, p.sizes.group_count * 4);
    }
  }
  return h;
}

std::vector<CachedMatrix> views(const uint8_t* base, const std::vector<Placed>& placed) {
  std::vector<CachedMatrix> out;
  for (const Placed& p : placed) {
    CachedMatrix c;
    c.form = p.form;
    c.words = base + p.words_at;
    if (p.form.dense == DenseType::kNone) {
      c.scales = reinterpret_cast<const float*>(base + p.scales_at);
      c.biases = reinterpret_cast<const float*>(base + p.biases_at);
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

std::vector<const device::WeightMatrix*> spec_matrices(const device::ModelSpec& spec) {
  std::vector<const device::WeightMatrix*> out;
  for (const device::LayerTensors& t : spec.layers) {
    for (const device::WeightMatrix* m :
         {&t.attn_q, &t.attn_k, &t.attn_v, &t.attn_output, &t.ffn_gate, &t.ffn_up, &t.ffn_down}) {
      out.push_back(m);
    }
  }
  out.push_back(&spec.output);
  return out;
}

uint64_t spec_fingerprint(const device::ModelSpec& spec) {
  uint64_t h = kFnv1aOffset;
  const auto mix = [&h](const void* data, size_t size) { h = fnv1a(data, size, h); };
  const device::TransformerShape& s = spec.shape;
  const int64_t dims[] = {s.n_layers, s.hidden_dim, s.n_heads,   s.n_kv_heads,
                          s.head_dim, s.ffn_dim,    s.vocab_size};
  mix(dims, sizeof dims);
  for (const device::WeightMatrix* m : spec_matrices(spec)) {
    const uint32_t type = static_cast<uint32_t>(m->type);
    mix(&type, sizeof type);
    mix(&m->rows, sizeof m->rows);
    mix(&m->cols, sizeof m->cols);
    const size_t bytes = m->row_bytes * static_cast<size_t>(m->rows);
    const size_t n = std::min(kSample, bytes);
    for (size_t at : {size_t{0}, (bytes - n) / 2, bytes - n}) mix(m->data + at, n);
  }
  return h;
}

Result<std::shared_ptr<WeightCache>> WeightCache::open(const std::string& path,
                                                       const device::ModelSpec& spec) {
  CMDAI_ASSIGN_OR_RETURN(MappedFile file, MappedFile::open(path));
  const auto matrices = spec_matrices(spec);
  size_t file_bytes = 0;
  CMDAI_ASSIGN_OR_RETURN(const auto placed, layout(matrices, &file_bytes));
  Header header{};
  if (file.size() < sizeof header) {
    return make_error(ErrorCode::kCorruptFile, "MLX weight cache '{}' is truncated", path);
  }
  std::memcpy(&header, file.data(), sizeof header);
  if (std::memcmp(header.magic, kMagic, sizeof kMagic) != 0 ||
      header.version != kWeightCacheVersion || header.fingerprint != spec_fingerprint(spec) ||
      header.n_matrices != matrices.size() || header.file_bytes != file_bytes ||
      file.size() != file_bytes || header.samples_hash != sample_hash(file.data(), placed)) {
    return make_error(ErrorCode::kCorruptFile,
                      "MLX weight cache '{}' is damaged, of another version or of another model",
                      path);
  }
  auto cache = std::shared_ptr<WeightCache>(new WeightCache());
  cache->matrices_ = views(file.data(), placed);
  cache->file_ = std::move(file);
  return cache;
}

Status WeightCache::build(const std::string& path, const device::ModelSpec& spec) {
  const auto matrices = spec_matrices(spec);
  size_t file_bytes = 0;
  CMDAI_ASSIGN_OR_RETURN(const auto placed, layout(matrices, &file_bytes));
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return make_error(ErrorCode::kIo, "cannot write the MLX weight cache '{}': {}", tmp,
                      std::strerror(errno));
  }
  void* map = MAP_FAILED;
  if (::ftruncate(fd, static_cast<off_t>(file_bytes)) == 0) {
    map = ::mmap(nullptr, file_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  }
  if (map == MAP_FAILED) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return make_error(ErrorCode::kIo, "cannot size the MLX weight cache '{}' ({} bytes): {}", tmp,
                      file_bytes, std::strerror(err));
  }
  auto* base = static_cast<uint8_t*>(map);
  for (size_t i = 0; i < matrices.size(); ++i) {
    const Placed& p = placed[i];
    repack_matrix(*matrices[i], p.form, reinterpret_cast<uint32_t*>(base + p.words_at),
                  reinterpret_cast<float*>(base + p.scales_at),
                  reinterpret_cast<float*>(base + p.biases_at), base + p.words_at);
  }
  Header header{};
  std::memcpy(header.magic, kMagic, sizeof kMagic);
  header.version = kWeightCacheVersion;
  header.n_matrices = static_cast<uint32_t>(matrices.size());
  header.fingerprint = spec_fingerprint(spec);
  header.file_bytes = file_bytes;
  header.samples_hash = sample_hash(base, placed);
  std::memcpy(base, &header, sizeof header);  // last: a file cut short before this never matches
  const bool synced = ::msync(map, file_bytes, MS_SYNC) == 0;
  ::munmap(map, file_bytes);
  ::close(fd);
  if (!synced || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return make_error(ErrorCode::kIo, "cannot write the MLX weight cache '{}'", path);
  }
  return ok_status();
}

Result<std::shared_ptr<WeightCache>> WeightCache::open_or_build(const std::string& dir,
                                                                const device::ModelSpec& spec) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::string path =
      fmt::format("{}/{:016x}.v{}.mlxw", dir, spec_fingerprint(spec), kWeightCacheVersion);
  if (auto cached = open(path, spec); cached.ok()) {
    mark_weight_cache_used(path);
    return cached;
  }
  CMDAI_TRY(build(path, spec));
  CMDAI_ASSIGN_OR_RETURN(auto cache, open(path, spec));
  cache->built_ = true;
  prune_weight_caches(dir, path, kWeightCacheVersion);
  return cache;
}

}  // namespace cmdai::mlx_device
