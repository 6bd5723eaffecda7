/* tools.c — the agent's tool registry: the ten built-in tool specs, page-defined specs checked
 * against the supported JSON Schema subset, the GBNF grammar of one agent step generated from
 * the registered tools, the tools' description for the system prompt, and the check of a
 * call's arguments. All JSON goes through SQLite's JSON1 (json.c's private database). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "neuronos.h"
#include "sqlite3.h"
#include "strbuf.h"

typedef enum { VT_STRING, VT_NUMBER, VT_INTEGER, VT_BOOLEAN, VT_ARRAY } vtype;

typedef struct tool_prop {
    char *name;
    char *description; /* may be "" */
    vtype type;
    vtype item;        /* for arrays */
    char *enum_json;   /* JSON array of strings, or NULL */
    bool required;
} tool_prop;

typedef struct tool_def {
    char *name;
    char *description;
    tool_prop *props;
    int n_props;
    bool builtin;
} tool_def;

struct neuronos_toolset {
    tool_def *tools;
    int n, cap;
};

/* The ten built-in tools. Their runtime lives in the worker (get_time, file_*), the core
 * (calculator) or the memory store (the five memory tools). */
static const char *const BUILTIN_SPECS =
    "["
    "{\"name\":\"calculator\",\"description\":\"Evaluates an arithmetic expression exactly: + - * / ^ %, "
    "parentheses, sqrt, sin, cos, tan, log, ln, exp, abs, round, floor, ceil, min, max, pi, e.\","
    "\"parameters\":{\"type\":\"object\",\"properties\":{\"expression\":{\"type\":\"string\",\"description\":"
    "\"the expression, e.g. (2 + 3) * 4\"}},\"required\":[\"expression\"]}},"
    "{\"name\":\"get_time\",\"description\":\"The visitor's current local date, time and time zone.\","
    "\"parameters\":{\"type\":\"object\",\"properties\":{}}},"
    "{\"name\":\"core_memory_append\",\"description\":\"Appends text to a core memory block (always in your "
    "prompt), e.g. block human for facts about the visitor, persona for yourself.\","
    "\"parameters\":{\"type\":\"object\",\"properties\":{\"label\":{\"type\":\"string\",\"description\":"
    "\"the block, e.g. human or persona\"},\"text\":{\"type\":\"string\"}},\"required\":[\"label\",\"text\"]}},"
    "{\"name\":\"core_memory_replace\",\"description\":\"Replaces text in a core memory block.\","
    "\"parameters\":{\"type\":\"object\",\"properties\":{\"label\":{\"type\":\"string\"},\"old_text\":{\"type\":"
    "\"string\"},\"new_text\":{\"type\":\"string\"}},\"required\":[\"label\",\"old_text\",\"new_text\"]}},"
    "{\"name\":\"archival_memory_insert\",\"description\":\"Stores a fact in long-term memory, to be found later "
    "with archival_memory_search.\",\"parameters\":{\"type\":\"object\",\"properties\":{\"text\":{\"type\":"
    "\"string\"},\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}},\"required\":[\"text\"]}},"
    "{\"name\":\"archival_memory_search\",\"description\":\"Searches long-term memory (full text, best matches "
    "first).\",\"parameters\":{\"type\":\"object\",\"properties\":{\"query\":{\"type\":\"string\"},\"limit\":"
    "{\"type\":\"integer\"}},\"required\":[\"query\"]}},"
    "{\"name\":\"conversation_search\",\"description\":\"Searches every earlier message of your conversations "
    "with the visitor, also those no longer in your prompt.\",\"parameters\":{\"type\":\"object\",\"properties\":"
    "{\"query\":{\"type\":\"string\"},\"limit\":{\"type\":\"integer\"}},\"required\":[\"query\"]}},"
    "{\"name\":\"file_list\",\"description\":\"Lists the files in your private folder.\",\"parameters\":"
    "{\"type\":\"object\",\"properties\":{}}},"
    "{\"name\":\"file_read\",\"description\":\"Reads a text file from your private folder.\",\"parameters\":"
    "{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\",\"description\":\"relative path, e.g. "
    "notes/todo.txt\"}},\"required\":[\"path\"]}},"
    "{\"name\":\"file_write\",\"description\":\"Writes (replaces) a text file in your private folder.\","
    "\"parameters\":{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"},\"content\":{\"type\":"
    "\"string\"}},\"required\":[\"path\",\"content\"]}}"
    "]";

const char *neuronos_tools_builtin_json(void) { return BUILTIN_SPECS; }

/* ------------------------------------------------------------------------ helpers ------ */

static char *dup_text(const unsigned char *s) { return strdup(s ? (const char *)s : ""); }

static void prop_free(tool_prop *p) {
    free(p->name);
    free(p->description);
    free(p->enum_json);
}

static void def_free(tool_def *d) {
    free(d->name);
    free(d->description);
    for (int i = 0; i < d->n_props; i++) prop_free(&d->props[i]);
    free(d->props);
}

