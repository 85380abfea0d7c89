// AVX-512 VNNI K-quant (q4_K, q5_K, q6_K) x Q8_K kernels: the tiles of prefill and batched decode,
// and the one-token GEMVs of decode.
//
// A tile is a panel of 16 weight rows, one per int32 lane: each super-block of the 16 rows is
// unpacked to bytes and transposed once (64 registers: register g holds bytes 4g..4g+3 of every
// row), together with the rows' scales, mins and d/dmin as 16-lane vectors. Then every token runs
// against the panel: vpdpbusd with the token's 4-byte group broadcast from memory adds 64 products
// for 16 rows at a time, an exact int32 sum per sub-block that vpmulld scales. The per-block float
// steps are the reference's (quant/vec_dot.cc), lane by lane, so every output has the reference's
// bits whatever the tile shape, thread split or kernel table (one token goes to the GEMVs below,
// which give the same bits).
// GCC 12 warns about its own _mm512_undefined_* helpers (a self-initialised variable).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>

#include "device/cpu/kernels_avx2.h"
#include "device/cpu/kernels_avx512.h"
#include "device/cpu/row_streams.h"
#include "quant/blocks.h"

// Scalar and vector multiply-adds must round like the reference (compiled without FMA).
#pragma GCC optimize("fp-contract=off")

namespace cmdai::cpu::avx512 {
namespace {

struct alignas(64) KPanel {
  __m512i w[64];  // group g: lane r = unpacked quants 4g..4g+3 of row r (unsigned bytes)
  KParams k;
};

// Super-block i of rows [0, nr) of the panel starting at w (rows past nr are zero).
// Bytes [offset, offset + 64) of the super-block at base of rows [0, nr) (zero past nr),
// transposed: r[k] lane row = bytes offset + 4k .. + 3 of that row.
inline void load_transposed(const uint8_t* base, size_t w_stride, int nr, size_t offset,
                            __m512i* r) {
  for (int row = 0; row < kPanelRows; ++row) {
    r[row] = row < nr ? _mm512_loadu_si512(base + static_cast<size_t>(row) * w_stride + offset)
                      : _mm512_setzero_si512();
  }
  transpose16_epi32(r);
}

template <KKind kKind>
void build_panel(const uint8_t* w, size_t w_stride, __m512i offsets, int nr, int64_t i, KPanel* p) {
  const uint8_t* base = w + static_cast<size_t>(i) * kBlockBytes<kKind>;
  const __mmask16 live = live_rows(nr);
  const __m512i zero = _mm512_setzero_si512();
  gather_k_params<kKind>(base, offsets, live, &p->k);
  if constexpr (kKind == KKind::kQ4) {
    // The packed nibbles are transposed, half the bytes of the unpacked chunks: qs bytes
    // 32c + 4m .. + 3 hold groups 16c + m (low nibbles) and 16c + 8 + m (high nibbles). Two
    // transposes instead of four made a small batch's panel ~2x cheaper to build.
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    for (int half = 0; half < 2; ++half) {
      __m512i r[kPanelRows];
      load_transposed(base, w_stride, nr, offsetof(BlockQ4_K, qs) + 64 * half, r);
      for (int k = 0; k < 16; ++k) {
        const int c = 2 * half + k / 8, m = k % 8;
        p->w[16 * c + m] = _mm512_and_si512(r[k], low4);
        p->w[16 * c + 8 + m] = _mm512_and_si512(_mm512_srli_epi16(r[k], 4), low4);
      }
    }
    return;
  }
  if constexpr (kKind == KKind::kQ6) {
    // The same with q6_K's two bit planes (blocks.h): ql byte 64h + 4g holds groups g of chunk 2h
    // (low nibbles) and of chunk 2h + 1 (high nibbles); qh byte 32h + 4j holds the two high bits
    // of groups j and 8 + j of chunk 2h (bits 0-1, 2-3) and of chunk 2h + 1 (bits 4-5, 6-7).
    const __m512i low4 = _mm512_set1_epi8(0x0F), bits45 = _mm512_set1_epi8(0x30);
    __m512i qh[kPanelRows];  // qh[k] lane r: qh bytes 4k..4k+3 of row r
    load_transposed(base, w_stride, nr, offsetof(BlockQ6_K, qh), qh);
    for (int h = 0; h < 2; ++h) {
      __m512i ql[kPanelRows];
      load_transposed(base, w_stride, nr, offsetof(BlockQ6_K, ql) + 64 * h, ql);
      for (int g = 0; g < 16; ++g) {
        const __m512i high = qh[8 * h + g % 8];
        // Bits 2s, 2s+1 of the qh byte, moved to bits 4-5: s = g / 8 for chunk 2h, 2 + g / 8
        // for chunk 2h + 1.
        const __m512i even_bits = g < 8 ? _mm512_slli_epi16(high, 4) : _mm512_slli_epi16(high, 2);
        const __m512i odd_bits = g < 8 ? high : _mm512_srli_epi16(high, 2);
        p->w[16 * (2 * h) + g] =
            _mm512_or_si512(_mm512_and_si512(ql[g], low4), _mm512_and_si512(even_bits, bits45));
        p->w[16 * (2 * h + 1) + g] =
            _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql[g], 4), low4),
                            _mm512_and_si512(odd_bits, bits45));
      }
    }
    return;
  }
  for (int c = 0; c < 4; ++c) {
    __m512i r[kPanelRows];
    for (int row = 0; row < kPanelRows; ++row) {
      r[row] = row < nr ? unpack_chunk<kKind>(base + static_cast<size_t>(row) * w_stride, c) : zero;
    }
    transpose16_epi32(r);
    for (int k = 0; k < 16; ++k) p->w[16 * c + k] = r[k];
  }
}

