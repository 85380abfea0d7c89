#include "device/mlx/mlx_weights.h"

#include <algorithm>
#include <cstring>
#include <thread>

#include "device/mlx/repack.h"

namespace cmdai::mlx_device {
namespace {

namespace mx = mlx::core;

mx::array buffer_array(mx::allocator::Buffer buffer, mx::Shape shape, mx::Dtype dtype) {
  return mx::array(buffer, std::move(shape), dtype);  // freed by MLX's allocator with the array
}

// Repacks rows in parallel: at load, on the hot path of the first request.
void repack_parallel(const device::WeightMatrix& m, const MlxForm& form, uint32_t* words,
                     float* scales, float* biases) {
  const int64_t words_per_row = m.cols * form.bits / 32, groups_per_row = m.cols / kGroupSize;
  const int64_t n_threads = std::clamp<int64_t>(std::thread::hardware_concurrency(), 1,
                                                std::max<int64_t>(1, m.rows / 64));
  const int64_t chunk = (m.rows + n_threads - 1) / n_threads;
  std::vector<std::thread> threads;
  for (int64_t t = 0; t < n_threads; ++t) {
    const int64_t row0 = t * chunk, row1 = std::min(m.rows, row0 + chunk);
    if (row0 >= row1) break;
    threads.emplace_back([&, row0, row1] {
      repack_affine_rows(m, form, row0, row1, words + row0 * words_per_row,
                         scales + row0 * groups_per_row, biases + row0 * groups_per_row);
    });
  }
  for (auto& t : threads) t.join();
}

Result<MlxMatrix> upload_matrix(const device::WeightMatrix& m, size_t* bytes) {
  CMDAI_ASSIGN_OR_RETURN(const MlxForm form, mlx_form_of(m));
  const RepackedSizes sizes = repacked_sizes(m, form);
  const int rows = static_cast<int>(m.rows), cols = static_cast<int>(m.cols);
  MlxMatrix out;
  out.bits = form.bits;
  if (form.dense != DenseType::kNone) {
    mx::allocator::Buffer buffer = mx::allocator::malloc(sizes.dense_bytes);
    auto* dst = static_cast<uint8_t*>(buffer.raw_ptr());
    const size_t dense_row = sizes.dense_bytes / static_cast<size_t>(m.rows);
    for (int64_t r = 0; r < m.rows; ++r) {
      std::memcpy(dst + r * dense_row, m.data + r * m.row_bytes, dense_row);
    }
    const mx::Dtype dtype = form.dense == DenseType::kF32   ? mx::float32
                            : form.dense == DenseType::kF16 ? mx::float16
                                                            : mx::bfloat16;
    out.w = buffer_array(buffer, {rows, cols}, dtype);
    *bytes += sizes.dense_bytes;
    return out;
  }
  mx::allocator::Buffer words = mx::allocator::malloc(sizes.word_count * 4);
  mx::allocator::Buffer scales = mx::allocator::malloc(sizes.group_count * 4);
  mx::allocator::Buffer biases = mx::allocator::malloc(sizes.group_count * 4);
  repack_parallel(m, form, static_cast<uint32_t*>(words.raw_ptr()),
                  static_cast<float*>(scales.raw_ptr()), static_cast<float*>(biases.raw_ptr()));
  out.w = buffer_array(words, {rows, cols * form.bits / 32}, mx::uint32);
  out.scales = buffer_array(scales, {rows, cols / kGroupSize}, mx::float32);
  out.biases = buffer_array(biases, {rows, cols / kGroupSize}, mx::float32);
  *bytes += sizes.word_count * 4 + 2 * sizes.group_count * 4;
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

Result<MlxWeights> upload_weights(const device::ModelSpec& spec) {
  const device::TransformerShape& s = spec.shape;
  MlxWeights w;
  for (const device::LayerTensors& t : spec.layers) {
    MlxLayer layer;
    layer.attn_norm = vector_array(t.attn_norm, s.hidden_dim, &w.bytes);
    CMDAI_ASSIGN_OR_RETURN(layer.attn_q, upload_matrix(t.attn_q, &w.bytes));
    CMDAI_ASSIGN_OR_RETURN(layer.attn_k, upload_matrix(t.attn_k, &w.bytes));
    CMDAI_ASSIGN_OR_RETURN(layer.attn_v, upload_matrix(t.attn_v, &w.bytes));
    CMDAI_ASSIGN_OR_RETURN(layer.attn_output, upload_matrix(t.attn_output, &w.bytes));
    if (t.attn_q_bias != nullptr)
      layer.attn_q_bias = vector_array(t.attn_q_bias, s.q_dim(), &w.bytes);
    if (t.attn_k_bias != nullptr)
      layer.attn_k_bias = vector_array(t.attn_k_bias, s.kv_dim(), &w.bytes);
    if (t.attn_v_bias != nullptr)
      layer.attn_v_bias = vector_array(t.attn_v_bias, s.kv_dim(), &w.bytes);
    layer.ffn_norm = vector_array(t.ffn_norm, s.hidden_dim, &w.bytes);
    CMDAI_ASSIGN_OR_RETURN(layer.ffn_gate, upload_matrix(t.ffn_gate, &w.bytes));
    CMDAI_ASSIGN_OR_RETURN(layer.ffn_up, upload_matrix(t.ffn_up, &w.bytes));
    CMDAI_ASSIGN_OR_RETURN(layer.ffn_down, upload_matrix(t.ffn_down, &w.bytes));
    w.layers.push_back(std::move(layer));
  }
  w.output_norm = vector_array(spec.output_norm, s.hidden_dim, &w.bytes);
  CMDAI_ASSIGN_OR_RETURN(w.output, upload_matrix(spec.output, &w.bytes));
  return w;
}

}  // namespace cmdai::mlx_device
