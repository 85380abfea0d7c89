#include "model/kv_snapshot.h"

#include <algorithm>
#include <cstring>

#include "base/fnv1a.h"

namespace cmdai::model {
namespace {

constexpr char kMagic[4] = {'C', 'M', 'K', 'V'};
// 2: the model's fingerprint in the header and a checksum at the end.
constexpr uint32_t kFormatVersion = 2;

// Header: magic, version, type, then n_layers, kv_dim, n_positions and the model's fingerprint as
// u64. Then the token ids, then per layer the K rows and the V rows of those positions, then a
// checksum (base/fnv1a.h's fnv1a_words) of everything before it.
struct SnapshotHeader {
  char magic[4];
  uint32_t version;
  uint32_t type;
  uint32_t reserved;
  uint64_t n_layers;
  uint64_t kv_dim;
  uint64_t n_positions;
  uint64_t model_fingerprint;
};
constexpr size_t kChecksumBytes = sizeof(uint64_t);

}  // namespace

Result<std::vector<uint8_t>> serialize_kv(const device::KvState& kv,
                                          std::span<const int32_t> tokens,
                                          uint64_t model_fingerprint) {
  const size_t n = std::min(tokens.size(), static_cast<size_t>(std::max(0, kv.n_filled())));
  SnapshotHeader header{};
  std::memcpy(header.magic, kMagic, sizeof kMagic);
  header.version = kFormatVersion;
  header.type = static_cast<uint32_t>(kv.type());
  header.n_layers = static_cast<uint64_t>(kv.n_layers());
  header.kv_dim = static_cast<uint64_t>(kv.kv_dim());
  header.n_positions = n;
  header.model_fingerprint = model_fingerprint;
  const size_t rows_bytes = n * static_cast<size_t>(kv.kv_dim()) * kv_element_bytes(kv.type());
  std::vector<uint8_t> out(sizeof header + n * sizeof(int32_t) +
                           2 * rows_bytes * static_cast<size_t>(kv.n_layers()) + kChecksumBytes);
  uint8_t* dst = out.data();
  std::memcpy(dst, &header, sizeof header);
  dst += sizeof header;
  std::memcpy(dst, tokens.data(), n * sizeof(int32_t));
  dst += n * sizeof(int32_t);
  for (int64_t l = 0; l < kv.n_layers(); ++l) {
    CMDAI_TRY(kv.read_rows(l, 0, static_cast<int32_t>(n), dst, dst + rows_bytes));
    dst += 2 * rows_bytes;
  }
  const uint64_t checksum = fnv1a_words(out.data(), out.size() - kChecksumBytes);
  std::memcpy(dst, &checksum, kChecksumBytes);
  return out;
}

Result<std::unique_ptr<device::KvState>> deserialize_kv(std::span<const uint8_t> bytes,
                                                        int64_t n_layers, int64_t kv_dim,
                                                        device::KvType type, int64_t n_ctx,
                                                        uint64_t model_fingerprint,
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
  // Bounds first, so the size arithmetic below cannot overflow on a damaged header.
  const uint64_t n = header.n_positions;
  if (header.type > 1 || header.n_layers == 0 || header.n_layers > (1u << 16) ||
      header.kv_dim == 0 || header.kv_dim > (1u << 20) || n > (1u << 24)) {
    return make_error(ErrorCode::kCorruptFile, "KV snapshot header is damaged");
  }
  const uint64_t element = device::kv_element_bytes(static_cast<device::KvType>(header.type));
  if (bytes.size() != sizeof header + n * sizeof(int32_t) +
                          2 * n * header.kv_dim * element * header.n_layers + kChecksumBytes) {
    return make_error(ErrorCode::kCorruptFile, "KV snapshot of {} positions has the wrong size", n);
  }
  uint64_t stored_checksum;
  std::memcpy(&stored_checksum, bytes.data() + bytes.size() - kChecksumBytes, kChecksumBytes);
  if (stored_checksum != fnv1a_words(bytes.data(), bytes.size() - kChecksumBytes)) {
    return make_error(ErrorCode::kCorruptFile, "KV snapshot is damaged (checksum mismatch)");
  }
  if (header.model_fingerprint != model_fingerprint) {
    return make_error(ErrorCode::kInvalidArgument,
                      "KV snapshot was made from another model file (content fingerprint "
                      "{:016x}, this model {:016x})",
                      header.model_fingerprint, model_fingerprint);
  }
  if (header.n_layers != static_cast<uint64_t>(n_layers) ||
      header.kv_dim != static_cast<uint64_t>(kv_dim) ||
      header.type != static_cast<uint32_t>(type)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "KV snapshot was made for {} layers x {} (type {}), not {} x {} (type {})",
                      header.n_layers, header.kv_dim, header.type, n_layers, kv_dim,
                      static_cast<uint32_t>(type));
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
