/* agent.c — the ReAct loop: each step the model writes one grammar-constrained JSON object
 * (a tool call or the answer); calls are handed to the caller, their results come back as
 * observation messages, and the next step reuses the KV cache. Stepped like a generation, so the
 * single-thread worker stays responsive and page tools can run between steps. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "neuronos.h"
#include "sqlite3.h"
#include "strbuf.h"

#define OBSERVATION_MAX 8000 /* bytes of a tool result shown to the model */

struct neuronos_agent {
    neuronos_engine *eng;
    neuronos_toolset *tools;
    neuronos_memory *mem; /* borrowed, may be NULL */
    char err[1024];

    /* the turn */
    bool active, done, awaiting, need_begin;
    char **roles, **contents;
    size_t n_msgs, cap_msgs;
    char *template_override;
    neuronos_sampling_params sp;
    neuronos_agent_params ap;
    int32_t step, finish;
    char *pending_tool; /* the ACTION waiting for its observation */
    char *conversation_id;
    char *site_prompt;   /* the site's system prompt */
    char *core_snapshot; /* core memory when the turn began (stable for the turn's KV prefix) */
    size_t turn_start;   /* index in roles/contents of this turn's user message */
    size_t first_kept;   /* first history message still in the prompt (1 = none dropped) */
    strbuf dropped;      /* how the dropped user messages began */
    int32_t n_dropped;
    char notice[512];

    /* the step being generated */
    strbuf raw;
    size_t thought_sent, answer_sent; /* decoded bytes already handed out */
    strbuf thought, answer, event;    /* this call's pieces and event */
    neuronos_agent_result res;
};

static neuronos_status fail(neuronos_agent *ag, neuronos_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ag->err, sizeof ag->err, fmt, ap);
    va_end(ap);
    return st;
}

neuronos_agent_params neuronos_agent_default_params(void) {
    neuronos_agent_params p;
    p.max_steps = 8;
    p.limits.max_thought_chars = 1000;
    p.limits.max_answer_chars = 4000;
    p.limits.max_string_chars = 1000;
    p.limits.max_array_items = 16;
    return p;
}

neuronos_status neuronos_agent_init(neuronos_engine *eng, neuronos_agent **out) {
    if (!eng || !out) return NEURONOS_ERR_INVALID_ARGUMENT;
    neuronos_agent *ag = calloc(1, sizeof *ag);
    if (!ag || neuronos_toolset_init(&ag->tools) != NEURONOS_OK) {
        free(ag);
        return NEURONOS_ERR_OUT_OF_MEMORY;
    }
    ag->eng = eng;
    *out = ag;
    return NEURONOS_OK;
}

static void clear_msgs(neuronos_agent *ag) {
    for (size_t i = 0; i < ag->n_msgs; i++) {
        free(ag->roles[i]);
        free(ag->contents[i]);
    }
    ag->n_msgs = 0;
}

void neuronos_agent_end(neuronos_agent *ag) {
    if (!ag) return;
    if (ag->active) neuronos_gen_end(ag->eng);
    clear_msgs(ag);
    free(ag->template_override);
    ag->template_override = NULL;
    free(ag->conversation_id);
    ag->conversation_id = NULL;
    free(ag->site_prompt);
    ag->site_prompt = NULL;
    free(ag->core_snapshot);
    ag->core_snapshot = NULL;
    strbuf_clear(&ag->dropped);
    ag->n_dropped = 0;
    free(ag->pending_tool);
    ag->pending_tool = NULL;
    ag->active = ag->done = ag->awaiting = ag->need_begin = false;
    strbuf_clear(&ag->raw);
}

void neuronos_agent_free(neuronos_agent *ag) {
    if (!ag) return;
    neuronos_agent_end(ag);
    free(ag->roles);
    free(ag->contents);
    strbuf_free(&ag->raw);
    strbuf_free(&ag->dropped);
    strbuf_free(&ag->thought);
    strbuf_free(&ag->answer);
    strbuf_free(&ag->event);
    neuronos_toolset_free(ag->tools);
    free(ag);
}

const char *neuronos_agent_last_error(const neuronos_agent *ag) { return ag ? ag->err : ""; }
const char *neuronos_agent_notice(const neuronos_agent *ag) { return ag ? ag->notice : ""; }
neuronos_toolset *neuronos_agent_tools(neuronos_agent *ag) { return ag ? ag->tools : NULL; }

void neuronos_agent_set_memory(neuronos_agent *ag, neuronos_memory *mem) {
    if (ag) ag->mem = mem;
}

neuronos_status neuronos_agent_set_tools(neuronos_agent *ag, const char *tools_json) {
    if (!ag) return NEURONOS_ERR_INVALID_ARGUMENT;
    if (ag->active && !ag->done) return fail(ag, NEURONOS_ERR_BUSY, "an agent turn is running");
    return neuronos_toolset_set_json(ag->tools, tools_json, ag->err, sizeof ag->err);
}