// Tokens [t0, t0 + T) against the panel of super-block i: adds each (row, token) block value to
// fsum[t * 16 + row], in block order like the reference's running sum.
template <KKind kKind, int T>
inline void panel_tokens(const KPanel& p, const uint8_t* a, size_t a_stride, int64_t t0, int64_t i,
                         float* fsum) {
  constexpr int kSub = kSubBlock<kKind>, kSubs = kQKK / kSub, kGroups = kSub / 4;
  const BlockQ8_K* ab[T];
  for (int t = 0; t < T; ++t) {
    ab[t] = reinterpret_cast<const BlockQ8_K*>(a + static_cast<size_t>(t0 + t) * a_stride) + i;
  }
  __m512i sumi[T];
  for (int t = 0; t < T; ++t) sumi[t] = _mm512_setzero_si512();
  for (int s = 0; s < kSubs; ++s) {
    __m512i acc[T];
    for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_si512();
#pragma GCC unroll 8
    for (int g = s * kGroups; g < (s + 1) * kGroups; ++g) {
      const __m512i wg = p.w[g];
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        acc[t] = _mm512_dpbusd_epi32(acc[t], wg, _mm512_set1_epi32(load_i32(ab[t]->qs + 4 * g)));
      }
    }
    for (int t = 0; t < T; ++t)
      sumi[t] = _mm512_add_epi32(sumi[t], _mm512_mullo_epi32(acc[t], p.k.scale[s]));
  }
  for (int t = 0; t < T; ++t) {
    __m512i b = _mm512_setzero_si512();
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) {
      b = _mm512_dpwssd_epi32(b, p.k.bias[k], _mm512_set1_epi32(load_i32(ab[t]->bsums + 2 * k)));
    }
    const __m512 ad = _mm512_set1_ps(ab[t]->d);
    __m512 value;
    if constexpr (kKind == KKind::kQ6) {
      // Reference: d * a.d * float(sum of sc * (q - 32) * a), the -32 folded in as 32 * bsums.
      value = _mm512_mul_ps(_mm512_mul_ps(p.k.d, ad),
                            _mm512_cvtepi32_ps(_mm512_sub_epi32(sumi[t], _mm512_slli_epi32(b, 5))));
    } else {
      const __m512 d = _mm512_mul_ps(p.k.d, ad), dmin = _mm512_mul_ps(p.k.dmin, ad);
      value = _mm512_sub_ps(_mm512_mul_ps(d, _mm512_cvtepi32_ps(sumi[t])),
                            _mm512_mul_ps(dmin, _mm512_cvtepi32_ps(b)));
    }
    float* out = fsum + (t0 + t) * kPanelRows;
    _mm512_store_ps(out, _mm512_add_ps(_mm512_load_ps(out), value));
  }
}