static bool ident_ok(const char *s, size_t max, bool lower_only) {
    size_t n = strlen(s);
    if (n == 0 || n > max) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || c == '_' || (i > 0 && c >= '0' && c <= '9') ||
                  (!lower_only && c >= 'A' && c <= 'Z');
        if (!ok) return false;
    }
    return true;
}

static int vtype_of(const char *t) {
    if (!t) return -1;
    if (!strcmp(t, "string")) return VT_STRING;
    if (!strcmp(t, "number")) return VT_NUMBER;
    if (!strcmp(t, "integer")) return VT_INTEGER;
    if (!strcmp(t, "boolean")) return VT_BOOLEAN;
    if (!strcmp(t, "array")) return VT_ARRAY;
    return -1;
}

static const char *vtype_name(vtype t) {
    static const char *const names[] = {"string", "number", "integer", "boolean", "array"};
    return names[t];
}

/* One-row query helper: prepares `sql`, binds ?1 = a, ?2 = b (either may be NULL). */
static sqlite3_stmt *q(sqlite3 *db, const char *sql, const char *a, const char *b) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return NULL;
    if (a) sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
    if (b) sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
    return st;
}

#define FAIL(...)                                      \
    do {                                               \
        snprintf(why, why_size, __VA_ARGS__);          \
        rc = NEURONOS_ERR_INVALID_ARGUMENT;            \
        goto done;                                     \
    } while (0)

