// AVX2 K-quant (q4_K, q5_K, q6_K) x Q8_K kernels: prefill tiles and one-token GEMV.
#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <type_traits>

#include "device/cpu/kernels_avx2.h"
#include "device/cpu/row_streams.h"
#include "device/cpu/simd_avx2.h"
#include "quant/blocks.h"

// Scalar multiply-adds must round like the reference (compiled without FMA): see simd_avx2.h.
#pragma GCC optimize("fp-contract=off")

namespace cmdai::cpu::avx2 {
namespace {

// ---- K-quants x Q8_K ----
//
// Tiles: a group of 4 weight rows against up to 16 tokens. Each weight super-block is decoded once
// per tile (four rows interleaved, quants as bytes, scales as int16 lanes) into a small buffer
// that every token of the tile reuses, so prefill does integer work instead of re-decoding
// weights per token. Every output goes through the same per-block operations in the same order
// whatever the tile shape, so a row split across threads, or a lone token, gives the same bits
// (and those equal the reference's).

// Horizontal sums by transposition: unpacks and 128-bit permutes run on Zen 3's shuffle pipes,
// while vphaddd and vextracti128 occupy FP0, one of the two pipes that do the tiles' maddubs and
// madd (llvm-mca: the hadd form cost a 4-row block of the 8-token tile ~28 cycles per row).
// Integer sums are exact in any order, so the result is the same as any other reduction's.

// Lane t of the result = the sum of the 8 lanes of v[t].
inline __m256i reduce8(const __m256i* v) {
  const __m256i a = partial_sums4(v), b = partial_sums4(v + 4);
  return _mm256_add_epi32(_mm256_permute2x128_si256(a, b, 0x20),
                          _mm256_permute2x128_si256(a, b, 0x31));
}

// Lane t of the result = the sum of the 8 lanes of v[t], for 4 vectors.
inline __m128i reduce4(const __m256i* v) {
  const __m256i a = partial_sums4(v);
  return _mm256_castsi256_si128(_mm256_add_epi32(a, _mm256_permute2x128_si256(a, a, 0x01)));
}

// ad_lanes: the tile's token pairs' Q8_K scales in token_pair_lanes' order, kMaxTokens / 2 per
// super-block (see gemm_k).
using TileFn = void (*)(int64_t nb, const uint8_t* w, size_t w_stride, int64_t rb, int nr,
                        const uint8_t* a, size_t a_stride, int64_t t0, int nt,
                        const FloatLanes* ad_lanes, float* y, int64_t y_stride);

// Tiles of 4 rows x up to kMaxTokens tokens; the last, narrower tile takes the smallest tile
// type that holds it (4, 8 or 16 tokens), so a 12-token prompt computes 12 token lanes, not 16.
template <TileFn kTile4, TileFn kTile8, TileFn kTile16, int kMaxTokens>
void gemm_k(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1, const uint8_t* a,
            size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride) {
  static_assert(kMaxTokens == kMaxTileTokens, "the tiles index ad_lanes by kMaxTileTokens / 2");
  constexpr int kRows = 4, kPairs = kMaxTokens / 2;
  const int64_t nb = n / kQKK;
  const int64_t groups = (n_tokens + kMaxTokens - 1) / kMaxTokens;
  // Every token pair's scale lanes, once for all of this call's row groups (a tile used to build
  // them per pair and super-block: two loads and three shuffles each time).
  const FloatLanes* ad_lanes = tile_pair_scales<BlockQ8_K>(
      a, a_stride, n_tokens, nb,
      [](const BlockQ8_K& t, const BlockQ8_K& u) { return token_pair_lanes(&t.d, &u.d); });
  for (int64_t rb = r0; rb < r1; rb += kRows) {
    const int nr = static_cast<int>(std::min<int64_t>(kRows, r1 - rb));
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t t0 = g * kMaxTokens;
      const int nt = static_cast<int>(std::min<int64_t>(kMaxTokens, n_tokens - t0));
      (nt <= 4   ? kTile4
       : nt <= 8 ? kTile8
                 : kTile16)(nb, w, w_stride, rb, nr, a, a_stride, t0, nt,
                            ad_lanes + g * nb * kPairs, y, y_stride);
    }
  }
}

// ---- K-quant GEMV (one token): everything stays in registers ----
//
// Decode multiplies by one token, so unpacking a block into a tile buffer would be pure overhead.
// These kernels form the same exact integer sums as the tiles and finish them with the same float
// operations, so their outputs are bit-identical to the tile kernels' (and the reference's).

// Shuffle control copying int16 lane j of each 128-bit half into all 8 lanes of that half.
inline __m256i word_broadcast(int j_lo, int j_hi) {
  return _mm256_setr_m128i(
      _mm_set1_epi16(static_cast<int16_t>(((2 * j_lo + 1) << 8) | (2 * j_lo))),
      _mm_set1_epi16(static_cast<int16_t>(((2 * j_hi + 1) << 8) | (2 * j_hi))));
}

inline void reduce_pair(__m256i acc, __m256i b, int* sumi, int* sumb) {
  __m256i h = _mm256_hadd_epi32(acc, b);
  h = _mm256_hadd_epi32(h, h);
  const __m128i s = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
  *sumi = _mm_cvtsi128_si32(s);
  *sumb = _mm_extract_epi32(s, 1);
}

// pshufb controls over a 128-bit [6-bit scales 0..7 | mins 0..7] byte vector (both halves the
// same): kScaleWords[j] widens scale j into every int16 lane, kMinPairs puts min k into lanes
// 2k and 2k+1 (the two 16-element halves of sub-block k, as Q8_K's bsums count them). Kept in
// memory so each is a load operand, not a constant rebuilt in registers per block.
struct KScaleMasks {
  alignas(32) uint8_t words[8][32];
  alignas(32) uint8_t min_pairs[32];
  alignas(32) uint8_t q6_pairs[4][32];  // int16 lane 2k (low half), 2k+1 (high half) everywhere
  alignas(32) uint8_t min_quads[32];    // int16 lanes: mins 0..3 twice | mins 4..7 twice
};

constexpr KScaleMasks make_k_scale_masks() {
  KScaleMasks m{};
  for (int j = 0; j < 8; ++j) {
    for (int b = 0; b < 32; b += 2) {
      m.words[j][b] = static_cast<uint8_t>(j);
      m.words[j][b + 1] = 0x80;
    }
  }
  for (int t = 0; t < 16; ++t) {
    m.min_pairs[2 * t] = static_cast<uint8_t>(8 + t / 2);
    m.min_pairs[2 * t + 1] = 0x80;
  }
  for (int b = 0; b < 32; b += 2) {
    m.min_quads[b] = static_cast<uint8_t>(8 + 4 * (b / 16) + (b / 2) % 4);
    m.min_quads[b + 1] = 0x80;
  }
  for (int k = 0; k < 4; ++k) {
    for (int b = 0; b < 32; b += 2) {
      const int word = b < 16 ? 2 * k : 2 * k + 1;
      m.q6_pairs[k][b] = static_cast<uint8_t>(2 * word);
      m.q6_pairs[k][b + 1] = static_cast<uint8_t>(2 * word + 1);
    }
  }
  return m;
}

constexpr KScaleMasks kKScaleMasks = make_k_scale_masks();
static_assert(offsetof(BlockQ4_K, scales) == 4 && offsetof(BlockQ5_K, scales) == 4);

// The 12 packed scale bytes of two q4_K/q5_K blocks (heads a and b: each block's first 16 bytes,
// d, dmin, scales) as [scales 0..7 | mins 0..7] of a in the low 128 bits and of b in the high,
// decoded in vector registers. Two blocks per call: the same instructions at 256 bits, so the
// one-token GEMV decodes its four rows' scales in half the operations (every step is within
// 128-bit lanes).
inline __m256i k45_scales_and_mins2(const uint8_t* head_a, const uint8_t* head_b) {
  const __m256i x = _mm256_setr_m128i(
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(head_a)),
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(head_b)));            // [dm, w0, w1, w2]
  const __m256i w01 = _mm256_shuffle_epi32(x, _MM_SHUFFLE(3, 3, 2, 1));      // [w0, w1, ...]
  const __m256i low = _mm256_and_si256(w01, _mm256_set1_epi32(0x3f3f3f3f));  // [sc_lo, mn_lo]
  const __m256i w22 = _mm256_srlv_epi32(_mm256_shuffle_epi32(x, _MM_SHUFFLE(3, 3, 3, 3)),
                                        _mm256_setr_epi32(0, 4, 0, 0, 0, 4, 0, 0));
  const __m256i high =
      _mm256_or_si256(_mm256_and_si256(w22, _mm256_set1_epi32(0x0f0f0f0f)),
                      _mm256_and_si256(_mm256_srli_epi32(w01, 2), _mm256_set1_epi32(0x30303030)));
  return _mm256_unpacklo_epi32(low, high);  // [sc_lo, sc_hi, mn_lo, mn_hi] of each block
}