thread_local Scratch tile_sums;

template <KKind kKind>
void gemm_k(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1, const uint8_t* a,
            size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride) {
  const int64_t nb = n / kQKK;
  auto* fsum = static_cast<float*>(
      tile_sums.get(sizeof(float) * kPanelRows * static_cast<size_t>(n_tokens)));
  const __m512i offsets = row_offsets(w_stride);
  KPanel p;
  for (int64_t rb = r0; rb < r1; rb += kPanelRows) {
    const int nr = static_cast<int>(r1 - rb < kPanelRows ? r1 - rb : kPanelRows);
    const uint8_t* wr = w + static_cast<size_t>(rb) * w_stride;
    std::memset(fsum, 0, sizeof(float) * kPanelRows * static_cast<size_t>(n_tokens));
    const NextPanelPrefetch prefetch(wr, w_stride, r1 - rb, nb);
    for (int64_t i = 0; i < nb; ++i) {
      prefetch.step(i);
      build_panel<kKind>(wr, w_stride, offsets, nr, i, &p);
      int64_t t = 0;
      for (; t + 8 <= n_tokens; t += 8) panel_tokens<kKind, 8>(p, a, a_stride, t, i, fsum);
      if (t + 4 <= n_tokens) panel_tokens<kKind, 4>(p, a, a_stride, t, i, fsum), t += 4;
      if (t + 2 <= n_tokens) panel_tokens<kKind, 2>(p, a, a_stride, t, i, fsum), t += 2;
      if (t < n_tokens) panel_tokens<kKind, 1>(p, a, a_stride, t, i, fsum);
    }
    const __mmask16 live = live_rows(nr);
    for (int64_t t = 0; t < n_tokens; ++t) {
      _mm512_mask_storeu_ps(y + t * y_stride + rb, live, _mm512_load_ps(fsum + t * kPanelRows));
    }
  }
}

// ---- q6_K GEMV (one token) ----
//
// Rows stay in their own layout: per super-block, vpdpbusd gives int32 lanes of 4 products each
// (small enough for int16), and vpdpwssd multiplies them by their sub-block's scale, so a row's
// 256 products take 4 + 4 instructions. Four rows are reduced together and finished with the
// reference's float steps lane by lane, like the AVX2 GEMV: same bits as the tiles.

// vpermw controls over the 16 scales as int16: chunk c's vector takes sub-blocks 4c..4c+3, four
// int32 lanes each.
struct Q6Masks {
  alignas(64) uint16_t
      scale_words[4][32];  // vpermw indices: int16 lane 2j of chunk c <- 4c + j / 4
};

constexpr Q6Masks make_q6_masks() {
  Q6Masks m{};
  for (int c = 0; c < 4; ++c) {
    for (int w = 0; w < 32; ++w) m.scale_words[c][w] = static_cast<uint16_t>(4 * c + w / 8);
  }
  return m;
}

constexpr Q6Masks kQ6Masks = make_q6_masks();

