// The KV state of a prompt prefix as a self-describing byte image, so a fixed prefix (the system
// prompt) is computed once and kept on disk; it leaves and enters any device through host rows.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "base/result.h"
#include "device/device.h"

namespace cmdai::model {

// Positions 0 .. tokens.size()-1 of `kv` and the token ids they hold (tokens.size() <= n_filled),
// stamped with the model's content fingerprint (gguf/fingerprint.h) and closed by a checksum.
Result<std::vector<uint8_t>> serialize_kv(const device::KvState& kv,
                                          std::span<const int32_t> tokens,
                                          uint64_t model_fingerprint);

using KvFactory = std::function<Result<std::unique_ptr<device::KvState>>(int64_t n_ctx)>;

// Rebuilds a state of capacity max(n_ctx, stored positions), made by `make`, from serialize_kv's
// bytes; *tokens receives the stored ids. kCorruptFile when the bytes are damaged (checksum, size,
// magic), kInvalidArgument when they were made for another model (fingerprint) or shape
// (n_layers, kv_dim, type). Nothing is made unless every check passes.
Result<std::unique_ptr<device::KvState>> deserialize_kv(
    std::span<const uint8_t> bytes, int64_t n_layers, int64_t kv_dim, device::KvType type,
    int64_t n_ctx, uint64_t model_fingerprint, const KvFactory& make, std::vector<int32_t>* tokens);

}  // namespace cmdai::model
