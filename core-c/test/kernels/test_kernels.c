// Kernel tests and micro-benchmarks for ggml's quantized dot products (C11), built for WASM
// SIMD128 (emcc -msimd128) against ggml-base + ggml-cpu and run under node. See README.md.
//
//   test_kernels            run every case; one line per case; exit status 0 only if all pass
//   test_kernels --bench    mul_mat timings (Qwen2.5-0.5B shapes), median of several runs
//   test_kernels --kbench   the dot product kernels alone (data in L1): nrc = 1 against the 2x2 and
//                           2x1 tiles
//   --seed N                (or env NEURONOS_KERNEL_SEED) seed of the random blocks
//   --case NAME             only the cases whose name contains NAME
//
// Each case is a row of CASES[]: a weight type, its scalar reference kernel (the generic C one
// from ggml-cpu/quants.c), a generator of weight and activation blocks for every pattern and an
// exact (float64) evaluation of one dot product from the blocks. For each case:
//   1. kernel level, for several lengths n (1 block and up, odd block counts included) and
//      patterns (random, unit scales, extremes): the kernel ggml dispatches (type traits) with
//      nrc = 1 and, when the type has nrows = 2, the 2x2 tile (nrc = 2) against the generic
//      kernel and the exact value. Unit-scale patterns must be exact (all the float steps then
//      act on integers below 2^24); otherwise |got - exact| <= tol with
//          tol = (2*nb + 16) * 2^-24 * M,
//      nb = blocks in the dot, M = sum over blocks of |scale product| * sum |integer products|
//      (for Q4_K plus |dmin product| * |sum min * bsum|): the bound for nb sequential float
//      accumulations of terms that are each rounded a few times, for any summation order; so
//      SIMD and generic agree within 2*tol. Cases with bit_identical also require the 2x2 tile to
//      equal the nrc = 1 kernel bit for bit (then results do not depend on how mul_mat splits
//      the work, i.e. on the thread count), and the tile must not write outside its 4 outputs.
//      Likewise the 2x1 tile (two rows by ONE column, asked for as nrc = 2 with by = 0 and
//      bs = 0; mul_mat uses it for generation), for each of the two columns: s[0], s[1] only.
//   2. graph level: ggml_mul_mat of a [k, m] weight by a [k, n] f32 matrix, n = 1 .. 5, 7, 64,
//      and 3-d products ([k, 3, 2] by one weight, broadcast; [k, 3, 2] and [k, 5, 3] by as many
//      weight matrices: 2x2 tiles must not pair columns of different matrices; [k, 1, b] for
//      b = 2 .. 5, one column per matrix: generation in a batch), m = 34, 17 and 301 (with one
//      column, mul_mat pairs row i with row i + h of each chunk for the 2x1 tiles; 301 rows make 4
//      chunks, the last one odd),
//      computed with ggml_graph_compute (CPU backend, 1 thread) against a float64 product of the
//      dequantized weights and the quantized-then-dequantized activations, same tol per output
//      (M = sum |w a|); with bit_identical, also equal to the nrc = 1 kernel per output.
//   3. "repack q4_0x4" (patch 0008): Q4_0 weights placed in the CPU backend's in-place repack
//      buffer (ggml_backend_cpu_repack_buffer_from_ptr) must be rewritten exactly into the 4x4
//      layout (rows not a multiple of 4: left alone); the WASM gemv (1 column) and gemm (4 columns,
//      no write outside its outputs) on them, for every pattern and 1..28 blocks, against the
//      float64 value from the original blocks (same tol; exact for unit scales); and mul_mat of
//      such weights (n = 1 .. 64 columns, a 136-row weight repacked in 3 strips) against float64
//      and against the same weight in an ordinary tensor. Its "results print" hashes every result:
//      the SIMD128 and relaxed-SIMD programs must print the same.
//   --bench --repack        the Q4_0 rows with the weights in in-place repack buffers (4x4 kernels)
#define _POSIX_C_SOURCE 199309L
#define GGML_COMMON_DECL_C
#include "ggml-common.h"

#include "ggml.h"
#include "ggml-backend.h"
#include "ggml-cpu.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef __EMSCRIPTEN__
#include <emscripten.h>
#else
#define EMSCRIPTEN_KEEPALIVE
#endif

// ---- the scalar reference kernels (ggml-cpu/quants.c; not in a public header)
void ggml_vec_dot_q4_0_q8_0_generic(int n, float * s, size_t bs, const void * vx, size_t bx, const void * vy, size_t by, int nrc);
void ggml_vec_dot_q8_0_q8_0_generic(int n, float * s, size_t bs, const void * vx, size_t bx, const void * vy, size_t by, int nrc);
void ggml_vec_dot_q4_K_q8_K_generic(int n, float * s, size_t bs, const void * vx, size_t bx, const void * vy, size_t by, int nrc);
void ggml_vec_dot_i2_s_q8_0_generic(int n, float * s, size_t bs, const void * vx, size_t bx, const void * vy, size_t by, int nrc);

// ---- random numbers (splitmix64)
typedef struct { uint64_t s; } kt_rng;

