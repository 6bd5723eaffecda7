/* Tests of the tool registry (schemas, grammar, argument checks) and the agent loop: the grammar
 * on a random-weight model (every step parses and names a registered tool with valid
 * arguments), the exact trace of the context-scripted fixture, tool errors, step limit, abort. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "json.h"
#include "neuronos.h"
#include "sqlite3.h"
#include "strbuf.h"

static const char *PAGE_TOOL =
    "{\"name\":\"lookup_order\",\"description\":\"Looks an order up.\",\"parameters\":{\"type\":\"object\","
    "\"properties\":{\"order_id\":{\"type\":\"string\"},\"detail\":{\"type\":\"string\",\"enum\":[\"short\",\"full\"]},"
    "\"count\":{\"type\":\"integer\"},\"weight\":{\"type\":\"number\"},\"gift\":{\"type\":\"boolean\"},"
    "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}},\"required\":[\"order_id\"]}}";

static void test_toolset_schemas(void) {
    g_test = "toolset_schemas";
    neuronos_toolset *ts;
    char why[512];
    CHECK(neuronos_toolset_init(&ts) == NEURONOS_OK, "init");
    /* all ten built-ins load */
    const char *names[] = {"calculator", "get_time", "core_memory_append", "core_memory_replace", "archival_memory_insert",
                           "archival_memory_search", "conversation_search", "file_list", "file_read", "file_write"};
    for (int i = 0; i < 10; i++) CHECK(neuronos_toolset_add_builtin(ts, names[i], why, sizeof why) == NEURONOS_OK, "%s: %s", names[i], why);
    CHECK(neuronos_toolset_count(ts) == 10, "ten");
    CHECK(neuronos_toolset_is_builtin(ts, "calculator"), "builtin flag");
    CHECK(neuronos_toolset_add_builtin(ts, "rm_rf", why, sizeof why) == NEURONOS_ERR_INVALID_ARGUMENT && strstr(why, "no built-in"), "%s", why);
    CHECK(neuronos_toolset_add(ts, PAGE_TOOL, why, sizeof why) == NEURONOS_OK, "page tool: %s", why);
    CHECK(!neuronos_toolset_is_builtin(ts, "lookup_order"), "page tool is not builtin");
    CHECK(neuronos_toolset_add(ts, PAGE_TOOL, why, sizeof why) == NEURONOS_ERR_INVALID_ARGUMENT && strstr(why, "already"), "dup: %s", why);

    /* refused specs, each with the words its message must contain */
    static const struct { const char *spec, *expect; } bad[] = {
        {"not json", "JSON"},
        {"[]", "JSON object"},
        {"{\"description\":\"x\"}", "name"},
        {"{\"name\":\"Bad-Name\"}", "not allowed"},
        {"{\"name\":\"9lives\"}", "not allowed"},
        {"{\"name\":\"\"}", "not allowed"},
        {"{\"name\":\"calculator\"}", "built-in"},
        {"{\"name\":\"t\",\"description\":5}", "description"},
        {"{\"name\":\"t\",\"parameters\":{\"type\":\"array\"}}", "\"type\": \"object\""},
        {"{\"name\":\"t\",\"parameters\":[]}", "JSON Schema object"},
        {"{\"name\":\"t\",\"parameters\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"object\"}}}}", "type must be"},
        {"{\"name\":\"t\",\"parameters\":{\"type\":\"object\",\"properties\":{\"a\":{\"anyOf\":[]}}}}", "unsupported keyword"},
        {"{\"name\":\"t\",\"parameters\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\",\"minLength\":2}}}}", "minLength"},
        {"{\"name\":\"t\",\"parameters\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"number\",\"enum\":[1,2]}}}}", "enum"},
        {"{\"name\":\"t\",\"parameters\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\",\"enum\":[]}}}}", "empty enum"},
        {"{\"name\":\"t\",\"parameters\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\",\"enum\":[\"x\\\"y\"]}}}}", "enum values"},
        {"{\"name\":\"t\",\"parameters\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"array\"}}}}", "items"},
        {"{\"name\":\"t\",\"parameters\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"array\",\"items\":{\"type\":\"array\"}}}}}", "items must be"},
        {"{\"name\":\"t\",\"parameters\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}},\"required\":[\"b\"]}}", "required"},
        {"{\"name\":\"t\",\"parameters\":{\"type\":\"object\",\"properties\":{},\"additionalProperties\":true}}", "additionalProperties"},
        {"{\"name\":\"t\",\"parameters\":{\"type\":\"object\",\"properties\":{\"a b\":{\"type\":\"string\"}}}}", "parameter name"},
        {"{\"name\":\"t\",\"parameters\":{\"type\":\"object\",\"patternProperties\":{}}}", "patternProperties"},
        {"{\"name\":\"t\",\"extra\":1}", "unsupported key"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why[0] = 0;
        neuronos_status st = neuronos_toolset_add(ts, bad[i].spec, why, sizeof why);
        CHECK(st == NEURONOS_ERR_INVALID_ARGUMENT && strstr(why, bad[i].expect), "spec %zu (%s) -> %d: %s", i, bad[i].spec, st, why);
    }
    CHECK(neuronos_toolset_count(ts) == 11, "refused specs add nothing (%d)", neuronos_toolset_count(ts));

    /* argument checks */
    static const struct { const char *tool, *args, *expect; } args[] = {
        {"lookup_order", "{\"order_id\":\"A-17\"}", NULL},
        {"lookup_order", "{\"order_id\":\"A\",\"detail\":\"full\",\"count\":2,\"weight\":1.5,\"gift\":true,\"tags\":[\"x\"]}", NULL},
        {"lookup_order", "{}", "missing required"},
        {"lookup_order", "{\"order_id\":5}", "must be string"},
        {"lookup_order", "{\"order_id\":\"A\",\"detail\":\"huge\"}", "one of"},
        {"lookup_order", "{\"order_id\":\"A\",\"count\":1.5}", "must be integer"},
        {"lookup_order", "{\"order_id\":\"A\",\"gift\":\"yes\"}", "must be boolean"},
        {"lookup_order", "{\"order_id\":\"A\",\"tags\":[1]}", "array of string"},
        {"lookup_order", "{\"order_id\":\"A\",\"evil\":1}", "unknown argument"},
        {"lookup_order", "[1]", "JSON object"},
        {"nope", "{}", "no tool named"},
        {"get_time", "{}", NULL},
        {"calculator", "{\"expression\":\"1+1\"}", NULL},
    };
    for (size_t i = 0; i < sizeof args / sizeof args[0]; i++) {
        why[0] = 0;
        neuronos_status st = neuronos_toolset_check_args(ts, args[i].tool, args[i].args, why, sizeof why);
        if (args[i].expect) CHECK(st == NEURONOS_ERR_INVALID_ARGUMENT && strstr(why, args[i].expect), "args %zu: %s", i, why);
        else CHECK(st == NEURONOS_OK, "args %zu: %s", i, why);
    }

    neuronos_agent_limits lim = neuronos_agent_default_params().limits;
    char *g = neuronos_toolset_grammar(ts, &lim);
    CHECK(g && strstr(g, "\\\"action\\\": \\\"lookup_order\\\", \\\"args\\\": {") && strstr(g, "chr{0,1000}"), "grammar: %s", g ? g : "NULL");
    free(g);
    char *desc = neuronos_toolset_describe(ts);
    CHECK(desc && strstr(desc, "- calculator: ") && strstr(desc, "\"order_id\": string (required)") &&
              strstr(desc, "\"detail\": string one of [\"short\",\"full\"] (optional)"),
          "describe: %s", desc ? desc : "NULL");
    free(desc);
    /* set_json replaces the set; a bad item leaves it empty */
    CHECK(neuronos_toolset_set_json(ts, "[\"calculator\", \"get_time\"]", why, sizeof why) == NEURONOS_OK && neuronos_toolset_count(ts) == 2, "set_json");
    CHECK(neuronos_toolset_set_json(ts, "[\"calculator\", 5]", why, sizeof why) == NEURONOS_ERR_INVALID_ARGUMENT && neuronos_toolset_count(ts) == 0, "set_json bad: %s", why);
    neuronos_toolset_free(ts);
}

