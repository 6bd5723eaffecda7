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
 *   char *neuronos_wasm_agent_chat(const char *message)          owned answer (see the agent)
 *   char *neuronos_wasm_model_info(void)                          owned JSON
 *   int   neuronos_wasm_memory_init(void)                         a fresh store in RAM
 *                                                                 (":memory:"); closes the open one
 *   int   neuronos_wasm_memory_store(int tier, const char *key, const char *value)
 *                                                                 see neuronos_memory_store; the
 *                                                                 new id: memory_last_id()
 *   char *neuronos_wasm_memory_search(const char *query, int limit)
 *                                                                 owned JSON: recall + archival
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
 *  The agent (stepped like a generation; see "agent (agent.c)" below)
 *   const char *neuronos_wasm_tools_builtin(void)                  static JSON array of the ten
 *                                                                 built-in tool specs
 *   int   neuronos_wasm_tools_check(const char *spec_json)         checks a page tool spec
 *   int   neuronos_wasm_agent_set_tools(const char *tools_json)    [names and specs] for the
 *                                                                 next turns
 *   int   neuronos_wasm_agent_begin(const char *messages_json, const char *options_json)
 *                                  options: {system, template, maxSteps, maxThoughtChars,
 *                                  maxAnswerChars, maxStringChars, maxArrayItems,
 *                                  conversation, plain, reserveTokens}
 *   const char *neuronos_wasm_agent_notice(void)                   borrowed; what the last begin
 *                                                                 changed to fit the context
 *   int   neuronos_wasm_agent_step(int max_tokens)
 *   neuronos_agent_result *neuronos_wasm_agent_result(void)        borrowed, static (layout below)
 *   int   neuronos_wasm_agent_observe(const char *result_json, const char *error)
 *   void  neuronos_wasm_agent_end(void)
 *   char *neuronos_wasm_tools_run(const char *name, const char *args_json)
 *                                                                 owned JSON result of a tool
 *                                                                 the core runs (calculator)
 *   char *neuronos_wasm_agent_chat(const char *message)           one-shot turn with the
 *                                                                 calculator; owned answer
 *
 *  Memory (the store of memory.c, one open at a time, shared with the agent). Every call runs on
 *  the worker's own thread (in the threaded build too: the OPFS handles live there). Ids are
 *  doubles (whole numbers, exact up to 2^53). Without an open store: not_initialized.
 *   int   neuronos_wasm_memory_open(const char *agent_name, int persistent)
 *                                  agent_name: [A-Za-z0-9_-]{1,64}. persistent: the database
 *                                  /neuronos/memory/<agent>.db through the "opfs" VFS (opfs_vfs.c;
 *                                  the worker must have pre-opened its two files and installed
 *                                  Module.neuronosOpfs, src/worker/memory-fs.ts); 0: ":memory:".
 *                                  Closes the open store first (also when the open fails).
 *   int   neuronos_wasm_memory_close(void)                        none open is fine
 *   const char *neuronos_wasm_memory_path(void)                   static: the open store's path,
 *                                                                 ":memory:", or "" (none)
 *   double neuronos_wasm_memory_last_id(void)                     id of the last message/entry
 *                                                                 stored (0 after core / errors)
 *   int   neuronos_wasm_memory_core_set(const char *label, const char *text)
 *   int   neuronos_wasm_memory_core_delete(const char *label)
 *   int   neuronos_wasm_memory_recall_add(const char *conversation_id, const char *role,
 *                                         const char *content, double time_ms)   (<= 0: now)
 *   int   neuronos_wasm_memory_archival_insert(const char *text, const char *tags_json,
 *                                              double time_ms)   tags: JSON array, NULL or ""
 *   char *neuronos_wasm_memory_search_tier(int tier, const char *query,
 *                                          const char *conversation_id, int limit)
 *                                  owned JSON; tier 1 recall (conversation NULL = all) or
 *                                  2 archival; core is refused (invalid_argument)
 *   char *neuronos_wasm_memory_list(int tier, int offset, int limit)   owned JSON array
 *   int   neuronos_wasm_memory_delete(int tier, double id)        recall / archival by id
 *   char *neuronos_wasm_memory_export(void)                       owned export document
 *   char *neuronos_wasm_memory_import(const char *json, int mode) 0 replace, 1 merge; owned
 *                                                                 report JSON
 *   int   neuronos_wasm_memory_clear(void)
 *   char *neuronos_wasm_memory_db_stats(void)                     owned JSON counts (not to be
 *                                                                 confused with memory_stats,
 *                                                                 the WASM heap figures)
 *   int   neuronos_wasm_memory_check(void)                        integrity check (SQLite and
 *                                                                 FTS5); internal + the problem
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
    int32_t repack;    /* 1 (default): the CPU backend may repack weights into its interleaved
                          layouts where it has kernels for them (on WASM: Q4_0 into 4x4, in
                          place when the model is mapped); 0: weights keep the file's layout */
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
/* The context size in tokens of the loaded model's context (0 without a model). */
int32_t neuronos_engine_n_ctx(const neuronos_engine *eng);

