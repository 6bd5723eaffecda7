/* wasm_glue.c — the only file that exports functions to JavaScript (see the table in
 * include/neuronos.h). One global engine per module instance; every call records its status
 * and message for neuronos_wasm_last_status()/neuronos_wasm_last_error(). */
#include <emscripten.h>
#include <emscripten/heap.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "llama.h"
#include "neuronos.h"
#include "strbuf.h"

#define EXPORT EMSCRIPTEN_KEEPALIVE

static neuronos_engine *g_eng = NULL;
static neuronos_sampling_params g_sampling;
static bool g_sampling_set = false;
static int g_status = NEURONOS_OK;
static char g_error[1024];
static const neuronos_step_result g_idle_result = {.piece = ""};
static const neuronos_step_result *g_result = &g_idle_result;
/* one abort flag for the module's whole life: the client may hold its address (shared memory) */
static volatile int32_t g_abort = 0;

static void free_mapped(void);

/* Records a status; the message comes from the engine unless one is given. */
static int record(int status, const char *msg) {
    g_status = status;
    if (status == NEURONOS_OK) g_error[0] = 0;
    else if (msg) snprintf(g_error, sizeof g_error, "%s", msg);
    else snprintf(g_error, sizeof g_error, "%s", g_eng && neuronos_engine_last_error(g_eng)[0] ? neuronos_engine_last_error(g_eng) : neuronos_status_code(status));
    return status;
}

static bool need_engine(void) {
    if (g_eng) return true;
    record(NEURONOS_ERR_NOT_INITIALIZED, "call neuronos_wasm_init first");
    return false;
}

static const neuronos_sampling_params *sampling(void) {
    if (!g_sampling_set) {
        g_sampling = neuronos_sampling_default_params();
        g_sampling_set = true;
    }
    return &g_sampling;
}

EXPORT int neuronos_wasm_version(void) { return NEURONOS_VERSION_NUMBER; }
EXPORT int neuronos_wasm_last_status(void) { return g_status; }
EXPORT const char *neuronos_wasm_last_error(void) { return g_error; }
EXPORT const char *neuronos_wasm_status_code(int status) { return neuronos_status_code(status); }
EXPORT void *neuronos_wasm_alloc(size_t size) { return malloc(size ? size : 1); }
EXPORT void neuronos_wasm_dealloc(void *p) { free(p); }
EXPORT void neuronos_wasm_free_string(char *s) { neuronos_free_string(s); }
EXPORT const char *neuronos_wasm_system_info(void) { return llama_print_system_info(); }

EXPORT int neuronos_wasm_init(int threads, int ctx_size) {
    if (g_eng) {
        neuronos_engine_free(g_eng);
        g_eng = NULL;
    }
    free_mapped();
    neuronos_engine_params p = neuronos_engine_default_params();
    if (threads > 0) p.n_threads = threads;
    if (ctx_size < 0) return record(NEURONOS_ERR_INVALID_ARGUMENT, "ctx_size must be 0 (model default) or more");
    p.n_ctx = ctx_size;
    int st = neuronos_engine_init(&p, &g_eng);
    if (st == NEURONOS_OK) neuronos_engine_set_abort_flag(g_eng, &g_abort);
    return record(st, "could not create the engine");
}

EXPORT void neuronos_wasm_free(void) {
    neuronos_engine_free(g_eng);
    g_eng = NULL;
    free_mapped();
    g_result = &g_idle_result;
    record(NEURONOS_OK, NULL);
}

EXPORT int neuronos_wasm_load_model_from_buffer(uint8_t *ptr, size_t size) {
    if (!need_engine()) {
        free(ptr);
        return g_status;
    }
    g_result = &g_idle_result;
    neuronos_engine_unload(g_eng);
    free_mapped();
    int st = neuronos_engine_load_buffer(g_eng, ptr, size);
    free(ptr); /* the core owns the buffer; today llama.cpp has copied what it needs */
    return record(st, NULL);
}

/* The buffers of the mapped model (owned; freed after the model). */
static uint8_t **g_mapped = NULL;
static int g_n_mapped = 0;

EXPORT const char *neuronos_wasm_model_path(int i, int n) {
    static char path[64];
    if (n <= 1) snprintf(path, sizeof path, "/models/model.gguf");
    else snprintf(path, sizeof path, "/models/model-%05d-of-%05d.gguf", i + 1, n);
    return path;
}

static void free_mapped(void) {
    for (int i = 0; i < g_n_mapped; i++) {
        unlink(neuronos_wasm_model_path(i, g_n_mapped));
        free(g_mapped[i]);
    }
    free(g_mapped);
    g_mapped = NULL;
    g_n_mapped = 0;
}

