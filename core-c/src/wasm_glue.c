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
#include "sqlite3.h"
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
static neuronos_agent *g_agent = NULL; /* uses g_eng: freed with it */

static void free_agent(void) {
    neuronos_agent_free(g_agent);
    g_agent = NULL;
}

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
    free_agent();
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
    free_agent();
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
    if (g_agent) neuronos_agent_end(g_agent);
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

/* ---- the agent ---- */

static const neuronos_agent_result g_agent_idle = {.thought = "", .answer = "", .event = ""};
static const neuronos_agent_result *g_agent_result = &g_agent_idle;

static bool need_agent(void) {
    if (!need_engine()) return false;
    if (!g_agent && neuronos_agent_init(g_eng, &g_agent) != NEURONOS_OK) {
        record(NEURONOS_ERR_OUT_OF_MEMORY, "out of memory");
        return false;
    }
    return true;
}

static int record_agent(int st) { return record(st, st == NEURONOS_OK ? NULL : neuronos_agent_last_error(g_agent)); }

/* The built-in tools' specs (static JSON array). */
EXPORT const char *neuronos_wasm_tools_builtin(void) { return neuronos_tools_builtin_json(); }

/* Checks one page tool spec; 0 or invalid_argument with the reason in last_error. */
EXPORT int neuronos_wasm_tools_check(const char *spec_json) {
    neuronos_toolset *ts;
    if (neuronos_toolset_init(&ts) != NEURONOS_OK) return record(NEURONOS_ERR_OUT_OF_MEMORY, "out of memory");
    char why[512] = "";
    int st = neuronos_toolset_add(ts, spec_json, why, sizeof why);
    neuronos_toolset_free(ts);
    return record(st, why);
}

/* The tools of the next turns: JSON array of built-in names and page tool specs. */
EXPORT int neuronos_wasm_agent_set_tools(const char *tools_json) {
    if (!need_agent()) return g_status;
    return record_agent(neuronos_agent_set_tools(g_agent, tools_json));
}

/* Begins an agent turn. messages_json: the conversation, the new user message last.
 * options_json: {"system": string, "template": string, "maxSteps": int, "maxThoughtChars": int,
 * "maxAnswerChars": int, "maxStringChars": int, "maxArrayItems": int} (all optional). Sampling as
 * set by neuronos_wasm_set_sampling. */
EXPORT int neuronos_wasm_agent_begin(const char *messages_json, const char *options_json) {
    if (!need_agent()) return g_status;
    g_agent_result = &g_agent_idle;
    neuronos_chat_message *msgs;
    size_t n;
    char why[256];
    int st = neuronos_json_parse_messages(messages_json, &msgs, &n, why, sizeof why);
    if (st != NEURONOS_OK) return record(st, why);
    neuronos_agent_params ap = neuronos_agent_default_params();
    char *system = NULL, *tmpl = NULL;
    sqlite3_stmt *q = NULL;
    const char *opts = options_json && options_json[0] ? options_json : "{}";
    if (sqlite3_prepare_v2(neuronos_json_db(),
                           "SELECT json_valid(?1) AND json_type(?1)='object', json_extract(?1,'$.system'), "
                           "json_extract(?1,'$.template'), coalesce(json_extract(?1,'$.maxSteps'), ?2), "
                           "coalesce(json_extract(?1,'$.maxThoughtChars'), ?3), coalesce(json_extract(?1,'$.maxAnswerChars'), ?4), "
                           "coalesce(json_extract(?1,'$.maxStringChars'), ?5), coalesce(json_extract(?1,'$.maxArrayItems'), ?6)",
                           -1, &q, NULL) != SQLITE_OK) {
        free(msgs);
        return record(NEURONOS_ERR_INTERNAL, "JSON parser unavailable");
    }
    sqlite3_bind_text(q, 1, opts, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, ap.max_steps);
    sqlite3_bind_int(q, 3, ap.limits.max_thought_chars);
    sqlite3_bind_int(q, 4, ap.limits.max_answer_chars);
    sqlite3_bind_int(q, 5, ap.limits.max_string_chars);
    sqlite3_bind_int(q, 6, ap.limits.max_array_items);
    st = NEURONOS_OK;
    if (sqlite3_step(q) != SQLITE_ROW || !sqlite3_column_int(q, 0)) {
        st = record(NEURONOS_ERR_INVALID_ARGUMENT, "agent options must be a JSON object");
    } else {
        if (sqlite3_column_text(q, 1)) system = strdup((const char *)sqlite3_column_text(q, 1));
        if (sqlite3_column_text(q, 2)) tmpl = strdup((const char *)sqlite3_column_text(q, 2));
        ap.max_steps = sqlite3_column_int(q, 3);
        ap.limits.max_thought_chars = sqlite3_column_int(q, 4);
        ap.limits.max_answer_chars = sqlite3_column_int(q, 5);
        ap.limits.max_string_chars = sqlite3_column_int(q, 6);
        ap.limits.max_array_items = sqlite3_column_int(q, 7);
    }
    sqlite3_finalize(q);
    if (st == NEURONOS_OK) st = record_agent(neuronos_agent_begin(g_agent, msgs, n, system, tmpl, sampling(), &ap));
    free(system);
    free(tmpl);
    free(msgs);
    return st;
}