/* Model metadata as a JSON object (owned):
 * {"name","architecture","description","n_params","size_bytes","n_vocab","n_ctx_train","n_ctx",
 *  "n_threads","chat_template","has_chat_template","bos","eos","metadata":{key:value…}} */
neuronos_status neuronos_engine_model_info(neuronos_engine *eng, char **json_out);

/* Evaluates `tokens` from an empty cache and writes the logits of every position into `out`
 * (n × n_vocab floats, row-major): each prefix as one batch when `one_by_one` is false (the
 * prompt path), else one decode per token on the cache (the generation path). For tests that compare against a reference;
 * the prompt cache is dropped. Fails when no generation is idle. */
neuronos_status neuronos_engine_eval_logits(neuronos_engine *eng, const int32_t *tokens, int32_t n, bool one_by_one,
                                            float *out);
int32_t neuronos_engine_n_vocab(const neuronos_engine *eng);

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

/* Constrains the NEXT begin's output with a GBNF grammar (llama.cpp syntax, start rule "root");
 * NULL or "" removes it. The text is copied. The grammar is checked when the generation begins
 * (a grammar llama.cpp cannot parse fails the begin with NEURONOS_ERR_INVALID_ARGUMENT).
 * Sampling first draws from the unconstrained distribution and only filters the whole vocabulary
 * through the grammar when that token is refused (same result, much faster on big vocabularies). */
neuronos_status neuronos_engine_set_grammar(neuronos_engine *eng, const char *gbnf);

/* ---------------------------------------------------------------- tools (tools.c) ------ */

/* Limits written into the step grammar. */
typedef struct neuronos_agent_limits {
    int32_t max_thought_chars; /* default 1000 */
    int32_t max_answer_chars;  /* default 4000 */
    int32_t max_string_chars;  /* string arguments; default 1000 */
    int32_t max_array_items;   /* default 16 */
} neuronos_agent_limits;

/* The set of tools one agent can call. Built-ins come from a fixed table; page tools from a JSON
 * spec {name, description, parameters} whose parameters use the supported JSON Schema subset:
 * {"type":"object","properties":{…},"required":[…]} (additionalProperties only false), each
 * property {"type": string|number|integer|boolean|array, "description"?, "enum"? (strings only),
 * "items"? (arrays only: {"type": string|number|integer|boolean, "enum"?})}. Anything else is
 * refused with NEURONOS_ERR_INVALID_ARGUMENT and a readable `why`. Names: [a-z_][a-z0-9_]{0,47}. */
typedef struct neuronos_toolset neuronos_toolset;

/* The ten built-in specs as a JSON array (static). */
const char *neuronos_tools_builtin_json(void);
neuronos_status neuronos_toolset_init(neuronos_toolset **out); /* owned; neuronos_toolset_free */
void neuronos_toolset_free(neuronos_toolset *ts);
void neuronos_toolset_clear(neuronos_toolset *ts);
int neuronos_toolset_count(const neuronos_toolset *ts);
bool neuronos_toolset_has(const neuronos_toolset *ts, const char *name);
bool neuronos_toolset_is_builtin(const neuronos_toolset *ts, const char *name);
/* Adds a page tool from its spec (a built-in's name is refused). */
neuronos_status neuronos_toolset_add(neuronos_toolset *ts, const char *spec_json, char *why, size_t why_size);
neuronos_status neuronos_toolset_add_builtin(neuronos_toolset *ts, const char *name, char *why, size_t why_size);
/* Replaces the set with a JSON array whose items are built-in names (strings) or specs. On
 * failure the set is empty. */
