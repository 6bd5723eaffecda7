/*
 * neuronos.h — the public C API of the NeuronOS core (C11).
 *
 * The core runs llama.cpp (inference), and later the ReAct agent and the SQLite+FTS5 memory.
 * It builds natively (tests, benchmarks) and to WebAssembly, where `core-c/src/wasm_glue.c`
 * is the only file that exports symbols to JavaScript (the `neuronos_wasm_*` table below).
 *
 * Conventions
 *  - Opaque types, `neuronos_<noun>_<verb>` names, `init`/`free` pairs, params structs with
 *    `*_default_params()`.
 *  - Every fallible call returns a `neuronos_status`. On failure a readable message is kept by
 *    the object (`neuronos_engine_last_error`). Bad input never calls exit()/abort().
 *  - Ownership is stated on every pointer: "borrowed" pointers belong to the engine and stay
 *    valid until the next call on the same engine; "owned" results are freed by the caller with
 *    `neuronos_free_string` (strings) or `free` where stated.
 *  - Not thread-safe: one engine is driven from one thread. The abort flag is the exception: it
 *    may be written from any thread (in the threaded WASM build it lives in shared memory).
 *
 * ---------------------------------------------------------------------------------------------
 * WASM export table (core-c/src/wasm_glue.c). All are blocking calls on the worker thread.
 * Status-returning calls return a neuronos_status (0 = ok); string-returning calls return NULL on
 * failure, and then neuronos_wasm_last_status()/neuronos_wasm_last_error() say why.
 *
 *  The seed's one-shot API (kept stable for outside tools)
 *   int   neuronos_wasm_init(int threads, int ctx_size)          creates the one global engine;
 *                                                                 threads <= 0: default (1)
 *   int   neuronos_wasm_load_model_from_buffer(uint8_t *ptr, size_t size)
 *                                                                 ptr from neuronos_wasm_alloc();
 *                                                                 OWNERSHIP PASSES to the core on
 *                                                                 every return (ok or error)
 *   char *neuronos_wasm_generate(const char *prompt, int n_predict, float temp)
 *                                                                 owned; the whole completion
 *   char *neuronos_wasm_agent_chat(const char *message)          NULL, status not_implemented
 *                                                                 (agent issue)
 *   char *neuronos_wasm_model_info(void)                          owned JSON
 *   int   neuronos_wasm_memory_init(void)                         not_implemented (memory issue)
 *   int   neuronos_wasm_memory_store(int tier, const char *key, const char *value)
 *                                                                 not_implemented (memory issue)
 *   char *neuronos_wasm_memory_search(const char *query, int limit)
 *                                                                 NULL, not_implemented
 *   void  neuronos_wasm_free(void)                                frees the engine and model
 *   void  neuronos_wasm_free_string(char *ptr)                    frees an owned string
 *
 *  Errors and memory
 *   int         neuronos_wasm_last_status(void)
 *   const char *neuronos_wasm_last_error(void)                    borrowed, until the next call
 *   const char *neuronos_wasm_status_code(int status)             static, e.g. "model_invalid"
 *   void       *neuronos_wasm_alloc(size_t size)                  malloc; free with
 *                                                                 neuronos_wasm_dealloc
 *   void        neuronos_wasm_dealloc(void *ptr)
 *   const char *neuronos_wasm_system_info(void)                   static (llama.cpp's string)
 *   int         neuronos_wasm_version(void)                       NEURONOS_VERSION_NUMBER
 *   char       *neuronos_wasm_memory_stats(void)                  owned JSON {memory_bytes,
 *                                                                 heap_top_bytes (high-water
 *                                                                 mark), malloc_in_use_bytes}
 *
 *  Zero-copy loading (the worker's path): the bytes go into the heap once and stay there
 *   int   neuronos_wasm_unload(void)                              frees the model first, so the
 *                                                                 next one does not stack on it
 *   void *neuronos_wasm_alloc_model(size_t size)                   64 KiB-aligned buffer
 *   const char *neuronos_wasm_model_path(int i, int n)             static; the MEMFS path where
 *                                                                 JS must put part i (0-based)
 *                                                                 of n, its contents = the buffer
 *   int   neuronos_wasm_load_model_mapped(uint8_t **ptrs, size_t *sizes, int n)
 *                                                                 llama.cpp maps the MEMFS files;
 *                                                                 every ptrs[i] passes to the core
 *                                                                 (freed, and the files removed,
 *                                                                 when the model is unloaded)
 *
 *  Loading several buffers (split GGUF, parts in order)
 *   int neuronos_wasm_load_model_from_buffers(uint8_t **ptrs, size_t *sizes, int n)
 *                                                                 every ptrs[i] passes to the
 *                                                                 core; ptrs/sizes arrays stay
 *                                                                 the caller's
 *  Sampling (applies to the next begin)
 *   int neuronos_wasm_set_sampling(float temperature, int top_k, float top_p, float min_p,
 *                                  float repeat_penalty, int repeat_last_n, uint32_t seed,
 *                                  int n_predict, int ignore_eos)
 *
 *  Resumable generation: begin, then step until the state is DONE, then end.
 *   int   neuronos_wasm_gen_begin(const char *prompt)              raw completion
 *   int   neuronos_wasm_chat_begin(const char *messages_json, const char *template_override)
 *                                  messages_json: [{"role":"system|user|assistant","content":"…"}]
 *                                  template_override: NULL/"" = the model's own template
 *   int   neuronos_wasm_gen_step(int max_tokens)                   runs at most one prompt batch
 *                                                                 or max_tokens tokens
 *   neuronos_step_result *neuronos_wasm_step_result(void)          borrowed, static; filled by
 *                                                                 every step (layout below)
 *   void  neuronos_wasm_gen_end(void)
 *   int32_t *neuronos_wasm_abort_flag(void)                        borrowed, static (the same
 *                                                                 address for the module's life);
 *                                                                 write 1 to stop
 *   char *neuronos_wasm_tokenize(const char *text, int add_special)   owned JSON array of ids
 *   char *neuronos_wasm_apply_template(const char *messages_json, const char *template_override,
 *                                      int add_assistant)          owned string
 *
 *  Later issues (declared now, return not_implemented until they land)
 *   int neuronos_wasm_agent_begin(const char *message)             agent turn, stepped like gen
 *   int neuronos_wasm_agent_observe(const char *observation_json)  hand in a page tool's result
 *   int neuronos_wasm_memory_open(const char *agent_name)          named database in OPFS
 *
 *  Test support
 *   void neuronos_wasm_test_trap(void)                             executes `unreachable`
 * ---------------------------------------------------------------------------------------------
 */
