/* gguf_check.c — validates a GGUF buffer before llama.cpp parses it.
 *
 * llama.cpp's own parser is careful, but on wasm32 some of its size arithmetic runs in 32 bits
 * and a C++ exception is the only way it reports a bad file. Checking here first gives every bad
 * file a precise status and message, and keeps absurd sizes away from the allocator. */
#include "neuronos.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggml.h"

#define GGUF_MAX_DIMS 4
#define GGUF_DEFAULT_ALIGNMENT 32
/* The browser's WebAssembly memory is 32-bit: no model can claim more than this. */
#define NEURONOS_MAX_MODEL_BYTES (4ull * 1024 * 1024 * 1024)

enum { T_U8, T_I8, T_U16, T_I16, T_U32, T_I32, T_F32, T_BOOL, T_STR, T_ARR, T_U64, T_I64, T_F64, T_COUNT };
static const uint8_t scalar_size[T_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

typedef struct {
    const uint8_t *p;
    size_t size, pos;
    char *why;
    size_t why_size;
} cursor;

static neuronos_status fail(cursor *c, neuronos_status st, const char *fmt, ...) {
    if (c->why && c->why_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->why, c->why_size, fmt, ap);
        va_end(ap);
    }
    return st;
}

static bool take(cursor *c, void *dst, size_t n) {
    if (c->size - c->pos < n) return false;
    memcpy(dst, c->p + c->pos, n);
    c->pos += n;
    return true;
}

static bool skip(cursor *c, uint64_t n) {
    if ((uint64_t)(c->size - c->pos) < n) return false;
    c->pos += (size_t)n;
    return true;
}

/* Reads a string; s and len point into the buffer (not NUL-terminated). */
static bool read_str(cursor *c, const char **s, uint64_t *len) {
    if (!take(c, len, 8)) return false;
    if ((uint64_t)(c->size - c->pos) < *len) return false;
    *s = (const char *)(c->p + c->pos);
    c->pos += (size_t)*len;
    return true;
}

/* I2_S (BitNet b1.58, ggml type 36 in our patched llama.cpp and in Microsoft's fork): n/4 bytes
 * of 2-bit codes, then one f32 scale for the whole tensor in a 32-byte region. */
#define I2S_SCALE_BYTES 32

typedef struct {
    uint64_t offset, packed; /* relative to the data section; packed = n/4 */
    char name[65];
} i2s_tensor;

/* Codes are 0, 1, 2; a byte with any field == 3 has both bits of that field set. */
static int64_t first_code3(const uint8_t *p, uint64_t n) {
    uint64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        if (w & (w >> 1) & 0x5555555555555555ull) break;
    }
    for (; i < n; i++)
        if (p[i] & (p[i] >> 1) & 0x55) return (int64_t)i;
    return -1;
}

static neuronos_status check_i2s(cursor *c, const i2s_tensor *t, uint64_t data_offset) {
    const uint8_t *base = c->p + data_offset + t->offset;
    float scale;
    memcpy(&scale, base + t->packed, sizeof scale);
    if (!isfinite(scale) || scale <= 0.0f)
        return fail(c, NEURONOS_ERR_MODEL_INVALID,
                    "I2_S tensor '%s' has an invalid scale (%g): its per-tensor scale is missing or corrupt", t->name,
                    (double)scale);
    const int64_t bad = first_code3(base, t->packed);
    if (bad >= 0)
        return fail(c, NEURONOS_ERR_MODEL_INVALID,
                    "I2_S tensor '%s' holds the code 3 at byte %lld, which is not a ternary value (corrupt file?)",
                    t->name, (long long)bad);
    return NEURONOS_OK;
}

static bool key_is(const char *k, uint64_t n, const char *want) {
    return n == strlen(want) && memcmp(k, want, n) == 0;
}