// The integer work of one q4_K/q5_K super-block against one Q8_K block, left unreduced: *acc's
// lanes add up to the scaled quant sum, *bias's to the mins-weighted activation sum.
template <bool kQ5>
inline void k45_block_vectors(const uint8_t* head, const uint8_t* qs, const uint8_t* qh,
                              const BlockQ8_K& a, __m256i* acc_out, __m256i* bias_out) {
  const __m256i sm = k45_scales_and_mins2(head, head);
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  __m256i hbits = _mm256_setzero_si256();
  if constexpr (kQ5) hbits = load256(qh);
  __m256i acc = _mm256_setzero_si256();
#pragma GCC unroll 4
  for (int c = 0; c < 4; ++c) {
    const __m256i q = load256(qs + 32 * c);
    __m256i lo = _mm256_and_si256(q, low4);
    __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
    if constexpr (kQ5) {
      const __m256i bit = _mm256_set1_epi8(0x01);
      lo = _mm256_or_si256(
          lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hbits, 2 * c), bit), 4));
      hi = _mm256_or_si256(
          hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hbits, 2 * c + 1), bit), 4));
    }
    const __m256i s_lo = _mm256_shuffle_epi8(sm, load256(kKScaleMasks.words[2 * c]));
    const __m256i s_hi = _mm256_shuffle_epi8(sm, load256(kKScaleMasks.words[2 * c + 1]));
    acc = _mm256_add_epi32(
        acc, _mm256_madd_epi16(_mm256_maddubs_epi16(lo, load256(a.qs + 64 * c)), s_lo));
    acc = _mm256_add_epi32(
        acc, _mm256_madd_epi16(_mm256_maddubs_epi16(hi, load256(a.qs + 64 * c + 32)), s_hi));
  }
  const __m256i bias = _mm256_shuffle_epi8(sm, load256(kKScaleMasks.min_pairs));
  *acc_out = acc;
  *bias_out = _mm256_madd_epi16(bias, load256(a.bsums));
}

// Four rows' k45_block_vectors at once, sub-block pair outer and rows inner: the activation
// vectors and the scale-broadcast masks are loaded once per pair for all four rows, not once per
// row (vector loads, not arithmetic, bounded the one-row form on Zen 3: ~22 per row-block).
template <bool kQ5>
inline void k45_rows4_vectors(const uint8_t* const* blocks, const BlockQ8_K& a, __m256i* acc,
                              __m256i* bias) {
  constexpr size_t qs_offset = kQ5 ? offsetof(BlockQ5_K, qs) : offsetof(BlockQ4_K, qs);
  const __m256i sm01 = k45_scales_and_mins2(blocks[0], blocks[1]),
                sm23 = k45_scales_and_mins2(blocks[2], blocks[3]);
  const __m256i sm[4] = {
      _mm256_permute2x128_si256(sm01, sm01, 0x00), _mm256_permute2x128_si256(sm01, sm01, 0x11),
      _mm256_permute2x128_si256(sm23, sm23, 0x00), _mm256_permute2x128_si256(sm23, sm23, 0x11)};
  for (int rr = 0; rr < 4; ++rr) acc[rr] = _mm256_setzero_si256();
  const __m256i low4 = _mm256_set1_epi8(0x0F);
#pragma GCC unroll 4
  for (int c = 0; c < 4; ++c) {
    const __m256i a_lo = load256(a.qs + 64 * c), a_hi = load256(a.qs + 64 * c + 32);
    const __m256i m_lo = load256(kKScaleMasks.words[2 * c]),
                  m_hi = load256(kKScaleMasks.words[2 * c + 1]);
#pragma GCC unroll 4
    for (int rr = 0; rr < 4; ++rr) {
      const __m256i q = load256(blocks[rr] + qs_offset + 32 * c);
      __m256i lo = _mm256_and_si256(q, low4);
      __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
      if constexpr (kQ5) {
        const __m256i hbits = load256(blocks[rr] + offsetof(BlockQ5_K, qh)),
                      bit = _mm256_set1_epi8(0x01);
        lo = _mm256_or_si256(
            lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hbits, 2 * c), bit), 4));
        hi = _mm256_or_si256(
            hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hbits, 2 * c + 1), bit), 4));
      }
      const __m256i p_lo =
          _mm256_madd_epi16(_mm256_maddubs_epi16(lo, a_lo), _mm256_shuffle_epi8(sm[rr], m_lo));
      const __m256i p_hi =
          _mm256_madd_epi16(_mm256_maddubs_epi16(hi, a_hi), _mm256_shuffle_epi8(sm[rr], m_hi));
      acc[rr] = _mm256_add_epi32(acc[rr], _mm256_add_epi32(p_lo, p_hi));
      // Keeps GCC from reassociating the 32 products into one tree, which spilled them all.
      asm("" : "+x"(acc[rr]));
    }
  }
  const __m256i bsums = load256(a.bsums), m_min = load256(kKScaleMasks.min_pairs);
  for (int rr = 0; rr < 4; ++rr)
    bias[rr] = _mm256_madd_epi16(_mm256_shuffle_epi8(sm[rr], m_min), bsums);
}