/* Parses and checks one spec (JSON object) into *d. */
static neuronos_status parse_spec(const char *spec, tool_def *d, char *why, size_t why_size) {
    memset(d, 0, sizeof *d);
    sqlite3 *db = neuronos_json_db();
    if (!db) {
        snprintf(why, why_size, "out of memory");
        return NEURONOS_ERR_OUT_OF_MEMORY;
    }
    neuronos_status rc = NEURONOS_OK;
    sqlite3_stmt *st = NULL;
    char *params = NULL;
    if (!spec) FAIL("tool spec missing");
    st = q(db,
           "SELECT json_valid(?1) AND json_type(?1) = 'object', json_type(?1,'$.name'), json_extract(?1,'$.name'), "
           "json_type(?1,'$.description'), json_extract(?1,'$.description'), json_type(?1,'$.parameters'), "
           "json_extract(?1,'$.parameters'), "
           "(SELECT group_concat(key, ', ') FROM json_each(CASE WHEN json_valid(?1) AND json_type(?1)='object' THEN ?1 "
           "ELSE '{}' END) WHERE key NOT IN ('name','description','parameters','handler','confirm','timeoutMs'))",
           spec, NULL);
    if (!st || sqlite3_step(st) != SQLITE_ROW) FAIL("tool spec: invalid JSON");
    if (!sqlite3_column_int(st, 0)) FAIL("a tool spec must be a JSON object {name, description, parameters}");
    if (sqlite3_column_text(st, 7)) FAIL("tool spec: unsupported key(s) %s", sqlite3_column_text(st, 7));
    if (!sqlite3_column_text(st, 1) || strcmp((const char *)sqlite3_column_text(st, 1), "text"))
        FAIL("a tool needs a \"name\" string");
    d->name = dup_text(sqlite3_column_text(st, 2));
    if (!ident_ok(d->name, 48, true))
        FAIL("tool name \"%.60s\" is not allowed: use 1-48 characters a-z, 0-9 and _, starting with a letter or _", d->name);
    if (sqlite3_column_text(st, 3) && strcmp((const char *)sqlite3_column_text(st, 3), "text"))
        FAIL("tool %s: \"description\" must be a string", d->name);
    d->description = dup_text(sqlite3_column_text(st, 4));
    if (strlen(d->description) > 1000) FAIL("tool %s: the description is longer than 1000 characters", d->name);
    for (const char *c = d->description; *c; c++)
        if ((unsigned char)*c < 0x20 && *c != '\n') FAIL("tool %s: control characters in the description", d->name);
    if (!sqlite3_column_text(st, 5)) {
        params = strdup("{\"type\":\"object\",\"properties\":{}}");
    } else if (strcmp((const char *)sqlite3_column_text(st, 5), "object")) {
        FAIL("tool %s: \"parameters\" must be a JSON Schema object", d->name);
    } else {
        params = dup_text(sqlite3_column_text(st, 6));
    }
    sqlite3_finalize(st);
    st = NULL;

    /* top level: {type: "object", properties: {...}, required: [...], additionalProperties: false} */
    st = q(db,
           "SELECT json_extract(?1,'$.type'), json_type(?1,'$.properties'), json_type(?1,'$.required'), "
           "(SELECT group_concat(key, ', ') FROM json_each(?1) WHERE key NOT IN "
           "('type','properties','required','additionalProperties','description','$schema')), "
           "coalesce(json_type(?1,'$.additionalProperties'),'false'), "
           "(SELECT count(*) FROM json_each(?1,'$.required') WHERE type <> 'text' OR value NOT IN "
           "(SELECT key FROM json_each(?1,'$.properties')))",
           params, NULL);
    if (!st || sqlite3_step(st) != SQLITE_ROW) FAIL("tool %s: invalid parameters", d->name);
    if (!sqlite3_column_text(st, 0) || strcmp((const char *)sqlite3_column_text(st, 0), "object"))
        FAIL("tool %s: parameters must have \"type\": \"object\"", d->name);
    if (sqlite3_column_text(st, 1) && strcmp((const char *)sqlite3_column_text(st, 1), "object"))
        FAIL("tool %s: \"properties\" must be an object", d->name);
    if (sqlite3_column_text(st, 2) && strcmp((const char *)sqlite3_column_text(st, 2), "array"))
        FAIL("tool %s: \"required\" must be an array of property names", d->name);
    if (sqlite3_column_text(st, 3)) FAIL("tool %s: unsupported schema keyword(s) %s", d->name, sqlite3_column_text(st, 3));
    if (strcmp((const char *)sqlite3_column_text(st, 4), "false"))
        FAIL("tool %s: additionalProperties can only be false", d->name);
    if (sqlite3_column_int(st, 5)) FAIL("tool %s: \"required\" names a property that is not in \"properties\"", d->name);
    sqlite3_finalize(st);
    st = NULL;

    st = q(db,
           "SELECT p.key, json_type(p.value), json_extract(p.value,'$.type'), json_extract(p.value,'$.description'), "
           "json_type(p.value,'$.enum'), json_extract(p.value,'$.enum'), json_extract(p.value,'$.items.type'), "
           "json_type(p.value,'$.items.enum'), json_extract(p.value,'$.items.enum'), "
           "(SELECT group_concat(k.key, ', ') FROM json_each(CASE WHEN json_type(p.value)='object' THEN p.value ELSE '{}' END) k "
           " WHERE k.key NOT IN ('type','description','enum','items')), "
           "(SELECT group_concat(k.key, ', ') FROM json_each(CASE WHEN json_type(p.value,'$.items')='object' "
           " THEN json_extract(p.value,'$.items') ELSE '{}' END) k WHERE k.key NOT IN ('type','enum','description')), "
           "EXISTS (SELECT 1 FROM json_each(?1,'$.required') r WHERE r.value = p.key), json_type(p.value,'$.items'), "
           "(SELECT count(*) FROM json_each(CASE WHEN json_type(p.value,'$.enum')='array' THEN json_extract(p.value,'$.enum') "
           " WHEN json_type(p.value,'$.items.enum')='array' THEN json_extract(p.value,'$.items.enum') ELSE '[]' END) e "
           " WHERE e.type <> 'text' OR length(e.value) = 0 OR length(e.value) > 100 OR e.value GLOB '*[\"\\\\]*'), "
           "json_type(p.value,'$.description') "
           "FROM json_each(?1,'$.properties') p",
           params, NULL);
    if (!st) FAIL("tool %s: invalid properties", d->name);
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(st, 0);
        if (d->n_props >= 32) FAIL("tool %s: more than 32 parameters", d->name);
        tool_prop *np = realloc(d->props, (size_t)(d->n_props + 1) * sizeof *np);
        if (!np) FAIL("out of memory");
        d->props = np;
        tool_prop *p = &d->props[d->n_props++];
        memset(p, 0, sizeof *p);
        p->name = dup_text((const unsigned char *)key);
        if (!ident_ok(p->name, 64, false))
            FAIL("tool %s: parameter name \"%.60s\" is not allowed (letters, digits and _, up to 64)", d->name, p->name);
        if (strcmp((const char *)sqlite3_column_text(st, 1), "object"))
            FAIL("tool %s: parameter %s must be a schema object", d->name, p->name);
        if (sqlite3_column_text(st, 9))
            FAIL("tool %s: parameter %s uses unsupported keyword(s) %s", d->name, p->name, sqlite3_column_text(st, 9));
        int t = vtype_of((const char *)sqlite3_column_text(st, 2));
        if (t < 0)
            FAIL("tool %s: parameter %s: type must be string, number, integer, boolean or array (got %s)", d->name,
                 p->name, sqlite3_column_text(st, 2) ? (const char *)sqlite3_column_text(st, 2) : "none");
        p->type = (vtype)t;
        if (sqlite3_column_text(st, 14) && strcmp((const char *)sqlite3_column_text(st, 14), "text"))
            FAIL("tool %s: parameter %s: description must be a string", d->name, p->name);
        p->description = dup_text(sqlite3_column_text(st, 3));
        p->required = sqlite3_column_int(st, 11) != 0;
        if (sqlite3_column_int(st, 13))
            FAIL("tool %s: parameter %s: enum values must be non-empty strings of up to 100 characters without "
                 "quotes or backslashes", d->name, p->name);
        if (p->type == VT_ARRAY) {
            if (!sqlite3_column_text(st, 12) || strcmp((const char *)sqlite3_column_text(st, 12), "object"))
                FAIL("tool %s: array parameter %s needs \"items\": {\"type\": …}", d->name, p->name);
            if (sqlite3_column_text(st, 10))
                FAIL("tool %s: parameter %s: items use unsupported keyword(s) %s", d->name, p->name,
                     sqlite3_column_text(st, 10));
            int it = vtype_of((const char *)sqlite3_column_text(st, 6));
            if (it < 0 || it == VT_ARRAY)
                FAIL("tool %s: parameter %s: items must be string, number, integer or boolean", d->name, p->name);
            p->item = (vtype)it;
            if (sqlite3_column_text(st, 7)) {
                if (p->item != VT_STRING || strcmp((const char *)sqlite3_column_text(st, 7), "array"))
                    FAIL("tool %s: parameter %s: enum is only for string items, as an array", d->name, p->name);
                p->enum_json = dup_text(sqlite3_column_text(st, 8));
            }
            if (sqlite3_column_text(st, 4)) FAIL("tool %s: parameter %s: enum belongs in items", d->name, p->name);
        } else {
            if (sqlite3_column_text(st, 12)) FAIL("tool %s: parameter %s: items only for arrays", d->name, p->name);
            if (sqlite3_column_text(st, 4)) {
                if (p->type != VT_STRING || strcmp((const char *)sqlite3_column_text(st, 4), "array"))
                    FAIL("tool %s: parameter %s: enum is only supported for strings, as an array", d->name, p->name);
                p->enum_json = dup_text(sqlite3_column_text(st, 5));
            }
        }
        if (p->enum_json && !strcmp(p->enum_json, "[]")) FAIL("tool %s: parameter %s: empty enum", d->name, p->name);
    }
    if (r != SQLITE_DONE) FAIL("tool %s: invalid properties", d->name);
    /* required properties first keeps the grammar's comma logic simple; order otherwise kept */
    for (int i = 0, j = 0; i < d->n_props; i++) {
        if (d->props[i].required) {
            tool_prop t = d->props[i];
            memmove(&d->props[j + 1], &d->props[j], (size_t)(i - j) * sizeof t);
            d->props[j++] = t;
        }
    }