#ifndef NEURONOS_H
#define NEURONOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NEURONOS_VERSION_NUMBER 100 /* 0.1.0 */

/* Status codes. Their string forms (neuronos_status_code) are the `code` values of the
 * TypeScript NeuronOSError union; keep both in sync (src/errors.ts). */
typedef enum neuronos_status {
    NEURONOS_OK = 0,
    NEURONOS_ERR_INVALID_ARGUMENT = 1, /* "invalid_argument" */
    NEURONOS_ERR_MODEL_INVALID = 2,    /* "model_invalid": not a GGUF, truncated, unknown type */
    NEURONOS_ERR_MODEL_TOO_LARGE = 3,  /* "model_too_large": does not fit the address space */
    NEURONOS_ERR_OUT_OF_MEMORY = 4,    /* "out_of_memory" */
    NEURONOS_ERR_NO_MODEL = 5,         /* "no_model": a model is needed first */
    NEURONOS_ERR_CONTEXT_FULL = 6,     /* "context_full": the prompt does not fit the context */
    NEURONOS_ERR_ABORTED = 7,          /* "aborted" */
    NEURONOS_ERR_BUSY = 8,             /* "busy": a generation is in progress */
    NEURONOS_ERR_TEMPLATE = 9,         /* "template_failed": chat template could not be applied */
    NEURONOS_ERR_NOT_IMPLEMENTED = 10, /* "not_implemented" */
    NEURONOS_ERR_NOT_INITIALIZED = 11, /* "not_initialized": neuronos_wasm_init first */
    NEURONOS_ERR_INTERNAL = 12,        /* "internal": llama.cpp failed in an unexpected way */
} neuronos_status;

/* Static string for a status, e.g. "context_full"; "unknown" for values out of range. */
const char *neuronos_status_code(int status);

/* Frees a string the core returned as "owned". NULL is fine. */
void neuronos_free_string(char *s);

/* ---------------------------------------------------------------- engine (engine.c) ---- */

typedef struct neuronos_engine neuronos_engine;

typedef struct neuronos_engine_params {
    int32_t n_threads; /* >= 1; default 1 */
    int32_t n_ctx;     /* context size in tokens; 0 = the model's training context, capped at
                          4096; default 2048 */
    int32_t n_batch;   /* prompt tokens evaluated per step; default 64 */
} neuronos_engine_params;

neuronos_engine_params neuronos_engine_default_params(void);

/* Creates an engine (no model yet). *out is owned: free it with neuronos_engine_free. */
neuronos_status neuronos_engine_init(const neuronos_engine_params *params, neuronos_engine **out);
void neuronos_engine_free(neuronos_engine *eng);