static bool push_msg(neuronos_agent *ag, const char *role, const char *content) {
    if (ag->n_msgs == ag->cap_msgs) {
        size_t cap = ag->cap_msgs ? ag->cap_msgs * 2 : 16;
        char **r = realloc(ag->roles, cap * sizeof *r);
        if (!r) return false;
        ag->roles = r;
        char **c = realloc(ag->contents, cap * sizeof *c);
        if (!c) return false;
        ag->contents = c;
        ag->cap_msgs = cap;
    }
    char *rr = strdup(role), *cc = strdup(content ? content : "");
    if (!rr || !cc) {
        free(rr);
        free(cc);
        return false;
    }
    ag->roles[ag->n_msgs] = rr;
    ag->contents[ag->n_msgs] = cc;
    ag->n_msgs++;
    return true;
}

/* The system message: site prompt, step format and tools (agent mode), core memory, and the
 * line about dropped turns. Owned; NULL when out of memory; "" when there is nothing to say. */
static char *system_text(neuronos_agent *ag, const char *system_prompt, const char *core_json, bool plain) {
    strbuf b = {0};
    if (system_prompt && system_prompt[0]) strbuf_printf(&b, "%s\n\n", system_prompt);
    const int n = neuronos_toolset_count(ag->tools);
    if (plain) {
        /* no format to explain */
    } else if (n > 0) {
        strbuf_puts(&b,
                    "You can use tools. Reply to every message with exactly one JSON object and nothing else, in one "
                    "of two forms:\n"
                    "{\"thought\": \"<your reasoning>\", \"action\": \"<tool name>\", \"args\": {<the tool's arguments>}}\n"
                    "{\"thought\": \"<your reasoning>\", \"answer\": \"<your reply to the user>\"}\n"
                    "After a tool call, the next message is its result, \"Observation: {\\\"tool\\\": …, \\\"result\\\": …}\" "
                    "(or \"error\" instead of \"result\"). Use it, call another tool if needed, then answer.\n"
                    "Tools:\n");
        char *desc = neuronos_toolset_describe(ag->tools);
        if (desc) strbuf_puts(&b, desc);
        free(desc);
    } else {
        strbuf_puts(&b,
                    "Reply to every message with exactly one JSON object and nothing else: "
                    "{\"thought\": \"<your reasoning>\", \"answer\": \"<your reply to the user>\"}\n");
    }
    if (core_json && strcmp(core_json, "[]") != 0) {
        /* [{"label","text",…}] → "[label]\ntext" lines */
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(neuronos_json_db(), "SELECT json_extract(value,'$.label'), json_extract(value,'$.text') FROM json_each(?1)", -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_text(st, 1, core_json, -1, SQLITE_STATIC);
            bool any = false;
            while (sqlite3_step(st) == SQLITE_ROW) {
                if (!any) strbuf_puts(&b, b.len ? "\nCore memory (what you know about the user and yourself; always shown):\n"
                                                : "Core memory (what you know about the user and yourself; always shown):\n");
                any = true;
                const char *t = (const char *)sqlite3_column_text(st, 1);
                strbuf_printf(&b, "[%s]\n%s\n", (const char *)sqlite3_column_text(st, 0), t && t[0] ? t : "(empty)");
            }
            sqlite3_finalize(st);
        }
    }
    if (ag->n_dropped > 0) {
        strbuf_printf(&b, "\n%d earlier message%s of this conversation no longer fit in your prompt%s; they began: %s\n",
                      (int)ag->n_dropped, ag->n_dropped == 1 ? "" : "s",
                      neuronos_toolset_has(ag->tools, "conversation_search") ? " (conversation_search finds them)" : "",
                      ag->dropped.s ? ag->dropped.s : "");
    }
    if (b.oom) {
        strbuf_free(&b);
        return NULL;
    }
    /* trailing blank lines would only cost tokens */
    while (b.len > 0 && b.s[b.len - 1] == '\n') b.s[--b.len] = 0;
    return strbuf_take(&b);
}

char *neuronos_agent_system_text(neuronos_agent *ag, const char *system_prompt) {
    return system_text(ag, system_prompt, ag->core_snapshot, ag->ap.plain);
}

/* Notes how a dropped user message began (the running summary line keeps the last few). */
static void note_dropped(neuronos_agent *ag, const char *role, const char *content) {
    ag->n_dropped++;
    if (strcmp(role, "user") != 0) return;
    char snip[80];
    size_t n = strlen(content);
    size_t take = n > 60 ? neuronos_utf8_complete_prefix(content, 60) : n;
    snprintf(snip, sizeof snip, "\"%.*s%s\"", (int)take, content, take < n ? "…" : "");
    for (char *c = snip; *c; c++)
        if (*c == '\n' || *c == '\r') *c = ' ';
    if (ag->dropped.len) strbuf_puts(&ag->dropped, " | ");
    strbuf_puts(&ag->dropped, snip);
    /* keep the summary short: the last ~400 bytes */
    if (ag->dropped.len > 400) {
        const char *cut = strstr(ag->dropped.s + ag->dropped.len - 400, " | ");
        if (cut) strbuf_consume(&ag->dropped, (size_t)(cut + 3 - ag->dropped.s));
    }
}