done:
    if (st) sqlite3_finalize(st);
    free(params);
    if (rc != NEURONOS_OK) {
        def_free(d);
        memset(d, 0, sizeof *d);
    }
    return rc;
}

/* ------------------------------------------------------------------------ the set ------ */

neuronos_status neuronos_toolset_init(neuronos_toolset **out) {
    *out = calloc(1, sizeof **out);
    return *out ? NEURONOS_OK : NEURONOS_ERR_OUT_OF_MEMORY;
}

void neuronos_toolset_clear(neuronos_toolset *ts) {
    if (!ts) return;
    for (int i = 0; i < ts->n; i++) def_free(&ts->tools[i]);
    ts->n = 0;
}

void neuronos_toolset_free(neuronos_toolset *ts) {
    if (!ts) return;
    neuronos_toolset_clear(ts);
    free(ts->tools);
    free(ts);
}

int neuronos_toolset_count(const neuronos_toolset *ts) { return ts ? ts->n : 0; }

static const tool_def *find(const neuronos_toolset *ts, const char *name) {
    for (int i = 0; ts && name && i < ts->n; i++)
        if (!strcmp(ts->tools[i].name, name)) return &ts->tools[i];
    return NULL;
}

bool neuronos_toolset_has(const neuronos_toolset *ts, const char *name) { return find(ts, name) != NULL; }

static neuronos_status add_def(neuronos_toolset *ts, tool_def *d, char *why, size_t why_size) {
    if (find(ts, d->name)) {
        snprintf(why, why_size, "a tool named %s is already registered", d->name);
        def_free(d);
        return NEURONOS_ERR_INVALID_ARGUMENT;
    }
    if (ts->n >= 64) {
        snprintf(why, why_size, "at most 64 tools");
        def_free(d);
        return NEURONOS_ERR_INVALID_ARGUMENT;
    }
    if (ts->n == ts->cap) {
        int cap = ts->cap ? ts->cap * 2 : 16;
        tool_def *nt = realloc(ts->tools, (size_t)cap * sizeof *nt);
        if (!nt) {
            def_free(d);
            snprintf(why, why_size, "out of memory");
            return NEURONOS_ERR_OUT_OF_MEMORY;
        }
        ts->tools = nt;
        ts->cap = cap;
    }
    ts->tools[ts->n++] = *d;
    return NEURONOS_OK;
}

static bool is_builtin_name(const char *name) {
    sqlite3 *db = neuronos_json_db();
    sqlite3_stmt *st = db ? q(db, "SELECT 1 FROM json_each(?1) WHERE json_extract(value,'$.name') = ?2", BUILTIN_SPECS, name) : NULL;
    bool found = st && sqlite3_step(st) == SQLITE_ROW;
    if (st) sqlite3_finalize(st);
    return found;
}

