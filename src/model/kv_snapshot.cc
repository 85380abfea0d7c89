#include "model/kv_snapshot.h"

#include <algorithm>
#include <cstring>

namespace cmdai::model {
namespace {

constexpr char kMagic[4] = {'C', 'M', 'K', 'V'};
constexpr uint32_t kFormatVersion = 1;

// Header: magic, version, type, then n_layers, kv_dim, n_positions as u64. Then the token ids,
// then per layer the K rows and the V rows of those positions.
struct SnapshotHeader {
  char magic[4];
  uint32_t version;
  uint32_t type;
  uint32_t reserved;
  uint64_t n_layers;
  uint64_t kv_dim;
  uint64_t n_positions;
};

}  // namespace

Result<std::vector<uint8_t>> serialize_kv(const device::KvState& kv,
                                          std::span<const int32_t> tokens) {
  const size_t n = std::min(tokens.size(), static_cast<size_t>(std::max(0, kv.n_filled())));
  SnapshotHeader header{};
  std::memcpy(header.magic, kMagic, sizeof kMagic);
  header.version = kFormatVersion;
  header.type = static_cast<uint32_t>(kv.type());
  header.n_layers = static_cast<uint64_t>(kv.n_layers());
  header.kv_dim = static_cast<uint64_t>(kv.kv_dim());
  header.n_positions = n;
  const size_t rows_bytes = n * static_cast<size_t>(kv.kv_dim()) * kv_element_bytes(kv.type());
  std::vector<uint8_t> out(sizeof header + n * sizeof(int32_t) +
                           2 * rows_bytes * static_cast<size_t>(kv.n_layers()));
  uint8_t* dst = out.data();
  std::memcpy(dst, &header, sizeof header);
  dst += sizeof header;
  std::memcpy(dst, tokens.data(), n * sizeof(int32_t));
  dst += n * sizeof(int32_t);
  for (int64_t l = 0; l < kv.n_layers(); ++l) {
    CMDAI_TRY(kv.read_rows(l, 0, static_cast<int32_t>(n), dst, dst + rows_bytes));
    dst += 2 * rows_bytes;
  }
  return out;
}

Result<std::unique_ptr<device::KvState>> deserialize_kv(std::span<const uint8_t> bytes,
                                                        int64_t n_layers, int64_t kv_dim,
                                                        device::KvType type, int64_t n_ctx,
                                                        const KvFactory& make,
                                                        std::vector<int32_t>* tokens) {
  SnapshotHeader header{};
  if (bytes.size() < sizeof header) {
    return make_error(ErrorCode::kCorruptFile, "KV snapshot is truncated ({} bytes)", bytes.size());
  }
  std::memcpy(&header, bytes.data(), sizeof header);
  if (std::memcmp(header.magic, kMagic, sizeof kMagic) != 0 || header.version != kFormatVersion) {
    return make_error(ErrorCode::kCorruptFile, "not a KV snapshot of format version {}",
                      kFormatVersion);
  }
  if (header.n_layers != static_cast<uint64_t>(n_layers) ||
      header.kv_dim != static_cast<uint64_t>(kv_dim) ||
      header.type != static_cast<uint32_t>(type)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "KV snapshot was made for {} layers x {} (type {}), not {} x {} (type {})",
                      header.n_layers, header.kv_dim, header.type, n_layers, kv_dim,
                      static_cast<uint32_t>(type));
  }
  const size_t element = device::kv_element_bytes(type);
  const uint64_t n = header.n_positions;
  if (n > static_cast<uint64_t>(INT32_MAX) ||
      bytes.size() !=
          sizeof header + n * sizeof(int32_t) +
              2 * n * static_cast<uint64_t>(kv_dim) * element * static_cast<uint64_t>(n_layers)) {
    return make_error(ErrorCode::kCorruptFile, "KV snapshot of {} positions has the wrong size", n);
  }
  CMDAI_ASSIGN_OR_RETURN(
      std::unique_ptr<device::KvState> kv,
      make(std::max<int64_t>(n_ctx, std::max<int64_t>(1, static_cast<int64_t>(n)))));
  const uint8_t* src = bytes.data() + sizeof header;
  tokens->resize(n);
  std::memcpy(tokens->data(), src, n * sizeof(int32_t));
  src += n * sizeof(int32_t);
  const size_t rows_bytes = n * static_cast<size_t>(kv_dim) * element;
  for (int64_t l = 0; l < n_layers; ++l) {
    CMDAI_TRY(kv->write_rows(l, 0, static_cast<int32_t>(n), src, src + rows_bytes));
    src += 2 * rows_bytes;
  }
  kv->set_filled(static_cast<int32_t>(n));
  return kv;
}

}  // namespace cmdai::model