neuronos_status neuronos_toolset_set_json(neuronos_toolset *ts, const char *tools_json, char *why, size_t why_size);
/* The GBNF grammar of one agent step (owned; NULL when out of memory):
 *   {"thought": "<≤ max_thought_chars>", "answer": "<≤ max_answer_chars>"}
 *   {"thought": "…", "action": "<a tool's name>", "args": {<its properties, required ones first,
 *    then the optional ones in their order, each optional>}}
 * with exactly these separators (", " and ": "), so the output can be streamed field by field. */
char *neuronos_toolset_grammar(const neuronos_toolset *ts, const neuronos_agent_limits *lim);
/* The tools as text for the system prompt (owned). */
char *neuronos_toolset_describe(const neuronos_toolset *ts);
/* Checks a call's arguments (a JSON object) against the tool's schema: no unknown keys, required
 * ones present, types and enums. */
neuronos_status neuronos_toolset_check_args(const neuronos_toolset *ts, const char *name, const char *args_json,
                                            char *why, size_t why_size);

typedef struct neuronos_memory neuronos_memory; /* memory.c, below */
/* Runs a tool the core implements: the calculator, and the five memory tools against `mem`
 * (borrowed; NULL: they fail with NOT_INITIALIZED, "no memory store is open").
 * *result_json (owned) is the result as JSON: the calculator's number; core_memory_* the block
 * {"label","text"} after the change; archival_memory_insert {"id"}; the searches their JSON
 * arrays (memory.c). A tool error is INVALID_ARGUMENT (or the store's code) with `why` written
 * for the model; NOT_IMPLEMENTED when the core does not run this tool (the caller does). */
neuronos_status neuronos_tools_run_core(const char *name, const char *args_json, neuronos_memory *mem,
                                        const char *conversation_id, char **result_json, char *why,
                                        size_t why_size);

/* ---------------------------------------------------------------- agent (agent.c) ------ */

/* One agent turn, ReAct style, stepped like a generation. Each step the model writes one JSON
 * object (constrained by the tools' grammar): a tool call or the answer. A call is handed to the
 * caller (state ACTION), who runs the tool and hands the result back (neuronos_agent_observe);
 * the result goes into the conversation as a user message
 *   Observation: {"tool":"<name>","result":<JSON>}     or   …,"error":"<text>"}
 * and the next step begins, reusing the KV cache (only the new tokens are evaluated). */
typedef struct neuronos_agent neuronos_agent;

typedef struct neuronos_agent_params {
    int32_t max_steps; /* model outputs per turn; default 8 */
    neuronos_agent_limits limits;
    const char *conversation_id; /* recall memory's conversation (copied at begin); NULL: "default" */
    bool plain;                  /* no tools, no JSON: the model's reply is the answer (a plain chat
                                    turn with the same context management and memory) */
    int32_t reserve_tokens;      /* context kept free for a step's output when the history is
                                    trimmed; <= 0: min(n_predict, n_ctx / 2) */
} neuronos_agent_params;

neuronos_agent_params neuronos_agent_default_params(void);

typedef enum neuronos_agent_state {
    NEURONOS_AGENT_IDLE = 0,
    NEURONOS_AGENT_PROMPT = 1, /* a prompt batch was evaluated */
    NEURONOS_AGENT_TOKEN = 2,  /* tokens were generated; thought/answer pieces may be set */
    NEURONOS_AGENT_ACTION = 3, /* a valid tool call (event); call neuronos_agent_observe next */
    NEURONOS_AGENT_EVENT = 4,  /* the core handled a step itself (event: kind "invalid"); step on */
    NEURONOS_AGENT_DONE = 5,   /* the turn ended (finish); event holds the answer, if any */
} neuronos_agent_state;