/* The message of the last failure on this engine; borrowed, valid until the next call. Never
 * NULL ("" when there was none). */
const char *neuronos_engine_last_error(const neuronos_engine *eng);

/* Loads a GGUF from memory, replacing any model already loaded. The bytes are checked
 * (magic, version, sizes, tensor types, bounds) before llama.cpp sees them.
 * `data` is BORROWED for the duration of the call only. */
neuronos_status neuronos_engine_load_buffer(neuronos_engine *eng, const uint8_t *data, size_t size);

/* Loads a split GGUF from its parts in order (part 1 first). Borrowed for the call. */
neuronos_status neuronos_engine_load_buffers(neuronos_engine *eng, const uint8_t *const *data,
                                             const size_t *sizes, size_t n_parts);

/* Loads a model from files that llama.cpp memory-maps (zero copy). In WebAssembly the files are
 * in-memory (MEMFS) nodes whose contents ARE the buffers `bufs` in the WASM heap, so the weights
 * are used in place; natively they are ordinary files. `bufs`/`sizes` are the files' bytes, used
 * for the pre-check (pass NULL bufs natively to skip it). Paths in part order. The files (and
 * buffers) are BORROWED and must stay unchanged until the model is unloaded. */
neuronos_status neuronos_engine_load_mapped(neuronos_engine *eng, const char *const *paths, const uint8_t *const *bufs,
                                            const size_t *sizes, size_t n_parts);

/* Frees the model and its context; the engine stays usable. */
void neuronos_engine_unload(neuronos_engine *eng);
bool neuronos_engine_has_model(const neuronos_engine *eng);

/* Model metadata as a JSON object (owned):
 * {"name","architecture","description","n_params","size_bytes","n_vocab","n_ctx_train","n_ctx",
 *  "n_threads","chat_template","has_chat_template","bos","eos","metadata":{key:value…}} */
neuronos_status neuronos_engine_model_info(neuronos_engine *eng, char **json_out);

/* Tokenizes `text`. *tokens_out is owned (free()), *n_out its length. */
neuronos_status neuronos_engine_tokenize(neuronos_engine *eng, const char *text, bool add_special,
                                         int32_t **tokens_out, int32_t *n_out);

typedef struct neuronos_chat_message {
    const char *role;    /* "system" | "user" | "assistant" | "tool" */
    const char *content;
} neuronos_chat_message;

/* Applies the model's chat template (or `template_override`, a Jinja template or one of
 * llama.cpp's built-in names such as "chatml"; NULL or "" = the model's own). *out is owned. */
neuronos_status neuronos_engine_apply_template(neuronos_engine *eng, const char *template_override,
                                               const neuronos_chat_message *msgs, size_t n_msgs,
                                               bool add_assistant, char **out);

/* ------------------------------------------------------------------------- sampling ---- */

typedef struct neuronos_sampling_params {
    int32_t n_predict;      /* tokens to generate at most; 0 = none; negative is rejected.
                               Default 256 */
    float temperature;      /* <= 0: greedy. Default 0.7 */
    int32_t top_k;          /* <= 0: off. Default 40 */
    float top_p;            /* >= 1: off. Default 0.95 */
    float min_p;            /* <= 0: off. Default 0.05 */
    float repeat_penalty;   /* 1: off. Default 1.1 */
    int32_t repeat_last_n;  /* tokens the penalty looks back over. Default 64 */
    uint32_t seed;          /* sampling seed; the same seed gives the same text. Default 42 */
    bool ignore_eos;        /* keep generating past end-of-generation tokens (benchmarks) */
} neuronos_sampling_params;

neuronos_sampling_params neuronos_sampling_default_params(void);

/* Checks ranges (temperature finite and <= 10, top_p in [0,1], …). */
neuronos_status neuronos_sampling_validate(const neuronos_sampling_params *p, const char **why);

/* ---------------------------------------------------------- resumable generation ------- */

typedef enum neuronos_gen_state {
    NEURONOS_GEN_IDLE = 0,   /* no generation begun */
    NEURONOS_GEN_PROMPT = 1, /* a prompt batch was evaluated; no text yet */
    NEURONOS_GEN_TOKEN = 2,  /* one or more tokens were generated; `piece` has their text */
    NEURONOS_GEN_DONE = 3,   /* finished; see `finish` */
} neuronos_gen_state;

typedef enum neuronos_finish_reason {
    NEURONOS_FINISH_NONE = 0,
    NEURONOS_FINISH_EOS = 1,          /* the model ended its turn */
    NEURONOS_FINISH_LENGTH = 2,       /* n_predict tokens were generated */
    NEURONOS_FINISH_ABORTED = 3,      /* the abort flag was set */
    NEURONOS_FINISH_CONTEXT_FULL = 4, /* the context filled up during generation */
} neuronos_finish_reason;

