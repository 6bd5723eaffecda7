/* Native unit tests of the NeuronOS core (built with AddressSanitizer + UBSan by
 * `node build/build.mjs --native`, run by `npm test`).
 *
 * Tests that need a model read the fixtures from $NEURONOS_FIXTURES_DIR (default
 * .cache/fixtures, made by `npm run fixtures`); without them those tests FAIL (never skip
 * silently). Ends with the plain line "N passed, N failed". */
#define _GNU_SOURCE
#include <math.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "json.h"
#include "llama.h"
#include "neuronos.h"
#include "sqlite3.h"
#include "strbuf.h"

int g_pass = 0, g_fail = 0;
const char *g_test = "";

/* ------------------------------------------------------------------ helpers ---------- */

const char *fixtures_dir(void) {
    const char *d = getenv("NEURONOS_FIXTURES_DIR");
    return d && d[0] ? d : ".cache/fixtures";
}

uint8_t *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return buf;
}

uint8_t *read_fixture(const char *name, size_t *size) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.gguf", fixtures_dir(), name);
    return read_file(path, size);
}

char *drain_generation(neuronos_engine *eng, int per_step, const neuronos_step_result **last) {
    strbuf out = {0};
    const neuronos_step_result *r = NULL;
    for (int steps = 0; steps < 10000; steps++) {
        if (neuronos_gen_step(eng, per_step, &r) != NEURONOS_OK || !r) break;
        strbuf_put(&out, r->piece, (size_t)r->piece_len);
        if (r->state == NEURONOS_GEN_DONE) break;
    }
    if (last) *last = r;
    if (!out.s) strbuf_puts(&out, "");
    return out.oom ? (strbuf_free(&out), NULL) : strbuf_take(&out);
}

/* A field of one fixture's manifest entry (manifest.json is an array of {name,…} or an object
 * keyed by name); owned string or NULL. Parsed with SQLite's JSON1 like everything else. */