inline __m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }
inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// One row's super-block against the token's block: *acc (8 lanes) sums to the scaled quant sum
// without the -32 offset, *bias (8 lanes) to the scale-weighted bsums.
// Lane t of the result = the sum of the 8 lanes of v[t].
inline __m128i sum_lanes4(const __m256i* v) {
  const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
  return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

inline void q6_gemv_block(const BlockQ6_K& b, const BlockQ8_K& a, const __m512i* act,
                          __m256i* acc_out, __m256i* bias_out) {
  const __m512i zero = _mm512_setzero_si512();
  const __m128i sc = load128(b.scales);
  const __m256i sc16 = _mm256_cvtepi8_epi16(sc);
  const __m512i sc16x2 = _mm512_castsi256_si512(sc16);
  __m512i acc = zero;
  for (int c = 0; c < 4; ++c) {
    // (scale, 0) int16 pairs: vpdpwssd then multiplies only the low half, where the int32 lane
    // (|4 products| <= 4 * 63 * 128) fits. One masked vpermw puts scale 4c + lane / 4 into the
    // even int16 of each int32 lane and zeroes the odd ones.
    const __m512i s = _mm512_maskz_permutexvar_epi16(
        0x55555555, _mm512_load_si512(kQ6Masks.scale_words[c]), sc16x2);
    const __m512i q = unpack_chunk<KKind::kQ6>(reinterpret_cast<const uint8_t*>(&b), c);
    acc = _mm512_dpwssd_epi32(acc, _mm512_dpbusd_epi32(zero, q, act[c]), s);
  }
  *acc_out = _mm256_add_epi32(_mm512_castsi512_si256(acc), _mm512_extracti64x4_epi64(acc, 1));
  *bias_out = _mm256_madd_epi16(sc16, load256(a.bsums));
}

// Four rows, any ones (for_row_streams4 picks them); out[rr] receives row rr's result.
inline void q6_gemv_rows4(int64_t nb, const BlockQ6_K* const* rows, const BlockQ8_K* ab,
                          float* const* out) {
  __m128 sum = _mm_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    const __m512i act[4] = {_mm512_loadu_si512(ab[i].qs), _mm512_loadu_si512(ab[i].qs + 64),
                            _mm512_loadu_si512(ab[i].qs + 128), _mm512_loadu_si512(ab[i].qs + 192)};
    __m256i v[4];
    for (int rr = 0; rr < 4; ++rr) {
      __m256i acc, bias;
      q6_gemv_block(rows[rr][i], ab[i], act, &acc, &bias);
      v[rr] = _mm256_sub_epi32(acc, _mm256_slli_epi32(bias, 5));  // the -32 offset, as integers
    }
    const __m128i sumi = sum_lanes4(v);
    const __m128i dh = _mm_setr_epi16(
        static_cast<int16_t>(rows[0][i].d), static_cast<int16_t>(rows[1][i].d),
        static_cast<int16_t>(rows[2][i].d), static_cast<int16_t>(rows[3][i].d), 0, 0, 0, 0);
    const __m128 d = _mm_mul_ps(_mm_cvtph_ps(dh), _mm_set1_ps(ab[i].d));
    sum = _mm_add_ps(sum, _mm_mul_ps(d, _mm_cvtepi32_ps(sumi)));
  }
  alignas(16) float lanes[4];
  _mm_store_ps(lanes, sum);
  for (int rr = 0; rr < 4; ++rr) *out[rr] = lanes[rr];
}

// ---- q4_K/q5_K GEMV (one token): the q6_K scheme ----
//
// Per super-block and row: the chunks unpacked to bytes, vpdpbusd against the token's chunk and
// vpdpwssd by the sub-block's scale as an int16 (scale, 0) pair per int32 lane; the mins weigh
// the bsums. Four rows reduce together and finish with AVX2's float steps, lane by lane (the
// reference's bits). On a Zen 5 EPYC thread a cached 8960x1536 q4_K matrix took 0.28 ms through
// AVX2's maddubs GEMV and 0.24 ms this way (1536x8960: 0.28 -> 0.20 ms), which lifted 2-thread
// Q4_K_M decode from 32.8 to 39.2 tokens/s: AVX2's GEMV, not memory, had been the limit.

// pshufb controls over [scales 0..7 | mins 0..7] broadcast to every 128-bit lane: pair[k] gives
// int32 lanes 0-7 scale 4k and lanes 8-15 scale 4k + 2 (low nibbles of qs[64k..64k+63]), or
// 4k + 1 and 4k + 3 (high nibbles) with hi_pair[k]; the int32 lane's other bytes are zero, so it
// is an int16 (scale, 0) pair for vpdpwssd. mins puts min k into int16 lanes 2k and 2k+1.
struct K45Masks {
  alignas(64) uint8_t pair[2][64];
  alignas(64) uint8_t hi_pair[2][64];
  alignas(64) uint8_t mins[64];  // int16 lane j of the low 256 bits: min j / 2
};

