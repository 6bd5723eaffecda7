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
#include "opfs_vfs.h"
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
/* The open memory store (memory section below), or NULL; the agent uses it for its memory tools,
 * its prompt (core memory) and recall. Call memory_changed() after opening or closing it. */
static neuronos_memory *g_mem = NULL;

static void memory_changed(void) {
    if (g_agent) neuronos_agent_set_memory(g_agent, g_mem);
}

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

/* repack: 0 keeps the weights in the file's layout (neuronos_engine_params.repack) */
EXPORT int neuronos_wasm_init(int threads, int ctx_size, int repack) {
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
    p.repack = repack != 0;
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

/* Logits of every position of `tokens_json` (a JSON array of ids), n × n_vocab floats in a
 * malloc'ed block (free it); *n_vocab_out gets n_vocab. For reference tests. */
EXPORT float *neuronos_wasm_eval_logits(const char *tokens_json, int one_by_one, int32_t *n_vocab_out) {
    if (!need_engine()) return NULL;
    /* a flat JSON array of integers */
    const char *p = tokens_json ? strchr(tokens_json, '[') : NULL;
    size_t n = 0, cap = 0;
    int32_t *toks = NULL;
    if (p) {
        p++;
        for (;;) {
            char *end;
            const long v = strtol(p, &end, 10);
            if (end == p) break;
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                int32_t *t2 = realloc(toks, cap * sizeof *t2);
                if (!t2) break;
                toks = t2;
            }
            toks[n++] = (int32_t)v;
            p = end;
            while (*p == ' ' || *p == ',') p++;
        }
    }
    int st;
    const int32_t n_vocab = neuronos_engine_n_vocab(g_eng);
    float *out = n > 0 && n <= 4096 ? malloc(n * (size_t)n_vocab * sizeof *out) : NULL;
    if (!out) {
        free(toks);
        record(n > 0 && n <= 4096 ? NEURONOS_ERR_OUT_OF_MEMORY : NEURONOS_ERR_INVALID_ARGUMENT, "1 to 4096 tokens, memory permitting");
        return NULL;
    }
    st = neuronos_engine_eval_logits(g_eng, toks, (int32_t)n, one_by_one != 0, out);
    free(toks);
    if (record(st, NULL) != NEURONOS_OK) {
        free(out);
        return NULL;
    }
    *n_vocab_out = n_vocab;
    return out;
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
    memory_changed();
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
 * "maxAnswerChars": int, "maxStringChars": int, "maxArrayItems": int, "conversation": string,
 * "plain": bool, "reserveTokens": int} (all optional). Sampling as set by
 * neuronos_wasm_set_sampling. */