neuronos_status neuronos_toolset_add(neuronos_toolset *ts, const char *spec_json, char *why, size_t why_size) {
    if (!ts) return NEURONOS_ERR_INVALID_ARGUMENT;
    tool_def d;
    neuronos_status rc = parse_spec(spec_json, &d, why, why_size);
    if (rc != NEURONOS_OK) return rc;
    if (is_builtin_name(d.name)) {
        snprintf(why, why_size, "%s is the name of a built-in tool; choose another name", d.name);
        def_free(&d);
        return NEURONOS_ERR_INVALID_ARGUMENT;
    }
    return add_def(ts, &d, why, why_size);
}

neuronos_status neuronos_toolset_add_builtin(neuronos_toolset *ts, const char *name, char *why, size_t why_size) {
    if (!ts || !name) return NEURONOS_ERR_INVALID_ARGUMENT;
    sqlite3 *db = neuronos_json_db();
    if (!db) return NEURONOS_ERR_OUT_OF_MEMORY;
    sqlite3_stmt *st = q(db, "SELECT value FROM json_each(?1) WHERE json_extract(value,'$.name') = ?2", BUILTIN_SPECS, name);
    neuronos_status rc;
    if (st && sqlite3_step(st) == SQLITE_ROW) {
        tool_def d;
        char *spec = dup_text(sqlite3_column_text(st, 0));
        rc = spec ? parse_spec(spec, &d, why, why_size) : NEURONOS_ERR_OUT_OF_MEMORY;
        free(spec);
        if (rc == NEURONOS_OK) {
            d.builtin = true;
            rc = add_def(ts, &d, why, why_size);
        }
    } else {
        snprintf(why, why_size, "no built-in tool is named %.60s", name);
        rc = NEURONOS_ERR_INVALID_ARGUMENT;
    }
    if (st) sqlite3_finalize(st);
    return rc;
}

neuronos_status neuronos_toolset_set_json(neuronos_toolset *ts, const char *tools_json, char *why, size_t why_size) {
    if (!ts) return NEURONOS_ERR_INVALID_ARGUMENT;
    neuronos_toolset_clear(ts);
    sqlite3 *db = neuronos_json_db();
    if (!db) return NEURONOS_ERR_OUT_OF_MEMORY;
    if (!tools_json || !tools_json[0]) return NEURONOS_OK;
    sqlite3_stmt *st = q(db,
                         "SELECT json_valid(?1) AND json_type(?1) = 'array', type, CASE WHEN type='text' THEN value "
                         "ELSE json(value) END FROM (SELECT 1) LEFT JOIN json_each(CASE WHEN json_valid(?1) AND "
                         "json_type(?1) = 'array' THEN ?1 ELSE '[]' END) ORDER BY key",
                         tools_json, NULL);
    neuronos_status rc = NEURONOS_OK;
    if (!st) rc = NEURONOS_ERR_INTERNAL;
    while (rc == NEURONOS_OK && sqlite3_step(st) == SQLITE_ROW) {
        if (!sqlite3_column_int(st, 0)) {
            snprintf(why, why_size, "tools must be a JSON array of built-in names and tool specs");
            rc = NEURONOS_ERR_INVALID_ARGUMENT;
            break;
        }
        const char *type = (const char *)sqlite3_column_text(st, 1);
        if (!type) break; /* empty array */
        char *v = dup_text(sqlite3_column_text(st, 2));
        if (!v) rc = NEURONOS_ERR_OUT_OF_MEMORY;
        else if (!strcmp(type, "text")) rc = neuronos_toolset_add_builtin(ts, v, why, why_size);
        else rc = neuronos_toolset_add(ts, v, why, why_size);
        free(v);
    }
    if (st) sqlite3_finalize(st);
    if (rc != NEURONOS_OK) neuronos_toolset_clear(ts);
    return rc;
}

/* ------------------------------------------------------------------------ grammar ------ */

/* Appends `s` as a GBNF string literal (quotes included). */
static void gbnf_lit(strbuf *b, const char *s) {
    strbuf_putc(b, '"');
    for (const char *p = s; *p; p++) {
        if (*p == '"' || *p == '\\') strbuf_putc(b, '\\');
        strbuf_putc(b, *p);
    }
    strbuf_putc(b, '"');
}

static void value_rule(strbuf *b, vtype t, const char *enum_json) {
    sqlite3 *db = neuronos_json_db();
    if (enum_json) {
        /* the JSON text of each allowed string */
        sqlite3_stmt *st = q(db, "SELECT json_quote(value) FROM json_each(?1)", enum_json, NULL);
        bool first = true;
        strbuf_puts(b, "(");
        while (st && sqlite3_step(st) == SQLITE_ROW) {
            if (!first) strbuf_puts(b, " | ");
            gbnf_lit(b, (const char *)sqlite3_column_text(st, 0));
            first = false;
        }
        if (st) sqlite3_finalize(st);
        strbuf_puts(b, ")");
        return;
    }
    switch (t) {
    case VT_STRING: strbuf_puts(b, "str"); break;
    case VT_NUMBER: strbuf_puts(b, "num"); break;
    case VT_INTEGER: strbuf_puts(b, "int"); break;
    case VT_BOOLEAN: strbuf_puts(b, "bool"); break;
    case VT_ARRAY: break;
    }
}