typedef enum neuronos_agent_finish {
    NEURONOS_AGENT_FINISH_NONE = 0,
    NEURONOS_AGENT_FINISH_ANSWER = 1,
    NEURONOS_AGENT_FINISH_STEP_LIMIT = 2,
    NEURONOS_AGENT_FINISH_ABORTED = 3,
    NEURONOS_AGENT_FINISH_LENGTH = 4,       /* the reply was cut off by n_predict (answer kept) */
    NEURONOS_AGENT_FINISH_CONTEXT_FULL = 5,
} neuronos_agent_finish;

/* Filled by every step. Fixed layout: on wasm32 fourteen 32-bit words. Strings are borrowed,
 * NUL-terminated, valid until the next agent call. */
typedef struct neuronos_agent_result {
    int32_t state;       /* neuronos_agent_state */
    int32_t finish;      /* neuronos_agent_finish, when DONE */
    int32_t step;        /* 0-based model output index */
    int32_t n_tokens;    /* tokens generated by this call */
    int32_t thought_len; /* new thought text (decoded from the JSON string as it streams) */
    const char *thought;
    int32_t answer_len;  /* new answer text */
    const char *answer;
    int32_t event_len;   /* JSON of the step event, when ACTION / EVENT / DONE (else "") */
    const char *event;
    int32_t n_prompt, n_past, n_reused, n_generated; /* the current step's generation */
} neuronos_agent_result;

/* The event JSON: {"step", "kind": "action"|"invalid"|"answer", "thought", "tool"?, "args"?,
 * "error"?, "answer"?, "assistant"?}; "assistant" (DONE only) is the text to keep as this turn's
 * assistant message in the conversation (the final step's JSON). */

/* `eng` is borrowed and must outlive the agent. *out is owned (neuronos_agent_free). */
neuronos_status neuronos_agent_init(neuronos_engine *eng, neuronos_agent **out);
void neuronos_agent_free(neuronos_agent *ag);
const char *neuronos_agent_last_error(const neuronos_agent *ag); /* borrowed, never NULL */
/* The tools of the next turns (see neuronos_toolset_set_json). */
neuronos_status neuronos_agent_set_tools(neuronos_agent *ag, const char *tools_json);
neuronos_toolset *neuronos_agent_tools(neuronos_agent *ag); /* borrowed */
/* Begins a turn. `msgs`: the conversation, the new user message last (roles user/assistant;
 * copied). `system_prompt` (may be NULL) comes first, followed by the step format and the tools. */
neuronos_status neuronos_agent_begin(neuronos_agent *ag, const neuronos_chat_message *msgs, size_t n_msgs,
                                     const char *system_prompt, const char *template_override,
                                     const neuronos_sampling_params *sp, const neuronos_agent_params *ap);
neuronos_status neuronos_agent_step(neuronos_agent *ag, int32_t max_tokens, const neuronos_agent_result **out);
/* Hands in the result of the ACTION's tool: `result_json` (a JSON value; text that is not JSON is
 * taken as a string) or `error` (exactly one non-NULL). Begins the next step, or ends the turn
 * (step limit). The abort flag, if set while the tool ran, ends the turn as aborted. */
neuronos_status neuronos_agent_observe(neuronos_agent *ag, const char *result_json, const char *error);
void neuronos_agent_end(neuronos_agent *ag);
/* Attaches a memory store (borrowed; NULL detaches): the five memory tools run against it, core
 * memory goes into the system message, and every user message and answer is added to recall
 * memory under the conversation id of the turn (agent options). */
void neuronos_agent_set_memory(neuronos_agent *ag, neuronos_memory *mem);

/* What the last begin had to change to fit the context, for the visitor (borrowed; "" when
 * nothing): older turns left the prompt (they stay in recall memory) or the message was cut. */
const char *neuronos_agent_notice(const neuronos_agent *ag);
/* Context management: every step's prompt is the system message (site prompt, step format and
 * tools, core memory as it was when the turn began, and, when older turns were dropped, a line
 * saying how many and how they began) + the most recent messages that fit in the context minus
 * `reserve_tokens` + this turn's steps. Dropped turns stay in recall memory (conversation_search
 * finds them). A user message longer than the room left is cut, with a notice. */

/* The system message the agent would use (owned), for inspection and tests. */
char *neuronos_agent_system_text(neuronos_agent *ag, const char *system_prompt);

/* ------------------------------------------------------------ calculator (calc.c) ---- */