EXPORT int neuronos_wasm_unload(void) {
    g_result = &g_idle_result;
    if (g_eng) neuronos_engine_unload(g_eng);
    free_mapped();
    return record(NEURONOS_OK, NULL);
}

EXPORT void *neuronos_wasm_alloc_model(size_t size) {
    const size_t align = 65536;
    if (size == 0 || size > SIZE_MAX - align) return NULL;
    return aligned_alloc(align, (size + align - 1) / align * align);
}

EXPORT int neuronos_wasm_load_model_mapped(uint8_t **ptrs, size_t *sizes, int n) {
    if (!need_engine() || n <= 0 || !ptrs || !sizes) {
        for (int i = 0; ptrs && i < n; i++) free(ptrs[i]);
        return g_eng ? record(NEURONOS_ERR_INVALID_ARGUMENT, "no model parts given") : g_status;
    }
    neuronos_engine_unload(g_eng);
    free_mapped();
    g_mapped = malloc((size_t)n * sizeof *g_mapped);
    char **paths = malloc((size_t)n * sizeof *paths);
    if (!g_mapped || !paths) {
        for (int i = 0; i < n; i++) free(ptrs[i]);
        free(g_mapped), free(paths);
        g_mapped = NULL;
        return record(NEURONOS_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        g_mapped[i] = ptrs[i];
        paths[i] = strdup(neuronos_wasm_model_path(i, n));
    }
    g_n_mapped = n;
    int st = neuronos_engine_load_mapped(g_eng, (const char *const *)paths, (const uint8_t *const *)ptrs, sizes, (size_t)n);
    for (int i = 0; i < n; i++) free(paths[i]);
    free(paths);
    if (st != NEURONOS_OK) free_mapped();
    return record(st, NULL);
}

EXPORT int neuronos_wasm_load_model_from_buffers(uint8_t **ptrs, size_t *sizes, int n) {
    if (!need_engine() || n <= 0 || !ptrs || !sizes) {
        for (int i = 0; ptrs && i < n; i++) free(ptrs[i]);
        return g_eng ? record(NEURONOS_ERR_INVALID_ARGUMENT, "no model parts given") : g_status;
    }
    g_result = &g_idle_result;
    neuronos_engine_unload(g_eng);
    free_mapped();
    int st = neuronos_engine_load_buffers(g_eng, (const uint8_t *const *)ptrs, sizes, (size_t)n);
    for (int i = 0; i < n; i++) free(ptrs[i]);
    return record(st, NULL);
}

EXPORT char *neuronos_wasm_model_info(void) {
    if (!need_engine()) return NULL;
    char *json = NULL;
    record(neuronos_engine_model_info(g_eng, &json), NULL);
    return json;
}

EXPORT int neuronos_wasm_set_sampling(float temperature, int top_k, float top_p, float min_p, float repeat_penalty,
                                      int repeat_last_n, uint32_t seed, int n_predict, int ignore_eos) {
    neuronos_sampling_params p = {
        .n_predict = n_predict,
        .temperature = temperature,
        .top_k = top_k,
        .top_p = top_p,
        .min_p = min_p,
        .repeat_penalty = repeat_penalty,
        .repeat_last_n = repeat_last_n,
        .seed = seed,
        .ignore_eos = ignore_eos != 0,
    };
    const char *why = NULL;
    if (neuronos_sampling_validate(&p, &why) != NEURONOS_OK) return record(NEURONOS_ERR_INVALID_ARGUMENT, why);
    g_sampling = p;
    g_sampling_set = true;
    return record(NEURONOS_OK, NULL);
}

EXPORT int neuronos_wasm_gen_begin(const char *prompt) {
    if (!need_engine()) return g_status;
    g_result = &g_idle_result;
    return record(neuronos_gen_begin(g_eng, prompt, sampling()), NULL);
}

EXPORT int neuronos_wasm_chat_begin(const char *messages_json, const char *template_override) {
    if (!need_engine()) return g_status;
    g_result = &g_idle_result;
    neuronos_chat_message *msgs;
    size_t n;
    char why[256];
    int st = neuronos_json_parse_messages(messages_json, &msgs, &n, why, sizeof why);
    if (st != NEURONOS_OK) return record(st, why);
    st = neuronos_chat_begin(g_eng, msgs, n, template_override, sampling());
    free(msgs);
    return record(st, NULL);
}

EXPORT int neuronos_wasm_gen_step(int max_tokens) {
    if (!need_engine()) return g_status;
    int st = neuronos_gen_step(g_eng, max_tokens, &g_result);
    return record(st, NULL);
}

EXPORT const neuronos_step_result *neuronos_wasm_step_result(void) { return g_result; }

EXPORT void neuronos_wasm_gen_end(void) {
    if (g_eng) neuronos_gen_end(g_eng);
    g_result = &g_idle_result;
}

EXPORT int32_t *neuronos_wasm_abort_flag(void) { return (int32_t *)&g_abort; }

EXPORT char *neuronos_wasm_generate(const char *prompt, int n_predict, float temp) {
    if (!need_engine()) return NULL;
    neuronos_sampling_params p = *sampling();
    p.n_predict = n_predict;
    p.temperature = temp;
    char *text = NULL;
    record(neuronos_generate(g_eng, prompt, &p, NULL, NULL, &text, NULL), NULL);
    g_result = &g_idle_result;
    return text;
}

EXPORT char *neuronos_wasm_tokenize(const char *text, int add_special) {
    if (!need_engine()) return NULL;
    int32_t *toks = NULL, n = 0;
    int st = neuronos_engine_tokenize(g_eng, text, add_special != 0, &toks, &n);
    if (record(st, NULL) != NEURONOS_OK) return NULL;
    strbuf b = {0};
    strbuf_putc(&b, '[');
    for (int32_t i = 0; i < n; i++) strbuf_printf(&b, i ? ",%d" : "%d", toks[i]);
    strbuf_putc(&b, ']');
    free(toks);
    if (b.oom) {
        strbuf_free(&b);
        record(NEURONOS_ERR_OUT_OF_MEMORY, "out of memory");
        return NULL;
    }
    return strbuf_take(&b);
}

EXPORT char *neuronos_wasm_apply_template(const char *messages_json, const char *template_override, int add_assistant) {
    if (!need_engine()) return NULL;
    neuronos_chat_message *msgs;
    size_t n;
    char why[256];
    int st = neuronos_json_parse_messages(messages_json, &msgs, &n, why, sizeof why);
    if (st != NEURONOS_OK) {
        record(st, why);
        return NULL;
    }
    char *out = NULL;
    st = neuronos_engine_apply_template(g_eng, template_override, msgs, n, add_assistant != 0, &out);
    free(msgs);
    record(st, NULL);
    return out;
}

/* ---- exports of later issues: declared, honestly not implemented yet ---- */

EXPORT char *neuronos_wasm_agent_chat(const char *message) {
    (void)message;
    record(NEURONOS_ERR_NOT_IMPLEMENTED, "the agent loop is not implemented yet (agent issue)");
    return NULL;
}
EXPORT int neuronos_wasm_agent_begin(const char *message) {
    (void)message;
    return record(NEURONOS_ERR_NOT_IMPLEMENTED, "the agent loop is not implemented yet (agent issue)");
}
EXPORT int neuronos_wasm_agent_observe(const char *observation_json) {
    (void)observation_json;
    return record(NEURONOS_ERR_NOT_IMPLEMENTED, "the agent loop is not implemented yet (agent issue)");
}
EXPORT int neuronos_wasm_memory_init(void) {
    return record(NEURONOS_ERR_NOT_IMPLEMENTED, "memory is not implemented yet (memory issue)");
}
EXPORT int neuronos_wasm_memory_open(const char *agent_name) {
    (void)agent_name;
    return record(NEURONOS_ERR_NOT_IMPLEMENTED, "memory is not implemented yet (memory issue)");
}
EXPORT int neuronos_wasm_memory_store(int tier, const char *key, const char *value) {
    (void)tier, (void)key, (void)value;
    return record(NEURONOS_ERR_NOT_IMPLEMENTED, "memory is not implemented yet (memory issue)");
}
EXPORT char *neuronos_wasm_memory_search(const char *query, int limit) {
    (void)query, (void)limit;
    record(NEURONOS_ERR_NOT_IMPLEMENTED, "memory is not implemented yet (memory issue)");
    return NULL;
}

/* Memory figures: the WASM memory's size, the top of the heap (a high-water mark: dlmalloc
 * does not give memory back), and what malloc has handed out now. Owned JSON. */
EXPORT char *neuronos_wasm_memory_stats(void) {
    struct mallinfo mi = mallinfo();
    strbuf b = {0};
    strbuf_printf(&b, "{\"memory_bytes\":%zu,\"heap_top_bytes\":%zu,\"malloc_in_use_bytes\":%zu}",
                  emscripten_get_heap_size(), (size_t)sbrk(0), (size_t)mi.uordblks);
    if (b.oom) {
        strbuf_free(&b);
        return NULL;
    }
    return strbuf_take(&b);
}

/* Test support: a real WebAssembly trap (`unreachable`), for the crash-recovery tests. */
EXPORT void neuronos_wasm_test_trap(void) { __builtin_trap(); }