constexpr K45Masks make_k45_masks() {
  K45Masks m{};
  for (int k = 0; k < 2; ++k) {
    for (int lane = 0; lane < 16; ++lane) {
      const int sub = 4 * k + (lane < 8 ? 0 : 2);
      for (int b = 0; b < 4; ++b) {
        m.pair[k][4 * lane + b] = b == 0 ? static_cast<uint8_t>(sub) : 0x80;
        m.hi_pair[k][4 * lane + b] = b == 0 ? static_cast<uint8_t>(sub + 1) : 0x80;
      }
    }
  }
  for (int lane = 0; lane < 4; ++lane) {
    for (int w = 0; w < 8; ++w) {  // int16 lane 8 * lane + w
      m.mins[16 * lane + 2 * w] = static_cast<uint8_t>(8 + (8 * lane + w) / 2 % 8);
      m.mins[16 * lane + 2 * w + 1] = 0x80;
    }
  }
  return m;
}

constexpr K45Masks kK45Masks = make_k45_masks();

// [scales 0..7 | mins 0..7] of four q4_K/q5_K blocks (from their 12 packed bytes, blocks.h), block
// r in 128-bit lane r: the same in-lane steps at 512 bits decode four rows' scales at once.
inline __m512i k45_scales_and_mins4(const uint8_t* const* blocks) {
  __m512i x = _mm512_castsi128_si512(load128(blocks[0]));  // dwords [d dmin, w0, w1, w2]
  x = _mm512_inserti32x4(x, load128(blocks[1]), 1);
  x = _mm512_inserti32x4(x, load128(blocks[2]), 2);
  x = _mm512_inserti32x4(x, load128(blocks[3]), 3);
  const __m512i w01 = _mm512_shuffle_epi32(x, _MM_PERM_DDCB);
  const __m512i low = _mm512_and_si512(w01, _mm512_set1_epi32(0x3f3f3f3f));  // [sc_lo, mn_lo, ..]
  const __m512i w22 =
      _mm512_srlv_epi32(_mm512_shuffle_epi32(x, _MM_PERM_DDDD), _mm512_set4_epi32(0, 0, 4, 0));
  const __m512i high =
      _mm512_or_si512(_mm512_and_si512(w22, _mm512_set1_epi32(0x0f0f0f0f)),
                      _mm512_and_si512(_mm512_srli_epi32(w01, 2), _mm512_set1_epi32(0x30303030)));
  return _mm512_unpacklo_epi32(low, high);
}

// The token's activations in the order one 64-byte load of qs unpacks to: act[2k] holds the
// elements of qs[64k..64k+63]'s low nibbles (128k..128k+31, 128k+64..128k+95), act[2k+1] those
// of its high nibbles (128k+32.., 128k+96..).
inline void k45_activations(const BlockQ8_K& a, __m512i* act) {
  for (int k = 0; k < 2; ++k) {
    const int8_t* q = a.qs + 128 * k;
    act[2 * k] = _mm512_inserti64x4(_mm512_castsi256_si512(load256(q)), load256(q + 64), 1);
    act[2 * k + 1] =
        _mm512_inserti64x4(_mm512_castsi256_si512(load256(q + 32)), load256(q + 96), 1);
  }
}