char *neuronos_toolset_grammar(const neuronos_toolset *ts, const neuronos_agent_limits *lim) {
    strbuf b = {0};
    strbuf_puts(&b, "root ::= \"{\\\"thought\\\": \" thought \", \" step \"}\"\n");
    strbuf_puts(&b, "step ::= answer");
    for (int i = 0; ts && i < ts->n; i++) strbuf_printf(&b, " | call%d", i);
    strbuf_puts(&b, "\nanswer ::= \"\\\"answer\\\": \" answer-str\n");
    for (int i = 0; ts && i < ts->n; i++) {
        const tool_def *d = &ts->tools[i];
        char head[160];
        snprintf(head, sizeof head, "\"action\": \"%s\", \"args\": {", d->name);
        strbuf_printf(&b, "call%d ::= ", i);
        gbnf_lit(&b, head);
        strbuf_printf(&b, " args%d-0-f \"}\"\n", i);
        /* args<i>-<j>-<f|n>: properties j.. where f = nothing emitted yet, n = something was */
        for (int j = 0; j <= d->n_props; j++) {
            for (int first = 1; first >= 0; first--) {
                strbuf_printf(&b, "args%d-%d-%c ::= ", i, j, first ? 'f' : 'n');
                if (j == d->n_props) {
                    strbuf_puts(&b, "\"\"\n");
                    continue;
                }
                const tool_prop *p = &d->props[j];
                char key[100];
                snprintf(key, sizeof key, "%s\"%s\": ", first ? "" : ", ", p->name);
                strbuf_puts(&b, "(");
                gbnf_lit(&b, key);
                strbuf_puts(&b, " ");
                if (p->type == VT_ARRAY) {
                    strbuf_puts(&b, "\"[\" (");
                    value_rule(&b, p->item, p->enum_json);
                    strbuf_puts(&b, " (\", \" ");
                    value_rule(&b, p->item, p->enum_json);
                    strbuf_printf(&b, "){0,%d})? \"]\"", lim->max_array_items > 1 ? lim->max_array_items - 1 : 0);
                } else {
                    value_rule(&b, p->type, p->enum_json);
                }
                strbuf_printf(&b, " args%d-%d-n)", i, j + 1);
                if (!p->required) strbuf_printf(&b, " | args%d-%d-%c", i, j + 1, first ? 'f' : 'n');
                strbuf_puts(&b, "\n");
            }
        }
    }
    strbuf_printf(&b, "thought ::= \"\\\"\" chr{0,%d} \"\\\"\"\n", lim->max_thought_chars);
    strbuf_printf(&b, "answer-str ::= \"\\\"\" chr{0,%d} \"\\\"\"\n", lim->max_answer_chars);
    strbuf_printf(&b, "str ::= \"\\\"\" chr{0,%d} \"\\\"\"\n", lim->max_string_chars);
    strbuf_puts(&b, "chr ::= [^\"\\\\\\x7F\\x00-\\x1F] | \"\\\\\" ([\"\\\\/bfnrt] | \"u\" [0-9a-fA-F]{4})\n");
    strbuf_puts(&b, "num ::= int (\".\" [0-9]{1,12})? ([eE] [-+]? [0-9]{1,3})?\n");
    strbuf_puts(&b, "int ::= \"-\"? ([0-9] | [1-9] [0-9]{1,15})\n");
    strbuf_puts(&b, "bool ::= \"true\" | \"false\"\n");
    if (b.oom) {
        strbuf_free(&b);
        return NULL;
    }
    return strbuf_take(&b);
}

/* ------------------------------------------------------------------ description ------ */

char *neuronos_toolset_describe(const neuronos_toolset *ts) {
    strbuf b = {0};
    for (int i = 0; ts && i < ts->n; i++) {
        const tool_def *d = &ts->tools[i];
        strbuf_printf(&b, "- %s: %s\n  args: {", d->name, d->description);
        for (int j = 0; j < d->n_props; j++) {
            const tool_prop *p = &d->props[j];
            strbuf_printf(&b, "%s\"%s\": ", j ? ", " : "", p->name);
            if (p->type == VT_ARRAY) strbuf_printf(&b, "array of %s", vtype_name(p->item));
            else strbuf_puts(&b, vtype_name(p->type));
            if (p->enum_json) strbuf_printf(&b, " one of %s", p->enum_json);
            strbuf_puts(&b, p->required ? " (required" : " (optional");
            if (p->description[0]) strbuf_printf(&b, ", %s", p->description);
            strbuf_puts(&b, ")");
        }
        strbuf_puts(&b, "}\n");
    }
    if (b.oom) {
        strbuf_free(&b);
        return NULL;
    }
    return strbuf_take(&b);
}

/* ------------------------------------------------------------------ argument check --- */