EXPORT int neuronos_wasm_agent_begin(const char *messages_json, const char *options_json) {
    if (!need_agent()) return g_status;
    g_agent_result = &g_agent_idle;
    neuronos_chat_message *msgs;
    size_t n;
    char why[256];
    int st = neuronos_json_parse_messages(messages_json, &msgs, &n, why, sizeof why);
    if (st != NEURONOS_OK) return record(st, why);
    neuronos_agent_params ap = neuronos_agent_default_params();
    char *system = NULL, *tmpl = NULL, *conversation = NULL;
    sqlite3_stmt *q = NULL;
    const char *opts = options_json && options_json[0] ? options_json : "{}";
    if (sqlite3_prepare_v2(neuronos_json_db(),
                           "SELECT json_valid(?1) AND json_type(?1)='object', json_extract(?1,'$.system'), "
                           "json_extract(?1,'$.template'), coalesce(json_extract(?1,'$.maxSteps'), ?2), "
                           "coalesce(json_extract(?1,'$.maxThoughtChars'), ?3), coalesce(json_extract(?1,'$.maxAnswerChars'), ?4), "
                           "coalesce(json_extract(?1,'$.maxStringChars'), ?5), coalesce(json_extract(?1,'$.maxArrayItems'), ?6), "
                           "json_extract(?1,'$.conversation'), coalesce(json_extract(?1,'$.plain'), 0), "
                           "coalesce(json_extract(?1,'$.reserveTokens'), 0)",
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
        if (sqlite3_column_text(q, 8)) conversation = strdup((const char *)sqlite3_column_text(q, 8));
        ap.plain = sqlite3_column_int(q, 9) != 0;
        ap.reserve_tokens = sqlite3_column_int(q, 10);
        ap.conversation_id = conversation;
    }
    sqlite3_finalize(q);
    if (st == NEURONOS_OK) st = record_agent(neuronos_agent_begin(g_agent, msgs, n, system, tmpl, sampling(), &ap));
    free(system);
    free(tmpl);
    free(conversation);
    free(msgs);
    return st;
}

/* What the last agent_begin changed to fit the context ("" when nothing); borrowed. */
EXPORT const char *neuronos_wasm_agent_notice(void) { return g_agent ? neuronos_agent_notice(g_agent) : ""; }

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
    int st = neuronos_tools_run_core(name, args_json, g_mem, NULL, &out, why, sizeof why);
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
            int ts = tool && args ? neuronos_tools_run_core(tool, args, g_mem, NULL, &out, why, sizeof why) : NEURONOS_ERR_OUT_OF_MEMORY;
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

/* ---- memory (the store of memory.c; see "memory store" in neuronos.h) ----
 * One store at a time, in g_mem: the agent uses the same one (memory_changed()). A persistent
 * store lives at /neuronos/memory/<agent>.db through the "opfs" VFS (opfs_vfs.c), whose files the
 * worker has opened beforehand (src/worker/memory-fs.ts); otherwise it is ":memory:". Every call
 * runs on the worker's thread. Ids travel as doubles (exact up to 2^53). */

static char g_mem_path[96];     /* the open store's path, or ":memory:"; "" when none */
static double g_mem_last_id = 0; /* id of the last message/entry stored */

static bool need_memory(void) {
    if (g_mem) return true;
    record(NEURONOS_ERR_NOT_INITIALIZED, "no memory is open (open one first: memory.open())");
    return false;
}

static int record_mem(int st) {
    const char *e = g_mem ? neuronos_memory_last_error(g_mem) : "";
    return record(st, st == NEURONOS_OK ? NULL : e[0] ? e : neuronos_status_code(st));
}

/* An owned string result: `out` on success, NULL (status recorded) otherwise. */
static char *record_mem_string(int st, char *out) {
    record_mem(st);
    if (st == NEURONOS_OK) return out;
    neuronos_free_string(out);
    return NULL;
}

static bool agent_name_ok(const char *s) {
    size_t n = 0;
    for (; s && s[n]; n++) {
        const char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
    }
    return n >= 1 && n <= 64;
}

static void memory_close_current(void) {
    neuronos_memory *old = g_mem;
    g_mem = NULL;
    g_mem_path[0] = 0;
    memory_changed(); /* the agent lets go of it first */
    neuronos_memory_close(old);
}

static int memory_open_at(const char *path, const char *vfs) {
    memory_close_current();
    neuronos_memory_params p = neuronos_memory_default_params();
    p.vfs = vfs;
    char why[512] = "";
    neuronos_memory *m = NULL;
    const int st = neuronos_memory_open(path, &p, &m, why, sizeof why);
    if (st != NEURONOS_OK) return record(st, why[0] ? why : neuronos_status_code(st));
    g_mem = m;
    snprintf(g_mem_path, sizeof g_mem_path, "%s", path);
    memory_changed();
    return record(NEURONOS_OK, NULL);
}

/* The seed's call: a fresh store in RAM (closes any open one). */
EXPORT int neuronos_wasm_memory_init(void) { return memory_open_at(":memory:", NULL); }

/* Opens agent `agent_name`'s store ([A-Za-z0-9_-]{1,64}), closing the open one. persistent: the
 * OPFS file (the worker must have opened its handles: memory-fs.ts); else in RAM. */
EXPORT int neuronos_wasm_memory_open(const char *agent_name, int persistent) {
    if (!agent_name_ok(agent_name)) return record(NEURONOS_ERR_INVALID_ARGUMENT, "agent name must be 1-64 letters, digits, '_' or '-'");
    if (!persistent) return memory_open_at(":memory:", NULL);
    if (neuronos_opfs_vfs_register() != SQLITE_OK) return record(NEURONOS_ERR_INTERNAL, "cannot register the OPFS storage layer");
    char path[96];
    snprintf(path, sizeof path, "/neuronos/memory/%s.db", agent_name);
    return memory_open_at(path, NEURONOS_OPFS_VFS_NAME);
}

/* Closes the open store (none open is fine). */
EXPORT int neuronos_wasm_memory_close(void) {
    memory_close_current();
    return record(NEURONOS_OK, NULL);
}

/* The open store's path (static): "/neuronos/memory/<agent>.db", ":memory:", or "" for none. */
EXPORT const char *neuronos_wasm_memory_path(void) { return g_mem_path; }

/* The id of the last recall message or archival entry stored (0 after a core store). */
EXPORT double neuronos_wasm_memory_last_id(void) { return g_mem_last_id; }

/* The seed's call: tier 0 core (key = label), 1 recall (key = role, conversation "default"),
 * 2 archival (key = tags); see neuronos_memory_store. */
EXPORT int neuronos_wasm_memory_store(int tier, const char *key, const char *value) {
    g_mem_last_id = 0;
    if (!need_memory()) return g_status;
    int64_t id = 0;
    const int st = neuronos_memory_store(g_mem, (neuronos_memory_tier)tier, key, value, &id);
    if (st == NEURONOS_OK) g_mem_last_id = (double)id;
    return record_mem(st);
}

EXPORT int neuronos_wasm_memory_core_set(const char *label, const char *text) {
    g_mem_last_id = 0;
    if (!need_memory()) return g_status;
    return record_mem(neuronos_memory_core_set(g_mem, label, text));
}

/* time_ms <= 0: now. */
EXPORT int neuronos_wasm_memory_recall_add(const char *conversation_id, const char *role, const char *content, double time_ms) {
    g_mem_last_id = 0;
    if (!need_memory()) return g_status;
    int64_t id = 0;
    const int st = neuronos_memory_recall_add(g_mem, conversation_id, role, content, time_ms > 0 && time_ms < 9e15 ? (int64_t)time_ms : 0, &id);
    if (st == NEURONOS_OK) g_mem_last_id = (double)id;
    return record_mem(st);
}

/* tags_json: a JSON array of strings, or NULL/"". time_ms <= 0: now. */
EXPORT int neuronos_wasm_memory_archival_insert(const char *text, const char *tags_json, double time_ms) {
    g_mem_last_id = 0;
    if (!need_memory()) return g_status;
    int64_t id = 0;
    const int st = neuronos_memory_archival_insert(g_mem, text, tags_json, time_ms > 0 && time_ms < 9e15 ? (int64_t)time_ms : 0, &id);
    if (st == NEURONOS_OK) g_mem_last_id = (double)id;
    return record_mem(st);
}

/* The seed's call: recall and archival together, best first (owned JSON array). */
EXPORT char *neuronos_wasm_memory_search(const char *query, int limit) {
    if (!need_memory()) return NULL;
    char *out = NULL;
    return record_mem_string(neuronos_memory_search(g_mem, query, limit, &out), out);
}

/* One tier: 1 recall (conversation_id NULL = all), 2 archival. Owned JSON array. */
EXPORT char *neuronos_wasm_memory_search_tier(int tier, const char *query, const char *conversation_id, int limit) {
    if (!need_memory()) return NULL;
    char *out = NULL;
    int st;
    if (tier == NEURONOS_MEMORY_RECALL) st = neuronos_memory_recall_search(g_mem, query, conversation_id, limit, &out);
    else if (tier == NEURONOS_MEMORY_ARCHIVAL) st = neuronos_memory_archival_search(g_mem, query, limit, &out);
    else {
        record(NEURONOS_ERR_INVALID_ARGUMENT, "only recall (1) and archival (2) memory are searched; list core memory instead");
        return NULL;
    }
    return record_mem_string(st, out);
}

/* A page of a tier (owned JSON array). */
EXPORT char *neuronos_wasm_memory_list(int tier, int offset, int limit) {
    if (!need_memory()) return NULL;
    char *out = NULL;
    return record_mem_string(neuronos_memory_list(g_mem, (neuronos_memory_tier)tier, offset, limit, &out), out);
}

/* Deletes recall message or archival entry `id` (a whole number >= 1). */
EXPORT int neuronos_wasm_memory_delete(int tier, double id) {
    if (!need_memory()) return g_status;
    if (!(id >= 1 && id <= 9007199254740991.0) || (double)(int64_t)id != id)
        return record(NEURONOS_ERR_INVALID_ARGUMENT, "a memory id is a whole number from 1");
    return record_mem(neuronos_memory_delete(g_mem, (neuronos_memory_tier)tier, (int64_t)id));
}

/* Deletes core memory block `label`. */
EXPORT int neuronos_wasm_memory_core_delete(const char *label) {
    if (!need_memory()) return g_status;
    return record_mem(neuronos_memory_core_delete(g_mem, label));
}

/* Everything as one export document (owned JSON). */
EXPORT char *neuronos_wasm_memory_export(void) {
    if (!need_memory()) return NULL;
    char *out = NULL;
    return record_mem_string(neuronos_memory_export(g_mem, &out), out);
}

/* mode 0 replace, 1 merge. Owned JSON report {"core","recall","archival","skipped"}. */
EXPORT char *neuronos_wasm_memory_import(const char *json, int mode) {
    if (!need_memory()) return NULL;
    if (mode != NEURONOS_MEMORY_IMPORT_REPLACE && mode != NEURONOS_MEMORY_IMPORT_MERGE) {
        record(NEURONOS_ERR_INVALID_ARGUMENT, "import mode must be 0 (replace) or 1 (merge)");
        return NULL;
    }
    char *out = NULL;
    return record_mem_string(neuronos_memory_import(g_mem, json, (neuronos_memory_import_mode)mode, &out), out);
}

EXPORT int neuronos_wasm_memory_clear(void) {
    if (!need_memory()) return g_status;
    return record_mem(neuronos_memory_clear(g_mem));
}

/* Counts of the open store (owned JSON; see neuronos_memory_stats). Not to be confused with
 * neuronos_wasm_memory_stats, the WASM heap figures. */
EXPORT char *neuronos_wasm_memory_db_stats(void) {
    if (!need_memory()) return NULL;
    char *out = NULL;
    return record_mem_string(neuronos_memory_stats(g_mem, &out), out);
}

/* SQLite's integrity check and FTS5's; 0, or internal with the first problem. */
EXPORT int neuronos_wasm_memory_check(void) {
    if (!need_memory()) return g_status;
    return record_mem(neuronos_memory_check(g_mem));
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