/* The agent's calculator tool. An evaluator of our own (recursive descent, no eval):
 *  - numbers 12, 3.5, .5, 1e-3 (no digit separators: `1_000` and `1,000` are errors);
 *  - + - * / (also U+2212 −, U+00D7 ×, U+00F7 ÷), `^` or `**` power (right-associative, tighter
 *    than unary minus: -2^2 = -4, 2^3^2 = 512), `%` remainder with C fmod semantics (sign of the
 *    dividend: -7 % 3 = -1; binds like `*`), parentheses, unary + and -;
 *  - constants pi (also π) and e; functions sqrt cbrt abs sin cos tan asin acos atan sinh cosh
 *    tanh exp ln log (base 10) log2 log10 round (halves away from zero) floor ceil trunc
 *    pow(a,b) hypot(a,b) min(…) max(…) (one or more arguments); names are case-insensitive;
 *  - angles in radians; whitespace anywhere between tokens.
 * Limits: NEURONOS_CALC_MAX_BYTES bytes of valid UTF-8; parentheses, calls and `^` nest at most
 * NEURONOS_CALC_MAX_DEPTH deep. Every intermediate result must be finite. */
#define NEURONOS_CALC_MAX_BYTES 1000
#define NEURONOS_CALC_MAX_DEPTH 64
/* Buffer size that always holds neuronos_calc_format's text and its NUL. */
#define NEURONOS_CALC_FORMAT_MAX 32

/* Evaluates `expr` (NUL-terminated, borrowed) into *out. On any error (empty input, unbalanced
 * parentheses, unexpected character, unknown name or function, wrong argument count, division
 * or modulo by zero, domain error, overflow, too long, too deep, invalid UTF-8) returns
 * NEURONOS_ERR_INVALID_ARGUMENT, leaves *out unchanged and writes a message for the model into
 * `why` (caller's buffer, may be NULL; truncated to why_size, 256 is plenty), with the 1-based
 * character position where it applies: "division by zero at position 4". No state; thread-safe. */
neuronos_status neuronos_calc_eval(const char *expr, double *out, char *why, size_t why_size);

/* Writes the shortest text that reads back as the same double (JSON number syntax): integers
 * below 1e15 in full without ".0" ("1000000"), others with the fewest significant digits that
 * round-trip ("0.1", "1.5e-7", "1e21"); -0 as "0"; NaN/infinity as "null". `buf` is the caller's
 * (truncated to n bytes with a NUL when n > 0; NEURONOS_CALC_FORMAT_MAX always suffices).
 * Returns the length of the whole text, like snprintf. Assumes the "C" numeric locale. */
size_t neuronos_calc_format(double v, char *buf, size_t n);