char *manifest_field(const char *fixture, const char *path) {
    char mpath[1024];
    size_t n;
    snprintf(mpath, sizeof mpath, "%s/manifest.json", fixtures_dir());
    char *json = (char *)read_file(mpath, &n);
    if (!json) return NULL;
    json = realloc(json, n + 1);
    json[n] = 0;
    sqlite3 *db;
    sqlite3_open(":memory:", &db);
    sqlite3_stmt *st;
    char *out = NULL;
    const char *sql =
        "SELECT json_extract(value, ?3) FROM json_each(CASE WHEN json_type(?1,'$.fixtures') IS NOT NULL "
        "THEN json_extract(?1,'$.fixtures') ELSE ?1 END) WHERE coalesce(json_extract(value,'$.name'), key) = ?2";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, json, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, fixture, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, path, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) out = strdup((const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    free(json);
    return out;
}

/* A minimal GGUF builder for the pre-check tests. */
typedef struct {
    strbuf b;
} gguf_builder;

static void put_u32(strbuf *b, uint32_t v) { strbuf_put(b, (const char *)&v, 4); }
static void put_u64(strbuf *b, uint64_t v) { strbuf_put(b, (const char *)&v, 8); }
static void put_str(strbuf *b, const char *s) {
    put_u64(b, strlen(s));
    strbuf_put(b, s, strlen(s));
}

/* One tensor of shape [ne0, ne1] and ggml type `type`, with `data_bytes` of zeros after it. */
static strbuf make_gguf(uint32_t type, uint64_t ne0, uint64_t ne1, size_t data_bytes) {
    strbuf b = {0};
    strbuf_put(&b, "GGUF", 4);
    put_u32(&b, 3);
    put_u64(&b, 1); /* tensors */
    put_u64(&b, 1); /* kv */
    put_str(&b, "general.architecture");
    put_u32(&b, 8);
    put_str(&b, "llama");
    put_str(&b, "token_embd.weight");
    put_u32(&b, 2);
    put_u64(&b, ne0);
    put_u64(&b, ne1);
    put_u32(&b, type);
    put_u64(&b, 0);
    while (b.len % 32) strbuf_putc(&b, 0);
    for (size_t i = 0; i < data_bytes; i++) strbuf_putc(&b, 0);
    return b;
}

/* ------------------------------------------------------------------ unit tests ------- */

static void test_status_codes(void) {
    g_test = "status codes";
    CHECK(strcmp(neuronos_status_code(NEURONOS_OK), "ok") == 0, "ok");
    CHECK(strcmp(neuronos_status_code(NEURONOS_ERR_CONTEXT_FULL), "context_full") == 0, "context_full");
    CHECK(strcmp(neuronos_status_code(NEURONOS_ERR_MODEL_TOO_LARGE), "model_too_large") == 0, "too large");
    CHECK(strcmp(neuronos_status_code(NEURONOS_ERR_INTERNAL), "internal") == 0, "internal (last)");
    CHECK(strcmp(neuronos_status_code(-1), "unknown") == 0, "negative");
    CHECK(strcmp(neuronos_status_code(999), "unknown") == 0, "out of range");
}

static void test_utf8(void) {
    g_test = "utf8 complete prefix";
    CHECK(neuronos_utf8_complete_prefix("abc", 3) == 3, "ascii");
    CHECK(neuronos_utf8_complete_prefix("a\xC3", 2) == 1, "cut 2-byte");
    CHECK(neuronos_utf8_complete_prefix("a\xC3\xA9", 3) == 3, "whole 2-byte");
    CHECK(neuronos_utf8_complete_prefix("\xE2\x82", 2) == 0, "cut 3-byte");
    CHECK(neuronos_utf8_complete_prefix("x\xF0\x9F\x98", 4) == 1, "cut 4-byte");
    CHECK(neuronos_utf8_complete_prefix("x\xF0\x9F\x98\x80", 5) == 5, "whole 4-byte");
    CHECK(neuronos_utf8_complete_prefix("", 0) == 0, "empty");
    CHECK(neuronos_utf8_complete_prefix("\x80\x80\x80\x80\x80", 5) == 5, "garbage is passed on");
}

static void test_strbuf(void) {
    g_test = "strbuf json";
    strbuf b = {0};
    strbuf_json_str(&b, "a\"b\\c\n\x01");
    CHECK(strcmp(b.s, "\"a\\\"b\\\\c\\n\\u0001\"") == 0, "got %s", b.s);
    strbuf_consume(&b, 2);
    CHECK(b.s[0] == '\\', "consume");
    char *s = strbuf_take(&b);
    CHECK(b.s == NULL && s != NULL, "take");
    free(s);
    strbuf_free(&b);
}

static void test_gguf_check(void) {
    g_test = "gguf pre-check";
    char why[300];
    neuronos_gguf_summary sum;
    CHECK(neuronos_gguf_check(NULL, 0, &sum, why, sizeof why) == NEURONOS_ERR_MODEL_INVALID, "empty");
    CHECK(neuronos_gguf_check((const uint8_t *)"GGU", 3, &sum, why, sizeof why) == NEURONOS_ERR_MODEL_INVALID, "short");
    CHECK(neuronos_gguf_check((const uint8_t *)"GGML....", 8, &sum, why, sizeof why) == NEURONOS_ERR_MODEL_INVALID, "magic");
    CHECK(strstr(why, "magic") != NULL, "message names the magic: %s", why);
    const char *html = "<!DOCTYPE html><html>not found</html>";
    CHECK(neuronos_gguf_check((const uint8_t *)html, strlen(html), &sum, why, sizeof why) == NEURONOS_ERR_MODEL_INVALID, "html");
    CHECK(strstr(why, "HTML") != NULL, "message says HTML: %s", why);

    strbuf ok = make_gguf(0 /* F32 */, 8, 4, 8 * 4 * 4);
    CHECK(neuronos_gguf_check((const uint8_t *)ok.s, ok.len, &sum, why, sizeof why) == NEURONOS_OK, "valid: %s", why);
    CHECK(sum.n_tensors == 1 && sum.data_bytes == 128 && sum.data_offset % 32 == 0, "summary");
    /* every truncation of a valid file is refused, none crashes (ASan watches) */
    int refused = 0;
    for (size_t cut = 0; cut < ok.len; cut++)
        refused += neuronos_gguf_check((const uint8_t *)ok.s, cut, &sum, why, sizeof why) != NEURONOS_OK;
    CHECK(refused == (int)ok.len, "all %zu truncations refused (%d)", ok.len, refused);
    strbuf_free(&ok);

    strbuf unk = make_gguf(200, 8, 4, 128);
    CHECK(neuronos_gguf_check((const uint8_t *)unk.s, unk.len, &sum, why, sizeof why) == NEURONOS_ERR_MODEL_INVALID, "unknown type");
    CHECK(strstr(why, "type 200") != NULL, "message names the type: %s", why);
    strbuf_free(&unk);

    strbuf removed = make_gguf(4 /* removed Q4_2 */, 32, 4, 128);
    CHECK(neuronos_gguf_check((const uint8_t *)removed.s, removed.len, &sum, why, sizeof why) == NEURONOS_ERR_MODEL_INVALID, "removed type");
    strbuf_free(&removed);

    strbuf big = make_gguf(0, 65536, 65536, 64); /* 16 GiB of F32 claimed */
    CHECK(neuronos_gguf_check((const uint8_t *)big.s, big.len, &sum, why, sizeof why) == NEURONOS_ERR_MODEL_TOO_LARGE, "too large");
    CHECK(strstr(why, "4 GiB") != NULL, "message: %s", why);
    strbuf_free(&big);

    strbuf overflow = make_gguf(0, UINT64_MAX / 2, 3, 64);
    CHECK(neuronos_gguf_check((const uint8_t *)overflow.s, overflow.len, &sum, why, sizeof why) != NEURONOS_OK, "overflowing dims");
    strbuf_free(&overflow);

    strbuf shortdata = make_gguf(0, 8, 4, 16); /* claims 128 bytes, has 16 */
    CHECK(neuronos_gguf_check((const uint8_t *)shortdata.s, shortdata.len, &sum, why, sizeof why) == NEURONOS_ERR_MODEL_INVALID, "data cut");
    CHECK(strstr(why, "truncated") != NULL, "message: %s", why);
    strbuf_free(&shortdata);
}

static void test_json_messages(void) {
    g_test = "json messages";
    neuronos_chat_message *m;
    size_t n;
    char why[256];
    CHECK(neuronos_json_parse_messages("[{\"role\":\"user\",\"content\":\"hi \\\"you\\\"\"},{\"role\":\"assistant\",\"content\":\"\"}]", &m, &n, why, sizeof why) == NEURONOS_OK, "valid: %s", why);
    if (n == 2) {
        CHECK(strcmp(m[0].role, "user") == 0 && strcmp(m[0].content, "hi \"you\"") == 0, "first");
        CHECK(strcmp(m[1].role, "assistant") == 0 && m[1].content[0] == 0, "second");
    }
    CHECK(n == 2, "n = %zu", n);
    free(m);
    const char *bad[] = {"", "{", "{}", "[]", "[1]", "[{\"role\":\"user\"}]", "[{\"role\":1,\"content\":\"x\"}]", "null", "[{\"role\":\"user\",\"content\":\"x\"}", NULL};
    for (int i = 0; bad[i]; i++) {
        neuronos_status st = neuronos_json_parse_messages(bad[i], &m, &n, why, sizeof why);
        CHECK(st == NEURONOS_ERR_INVALID_ARGUMENT && m == NULL, "bad input %d '%s' gave %d", i, bad[i], st);
    }
    CHECK(neuronos_json_parse_messages(NULL, &m, &n, why, sizeof why) == NEURONOS_ERR_INVALID_ARGUMENT, "NULL");
}

/* Patch 0005: llama.cpp's penalties sampler visits only the tokens in its window when the
 * candidates are in token-id order. The same candidates reversed take the per-candidate scan:
 * every logit must come out bit-identical, and the penalties must have changed some. */
static void test_penalties_by_id(void) {
    g_test = "penalties_by_id";
    enum { N = 5000 };
    const uint32_t seed = test_seed();
    test_rng r = test_rng_new(seed);
#define NEXT() test_rng_next(&r)
    llama_token_data *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    float *orig = malloc(N * sizeof *orig);
    for (int round = 0; round < 24 && x && y && orig; round++) {
        const float repeat = 1.0f + (float)(1 + NEXT() % 100) / 50.0f; /* never 1: a change must show */
        const float freq = round % 3 ? 0.0f : (float)(NEXT() % 100) / 100.0f;
        const float present = round % 4 ? 0.0f : (float)(NEXT() % 100) / 100.0f;
        const int32_t last_n = 1 + (int32_t)(NEXT() % 128);
        struct llama_sampler *a = llama_sampler_init_penalties(N, last_n, repeat, freq, present);
        struct llama_sampler *b = llama_sampler_init_penalties(N, last_n, repeat, freq, present);
        const int n_accept = 1 + (int)(NEXT() % 300);
        for (int k = 0; k < n_accept; k++) {
            /* half the rounds from a few tokens (repeats), some ids past N (not candidates) */
            const llama_token t = (llama_token)(round % 2 ? NEXT() % 40 : NEXT() % (N + 50));
            llama_sampler_accept(a, t);
            llama_sampler_accept(b, t);
        }
        const llama_token last = (llama_token)(NEXT() % N); /* at least one candidate in the window */
        llama_sampler_accept(a, last);
        llama_sampler_accept(b, last);
        for (int i = 0; i < N; i++) {
            const float v = ((float)(NEXT() % 20000) - 9999.5f) / 1000.0f; /* both signs, never 0 */
            x[i] = (llama_token_data){i, v, 0.0f};
            orig[i] = v;
            y[N - 1 - i] = x[i];
        }
        llama_token_data_array ax = {x, N, -1, false}, ay = {y, N, -1, false};
        llama_sampler_apply(a, &ax);
        llama_sampler_apply(b, &ay);
        int same = 1, changed = 0;
        for (int i = 0; i < N; i++) {
            const llama_token_data *p = &y[N - 1 - i];
            if (p->id != i || memcmp(&x[i].logit, &p->logit, sizeof(float)) != 0) same = 0;
            if (x[i].logit != orig[i]) changed++;
        }
        CHECK(same, "seed %u round %d: by-id and scanned penalties differ (print: NEURONOS_TEST_SEED)", seed, round);
        CHECK(changed > 0, "seed %u round %d: %d accepted tokens changed no logit", seed, round, n_accept);
        llama_sampler_free(a);
        llama_sampler_free(b);
    }
#undef NEXT
    free(x);
    free(y);
    free(orig);
}

static void test_sampling_validate(void) {
    g_test = "sampling validation";
    neuronos_sampling_params p = neuronos_sampling_default_params();
    CHECK(neuronos_sampling_validate(&p, NULL) == NEURONOS_OK, "defaults");
    p.temperature = NAN;
    CHECK(neuronos_sampling_validate(&p, NULL) == NEURONOS_ERR_INVALID_ARGUMENT, "NaN temperature");
    p = neuronos_sampling_default_params();
    p.top_p = 1.5f;
    CHECK(neuronos_sampling_validate(&p, NULL) == NEURONOS_ERR_INVALID_ARGUMENT, "top_p");
    p = neuronos_sampling_default_params();
    p.n_predict = -1;
    CHECK(neuronos_sampling_validate(&p, NULL) == NEURONOS_ERR_INVALID_ARGUMENT, "negative n_predict");
}

/* ------------------------------------------------------------------ engine tests ----- */

typedef struct {
    int n;
    int stop_after;
} piece_counter;

static bool count_pieces(const char *piece, int32_t len, void *user) {
    (void)piece, (void)len;
    piece_counter *c = user;
    c->n++;
    return c->stop_after <= 0 || c->n < c->stop_after;
}

static neuronos_sampling_params greedy(int n_predict) {
    neuronos_sampling_params p = neuronos_sampling_default_params();
    p.temperature = 0;
    p.n_predict = n_predict;
    return p;
}

static void test_engine(void) {
    g_test = "engine";
    size_t size = 0;
    uint8_t *model = read_fixture("scripted", &size);
    char *script = manifest_field("scripted", "$.script");
    char *raw_prompt = manifest_field("scripted", "$.raw_prompt");
    CHECK(model && script && raw_prompt, "scripted fixture and its manifest entry in %s (run npm run fixtures)", fixtures_dir());
    if (!model || !script || !raw_prompt) {
        free(model), free(script), free(raw_prompt);
        return;
    }
    neuronos_engine_params ep = neuronos_engine_default_params();
    ep.n_ctx = 256;
    neuronos_engine *eng;
    CHECK(neuronos_engine_init(&ep, &eng) == NEURONOS_OK, "init");

    /* no model yet */
    neuronos_sampling_params sp = greedy(64);
    CHECK(neuronos_gen_begin(eng, "x", &sp) == NEURONOS_ERR_NO_MODEL, "no model");

    /* bad inputs first: each is refused with a status and a message, the engine stays usable */
    uint8_t empty = 0;
    CHECK(neuronos_engine_load_buffer(eng, &empty, 0) == NEURONOS_ERR_MODEL_INVALID, "empty buffer");
    CHECK(neuronos_engine_load_buffer(eng, model, size / 2) == NEURONOS_ERR_MODEL_INVALID, "truncated: %s", neuronos_engine_last_error(eng));
    uint8_t *wrong = malloc(size);
    memcpy(wrong, model, size);
    wrong[0] = 'X';
    CHECK(neuronos_engine_load_buffer(eng, wrong, size) == NEURONOS_ERR_MODEL_INVALID, "wrong magic");
    free(wrong);
    const char *bad_names[] = {"bad-unknown-type", "bad-too-large", "bad-truncated"};
    const neuronos_status bad_want[] = {NEURONOS_ERR_MODEL_INVALID, NEURONOS_ERR_MODEL_TOO_LARGE, NEURONOS_ERR_MODEL_INVALID};
    for (int i = 0; i < 3; i++) {
        size_t bs;
        uint8_t *bad = read_fixture(bad_names[i], &bs);
        CHECK(bad != NULL, "fixture %s", bad_names[i]);
        if (!bad) continue;
        neuronos_status st = neuronos_engine_load_buffer(eng, bad, bs);
        CHECK(st == bad_want[i], "%s gave %s: %s", bad_names[i], neuronos_status_code(st), neuronos_engine_last_error(eng));
        CHECK(neuronos_engine_last_error(eng)[0] != 0, "%s has a message", bad_names[i]);
        free(bad);
    }

    /* the real thing */
    CHECK(neuronos_engine_load_buffer(eng, model, size) == NEURONOS_OK, "load: %s", neuronos_engine_last_error(eng));
    char *info = NULL;
    CHECK(neuronos_engine_model_info(eng, &info) == NEURONOS_OK && strstr(info, "\"architecture\":\"llama\"") != NULL,
          "model info: %s", info ? info : "(null)");
    free(info);

    char *text = NULL;
    int32_t fin = 0;
    CHECK(neuronos_generate(eng, raw_prompt, &sp, NULL, NULL, &text, &fin) == NEURONOS_OK, "generate: %s", neuronos_engine_last_error(eng));
    CHECK(text && strcmp(text, script) == 0, "raw prompt output\n  got  '%s'\n  want '%s'", text ? text : "", script);
    CHECK(fin == NEURONOS_FINISH_EOS, "finish by EOS (%d)", fin);
    free(text);

    /* chat through the model's template, twice: the second reuses the KV prefix */
    neuronos_chat_message msgs[2] = {{"system", "You are helpful."}, {"user", "Who are you?"}};
    for (int round = 0; round < 2; round++) {
        CHECK(neuronos_chat_begin(eng, msgs, 2, NULL, &sp) == NEURONOS_OK, "chat begin: %s", neuronos_engine_last_error(eng));
        const neuronos_step_result *r = NULL;
        char *out = drain_generation(eng, 1, &r);
        CHECK(out && strcmp(out, script) == 0, "chat round %d\n  got  '%s'\n  want '%s'", round, out ? out : "", script);
        if (round == 1) CHECK(r && r->n_reused > 0, "second round reused %d prompt tokens", r ? r->n_reused : -1);
        neuronos_gen_end(eng);
        free(out);
    }

    /* several threads (the engine keeps one ggml thread pool per context): the same exact text,
     * across a reload that frees the pool and starts a new one (ASan checks nothing leaks) */
    for (int nt = 2; nt <= 3; nt++) {
        neuronos_engine_params tp = neuronos_engine_default_params();
        tp.n_ctx = 256;
        tp.n_threads = nt;
        neuronos_engine *te;
        CHECK(neuronos_engine_init(&tp, &te) == NEURONOS_OK, "init with %d threads", nt);
        for (int load = 0; load < 2; load++) {
            CHECK(neuronos_engine_load_buffer(te, model, size) == NEURONOS_OK, "%d threads, load %d: %s", nt, load, neuronos_engine_last_error(te));
            char *t = NULL;
            CHECK(neuronos_generate(te, raw_prompt, &sp, NULL, NULL, &t, &fin) == NEURONOS_OK, "%d threads generate: %s", nt, neuronos_engine_last_error(te));
            CHECK(t && strcmp(t, script) == 0, "%d threads, load %d\n  got  '%s'\n  want '%s'", nt, load, t ? t : "", script);
            free(t);
        }
        neuronos_engine_free(te);
    }

    /* n_predict 0: nothing generated; negative: rejected */
    sp = greedy(0);
    CHECK(neuronos_generate(eng, raw_prompt, &sp, NULL, NULL, &text, &fin) == NEURONOS_OK && text && text[0] == 0, "n_predict 0");
    CHECK(fin == NEURONOS_FINISH_LENGTH, "n_predict 0 finishes by length");
    free(text);
    sp = greedy(-1);
    CHECK(neuronos_gen_begin(eng, raw_prompt, &sp) == NEURONOS_ERR_INVALID_ARGUMENT, "negative n_predict");

    /* a prompt longer than the context is rejected with context_full */
    strbuf longp = {0};
    for (int i = 0; i < 400; i++) strbuf_puts(&longp, " hello");
    sp = greedy(8);
    CHECK(neuronos_gen_begin(eng, longp.s, &sp) == NEURONOS_ERR_CONTEXT_FULL, "context full");
    CHECK(strstr(neuronos_engine_last_error(eng), "context") != NULL, "message: %s", neuronos_engine_last_error(eng));
    strbuf_free(&longp);

    /* memory-mapped loading (the WASM path maps MEMFS files backed by the heap; natively a real
     * file): a single file, then the 3-part split fixture, give the same exact output */
    {
        char path[1024];
        snprintf(path, sizeof path, "%s/scripted.gguf", fixtures_dir());
        const char *paths[1] = {path};
        const uint8_t *bufs[1] = {model};
        const size_t sizes[1] = {size};
        CHECK(neuronos_engine_load_mapped(eng, paths, bufs, sizes, 1) == NEURONOS_OK, "mapped: %s", neuronos_engine_last_error(eng));
        sp = greedy(64);
        CHECK(neuronos_generate(eng, raw_prompt, &sp, NULL, NULL, &text, &fin) == NEURONOS_OK && text && strcmp(text, script) == 0,
              "mapped output '%s'", text ? text : "");
        free(text);
        char split[3][1024];
        const char *spaths[3];
        const uint8_t *sbufs[3];
        size_t ssizes[3];
        for (int i = 0; i < 3; i++) {
            snprintf(split[i], sizeof split[i], "%s/scripted-split-%05d-of-00003.gguf", fixtures_dir(), i + 1);
            spaths[i] = split[i];
            sbufs[i] = read_file(split[i], &ssizes[i]);
            CHECK(sbufs[i] != NULL, "split part %d", i + 1);
        }
        if (sbufs[0] && sbufs[1] && sbufs[2]) {
            CHECK(neuronos_engine_load_mapped(eng, spaths, sbufs, ssizes, 3) == NEURONOS_OK, "split: %s", neuronos_engine_last_error(eng));
            CHECK(neuronos_generate(eng, raw_prompt, &sp, NULL, NULL, &text, &fin) == NEURONOS_OK && text && strcmp(text, script) == 0,
                  "split output '%s'", text ? text : "");
            free(text);
            /* a part missing its tail is refused before llama.cpp sees it */
            size_t cut[3] = {ssizes[0], ssizes[1], ssizes[2] - 100};
            CHECK(neuronos_engine_load_mapped(eng, spaths, sbufs, cut, 3) == NEURONOS_ERR_MODEL_INVALID, "cut part 3");
            CHECK(strstr(neuronos_engine_last_error(eng), "part 3 of 3") != NULL, "names the part: %s", neuronos_engine_last_error(eng));
            /* the split parts as buffers (staged through temp files) */
            CHECK(neuronos_engine_load_buffers(eng, sbufs, ssizes, 3) == NEURONOS_OK, "split buffers: %s", neuronos_engine_last_error(eng));
            CHECK(neuronos_generate(eng, raw_prompt, &sp, NULL, NULL, &text, &fin) == NEURONOS_OK && text && strcmp(text, script) == 0,
                  "split buffers output '%s'", text ? text : "");
            free(text);
        }
        for (int i = 0; i < 3; i++) free((void *)sbufs[i]);
        CHECK(neuronos_engine_load_buffer(eng, model, size) == NEURONOS_OK, "reload");
    }

    /* still usable after every error */
    sp = greedy(64);
    CHECK(neuronos_generate(eng, raw_prompt, &sp, NULL, NULL, &text, &fin) == NEURONOS_OK && text && strcmp(text, script) == 0, "usable after errors");
    free(text);
    neuronos_engine_free(eng);
    free(model);
    free(script);
    free(raw_prompt);
}

static void test_abort(void) {
    g_test = "abort";
    size_t size = 0;
    uint8_t *model = read_fixture("tiny-random", &size);
    CHECK(model != NULL, "tiny-random fixture");
    if (!model) return;
    neuronos_engine_params ep = neuronos_engine_default_params();
    ep.n_ctx = 512;
    neuronos_engine *eng;
    neuronos_engine_init(&ep, &eng);
    CHECK(neuronos_engine_load_buffer(eng, model, size) == NEURONOS_OK, "load: %s", neuronos_engine_last_error(eng));
    neuronos_sampling_params sp = greedy(200);
    sp.ignore_eos = true;
    /* the callback asks to stop after the 5th piece: the flag is set then, and at most one
     * more token may follow */
    piece_counter c = {0, 5};
    char *text = NULL;
    int32_t fin = 0;
    CHECK(neuronos_generate(eng, "Once upon a time", &sp, count_pieces, &c, &text, &fin) == NEURONOS_OK, "generate");
    CHECK(fin == NEURONOS_FINISH_ABORTED, "finish aborted (%d)", fin);
    CHECK(c.n >= 5 && c.n <= 6, "stopped within one token: %d pieces", c.n);
    free(text);

    /* stepwise: set the flag between steps, the next step ends it without a token */
    CHECK(neuronos_gen_begin(eng, "Once upon a time", &sp) == NEURONOS_OK, "begin");
    const neuronos_step_result *r;
    int generated = 0;
    while (neuronos_gen_step(eng, 1, &r) == NEURONOS_OK && r->state != NEURONOS_GEN_DONE) {
        generated += r->n_tokens;
        if (generated == 3) *neuronos_engine_abort_flag(eng) = 1;
    }
    CHECK(r->finish == NEURONOS_FINISH_ABORTED && r->n_tokens == 0 && r->n_generated == 3, "stepwise abort after 3 (%d)", r->n_generated);
    neuronos_gen_end(eng);

    /* the same seed gives the same text; ignore_eos runs to n_predict */
    sp = neuronos_sampling_default_params();
    sp.n_predict = 32;
    sp.ignore_eos = true;
    char *a = NULL, *b = NULL;
    neuronos_generate(eng, "Once upon a time", &sp, NULL, NULL, &a, &fin);
    CHECK(fin == NEURONOS_FINISH_LENGTH, "length");
    neuronos_generate(eng, "Once upon a time", &sp, NULL, NULL, &b, &fin);
    CHECK(a && b && strcmp(a, b) == 0, "same seed, same text");
    free(a), free(b);
    neuronos_engine_free(eng);
    free(model);
}

/* NEURONOS_C_TESTS=agent,calc runs only those groups (names below); default: all. */
static bool want(const char *group) {
    const char *only = getenv("NEURONOS_C_TESTS");
    if (!only || !only[0]) return true;
    size_t n = strlen(group);
    for (const char *p = only; (p = strstr(p, group)) != NULL; p += n)
        if ((p == only || p[-1] == ',') && (p[n] == 0 || p[n] == ',')) return true;
    return false;
}

int main(void) {
    if (want("core")) {
        test_status_codes();
        test_utf8();
        test_strbuf();
        test_gguf_check();
        test_json_messages();
        test_sampling_validate();
        test_penalties_by_id();
        test_engine();
        test_abort();
    }
    /* other test files (declared in check.h) */
    if (want("calc")) test_calc();
    if (want("agent")) test_agent();
    if (want("memory")) test_memory();
    if (want("bitnet")) test_bitnet();
    printf("core: %d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
