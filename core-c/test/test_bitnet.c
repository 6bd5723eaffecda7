/* test_bitnet.c — BitNet b1.58 / I2_S (our llama.cpp patch 0002): the format as Microsoft's
 * quantizer writes it, the ternary dot product against Q8_0 activations, mul_mat with the
 * per-tensor scale, the pre-check's refusals, and the generated bitnet-b1.58 fixtures (scripted
 * text, logits against the independent TypeScript reference).
 *
 * Natively this runs the generic kernel; the WASM SIMD128 kernel is checked against the same
 * reference by the kernel tests (core-c/test/kernels) and by test/node/bitnet.test.ts. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ggml-cpu.h"
#include "ggml.h"
#include "neuronos.h"

#define QK 128

static test_rng rng; /* reproducible from the printed seed */
static uint32_t rnd(void) { return test_rng_next(&rng); }

/* Packs ternary values (-1, 0, 1) the way Microsoft's quantize_i2_s (x86, QK_I2 = 128) does:
 * element j of a block goes to byte j % 32 at shift 6 - 2 * (j / 32), code = value + 1. Written
 * from the format description on purpose, independently of the patch's quantize_row_i2_s_ref. */
static void pack_i2s(const int8_t *t, int64_t n, uint8_t *out) {
    memset(out, 0, (size_t)n / 4);
    for (int64_t i = 0; i < n; i++) {
        const int64_t blk = i / QK, j = i % QK;
        out[blk * 32 + j % 32] |= (uint8_t)((t[i] + 1) << (6 - 2 * (j / 32)));
    }
}

static float fp16_to_f32(uint16_t h) { return ggml_fp16_to_fp32(h); }

/* Q8_0 block as ggml lays it out: fp16 d, 32 int8 */
typedef struct {
    uint16_t d;
    int8_t qs[32];
} q8_0_block;

static void test_format(void) {
    g_test = "bitnet format";
    /* type registry */
    CHECK(GGML_TYPE_I2_S == 36, "I2_S is ggml type 36, as in Microsoft's fork");
    CHECK(ggml_blck_size(GGML_TYPE_I2_S) == 128 && ggml_type_size(GGML_TYPE_I2_S) == 32, "128 weights in 32 bytes");
    CHECK(strcmp(ggml_type_name(GGML_TYPE_I2_S), "i2_s") == 0, "name %s", ggml_type_name(GGML_TYPE_I2_S));
    /* a tensor counts its scale region: [256, 4] = 256 bytes of codes + 32 */
    struct ggml_init_params ip = {.mem_size = 1 << 16, .mem_buffer = NULL, .no_alloc = true};
    struct ggml_context *ctx = ggml_init(ip);
    struct ggml_tensor *t = ggml_new_tensor_2d(ctx, GGML_TYPE_I2_S, 256, 4);
    CHECK(ggml_nbytes(t) == 256 + 32, "ggml_nbytes %zu", ggml_nbytes(t));
    CHECK(ggml_row_size(GGML_TYPE_I2_S, 256) == 64, "row of 256 = 64 bytes");
    ggml_free(ctx);

    /* the documented bit positions, one element at a time: byte 0 holds elements 0/32/64/96 in
     * bits 7-6/5-4/3-2/1-0 */
    int8_t v[QK] = {0};
    v[0] = -1, v[32] = 1, v[64] = 0, v[96] = 1, v[31] = 1, v[127] = -1;
    uint8_t packed[32];
    pack_i2s(v, QK, packed);
    CHECK(packed[0] == ((0u << 6) | (2u << 4) | (1u << 2) | 2u), "byte 0 = 0x%02x", packed[0]);
    CHECK(packed[31] == ((2u << 6) | (1u << 4) | (1u << 2) | 0u), "byte 31 = 0x%02x", packed[31]);
    float back[QK];
    ggml_get_type_traits(GGML_TYPE_I2_S)->to_float(packed, back, QK);
    int same = 1;
    for (int i = 0; i < QK; i++) same &= back[i] == (float)v[i];
    CHECK(same, "dequantize_row_i2_s gives the packed ternary values back");
    /* the patch's own quantizer agrees with the description */
    float src[QK];
    for (int i = 0; i < QK; i++) src[i] = (float)v[i] * 0.75f;
    uint8_t q2[32];
    ggml_get_type_traits(GGML_TYPE_I2_S)->from_float_ref(src, q2, QK);
    CHECK(memcmp(q2, packed, 32) == 0, "quantize_row_i2_s_ref packs like Microsoft's quantizer");
}