// One row's super-block against the token's activations (k45_activations' order): *acc_out's
// lanes add up to the scaled quant sum, *bias_out's to the mins-weighted bsums.
template <KKind kKind>
inline void k45_gemv_block(const uint8_t* block, __m512i sm4, const BlockQ8_K& a,
                           const __m512i* act, __m256i* acc_out, __m256i* bias_out) {
  const __m512i zero = _mm512_setzero_si512(), low4 = _mm512_set1_epi8(0x0F);
  const uint8_t* qs = kKind == KKind::kQ4 ? reinterpret_cast<const BlockQ4_K*>(block)->qs
                                          : reinterpret_cast<const BlockQ5_K*>(block)->qs;
  __m512i qh2 = zero;
  if constexpr (kKind == KKind::kQ5) {
    const __m256i qh = load256(reinterpret_cast<const BlockQ5_K*>(block)->qh);
    qh2 = _mm512_inserti64x4(_mm512_castsi256_si512(qh), qh, 1);
  }
  __m512i acc = zero;
  for (int k = 0; k < 2; ++k) {
    const __m512i q = _mm512_loadu_si512(qs + 64 * k);
    __m512i lo = _mm512_and_si512(q, low4);
    __m512i hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), low4);
    if constexpr (kKind == KKind::kQ5) {
      // Chunk c's fifth bits: bit 2c (low nibbles) and 2c + 1 (high) of qh[l]; this load holds
      // chunks 2k (bytes 0-31) and 2k + 1 (bytes 32-63).
      const __m512i lo_bit =
          _mm512_inserti64x4(_mm512_set1_epi8(static_cast<char>(1 << (4 * k))),
                             _mm256_set1_epi8(static_cast<char>(1 << (4 * k + 2))), 1);
      const __m512i hi_bit = _mm512_slli_epi16(lo_bit, 1);
      const __m512i sixteen = _mm512_set1_epi8(16);
      lo = _mm512_mask_add_epi8(lo, _mm512_test_epi8_mask(qh2, lo_bit), lo, sixteen);
      hi = _mm512_mask_add_epi8(hi, _mm512_test_epi8_mask(qh2, hi_bit), hi, sixteen);
    }
    // |4 products| <= 4 * 31 * 128 fits the int16 vpdpwssd reads from each lane.
    const __m512i s_lo = _mm512_shuffle_epi8(sm4, _mm512_load_si512(kK45Masks.pair[k]));
    const __m512i s_hi = _mm512_shuffle_epi8(sm4, _mm512_load_si512(kK45Masks.hi_pair[k]));
    acc = _mm512_dpwssd_epi32(acc, _mm512_dpbusd_epi32(zero, lo, act[2 * k]), s_lo);
    acc = _mm512_dpwssd_epi32(acc, _mm512_dpbusd_epi32(zero, hi, act[2 * k + 1]), s_hi);
  }
  *acc_out = _mm256_add_epi32(_mm512_castsi512_si256(acc), _mm512_extracti64x4_epi64(acc, 1));
  *bias_out = _mm256_madd_epi16(
      _mm512_castsi512_si256(_mm512_shuffle_epi8(sm4, _mm512_load_si512(kK45Masks.mins))),
      load256(a.bsums));
}

template <KKind kKind>
inline void k45_gemv_rows4(int64_t nb, const uint8_t* const* rows, const BlockQ8_K* ab,
                           float* const* out) {
  __m128 sum = _mm_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    __m512i act[4];
    k45_activations(ab[i], act);
    __m256i acc[4], bias[4];
    uint32_t dm[4];  // d and dmin of each row, adjacent halves
    const uint8_t* blocks[4];
    for (int rr = 0; rr < 4; ++rr)
      blocks[rr] = rows[rr] + static_cast<size_t>(i) * kBlockBytes<kKind>;
    const __m512i sm_all = k45_scales_and_mins4(blocks);
#pragma GCC unroll 4
    for (int rr = 0; rr < 4; ++rr) {
      // Row rr's [scales | mins] in every 128-bit lane.
      const __m512i sm4 = _mm512_permutexvar_epi32(
          _mm512_add_epi32(_mm512_set4_epi32(3, 2, 1, 0), _mm512_set1_epi32(4 * rr)), sm_all);
      k45_gemv_block<kKind>(blocks[rr], sm4, ab[i], act, &acc[rr], &bias[rr]);
      __builtin_memcpy(&dm[rr], blocks[rr], sizeof dm[rr]);
    }
    const __m128i sumi = sum_lanes4(acc), sumb = sum_lanes4(bias);
    const __m128i split =
        _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(dm)),
                         _mm_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15));
    const __m256 dd = _mm256_mul_ps(_mm256_cvtph_ps(split), _mm256_set1_ps(ab[i].d));
    // Reference: (d * a.d) * float(sumi) - (dmin * a.d) * float(sumb).
    const __m128 vi = _mm_mul_ps(_mm256_castps256_ps128(dd), _mm_cvtepi32_ps(sumi));
    const __m128 vb = _mm_mul_ps(_mm256_extractf128_ps(dd, 1), _mm_cvtepi32_ps(sumb));
    sum = _mm_add_ps(sum, _mm_sub_ps(vi, vb));
  }
  alignas(16) float lanes[4];
  _mm_store_ps(lanes, sum);
  for (int rr = 0; rr < 4; ++rr) *out[rr] = lanes[rr];
}