/* The messages of this step's prompt: system (rebuilt) + the kept history + this turn. */
static neuronos_status build_prompt(neuronos_agent *ag, neuronos_chat_message **out, size_t *n_out, char **sys_out) {
    *sys_out = system_text(ag, ag->site_prompt, ag->core_snapshot, ag->ap.plain);
    if (!*sys_out) return NEURONOS_ERR_OUT_OF_MEMORY;
    neuronos_chat_message *msgs = malloc((ag->n_msgs + 1) * sizeof *msgs);
    if (!msgs) return NEURONOS_ERR_OUT_OF_MEMORY;
    size_t n = 0;
    if ((*sys_out)[0]) msgs[n++] = (neuronos_chat_message){"system", *sys_out};
    for (size_t i = ag->first_kept; i < ag->n_msgs; i++) msgs[n++] = (neuronos_chat_message){ag->roles[i], ag->contents[i]};
    *out = msgs;
    *n_out = n;
    return NEURONOS_OK;
}

/* Tokens of the prompt these messages make. */
static neuronos_status count_tokens(neuronos_agent *ag, const neuronos_chat_message *msgs, size_t n, int32_t *count) {
    char *text = NULL;
    neuronos_status st = neuronos_engine_apply_template(ag->eng, ag->template_override, msgs, n, true, &text);
    if (st != NEURONOS_OK) return st;
    int32_t *toks = NULL;
    st = neuronos_engine_tokenize(ag->eng, text, false, &toks, count);
    free(text);
    free(toks);
    return st;
}

/* Makes the prompt fit: drops the oldest history (kept in recall memory), then cuts this turn's
 * user message. */
static neuronos_status fit_context(neuronos_agent *ag) {
    const int32_t n_ctx = neuronos_engine_n_ctx(ag->eng);
    int32_t reserve = ag->ap.reserve_tokens > 0 ? ag->ap.reserve_tokens : (ag->sp.n_predict < n_ctx / 2 ? ag->sp.n_predict : n_ctx / 2);
    if (reserve < 1) reserve = 1;
    for (int guard = 0; guard < 10000; guard++) {
        neuronos_chat_message *msgs;
        size_t n;
        char *sys;
        neuronos_status st = build_prompt(ag, &msgs, &n, &sys);
        int32_t count = 0;
        if (st == NEURONOS_OK) st = count_tokens(ag, msgs, n, &count);
        free(msgs);
        free(sys);
        if (st != NEURONOS_OK) return fail(ag, st, "%s", neuronos_engine_last_error(ag->eng));
        if (count + reserve <= n_ctx) return NEURONOS_OK;
        if (ag->first_kept < ag->turn_start) {
            /* drop the oldest message; never leave an assistant message first */
            note_dropped(ag, ag->roles[ag->first_kept], ag->contents[ag->first_kept]);
            ag->first_kept++;
            while (ag->first_kept < ag->turn_start && strcmp(ag->roles[ag->first_kept], "user") != 0) {
                note_dropped(ag, ag->roles[ag->first_kept], ag->contents[ag->first_kept]);
                ag->first_kept++;
            }
            snprintf(ag->notice, sizeof ag->notice,
                     "%d earlier message%s left the model's context (still in memory, searchable)", (int)ag->n_dropped,
                     ag->n_dropped == 1 ? "" : "s");
            continue;
        }
        /* only this turn is left: cut the user's message (steps of this turn are never cut) */
        char *u = ag->contents[ag->turn_start];
        size_t len = strlen(u);
        const size_t excess_bytes = (size_t)(count + reserve - n_ctx) * 4 + 32;
        static const char MARK[] = " […cut: too long for the context]";
        if (ag->n_msgs > ag->turn_start + 1 || len <= sizeof MARK + 16) {
            return fail(ag, NEURONOS_ERR_CONTEXT_FULL,
                        "the conversation does not fit in the context (%d tokens, %d kept free for the reply); raise "
                        "the context size",
                        (int)count, (int)reserve);
        }
        size_t keep = len > excess_bytes + sizeof MARK ? len - excess_bytes - sizeof MARK : 16;
        keep = neuronos_utf8_complete_prefix(u, keep);
        char *cut = malloc(keep + sizeof MARK);
        if (!cut) return fail(ag, NEURONOS_ERR_OUT_OF_MEMORY, "out of memory");
        memcpy(cut, u, keep);
        memcpy(cut + keep, MARK, sizeof MARK);
        free(u);
        ag->contents[ag->turn_start] = cut;
        snprintf(ag->notice, sizeof ag->notice, "your message was too long for the model's context and was cut to %zu of %zu bytes",
                 keep, len);
    }
    return fail(ag, NEURONOS_ERR_CONTEXT_FULL, "the conversation does not fit in the context");
}