/* Filled by every step. Layout is fixed: on wasm32 JavaScript reads it as nine 32-bit words
 * (state, finish, n_tokens, piece_len, piece pointer, n_prompt, n_past, n_reused, n_generated). */
typedef struct neuronos_step_result {
    int32_t state;      /* neuronos_gen_state */
    int32_t finish;     /* neuronos_finish_reason, when state is DONE */
    int32_t n_tokens;   /* tokens generated by this step */
    int32_t piece_len;  /* bytes in piece (complete UTF-8 only; a split character waits) */
    const char *piece;  /* borrowed, NUL-terminated, valid until the next step/end */
    int32_t n_prompt;   /* prompt tokens in this generation */
    int32_t n_past;     /* tokens in the context (prompt + generated) */
    int32_t n_reused;   /* prompt tokens reused from the KV cache (not evaluated again) */
    int32_t n_generated;/* tokens generated so far */
} neuronos_step_result;

/* Begins a raw completion of `prompt` (special tokens in it are parsed). The KV cache's common
 * prefix with the previous generation is reused. A prompt that does not fit in the context
 * leaves room for no token: rejected with NEURONOS_ERR_CONTEXT_FULL (never truncated silently).
 * Clears the abort flag. */
neuronos_status neuronos_gen_begin(neuronos_engine *eng, const char *prompt,
                                   const neuronos_sampling_params *params);

/* Begins a chat turn: the messages go through the chat template with the assistant prefix. */
neuronos_status neuronos_chat_begin(neuronos_engine *eng, const neuronos_chat_message *msgs,
                                    size_t n_msgs, const char *template_override,
                                    const neuronos_sampling_params *params);

/* Advances the generation: evaluates one prompt batch (n_batch tokens) if the prompt is not yet
 * evaluated, otherwise samples up to `max_tokens` tokens (>= 1). `*out` is borrowed. An abort
 * flag set before or during the step ends the generation with FINISH_ABORTED within one token. */
neuronos_status neuronos_gen_step(neuronos_engine *eng, int32_t max_tokens,
                                  const neuronos_step_result **out);

/* Ends the generation (safe to call at any time, also when none is running). */
void neuronos_gen_end(neuronos_engine *eng);

/* The abort flag: write non-zero from any thread to stop the running generation; llama.cpp's
 * abort callback and every step read it. Borrowed, lives as long as the engine. */
volatile int32_t *neuronos_engine_abort_flag(neuronos_engine *eng);

/* Makes the engine read (and clear, at begin) an outside flag instead of its own; NULL goes back
 * to its own. The flag is borrowed and must outlive the engine's use of it. */
void neuronos_engine_set_abort_flag(neuronos_engine *eng, volatile int32_t *flag);

/* One-shot helper over begin/step/end. `on_piece` (may be NULL) receives each piece; returning
 * false stops the generation (finish reason ABORTED). *text_out (may be NULL) is owned. */
typedef bool (*neuronos_piece_cb)(const char *piece, int32_t len, void *user);
neuronos_status neuronos_generate(neuronos_engine *eng, const char *prompt,
                                  const neuronos_sampling_params *params, neuronos_piece_cb on_piece,
                                  void *user, char **text_out, int32_t *finish_out);

/* ------------------------------------------------------- GGUF pre-check (gguf_check.c) - */

typedef struct neuronos_gguf_summary {
    uint32_t version;
    uint64_t n_tensors;
    uint64_t n_kv;
    uint64_t data_offset; /* where tensor data starts */
    uint64_t data_bytes;  /* bytes the tensors claim (with alignment padding) */
    uint16_t split_no, split_count; /* from split.* keys; 0/0 when not split */
} neuronos_gguf_summary;

/* Validates a GGUF header without trusting it: magic, version, counts, string and array
 * lengths, tensor types and shapes, offsets inside the buffer, and that the data fits a
 * 32-bit address space. `why` receives a static or engine-independent message (borrowed,
 * static storage). Returns OK, MODEL_INVALID or MODEL_TOO_LARGE. */
neuronos_status neuronos_gguf_check(const uint8_t *data, size_t size, neuronos_gguf_summary *out,
                                    char *why, size_t why_size);

/* ---------------------------------------------------------------- utf8 (utf8.c) -------- */

/* Length of the longest prefix of s[0..n) that does not end inside a UTF-8 sequence. */
size_t neuronos_utf8_complete_prefix(const char *s, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* NEURONOS_H */