template <KKind kKind>
void gemv_k45(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
              size_t as, int64_t nt, float* y, int64_t ys) {
  const int64_t nb = n / kQKK;
  for (int64_t t = 0; t < nt; ++t) {
    const uint8_t* at = a + static_cast<size_t>(t) * as;
    float* yt = y + t * ys;
    const int64_t tail = for_row_streams4(r0, r1, [&](const int64_t* r) {
      const uint8_t* rows[4];
      float* out[4];
      for (int rr = 0; rr < 4; ++rr) {
        rows[rr] = w + static_cast<size_t>(r[rr]) * ws;
        out[rr] = yt + r[rr];
      }
      k45_gemv_rows4<kKind>(nb, rows, reinterpret_cast<const BlockQ8_K*>(at), out);
    });
    // Fewer than four rows left: the AVX2 GEMV, same bits.
    if (tail < r1) {
      (kKind == KKind::kQ4 ? avx2::gemv_q4_k : avx2::gemv_q5_k)(n, w, ws, tail, r1, at, as, 1, yt,
                                                                ys);
    }
  }
}

}  // namespace

// One token goes through a GEMV: same bits, no panel to build.
void gemm_q4_k(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
               size_t as, int64_t nt, float* y, int64_t ys) {
  if (nt == 1) return gemv_q4_k(n, w, ws, r0, r1, a, as, nt, y, ys);
  gemm_k<KKind::kQ4>(n, w, ws, r0, r1, a, as, nt, y, ys);
}

void gemm_q5_k(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
               size_t as, int64_t nt, float* y, int64_t ys) {
  if (nt == 1) return gemv_q5_k(n, w, ws, r0, r1, a, as, nt, y, ys);
  gemm_k<KKind::kQ5>(n, w, ws, r0, r1, a, as, nt, y, ys);
}

void gemm_q6_k(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
               size_t as, int64_t nt, float* y, int64_t ys) {
  if (nt == 1) return gemv_q6_k(n, w, ws, r0, r1, a, as, nt, y, ys);
  gemm_k<KKind::kQ6>(n, w, ws, r0, r1, a, as, nt, y, ys);
}

void gemv_q6_k(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
               size_t as, int64_t nt, float* y, int64_t ys) {
  const int64_t nb = n / kQKK;
  for (int64_t t = 0; t < nt; ++t) {
    const uint8_t* at = a + static_cast<size_t>(t) * as;
    float* yt = y + t * ys;
    const auto rows4 = [&](const BlockQ6_K* const* rows, float* const* out) {
      q6_gemv_rows4(nb, rows, reinterpret_cast<const BlockQ8_K*>(at), out);
    };
    const int64_t tail = for_row_stream_blocks4<BlockQ6_K>(w, ws, yt, r0, r1, rows4);
    // Fewer than four rows left: the AVX2 GEMV, same bits.
    if (tail < r1) avx2::gemv_q6_k(n, w, ws, tail, r1, at, as, 1, yt, ys);
  }
}

void gemv_q4_k(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
               size_t as, int64_t nt, float* y, int64_t ys) {
  gemv_k45<KKind::kQ4>(n, w, ws, r0, r1, a, as, nt, y, ys);
}

void gemv_q5_k(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
               size_t as, int64_t nt, float* y, int64_t ys) {
  gemv_k45<KKind::kQ5>(n, w, ws, r0, r1, a, as, nt, y, ys);
}

}  // namespace cmdai::cpu::avx512