EXPORT int neuronos_wasm_agent_step(int max_tokens) {
    if (!need_agent()) return g_status;
    return record_agent(neuronos_agent_step(g_agent, max_tokens, &g_agent_result));
}

/* Borrowed, static; filled by every agent step (layout: neuronos_agent_result). */
EXPORT const neuronos_agent_result *neuronos_wasm_agent_result(void) { return g_agent_result; }

/* Hands in the waiting call's result (JSON) or error (text); exactly one non-NULL. */
EXPORT int neuronos_wasm_agent_observe(const char *result_json, const char *error) {
    if (!need_agent()) return g_status;
    return record_agent(neuronos_agent_observe(g_agent, result_json, error));
}

EXPORT void neuronos_wasm_agent_end(void) {
    if (g_agent) neuronos_agent_end(g_agent);
    g_agent_result = &g_agent_idle;
}

/* Runs a tool the core implements. Owned JSON result; NULL with status invalid_argument (a tool
 * error, message for the model) or not_implemented (not a core tool). */
EXPORT char *neuronos_wasm_tools_run(const char *name, const char *args_json) {
    char *out = NULL;
    char why[512] = "";
    int st = neuronos_tools_run_core(name, args_json, &out, why, sizeof why);
    record(st, why);
    return out;
}

/* The seed's one-shot agent call: one turn with the core's own tools (calculator), run to the
 * end. Owned answer text, or NULL (status/last_error). */
EXPORT char *neuronos_wasm_agent_chat(const char *message) {
    if (!need_agent()) return NULL;
    if (!message) {
        record(NEURONOS_ERR_INVALID_ARGUMENT, "no message");
        return NULL;
    }
    neuronos_chat_message m = {"user", message};
    int st = neuronos_agent_set_tools(g_agent, "[\"calculator\"]");
    if (st == NEURONOS_OK) st = neuronos_agent_begin(g_agent, &m, 1, NULL, NULL, sampling(), NULL);
    strbuf answer = {0};
    const neuronos_agent_result *r = NULL;
    while (st == NEURONOS_OK) {
        st = neuronos_agent_step(g_agent, 16, &r);
        if (st != NEURONOS_OK) break;
        if (r->answer_len) strbuf_put(&answer, r->answer, (size_t)r->answer_len);
        if (r->state == NEURONOS_AGENT_DONE) break;
        if (r->state == NEURONOS_AGENT_ACTION) {
            char *tool = NULL, *args = NULL, *out = NULL, why[512] = "";
            sqlite3_stmt *q = NULL;
            if (sqlite3_prepare_v2(neuronos_json_db(), "SELECT json_extract(?1,'$.tool'), json(json_extract(?1,'$.args'))", -1, &q, NULL) == SQLITE_OK) {
                sqlite3_bind_text(q, 1, r->event, -1, SQLITE_STATIC);
                if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0) && sqlite3_column_text(q, 1)) {
                    tool = strdup((const char *)sqlite3_column_text(q, 0));
                    args = strdup((const char *)sqlite3_column_text(q, 1));
                }
                sqlite3_finalize(q);
            }
            int ts = tool && args ? neuronos_tools_run_core(tool, args, &out, why, sizeof why) : NEURONOS_ERR_OUT_OF_MEMORY;
            st = ts == NEURONOS_OK ? neuronos_agent_observe(g_agent, out, NULL)
                                   : neuronos_agent_observe(g_agent, NULL, why[0] ? why : "the tool failed");
            free(tool);
            free(args);
            free(out);
        }
    }
    if (st == NEURONOS_OK && r && r->finish != NEURONOS_AGENT_FINISH_ANSWER && r->finish != NEURONOS_AGENT_FINISH_STEP_LIMIT &&
        r->finish != NEURONOS_AGENT_FINISH_LENGTH)
        st = r->finish == NEURONOS_AGENT_FINISH_ABORTED ? NEURONOS_ERR_ABORTED : NEURONOS_ERR_CONTEXT_FULL;
    if (st == NEURONOS_OK && r && r->finish == NEURONOS_AGENT_FINISH_STEP_LIMIT) {
        /* the honest step-limit message is in the event */
        sqlite3_stmt *q = NULL;
        if (sqlite3_prepare_v2(neuronos_json_db(), "SELECT json_extract(?1,'$.answer')", -1, &q, NULL) == SQLITE_OK) {
            sqlite3_bind_text(q, 1, r->event, -1, SQLITE_STATIC);
            if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0)) {
                strbuf_clear(&answer);
                strbuf_puts(&answer, (const char *)sqlite3_column_text(q, 0));
            }
            sqlite3_finalize(q);
        }
    }
    neuronos_agent_end(g_agent);
    g_agent_result = &g_agent_idle;
    if (st != NEURONOS_OK) {
        record(st, neuronos_agent_last_error(g_agent));
        strbuf_free(&answer);
        return NULL;
    }
    record(answer.oom ? NEURONOS_ERR_OUT_OF_MEMORY : NEURONOS_OK, "out of memory");
    if (answer.oom) {
        strbuf_free(&answer);
        return NULL;
    }
    return strbuf_take(&answer);
}

/* ---- exports of later issues: declared, honestly not implemented yet ---- */

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