/* reference: sum over Q8_0 blocks of d * sum(t * q), in double */
static double ref_dot(const int8_t *t, const q8_0_block *y, int64_t n) {
    double s = 0;
    for (int64_t b = 0; b < n / 32; b++) {
        long long si = 0;
        for (int j = 0; j < 32; j++) si += (long long)t[b * 32 + j] * y[b].qs[j];
        s += (double)si * fp16_to_f32(y[b].d);
    }
    return s;
}

static void test_kernel(uint32_t seed) {
    g_test = "bitnet kernel";
    const struct ggml_type_traits_cpu *tc = ggml_get_type_traits_cpu(GGML_TYPE_I2_S);
    CHECK(tc->vec_dot != NULL && tc->vec_dot_type == GGML_TYPE_Q8_0, "I2_S dots against Q8_0");
    const int64_t sizes[] = {128, 256, 384, 896, 2560, 6912};
    const char *modes[] = {"random", "all -1 x -128", "all +1 x 127", "all 0", "alternating extremes"};
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        for (int mode = 0; mode < 5; mode++) {
            const int64_t n = sizes[si];
            int8_t *t = malloc((size_t)n);
            uint8_t *x = malloc((size_t)n / 4);
            q8_0_block *y = malloc((size_t)(n / 32) * sizeof *y);
            for (int64_t i = 0; i < n; i++) {
                t[i] = mode == 0 ? (int8_t)((int)(rnd() % 3) - 1)
                     : mode == 1 ? -1
                     : mode == 2 ? 1
                     : mode == 3 ? 0
                                 : (int8_t)(i % 2 ? 1 : -1);
            }
            for (int64_t b = 0; b < n / 32; b++) {
                const float d = mode == 0 ? (float)(rnd() % 1000 + 1) / 4096.0f : 65504.0f / (float)(b + 1);
                y[b].d = ggml_fp32_to_fp16(d);
                for (int j = 0; j < 32; j++) {
                    y[b].qs[j] = mode == 0 ? (int8_t)(int)(rnd() % 256 - 128)
                               : mode == 1 ? -128
                               : mode == 2 ? 127
                               : mode == 3 ? (int8_t)(int)(rnd() % 256 - 128)
                                           : (int8_t)(j % 2 ? 127 : -128);
                }
            }
            pack_i2s(t, n, x);
            float got = NAN;
            tc->vec_dot((int)n, &got, 0, x, 0, y, 0, 1);
            const double want = ref_dot(t, y, n);
            double mag = 0;
            for (int64_t b = 0; b < n / 32; b++) mag += 32.0 * 128.0 * fabs((double)fp16_to_f32(y[b].d));
            /* float accumulation of per-block products: |error| <= n/32 * eps * magnitude */
            const double tol = mag * 1e-6 + 1e-6;
            CHECK(fabs((double)got - want) <= tol, "n=%lld %s seed=%u: got %.9g want %.9g (tol %.3g)", (long long)n,
                  modes[mode], seed, (double)got, want, tol);
            free(t), free(x), free(y);
        }
    }
}

/* ggml_mul_mat on an I2_S weight applies the tensor's scale (stored after the codes) */
static void test_mul_mat(uint32_t seed) {
    g_test = "bitnet mul_mat";
    const int64_t k = 384, m = 5;
    const int ncols[] = {1, 2, 3, 8};
    for (size_t c = 0; c < sizeof ncols / sizeof *ncols; c++) {
        const int64_t n = ncols[c];
        struct ggml_init_params ip = {.mem_size = 8 << 20, .mem_buffer = NULL, .no_alloc = false};
        struct ggml_context *ctx = ggml_init(ip);
        struct ggml_tensor *w = ggml_new_tensor_2d(ctx, GGML_TYPE_I2_S, k, m);
        struct ggml_tensor *a = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, k, n);
        int8_t *t = malloc((size_t)(k * m));
        for (int64_t i = 0; i < k * m; i++) t[i] = (int8_t)((int)(rnd() % 3) - 1);
        pack_i2s(t, k * m, w->data);
        const float scale = 0.3125f + (float)(rnd() % 100) / 256.0f;
        memcpy((uint8_t *)w->data + k * m / 4, &scale, sizeof scale);
        float *af = a->data;
        for (int64_t i = 0; i < k * n; i++) af[i] = ((float)(rnd() % 2001) - 1000.0f) / 250.0f;
        struct ggml_tensor *out = ggml_mul_mat(ctx, w, a);
        struct ggml_cgraph *gf = ggml_new_graph(ctx);
        ggml_build_forward_expand(gf, out);
        CHECK(ggml_graph_compute_with_ctx(ctx, gf, 1) == GGML_STATUS_SUCCESS, "compute");
        /* reference in double from the ternary values, the scale and the float activations: the
         * only difference is ggml's Q8_0 rounding of the activations (<= 1/254 of each block's max) */
        int bad = 0;
        double worst = 0;
        for (int64_t col = 0; col < n; col++) {
            for (int64_t row = 0; row < m; row++) {
                double want = 0, mag = 0;
                for (int64_t i = 0; i < k; i++) {
                    want += (double)t[row * k + i] * af[col * k + i];
                    mag += fabs((double)af[col * k + i]);
                }
                want *= scale;
                const double got = ((float *)out->data)[col * m + row];
                const double err = fabs(got - want) / (mag * scale / 127.0 + 1e-9);
                if (err > worst) worst = err;
                if (err > 1.0) bad++;
            }
        }
        CHECK(bad == 0, "n=%lld columns: %d outputs off by more than Q8_0 rounding allows (worst %.3f, seed %u)", (long long)n,
              bad, worst, seed);
        free(t);
        ggml_free(ctx);
    }
}