// Writes the kLive computed accumulators of a group of four tokens; a group's spare lanes (past
// the prompt's last token) repeat the last live one, so their float steps stay finite.
template <int kLive>
inline void store_live(__m256i* acc, __m256i a0, __m256i a1, __m256i a2, __m256i a3) {
  acc[0] = a0;
  acc[1] = kLive > 1 ? a1 : a0;
  acc[2] = kLive > 2 ? a2 : acc[1];
  acc[3] = kLive > 3 ? a3 : acc[2];
}

// Calls group(g, std::integral_constant<int, kLive>) for each group of four tokens of a tile
// (g: its first token, kLive: how many of its four are live), so a group past the prompt's end
// computes only its live tokens and the kernels keep compile-time token counts.
template <typename GroupFn>
inline void for_token_groups(int nt, GroupFn&& group) {
  for (int g = 0; g < nt; g += 4) {
    switch (std::min(nt - g, 4)) {
      case 1:
        group(g, std::integral_constant<int, 1>{});
        break;
      case 2:
        group(g, std::integral_constant<int, 2>{});
        break;
      case 3:
        group(g, std::integral_constant<int, 3>{});
        break;
      default:
        group(g, std::integral_constant<int, 4>{});
        break;
    }
  }
}

// Prefetches [p, p + n) into L1, a cache line at a time.
inline void prefetch_lines(const uint8_t* p, size_t n) {
  for (size_t off = 0; off < n; off += 64)
    _mm_prefetch(reinterpret_cast<const char*>(p + off), _MM_HINT_T0);
}

// The K-quant tiles' prefetch of the next row group (rows rb + 4 ..), linearly, a 1/nb share at
// each of the nb super-block steps; only the first tile over a row group (t0 == 0) issues it.
class NextRowGroupPrefetch {
 public:
  NextRowGroupPrefetch(const uint8_t* w, size_t w_stride, int64_t rb, int64_t nb, int64_t t0)
      : next_(w + static_cast<size_t>(rb + 4) * w_stride),
        step_(t0 == 0 ? 4 * w_stride / static_cast<size_t>(nb) : 0) {}
  void block(int64_t i) const { prefetch_lines(next_ + static_cast<size_t>(i) * step_, step_); }

 private:
  const uint8_t* next_;
  size_t step_;
};

// ---- The q4_K/q5_K tile: four rows interleaved in each vector ----
//
// The plain form multiplies one row's 32 quants of a sub-block by a token's 32 activations
// (vpmaddubsw) and then needs a vpmaddwd per row, token and sub-block to apply the sub-block's
// scale: two multiplies per 32 quants, the bound of Zen 3's two multiply pipes. Here a vector
// holds 8 quants of each of four rows, and the token's matching 8 activations are broadcast to
// all four; the four vectors of a sub-block then share one scale per row-quarter of the lanes, so
// their vpmaddubsw results add up as int16 before one vpmaddwd: 5 multiplies for 4 rows x 32
// quants instead of 8. The int16 sums cannot overflow: a vpmaddubsw lane is two products of a
// quant (q4_K <= 15, q5_K <= 31) and an activation (|a| <= 128), and four of them stay below
// 4 * 2 * 31 * 128 = 31744. Integer sums are exact in any order, so the bits are unchanged.

// pshufb controls over [8 scale bytes of rows 0 | 1 || 2 | 3]: words[j] puts row r's scale byte j
// into int16 lanes 4r..4r+3, the lanes of row r's quants in an interleaved vector. In the low
// byte (zero-extended: q4_K/q5_K's 6-bit scales) or, with to_high_byte, in the high byte (a shift
// right by 8 then sign-extends it: q6_K's signed scales).
struct RowScaleMasks {
  alignas(32) uint8_t words[8][32];
};

constexpr RowScaleMasks make_row_scale_masks(bool to_high_byte) {
  RowScaleMasks m{};
  for (int j = 0; j < 8; ++j) {
    for (int b = 0; b < 32; b += 2) {
      const int row_in_half = (b % 16) / 8;
      m.words[j][b + (to_high_byte ? 1 : 0)] = static_cast<uint8_t>(8 * row_in_half + j);
      m.words[j][b + (to_high_byte ? 0 : 1)] = 0x80;
    }
  }
  return m;
}

constexpr RowScaleMasks kRowScaleMasks = make_row_scale_masks(false);