/* Starts the generation of the current step over the conversation so far. */
static neuronos_status begin_step(neuronos_agent *ag) {
    neuronos_status st = fit_context(ag);
    if (st != NEURONOS_OK) return st;
    neuronos_chat_message *msgs;
    size_t n;
    char *sys;
    st = build_prompt(ag, &msgs, &n, &sys);
    if (st != NEURONOS_OK) return fail(ag, st, "out of memory");
    char *g = ag->ap.plain ? NULL : neuronos_toolset_grammar(ag->tools, &ag->ap.limits);
    st = ag->ap.plain ? NEURONOS_OK : g ? neuronos_engine_set_grammar(ag->eng, g) : NEURONOS_ERR_OUT_OF_MEMORY;
    free(g);
    if (st == NEURONOS_OK) st = neuronos_chat_begin(ag->eng, msgs, n, ag->template_override, &ag->sp);
    neuronos_engine_set_grammar(ag->eng, NULL); /* only agent steps are constrained */
    free(msgs);
    free(sys);
    if (st != NEURONOS_OK) return fail(ag, st, "%s", neuronos_engine_last_error(ag->eng));
    strbuf_clear(&ag->raw);
    ag->thought_sent = ag->answer_sent = 0;
    ag->need_begin = false;
    return NEURONOS_OK;
}

/* Adds a message to recall memory (when a store is attached). A failure is not the turn's: it
 * becomes the notice. */
static void remember(neuronos_agent *ag, const char *role, const char *content) {
    if (!ag->mem || !content) return;
    if (neuronos_memory_recall_add(ag->mem, ag->conversation_id ? ag->conversation_id : "default", role, content, 0, NULL) != NEURONOS_OK)
        snprintf(ag->notice, sizeof ag->notice, "could not save the message in memory: %s", neuronos_memory_last_error(ag->mem));
}

neuronos_status neuronos_agent_begin(neuronos_agent *ag, const neuronos_chat_message *msgs, size_t n_msgs,
                                     const char *system_prompt, const char *template_override,
                                     const neuronos_sampling_params *sp, const neuronos_agent_params *ap) {
    if (!ag) return NEURONOS_ERR_INVALID_ARGUMENT;
    neuronos_agent_end(ag);
    if (!msgs || n_msgs == 0) return fail(ag, NEURONOS_ERR_INVALID_ARGUMENT, "no messages");
    if (strcmp(msgs[n_msgs - 1].role, "user") != 0)
        return fail(ag, NEURONOS_ERR_INVALID_ARGUMENT, "the last message must be the user's");
    ag->ap = ap ? *ap : neuronos_agent_default_params();
    if (ag->ap.max_steps < 1 || ag->ap.max_steps > 64)
        return fail(ag, NEURONOS_ERR_INVALID_ARGUMENT, "max_steps must be 1-64");
    const neuronos_agent_limits *l = &ag->ap.limits;
    if (l->max_thought_chars < 1 || l->max_thought_chars > 8000 || l->max_answer_chars < 1 ||
        l->max_answer_chars > 32000 || l->max_string_chars < 1 || l->max_string_chars > 32000 ||
        l->max_array_items < 1 || l->max_array_items > 256)
        return fail(ag, NEURONOS_ERR_INVALID_ARGUMENT, "agent limits out of range");
    ag->sp = sp ? *sp : neuronos_sampling_default_params();
    if (ag->ap.plain && neuronos_toolset_count(ag->tools) > 0)
        return fail(ag, NEURONOS_ERR_INVALID_ARGUMENT, "a plain turn has no tools");
    bool ok = true;
    for (size_t i = 0; ok && i < n_msgs; i++) {
        if (strcmp(msgs[i].role, "system") == 0) continue; /* the agent writes the system message */
        ok = push_msg(ag, msgs[i].role, msgs[i].content);
    }
    ag->ap.conversation_id = NULL; /* borrowed by the caller; our copy is ag->conversation_id */
    ok = ok && (ag->conversation_id = strdup(ap && ap->conversation_id && ap->conversation_id[0] ? ap->conversation_id : "default")) != NULL;
    ok = ok && (ag->site_prompt = strdup(system_prompt ? system_prompt : "")) != NULL;
    if (ok && template_override && template_override[0]) ok = (ag->template_override = strdup(template_override)) != NULL;
    if (ok && ag->mem) {
        if (neuronos_memory_core_get_all(ag->mem, &ag->core_snapshot) != NEURONOS_OK) ag->core_snapshot = NULL;
    }
    if (!ok) {
        neuronos_agent_end(ag);
        return fail(ag, NEURONOS_ERR_OUT_OF_MEMORY, "out of memory");
    }
    ag->turn_start = ag->n_msgs - 1;
    ag->first_kept = 0;
    ag->notice[0] = 0;
    ag->step = 0;
    ag->finish = NEURONOS_AGENT_FINISH_NONE;
    ag->active = true;
    neuronos_status st = begin_step(ag);
    /* the user's message goes to recall memory once the turn has started (as it was sent) */
    if (st == NEURONOS_OK) remember(ag, "user", msgs[n_msgs - 1].content);
    if (st != NEURONOS_OK) {
        char keep[sizeof ag->err];
        memcpy(keep, ag->err, sizeof keep);
        neuronos_agent_end(ag);
        memcpy(ag->err, keep, sizeof keep);
    }
    return st;
}