/* ------------------------------------------------------------ memory store (memory.c) -- */
/*
 * The agent's memory, MemGPT-style, in one SQLite database (FTS5 for search):
 *  - core:     labelled text blocks ("persona", "human", plus any the site defines), each with a
 *              character limit; the agent places all of them in every prompt.
 *  - recall:   every message of every conversation (conversation id, role, content, time),
 *              full-text searchable.
 *  - archival: facts the agent chose to keep, with optional tags, full-text searchable.
 *
 * Storage. One database file (or ":memory:"). Each store call is one transaction and returns only
 * after it is durable (rollback journal, synchronous=FULL): once a call returned OK its change
 * survives a crash or a killed tab. No WAL: the database works on a VFS without shared memory
 * (the OPFS VFS). Temporary data stays in memory (temp_store=MEMORY), so the VFS only ever sees
 * the database file and its journal ("<path>-journal", kept as an empty file between
 * transactions in the default TRUNCATE mode). Deleted text is overwritten (secure_delete, and
 * FTS5's secure-delete), and neuronos_memory_clear() also VACUUMs, so forgotten text does not
 * linger in the file.
 *
 * Text. Every stored string is UTF-8; invalid byte sequences are replaced by U+FFFD when stored
 * (ids and labels are refused instead). Limits count characters (code points). Times are
 * milliseconds since the Unix epoch; pass 0 (or less) for "now".
 *
 * Search. Queries are untrusted text and never raise a syntax error: the words of the query
 * (at most NEURONOS_MEMORY_MAX_TERMS, from its first NEURONOS_MEMORY_MAX_QUERY bytes) are each
 * quoted and joined with OR, and results are ranked by bm25 (more matching words, rarer words,
 * shorter texts rank higher). A query without words gives "[]". Words match whole tokens of the
 * unicode61 tokenizer, case- and diacritic-insensitively ("cafe" finds "Café"); there is no
 * prefix or phrase search. Scripts written without spaces (Chinese, Japanese) match whole runs
 * of characters only. `score` is -bm25: higher is better, comparable within one result list.
 *
 * JSON results (always owned strings, free with neuronos_free_string; built by SQLite's JSON
 * functions):
 *   core block       {"label","text","limit","chars"}
 *   recall message   {"id","conversation_id","role","content","time"}      (+ "score" in search)
 *   archival entry   {"id","text","tags":[…],"time"}  (+ "score" and "snippet" in search; the
 *                    snippet marks matched words with ** and elides with …)
 *
 * Errors. Bad arguments and limits give NEURONOS_ERR_INVALID_ARGUMENT with a message written
 * for the model to read as an observation (e.g. "core memory block 'human' would be 2104
 * characters; its limit is 2000 …"). SQLITE_BUSY gives NEURONOS_ERR_BUSY; out of memory
 * NEURONOS_ERR_OUT_OF_MEMORY; storage full, I/O errors and a damaged file NEURONOS_ERR_INTERNAL
 * (the message says which). A failed call changes nothing.
 *
 * Not thread-safe: one store is used from one thread (in WASM: the worker's).
 */

typedef struct neuronos_memory neuronos_memory;

typedef enum neuronos_memory_tier {
    NEURONOS_MEMORY_CORE = 0,
    NEURONOS_MEMORY_RECALL = 1,
    NEURONOS_MEMORY_ARCHIVAL = 2,
} neuronos_memory_tier;

typedef enum neuronos_memory_import_mode {
    NEURONOS_MEMORY_IMPORT_REPLACE = 0, /* the store becomes the document (ids kept) */
    NEURONOS_MEMORY_IMPORT_MERGE = 1,   /* the document is added: core blocks in it overwrite
                                           those of the same label; messages and entries get new
                                           ids; exact duplicates (same fields and time) are
                                           skipped, so importing twice adds nothing */
} neuronos_memory_import_mode;

#define NEURONOS_MEMORY_SCHEMA_VERSION 1     /* meta.schema_version of databases this build writes */
#define NEURONOS_MEMORY_EXPORT_VERSION 1     /* "version" of export documents */
#define NEURONOS_MEMORY_DEFAULT_CORE_LIMIT 2000 /* characters */
#define NEURONOS_MEMORY_MAX_CORE_LIMIT 100000   /* characters */
#define NEURONOS_MEMORY_MAX_CORE_BLOCKS 64
#define NEURONOS_MEMORY_MAX_LABEL 64         /* bytes of [A-Za-z0-9_.-] */
#define NEURONOS_MEMORY_MAX_ROLE 32          /* bytes of [A-Za-z0-9_-] */
#define NEURONOS_MEMORY_MAX_CONVERSATION_ID 256 /* bytes of UTF-8 */
#define NEURONOS_MEMORY_MAX_TEXT (1 << 20)   /* bytes per message, entry or block text */
#define NEURONOS_MEMORY_MAX_TAGS 32          /* tags per archival entry, each 1..64 bytes */
#define NEURONOS_MEMORY_MAX_QUERY 10240      /* bytes of a search query considered */
#define NEURONOS_MEMORY_MAX_TERMS 32         /* words of a search query used */
#define NEURONOS_MEMORY_MAX_RESULTS 1000     /* cap on any `limit` */

typedef struct neuronos_memory_params {
    const char *vfs;          /* SQLite VFS name, registered beforehand; NULL = the default */
    const char *journal_mode; /* "TRUNCATE" (default), "DELETE" or "PERSIST"; others (WAL needs
                                 shared memory, MEMORY/OFF lose atomicity) are refused */
    int32_t core_limit;       /* limit of blocks created without one; default 2000 */
    int32_t busy_timeout_ms;  /* wait for another connection's lock; default 2000 */
} neuronos_memory_params;

