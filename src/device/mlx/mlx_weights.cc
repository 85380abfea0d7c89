#include "device/mlx/mlx_weights.h"

#include <algorithm>
#include <cstring>

#include "device/mlx/repack.h"

namespace cmdai::mlx_device {
namespace {

namespace mx = mlx::core;

mx::array buffer_array(mx::allocator::Buffer buffer, mx::Shape shape, mx::Dtype dtype) {
  return mx::array(buffer, std::move(shape), dtype);  // freed by MLX's allocator with the array
}

mx::Dtype dense_dtype(const MlxForm& form) {
  return form.dense == DenseType::kF32   ? mx::float32
         : form.dense == DenseType::kF16 ? mx::float16
                                         : mx::bfloat16;
}

Result<MlxMatrix> upload_matrix(const device::WeightMatrix& m, size_t* bytes) {
  CMDAI_ASSIGN_OR_RETURN(const MlxForm form, mlx_form_of(m));
  const RepackedSizes sizes = repacked_sizes(m, form);
  const int rows = static_cast<int>(m.rows), cols = static_cast<int>(m.cols);
  MlxMatrix out;
  out.bits = form.bits;
  if (form.dense != DenseType::kNone) {
    mx::allocator::Buffer buffer = mx::allocator::malloc(sizes.dense_bytes);
    repack_matrix(m, form, nullptr, nullptr, nullptr, static_cast<uint8_t*>(buffer.raw_ptr()));
    out.w = buffer_array(buffer, {rows, cols}, dense_dtype(form));
    *bytes += sizes.dense_bytes;
    return out;
  }
  mx::allocator::Buffer words = mx::allocator::malloc(sizes.word_count * 4);
  mx::allocator::Buffer scales = mx::allocator::malloc(sizes.group_count * 4);
  mx::allocator::Buffer biases = mx::allocator::malloc(sizes.group_count * 4);
  repack_matrix(m, form, static_cast<uint32_t*>(words.raw_ptr()),
                static_cast<float*>(scales.raw_ptr()), static_cast<float*>(biases.raw_ptr()),
                nullptr);
  out.w = buffer_array(words, {rows, cols * form.bits / 32}, mx::uint32);
  out.scales = buffer_array(scales, {rows, cols / kGroupSize}, mx::float32);
  out.biases = buffer_array(biases, {rows, cols / kGroupSize}, mx::float32);
  *bytes += sizes.word_count * 4 + 2 * sizes.group_count * 4;
  return out;
}

// An array over bytes of the mapped cache file, no copy: the array keeps the mapping alive.
mx::array mapped_array(const void* data, mx::Shape shape, mx::Dtype dtype,
                       const std::shared_ptr<const WeightCache>& cache) {
  // MLX never writes to the weights (nothing donates them: MlxWeights holds every one).
  return mx::array(const_cast<void*>(data), std::move(shape), dtype, [cache](void*) {});
}

MlxMatrix cached_matrix(const device::WeightMatrix& m, const CachedMatrix& c,
                        const std::shared_ptr<const WeightCache>& cache) {
  const int rows = static_cast<int>(m.rows), cols = static_cast<int>(m.cols);
  MlxMatrix out;
  out.bits = c.form.bits;
  if (c.form.dense != DenseType::kNone) {
    out.w = mapped_array(c.words, {rows, cols}, dense_dtype(c.form), cache);
    return out;
  }
  out.w = mapped_array(c.words, {rows, cols * c.form.bits / 32}, mx::uint32, cache);
  out.scales = mapped_array(c.scales, {rows, cols / kGroupSize}, mx::float32, cache);
  out.biases = mapped_array(c.biases, {rows, cols / kGroupSize}, mx::float32, cache);
  return out;
}

mx::array vector_array(const float* v, int64_t n, size_t* bytes) {
  *bytes += static_cast<size_t>(n) * sizeof(float);
  return mx::array(v, {static_cast<int>(n)}, mx::float32);
}

}  // namespace

mx::array linear(const mx::array& x, const MlxMatrix& m) {
  if (m.bits == 0) {
    const mx::array w = m.w.dtype() == mx::float32 ? m.w : mx::astype(m.w, mx::float32);
    return mx::matmul(x, mx::transpose(w));
  }
  return mx::quantized_matmul(x, m.w, m.scales, m.biases, /*transpose=*/true, kGroupSize, m.bits,
                              "affine");
}

Result<MlxWeights> upload_weights(const device::ModelSpec& spec,
                                  std::shared_ptr<const WeightCache> cache) {
  const device::TransformerShape& s = spec.shape;
  // The matrices in the cache's order, then handed out in that order.
  const std::vector<const device::WeightMatrix*> order = spec_matrices(spec);
  std::vector<MlxMatrix> matrices;
  MlxWeights w;
  for (size_t i = 0; i < order.size(); ++i) {
    if (cache) {
      matrices.push_back(cached_matrix(*order[i], cache->matrices()[i], cache));
    } else {
      CMDAI_ASSIGN_OR_RETURN(MlxMatrix m, upload_matrix(*order[i], &w.bytes));
      matrices.push_back(std::move(m));
    }
  }
  if (cache) w.bytes += cache->size_bytes();
  size_t next = 0;
  for (const device::LayerTensors& t : spec.layers) {
    MlxLayer layer;
    layer.attn_norm = vector_array(t.attn_norm, s.hidden_dim, &w.bytes);
    for (MlxMatrix* m : {&layer.attn_q, &layer.attn_k, &layer.attn_v, &layer.attn_output,
                         &layer.ffn_gate, &layer.ffn_up, &layer.ffn_down}) {
      *m = std::move(matrices[next++]);
    }
    if (t.attn_q_bias != nullptr) {
      layer.attn_q_bias = vector_array(t.attn_q_bias, s.q_dim(), &w.bytes);
    }
    if (t.attn_k_bias != nullptr) {
      layer.attn_k_bias = vector_array(t.attn_k_bias, s.kv_dim(), &w.bytes);
    }
    if (t.attn_v_bias != nullptr) {
      layer.attn_v_bias = vector_array(t.attn_v_bias, s.kv_dim(), &w.bytes);
    }
    layer.ffn_norm = vector_array(t.ffn_norm, s.hidden_dim, &w.bytes);
    w.layers.push_back(std::move(layer));
  }
  w.output_norm = vector_array(spec.output_norm, s.hidden_dim, &w.bytes);
  w.output = std::move(matrices[next++]);
  return w;
}

}  // namespace cmdai::mlx_device