/* ------------------------------------------------------------- streaming decode ------ */

static void put_utf8(strbuf *b, unsigned cp) {
    char o[4];
    if (cp < 0x80) {
        o[0] = (char)cp;
        strbuf_put(b, o, 1);
    } else if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        strbuf_put(b, o, 2);
    } else if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        strbuf_put(b, o, 3);
    } else {
        o[0] = (char)(0xF0 | (cp >> 18));
        o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[3] = (char)(0x80 | (cp & 0x3F));
        strbuf_put(b, o, 4);
    }
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes the JSON string body at s[0..n) into `out`, stopping at the closing quote or before an
 * escape that is not complete yet. Returns the bytes consumed; *closed when the quote was seen. */
static size_t decode_str(const char *s, size_t n, strbuf *out, bool *closed) {
    size_t i = 0;
    *closed = false;
    while (i < n) {
        char c = s[i];
        if (c == '"') {
            *closed = true;
            return i + 1;
        }
        if (c != '\\') {
            strbuf_putc(out, c);
            i++;
            continue;
        }
        if (i + 1 >= n) break;
        char e = s[i + 1];
        if (e == 'u') {
            if (i + 6 > n) break;
            unsigned cp = 0;
            for (int k = 2; k < 6; k++) {
                int h = hexval(s[i + k]);
                cp = cp * 16 + (unsigned)(h < 0 ? 0 : h);
            }
            size_t used = 6;
            if (cp >= 0xD800 && cp < 0xDC00) {
                if (i + 12 > n) break; /* wait for the low half */
                unsigned lo = 0;
                bool ok = s[i + 6] == '\\' && s[i + 7] == 'u';
                for (int k = 8; ok && k < 12; k++) {
                    int h = hexval(s[i + k]);
                    ok = h >= 0;
                    lo = lo * 16 + (unsigned)(h < 0 ? 0 : h);
                }
                if (ok && lo >= 0xDC00 && lo < 0xE000) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    used = 12;
                } else {
                    cp = 0xFFFD;
                }
            } else if (cp >= 0xDC00 && cp < 0xE000) {
                cp = 0xFFFD;
            }
            put_utf8(out, cp);
            i += used;
            continue;
        }
        switch (e) {
        case 'n': strbuf_putc(out, '\n'); break;
        case 't': strbuf_putc(out, '\t'); break;
        case 'r': strbuf_putc(out, '\r'); break;
        case 'b': strbuf_putc(out, '\b'); break;
        case 'f': strbuf_putc(out, '\f'); break;
        default: strbuf_putc(out, e); /* " \ / */
        }
        i += 2;
    }
    return i;
}

static const char THOUGHT_HEAD[] = "{\"thought\": \"";
static const char ANSWER_HEAD[] = ", \"answer\": \"";

/* Decodes the thought and the answer streamed so far (the grammar fixes the layout) and appends
 * what was not handed out yet to ag->thought / ag->answer. *answer_started when the answer's
 * string has begun. */
static void stream_fields(neuronos_agent *ag, bool *answer_started) {
    *answer_started = false;
    const char *s = ag->raw.s ? ag->raw.s : "";
    size_t n = ag->raw.len;
    const size_t th = sizeof THOUGHT_HEAD - 1;
    if (n < th || memcmp(s, THOUGHT_HEAD, th) != 0) return;
    strbuf dec = {0};
    bool closed;
    size_t used = decode_str(s + th, n - th, &dec, &closed);
    size_t ok = neuronos_utf8_complete_prefix(dec.s ? dec.s : "", dec.len);
    if (closed) ok = dec.len;
    if (ok > ag->thought_sent) {
        strbuf_put(&ag->thought, dec.s + ag->thought_sent, ok - ag->thought_sent);
        ag->thought_sent = ok;
    }
    strbuf_free(&dec);
    if (!closed) return;
    size_t pos = th + used;
    const size_t ah = sizeof ANSWER_HEAD - 1;
    if (n - pos < ah || memcmp(s + pos, ANSWER_HEAD, ah) != 0) return;
    *answer_started = true;
    pos += ah;
    used = decode_str(s + pos, n - pos, &dec, &closed);
    ok = closed ? dec.len : neuronos_utf8_complete_prefix(dec.s ? dec.s : "", dec.len);
    if (ok > ag->answer_sent) {
        strbuf_put(&ag->answer, dec.s + ag->answer_sent, ok - ag->answer_sent);
        ag->answer_sent = ok;
    }
    strbuf_free(&dec);
}

/* --------------------------------------------------------------------- the steps ------ */