static uint64_t kt_next(kt_rng * r) {
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static int kt_int(kt_rng * r, int lo, int hi) { return lo + (int) (kt_next(r) % (uint64_t) (hi - lo + 1)); } // [lo, hi]
static double kt_unif(kt_rng * r) { return (double) (kt_next(r) >> 11) * (1.0 / 9007199254740992.0); } // [0, 1)

// ---- block patterns
typedef enum {
    KT_RANDOM,     // random integers, random scales (either sign, 1e-4 .. 1)
    KT_UNIT,       // random integers, all scales 1: the result must be exact
    KT_EXT_UNIT,   // integers at the extremes (all max / all min / random choice of both), scales 1
    KT_EXT_MAX,    // extreme integers, largest fp16 scales (65504)
    KT_EXT_MIN,    // extreme integers, smallest fp16 scales (subnormal 2^-24, normal 2^-14)
    KT_PATTERNS
} kt_pattern;

static const char * const KT_PATTERN_NAMES[KT_PATTERNS] = { "random", "unit", "ext-unit", "ext-max", "ext-min" };

#define FP16_ONE     0x3C00
#define FP16_MAX     0x7BFF // 65504
#define FP16_MIN_SUB 0x0001 // 2^-24
#define FP16_MIN_NRM 0x0400 // 2^-14

static ggml_half kt_scale(kt_rng * r, kt_pattern p) {
    switch (p) {
        case KT_UNIT:
        case KT_EXT_UNIT: return FP16_ONE;
        case KT_EXT_MAX:  return (ggml_half) (kt_int(r, 0, 3) == 0 ? FP16_MAX | 0x8000 : FP16_MAX);
        case KT_EXT_MIN:  return (ggml_half) (kt_int(r, 0, 1) ? FP16_MIN_SUB : FP16_MIN_NRM);
        default: {
            const double v = exp(log(1e-4) * kt_unif(r)) * (kt_int(r, 0, 7) == 0 ? -1 : 1);
            return ggml_fp32_to_fp16((float) v);
        }
    }
}

// Which extreme a block gets: 0 = all max, 1 = all min, 2 = random choice per value.
static int kt_extreme_kind(kt_rng * r) { return kt_int(r, 0, 2); }
static int kt_pick(kt_rng * r, int kind, int lo, int hi) {
    return kind == 0 ? hi : kind == 1 ? lo : (kt_int(r, 0, 1) ? hi : lo);
}
static bool kt_is_extreme(kt_pattern p) { return p == KT_EXT_UNIT || p == KT_EXT_MAX || p == KT_EXT_MIN; }

// ---- Q8_0 (weights and activations)
static void gen_q8_0(void * dst, int nblk, kt_pattern p, kt_rng * r) {
    block_q8_0 * b = dst;
    for (int i = 0; i < nblk; ++i) {
        b[i].d = kt_scale(r, p);
        const int kind = kt_extreme_kind(r);
        for (int j = 0; j < QK8_0; ++j) {
            b[i].qs[j] = (int8_t) (kt_is_extreme(p) ? kt_pick(r, kind, -128, 127) : kt_int(r, -128, 127));
        }
    }
}

static double exact_q8_0_q8_0(int n, const void * vx, const void * vy, double * mag) {
    const block_q8_0 * x = vx;
    const block_q8_0 * y = vy;
    double sum = 0, m = 0;
    for (int i = 0; i < n / QK8_0; ++i) {
        int64_t isum = 0, iabs = 0;
        for (int j = 0; j < QK8_0; ++j) {
            const int p = x[i].qs[j] * y[i].qs[j];
            isum += p;
            iabs += abs(p);
        }
        const double d = (double) ggml_fp16_to_fp32(x[i].d) * ggml_fp16_to_fp32(y[i].d);
        sum += d * (double) isum;
        m += fabs(d) * (double) iabs;
    }
    *mag = m;
    return sum;
}

// ---- Q4_0
static void gen_q4_0(void * dst, int nblk, kt_pattern p, kt_rng * r) {
    block_q4_0 * b = dst;
    for (int i = 0; i < nblk; ++i) {
        b[i].d = kt_scale(r, p);
        const int kind = kt_extreme_kind(r);
        for (int j = 0; j < QK4_0/2; ++j) {
            const int lo = kt_is_extreme(p) ? kt_pick(r, kind, 0, 15) : kt_int(r, 0, 15);
            const int hi = kt_is_extreme(p) ? kt_pick(r, kind, 0, 15) : kt_int(r, 0, 15);
            b[i].qs[j] = (uint8_t) (lo | (hi << 4));
        }
    }
}

static double exact_q4_0_q8_0(int n, const void * vx, const void * vy, double * mag) {
    const block_q4_0 * x = vx;
    const block_q8_0 * y = vy;
    double sum = 0, m = 0;
    for (int i = 0; i < n / QK4_0; ++i) {
        int64_t isum = 0, iabs = 0;
        for (int j = 0; j < QK4_0/2; ++j) {
            const int p0 = ((x[i].qs[j] & 0x0F) - 8) * y[i].qs[j];
            const int p1 = ((x[i].qs[j] >> 4) - 8) * y[i].qs[j + QK4_0/2];
            isum += p0 + p1;
            iabs += abs(p0) + abs(p1);
        }
        const double d = (double) ggml_fp16_to_fp32(x[i].d) * ggml_fp16_to_fp32(y[i].d);
        sum += d * (double) isum;
        m += fabs(d) * (double) iabs;
    }
    *mag = m;
    return sum;
}

// ---- Q8_K activations (d is a float; bsums are the sums of 16 values)
static void gen_q8_K(void * dst, int nblk, kt_pattern p, kt_rng * r) {
    block_q8_K * b = dst;
    for (int i = 0; i < nblk; ++i) {
        switch (p) {
            case KT_UNIT: case KT_EXT_UNIT: b[i].d = 1.0f; break;
            case KT_EXT_MAX: b[i].d = 1e6f; break;
            case KT_EXT_MIN: b[i].d = 1e-12f; break;
            default: b[i].d = (float) (exp(log(1e-4) * kt_unif(r)) * (kt_int(r, 0, 7) == 0 ? -1 : 1)); break;
        }
        const int kind = kt_extreme_kind(r);
        for (int j = 0; j < QK_K; ++j) {
            b[i].qs[j] = (int8_t) (kt_is_extreme(p) ? kt_pick(r, kind, -128, 127) : kt_int(r, -128, 127));
        }
        for (int j = 0; j < QK_K/16; ++j) {
            int s = 0;
            for (int l = 0; l < 16; ++l) s += b[i].qs[16*j + l];
            b[i].bsums[j] = (int16_t) s;
        }
    }
}

// ggml has no to_float for Q8_K in its type traits
static void deq_q8_K(const void * GGML_RESTRICT vx, float * GGML_RESTRICT y, int64_t k) {
    const block_q8_K * x = vx;
    for (int64_t i = 0; i < k / QK_K; ++i) {
        for (int j = 0; j < QK_K; ++j) y[i*QK_K + j] = x[i].d * x[i].qs[j];
    }
}

// ---- Q4_K: 8 sub-blocks of 32 with 6-bit scales and mins packed in 12 bytes
static void q4_K_pack_scales(uint8_t q[K_SCALE_SIZE], const uint8_t sc[8], const uint8_t mn[8]) {
    for (int j = 0; j < 4; ++j) {
        q[j]     = (uint8_t) ((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
        q[j + 4] = (uint8_t) ((mn[j] & 63) | ((mn[j + 4] >> 4) << 6));
        q[j + 8] = (uint8_t) ((sc[j + 4] & 0xF) | ((mn[j + 4] & 0xF) << 4));
    }
}

static void q4_K_scale_min(int j, const uint8_t * q, int * sc, int * mn) {
    if (j < 4) {
        *sc = q[j] & 63;
        *mn = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *mn = (q[j + 4] >>  4) | ((q[j]     >> 6) << 4);
    }
}

static void gen_q4_K(void * dst, int nblk, kt_pattern p, kt_rng * r) {
    block_q4_K * b = dst;
    for (int i = 0; i < nblk; ++i) {
        b[i].d    = kt_scale(r, p);
        b[i].dmin = kt_scale(r, p);
        uint8_t sc[8], mn[8];
        const int kind = kt_extreme_kind(r);
        for (int j = 0; j < 8; ++j) {
            if (p == KT_UNIT) { // small sub-block scales keep the unit pattern below 2^24 (exact)
                sc[j] = (uint8_t) kt_int(r, 0, 3);
                mn[j] = (uint8_t) kt_int(r, 0, 3);
            } else if (kt_is_extreme(p)) {
                sc[j] = (uint8_t) kt_pick(r, kind, 0, 63);
                mn[j] = (uint8_t) kt_pick(r, kind, 0, 63);
            } else {
                sc[j] = (uint8_t) kt_int(r, 0, 63);
                mn[j] = (uint8_t) kt_int(r, 0, 63);
            }
        }
        if (p == KT_EXT_UNIT) { // 63 * 15 * 128 * 256 would pass 2^24: keep the ext-unit pattern exact
            for (int j = 0; j < 8; ++j) { sc[j] = sc[j] ? 1 : 0; mn[j] = mn[j] ? 1 : 0; }
        }
        q4_K_pack_scales(b[i].scales, sc, mn);
        for (int j = 0; j < QK_K/2; ++j) {
            const int lo = kt_is_extreme(p) ? kt_pick(r, kind, 0, 15) : kt_int(r, 0, 15);
            const int hi = kt_is_extreme(p) ? kt_pick(r, kind, 0, 15) : kt_int(r, 0, 15);
            b[i].qs[j] = (uint8_t) (lo | (hi << 4));
        }
    }
}

static double exact_q4_K_q8_K(int n, const void * vx, const void * vy, double * mag) {
    const block_q4_K * x = vx;
    const block_q8_K * y = vy;
    double sum = 0, m = 0;
    for (int i = 0; i < n / QK_K; ++i) {
        int64_t isum = 0, iabs = 0, msum = 0;
        for (int sb = 0; sb < 8; ++sb) { // sub-block sb: nibbles of qs[32*(sb/2) ..], low if sb even
            int sc, mn;
            q4_K_scale_min(sb, x[i].scales, &sc, &mn);
            int64_t ys = 0;
            for (int l = 0; l < 32; ++l) {
                const uint8_t b = x[i].qs[32*(sb/2) + l];
                const int q = (sb % 2 == 0) ? (b & 0xF) : (b >> 4);
                const int yv = y[i].qs[32*sb + l];
                isum += (int64_t) sc * q * yv;
                iabs += (int64_t) sc * q * abs(yv);
                ys += yv;
            }
            msum += (int64_t) mn * ys;
        }
        const double d    = (double) ggml_fp16_to_fp32(x[i].d)    * (double) y[i].d;
        const double dmin = (double) ggml_fp16_to_fp32(x[i].dmin) * (double) y[i].d;
        sum += d * (double) isum - dmin * (double) msum;
        m += fabs(d) * (double) iabs + fabs(dmin) * fabs((double) msum);
    }
    *mag = m;
    return sum;
}

// ---- I2_S (BitNet b1.58, patch 0002): 2-bit ternary codes, no block scale (one per tensor,
// applied by mul_mat); byte j of a 128-block holds elements j, j+32, j+64, j+96 from bit 7 down
static void gen_i2_s(void * dst, int nblk, kt_pattern p, kt_rng * r) {
    uint8_t * q = dst;
    for (int i = 0; i < nblk; ++i) {
        const int kind = kt_extreme_kind(r); // all -1 (code 0), all +1 (code 2), or a mix of both
        for (int j = 0; j < QK_I2_S / 4; ++j) {
            uint8_t b = 0;
            for (int g = 0; g < 4; ++g) {
                const int code = kt_is_extreme(p) ? kt_pick(r, kind, 0, 2) : kt_int(r, 0, 2);
                b |= (uint8_t) (code << (6 - 2 * g));
            }
            q[i * (QK_I2_S / 4) + j] = b;
        }
    }
}

static double exact_i2_s_q8_0(int n, const void * vx, const void * vy, double * mag) {
    const uint8_t * x = vx;
    const block_q8_0 * y = vy;
    double sum = 0, m = 0;
    for (int e = 0; e < n; ++e) { // element by element, from the format description
        const int blk = e / QK_I2_S, j = e % QK_I2_S;
        const int t = ((x[blk * (QK_I2_S / 4) + j % 32] >> (6 - 2 * (j / 32))) & 3) - 1;
        const block_q8_0 * yb = &y[e / QK8_0];
        const double p = (double) t * yb->qs[e % QK8_0] * ggml_fp16_to_fp32(yb->d);
        sum += p;
        m += fabs(p);
    }
    *mag = m;
    return sum;
}

// ---- the cases
typedef void   (*kt_gen_fn)(void * dst, int nblk, kt_pattern p, kt_rng * r);
typedef double (*kt_exact_fn)(int n, const void * x, const void * y, double * mag);

typedef struct {
    const char *   name;
    enum ggml_type type;          // weight type (src0 of mul_mat); activations: its vec_dot_type
    ggml_vec_dot_t ref;           // scalar reference dot product (nrc = 1)
    kt_gen_fn      gen_w;         // weight blocks
    kt_gen_fn      gen_y;         // activation blocks (of the vec_dot_type)
    kt_exact_fn    exact;         // float64 value of one dot and its magnitude M
    ggml_to_float_t deq_y;        // activation dequantizer when ggml's type traits have none
    int            wasm_nrows;    // expected type_traits_cpu nrows in a wasm SIMD128 build
    bool           bit_identical; // the nrc = 2 tile must equal the nrc = 1 kernel bit for bit
    int            n_blocks[6];   // kernel-level lengths, in weight blocks (0 ends the list)
    int            graph_km[3][2];// graph-level {k, m} shapes
} kt_case;

static const kt_case CASES[] = {
    { "q4_0 x q8_0", GGML_TYPE_Q4_0, ggml_vec_dot_q4_0_q8_0_generic, gen_q4_0, gen_q8_0, exact_q4_0_q8_0, NULL,
      2, true, { 1, 2, 3, 7, 28, 0 }, { { 96, 34 }, { 256, 17 }, { 160, 301 } } },
    { "q8_0 x q8_0", GGML_TYPE_Q8_0, ggml_vec_dot_q8_0_q8_0_generic, gen_q8_0, gen_q8_0, exact_q8_0_q8_0, NULL,
      2, true, { 1, 2, 3, 7, 28, 0 }, { { 96, 34 }, { 256, 17 }, { 160, 301 } } },
    { "q4_K x q8_K", GGML_TYPE_Q4_K, ggml_vec_dot_q4_K_q8_K_generic, gen_q4_K, gen_q8_K, exact_q4_K_q8_K, deq_q8_K,
      2, true, { 1, 2, 3, 5, 0, 0 }, { { 512, 34 }, { 256, 17 }, { 768, 301 } } },
    // BitNet's ternary kernel (patch 0002): one row x one column (nrows 1), SIMD against the generic
    // kernel and the float64 value, tails from 1 to 54 blocks (2560 and 6912 are 20 and 54)
    { "i2_s x q8_0", GGML_TYPE_I2_S, ggml_vec_dot_i2_s_q8_0_generic, gen_i2_s, gen_q8_0, exact_i2_s_q8_0, NULL,
      1, true, { 1, 2, 3, 20, 54, 0 }, { { 128, 34 }, { 640, 17 }, { 384, 301 } } },
};
#define N_CASES ((int) (sizeof(CASES) / sizeof(CASES[0])))

// ---- checking
#define KT_U (1.0 / 16777216.0) // 2^-24

typedef struct {
    int    checks, failures;
    double worst;       // largest |got - exact| / (u * M) seen
    uint32_t print;     // FNV-1a of the bits of every nrc = 1 result (compare builds with one seed)
    char   first[512];  // the first failure
} kt_result;

static void kt_fail(kt_result * res, const char * fmt, ...) __attribute__((format(printf, 2, 3)));
static void kt_fail(kt_result * res, const char * fmt, ...) {
    if (res->failures++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(res->first, sizeof(res->first), fmt, ap);
        va_end(ap);
    }
}

static uint32_t f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

static void kt_print_add(kt_result * res, float f) {
    uint32_t u = f32_bits(f), h = res->print ? res->print : 2166136261u;
    for (int i = 0; i < 4; ++i) h = (h ^ ((u >> (8 * i)) & 0xFF)) * 16777619u;
    res->print = h;
}

// One value against the exact one: exact when the pattern has unit scales and M < 2^24.
static void kt_check_value(kt_result * res, const char * what, float got, double exact, double mag, int nb, bool must_be_exact) {
    res->checks++;
    const double err = fabs((double) got - exact);
    const double tol = must_be_exact ? 0.0 : (2.0 * nb + 16.0) * KT_U * mag;
    if (mag > 0 && err / (KT_U * mag) > res->worst) res->worst = err / (KT_U * mag);
    if (!(err <= tol)) { // also catches NaN
        kt_fail(res, "%s: got %.9g, exact %.17g, |err| %.3g > tol %.3g (M %.6g, nb %d)", what, got, exact, err, tol, mag, nb);
    }
}

// One output of a 2x2 or 2x1 tile: against the float64 value (exact for unit-scale blocks while the
// magnitude fits f32's integers) and, for bit-identical cases, against the nrc = 1 kernel's output.
static void kt_check_tile_value(kt_result * res, const kt_case * c, const char * what, float v, double exact, double mag,
                                float one, int nb, bool unit) {
    kt_check_value(res, what, v, exact, mag, nb, unit && mag < 16777216.0);
    res->checks++; // the bit-identity comparison
    if (c->bit_identical && f32_bits(v) != f32_bits(one)) {
        kt_fail(res, "%s: %.9g differs from nrc=1 %.9g (bits %08x vs %08x)", what, v, one, f32_bits(v), f32_bits(one));
    }
}

static void kernel_checks(const kt_case * c, kt_rng * rng, kt_result * res) {
    const struct ggml_type_traits_cpu * tr = ggml_get_type_traits_cpu(c->type);
    const enum ggml_type yt = tr->vec_dot_type;
    const int64_t qk = ggml_blck_size(c->type);

#if defined(__wasm_simd128__)
    if (tr->nrows != c->wasm_nrows) {
        kt_fail(res, "type traits nrows = %d, expected %d in a wasm SIMD128 build", (int) tr->nrows, c->wasm_nrows);
    }
#endif

    for (int li = 0; li < 6 && c->n_blocks[li]; ++li) {
        const int n = (int) (c->n_blocks[li] * qk);
        const size_t bx = ggml_row_size(c->type, n);
        const size_t by = ggml_row_size(yt, n);
        uint8_t * xs = malloc(2 * bx);
        uint8_t * ys = malloc(2 * by);
        for (int p = 0; p < KT_PATTERNS; ++p) {
            const int trials = p == KT_RANDOM ? 24 : 8;
            for (int t = 0; t < trials; ++t) {
                c->gen_w(xs, 2 * (int) (bx / ggml_type_size(c->type)), (kt_pattern) p, rng);
                c->gen_y(ys, 2 * (int) (by / ggml_type_size(yt)), (kt_pattern) p, rng);
                const int nb = (int) (n / qk);
                const bool unit = p == KT_UNIT || p == KT_EXT_UNIT;
                float one[2][2], gen[2][2];
                double ex[2][2], mag[2][2];
                char what[160];
                for (int r = 0; r < 2; ++r) {
                    for (int col = 0; col < 2; ++col) {
                        const void * x = xs + r * bx;
                        const void * y = ys + col * by;
                        ex[r][col] = c->exact(n, x, y, &mag[r][col]);
                        const bool must_be_exact = unit && mag[r][col] < 16777216.0;
                        tr->vec_dot(n, &one[r][col], 0, x, 0, y, 0, 1);
                        kt_print_add(res, one[r][col]);
                        c->ref(n, &gen[r][col], 0, x, 0, y, 0, 1);
                        snprintf(what, sizeof(what), "n=%d %s #%d row %d col %d nrc=1", n, KT_PATTERN_NAMES[p], t, r, col);
                        kt_check_value(res, what, one[r][col], ex[r][col], mag[r][col], nb, must_be_exact);
                        snprintf(what, sizeof(what), "n=%d %s #%d row %d col %d generic", n, KT_PATTERN_NAMES[p], t, r, col);
                        kt_check_value(res, what, gen[r][col], ex[r][col], mag[r][col], nb, must_be_exact);
                    }
                }
                if (tr->nrows < 2) continue;
                // 2x2 tile: s[0] r0c0, s[1] r1c0, s[bs] r0c1, s[bs+1] r1c1; nothing else written
                enum { BS = 5, SLOTS = 2 * BS + 4 };
                float s[SLOTS];
                for (int i = 0; i < SLOTS; ++i) s[i] = -12345.5f;
                tr->vec_dot(n, s, BS, xs, bx, ys, by, 2);
                for (int i = 0; i < SLOTS; ++i) {
                    const bool out = i == 0 || i == 1 || i == BS || i == BS + 1;
                    if (!out && s[i] != -12345.5f) kt_fail(res, "n=%d %s: nrc=2 wrote s[%d]", n, KT_PATTERN_NAMES[p], i);
                }
                for (int r = 0; r < 2; ++r) {
                    for (int col = 0; col < 2; ++col) {
                        snprintf(what, sizeof(what), "n=%d %s #%d row %d col %d nrc=2", n, KT_PATTERN_NAMES[p], t, r, col);
                        kt_check_tile_value(res, c, what, s[col * BS + r], ex[r][col], mag[r][col], one[r][col], nb, unit);
                    }
                }
                // 2x1 tile, each column: nrc = 2 with by = 0 and bs = 0 writes s[0] r0, s[1] r1 only
                for (int col = 0; col < 2; ++col) {
                    enum { PAD = 3 };
                    float buf[PAD + 2 + PAD];
                    for (int i = 0; i < PAD + 2 + PAD; ++i) buf[i] = -12345.5f;
                    tr->vec_dot(n, buf + PAD, 0, xs, bx, ys + col * by, 0, 2);
                    for (int i = 0; i < PAD + 2 + PAD; ++i) {
                        if ((i < PAD || i >= PAD + 2) && buf[i] != -12345.5f) {
                            kt_fail(res, "n=%d %s: 2x1 wrote s[%d]", n, KT_PATTERN_NAMES[p], i - PAD);
                        }
                    }
                    for (int r = 0; r < 2; ++r) {
                        snprintf(what, sizeof(what), "n=%d %s #%d row %d col %d 2x1", n, KT_PATTERN_NAMES[p], t, r, col);
                        kt_check_tile_value(res, c, what, buf[PAD + r], ex[r][col], mag[r][col], one[r][col], nb, unit);
                    }
                }
            }
        }
        free(xs);
        free(ys);
    }
}

// dst = w [k, m] x a [k, n] through a ggml graph on the CPU backend (ggml_graph_compute).
typedef struct {
    struct ggml_cgraph * gf;
    struct ggml_tensor * dst;
    struct ggml_cplan    plan;
} kt_graph;

static void kt_graph_init(kt_graph * g, struct ggml_context * ctx, struct ggml_tensor * w, struct ggml_tensor * a, int n_threads) {
    g->dst = ggml_mul_mat(ctx, w, a);
    g->gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(g->gf, g->dst);
    g->plan = ggml_graph_plan(g->gf, n_threads, NULL);
    g->plan.work_data = g->plan.work_size ? malloc(g->plan.work_size) : NULL;
}

static float * kt_graph_compute(kt_graph * g) {
    return ggml_graph_compute(g->gf, &g->plan) == GGML_STATUS_SUCCESS ? (float *) g->dst->data : NULL;
}

static void kt_graph_free(kt_graph * g) { free(g->plan.work_data); }

static void graph_checks(const kt_case * c, kt_rng * rng, kt_result * res) {
    // src1: n2 matrices of n columns; the weight has nw matrices (1: broadcast over dim 2, or n2).
    // The 2x2 tiles must not pair columns of different matrices. One column (n = 1) is done with 2x1
    // tiles (rows i and i + h of each chunk); one column per matrix in a batch ({ 1, b, .. }) 1x1.
    static const struct { int n, n2, nw; } NS[] = {
        { 1, 1, 1 }, { 2, 1, 1 }, { 3, 1, 1 }, { 4, 1, 1 }, { 5, 1, 1 }, { 7, 1, 1 }, { 64, 1, 1 },
        { 3, 2, 1 }, { 3, 2, 2 }, { 5, 3, 3 },
        { 1, 2, 1 }, { 1, 3, 3 }, { 1, 4, 1 }, { 1, 5, 5 },
    };
    const struct ggml_type_traits_cpu * tr = ggml_get_type_traits_cpu(c->type);
    const enum ggml_type yt = tr->vec_dot_type;
    const struct ggml_type_traits * wt = ggml_get_type_traits(c->type);
    const ggml_to_float_t deq_y = c->deq_y ? c->deq_y : ggml_get_type_traits(yt)->to_float;
    for (int s = 0; s < 3; ++s) {
        const int k = c->graph_km[s][0], m = c->graph_km[s][1];
        const int nb = (int) (k / ggml_blck_size(c->type));
        for (size_t ni = 0; ni < sizeof(NS) / sizeof(NS[0]); ++ni) {
            const int n = NS[ni].n * NS[ni].n2; // all columns (dst and src1 are contiguous)
            const int mw = m * NS[ni].nw;       // all weight rows
            struct ggml_init_params ip = { .mem_size = 1 << 20, .mem_buffer = NULL, .no_alloc = false };
            ip.mem_size += ggml_row_size(c->type, k) * mw + (size_t) k * n * 4 + (size_t) m * n * 4 + 4 * ggml_tensor_overhead() + ggml_graph_overhead();
            struct ggml_context * ctx = ggml_init(ip);
            struct ggml_tensor * w = ggml_new_tensor_3d(ctx, c->type, k, m, NS[ni].nw);
            struct ggml_tensor * a = ggml_new_tensor_3d(ctx, GGML_TYPE_F32, k, NS[ni].n, NS[ni].n2);
            c->gen_w(w->data, nb * mw, KT_RANDOM, rng);
            if (c->type == GGML_TYPE_I2_S) { // the tensor's scale, after its rows: 1 here (the scale
                const float one = 1.0f;      // itself is tested by test_bitnet.c and the logits test)
                memcpy((uint8_t *) w->data + ggml_nbytes(w) - GGML_I2_S_SCALE_BYTES, &one, sizeof one);
            }
            float * af = a->data;
            for (int i = 0; i < k * n; ++i) af[i] = (float) (kt_unif(rng) * 2 - 1) * (i % 97 == 0 ? 8.0f : 1.0f);

            kt_graph g;
            kt_graph_init(&g, ctx, w, a, 1);
            float * out = kt_graph_compute(&g);
            kt_graph_free(&g);
            if (!out) {
                kt_fail(res, "graph k=%d m=%d n=%dx%d: ggml_graph_compute failed", k, m, NS[ni].n, NS[ni].n2);
                ggml_free(ctx);
                continue;
            }

            // reference: dequantized weights, activations quantized like mul_mat does, then dequantized
            const size_t yrow = ggml_row_size(yt, k);
            uint8_t * aq = malloc(yrow * n);
            float * wd = malloc(sizeof(float) * k * mw);
            float * ad = malloc(sizeof(float) * k * n);
            for (int j = 0; j < n; ++j) {
                ggml_get_type_traits_cpu(yt)->from_float(af + (size_t) j * k, aq + j * yrow, k);
                deq_y(aq + j * yrow, ad + (size_t) j * k, k);
            }
            for (int i = 0; i < mw; ++i) wt->to_float((const uint8_t *) w->data + i * w->nb[1], wd + (size_t) i * k, k);

            char what[160];
            for (int j = 0; j < n; ++j) {
                const int wm = (j / NS[ni].n) / (NS[ni].n2 / NS[ni].nw); // the weight matrix of column j
                for (int i = 0; i < m; ++i) {
                    const int wi = wm * m + i;
                    double sum = 0, mag = 0;
                    for (int l = 0; l < k; ++l) {
                        const double p = (double) wd[(size_t) wi * k + l] * ad[(size_t) j * k + l];
                        sum += p;
                        mag += fabs(p);
                    }
                    const float got = out[(size_t) j * m + i];
                    snprintf(what, sizeof(what), "graph k=%d m=%d n=%dx%d w=%d out[%d][%d]", k, m, NS[ni].n, NS[ni].n2, NS[ni].nw, j, i);
                    kt_check_value(res, what, got, sum, mag, nb, false);
                    if (c->bit_identical) {
                        float one;
                        tr->vec_dot(k, &one, 0, (const uint8_t *) w->data + wi * w->nb[1], 0, aq + j * yrow, 0, 1);
                        res->checks++;
                        if (f32_bits(one) != f32_bits(got)) {
                            kt_fail(res, "%s: %.9g differs from the nrc=1 kernel %.9g", what, got, one);
                        }
                    }
                }
            }
            free(aq);
            free(wd);
            free(ad);
            ggml_free(ctx);
        }
    }
}

// ---- fp16 <-> fp32 and attention on fp16 K/V (patch 0006)
// ggml_cpu_fp16_to_fp32 / ggml_cpu_fp32_to_fp16 (rows: SIMD128 in a wasm build, 8 lanes at a time,
// scalar tail) must give bit for bit what ggml-base's scalar ggml_fp16_to_fp32 / ggml_fp32_to_fp16
// give, for every input: all 65,536 halves (NaN: a NaN); floats on, halfway between and one ulp
// around consecutive halves (round to nearest even), f32 subnormals, overflow, infinities, NaNs and
// seeded random bit patterns; rows of random lengths 1..19 so that every tail length occurs.
static bool kt_same_f32(float got, float want) { return isnan(want) ? isnan(got) : f32_bits(got) == f32_bits(want); }

static float kt_f32_from_bits(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

// the next row's length, 1..19 at random (the rest of n near the end)
static int kt_row_len(kt_rng * rng, int i, int n) { return i + 19 > n ? n - i : kt_int(rng, 1, 19); }

static void f16_checks(kt_rng * rng, kt_result * res) {
    enum { NH = 65536 };
    ggml_fp16_t * h = malloc(NH * sizeof *h);
    float * f = malloc(NH * sizeof *f);
    for (int i = 0; i < NH; ++i) h[i] = (ggml_fp16_t) i;
    for (int i = 0, len; i < NH; i += len) ggml_cpu_fp16_to_fp32(h + i, f + i, len = kt_row_len(rng, i, NH));
    for (int i = 0; i < NH; ++i) {
        res->checks++;
        const float want = ggml_fp16_to_fp32(h[i]);
        if (!kt_same_f32(f[i], want)) {
            kt_fail(res, "fp16 0x%04x -> %.9g (bits %08x), scalar %.9g (bits %08x)", i, f[i], f32_bits(f[i]), want, f32_bits(want));
        }
    }

    // fp32 -> fp16 inputs
    const int cap = NH + 6 * 0x7C00 + 16 + 4 * 4096 + 65536;
    float * x = malloc(sizeof(float) * cap);
    int n = 0;
    for (int i = 0; i < NH; ++i) x[n++] = ggml_fp16_to_fp32((ggml_fp16_t) i); // every half, exactly
    for (int i = 0; i < 0x7C00; ++i) { // between positive finite halves i and i + 1 (0x7BFF + 1: +inf)
        const double a = ggml_fp16_to_fp32((ggml_fp16_t) i);
        const double b = i + 1 < 0x7C00 ? ggml_fp16_to_fp32((ggml_fp16_t) (i + 1)) : 65536.0; // the rounding boundary above 65504 is 65520
        const float mid = (float) ((a + b) / 2);
        const float lo = nextafterf(mid, 0.0f), hi = nextafterf(mid, INFINITY);
        x[n++] = mid; x[n++] = lo; x[n++] = hi;
        x[n++] = -mid; x[n++] = -lo; x[n++] = -hi;
    }
    const float special[16] = { 0.0f, -0.0f, 65504.0f, 65519.996f, 65520.0f, -65520.0f, 1e5f, -1e30f, FLT_MAX, -FLT_MAX,
                                INFINITY, -INFINITY, NAN, -NAN, kt_f32_from_bits(0x7F800001u), kt_f32_from_bits(0xFFC12345u) };
    for (int i = 0; i < 16; ++i) x[n++] = special[i];
    for (int i = 0; i < 4 * 4096; ++i) { // f32 subnormals and the smallest normals, either sign
        const uint32_t mant = (uint32_t) (kt_next(rng) & 0x7FFFFF);
        x[n++] = kt_f32_from_bits(((uint32_t) (i & 1) << 31) | ((uint32_t) ((i >> 1) & 1) << 23) | mant);
    }
    for (int i = 0; i < 65536; ++i) x[n++] = kt_f32_from_bits((uint32_t) kt_next(rng)); // anything, NaNs included
    ggml_fp16_t * y = malloc(sizeof(ggml_fp16_t) * n);
    for (int i = 0, len; i < n; i += len) ggml_cpu_fp32_to_fp16(x + i, y + i, len = kt_row_len(rng, i, n));
    for (int i = 0; i < n; ++i) {
        res->checks++;
        const ggml_fp16_t want = ggml_fp32_to_fp16(x[i]);
        if (y[i] != want) {
            kt_fail(res, "fp32 %.9g (bits %08x) -> fp16 0x%04x, scalar 0x%04x", x[i], f32_bits(x[i]), y[i], want);
        }
    }

    // ggml_vec_dot_f16 (its SIMD128 loads widen through the same conversion): float64 value of the
    // product of the halves, tol = (n + 16) u sum |x y|; lengths 1..70 (the loop takes 16 at a time)
    const struct ggml_type_traits_cpu * tr = ggml_get_type_traits_cpu(GGML_TYPE_F16);
    for (int len = 1; len <= 70; ++len) {
        for (int pat = 0; pat < 2; ++pat) {
            ggml_fp16_t a[70], b[70];
            double sum = 0, mag = 0;
            for (int i = 0; i < len; ++i) {
                const float fa = pat == 0 ? (float) (kt_unif(rng) * 4 - 2) : (kt_int(rng, 0, 1) ? 65504.0f : -6.1035156e-05f);
                const float fb = pat == 0 ? (float) (kt_unif(rng) * 4 - 2) : (kt_int(rng, 0, 1) ? -2.0f : 5.9604645e-08f);
                a[i] = ggml_fp32_to_fp16(fa);
                b[i] = ggml_fp32_to_fp16(fb);
                const double p = (double) ggml_fp16_to_fp32(a[i]) * ggml_fp16_to_fp32(b[i]);
                sum += p;
                mag += fabs(p);
            }
            float got;
            tr->vec_dot(len, &got, 0, a, 0, b, 0, 1);
            char what[64];
            snprintf(what, sizeof what, "vec_dot_f16 n=%d %s", len, pat ? "extremes" : "random");
            kt_check_value(res, what, got, sum, mag, len, false);
        }
    }
    free(h); free(f); free(x); free(y);
}

// ---- Q4_0 repacked in place into the 4x4 interleaved layout (patch 0008)
// The kernels for the layout (ggml-cpu/arch/wasm/repack.cpp; not in a public header) and the CPU
// backend's in-place repack buffer, asked for by name as llama.cpp does.
void ggml_gemv_q4_0_4x4_q8_0(int n, float * s, size_t bs, const void * vx, const void * vy, int nr, int nc);
void ggml_gemm_q4_0_4x4_q8_0(int n, float * s, size_t bs, const void * vx, const void * vy, int nr, int nc);
typedef ggml_backend_buffer_t (*kt_repack_from_ptr_t)(void * ptr, size_t size);

static kt_repack_from_ptr_t kt_repack_from_ptr(void) {
    return (kt_repack_from_ptr_t) ggml_backend_reg_get_proc_address(ggml_backend_cpu_reg(), "ggml_backend_cpu_repack_buffer_from_ptr");
}

typedef struct {
    struct ggml_context * ctx;
    ggml_backend_buffer_t buf;
    struct ggml_tensor *  w;
    void *                data; // 64-byte aligned copy of the blocks, repacked in place
} kt_repacked;

// A [k, m] Q4_0 weight whose bytes (a copy of `blocks`) are placed in an in-place repack buffer.
static bool kt_repacked_init(kt_repacked * r, const block_q4_0 * blocks, int k, int m, kt_result * res) {
    memset(r, 0, sizeof *r);
    const size_t size = (size_t) m * (k / QK4_0) * sizeof(block_q4_0);
    struct ggml_init_params ip = { .mem_size = ggml_tensor_overhead() * 2, .mem_buffer = NULL, .no_alloc = true };
    const kt_repack_from_ptr_t from_ptr = kt_repack_from_ptr();
    res->checks++;
    if (!from_ptr) { kt_fail(res, "the CPU backend has no ggml_backend_cpu_repack_buffer_from_ptr"); return false; }
    r->ctx = ggml_init(ip);
    r->w = ggml_new_tensor_2d(r->ctx, GGML_TYPE_Q4_0, k, m);
    r->data = aligned_alloc(64, (size + 63) & ~(size_t) 63);
    memcpy(r->data, blocks, size);
    r->buf = from_ptr(r->data, size);
    res->checks++;
    if (!r->buf || ggml_backend_tensor_alloc(r->buf, r->w, r->data) != GGML_STATUS_SUCCESS) {
        kt_fail(res, "in-place repack buffer for [%d, %d]: no buffer or the tensor could not be placed", k, m);
        return false;
    }
    return true;
}

static void kt_repacked_free(kt_repacked * r) {
    if (r->buf) ggml_backend_buffer_free(r->buf);
    if (r->ctx) ggml_free(r->ctx);
    free(r->data);
}

// The bytes after an in-place repack are exactly the documented layout: per group of 4 rows and
// block, the 4 scales, then for chunk c = 0..3 and row j = 0..3 bytes 4c..4c+3 of row j's block, each
// XOR 0x88; a weight whose rows are not a multiple of 4 keeps its bytes (and no repack traits).
static void kt_check_layout(kt_result * res, const kt_repacked * r, const block_q4_0 * blocks, int k, int m) {
    const int nb = k / QK4_0;
    const uint8_t * got = r->data;
    res->checks++;
    if (m % 4 != 0) {
        if (r->w->extra != NULL || memcmp(got, blocks, (size_t) m * nb * sizeof(block_q4_0)) != 0) {
            kt_fail(res, "[%d, %d] (rows not a multiple of 4) was repacked", k, m);
        }
        return;
    }
    if (r->w->extra == NULL) { kt_fail(res, "[%d, %d] was not given the repack traits", k, m); return; }
    for (int g = 0; g < m / 4; ++g) {
        for (int l = 0; l < nb; ++l) {
            const uint8_t * b = got + ((size_t) g * nb + l) * 4 * sizeof(block_q4_0);
            for (int j = 0; j < 4; ++j) {
                const block_q4_0 * src = &blocks[(size_t) (4 * g + j) * nb + l];
                ggml_half d;
                memcpy(&d, b + 2 * j, 2);
                bool ok = d == src->d;
                for (int c = 0; c < 4; ++c) {
                    for (int i = 0; i < 4; ++i) ok = ok && b[8 + 16 * c + 4 * j + i] == (uint8_t) (src->qs[4 * c + i] ^ 0x88);
                }
                if (!ok) {
                    kt_fail(res, "[%d, %d]: row %d block %d is not in the 4x4 layout", k, m, 4 * g + j, l);
                    return;
                }
            }
        }
    }
}

// Four Q8_0 columns of nb blocks -> block_q8_0x4 (ggml_quantize_mat_q8_0_4x4's layout).
static void kt_interleave_q8_0x4(const block_q8_0 * cols[4], int nb, uint8_t * out /* nb * 136 bytes */) {
    for (int l = 0; l < nb; ++l) {
        uint8_t * b = out + (size_t) l * (4 * sizeof(ggml_half) + 4 * QK8_0);
        for (int m = 0; m < 4; ++m) memcpy(b + 2 * m, &cols[m][l].d, 2);
        for (int c = 0; c < 8; ++c) {
            for (int m = 0; m < 4; ++m) memcpy(b + 8 + 16 * c + 4 * m, &cols[m][l].qs[4 * c], 4);
        }
    }
}

// Kernel level: every pattern (extremes: nibbles 0/15, activations -128/127, fp16 scales 65504 and
// 2^-24), lengths of 1, 2, 3, 7, 28 blocks, 4, 8 and 12 rows; gemv (one column) and gemm (four
// columns, output stride with gaps that must stay untouched) against the float64 value from the
// original blocks, same tol as the other kernels (exact for unit scales below 2^24).
static void repack_kernel_checks(kt_rng * rng, kt_result * res) {
    static const int NB[] = { 1, 2, 3, 7, 28 };
    static const int M[] = { 4, 8, 12 };
    for (int p = 0; p < KT_PATTERNS; ++p) {
        for (int ni = 0; ni < 5; ++ni) {
            for (int mi = 0; mi < 3; ++mi) {
                const int nb = NB[ni], m = M[mi], k = nb * QK4_0;
                block_q4_0 * w = malloc(sizeof(block_q4_0) * m * nb);
                block_q8_0 * y = malloc(sizeof(block_q8_0) * 4 * nb);
                uint8_t * y4 = malloc((size_t) nb * (4 * sizeof(ggml_half) + 4 * QK8_0));
                gen_q4_0(w, m * nb, (kt_pattern) p, rng);
                gen_q8_0(y, 4 * nb, (kt_pattern) p, rng);
                kt_repacked r;
                if (kt_repacked_init(&r, w, k, m, res)) {
                    kt_check_layout(res, &r, w, k, m);
                    const bool unit = p == KT_UNIT || p == KT_EXT_UNIT;
                    char what[128];
                    float sv[12];
                    ggml_gemv_q4_0_4x4_q8_0(k, sv, 0, r.data, y, 1, m);
                    for (int row = 0; row < m; ++row) {
                        double mag;
                        const double ex = exact_q4_0_q8_0(k, &w[(size_t) row * nb], y, &mag);
                        snprintf(what, sizeof what, "gemv %s nb=%d m=%d row %d", KT_PATTERN_NAMES[p], nb, m, row);
                        kt_check_value(res, what, sv[row], ex, mag, nb, unit && mag < 16777216.0);
                        kt_print_add(res, sv[row]);
                    }
                    const block_q8_0 * cols[4] = { y, y + nb, y + 2 * nb, y + 3 * nb };
                    kt_interleave_q8_0x4(cols, nb, y4);
                    const int bs = m + 3;
                    float sm[4 * 15];
                    const uint32_t SENT = 0x7FC0BEEFu;
                    for (int i = 0; i < 4 * bs; ++i) sm[i] = kt_f32_from_bits(SENT);
                    ggml_gemm_q4_0_4x4_q8_0(k, sm, bs, r.data, y4, 4, m);
                    for (int c = 0; c < 4; ++c) {
                        for (int row = 0; row < bs; ++row) {
                            const float v = sm[c * bs + row];
                            if (row >= m) {
                                res->checks++;
                                if (f32_bits(v) != SENT) kt_fail(res, "gemm %s nb=%d m=%d wrote s[%d] outside its outputs", KT_PATTERN_NAMES[p], nb, m, c * bs + row);
                                continue;
                            }
                            double mag;
                            const double ex = exact_q4_0_q8_0(k, &w[(size_t) row * nb], cols[c], &mag);
                            snprintf(what, sizeof what, "gemm %s nb=%d m=%d column %d row %d", KT_PATTERN_NAMES[p], nb, m, c, row);
                            kt_check_value(res, what, v, ex, mag, nb, unit && mag < 16777216.0);
                            kt_print_add(res, v);
                        }
                    }
                }
                kt_repacked_free(&r);
                free(w); free(y); free(y4);
            }
        }
    }
}

// Activations that Q8_0 quantizes exactly (either path: quantize_row_q8_0 for single columns,
// ggml_quantize_mat_q8_0_4x4 for groups of 4): per block integers in -127..127, one of them +-127,
// times 2^e; the float64 reference then uses those integers and scales.
static void kt_exact_q8_activations(kt_rng * rng, float * x, block_q8_0 * q, int k) {
    for (int l = 0; l < k / QK8_0; ++l) {
        const int e = kt_int(rng, -8, 0);
        const float d = ldexpf(1.0f, e);
        q[l].d = ggml_fp32_to_fp16(d);
        const int big = kt_int(rng, 0, QK8_0 - 1);
        for (int j = 0; j < QK8_0; ++j) {
            const int v = j == big ? (kt_int(rng, 0, 1) ? 127 : -127) : kt_int(rng, -127, 127);
            q[l].qs[j] = (int8_t) v;
            x[l * QK8_0 + j] = (float) v * d;
        }
    }
}

// Graph level: ggml_mul_mat of a [k, m] Q4_0 weight in the in-place repack buffer by [k, n] f32
// (ggml_graph_compute, 1 thread; n >= 4 runs the gemm on groups of 4 columns and the gemv on the
// rest) against the float64 product, same tol, and against the same weight in an ordinary tensor
// (within 2 tol). m = 136 is repacked in three strips (64, 64, 8 rows); m = 6 is not repackable:
// the buffer leaves it as it is and the ordinary kernels give bit-identical results.
static void repack_graph_checks(kt_rng * rng, kt_result * res) {
    static const struct { int k, m; } KM[] = { { 64, 8 }, { 96, 12 }, { 896, 136 }, { 256, 6 } };
    static const int NS[] = { 1, 3, 4, 5, 8, 9, 64 };
    for (int s = 0; s < 4; ++s) {
        const int k = KM[s].k, m = KM[s].m, nb = k / QK4_0;
        block_q4_0 * w = malloc(sizeof(block_q4_0) * m * nb);
        gen_q4_0(w, m * nb, KT_RANDOM, rng);
        kt_repacked r;
        if (!kt_repacked_init(&r, w, k, m, res)) { kt_repacked_free(&r); free(w); continue; }
        kt_check_layout(res, &r, w, k, m);
        for (int ni = 0; ni < 7; ++ni) {
            const int n = NS[ni];
            struct ggml_init_params ip = { .mem_size = (size_t) 16 << 20, .mem_buffer = NULL, .no_alloc = false };
            struct ggml_context * ctx = ggml_init(ip);
            struct ggml_tensor * plain = ggml_new_tensor_2d(ctx, GGML_TYPE_Q4_0, k, m);
            memcpy(plain->data, w, ggml_nbytes(plain));
            struct ggml_tensor * a = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, k, n);
            block_q8_0 * qa = malloc(sizeof(block_q8_0) * nb * n);
            for (int c = 0; c < n; ++c) kt_exact_q8_activations(rng, (float *) a->data + (size_t) c * k, qa + (size_t) c * nb, k);
            kt_graph g1, g2;
            kt_graph_init(&g1, ctx, r.w, a, 1);
            kt_graph_init(&g2, ctx, plain, a, 1);
            const float * got = kt_graph_compute(&g1);
            const float * ref = kt_graph_compute(&g2);
            res->checks++;
            if (!got || !ref) {
                kt_fail(res, "mul_mat [%d, %d] x [%d, %d] failed", k, m, k, n);
            } else {
                for (int c = 0; c < n; ++c) {
                    for (int row = 0; row < m; ++row) {
                        double mag;
                        const double ex = exact_q4_0_q8_0(k, &w[(size_t) row * nb], qa + (size_t) c * nb, &mag);
                        const float v = got[(size_t) c * m + row], o = ref[(size_t) c * m + row];
                        char what[128];
                        snprintf(what, sizeof what, "mul_mat [%d, %d] x [%d, %d] column %d row %d", k, m, k, n, c, row);
                        kt_check_value(res, what, v, ex, mag, nb, false);
                        kt_print_add(res, v);
                        res->checks++;
                        const double tol = (2.0 * nb + 16.0) * KT_U * mag;
                        if (m % 4 != 0 ? !kt_same_f32(v, o) : !(fabs((double) v - o) <= 2 * tol)) {
                            kt_fail(res, "%s: %.9g, ordinary tensor %.9g", what, v, o);
                        }
                    }
                }
            }
            kt_graph_free(&g1); kt_graph_free(&g2);
            free(qa);
            ggml_free(ctx);
        }
        kt_repacked_free(&r);
        free(w);
    }
}

static void repack_checks(kt_rng * rng, kt_result * res) {
    repack_kernel_checks(rng, res);
    repack_graph_checks(rng, res);
}

// ggml_flash_attn_ext with fp16 K and V, f32 Q, through a graph (1 thread): one query (generation,
// one head per row; 600 keys take the split-KV path) and a few queries, grouped-query heads, masks
// with -inf holes and finite values, against a float64 softmax(scale q k + mask) v with q rounded to
// fp16 as ggml does. |err| <= 1e-4 * max |v|: accumulating V in f32 stays far inside it; the fp16
// accumulator that WASM used before patch 0006 (rounding to 11 bits at every key) does not.
static void fattn_checks(kt_rng * rng, kt_result * res) {
    static const struct { int d, n_q, n_kv, nh, nh_kv; } FA[] = {
        { 64, 1, 1, 14, 2 }, { 64, 1, 37, 14, 2 }, { 64, 1, 256, 14, 2 }, { 64, 1, 600, 4, 2 },
        { 128, 3, 70, 4, 1 }, { 64, 2, 190, 8, 8 },
    };
    for (size_t c = 0; c < sizeof FA / sizeof FA[0]; ++c) {
        const int D = FA[c].d, NQ = FA[c].n_q, NKV = FA[c].n_kv, NH = FA[c].nh, NHKV = FA[c].nh_kv;
        struct ggml_init_params ip = { .mem_size = (size_t) 64 << 20, .mem_buffer = NULL, .no_alloc = false };
        struct ggml_context * ctx = ggml_init(ip);
        struct ggml_tensor * q = ggml_new_tensor_3d(ctx, GGML_TYPE_F32, D, NQ, NH);
        struct ggml_tensor * k = ggml_new_tensor_3d(ctx, GGML_TYPE_F16, D, NKV, NHKV);
        struct ggml_tensor * v = ggml_new_tensor_3d(ctx, GGML_TYPE_F16, D, NKV, NHKV);
        struct ggml_tensor * m = ggml_new_tensor_2d(ctx, GGML_TYPE_F16, NKV, NQ);
        float * qd = q->data;
        ggml_fp16_t * kd = k->data, * vd = v->data, * md = m->data;
        for (int i = 0; i < D * NQ * NH; ++i) qd[i] = (float) (kt_unif(rng) * 2 - 1);
        double vmax = 0;
        for (int i = 0; i < D * NKV * NHKV; ++i) {
            kd[i] = ggml_fp32_to_fp16((float) (kt_unif(rng) * 2 - 1));
            vd[i] = ggml_fp32_to_fp16((float) (kt_unif(rng) * 4 - 2));
            vmax = fmax(vmax, fabs(ggml_fp16_to_fp32(vd[i])));
        }
        for (int iq = 0; iq < NQ; ++iq) {
            for (int j = 0; j < NKV; ++j) {
                const int r = kt_int(rng, 0, 9);
                md[iq * NKV + j] = ggml_fp32_to_fp16(j == 0 || r < 6 ? 0.0f : r < 9 ? -INFINITY : -1.5f);
            }
        }
        const float scale = 1.0f / sqrtf((float) D);
        struct ggml_tensor * out = ggml_flash_attn_ext(ctx, q, k, v, m, scale, 0.0f, 0.0f);
        struct ggml_cgraph * gf = ggml_new_graph(ctx);
        ggml_build_forward_expand(gf, out);
        struct ggml_cplan plan = ggml_graph_plan(gf, 1, NULL);
        plan.work_data = plan.work_size ? malloc(plan.work_size) : NULL;
        const bool ok = ggml_graph_compute(gf, &plan) == GGML_STATUS_SUCCESS;
        free(plan.work_data);
        if (!ok) {
            kt_fail(res, "flash_attn_ext d=%d q=%d kv=%d: ggml_graph_compute failed", D, NQ, NKV);
            ggml_free(ctx);
            continue;
        }
        const float * o = out->data; // [D, NH, NQ]
        double * sc = malloc(sizeof(double) * NKV);
        for (int iq = 0; iq < NQ; ++iq) {
            for (int h = 0; h < NH; ++h) {
                const int hk = h / (NH / NHKV);
                double smax = -INFINITY;
                for (int j = 0; j < NKV; ++j) {
                    const double mv = ggml_fp16_to_fp32(md[iq * NKV + j]);
                    if (isinf(mv)) { sc[j] = -INFINITY; continue; }
                    double dot = 0;
                    for (int d = 0; d < D; ++d) {
                        const double qv = ggml_fp16_to_fp32(ggml_fp32_to_fp16(qd[(h * NQ + iq) * D + d]));
                        dot += qv * ggml_fp16_to_fp32(kd[(hk * NKV + j) * D + d]);
                    }
                    sc[j] = dot * scale + mv;
                    smax = fmax(smax, sc[j]);
                }
                double den = 0;
                for (int j = 0; j < NKV; ++j) den += isinf(sc[j]) ? 0 : exp(sc[j] - smax);
                for (int d = 0; d < D; ++d) {
                    double num = 0;
                    for (int j = 0; j < NKV; ++j) {
                        if (!isinf(sc[j])) num += exp(sc[j] - smax) * ggml_fp16_to_fp32(vd[(hk * NKV + j) * D + d]);
                    }
                    const double want = num / den;
                    const float got = o[((size_t) iq * NH + h) * D + d];
                    res->checks++;
                    if (!(fabs(got - want) <= 1e-4 * vmax)) {
                        kt_fail(res, "flash_attn_ext d=%d q=%d kv=%d heads=%d/%d: out[q%d][h%d][%d] = %.9g, float64 %.9g (|err| %.3g > %.3g)",
                                D, NQ, NKV, NH, NHKV, iq, h, d, got, want, fabs(got - want), 1e-4 * vmax);
                    }
                }
            }
        }
        free(sc);
        ggml_free(ctx);
    }
}

// ---- benchmark: ms per mul_mat (1 thread), median of runs
static double kt_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

// CPU time of this process (node: process.cpuUsage, user + system), or -1. Unlike wall time it
// does not count the time the OS gives to other processes, so it is steadier on a busy machine.
#ifdef __EMSCRIPTEN__
EM_JS(double, kt_node_cpu_ms, (void), {
    if (typeof process === 'undefined' || !process.cpuUsage) return -1;
    var u = process.cpuUsage();
    return (u.user + u.system) / 1000;
});
#endif

static double kt_cpu_ms(void) {
#ifdef __EMSCRIPTEN__
    return kt_node_cpu_ms();
#else
    struct timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) return -1;
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
#endif
}

static int cmp_double(const void * a, const void * b) {
    const double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

// copies > 1: that many weight matrices of the shape, multiplied in turn by the same activations in one
// graph (n = 1 only), ~160 MB in all: the weights then come from memory, not from the caches, as in
// generation with a whole model (the time printed is per product).
static const struct { enum ggml_type type; int k, m, copies; const char * what; } BENCH_SHAPES[] = {
    { GGML_TYPE_Q4_0,  896,   4864,   1, "Qwen2.5-0.5B ffn_up/gate" },
    { GGML_TYPE_Q4_0, 4864,    896,   1, "Qwen2.5-0.5B ffn_down" },
    { GGML_TYPE_Q8_0,  896,   4864,   1, "Qwen2.5-0.5B ffn_up/gate" },
    { GGML_TYPE_Q8_0, 4864,    896,   1, "Qwen2.5-0.5B ffn_down" },
    { GGML_TYPE_Q4_K, 4864,    896,   1, "Qwen2.5-0.5B ffn_down" },
    { GGML_TYPE_Q4_0,  896,    896,   1, "Qwen2.5-0.5B attn_q/attn_output" },
    { GGML_TYPE_Q4_0,  896, 151936,   1, "Qwen2.5-0.5B output (vocabulary)" },
    { GGML_TYPE_Q8_0,  896,    896,   1, "Qwen2.5-0.5B attn_q/attn_output" },
    { GGML_TYPE_Q8_0,  896, 151936,   1, "Qwen2.5-0.5B output (vocabulary)" },
    { GGML_TYPE_Q4_K,  896,   4864,   1, "Qwen2.5-0.5B ffn_up/gate" },
    { GGML_TYPE_Q4_0,  896,    896, 330, "attn_q/attn_output, from memory" },
    { GGML_TYPE_Q4_0,  896,   4864,  64, "ffn_up/gate, from memory" },
    { GGML_TYPE_Q4_0, 4864,    896,  64, "ffn_down, from memory" },
    { GGML_TYPE_Q8_0,  896,    896, 176, "attn_q/attn_output, from memory" },
    { GGML_TYPE_Q8_0,  896,   4864,  36, "ffn_up/gate, from memory" },
    { GGML_TYPE_Q8_0, 4864,    896,  36, "ffn_down, from memory" },
    { GGML_TYPE_Q4_K,  896,   4864,  52, "ffn_up/gate, from memory" },
};
#define N_BENCH_SHAPES ((int) (sizeof(BENCH_SHAPES) / sizeof(BENCH_SHAPES[0])))
static const int BENCH_NS[] = { 1, 63, 64 }; // 63: an odd batch (before the 0003 patch: no 2x2 tiles at all)

// One benchmark graph: random weights and activations from a seed fixed by the shape, so that two
// builds (old and new kernels) compute on the same data.
typedef struct {
    struct ggml_context * ctx;
    kt_graph g;
    int copies;
    kt_repacked * rw; // --repack: each weight in its own in-place repack buffer
} kt_bench;
// --repack: Q4_0 weights go into in-place repack buffers (the 4x4 layout and its gemv/gemm)
static bool kt_bench_repack = false;

static bool kt_bench_init(kt_bench * b, int shape, int n) {
    const enum ggml_type type = BENCH_SHAPES[shape].type;
    const int k = BENCH_SHAPES[shape].k, m = BENCH_SHAPES[shape].m, copies = BENCH_SHAPES[shape].copies;
    const kt_case * c = NULL;
    for (int i = 0; i < N_CASES; ++i) if (CASES[i].type == type) c = &CASES[i];
    if (!c || (copies > 1 && n != 1)) return false;
    kt_rng rng = { 0xB3AC4 + 1000u * (uint64_t) shape + (uint64_t) n };
    struct ggml_init_params ip = { .mem_size = (ggml_row_size(type, k) * m + (size_t) m * n * 4) * copies + (size_t) k * n * 4 +
                                               (size_t) (2 * copies + 1) * ggml_tensor_overhead() + ggml_graph_overhead() + (1 << 20),
                                   .mem_buffer = NULL, .no_alloc = false };
    b->ctx = ggml_init(ip);
    b->copies = copies;
    const bool repack = kt_bench_repack && type == GGML_TYPE_Q4_0;
    b->rw = repack ? calloc((size_t) copies, sizeof *b->rw) : NULL;
    struct ggml_tensor * a = ggml_new_tensor_2d(b->ctx, GGML_TYPE_F32, k, n);
    for (int i = 0; i < k * n; ++i) ((float *) a->data)[i] = (float) (kt_unif(&rng) * 2 - 1);
    b->g.gf = ggml_new_graph(b->ctx);
    for (int i = 0; i < copies; ++i) {
        struct ggml_tensor * w = ggml_new_tensor_2d(b->ctx, type, k, m);
        c->gen_w(w->data, (int) (k / ggml_blck_size(type)) * m, KT_RANDOM, &rng);
        if (repack) {
            kt_result unused = { 0 };
            if (!kt_repacked_init(&b->rw[i], w->data, k, m, &unused) || !b->rw[i].w->extra) return false;
            w = b->rw[i].w;
        }
        b->g.dst = ggml_mul_mat(b->ctx, w, a);
        ggml_build_forward_expand(b->g.gf, b->g.dst);
    }
    b->g.plan = ggml_graph_plan(b->g.gf, 1, NULL);
    b->g.plan.work_data = b->g.plan.work_size ? malloc(b->g.plan.work_size) : NULL;
    return true;
}

static void kt_bench_free(kt_bench * b) {
    kt_graph_free(&b->g);
    ggml_free(b->ctx);
    for (int i = 0; b->rw && i < b->copies; ++i) kt_repacked_free(&b->rw[i]);
    free(b->rw);
}

// ms per product (wall time), over reps runs of the graph
static double kt_bench_time(kt_bench * b, int reps) {
    const double t0 = kt_now_ms();
    for (int i = 0; i < reps; ++i) kt_graph_compute(&b->g);
    return (kt_now_ms() - t0) / reps / b->copies;
}

// For an A/B driver that loads two builds into one node process (bench-ab.mjs): prepare a shape,
// time it, release it.
static kt_bench kt_ab;
EMSCRIPTEN_KEEPALIVE int kt_ab_prepare(int shape, int n) {
    if (shape < 0 || shape >= N_BENCH_SHAPES) return -1;
    ggml_cpu_init();
    return kt_bench_init(&kt_ab, shape, n) ? (int) ggml_get_type_traits_cpu(BENCH_SHAPES[shape].type)->nrows : -1; // -1 also: copies > 1, n > 1
}
EMSCRIPTEN_KEEPALIVE double kt_ab_time(int reps) { return kt_bench_time(&kt_ab, reps); }
EMSCRIPTEN_KEEPALIVE void kt_ab_release(void) { kt_bench_free(&kt_ab); }
EMSCRIPTEN_KEEPALIVE int kt_ab_shapes(void) { return N_BENCH_SHAPES; }

// Kernel only, data in L1: ns per (row x column) dot product of length k with nrc = 1, and with the
// 2x2 tile (nrc = 2) when the type has it; k = 896 and 4864, median of runs.
static int kbench(const char * filter, int runs) {
    static const int KS[] = { 896, 4864 };
    printf("vec_dot in L1, 1 thread: ns per row-column dot product (median of %d runs)\n", runs);
    for (int ci = 0; ci < N_CASES; ++ci) {
        const kt_case * c = &CASES[ci];
        if (filter && !strstr(c->name, filter)) continue;
        const struct ggml_type_traits_cpu * tr = ggml_get_type_traits_cpu(c->type);
        for (size_t ki = 0; ki < sizeof(KS) / sizeof(KS[0]); ++ki) {
            const int k = KS[ki];
            if (k % ggml_blck_size(c->type)) continue;
            const size_t bx = ggml_row_size(c->type, k), by = ggml_row_size(tr->vec_dot_type, k);
            uint8_t * x = malloc(2 * bx), * y = malloc(2 * by);
            kt_rng rng = { 7 };
            c->gen_w(x, 2 * (int) (k / ggml_blck_size(c->type)), KT_RANDOM, &rng);
            c->gen_y(y, 2 * (int) (k / ggml_blck_size(tr->vec_dot_type)), KT_RANDOM, &rng);
            double med[3] = { 0, 0, 0 };
            for (int mode = 0; mode < (tr->nrows > 1 ? 3 : 1); ++mode) {
                const int reps = (int) (4e6 / k) + 1; // ~ a few ms per run
                float s[4] = { 0 };
                double t[64];
                const double tw = kt_now_ms();
                for (int r = -1000; r < runs; ++r) { // warm-up runs for >= 200 ms (V8 tier-up), then runs
                    if (r < 0 && kt_now_ms() - tw >= 200) r = -1;
                    const double t0 = kt_now_ms();
                    for (int i = 0; i < reps; ++i) {
                        if (mode == 0) {
                            tr->vec_dot(k, &s[0], 0, x, 0, y, 0, 1);
                            tr->vec_dot(k, &s[1], 0, x + bx, 0, y, 0, 1);
                            tr->vec_dot(k, &s[2], 0, x, 0, y + by, 0, 1);
                            tr->vec_dot(k, &s[3], 0, x + bx, 0, y + by, 0, 1);
                        } else if (mode == 1) {
                            tr->vec_dot(k, s, 2, x, bx, y, by, 2);
                        } else { // 2x1 (one column: nrc = 2, by = bs = 0), for each column
                            tr->vec_dot(k, &s[0], 0, x, bx, y, 0, 2);
                            tr->vec_dot(k, &s[2], 0, x, bx, y + by, 0, 2);
                        }
                    }
                    if (r >= 0) t[r] = (kt_now_ms() - t0) * 1e6 / (4.0 * reps);
                }
                qsort(t, runs, sizeof(double), cmp_double);
                med[mode] = t[runs / 2];
                if (s[0] != s[0]) printf("nan\n"); // keep the results alive
            }
            printf("kbench %-12s k=%-5d  nrc=1 %8.1f ns", c->name, k, med[0]);
            if (med[1] > 0) printf("  2x2 %8.1f ns  ratio %.2f", med[1], med[0] / med[1]);
            if (med[2] > 0) printf("  2x1 %8.1f ns  ratio %.2f", med[2], med[0] / med[2]);
            printf("  (%.2f ns per 32 MACs with nrc=1)\n", med[0] * 32 / k);
            free(x);
            free(y);
        }
    }
    return 0;
}

static int bench(const char * filter, int runs) {
    printf("mul_mat, 1 thread: median of %d runs (after a warm-up), each run repeats the product for >= 50 ms\n", runs);
    for (int si = 0; si < N_BENCH_SHAPES; ++si) {
        const enum ggml_type type = BENCH_SHAPES[si].type;
        const int k = BENCH_SHAPES[si].k, m = BENCH_SHAPES[si].m;
        if (filter && !strstr(ggml_type_name(type), filter)) continue;
        for (size_t ni = 0; ni < sizeof(BENCH_NS) / sizeof(BENCH_NS[0]); ++ni) {
            const int n = BENCH_NS[ni];
            if (BENCH_SHAPES[si].copies > 1 && n != 1) continue; // from memory: generation only
            kt_bench b;
            if (!kt_bench_init(&b, si, n)) return 1;
            // warm-up (>= 200 ms: V8 starts with its baseline compiler and tiers up hot functions),
            // and the repeat count that makes one run last >= 50 ms
            double t0 = kt_now_ms(), once = 0;
            for (int i = 0; i < 1000 && kt_now_ms() - t0 < 200; ++i) once = kt_bench_time(&b, 1);
            once *= b.copies; // per graph
            const int reps = once >= 50 ? 1 : (int) (50 / (once > 0.01 ? once : 0.01)) + 1;
            double t[64], tc[64];
            for (int r = 0; r < runs; ++r) {
                const double c0 = kt_cpu_ms();
                t[r] = kt_bench_time(&b, reps);
                tc[r] = (kt_cpu_ms() - c0) / reps / b.copies;
            }
            kt_bench_free(&b);
            qsort(t, runs, sizeof(double), cmp_double);
            qsort(tc, runs, sizeof(double), cmp_double);
            printf("bench %-5s%s k=%-5d m=%-5d n=%-3d  median %9.3f ms  (min %9.3f, max %9.3f, x%d)  cpu %9.3f ms  %6.2f GMAC/s  nrows=%d  [%s",
                   ggml_type_name(type), kt_bench_repack && type == GGML_TYPE_Q4_0 ? " 4x4" : "", k, m, n, t[runs / 2], t[0], t[runs - 1], reps, tc[runs / 2],
                   (double) k * m * n / (t[runs / 2] * 1e6), (int) ggml_get_type_traits_cpu(type)->nrows, BENCH_SHAPES[si].what);
            if (BENCH_SHAPES[si].copies > 1) printf(", %d weight matrices, ms per product", BENCH_SHAPES[si].copies);
            printf("]\n");
            fflush(stdout);
        }
    }
    return 0;
}

// ---- main
#ifdef __EMSCRIPTEN__
// Emscripten's getenv does not see node's environment: read process.env directly
EM_JS(int, kt_node_getenv, (const char * name, char * buf, int cap), {
    if (typeof process === 'undefined' || !process.env) return 0;
    var v = process.env[UTF8ToString(name)];
    if (v === undefined) return 0;
    stringToUTF8(v, buf, cap);
    return 1;
});
#endif

static const char * kt_env(const char * name, char * buf, int cap) {
#ifdef __EMSCRIPTEN__
    return kt_node_getenv(name, buf, cap) ? buf : NULL;
#else
    const char * v = getenv(name);
    if (!v) return NULL;
    snprintf(buf, cap, "%s", v);
    return buf;
#endif
}

// ggml's debug and info lines (e.g. one per repacked tensor) are not this program's output
static void kt_log(enum ggml_log_level level, const char * text, void * user) {
    (void) user;
    if (level == GGML_LOG_LEVEL_WARN || level == GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

int main(int argc, char ** argv) {
    bool do_bench = false, do_kbench = false;
    const char * filter = NULL;
    uint64_t seed = 20260101;
    int runs = 7;
    char envbuf[64];
    const char * es = kt_env("NEURONOS_KERNEL_SEED", envbuf, sizeof(envbuf));
    if (es) seed = strtoull(es, NULL, 0);
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--bench")) do_bench = true;
        else if (!strcmp(argv[i], "--kbench")) do_kbench = true;
        else if (!strcmp(argv[i], "--repack")) kt_bench_repack = true;
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) seed = strtoull(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--case") && i + 1 < argc) filter = argv[++i];
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc) runs = atoi(argv[++i]);
        else { fprintf(stderr, "usage: %s [--bench [--repack] | --kbench] [--runs N] [--seed N] [--case NAME]\n", argv[0]); return 2; }
    }
    if (runs < 1) runs = 1;
    if (runs > 64) runs = 64;

    ggml_log_set(kt_log, NULL);
    ggml_cpu_init();
    if (do_bench) return bench(filter, runs);
    if (do_kbench) return kbench(filter, runs);

    int passed = 0, failed = 0;
    for (int i = 0; i < N_CASES; ++i) {
        const kt_case * c = &CASES[i];
        if (filter && !strstr(c->name, filter)) continue;
        kt_rng crng = { seed ^ (0x1000193ull * (uint64_t) (i + 1)) };
        kt_result res = { 0 };
        const double t0 = kt_now_ms();
        kernel_checks(c, &crng, &res);
        graph_checks(c, &crng, &res);
        const double dt = kt_now_ms() - t0;
        if (res.failures == 0) {
            passed++;
            printf("ok   %-12s nrows=%d  %6d checks, worst |err| = %.2f u*M, nrc=1 print %08x  (%.0f ms)\n", c->name,
                   (int) ggml_get_type_traits_cpu(c->type)->nrows, res.checks, res.worst, res.print, dt);
        } else {
            failed++;
            printf("FAIL %-12s  %d of %d checks failed (seed %llu, nrc=1 print %08x); first: %s\n", c->name, res.failures,
                   res.checks, (unsigned long long) seed, res.print, res.first);
        }
    }
    static const struct { const char * name; void (*run)(kt_rng *, kt_result *); } EXTRA[] = {
        { "fp16 rows", f16_checks }, { "flash_attn f16", fattn_checks }, { "repack q4_0x4", repack_checks },
    };
    for (int i = 0; i < (int) (sizeof EXTRA / sizeof EXTRA[0]); ++i) {
        if (filter && !strstr(EXTRA[i].name, filter)) continue;
        kt_rng crng = { seed ^ (0x1000193ull * (uint64_t) (N_CASES + i + 1)) };
        kt_result res = { 0 };
        const double t0 = kt_now_ms();
        EXTRA[i].run(&crng, &res);
        const double dt = kt_now_ms() - t0;
        if (res.failures == 0) {
            passed++;
            if (res.print) {
                printf("ok   %-12s  %6d checks, worst |err| = %.2f u*M, results print %08x  (%.0f ms)\n", EXTRA[i].name,
                       res.checks, res.worst, res.print, dt);
            } else {
                printf("ok   %-12s  %6d checks  (%.0f ms)\n", EXTRA[i].name, res.checks, dt);
            }
        } else {
            failed++;
            printf("FAIL %-12s  %d of %d checks failed (seed %llu); first: %s\n", EXTRA[i].name, res.failures, res.checks,
                   (unsigned long long) seed, res.first);
        }
    }
    printf("kernels: %d passed, %d failed (seed %llu)\n", passed, failed, (unsigned long long) seed);
    return failed ? 1 : 0;
}