static neuronos_engine *load_engine(const char *fixture, int n_ctx) {
    size_t size;
    uint8_t *data = read_fixture(fixture, &size);
    CHECK(data != NULL, "fixture %s in %s (run npm run fixtures)", fixture, fixtures_dir());
    if (!data) return NULL;
    neuronos_engine_params p = neuronos_engine_default_params();
    p.n_ctx = n_ctx;
    neuronos_engine *eng = NULL;
    neuronos_engine_init(&p, &eng);
    neuronos_status st = neuronos_engine_load_buffer(eng, data, size);
    free(data);
    CHECK(st == NEURONOS_OK, "load %s: %s", fixture, neuronos_engine_last_error(eng));
    if (st != NEURONOS_OK) {
        neuronos_engine_free(eng);
        return NULL;
    }
    return eng;
}

/* Runs steps until ACTION / EVENT / DONE; returns the final state. */
static int run_to_event(neuronos_agent *ag, const neuronos_agent_result **r, char **thought_out, char **answer_out) {
    size_t tl = 0, al = 0;
    char *th = calloc(1, 1), *an = calloc(1, 1);
    for (int guard = 0; guard < 5000; guard++) {
        if (neuronos_agent_step(ag, 4, r) != NEURONOS_OK) {
            free(th);
            free(an);
            return -1;
        }
        if ((*r)->thought_len) {
            th = realloc(th, tl + (size_t)(*r)->thought_len + 1);
            memcpy(th + tl, (*r)->thought, (size_t)(*r)->thought_len);
            tl += (size_t)(*r)->thought_len;
            th[tl] = 0;
        }
        if ((*r)->answer_len) {
            an = realloc(an, al + (size_t)(*r)->answer_len + 1);
            memcpy(an + al, (*r)->answer, (size_t)(*r)->answer_len);
            al += (size_t)(*r)->answer_len;
            an[al] = 0;
        }
        int s = (*r)->state;
        if (s == NEURONOS_AGENT_ACTION || s == NEURONOS_AGENT_EVENT || s == NEURONOS_AGENT_DONE) {
            if (thought_out) *thought_out = th;
            else free(th);
            if (answer_out) *answer_out = an;
            else free(an);
            return s;
        }
    }
    free(th);
    free(an);
    return -2;
}