static void test_precheck(void) {
    g_test = "bitnet precheck";
    struct {
        const char *name, *needle;
    } bad[] = {
        {"bad-i2s-no-scale", "without its per-tensor scale"},
        {"bad-i2s-code3", "code 3"},
        {"bad-i2s-truncated", "truncated"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        size_t size = 0;
        uint8_t *data = read_fixture(bad[i].name, &size);
        CHECK(data != NULL, "fixture %s in %s (run npm run fixtures)", bad[i].name, fixtures_dir());
        if (!data) continue;
        char why[300];
        const neuronos_status st = neuronos_gguf_check(data, size, NULL, why, sizeof why);
        CHECK(st == NEURONOS_ERR_MODEL_INVALID && strstr(why, bad[i].needle) != NULL, "%s: %s %s", bad[i].name,
              neuronos_status_code(st), why);
        free(data);
    }
}

static char *generate(neuronos_engine *eng, const char *prompt, int chat) {
    neuronos_sampling_params sp = neuronos_sampling_default_params();
    sp.temperature = 0;
    sp.n_predict = 32;
    char *text = NULL;
    int32_t fin = -1;
    neuronos_status st;
    if (chat) {
        neuronos_chat_message m = {.role = "user", .content = prompt};
        st = neuronos_chat_begin(eng, &m, 1, NULL, &sp);
        if (st != NEURONOS_OK) return NULL;
        char *out = drain_generation(eng, 4, NULL);
        neuronos_gen_end(eng);
        return out;
    }
    st = neuronos_generate(eng, prompt, &sp, NULL, NULL, &text, &fin);
    return st == NEURONOS_OK ? text : NULL;
}

static void test_scripted(void) {
    g_test = "bitnet scripted";
    size_t size = 0;
    uint8_t *model = read_fixture("bitnet-scripted", &size);
    char *script = manifest_field("bitnet-scripted", "$.script");
    char *prompt = manifest_field("bitnet-scripted", "$.raw_prompt");
    CHECK(model && script && prompt, "bitnet-scripted fixture and manifest in %s (run npm run fixtures)", fixtures_dir());
    if (model && script && prompt) {
        neuronos_engine_params ep = neuronos_engine_default_params();
        ep.n_ctx = 256;
        neuronos_engine *eng = NULL;
        CHECK(neuronos_engine_init(&ep, &eng) == NEURONOS_OK, "init");
        CHECK(neuronos_engine_load_buffer(eng, model, size) == NEURONOS_OK, "load: %s", neuronos_engine_last_error(eng));
        char *info = NULL;
        CHECK(neuronos_engine_model_info(eng, &info) == NEURONOS_OK && strstr(info, "\"architecture\":\"bitnet-b1.58\"") != NULL,
              "model info: %s", info ? info : "(null)");
        free(info);
        char *raw = generate(eng, prompt, 0);
        CHECK(raw && strcmp(raw, script) == 0, "raw prompt gives the script: got \"%s\" want \"%s\"", raw ? raw : "(null)", script);
        free(raw);
        /* chat: BitNet's own format ("User: …<|eot_id|>Assistant: ") ends in the entry token " " */
        char *tmpl = NULL;
        neuronos_chat_message m = {.role = "user", .content = "Who are you?"};
        CHECK(neuronos_engine_apply_template(eng, NULL, &m, 1, true, &tmpl) == NEURONOS_OK && tmpl &&
                  strcmp(tmpl, "<|begin_of_text|>User: Who are you?<|eot_id|>Assistant: ") == 0,
              "bitnet template with BOS: %s", tmpl ? tmpl : neuronos_engine_last_error(eng));
        free(tmpl);
        char *chat = generate(eng, "Who are you?", 1);
        CHECK(chat && strcmp(chat, script) == 0, "chat gives the script: got \"%s\"", chat ? chat : "(null)");
        free(chat);
        neuronos_engine_free(eng);
    }
    free(model), free(script), free(prompt);
}

/* Logits of the random fixture against the TypeScript reference (float64 from the file's bytes,
 * test/fixtures/bitnet-ref.ts). llama.cpp rounds every ternary matmul input to Q8_0 (and the
 * output head's to F16), so they differ by that rounding. Bounds per position, against the
 * reference's logit spread (standard deviation over the vocabulary): rms error <= 5%, max error
 * <= 25%. Measured (NEURONOS_TEST_VERBOSE=1 prints them): natively rms 1.5-2.4%, max 6.5-11.7%;
 * in WASM (test/node/wasm.test.ts) rms 2.1-2.9%, max 9-14%. A wrong scale, activation, RoPE or
 * bit order gives errors of the order of the spread itself. */
static void test_reference(void) {
    g_test = "bitnet reference";
    size_t size = 0, rsize = 0;
    uint8_t *model = read_fixture("bitnet-random", &size);
    char *ids = manifest_field("bitnet-random", "$.reference.token_ids");
    char rpath[1024];
    snprintf(rpath, sizeof rpath, "%s/bitnet-random.ref.f32", fixtures_dir());
    float *ref = (float *)read_file(rpath, &rsize);
    CHECK(model && ids && ref, "bitnet-random, its reference file and manifest in %s", fixtures_dir());
    if (model && ids && ref) {
        int32_t toks[64];
        int n = 0;
        for (const char *p = strchr(ids, '['); p && *p && n < 64;) {
            char *end;
            p++;
            long v = strtol(p, &end, 10);
            if (end == p) break;
            toks[n++] = (int32_t)v;
            p = end;
        }
        neuronos_engine_params ep = neuronos_engine_default_params();
        ep.n_ctx = 128;
        neuronos_engine *eng = NULL;
        CHECK(neuronos_engine_init(&ep, &eng) == NEURONOS_OK, "init");
        CHECK(neuronos_engine_load_buffer(eng, model, size) == NEURONOS_OK, "load: %s", neuronos_engine_last_error(eng));
        const int32_t nv = neuronos_engine_n_vocab(eng);
        CHECK(rsize == (size_t)n * (size_t)nv * sizeof(float), "reference holds %d x %d floats (%zu bytes)", n, nv, rsize);
        float *got = malloc((size_t)n * (size_t)nv * sizeof *got);
        for (int mode = 0; mode < 2 && rsize == (size_t)n * (size_t)nv * sizeof(float); mode++) {
            CHECK(neuronos_engine_eval_logits(eng, toks, n, mode == 1, got) == NEURONOS_OK, "eval: %s", neuronos_engine_last_error(eng));
            for (int p = 0; p < n; p++) {
                const float *r = ref + (size_t)p * nv, *g = got + (size_t)p * nv;
                double mean = 0, var = 0, worst = 0, se = 0;
                for (int32_t i = 0; i < nv; i++) mean += r[i];
                mean /= nv;
                for (int32_t i = 0; i < nv; i++) var += (r[i] - mean) * (r[i] - mean);
                const double sd = sqrt(var / nv);
                for (int32_t i = 0; i < nv; i++) {
                    const double e = fabs((double)g[i] - r[i]);
                    if (e > worst) worst = e;
                    se += e * e;
                }
                const double rms = sqrt(se / nv);
                if (getenv("NEURONOS_TEST_VERBOSE")) printf("bitnet reference %s pos %d: max |err| %.4f, rms err %.4f, sd %.4f\n", mode ? "one-by-one" : "batch", p, worst, rms, sd);
                CHECK(rms <= 0.05 * sd && worst <= 0.25 * sd,
                      "%s position %d: logit error rms %.4f / max %.4f against the spread %.4f (bounds 5%% / 25%%)",
                      mode ? "one-by-one" : "batch", p, rms, worst, sd);
            }
        }
        free(got);
        neuronos_engine_free(eng);
    }
    free(model), free(ids), free(ref);
}

void test_bitnet(void) {
    const uint32_t seed = test_seed();
    rng = test_rng_new(seed);
    ggml_cpu_init();
    test_format();
    test_kernel(seed);
    test_mul_mat(seed);
    test_precheck();
    test_scripted();
    test_reference();
}