neuronos_memory_params neuronos_memory_default_params(void);

/* Opens (creating if needed) the store at `path`: a file name for the VFS, or ":memory:". The
 * schema is created on a new database (with core blocks "persona" and "human", empty) and
 * migrated on an older one; a database of a newer schema, or one that is not a NeuronOS memory
 * database, is refused and left untouched. `params` NULL = defaults. On success *out is owned:
 * close it with neuronos_memory_close. On failure *out is NULL and `why` (may be NULL) gets the
 * reason. */
neuronos_status neuronos_memory_open(const char *path, const neuronos_memory_params *params,
                                     neuronos_memory **out, char *why, size_t why_size);
/* Closes the database. NULL is fine. */
void neuronos_memory_close(neuronos_memory *mem);
/* The message of the last failure; borrowed, valid until the next call on `mem`; never NULL. */
const char *neuronos_memory_last_error(const neuronos_memory *mem);

/* --- core memory. Labels are 1..64 bytes of [A-Za-z0-9_.-]. Blocks keep their order of
 * creation. A change that would exceed the block's limit is refused, nothing changes. */

/* Creates block `label` (empty) with `limit` characters (<= 0: the default), or changes the
 * limit of an existing block (refused if its text is already longer). Idempotent. */
neuronos_status neuronos_memory_core_define(neuronos_memory *mem, const char *label, int32_t limit);
/* Sets the text of block `label`, creating it with the default limit if needed. */
neuronos_status neuronos_memory_core_set(neuronos_memory *mem, const char *label, const char *text);
/* Appends `text` on a new line (no newline when the block is empty); creates the block if needed. */
neuronos_status neuronos_memory_core_append(neuronos_memory *mem, const char *label, const char *text);
/* Replaces `old_text` (non-empty; it must occur exactly once in the block) with `new_text`
 * (may be ""). Not found or found several times: INVALID_ARGUMENT, saying which. */
neuronos_status neuronos_memory_core_replace(neuronos_memory *mem, const char *label,
                                             const char *old_text, const char *new_text);
/* The text of block `label` (*text_out owned). Unknown label: INVALID_ARGUMENT. */
neuronos_status neuronos_memory_core_get(neuronos_memory *mem, const char *label, char **text_out);
/* All blocks in order: JSON [{"label","text","limit","chars"}] (owned). */
neuronos_status neuronos_memory_core_get_all(neuronos_memory *mem, char **json_out);
/* Deletes block `label` (the defaults too; neuronos_memory_clear brings them back). */
neuronos_status neuronos_memory_core_delete(neuronos_memory *mem, const char *label);

/* --- recall memory */

/* Stores one message. conversation_id: 1..256 bytes of UTF-8; role: 1..32 bytes of
 * [A-Za-z0-9_-] ("user", "assistant", "system", "tool", …); content may be "". *id_out (may be
 * NULL) gets the message's id (ids are never reused, until clear). */
neuronos_status neuronos_memory_recall_add(neuronos_memory *mem, const char *conversation_id,
                                           const char *role, const char *content, int64_t time_ms,
                                           int64_t *id_out);
/* Searches messages, best first: JSON [{"id","conversation_id","role","content","time","score"}].
 * conversation_id NULL = all conversations. limit <= 0: 10. */
neuronos_status neuronos_memory_recall_search(neuronos_memory *mem, const char *query,
                                              const char *conversation_id, int32_t limit,
                                              char **json_out);
/* The last `limit` messages of a conversation (<= 0: 20), oldest first (ready for a prompt). */
neuronos_status neuronos_memory_recall_recent(neuronos_memory *mem, const char *conversation_id,
                                              int32_t limit, char **json_out);
/* Conversations, most recently active first:
 * JSON [{"conversation_id","messages","first_time","last_time"}]. limit <= 0: 50. */
neuronos_status neuronos_memory_recall_conversations(neuronos_memory *mem, int32_t offset,
                                                     int32_t limit, char **json_out);
/* Deletes every message of a conversation; *n_deleted (may be NULL) how many (0 is not an error). */
neuronos_status neuronos_memory_recall_delete_conversation(neuronos_memory *mem,
                                                           const char *conversation_id,
                                                           int64_t *n_deleted);