static char *json_get(const char *json, const char *path) {
    sqlite3_stmt *st;
    char *out = NULL;
    if (sqlite3_prepare_v2(neuronos_json_db(), "SELECT json_extract(?1, ?2)", -1, &st, NULL) != SQLITE_OK) return NULL;
    sqlite3_bind_text(st, 1, json, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) out = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
}

/* On the random-weight model every step, whatever the seed, is a valid call or an answer. */
static void test_agent_grammar_random(void) {
    g_test = "agent_grammar_random";
    neuronos_engine *eng = load_engine("tiny-random", 1024);
    if (!eng) return;
    neuronos_agent *ag;
    CHECK(neuronos_agent_init(eng, &ag) == NEURONOS_OK, "agent init");
    char tools[2048];
    snprintf(tools, sizeof tools, "[\"calculator\",\"get_time\",\"archival_memory_insert\",\"file_write\",%s]", PAGE_TOOL);
    CHECK(neuronos_agent_set_tools(ag, tools) == NEURONOS_OK, "tools: %s", neuronos_agent_last_error(ag));
    neuronos_chat_message msgs[] = {{"user", "What is 2 + 2? Use a tool if you like."}};
    neuronos_agent_params ap = neuronos_agent_default_params();
    ap.limits.max_thought_chars = 24;
    ap.limits.max_answer_chars = 24;
    ap.limits.max_string_chars = 12;
    ap.limits.max_array_items = 3;
    /* 12 seeds by default (~8 s each under ASan); NEURONOS_AGENT_SEEDS=50 for a longer sweep */
    const int seeds = getenv("NEURONOS_AGENT_SEEDS") ? atoi(getenv("NEURONOS_AGENT_SEEDS")) : 12;
    int valid = 0, actions = 0, answers = 0, reused_ok = 0;
    for (int seed = 1; seed <= seeds; seed++) {
        neuronos_sampling_params sp = neuronos_sampling_default_params();
        sp.temperature = 1.0f;
        sp.top_k = 0;
        sp.top_p = 1.0f;
        sp.min_p = 0.0f;
        sp.repeat_penalty = 1.0f;
        sp.seed = (uint32_t)seed;
        sp.n_predict = 400;
        if (neuronos_agent_begin(ag, msgs, 1, "You are a test.", NULL, &sp, &ap) != NEURONOS_OK) {
            CHECK(0, "seed %d begin: %s", seed, neuronos_agent_last_error(ag));
            continue;
        }
        const neuronos_agent_result *r;
        int s = run_to_event(ag, &r, NULL, NULL);
        if (seed > 1 && r->n_reused == r->n_prompt - 1) reused_ok++;
        const char *ev = r->event;
        char *kind = json_get(ev, "$.kind");
        if (s == NEURONOS_AGENT_ACTION && kind && !strcmp(kind, "action")) {
            char *tool = json_get(ev, "$.tool"), *args = json_get(ev, "$.args");
            char why[256] = "";
            bool ok = tool && args && neuronos_toolset_check_args(neuronos_agent_tools(ag), tool, args, why, sizeof why) == NEURONOS_OK;
            CHECK(ok, "seed %d: call %s %s: %s", seed, tool ? tool : "?", args ? args : "?", why);
            valid += ok;
            actions++;
            free(tool);
            free(args);
        } else if (s == NEURONOS_AGENT_DONE && r->finish == NEURONOS_AGENT_FINISH_ANSWER) {
            valid++;
            answers++;
        } else {
            CHECK(0, "seed %d (print: NEURONOS_AGENT_SEEDS): state %d finish %d event %s", seed, s, r->finish, ev);
        }
        free(kind);
        neuronos_agent_end(ag);
    }
    CHECK(valid == seeds, "%d of %d steps valid (%d calls, %d answers)", valid, seeds, actions, answers);
    CHECK(actions > 0 && answers > 0, "both forms occur (%d calls, %d answers)", actions, answers);
    CHECK(reused_ok == seeds - 1, "the prompt's KV cache is reused across seeds (%d of %d)", reused_ok, seeds - 1);
    fprintf(stderr, "agent_grammar_random: %d steps, %d calls, %d answers\n", seeds, actions, answers);
    neuronos_agent_free(ag);
    neuronos_engine_free(eng);
}