// Super-block i of four rows, decoded to interleaved quants: vector 4j + k holds quants
// 8k..8k+7 of sub-block j of each row (sub-block j: nibble j % 2 of qs[32 * (j / 2)...], plus
// bit j of qh for q5_K).
template <bool kQ5, typename Block>
inline void decode_rows4(const Block* const* b, __m256i* wq) {
  const __m256i low4 = _mm256_set1_epi8(0x0F), bit = _mm256_set1_epi8(0x01);
  __m256i hbits[4];
  if constexpr (kQ5) {
    const __m256i raw[4] = {load256(b[0]->qh), load256(b[1]->qh), load256(b[2]->qh),
                            load256(b[3]->qh)};
    interleave_rows4(raw, hbits);
  }
#pragma GCC unroll 4
  for (int c = 0; c < 4; ++c) {
    const __m256i raw[4] = {load256(b[0]->qs + 32 * c), load256(b[1]->qs + 32 * c),
                            load256(b[2]->qs + 32 * c), load256(b[3]->qs + 32 * c)};
    __m256i q[4];
    interleave_rows4(raw, q);
    for (int k = 0; k < 4; ++k) {
      __m256i lo = _mm256_and_si256(q[k], low4);
      __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q[k], 4), low4);
      if constexpr (kQ5) {
        lo = _mm256_or_si256(
            lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hbits[k], 2 * c), bit), 4));
        hi = _mm256_or_si256(
            hi,
            _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hbits[k], 2 * c + 1), bit), 4));
      }
      _mm256_store_si256(wq + 4 * (2 * c) + k, lo);
      _mm256_store_si256(wq + 4 * (2 * c + 1) + k, hi);
    }
  }
}

// acc + one sub-block's scaled sums for four interleaved rows against one token (act: the
// token's 32 activations of that sub-block); int32 lanes 2r and 2r+1 of each half belong to row
// 2 * half + r.
inline __m256i add_rows4_products(__m256i acc, const __m256i* w, const int8_t* act, __m256i scale) {
  __m256i p = _mm256_maddubs_epi16(w[0], broadcast8(act));
  p = _mm256_add_epi16(p, _mm256_maddubs_epi16(w[1], broadcast8(act + 8)));
  p = _mm256_add_epi16(p, _mm256_maddubs_epi16(w[2], broadcast8(act + 16)));
  p = _mm256_add_epi16(p, _mm256_maddubs_epi16(w[3], broadcast8(act + 24)));
  return _mm256_add_epi32(acc, _mm256_madd_epi16(p, scale));
}

// One super-block of four interleaved rows (wq from decode_rows4; scales: [scales of rows 0 | 1
// || 2 | 3]) against a group of four tokens, kLive of them real.
template <int kLive>
inline void k45_rows4_block_x4(const __m256i* wq, __m256i scales, const BlockQ8_K* const* ab,
                               __m256i* acc) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  for (int j = 0; j < 8; ++j) {
    const __m256i w[4] = {_mm256_load_si256(wq + 4 * j), _mm256_load_si256(wq + 4 * j + 1),
                          _mm256_load_si256(wq + 4 * j + 2), _mm256_load_si256(wq + 4 * j + 3)};
    const __m256i scale = _mm256_shuffle_epi8(scales, load256(kRowScaleMasks.words[j]));
    a0 = add_rows4_products(a0, w, ab[0]->qs + 32 * j, scale);
    if constexpr (kLive > 1) a1 = add_rows4_products(a1, w, ab[1]->qs + 32 * j, scale);
    if constexpr (kLive > 2) a2 = add_rows4_products(a2, w, ab[2]->qs + 32 * j, scale);
    if constexpr (kLive > 3) a3 = add_rows4_products(a3, w, ab[3]->qs + 32 * j, scale);
    asm("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3));  // as in k45_rows4_vectors: no spilled tree
  }
  store_live<kLive>(acc, a0, a1, a2, a3);
}

// The mins-weighted activation sums of tokens t and u for four rows, in token_pair_sums' lane
// order. mins[r]: row r's mins as int16 [m0 m1 m2 m3 m0 m1 m2 m3 | m4 .. m7 m4 .. m7], to meet
// the pair sums of t's and u's bsums (one per sub-block) that vphaddw lays out as
// [t0 t1 t2 t3 u0 u1 u2 u3 | t4 .. t7 u4 .. u7].
inline __m256i k45_bias_pairs(const __m256i* mins, const BlockQ8_K& t, const BlockQ8_K& u) {
  const __m256i pairs = _mm256_hadd_epi16(load256(t.bsums), load256(u.bsums));
  // Per row: [t, t, u, u | t, t, u, u], each lane the sum over two sub-blocks.
  const __m256i r0 = _mm256_madd_epi16(mins[0], pairs), r1 = _mm256_madd_epi16(mins[1], pairs);
  const __m256i r2 = _mm256_madd_epi16(mins[2], pairs), r3 = _mm256_madd_epi16(mins[3], pairs);
  // [t r0, u r0, t r1, u r1 | the same over sub-blocks 4..7], then for rows 2 and 3.
  const __m256i x01 = token_pair_sums(r0, r1), x23 = token_pair_sums(r2, r3);
  const __m256i sums = _mm256_add_epi32(_mm256_permute2x128_si256(x01, x23, 0x20),
                                        _mm256_permute2x128_si256(x01, x23, 0x31));
  return _mm256_shuffle_epi32(sums, _MM_SHUFFLE(3, 1, 2, 0));  // [t r0, t r1, u r0, u r1 | ...]
}

