// AMX-int8 K-quant (q4_K, q5_K, q6_K) x Q8_K prefill tiles.
//
// One tdpbusd multiplies 16 weight rows (A: unpacked quants, row-major, unsigned) by 16 tokens
// (B: activations in the VNNI layout, 4 bytes per token per row, signed) over one sub-block
// (K = 32 for q4_K/q5_K, 16 for q6_K), giving the exact 16x16 integer sub-block sums. The rest is
// AVX-512 with tokens in the lanes: vpmulld by each row's sub-block scale, vpdpwssd for the
// mins/scales x bsums term, then the reference's float steps lane by lane, so every output has the
// scalar reference's bits (and the AVX-512 table's). Activations are rearranged once per call.
//
// Linux hands out the AMX register state only on request (arch_prctl ARCH_REQ_XCOMP_PERM);
// amx_available() asks once, and the table is only offered when it was granted.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "device/cpu/kernels_avx512.h"
#include "quant/blocks.h"

#pragma GCC optimize("fp-contract=off")

namespace cmdai::cpu::avx512 {
namespace {

constexpr int kTileTokens = 16;

struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};
static_assert(sizeof(TileConfig) == 64);

// tmm0: C (16 rows x 16 int32), tmm1: A (16 rows x kK bytes), tmm2: B (kK / 4 rows x 64 bytes).
template <int kK>
void configure_tiles() {
  TileConfig c;
  c.colsb[0] = 64, c.rows[0] = 16;
  c.colsb[1] = kK, c.rows[1] = 16;
  c.colsb[2] = 64, c.rows[2] = kK / 4;
  _tile_loadconfig(&c);
}

// A token group's block i: activations in the VNNI layout plus what the float steps need.
struct alignas(64) TokenBlock {
  __m512i b[64];     // row g: token t's bytes 4g..4g+3 in lane t
  __m512i bsums[8];  // pair k: token t's (bsums[2k], bsums[2k+1]) in lane t
  __m512 d;          // token t's scale in lane t
};

void prepare_tokens(const uint8_t* a, size_t a_stride, int64_t t0, int nt, int64_t i,
                    TokenBlock* tb) {
  const BlockQ8_K* ab[kTileTokens];
  for (int t = 0; t < kTileTokens; ++t) {
    ab[t] = t < nt
                ? reinterpret_cast<const BlockQ8_K*>(a + static_cast<size_t>(t0 + t) * a_stride) + i
                : nullptr;
  }
  const __m512i zero = _mm512_setzero_si512();
  for (int c = 0; c < 4; ++c) {
    __m512i r[kTileTokens];
    for (int t = 0; t < kTileTokens; ++t)
      r[t] = ab[t] != nullptr ? _mm512_loadu_si512(ab[t]->qs + 64 * c) : zero;
    transpose16_epi32(r);
    for (int k = 0; k < 16; ++k) tb->b[16 * c + k] = r[k];
  }
  __m512i r[kTileTokens];
  alignas(64) float d[kTileTokens];
  for (int t = 0; t < kTileTokens; ++t) {
    r[t] = ab[t] != nullptr ? _mm512_castsi256_si512(_mm256_loadu_si256(
                                  reinterpret_cast<const __m256i*>(ab[t]->bsums)))
                            : zero;
    d[t] = ab[t] != nullptr ? ab[t]->d : 0.0f;
  }
  transpose16_epi32(r);
  for (int k = 0; k < 8; ++k) tb->bsums[k] = r[k];
  tb->d = _mm512_load_ps(d);
}

// 16 rows' block i: quants row-major for tile loads, per-row fields as scalars to broadcast.
struct alignas(64) RowBlock {
  uint8_t q[kPanelRows][kQKK];
  int32_t scale[16][kPanelRows];
  int32_t bias[8][kPanelRows];
  float d[kPanelRows], dmin[kPanelRows];
};

template <KKind kKind>
void prepare_rows(const uint8_t* w, size_t w_stride, __m512i offsets, int nr, int64_t i,
                  RowBlock* rb) {
  const uint8_t* base = w + static_cast<size_t>(i) * kBlockBytes<kKind>;
  KParams k;
  gather_k_params<kKind>(base, offsets, live_rows(nr), &k);
  for (int s = 0; s < 16; ++s) _mm512_store_si512(rb->scale[s], k.scale[s]);
  for (int j = 0; j < 8; ++j) _mm512_store_si512(rb->bias[j], k.bias[j]);
  _mm512_store_ps(rb->d, k.d);
  _mm512_store_ps(rb->dmin, k.dmin);
  for (int row = 0; row < kPanelRows; ++row) {
    for (int c = 0; c < 4; ++c) {
      const __m512i v = row < nr
                            ? unpack_chunk<kKind>(base + static_cast<size_t>(row) * w_stride, c)
                            : _mm512_setzero_si512();
      _mm512_store_si512(rb->q[row] + 64 * c, v);
    }
  }
}

// Adds each (row, token) block value to f[row * 16 + token].
template <KKind kKind>
inline void tile_block(const RowBlock& rb, const TokenBlock& tb, float* f) {
  constexpr int kSub = kSubBlock<kKind>, kSubs = kQKK / kSub;
  alignas(64) int32_t c[kPanelRows][kTileTokens];
  __m512i sumi[kPanelRows];
  for (auto& v : sumi) v = _mm512_setzero_si512();
  for (int s = 0; s < kSubs; ++s) {
    _tile_zero(0);
    _tile_loadd(1, rb.q[0] + kSub * s, kQKK);
    _tile_loadd(2, &tb.b[kSub / 4 * s], 64);
    _tile_dpbusd(0, 1, 2);
    _tile_stored(0, c, 64);
#pragma GCC unroll 16
    for (int r = 0; r < kPanelRows; ++r) {
      sumi[r] = _mm512_add_epi32(
          sumi[r], _mm512_mullo_epi32(_mm512_load_si512(c[r]), _mm512_set1_epi32(rb.scale[s][r])));
    }
  }
  for (int r = 0; r < kPanelRows; ++r) {
    __m512i b = _mm512_setzero_si512();
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k)
      b = _mm512_dpwssd_epi32(b, _mm512_set1_epi32(rb.bias[k][r]), tb.bsums[k]);
    __m512 value;
    if constexpr (kKind == KKind::kQ6) {
      value = _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(rb.d[r]), tb.d),
                            _mm512_cvtepi32_ps(_mm512_sub_epi32(sumi[r], _mm512_slli_epi32(b, 5))));
    } else {
      const __m512 d = _mm512_mul_ps(_mm512_set1_ps(rb.d[r]), tb.d);
      const __m512 dmin = _mm512_mul_ps(_mm512_set1_ps(rb.dmin[r]), tb.d);
      value = _mm512_sub_ps(_mm512_mul_ps(d, _mm512_cvtepi32_ps(sumi[r])),
                            _mm512_mul_ps(dmin, _mm512_cvtepi32_ps(b)));
    }
    _mm512_store_ps(f + r * kTileTokens, _mm512_add_ps(_mm512_load_ps(f + r * kTileTokens), value));
  }
}