static sqlite3_stmt *prep(const char *sql) {
    sqlite3 *db = neuronos_json_db();
    sqlite3_stmt *st = NULL;
    if (!db || sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return NULL;
    return st;
}

/* The event JSON into ag->event (json_object keeps the key order). */
static void set_event(neuronos_agent *ag, const char *kind, const char *thought, const char *tool, const char *args,
                      const char *error, const char *answer, const char *assistant) {
    strbuf_clear(&ag->event);
    /* optional members only when present: json_patch drops the null ones */
    sqlite3_stmt *st = prep("SELECT json_patch(json_object('step', ?1, 'kind', ?2, 'thought', ?3), "
              "json_object('tool', ?4, 'args', json(?5), 'error', ?6, 'answer', ?7, 'assistant', ?8))");
    if (!st) return;
    sqlite3_bind_int(st, 1, ag->step);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, thought ? thought : "", -1, SQLITE_STATIC);
    const char *opt[5] = {tool, args, error, answer, assistant};
    for (int i = 0; i < 5; i++) {
        if (opt[i]) sqlite3_bind_text(st, 4 + i, opt[i], -1, SQLITE_STATIC);
        else sqlite3_bind_null(st, 4 + i);
    }
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) strbuf_puts(&ag->event, (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
}

static void end_turn(neuronos_agent *ag, int32_t finish) {
    neuronos_gen_end(ag->eng);
    ag->done = true;
    ag->finish = finish;
}

/* Ends the turn at the step limit with an honest answer (the event belongs to the last step). */
static void finish_step_limit(neuronos_agent *ag) {
    char msg[160];
    snprintf(msg, sizeof msg, "I stopped after %d steps without reaching an answer.", (int)ag->ap.max_steps);
    strbuf kept = {0};
    strbuf_puts(&kept, "{\"thought\": \"The step limit was reached.\", \"answer\": ");
    strbuf_json_str(&kept, msg);
    strbuf_puts(&kept, "}");
    ag->step--;
    set_event(ag, "answer", "The step limit was reached.", NULL, NULL, "step limit", msg, kept.s);
    ag->step++;
    strbuf_free(&kept);
    end_turn(ag, NEURONOS_AGENT_FINISH_STEP_LIMIT);
}

/* A step that was not a valid call: the model is told and the loop goes on (or stops at the
 * limit). */
static neuronos_status step_invalid(neuronos_agent *ag, const char *thought, const char *why) {
    neuronos_gen_end(ag->eng);
    set_event(ag, "invalid", thought, NULL, NULL, why, NULL, NULL);
    strbuf obs = {0};
    sqlite3_stmt *st = prep("SELECT 'Observation: ' || json_object('error', ?1)");
    if (st) {
        sqlite3_bind_text(st, 1, why, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) strbuf_puts(&obs, (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
    }
    bool ok = !obs.oom && obs.s && push_msg(ag, "assistant", ag->raw.s ? ag->raw.s : "") && push_msg(ag, "user", obs.s);
    strbuf_free(&obs);
    if (!ok) return fail(ag, NEURONOS_ERR_OUT_OF_MEMORY, "out of memory");
    ag->step++;
    ag->need_begin = true; /* the next step call begins the next step, or ends at the limit */
    ag->res.state = NEURONOS_AGENT_EVENT;
    return NEURONOS_OK;
}


/* The finished output of a step: an answer, a call, or something invalid. */
static neuronos_status step_finished(neuronos_agent *ag, int32_t gen_finish, bool answer_started) {
    sqlite3_stmt *st = prep(
        "SELECT json_valid(?1) AND json_type(j) = 'object', json_extract(j,'$.thought'), json_type(j,'$.answer'), "
        "json_extract(j,'$.answer'), json_type(j,'$.action'), json_extract(j,'$.action'), json_type(j,'$.args'), "
        "json(json_extract(j,'$.args')) FROM (SELECT CASE WHEN json_valid(?1) THEN ?1 ELSE '{}' END AS j)");
    if (!st) return fail(ag, NEURONOS_ERR_INTERNAL, "JSON parser unavailable");
    sqlite3_bind_text(st, 1, ag->raw.s ? ag->raw.s : "", -1, SQLITE_STATIC);
    neuronos_status rc = NEURONOS_OK;
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return fail(ag, NEURONOS_ERR_INTERNAL, "JSON parser failed");
    }
    const bool valid = sqlite3_column_int(st, 0) != 0;
    char *thought = strdup(sqlite3_column_text(st, 1) ? (const char *)sqlite3_column_text(st, 1) : "");
    const char *at = (const char *)sqlite3_column_text(st, 2);
    char *answer = at && !strcmp(at, "text") ? strdup((const char *)sqlite3_column_text(st, 3)) : NULL;
    const char *ct = (const char *)sqlite3_column_text(st, 4);
    char *tool = ct && !strcmp(ct, "text") ? strdup((const char *)sqlite3_column_text(st, 5)) : NULL;
    const char *gt = (const char *)sqlite3_column_text(st, 6);
    char *args = gt && !strcmp(gt, "object") ? strdup((const char *)sqlite3_column_text(st, 7)) : NULL;
    sqlite3_finalize(st);
    if (!thought) {
        rc = fail(ag, NEURONOS_ERR_OUT_OF_MEMORY, "out of memory");
    } else if (valid && answer) {
        set_event(ag, "answer", thought, NULL, NULL, NULL, answer, ag->raw.s);
        remember(ag, "assistant", answer);
        end_turn(ag, NEURONOS_AGENT_FINISH_ANSWER);
        ag->res.state = NEURONOS_AGENT_DONE;
    } else if (!valid && answer_started && gen_finish == NEURONOS_FINISH_LENGTH) {
        /* the answer was cut off by the token limit: keep what was said, honestly marked */
        strbuf a = {0};
        bool closed;
        /* the decoded answer so far is what was streamed: rebuild it from the raw text */
        const char *p = strstr(ag->raw.s, ANSWER_HEAD);
        if (p) decode_str(p + sizeof ANSWER_HEAD - 1, strlen(p + sizeof ANSWER_HEAD - 1), &a, &closed);
        strbuf kept = {0};
        strbuf_puts(&kept, "{\"thought\": ");
        strbuf_json_str(&kept, thought[0] ? thought : "");
        strbuf_puts(&kept, ", \"answer\": ");
        strbuf_json_str(&kept, a.s ? a.s : "");
        strbuf_puts(&kept, "}");
        set_event(ag, "answer", thought, NULL, NULL, "the reply was cut off at the token limit", a.s ? a.s : "", kept.s);
        remember(ag, "assistant", a.s ? a.s : "");
        strbuf_free(&a);
        strbuf_free(&kept);
        end_turn(ag, NEURONOS_AGENT_FINISH_LENGTH);
        ag->res.state = NEURONOS_AGENT_DONE;
    } else if (valid && tool && args) {
        char why[512];
        if (!neuronos_toolset_has(ag->tools, tool)) {
            snprintf(why, sizeof why, "there is no tool named %.100s (available tools are listed in the system message)", tool);
            rc = step_invalid(ag, thought, why);
        } else if (neuronos_toolset_check_args(ag->tools, tool, args, why, sizeof why) != NEURONOS_OK) {
            rc = step_invalid(ag, thought, why);
        } else {
            neuronos_gen_end(ag->eng);
            set_event(ag, "action", thought, tool, args, NULL, NULL, NULL);
            free(ag->pending_tool);
            ag->pending_tool = tool;
            tool = NULL;
            ag->awaiting = true;
            ag->res.state = NEURONOS_AGENT_ACTION;
        }
    } else {
        const char *why = gen_finish == NEURONOS_FINISH_LENGTH
                              ? "your reply was cut off at the token limit before the JSON object was complete"
                              : "your reply was not one JSON object with \"thought\" and \"action\"+\"args\" or \"answer\"";
        rc = step_invalid(ag, thought, why);
    }
    free(thought);
    free(answer);
    free(tool);
    free(args);
    return rc;
}

neuronos_status neuronos_agent_step(neuronos_agent *ag, int32_t max_tokens, const neuronos_agent_result **out) {
    if (!ag || !out) return NEURONOS_ERR_INVALID_ARGUMENT;
    neuronos_agent_result *r = &ag->res;
    *out = r;
    strbuf_clear(&ag->thought);
    strbuf_clear(&ag->answer);
    r->n_tokens = 0;
    r->thought = r->answer = r->event = "";
    r->thought_len = r->answer_len = r->event_len = 0;
    if (!ag->active) return fail(ag, NEURONOS_ERR_INVALID_ARGUMENT, "no agent turn in progress");
    if (ag->done) {
        r->state = NEURONOS_AGENT_DONE;
        r->finish = ag->finish;
        r->event = ag->event.s ? ag->event.s : "";
        r->event_len = (int32_t)ag->event.len;
        return NEURONOS_OK;
    }
    if (ag->awaiting) return fail(ag, NEURONOS_ERR_INVALID_ARGUMENT, "the tool call waits for neuronos_agent_observe");
    strbuf_clear(&ag->event);
    if (ag->need_begin && ag->step >= ag->ap.max_steps) {
        finish_step_limit(ag);
        r->state = NEURONOS_AGENT_DONE;
        r->finish = ag->finish;
        r->event = ag->event.s ? ag->event.s : "";
        r->event_len = (int32_t)ag->event.len;
        return NEURONOS_OK;
    }
    if (ag->need_begin) {
        if (*neuronos_engine_abort_flag(ag->eng)) {
            end_turn(ag, NEURONOS_AGENT_FINISH_ABORTED);
            r->state = NEURONOS_AGENT_DONE;
            r->finish = ag->finish;
            return NEURONOS_OK;
        }
        neuronos_status st = begin_step(ag);
        if (st != NEURONOS_OK) {
            if (st == NEURONOS_ERR_CONTEXT_FULL) {
                end_turn(ag, NEURONOS_AGENT_FINISH_CONTEXT_FULL);
                r->state = NEURONOS_AGENT_DONE;
                r->finish = ag->finish;
                return NEURONOS_OK;
            }
            return st;
        }
    }
    const neuronos_step_result *g;
    neuronos_status st = neuronos_gen_step(ag->eng, max_tokens, &g);
    if (st != NEURONOS_OK) return fail(ag, st, "%s", neuronos_engine_last_error(ag->eng));
    r->step = ag->step;
    r->n_tokens = g->n_tokens;
    r->n_prompt = g->n_prompt;
    r->n_past = g->n_past;
    r->n_reused = g->n_reused;
    r->n_generated = g->n_generated;
    if (g->piece_len > 0) strbuf_put(&ag->raw, g->piece, (size_t)g->piece_len);
    bool answer_started = false;
    if (ag->ap.plain) {
        if (g->piece_len > 0) strbuf_put(&ag->answer, g->piece, (size_t)g->piece_len);
    } else {
        stream_fields(ag, &answer_started);
    }
    if (g->state != NEURONOS_GEN_DONE) {
        r->state = g->state == NEURONOS_GEN_PROMPT ? NEURONOS_AGENT_PROMPT : NEURONOS_AGENT_TOKEN;
    } else if (g->finish == NEURONOS_FINISH_ABORTED) {
        end_turn(ag, NEURONOS_AGENT_FINISH_ABORTED);
        r->state = NEURONOS_AGENT_DONE;
    } else if (g->finish == NEURONOS_FINISH_CONTEXT_FULL) {
        end_turn(ag, NEURONOS_AGENT_FINISH_CONTEXT_FULL);
        r->state = NEURONOS_AGENT_DONE;
    } else if (ag->ap.plain) {
        /* a plain turn: the reply is the answer */
        const char *text = ag->raw.s ? ag->raw.s : "";
        set_event(ag, "answer", "", NULL, NULL, g->finish == NEURONOS_FINISH_LENGTH ? "the reply was cut off at the token limit" : NULL,
                  text, text);
        remember(ag, "assistant", text);
        end_turn(ag, g->finish == NEURONOS_FINISH_LENGTH ? NEURONOS_AGENT_FINISH_LENGTH : NEURONOS_AGENT_FINISH_ANSWER);
        r->state = NEURONOS_AGENT_DONE;
    } else {
        st = step_finished(ag, g->finish, answer_started);
        if (st != NEURONOS_OK) return st;
    }
    if (ag->thought.oom || ag->answer.oom || ag->event.oom || ag->raw.oom)
        return fail(ag, NEURONOS_ERR_OUT_OF_MEMORY, "out of memory");
    r->finish = ag->done ? ag->finish : NEURONOS_AGENT_FINISH_NONE;
    r->thought = ag->thought.s ? ag->thought.s : "";
    r->thought_len = (int32_t)ag->thought.len;
    r->answer = ag->answer.s ? ag->answer.s : "";
    r->answer_len = (int32_t)ag->answer.len;
    r->event = ag->event.s ? ag->event.s : "";
    r->event_len = (int32_t)ag->event.len;
    return NEURONOS_OK;
}

neuronos_status neuronos_agent_observe(neuronos_agent *ag, const char *result_json, const char *error) {
    if (!ag) return NEURONOS_ERR_INVALID_ARGUMENT;
    if (!ag->active || !ag->awaiting) return fail(ag, NEURONOS_ERR_INVALID_ARGUMENT, "no tool call is waiting for a result");
    if ((result_json == NULL) == (error == NULL))
        return fail(ag, NEURONOS_ERR_INVALID_ARGUMENT, "give either a result or an error");
    /* Observation: {"tool": name, "result": <JSON, or the text as a string>} / {"tool", "error"} */
    sqlite3_stmt *st;
    if (error) {
        st = prep("SELECT 'Observation: ' || json_object('tool', ?1, 'error', substr(?2, 1, 2000))");
    } else {
        st = prep("SELECT 'Observation: ' || CASE "
                  " WHEN length(CAST(?2 AS BLOB)) > ?3 THEN json_object('tool', ?1, 'result', "
                  "   substr(?2, 1, ?3) || '… (cut: the result was ' || length(CAST(?2 AS BLOB)) || ' bytes)') "
                  " WHEN json_valid(?2) THEN json_object('tool', ?1, 'result', json(?2)) "
                  " ELSE json_object('tool', ?1, 'result', ?2) END");
    }
    if (!st) return fail(ag, NEURONOS_ERR_INTERNAL, "JSON parser unavailable");
    sqlite3_bind_text(st, 1, ag->pending_tool ? ag->pending_tool : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, error ? error : result_json, -1, SQLITE_STATIC);
    if (!error) sqlite3_bind_int(st, 3, OBSERVATION_MAX);
    bool ok = false;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        ok = push_msg(ag, "assistant", ag->raw.s ? ag->raw.s : "") && push_msg(ag, "user", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if (!ok) return fail(ag, NEURONOS_ERR_OUT_OF_MEMORY, "out of memory");
    ag->awaiting = false;
    free(ag->pending_tool);
    ag->pending_tool = NULL;
    ag->step++;
    strbuf_clear(&ag->event);
    if (*neuronos_engine_abort_flag(ag->eng)) {
        end_turn(ag, NEURONOS_AGENT_FINISH_ABORTED);
    } else if (ag->step >= ag->ap.max_steps) {
        finish_step_limit(ag);
    } else {
        ag->need_begin = true;
    }
    return NEURONOS_OK;
}