// The q4_K/q5_K tile: four rows (interleaved, see decode_rows4) against kTokens tokens. It keeps
// one float sum per (token, row), two tokens per vector in token_pair_sums' lane order: each
// super-block's integer sums are scaled with vector float operations that round exactly like
// quant/vec_dot.cc's scalar ones, lane by lane (so 8- and 4-token tiles agree with the reference).
// A partial tile repeats its last token and a short row group its last row in the spare lanes
// (computed, never stored).
// The first tile over a row group (t0 == 0) prefetches the next group's rows, linearly, as the
// GEMV does: its four interleaved row streams defeat the hardware prefetcher, and without this
// about a quarter of a short prompt's prefill waited on weight loads.
template <bool kQ5, int kTokens>
void gemm_k45_tile(int64_t nb, const uint8_t* w, size_t w_stride, int64_t rb, int nr,
                   const uint8_t* a, size_t a_stride, int64_t t0, int nt,
                   const FloatLanes* ad_lanes, float* y, int64_t y_stride) {
  using Block = std::conditional_t<kQ5, BlockQ5_K, BlockQ4_K>;
  constexpr int kRows = 4, kPairs = kTokens / 2;
  const TileBlocks<Block, BlockQ8_K, kTokens> tile(w, w_stride, rb, nr, a, a_stride, t0, nt);
  __m256 sum[kPairs];
  for (auto& v : sum) v = _mm256_setzero_ps();
  const NextRowGroupPrefetch prefetch(w, w_stride, rb, nb, t0);
  for (int64_t i = 0; i < nb; ++i) {
    prefetch.block(i);
    const BlockQ8_K* ab[kTokens];
    for (int t = 0; t < kTokens; ++t) ab[t] = tile.tokens[t] + i;
    const Block* b[kRows] = {tile.rows[0] + i, tile.rows[1] + i, tile.rows[2] + i,
                             tile.rows[3] + i};
    alignas(32) __m256i wq[32];
    decode_rows4<kQ5>(b, wq);
    const auto head = [&](int rr) { return reinterpret_cast<const uint8_t*>(b[rr]); };
    const __m256i sm01 = k45_scales_and_mins2(head(0), head(1)),
                  sm23 = k45_scales_and_mins2(head(2), head(3));
    const __m128i sm[kRows] = {_mm256_castsi256_si128(sm01),
                               _mm256_extracti128_si256(sm01, 1),  // [scales | mins]
                               _mm256_castsi256_si128(sm23), _mm256_extracti128_si256(sm23, 1)};
    const __m256i scales =
        _mm256_setr_m128i(_mm_unpacklo_epi64(sm[0], sm[1]), _mm_unpacklo_epi64(sm[2], sm[3]));
    __m256i acc[kTokens];
    for_token_groups(nt, [&](int g, auto live) {
      k45_rows4_block_x4<decltype(live)::value>(wq, scales, ab + g, acc + g);
    });
    // d and dmin of the rows in token_pair_sums' lane order, [r0 r1 r0 r1 | r2 r3 r2 r3] each.
    uint32_t dm[kRows];
    for (int rr = 0; rr < kRows; ++rr) std::memcpy(&dm[rr], &b[rr]->d, sizeof dm[rr]);
    const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(dm));
    const __m256 d = _mm256_cvtph_ps(_mm_shuffle_epi8(
        packed, _mm_setr_epi8(0, 1, 4, 5, 0, 1, 4, 5, 8, 9, 12, 13, 8, 9, 12, 13)));
    const __m256 dmin = _mm256_cvtph_ps(_mm_shuffle_epi8(
        packed, _mm_setr_epi8(2, 3, 6, 7, 2, 3, 6, 7, 10, 11, 14, 15, 10, 11, 14, 15)));
    // The rows' mins as int16 pairs of the pair sums of Q8_K's bsums (see k45_bias_pairs).
    __m256i mins[kRows];
    for (int rr = 0; rr < kRows; ++rr) {
      mins[rr] =
          _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(sm[rr]), load256(kKScaleMasks.min_quads));
    }
    for (int p = 0; p < tile.live_pairs; ++p) {
      const BlockQ8_K& at = *ab[2 * p];
      const BlockQ8_K& au = *ab[2 * p + 1];
      const __m256 ad = tile_pair_scale(ad_lanes, i, p);
      const __m256 sumi = _mm256_cvtepi32_ps(token_pair_sums(acc[2 * p], acc[2 * p + 1]));
      const __m256 sumb = _mm256_cvtepi32_ps(k45_bias_pairs(mins, at, au));
      sum[p] = _mm256_add_ps(sum[p], _mm256_sub_ps(_mm256_mul_ps(_mm256_mul_ps(d, ad), sumi),
                                                   _mm256_mul_ps(_mm256_mul_ps(dmin, ad), sumb)));
    }
  }
  store_token_pairs(sum, tile.live_pairs, nt, nr, t0, rb, y, y_stride);
}

// ---- The q6_K tile: four rows interleaved, like the q4_K/q5_K tile ----
//
// Sub-blocks are 16 quants (two of an interleaved vector's 8-quant groups) with a signed 8-bit
// scale each, and a vpmaddubsw lane of 6-bit quants can reach 2 * 63 * 128 = 16128, so two
// results (not four) add up as int16 before each vpmaddwd: per 32 quants of four rows, 4 + 2
// multiplies instead of 8. The -32 offset of every quant is applied through Q8_K's bsums, as in
// the reference.

// Scales 0..7 (or 8..15) of rows 0 | 1 || 2 | 3, each into the high byte of its row's int16 lanes.
constexpr RowScaleMasks kQ6RowScaleMasks = make_row_scale_masks(true);

// Super-block i of four rows decoded to interleaved quants (vector 4j + k: quants 8k..8k+7 of the
// 32 that vector j of the plain layout holds, for each row) and the rows' 16 sub-block scales as
// int16 lane vectors (scales[s]: scale s of row r in lanes 4r..4r+3).
inline void decode_q6_rows4(const BlockQ6_K* const* b, __m256i* wq, __m256i* scales) {
  const __m256i low4 = _mm256_set1_epi8(0x0F), high2 = _mm256_set1_epi8(0x30);
#pragma GCC unroll 2
  for (int h = 0; h < 2; ++h) {
    __m256i hb[4], l0[4], l1[4];
    {
      const __m256i raw[4] = {load256(b[0]->qh + 32 * h), load256(b[1]->qh + 32 * h),
                              load256(b[2]->qh + 32 * h), load256(b[3]->qh + 32 * h)};
      interleave_rows4(raw, hb);
    }
    {
      const __m256i raw[4] = {load256(b[0]->ql + 64 * h), load256(b[1]->ql + 64 * h),
                              load256(b[2]->ql + 64 * h), load256(b[3]->ql + 64 * h)};
      interleave_rows4(raw, l0);
    }
    {
      const __m256i raw[4] = {load256(b[0]->ql + 64 * h + 32), load256(b[1]->ql + 64 * h + 32),
                              load256(b[2]->ql + 64 * h + 32), load256(b[3]->ql + 64 * h + 32)};
      interleave_rows4(raw, l1);
    }
    for (int kk = 0; kk < 4; ++kk) {
      // Vector j = 4h + k: low (k < 2) or high nibbles of ql[64h + 32(k % 2)...], bits 2k..2k+1
      // of qh[32h...] as bits 4..5.
      const __m256i q0 = _mm256_or_si256(_mm256_and_si256(l0[kk], low4),
                                         _mm256_and_si256(_mm256_slli_epi16(hb[kk], 4), high2));
      const __m256i q1 = _mm256_or_si256(_mm256_and_si256(l1[kk], low4),
                                         _mm256_and_si256(_mm256_slli_epi16(hb[kk], 2), high2));
      const __m256i q2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0[kk], 4), low4),
                                         _mm256_and_si256(hb[kk], high2));
      const __m256i q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1[kk], 4), low4),
                                         _mm256_and_si256(_mm256_srli_epi16(hb[kk], 2), high2));
      _mm256_store_si256(wq + 4 * (4 * h + 0) + kk, q0);
      _mm256_store_si256(wq + 4 * (4 * h + 1) + kk, q1);
      _mm256_store_si256(wq + 4 * (4 * h + 2) + kk, q2);
      _mm256_store_si256(wq + 4 * (4 * h + 3) + kk, q3);
    }
  }
  for (int half = 0; half < 2; ++half) {  // scales 0..7, then 8..15
    const auto eight = [&](int r) {
      return _mm_loadl_epi64(reinterpret_cast<const __m128i*>(b[r]->scales + 8 * half));
    };
    const __m256i x = _mm256_setr_m128i(_mm_unpacklo_epi64(eight(0), eight(1)),
                                        _mm_unpacklo_epi64(eight(2), eight(3)));
    for (int s = 0; s < 8; ++s) {
      scales[8 * half + s] =
          _mm256_srai_epi16(_mm256_shuffle_epi8(x, load256(kQ6RowScaleMasks.words[s])), 8);
    }
  }
}