thread_local Scratch token_blocks, tile_sums;

template <KKind kKind>
void gemm_amx(int64_t n, const uint8_t* w, size_t w_stride, int64_t r0, int64_t r1,
              const uint8_t* a, size_t a_stride, int64_t n_tokens, float* y, int64_t y_stride) {
  const int64_t nb = n / kQKK;
  const int64_t groups = (n_tokens + kTileTokens - 1) / kTileTokens;
  auto* tbs = static_cast<TokenBlock*>(
      token_blocks.get(sizeof(TokenBlock) * static_cast<size_t>(groups * nb)));
  for (int64_t g = 0; g < groups; ++g) {
    const int nt = static_cast<int>(
        n_tokens - g * kTileTokens < kTileTokens ? n_tokens - g * kTileTokens : kTileTokens);
    for (int64_t i = 0; i < nb; ++i)
      prepare_tokens(a, a_stride, g * kTileTokens, nt, i, &tbs[g * nb + i]);
  }
  const size_t f_floats = static_cast<size_t>(groups) * kPanelRows * kTileTokens;
  auto* f = static_cast<float*>(tile_sums.get(sizeof(float) * f_floats));
  const __m512i offsets = row_offsets(w_stride);
  configure_tiles<kSubBlock<kKind>>();
  RowBlock rbk;
  for (int64_t rb = r0; rb < r1; rb += kPanelRows) {
    const int nr = static_cast<int>(r1 - rb < kPanelRows ? r1 - rb : kPanelRows);
    const uint8_t* wr = w + static_cast<size_t>(rb) * w_stride;
    std::memset(f, 0, sizeof(float) * f_floats);
    for (int64_t i = 0; i < nb; ++i) {
      prepare_rows<kKind>(wr, w_stride, offsets, nr, i, &rbk);
      for (int64_t g = 0; g < groups; ++g)
        tile_block<kKind>(rbk, tbs[g * nb + i], f + g * kPanelRows * kTileTokens);
    }
    // f holds rows x tokens per group; y wants tokens x rows.
    const __mmask16 live = live_rows(nr);
    for (int64_t g = 0; g < groups; ++g) {
      __m512i v[kPanelRows];
      for (int r = 0; r < kPanelRows; ++r)
        v[r] = _mm512_load_si512(f + (g * kPanelRows + r) * kTileTokens);
      transpose16_epi32(v);
      for (int t = 0; t < kTileTokens && g * kTileTokens + t < n_tokens; ++t) {
        _mm512_mask_storeu_ps(y + (g * kTileTokens + t) * y_stride + rb, live,
                              _mm512_castsi512_ps(v[t]));
      }
    }
  }
  _tile_release();
}

// Below this many tokens the AVX-512 tile wins (AMX pads every token group to 16).
constexpr int64_t kMinAmxTokens = 8;

bool request_amx() {
  constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
}

}  // namespace

bool amx_available() {
  static const bool granted = request_amx();
  return granted;
}

void amx_gemm_q4_k(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
                   size_t as, int64_t nt, float* y, int64_t ys) {
  if (nt < kMinAmxTokens) return gemm_q4_k(n, w, ws, r0, r1, a, as, nt, y, ys);
  gemm_amx<KKind::kQ4>(n, w, ws, r0, r1, a, as, nt, y, ys);
}

void amx_gemm_q5_k(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
                   size_t as, int64_t nt, float* y, int64_t ys) {
  if (nt < kMinAmxTokens) return gemm_q5_k(n, w, ws, r0, r1, a, as, nt, y, ys);
  gemm_amx<KKind::kQ5>(n, w, ws, r0, r1, a, as, nt, y, ys);
}

void amx_gemm_q6_k(int64_t n, const uint8_t* w, size_t ws, int64_t r0, int64_t r1, const uint8_t* a,
                   size_t as, int64_t nt, float* y, int64_t ys) {
  if (nt < kMinAmxTokens) return gemm_q6_k(n, w, ws, r0, r1, a, as, nt, y, ys);
  gemm_amx<KKind::kQ6>(n, w, ws, r0, r1, a, as, nt, y, ys);
}

}  // namespace cmdai::cpu::avx512