static bool type_ok(const char *json_type, vtype t) {
    if (!json_type) return false;
    switch (t) {
    case VT_STRING: return !strcmp(json_type, "text");
    case VT_NUMBER: return !strcmp(json_type, "integer") || !strcmp(json_type, "real");
    case VT_INTEGER: return !strcmp(json_type, "integer");
    case VT_BOOLEAN: return !strcmp(json_type, "true") || !strcmp(json_type, "false");
    case VT_ARRAY: return !strcmp(json_type, "array");
    }
    return false;
}

neuronos_status neuronos_toolset_check_args(const neuronos_toolset *ts, const char *name, const char *args_json,
                                            char *why, size_t why_size) {
    const tool_def *d = find(ts, name);
    if (!d) {
        snprintf(why, why_size, "there is no tool named %.60s", name ? name : "(none)");
        return NEURONOS_ERR_INVALID_ARGUMENT;
    }
    sqlite3 *db = neuronos_json_db();
    if (!db) return NEURONOS_ERR_OUT_OF_MEMORY;
    neuronos_status rc = NEURONOS_OK;
    sqlite3_stmt *st = NULL;
    st = q(db, "SELECT json_valid(?1) AND json_type(?1) = 'object'", args_json ? args_json : "", NULL);
    if (!st || sqlite3_step(st) != SQLITE_ROW || !sqlite3_column_int(st, 0)) FAIL("%s: args must be a JSON object", name);
    sqlite3_finalize(st);
    /* every key must be a parameter */
    st = q(db, "SELECT key FROM json_each(?1)", args_json, NULL);
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(st, 0);
        bool known = false;
        for (int j = 0; j < d->n_props && !known; j++) known = !strcmp(d->props[j].name, k);
        if (!known) FAIL("%s: unknown argument \"%.60s\"", name, k);
    }
    sqlite3_finalize(st);
    st = NULL;
    for (int j = 0; j < d->n_props; j++) {
        const tool_prop *p = &d->props[j];
        char path[100];
        snprintf(path, sizeof path, "$.\"%s\"", p->name);
        st = q(db,
               "SELECT json_type(?1, ?2), "
               "(SELECT count(*) FROM json_each(?1, ?2)), "
               "(SELECT group_concat(DISTINCT type) FROM json_each(CASE WHEN json_type(?1, ?2) = 'array' THEN "
               " json_extract(?1, ?2) ELSE '[]' END))",
               args_json, NULL);
        if (!st) FAIL("out of memory");
        sqlite3_bind_text(st, 2, path, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_ROW) FAIL("%s: cannot read argument %s", name, p->name);
        const char *jt = (const char *)sqlite3_column_text(st, 0);
        if (!jt) {
            if (p->required) FAIL("%s: missing required argument \"%s\"", name, p->name);
            sqlite3_finalize(st);
            st = NULL;
            continue;
        }
        if (!type_ok(jt, p->type)) FAIL("%s: argument \"%s\" must be %s", name, p->name, vtype_name(p->type));
        if (p->type == VT_ARRAY) {
            const char *types = (const char *)sqlite3_column_text(st, 2);
            if (types) {
                /* each distinct element type must fit the item type */
                char *copy = strdup(types), *save = NULL;
                for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                    if (!type_ok(t, p->item)) {
                        free(copy);
                        FAIL("%s: argument \"%s\" must be an array of %s", name, p->name, vtype_name(p->item));
                    }
                }
                free(copy);
            }
        }
        sqlite3_finalize(st);
        st = NULL;
        if (p->enum_json) {
            st = q(db,
                   "SELECT count(*) FROM json_each(CASE WHEN json_type(?1, ?2) = 'array' THEN json_extract(?1, ?2) "
                   "ELSE json_array(json_extract(?1, ?2)) END) v WHERE v.value NOT IN (SELECT value FROM json_each(?3))",
                   args_json, NULL);
            if (!st) FAIL("out of memory");
            sqlite3_bind_text(st, 2, path, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(st, 3, p->enum_json, -1, SQLITE_STATIC);
            if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int(st, 0))
                FAIL("%s: argument \"%s\" must be one of %s", name, p->name, p->enum_json);
            sqlite3_finalize(st);
            st = NULL;
        }
    }
done:
    if (st) sqlite3_finalize(st);
    return rc;
}

bool neuronos_toolset_is_builtin(const neuronos_toolset *ts, const char *name) {
    const tool_def *d = find(ts, name);
    return d && d->builtin;
}

/* ------------------------------------------------------------- tools the core runs --- */

/* Arguments of a call as columns: json_extract(args, '$.<k>') for up to four keys (owned or NULL). */
static bool get_args(const char *args_json, const char *const *keys, int n, char **out) {
    sqlite3 *db = neuronos_json_db();
    for (int i = 0; i < n; i++) out[i] = NULL;
    if (!db) return false;
    bool ok = true;
    for (int i = 0; i < n && ok; i++) {
        char path[80];
        snprintf(path, sizeof path, "$.\"%s\"", keys[i]);
        sqlite3_stmt *st = q(db, "SELECT CASE WHEN json_type(j, ?2) IN ('array','object') THEN json(json_extract(j, ?2)) "
                                 "ELSE json_extract(j, ?2) END FROM (SELECT CASE WHEN json_valid(?1) THEN ?1 ELSE '{}' END AS j)",
                             args_json ? args_json : "", NULL);
        if (!st) return false;
        sqlite3_bind_text(st, 2, path, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
            out[i] = dup_text(sqlite3_column_text(st, 0));
            ok = out[i] != NULL;
        }
        sqlite3_finalize(st);
    }
    return ok;
}