// acc + one 32-quant vector's scaled sums (sub-blocks 2j and 2j+1) for four interleaved rows
// against one token (act: the token's 32 activations of that vector).
inline __m256i add_q6_rows4_products(__m256i acc, const __m256i* w, const int8_t* act,
                                     __m256i scale_a, __m256i scale_b) {
  const __m256i pa = _mm256_add_epi16(_mm256_maddubs_epi16(w[0], broadcast8(act)),
                                      _mm256_maddubs_epi16(w[1], broadcast8(act + 8)));
  const __m256i pb = _mm256_add_epi16(_mm256_maddubs_epi16(w[2], broadcast8(act + 16)),
                                      _mm256_maddubs_epi16(w[3], broadcast8(act + 24)));
  return _mm256_add_epi32(
      acc, _mm256_add_epi32(_mm256_madd_epi16(pa, scale_a), _mm256_madd_epi16(pb, scale_b)));
}

// One q6_K super-block of four interleaved rows against a group of four tokens, kLive real.
template <int kLive>
inline void q6_rows4_block_x4(const __m256i* wq, const __m256i* scales, const BlockQ8_K* const* ab,
                              __m256i* acc) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  for (int j = 0; j < 8; ++j) {
    const __m256i w[4] = {_mm256_load_si256(wq + 4 * j), _mm256_load_si256(wq + 4 * j + 1),
                          _mm256_load_si256(wq + 4 * j + 2), _mm256_load_si256(wq + 4 * j + 3)};
    const __m256i sa = _mm256_load_si256(scales + 2 * j),
                  sb = _mm256_load_si256(scales + 2 * j + 1);
    a0 = add_q6_rows4_products(a0, w, ab[0]->qs + 32 * j, sa, sb);
    if constexpr (kLive > 1) a1 = add_q6_rows4_products(a1, w, ab[1]->qs + 32 * j, sa, sb);
    if constexpr (kLive > 2) a2 = add_q6_rows4_products(a2, w, ab[2]->qs + 32 * j, sa, sb);
    if constexpr (kLive > 3) a3 = add_q6_rows4_products(a3, w, ab[3]->qs + 32 * j, sa, sb);
    asm("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3));  // as in k45_rows4_vectors: no spilled tree
  }
  store_live<kLive>(acc, a0, a1, a2, a3);
}

// The q6_K tile: four interleaved rows against kTokens tokens, sums kept as in gemm_k45_tile;
// per super-block, lane by lane, d * ad * (sumi - 32 * sumb) as quant/vec_dot.cc computes it.
template <int kTokens>
void gemm_q6_k_tile(int64_t nb, const uint8_t* w, size_t w_stride, int64_t rb, int nr,
                    const uint8_t* a, size_t a_stride, int64_t t0, int nt,
                    const FloatLanes* ad_lanes, float* y, int64_t y_stride) {
  constexpr int kRows = 4, kPairs = kTokens / 2;
  const TileBlocks<BlockQ6_K, BlockQ8_K, kTokens> tile(w, w_stride, rb, nr, a, a_stride, t0, nt);
  __m256 sum[kPairs];
  for (auto& v : sum) v = _mm256_setzero_ps();
  const NextRowGroupPrefetch prefetch(w, w_stride, rb, nb, t0);  // see gemm_k45_tile
  for (int64_t i = 0; i < nb; ++i) {
    prefetch.block(i);
    const BlockQ8_K* ab[kTokens];
    for (int t = 0; t < kTokens; ++t) ab[t] = tile.tokens[t] + i;
    const BlockQ6_K* b[kRows] = {tile.rows[0] + i, tile.rows[1] + i, tile.rows[2] + i,
                                 tile.rows[3] + i};
    alignas(32) __m256i wq[32];
    alignas(32) __m256i scales[16];
    decode_q6_rows4(b, wq, scales);
    __m256i acc[kTokens];
    for_token_groups(nt, [&](int g, auto live) {
      q6_rows4_block_x4<decltype(live)::value>(wq, scales, ab + g, acc + g);
    });
    __m256i sc16[kRows];  // each row's 16 scales as int16, for the offset term
    for (int rr = 0; rr < kRows; ++rr) {
      sc16[rr] =
          _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b[rr]->scales)));
    }
    const __m256 d = rows4_pair_lanes(b[0]->d, b[1]->d, b[2]->d, b[3]->d);
    for (int p = 0; p < tile.live_pairs; ++p) {
      const BlockQ8_K& at = *ab[2 * p];
      const BlockQ8_K& au = *ab[2 * p + 1];
      const __m256i bt = load256(at.bsums), bu = load256(au.bsums);
      const __m256i bias[8] = {_mm256_madd_epi16(sc16[0], bt), _mm256_madd_epi16(sc16[1], bt),
                               _mm256_madd_epi16(sc16[0], bu), _mm256_madd_epi16(sc16[1], bu),
                               _mm256_madd_epi16(sc16[2], bt), _mm256_madd_epi16(sc16[3], bt),
                               _mm256_madd_epi16(sc16[2], bu), _mm256_madd_epi16(sc16[3], bu)};
      const __m256 ad = tile_pair_scale(ad_lanes, i, p);
      const __m256i diff = _mm256_sub_epi32(token_pair_sums(acc[2 * p], acc[2 * p + 1]),
                                            _mm256_slli_epi32(reduce8(bias), 5));
      sum[p] = _mm256_add_ps(sum[p], _mm256_mul_ps(_mm256_mul_ps(d, ad), _mm256_cvtepi32_ps(diff)));
    }
  }
  store_token_pairs(sum, tile.live_pairs, nt, nr, t0, rb, y, y_stride);
}