neuronos_status neuronos_gguf_check(const uint8_t *data, size_t size, neuronos_gguf_summary *out,
                                    char *why, size_t why_size) {
    cursor c = {data, size, 0, why, why_size};
    neuronos_gguf_summary s;
    memset(&s, 0, sizeof s);
    if (why && why_size) why[0] = 0;
    if (!data || size == 0) return fail(&c, NEURONOS_ERR_MODEL_INVALID, "the model file is empty");
    char magic[4];
    if (!take(&c, magic, 4)) return fail(&c, NEURONOS_ERR_MODEL_INVALID, "file too short to be a GGUF model (%zu bytes)", size);
    if (memcmp(magic, "GGUF", 4) != 0) {
        if (size >= 5 && (data[0] == '<' || memcmp(data, "\xEF\xBB\xBF<", 4) == 0 || memcmp(data, "<!DO", 4) == 0))
            return fail(&c, NEURONOS_ERR_MODEL_INVALID, "not a GGUF model: the file starts like HTML (a web page instead of the model?)");
        return fail(&c, NEURONOS_ERR_MODEL_INVALID, "not a GGUF model: wrong magic bytes %02x %02x %02x %02x",
                    data[0], size > 1 ? data[1] : 0, size > 2 ? data[2] : 0, size > 3 ? data[3] : 0);
    }
    if (!take(&c, &s.version, 4) || !take(&c, &s.n_tensors, 8) || !take(&c, &s.n_kv, 8))
        return fail(&c, NEURONOS_ERR_MODEL_INVALID, "truncated GGUF header");
    if (s.version < 2 || s.version > 3)
        return fail(&c, NEURONOS_ERR_MODEL_INVALID, "unsupported GGUF version %u (2 and 3 are supported)", s.version);
    /* every KV takes >= 12 bytes, every tensor info >= 24: bound the counts by the buffer */
    if (s.n_kv > size / 12 || s.n_tensors > size / 24)
        return fail(&c, NEURONOS_ERR_MODEL_INVALID, "truncated or corrupt GGUF: header claims %llu keys and %llu tensors",
                    (unsigned long long)s.n_kv, (unsigned long long)s.n_tensors);

    uint64_t alignment = GGUF_DEFAULT_ALIGNMENT;
    for (uint64_t i = 0; i < s.n_kv; i++) {
        const char *key;
        uint64_t klen;
        uint32_t type;
        if (!read_str(&c, &key, &klen) || !take(&c, &type, 4))
            return fail(&c, NEURONOS_ERR_MODEL_INVALID, "truncated GGUF metadata (key %llu of %llu)",
                        (unsigned long long)i + 1, (unsigned long long)s.n_kv);
        if (type >= T_COUNT)
            return fail(&c, NEURONOS_ERR_MODEL_INVALID, "corrupt GGUF metadata: key '%.*s' has unknown value type %u",
                        (int)(klen > 64 ? 64 : klen), key, type);
        if (type == T_STR) {
            const char *v;
            uint64_t vlen;
            if (!read_str(&c, &v, &vlen)) return fail(&c, NEURONOS_ERR_MODEL_INVALID, "truncated GGUF metadata value");
        } else if (type == T_ARR) {
            uint32_t et;
            uint64_t n;
            if (!take(&c, &et, 4) || !take(&c, &n, 8)) return fail(&c, NEURONOS_ERR_MODEL_INVALID, "truncated GGUF array");
            if (et >= T_COUNT || et == T_ARR)
                return fail(&c, NEURONOS_ERR_MODEL_INVALID, "corrupt GGUF array of type %u", et);
            if (et == T_STR) {
                if (n > (size - c.pos) / 8) return fail(&c, NEURONOS_ERR_MODEL_INVALID, "truncated GGUF string array");
                for (uint64_t j = 0; j < n; j++) {
                    const char *v;
                    uint64_t vlen;
                    if (!read_str(&c, &v, &vlen)) return fail(&c, NEURONOS_ERR_MODEL_INVALID, "truncated GGUF string array");
                }
            } else {
                if (n > (size - c.pos) / scalar_size[et] || !skip(&c, n * scalar_size[et]))
                    return fail(&c, NEURONOS_ERR_MODEL_INVALID, "truncated GGUF array");
            }
        } else {
            const size_t vpos = c.pos;
            if (!skip(&c, scalar_size[type])) return fail(&c, NEURONOS_ERR_MODEL_INVALID, "truncated GGUF metadata value");
            if (key_is(key, klen, "general.alignment") && type == T_U32) {
                uint32_t a;
                memcpy(&a, data + vpos, 4);
                if (a == 0 || (a & (a - 1)) != 0)
                    return fail(&c, NEURONOS_ERR_MODEL_INVALID, "corrupt GGUF: alignment %u is not a power of two", a);
                alignment = a;
            } else if (key_is(key, klen, "split.no") && type == T_U16) {
                memcpy(&s.split_no, data + vpos, 2);
            } else if (key_is(key, klen, "split.count") && type == T_U16) {
                memcpy(&s.split_count, data + vpos, 2);
            }
        }
    }

    uint64_t data_end = 0;  /* relative to data_offset, with each tensor's alignment padding */
    uint64_t bytes_end = 0; /* the same without padding: where the last tensor's bytes end */
    uint64_t expected = 0;  /* llama.cpp wants the tensors back to back, in order, each padded */
    i2s_tensor *i2s = NULL;
    size_t n_i2s = 0, cap_i2s = 0;
    neuronos_status st = NEURONOS_OK;
#define TENSOR_FAIL(...) do { st = fail(&c, __VA_ARGS__); goto done; } while (0)
    bool is_prev_i2s = false;
    char prev_name[65] = "";
    for (uint64_t i = 0; i < s.n_tensors; i++) {
        const char *name;
        uint64_t nlen;
        uint32_t n_dims, type;
        uint64_t offset, ne[GGUF_MAX_DIMS] = {1, 1, 1, 1};
        if (!read_str(&c, &name, &nlen) || !take(&c, &n_dims, 4))
            TENSOR_FAIL(NEURONOS_ERR_MODEL_INVALID, "truncated GGUF tensor table (tensor %llu)", (unsigned long long)i + 1);
        const int nl = (int)(nlen > 64 ? 64 : nlen);
        if (n_dims == 0 || n_dims > GGUF_MAX_DIMS)
            TENSOR_FAIL(NEURONOS_ERR_MODEL_INVALID, "tensor '%.*s' has %u dimensions", nl, name, n_dims);
        for (uint32_t d = 0; d < n_dims; d++)
            if (!take(&c, &ne[d], 8)) TENSOR_FAIL(NEURONOS_ERR_MODEL_INVALID, "truncated GGUF tensor table");
        if (!take(&c, &type, 4) || !take(&c, &offset, 8)) TENSOR_FAIL(NEURONOS_ERR_MODEL_INVALID, "truncated GGUF tensor table");
        if (type >= GGML_TYPE_COUNT || ggml_blck_size((enum ggml_type)type) == 0 || ggml_type_size((enum ggml_type)type) == 0)
            TENSOR_FAIL(NEURONOS_ERR_MODEL_INVALID, "tensor '%.*s' has an unknown or unsupported tensor type %u", nl, name, type);
        const uint64_t blck = (uint64_t)ggml_blck_size((enum ggml_type)type);
        if (ne[0] % blck != 0)
            TENSOR_FAIL(NEURONOS_ERR_MODEL_INVALID, "tensor '%.*s': row of %llu is not a multiple of the block size %llu",
                        nl, name, (unsigned long long)ne[0], (unsigned long long)blck);
        /* bytes = ne0/blck * type_size * ne1 * ne2 * ne3, with overflow and the 4 GiB limit checked */
        uint64_t bytes = ne[0] / blck * (uint64_t)ggml_type_size((enum ggml_type)type);
        const bool is_i2s = type == GGML_TYPE_I2_S;
        for (int d = 1; d < GGUF_MAX_DIMS; d++) {
            if (ne[d] != 0 && bytes > NEURONOS_MAX_MODEL_BYTES / ne[d]) {
                TENSOR_FAIL(NEURONOS_ERR_MODEL_TOO_LARGE,
                            "tensor '%.*s' alone claims more than 4 GiB, more than a browser's WebAssembly memory can hold", nl, name);
            }
            bytes *= ne[d];
        }
        uint64_t packed = bytes;
        if (is_i2s) bytes += I2S_SCALE_BYTES;
        if (offset % alignment != 0)
            TENSOR_FAIL(NEURONOS_ERR_MODEL_INVALID, "tensor '%.*s' is not aligned", nl, name);
        if (offset > NEURONOS_MAX_MODEL_BYTES || offset + bytes > NEURONOS_MAX_MODEL_BYTES)
            TENSOR_FAIL(NEURONOS_ERR_MODEL_TOO_LARGE,
                        "the model's tensors claim more than 4 GiB, more than a browser's WebAssembly memory can hold");
        const uint64_t end = offset + (bytes + alignment - 1) / alignment * alignment;
        if (offset != expected) {
            if (i > 0 && offset < expected && is_prev_i2s)
                TENSOR_FAIL(NEURONOS_ERR_MODEL_INVALID,
                            "I2_S tensor '%s' is stored without its per-tensor scale: the next tensor '%.*s' starts %llu "
                            "bytes too early", prev_name, nl, name, (unsigned long long)(expected - offset));
            TENSOR_FAIL(NEURONOS_ERR_MODEL_INVALID, "tensor '%.*s' is at offset %llu, expected %llu (tensors overlap or are out of order)",
                        nl, name, (unsigned long long)offset, (unsigned long long)expected);
        }
        expected = end;
        is_prev_i2s = is_i2s;
        snprintf(prev_name, sizeof prev_name, "%.*s", nl, name);
        if (is_i2s) {
            if (n_i2s == cap_i2s) {
                size_t ncap = cap_i2s ? cap_i2s * 2 : 64;
                i2s_tensor *ni = realloc(i2s, ncap * sizeof *ni);
                if (!ni) TENSOR_FAIL(NEURONOS_ERR_OUT_OF_MEMORY, "out of memory while checking the model");
                i2s = ni;
                cap_i2s = ncap;
            }
            i2s[n_i2s].offset = offset;
            i2s[n_i2s].packed = packed;
            snprintf(i2s[n_i2s].name, sizeof i2s[n_i2s].name, "%.*s", nl, name);
            n_i2s++;
        }
        if (end > data_end) data_end = end;
        if (offset + bytes > bytes_end) bytes_end = offset + bytes;
    }
    s.data_offset = ((uint64_t)c.pos + alignment - 1) / alignment * alignment;
    s.data_bytes = data_end;
    if (s.data_offset + s.data_bytes > NEURONOS_MAX_MODEL_BYTES)
        TENSOR_FAIL(NEURONOS_ERR_MODEL_TOO_LARGE,
                    "the model's tensors claim more than 4 GiB, more than a browser's WebAssembly memory can hold");
    /* every tensor's bytes must be in the file (the last one need not be padded) */
    if (s.n_tensors > 0 && s.data_offset + bytes_end > (uint64_t)size) {
        if (n_i2s > 0 && s.data_offset + i2s[n_i2s - 1].offset + i2s[n_i2s - 1].packed + sizeof(float) > (uint64_t)size)
            TENSOR_FAIL(NEURONOS_ERR_MODEL_INVALID,
                        "truncated GGUF: the file ends before the scale of I2_S tensor '%s' (incomplete download?)",
                        i2s[n_i2s - 1].name);
        TENSOR_FAIL(NEURONOS_ERR_MODEL_INVALID,
                    "truncated GGUF: the tensors need %llu bytes but the file has %zu (incomplete download?)",
                    (unsigned long long)(s.data_offset + bytes_end), size);
    }
    for (size_t i = 0; i < n_i2s; i++) {
        st = check_i2s(&c, &i2s[i], s.data_offset);
        if (st != NEURONOS_OK) goto done;
    }
    if (out) *out = s;
done:
#undef TENSOR_FAIL
    free(i2s);
    return st;
}