static neuronos_status ok_json(char **result_json, const char *json) {
    *result_json = strdup(json);
    return *result_json ? NEURONOS_OK : NEURONOS_ERR_OUT_OF_MEMORY;
}

static neuronos_status run_memory_tool(const char *name, const char *args_json, neuronos_memory *mem,
                                       const char *conversation_id, char **result_json, char *why, size_t why_size) {
    (void)conversation_id;
    static const char *const keys[] = {"label", "text", "old_text", "new_text", "tags", "query", "limit"};
    char *a[7];
    if (!get_args(args_json, keys, 7, a)) {
        snprintf(why, why_size, "out of memory");
        return NEURONOS_ERR_OUT_OF_MEMORY;
    }
    const char *label = a[0], *text = a[1], *old_text = a[2], *new_text = a[3], *tags = a[4], *query = a[5];
    const int limit = a[6] ? atoi(a[6]) : 5;
    neuronos_status rc;
    char *out = NULL;
    int64_t id = 0;
    if (!strcmp(name, "core_memory_append")) {
        rc = neuronos_memory_core_append(mem, label, text);
        if (rc == NEURONOS_OK) rc = neuronos_memory_core_get(mem, label, &out);
    } else if (!strcmp(name, "core_memory_replace")) {
        rc = neuronos_memory_core_replace(mem, label, old_text, new_text);
        if (rc == NEURONOS_OK) rc = neuronos_memory_core_get(mem, label, &out);
    } else if (!strcmp(name, "archival_memory_insert")) {
        rc = neuronos_memory_archival_insert(mem, text, tags, 0, &id);
    } else if (!strcmp(name, "archival_memory_search")) {
        rc = neuronos_memory_archival_search(mem, query, limit > 0 && limit <= 20 ? limit : 5, &out);
    } else {
        rc = neuronos_memory_recall_search(mem, query, NULL, limit > 0 && limit <= 20 ? limit : 5, &out);
    }
    if (rc != NEURONOS_OK) {
        snprintf(why, why_size, "%s", neuronos_memory_last_error(mem));
    } else if (!strcmp(name, "archival_memory_insert")) {
        char buf[64];
        snprintf(buf, sizeof buf, "{\"id\":%lld}", (long long)id);
        rc = ok_json(result_json, buf);
    } else if (!strncmp(name, "core_memory_", 12)) {
        /* the block as it is now, so the model sees the effect */
        sqlite3_stmt *st = q(neuronos_json_db(), "SELECT json_object('label', ?1, 'text', ?2)", label, out);
        rc = st && sqlite3_step(st) == SQLITE_ROW ? ok_json(result_json, (const char *)sqlite3_column_text(st, 0)) : NEURONOS_ERR_OUT_OF_MEMORY;
        if (st) sqlite3_finalize(st);
    } else {
        *result_json = out;
        out = NULL;
    }
    free(out);
    for (int i = 0; i < 7; i++) free(a[i]);
    return rc;
}

neuronos_status neuronos_tools_run_core(const char *name, const char *args_json, neuronos_memory *mem,
                                        const char *conversation_id, char **result_json, char *why, size_t why_size) {
    *result_json = NULL;
    why[0] = 0;
    if (!name) return NEURONOS_ERR_INVALID_ARGUMENT;
    if (!strcmp(name, "calculator")) {
        static const char *const keys[] = {"expression"};
        char *expr;
        if (!get_args(args_json, keys, 1, &expr)) return NEURONOS_ERR_OUT_OF_MEMORY;
        if (!expr) {
            snprintf(why, why_size, "calculator needs {\"expression\": string}");
            return NEURONOS_ERR_INVALID_ARGUMENT;
        }
        double v;
        neuronos_status rc = neuronos_calc_eval(expr, &v, why, why_size);
        free(expr);
        if (rc != NEURONOS_OK) return rc;
        char buf[64];
        neuronos_calc_format(v, buf, sizeof buf);
        return ok_json(result_json, buf);
    }
    if (!strncmp(name, "core_memory_", 12) || !strncmp(name, "archival_memory_", 16) || !strcmp(name, "conversation_search")) {
        if (!mem) {
            snprintf(why, why_size, "memory is not available: no memory store is open for this agent");
            return NEURONOS_ERR_NOT_INITIALIZED;
        }
        return run_memory_tool(name, args_json, mem, conversation_id, result_json, why, why_size);
    }
    snprintf(why, why_size, "%s is not run by the core", name);
    return NEURONOS_ERR_NOT_IMPLEMENTED;
}