template <bool kQ5>
inline void k45_fused_sums(const uint8_t* head, const uint8_t* qs, const uint8_t* qh,
                           const BlockQ8_K& a, int* sumi, int* sumb) {
  __m256i acc, bias;
  k45_block_vectors<kQ5>(head, qs, qh, a, &acc, &bias);
  reduce_pair(acc, bias, sumi, sumb);
}

// One q6_K super-block against one Q8_K block, left unreduced like k45_block_vectors (*bias:
// the scale-weighted activation sums, which the -32 offset of every quant multiplies).
inline void q6_k_block_vectors(const BlockQ6_K& b, const BlockQ8_K& a, __m256i* acc_out,
                               __m256i* bias_out) {
  const __m256i low4 = _mm256_set1_epi8(0x0F), two = _mm256_set1_epi8(0x03);
  const __m128i sc8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales));
  const __m256i sc16 = _mm256_cvtepi8_epi16(sc8);  // lanes: scales 0..7 | 8..15
  // Scale pair for the 32 quants of vector j = 4h + k: sub-blocks 2j (low half), 2j+1 (high half).
  const __m256i first = _mm256_permute2x128_si256(sc16, sc16, 0x00);
  const __m256i second = _mm256_permute2x128_si256(sc16, sc16, 0x11);
  __m256i acc = _mm256_setzero_si256();
#pragma GCC unroll 2
  for (int h = 0; h < 2; ++h) {
    const __m256i l0 = load256(b.ql + 64 * h), l1 = load256(b.ql + 64 * h + 32);
    const __m256i hb = load256(b.qh + 32 * h);
    const __m256i q[4] = {
        _mm256_or_si256(_mm256_and_si256(l0, low4),
                        _mm256_slli_epi16(_mm256_and_si256(hb, two), 4)),
        _mm256_or_si256(_mm256_and_si256(l1, low4),
                        _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 2), two), 4)),
        _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), low4),
                        _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 4), two), 4)),
        _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), low4),
                        _mm256_and_si256(_mm256_srli_epi16(hb, 2), _mm256_set1_epi8(0x30))),
    };
    const __m256i half_scales = h == 0 ? first : second;
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      const __m256i s = _mm256_shuffle_epi8(half_scales, load256(kKScaleMasks.q6_pairs[k]));
      acc = _mm256_add_epi32(
          acc, _mm256_madd_epi16(_mm256_maddubs_epi16(q[k], load256(a.qs + 128 * h + 32 * k)), s));
    }
  }
  *acc_out = acc;
  *bias_out = _mm256_madd_epi16(sc16, load256(a.bsums));
}

// Four rows' q6_k_block_vectors at once, rows inner like k45_rows4_vectors: the activation
// vectors and scale masks are loaded once for all four rows.
inline void q6_k_rows4_vectors(const BlockQ6_K* const* blocks, const BlockQ8_K& a, __m256i* acc,
                               __m256i* bias) {
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  for (int rr = 0; rr < 4; ++rr) acc[rr] = _mm256_setzero_si256();
#pragma GCC unroll 2
  for (int h = 0; h < 2; ++h) {
    __m256i half_scales[4];
    for (int rr = 0; rr < 4; ++rr) {
      const __m128i sc8 =
          _mm_loadl_epi64(reinterpret_cast<const __m128i*>(blocks[rr]->scales + 8 * h));
      half_scales[rr] = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(sc8));
    }
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      const __m256i act = load256(a.qs + 128 * h + 32 * k),
                    mask = load256(kKScaleMasks.q6_pairs[k]);
#pragma GCC unroll 4
      for (int rr = 0; rr < 4; ++rr) {
        // Quants of vector k: low nibbles (k < 2) or high nibbles of ql[32 * (k % 2)...], and
        // bits 2k..2k+1 of qh as bits 4..5.
        const __m256i l = load256(blocks[rr]->ql + 64 * h + 32 * (k % 2));
        const __m256i hb = load256(blocks[rr]->qh + 32 * h);
        const __m256i low =
            k < 2 ? _mm256_and_si256(l, low4) : _mm256_and_si256(_mm256_srli_epi16(l, 4), low4);
        const __m256i high = k == 0   ? _mm256_slli_epi16(hb, 4)
                             : k == 1 ? _mm256_slli_epi16(hb, 2)
                             : k == 2 ? hb
                                      : _mm256_srli_epi16(hb, 2);
        const __m256i q = _mm256_or_si256(low, _mm256_and_si256(high, _mm256_set1_epi8(0x30)));
        const __m256i s = _mm256_shuffle_epi8(half_scales[rr], mask);
        acc[rr] = _mm256_add_epi32(acc[rr], _mm256_madd_epi16(_mm256_maddubs_epi16(q, act), s));
        asm("" : "+x"(acc[rr]));  // as in k45_rows4_vectors: no reassociated, spilled tree
      }
    }
  }
  const __m256i bsums = load256(a.bsums);
  for (int rr = 0; rr < 4; ++rr) {
    const __m128i sc8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blocks[rr]->scales));
    bias[rr] = _mm256_madd_epi16(_mm256_cvtepi8_epi16(sc8), bsums);
  }
}

inline void q6_k_fused_sums(const BlockQ6_K& b, const BlockQ8_K& a, int* sumi, int* sumb) {
  __m256i acc, bias;
  q6_k_block_vectors(b, a, &acc, &bias);
  reduce_pair(acc, bias, sumi, sumb);
}

template <typename Block, bool kQ6>
inline float k_fused_value(const Block& b, const BlockQ8_K& a) {
  int sumi, sumb;
  if constexpr (kQ6) {
    q6_k_fused_sums(b, a, &sumi, &sumb);
    return h2f(b.d) * a.d * static_cast<float>(sumi - 32 * sumb);
  } else {
    if constexpr (std::is_same_v<Block, BlockQ5_K>) {
      k45_fused_sums<true>(reinterpret_cast<const uint8_t*>(&b), b.qs, b.qh, a, &sumi, &sumb);
    } else {
      k45_fused_sums<false>(reinterpret_cast<const uint8_t*>(&b), b.qs, nullptr, a, &sumi, &sumb);
    }
    const float d = h2f(b.d) * a.d, dmin = h2f(b.dmin) * a.d;
    return d * static_cast<float>(sumi) - dmin * static_cast<float>(sumb);
  }
}