/* json_extract over the agent-scripted fixture's scripts: owned text or NULL. */
static char *script_field(const char *name, const char *path) {
    char *scripts = manifest_field("agent-scripted", "$.scripts");
    if (!scripts) return NULL;
    sqlite3_stmt *st;
    char *out = NULL;
    if (sqlite3_prepare_v2(neuronos_json_db(), "SELECT json_extract(value, ?3) FROM json_each(?1) WHERE json_extract(value, '$.name') = ?2", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, scripts, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, path, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) out = strdup((const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
    }
    free(scripts);
    return out;
}

static neuronos_sampling_params greedy(void) {
    neuronos_sampling_params sp = neuronos_sampling_default_params();
    sp.temperature = 0;
    sp.n_predict = 256;
    return sp;
}

/* The context-scripted fixture: the exact calculator trace through the real calculator, KV reuse,
 * an error observation, the step limit, abort inside a step. */
static void test_agent_scripted(void) {
    g_test = "agent_scripted";
    neuronos_engine *eng = load_engine("agent-scripted", 2048);
    if (!eng) return;
    neuronos_agent *ag;
    neuronos_agent_init(eng, &ag);
    CHECK(neuronos_agent_set_tools(ag, "[\"calculator\",\"get_time\",\"file_read\",\"file_write\"]") == NEURONOS_OK, "tools");
    char *user = script_field("calculator", "$.user");
    char *out1 = script_field("calculator", "$.steps[0].output");
    char *out2 = script_field("calculator", "$.steps[1].output");
    CHECK(user && out1 && out2, "calculator script in the manifest (run npm run fixtures)");
    if (!user || !out1 || !out2) goto out;
    neuronos_chat_message msgs[] = {{"user", user}};
    neuronos_sampling_params sp = greedy();
    CHECK(neuronos_agent_begin(ag, msgs, 1, "You are a helpful agent.", NULL, &sp, NULL) == NEURONOS_OK, "begin: %s", neuronos_agent_last_error(ag));
    const neuronos_agent_result *r;
    char *thought = NULL, *answer = NULL;
    int s = run_to_event(ag, &r, &thought, &answer);
    CHECK(s == NEURONOS_AGENT_ACTION, "step 1 is a call (state %d, event %s)", s, r->event);
    char *tool = json_get(r->event, "$.tool"), *args = json_get(r->event, "$.args"), *want_args = json_get(out1, "$.args");
    char *want_thought = json_get(out1, "$.thought");
    CHECK(tool && !strcmp(tool, "calculator"), "tool %s", tool ? tool : "?");
    CHECK(args && want_args && !strcmp(args, want_args), "args %s", args ? args : "?");
    CHECK(thought && want_thought && !strcmp(thought, want_thought), "streamed thought '%s'", thought ? thought : "?");
    char *result = NULL, why[256];
    CHECK(neuronos_tools_run_core("calculator", args, NULL, NULL, &result, why, sizeof why) == NEURONOS_OK && result && !strcmp(result, "391"), "calculator: %s %s", result ? result : "", why);
    const int32_t prompt1 = r->n_prompt;
    CHECK(neuronos_agent_observe(ag, result, NULL) == NEURONOS_OK, "observe: %s", neuronos_agent_last_error(ag));
    free(thought);
    free(answer);
    s = run_to_event(ag, &r, &thought, &answer);
    char *want_answer = json_get(out2, "$.answer");
    CHECK(s == NEURONOS_AGENT_DONE && r->finish == NEURONOS_AGENT_FINISH_ANSWER, "step 2 answers (state %d finish %d %s)", s, r->finish, r->event);
    CHECK(answer && want_answer && !strcmp(answer, want_answer), "streamed answer '%s'", answer ? answer : "?");
    char *assistant = json_get(r->event, "$.assistant");
    CHECK(assistant && !strcmp(assistant, out2), "assistant message kept as written");
    /* only the new tokens were evaluated: the first step's prompt is reused */
    CHECK(r->n_reused >= prompt1, "reused %d of %d (first prompt %d)", r->n_reused, r->n_prompt, prompt1);
    free(thought);
    free(answer);
    free(tool);
    free(args);
    free(want_args);
    free(want_thought);
    free(want_answer);
    free(assistant);
    free(result);

    /* an error observation: the model is told, the loop goes on and ends within the limit */
    neuronos_agent_params ap = neuronos_agent_default_params();
    ap.max_steps = 3;
    CHECK(neuronos_agent_begin(ag, msgs, 1, NULL, NULL, &sp, &ap) == NEURONOS_OK, "begin 2");
    s = run_to_event(ag, &r, NULL, NULL);
    CHECK(s == NEURONOS_AGENT_ACTION, "call again");
    CHECK(neuronos_agent_observe(ag, NULL, "division by zero at position 3") == NEURONOS_OK, "observe error");
    int events = 0;
    for (int k = 0; k < 8 && s != NEURONOS_AGENT_DONE; k++) {
        s = run_to_event(ag, &r, NULL, NULL);
        events++;
        if (s == NEURONOS_AGENT_ACTION) neuronos_agent_observe(ag, "1", NULL);
    }
    CHECK(s == NEURONOS_AGENT_DONE && (r->finish == NEURONOS_AGENT_FINISH_ANSWER || r->finish == NEURONOS_AGENT_FINISH_STEP_LIMIT),
          "the turn ends (finish %d after %d events)", r->finish, events);
    CHECK(neuronos_agent_observe(ag, "1", NULL) == NEURONOS_ERR_INVALID_ARGUMENT, "observe without a call is refused");

    /* step limit */
    char *loop_user = script_field("loop", "$.user");
    CHECK(loop_user != NULL, "loop script");
    if (loop_user) {
        neuronos_chat_message lm[] = {{"user", loop_user}};
        CHECK(neuronos_agent_begin(ag, lm, 1, NULL, NULL, &sp, &ap) == NEURONOS_OK, "begin loop");
        int calls = 0;
        for (int k = 0; k < 10; k++) {
            s = run_to_event(ag, &r, NULL, NULL);
            if (s != NEURONOS_AGENT_ACTION) break;
            calls++;
            neuronos_agent_observe(ag, "{\"iso\":\"2026-11-26T08:00:00+00:00\",\"timezone\":\"UTC\"}", NULL);
        }
        char *ans = json_get(r->event, "$.answer");
        CHECK(s == NEURONOS_AGENT_DONE && r->finish == NEURONOS_AGENT_FINISH_STEP_LIMIT && calls == 3, "step limit after %d calls (state %d finish %d)", calls, s, r->finish);
        CHECK(ans && !strcmp(ans, "I stopped after 3 steps without reaching an answer."), "honest message: %s", ans ? ans : "?");
        free(ans);
        free(loop_user);
    }

    /* abort inside a step: within one token */
    CHECK(neuronos_agent_begin(ag, msgs, 1, NULL, NULL, &sp, NULL) == NEURONOS_OK, "begin 3");
    int tokens = 0;
    do {
        neuronos_agent_step(ag, 1, &r);
        tokens += r->n_tokens;
        if (tokens == 3) *neuronos_engine_abort_flag(eng) = 1;
    } while (r->state != NEURONOS_AGENT_DONE && r->state != NEURONOS_AGENT_ACTION && tokens < 200);
    CHECK(r->state == NEURONOS_AGENT_DONE && r->finish == NEURONOS_AGENT_FINISH_ABORTED && tokens == 3, "aborted at once (state %d, finish %d, %d tokens)", r->state, r->finish, tokens);
    neuronos_agent_end(ag);
    /* and the next turn works */
    CHECK(neuronos_agent_begin(ag, msgs, 1, NULL, NULL, &sp, NULL) == NEURONOS_OK, "begin after abort");
    s = run_to_event(ag, &r, NULL, NULL);
    CHECK(s == NEURONOS_AGENT_ACTION, "after an abort the next turn calls the tool again (%d)", s);
    neuronos_agent_end(ag);

    /* a step cut off by n_predict: an invalid step, the model is told */
    sp.n_predict = 6;
    CHECK(neuronos_agent_begin(ag, msgs, 1, NULL, NULL, &sp, &ap) == NEURONOS_OK, "begin 4");
    s = run_to_event(ag, &r, NULL, NULL);
    char *kind = json_get(r->event, "$.kind"), *err = json_get(r->event, "$.error");
    CHECK(s == NEURONOS_AGENT_EVENT && kind && !strcmp(kind, "invalid") && err && strstr(err, "cut off"), "cut off: state %d %s", s, r->event);
    free(kind);
    free(err);
    neuronos_agent_end(ag);
out:
    free(user);
    free(out1);
    free(out2);
    neuronos_agent_free(ag);
    neuronos_engine_free(eng);
}

/* The memory tools through the core, against an in-memory store. */
static void test_memory_tools(void) {
    g_test = "memory_tools";
    neuronos_memory *mem = NULL;
    char why[512];
    CHECK(neuronos_memory_open(":memory:", NULL, &mem, why, sizeof why) == NEURONOS_OK, "open: %s", why);
    if (!mem) return;
    char *out = NULL;
    CHECK(neuronos_tools_run_core("core_memory_append", "{\"label\":\"human\",\"text\":\"Name: Ada.\"}", mem, NULL, &out, why, sizeof why) == NEURONOS_OK,
          "append: %s", why);
    CHECK(out && strstr(out, "\"label\":\"human\"") && strstr(out, "Name: Ada."), "append result %s", out ? out : "NULL");
    free(out);
    CHECK(neuronos_tools_run_core("core_memory_replace", "{\"label\":\"human\",\"old_text\":\"Ada\",\"new_text\":\"Ada Lovelace\"}", mem, NULL, &out, why,
                                  sizeof why) == NEURONOS_OK && out && strstr(out, "Ada Lovelace"),
          "replace: %s %s", why, out ? out : "");
    free(out);
    out = NULL;
    CHECK(neuronos_tools_run_core("core_memory_replace", "{\"label\":\"human\",\"old_text\":\"Grace\",\"new_text\":\"x\"}", mem, NULL, &out, why,
                                  sizeof why) == NEURONOS_ERR_INVALID_ARGUMENT && !out && why[0],
          "replace of missing text is a tool error: %s", why);
    CHECK(neuronos_tools_run_core("archival_memory_insert", "{\"text\":\"The visitor's cat is called Tom.\",\"tags\":[\"pets\"]}", mem, NULL, &out, why,
                                  sizeof why) == NEURONOS_OK && out && strstr(out, "\"id\":"),
          "insert: %s", why);
    free(out);
    CHECK(neuronos_tools_run_core("archival_memory_search", "{\"query\":\"what is the cat called\"}", mem, NULL, &out, why, sizeof why) == NEURONOS_OK &&
              out && strstr(out, "Tom"),
          "archival search: %s %s", why, out ? out : "");
    free(out);
    neuronos_memory_recall_add(mem, "c1", "user", "My favourite colour is green.", 0, NULL);
    CHECK(neuronos_tools_run_core("conversation_search", "{\"query\":\"favourite colour\",\"limit\":3}", mem, NULL, &out, why, sizeof why) == NEURONOS_OK &&
              out && strstr(out, "green"),
          "conversation search: %s %s", why, out ? out : "");
    free(out);
    out = NULL;
    CHECK(neuronos_tools_run_core("conversation_search", "{\"query\":\"x\"}", NULL, NULL, &out, why, sizeof why) == NEURONOS_ERR_NOT_INITIALIZED &&
              strstr(why, "no memory store"),
          "without a store: %s", why);
    CHECK(neuronos_tools_run_core("file_read", "{}", mem, NULL, &out, why, sizeof why) == NEURONOS_ERR_NOT_IMPLEMENTED, "not a core tool");
    neuronos_memory_close(mem);
}

/* Context management: a conversation over three times longer than the context completes every
 * turn; dropped turns are in recall memory; core memory is in the prompt; a message longer than
 * the context is cut with a notice. */
static void test_agent_context(void) {
    g_test = "agent_context";
    neuronos_engine *eng = load_engine("agent-scripted", 384);
    if (!eng) return;
    neuronos_memory *mem = NULL;
    char why[256];
    neuronos_memory_open(":memory:", NULL, &mem, why, sizeof why);
    neuronos_memory_core_set(mem, "human", "The visitor likes short answers.");
    neuronos_agent *ag;
    neuronos_agent_init(eng, &ag);
    neuronos_agent_set_memory(ag, mem);
    neuronos_agent_set_tools(ag, "[\"calculator\",\"conversation_search\"]");
    char *user = script_field("greeting", "$.user");
    char *want = script_field("greeting", "$.steps[0].output");
    char *want_answer = want ? json_get(want, "$.answer") : NULL;
    CHECK(user && want && want_answer, "greeting script");
    if (!user || !want || !want_answer) goto out;
    /* the history grows by one exchange a turn */
    enum { TURNS = 30 };
    neuronos_chat_message hist[2 * TURNS + 1];
    char *answers[TURNS] = {0};
    neuronos_sampling_params sp = greedy();
    sp.n_predict = 96;
    neuronos_agent_params ap = neuronos_agent_default_params();
    ap.conversation_id = "long-chat";
    ap.reserve_tokens = 96;
    int exact = 0, total_tokens = 0, trimmed_turns = 0;
    for (int t = 0; t < TURNS; t++) {
        hist[2 * t] = (neuronos_chat_message){"user", user};
        if (neuronos_agent_begin(ag, hist, (size_t)(2 * t + 1), "Be kind.", NULL, &sp, &ap) != NEURONOS_OK) {
            CHECK(0, "turn %d begin: %s", t, neuronos_agent_last_error(ag));
            break;
        }
        if (t == 0) {
            char *sys = neuronos_agent_system_text(ag, "Be kind.");
            CHECK(sys && strstr(sys, "[human]\nThe visitor likes short answers."), "core memory in the system message: %s", sys ? sys : "NULL");
            free(sys);
        }
        if (neuronos_agent_notice(ag)[0]) trimmed_turns++;
        const neuronos_agent_result *r;
        char *answer = NULL;
        int s = run_to_event(ag, &r, NULL, &answer);
        total_tokens = r->n_prompt > total_tokens ? r->n_prompt : total_tokens;
        if (s == NEURONOS_AGENT_DONE && r->finish == NEURONOS_AGENT_FINISH_ANSWER && answer && !strcmp(answer, want_answer)) exact++;
        else CHECK(0, "turn %d: state %d finish %d answer %s", t, s, r->finish, answer ? answer : "NULL");
        char *assistant = json_get(r->event, "$.assistant");
        answers[t] = assistant ? assistant : strdup("");
        hist[2 * t + 1] = (neuronos_chat_message){"assistant", answers[t]};
        free(answer);
        neuronos_agent_end(ag);
    }
    CHECK(exact == TURNS, "%d of %d turns exact", exact, TURNS);
    CHECK(trimmed_turns > TURNS / 2, "older turns left the prompt in %d turns", trimmed_turns);
    /* the whole conversation is in recall memory, also what left the prompt */
    char *stats = NULL;
    neuronos_memory_stats(mem, &stats);
    char *n_recall = stats ? json_get(stats, "$.recall_messages") : NULL;
    CHECK(n_recall && atoi(n_recall) == 2 * TURNS, "recall has every message: %s", stats ? stats : "NULL");
    free(stats);
    free(n_recall);
    char *found = NULL;
    CHECK(neuronos_tools_run_core("conversation_search", "{\"query\":\"Hello\",\"limit\":20}", mem, NULL, &found, why, sizeof why) == NEURONOS_OK && found &&
              strstr(found, "long-chat"),
          "conversation_search finds the dropped turns: %s", why);
    free(found);
    /* one message longer than the context: cut, with a notice; the turn completes */
    {
        strbuf big = {0};
        for (int i = 0; i < 600; i++) strbuf_puts(&big, "lorem ipsum dolor ");
        neuronos_chat_message one[] = {{"user", big.s}};
        neuronos_status st = neuronos_agent_begin(ag, one, 1, NULL, NULL, &sp, &ap);
        CHECK(st == NEURONOS_OK, "a long message begins: %s", neuronos_agent_last_error(ag));
        CHECK(strstr(neuronos_agent_notice(ag), "too long"), "notice: %s", neuronos_agent_notice(ag));
        const neuronos_agent_result *r;
        int s = NEURONOS_AGENT_IDLE;
        for (int k = 0; k < 10 && st == NEURONOS_OK; k++) {
            s = run_to_event(ag, &r, NULL, NULL);
            if (s == NEURONOS_AGENT_DONE) break;
            if (s == NEURONOS_AGENT_ACTION) neuronos_agent_observe(ag, NULL, "no");
        }
        CHECK(st != NEURONOS_OK || s == NEURONOS_AGENT_DONE, "the long turn ends (state %d)", s);
        neuronos_agent_end(ag);
        strbuf_free(&big);
    }
    /* a plain turn (no tools): the reply is the answer, also recorded */
    neuronos_agent_set_tools(ag, "[]");
    neuronos_agent_params pp = ap;
    pp.plain = true;
    neuronos_chat_message one[] = {{"user", user}};
    CHECK(neuronos_agent_begin(ag, one, 1, NULL, NULL, &sp, &pp) == NEURONOS_OK, "plain begin: %s", neuronos_agent_last_error(ag));
    {
        const neuronos_agent_result *r;
        char *answer = NULL;
        int s = run_to_event(ag, &r, NULL, &answer);
        char *ev_answer = json_get(r->event, "$.answer");
        CHECK(s == NEURONOS_AGENT_DONE && r->finish == NEURONOS_AGENT_FINISH_ANSWER && answer && ev_answer && !strcmp(answer, ev_answer) &&
                  !strncmp(answer, "{\"thought\"", 10),
              "plain: the raw reply is the answer (%s)", answer ? answer : "NULL");
        free(answer);
        free(ev_answer);
        neuronos_agent_end(ag);
    }
    for (int t = 0; t < TURNS; t++) free(answers[t]);
out:
    free(user);
    free(want);
    free(want_answer);
    neuronos_agent_free(ag);
    neuronos_memory_close(mem);
    neuronos_engine_free(eng);
}

void test_agent(void) {
    test_toolset_schemas();
    test_agent_scripted();
    test_memory_tools();
    test_agent_context();
    test_agent_grammar_random();
}