/* --- archival memory */

/* Stores a fact. tags_json: a JSON array of strings (trimmed, 1..64 bytes each, at most 32,
 * duplicates dropped), or NULL / "" for none. *id_out may be NULL. */
neuronos_status neuronos_memory_archival_insert(neuronos_memory *mem, const char *text,
                                                const char *tags_json, int64_t time_ms,
                                                int64_t *id_out);
/* Searches text and tags, best first: JSON [{"id","text","tags","time","score","snippet"}].
 * limit <= 0: 10. */
neuronos_status neuronos_memory_archival_search(neuronos_memory *mem, const char *query,
                                                int32_t limit, char **json_out);

/* --- every tier */

/* A page of a tier: core blocks in order, recall messages and archival entries newest stored
 * first. JSON array (owned). offset < 0: 0; limit <= 0: 50. */
neuronos_status neuronos_memory_list(neuronos_memory *mem, neuronos_memory_tier tier,
                                     int32_t offset, int32_t limit, char **json_out);
/* Deletes recall message or archival entry `id` (core blocks: neuronos_memory_core_delete).
 * An id that does not exist: INVALID_ARGUMENT. */
neuronos_status neuronos_memory_delete(neuronos_memory *mem, neuronos_memory_tier tier, int64_t id);
/* Everything as one versioned document (owned):
 * {"format":"neuronos-memory","version":1,
 *  "core":[{"label","text","limit"}…],                                   (in order)
 *  "recall":[{"id","conversation_id","role","content","time"}…],         (by id)
 *  "archival":[{"id","text","tags","time"}…]}                            (by id)
 * Equal stores export equal strings. */
neuronos_status neuronos_memory_export(neuronos_memory *mem, char **json_out);
/* Imports an export document (all three arrays optional; in REPLACE mode a missing "core"
 * means the default blocks). Every element is checked as the store calls check it; one bad
 * element refuses the whole document (the message names it, e.g. "recall[3]: …") and nothing
 * changes. *report_out (may be NULL; owned) gets {"core","recall","archival","skipped"}:
 * counts imported, and duplicates skipped. */
neuronos_status neuronos_memory_import(neuronos_memory *mem, const char *json,
                                       neuronos_memory_import_mode mode, char **report_out);
/* Empties every tier; core goes back to the default blocks. Then compacts the file. */
neuronos_status neuronos_memory_clear(neuronos_memory *mem);
/* Counts: JSON {"schema_version","core_blocks","core_chars","recall_messages","conversations",
 * "archival_entries","bytes"} (owned; bytes = the database file's size). */
neuronos_status neuronos_memory_stats(neuronos_memory *mem, char **json_out);
/* Runs SQLite's integrity check and FTS5's (index against stored text). OK, or INTERNAL with
 * the first problem. For a health check after loading a file; reads the whole database. */
neuronos_status neuronos_memory_check(neuronos_memory *mem);

/* --- the seed's simple API (neuronos_wasm_memory_store / _search wrap these) */

/* tier CORE: key = label, value = text (core_set). RECALL: key = role, value = content, in
 * conversation "default", now. ARCHIVAL: key = tags (a JSON array, or comma-separated words, or
 * NULL/""), value = text, now. *id_out (may be NULL): the new id (0 for core). */
neuronos_status neuronos_memory_store(neuronos_memory *mem, neuronos_memory_tier tier,
                                      const char *key, const char *value, int64_t *id_out);
/* Searches recall and archival together, best first:
 * JSON [{"tier":"recall",<recall message>,"score"} | {"tier":"archival",<archival entry>,"score"}].
 * limit <= 0: 10. */
neuronos_status neuronos_memory_search(neuronos_memory *mem, const char *query, int32_t limit,
                                       char **json_out);

/* The FTS5 query a search runs for `input` (owned; "" when it has no words): each word quoted,
 * joined with OR; a repeated word (ASCII case ignored) counts once. For example
 * `say "hi" NEAR(x* -- 'y')` gives `"say" OR "hi" OR "NEAR" OR "x" OR "y"`. NULL gives "".
 * Fails only for lack of memory. */
neuronos_status neuronos_memory_fts_query(const char *input, char **out);

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