template <typename Block>
inline void block_vectors(const Block& b, const BlockQ8_K& a, __m256i* acc, __m256i* bias) {
  if constexpr (std::is_same_v<Block, BlockQ6_K>) {
    q6_k_block_vectors(b, a, acc, bias);
  } else if constexpr (std::is_same_v<Block, BlockQ5_K>) {
    k45_block_vectors<true>(reinterpret_cast<const uint8_t*>(&b), b.qs, b.qh, a, acc, bias);
  } else {
    k45_block_vectors<false>(reinterpret_cast<const uint8_t*>(&b), b.qs, nullptr, a, acc, bias);
  }
}

// Four rows at once, so the per-block horizontal sums and float steps are shared: reduce8 turns
// the 8 unreduced vectors into [sumi of rows 0..3 | sumb of rows 0..3], and the float steps run
// lane-wise with the same roundings as k_fused_value's scalar ones (so the bits stay the same).
// The four rows are any four (for_row_streams4 picks them); out[rr] receives row rr's result.
template <typename Block, bool kQ6>
inline void gemv_k_rows4(int64_t nb, const Block* const* rows, const BlockQ8_K* ab,
                         float* const* out) {
  __m128 sum = _mm_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    __m256i v[8];
    if constexpr (kQ6) {
      const BlockQ6_K* blocks[4];
      for (int rr = 0; rr < 4; ++rr) blocks[rr] = &rows[rr][i];
      q6_k_rows4_vectors(blocks, ab[i], v, v + 4);
    } else {
      const uint8_t* blocks[4];
      for (int rr = 0; rr < 4; ++rr) blocks[rr] = reinterpret_cast<const uint8_t*>(&rows[rr][i]);
      k45_rows4_vectors<std::is_same_v<Block, BlockQ5_K>>(blocks, ab[i], v, v + 4);
    }
    if constexpr (kQ6) {
      // The -32 offset is an integer term: fold it in before reducing (half the horizontal adds).
      for (int rr = 0; rr < 4; ++rr)
        v[rr] = _mm256_sub_epi32(v[rr], _mm256_slli_epi32(v[4 + rr], 5));
      const __m128i diff = reduce4(v);
      const __m128i dh = _mm_setr_epi16(
          static_cast<int16_t>(rows[0][i].d), static_cast<int16_t>(rows[1][i].d),
          static_cast<int16_t>(rows[2][i].d), static_cast<int16_t>(rows[3][i].d), 0, 0, 0, 0);
      const __m128 d = _mm_mul_ps(_mm_cvtph_ps(dh), _mm_set1_ps(ab[i].d));
      sum = _mm_add_ps(sum, _mm_mul_ps(d, _mm_cvtepi32_ps(diff)));
    } else {
      const __m256i sums = reduce8(v);
      uint32_t dm[4];  // d and dmin of each row, adjacent halves
      for (int rr = 0; rr < 4; ++rr) std::memcpy(&dm[rr], &rows[rr][i].d, sizeof dm[rr]);
      const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(dm));
      const __m128i split = _mm_shuffle_epi8(
          packed, _mm_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15));
      const __m256 dd = _mm256_mul_ps(_mm256_cvtph_ps(split), _mm256_set1_ps(ab[i].d));
      const __m256 prod = _mm256_mul_ps(dd, _mm256_cvtepi32_ps(sums));
      sum =
          _mm_add_ps(sum, _mm_sub_ps(_mm256_castps256_ps128(prod), _mm256_extractf128_ps(prod, 1)));
    }
  }
  alignas(16) float lanes[4];
  _mm_store_ps(lanes, sum);
  for (int rr = 0; rr < 4; ++rr) *out[rr] = lanes[rr];
}

template <typename Block, bool kQ6>
void gemv_k(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1, const uint8_t* a,
            size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride) {
  const int64_t nb = n / kQKK;
  for (int64_t t = 0; t < n_tokens; ++t) {
    const auto* ab = reinterpret_cast<const BlockQ8_K*>(a + static_cast<size_t>(t) * a_stride);
    float* yt = y + t * y_stride;
    const auto rows4 = [&](const Block* const* rows, float* const* out) {
      gemv_k_rows4<Block, kQ6>(nb, rows, ab, out);
    };
    const int64_t tail = for_row_stream_blocks4<Block>(w, w_stride, yt, r0, r1, rows4);
    for (int64_t r = tail; r < r1; ++r) {
      const auto* row = reinterpret_cast<const Block*>(w + static_cast<size_t>(r) * w_stride);
      float sum = 0.0f;
      for (int64_t i = 0; i < nb; ++i) sum += k_fused_value<Block, kQ6>(row[i], ab[i]);
      yt[r] = sum;
    }
  }
}

}  // namespace

void gemm_q4_k(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
               size_t as, int64_t nt, float* y, int64_t ys) {
  gemm_k<gemm_k45_tile<false, 4>, gemm_k45_tile<false, 8>, gemm_k45_tile<false, 16>, 16>(
      n, w, ws, r0, r1, a, as, nt, y, ys);
}

void gemm_q5_k(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
               size_t as, int64_t nt, float* y, int64_t ys) {
  gemm_k<gemm_k45_tile<true, 4>, gemm_k45_tile<true, 8>, gemm_k45_tile<true, 16>, 16>(
      n, w, ws, r0, r1, a, as, nt, y, ys);
}

void gemm_q6_k(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
               size_t as, int64_t nt, float* y, int64_t ys) {
  gemm_k<gemm_q6_k_tile<4>, gemm_q6_k_tile<8>, gemm_q6_k_tile<16>, 16>(n, w, ws, r0, r1, a, as, nt,
                                                                       y, ys);
}

void gemv_q4_k(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
               size_t as, int64_t nt, float* y, int64_t ys) {
  gemv_k<BlockQ4_K, false>(n, w, ws, r0, r1, a, as, nt, y, ys);
}

void gemv_q5_k(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
               size_t as, int64_t nt, float* y, int64_t ys) {
  gemv_k<BlockQ5_K, false>(n, w, ws, r0, r1, a, as, nt, y, ys);
}

void gemv_q6_k(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
               size_t as, int64_t nt, float* y, int64_t ys) {
  gemv_k<BlockQ6_K, true>(n, w, ws, r0, r1, a, as, nt, y, ys);
}

}  // namespace cmdai::cpu::avx2
