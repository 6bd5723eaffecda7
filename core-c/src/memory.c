/* memory.c — the agent's memory: MemGPT-style core / recall / archival tiers in SQLite + FTS5.
 *
 * Schema (version 1; see memory_sql.h for the SQL itself):
 *   meta(key, value)            schema_version, created_ms
 *   core_block(label, text, char_limit, position)
 *   recall(id, conversation_id, role, content, time)      + recall_fts(content)
 *   archival(id, text, tags, time)                        + archival_fts(text, tags)
 * The FTS5 tables are external-content tables over recall/archival, kept in step by triggers
 * (the text is stored once; snippet() reads it back from the content table). All results are
 * built by SQLite's JSON functions. Search input goes through memory_fts_query() first, which
 * turns any text into quoted words joined by OR, so FTS5 never sees visitor syntax. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "memory_sql.h"
#include "neuronos.h"
#include "sqlite3.h"
#include "strbuf.h"

struct neuronos_memory {
    sqlite3 *db;
    int32_t core_limit;
    char err[512];
};

#define APPLICATION_ID 0x4E524F53 /* "NROS" in the database header */

/* ------------------------------------------------------------------ errors ---------- */

static void vformat(char *buf, size_t size, const char *fmt, va_list ap) {
    if (!buf || size == 0) return;
    vsnprintf(buf, size, fmt, ap);
    buf[neuronos_utf8_complete_prefix(buf, strlen(buf))] = 0; /* never cut a character */
}

static neuronos_status fail(neuronos_memory *m, neuronos_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vformat(m->err, sizeof m->err, fmt, ap);
    va_end(ap);
    return st;
}

static neuronos_status status_of_sqlite(int rc, const char **hint) {
    *hint = "";
    switch (rc & 0xff) {
    case SQLITE_NOMEM: return NEURONOS_ERR_OUT_OF_MEMORY;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        *hint = " (the memory database is in use by another connection)";
        return NEURONOS_ERR_BUSY;
    case SQLITE_FULL: *hint = " (storage is full or over quota)"; return NEURONOS_ERR_INTERNAL;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: *hint = " (the memory database file is damaged)"; return NEURONOS_ERR_INTERNAL;
    case SQLITE_CONSTRAINT:
    case SQLITE_TOOBIG:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE: return NEURONOS_ERR_INVALID_ARGUMENT;
    default: return NEURONOS_ERR_INTERNAL;
    }
}

/* The connection's last SQLite error, mapped to a status, as "<what>: <sqlite message>". */
static neuronos_status fail_sql(neuronos_memory *m, const char *what) {
    const char *hint;
    const neuronos_status st = status_of_sqlite(sqlite3_extended_errcode(m->db), &hint);
    return fail(m, st, "%s: %s%s", what, sqlite3_errmsg(m->db), hint);
}

static neuronos_status fail_oom(neuronos_memory *m) { return fail(m, NEURONOS_ERR_OUT_OF_MEMORY, "out of memory"); }

/* ------------------------------------------------------------- statements ---------- */

static neuronos_status prepare(neuronos_memory *m, const char *sql, sqlite3_stmt **st) {
    if (sqlite3_prepare_v2(m->db, sql, -1, st, NULL) != SQLITE_OK) {
        *st = NULL;
        return fail_sql(m, "memory query failed");
    }
    return NEURONOS_OK;
}

static int bind_text(sqlite3_stmt *st, int i, const char *s) {
    return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

/* Steps `st` to completion, ignoring rows; finalizes it. */
static neuronos_status run(neuronos_memory *m, sqlite3_stmt *st, const char *what) {
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    }
    const neuronos_status s = rc == SQLITE_DONE ? NEURONOS_OK : fail_sql(m, what);
    sqlite3_finalize(st);
    return s;
}

/* Column 0 of the first row as an owned string ("" for NULL); finalizes `st`. */
static neuronos_status take_text(neuronos_memory *m, sqlite3_stmt *st, const char *what, char **out) {
    *out = NULL;
    neuronos_status s = NEURONOS_OK;
    const int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        const size_t n = (size_t)sqlite3_column_bytes(st, 0);
        if (!t && sqlite3_column_type(st, 0) != SQLITE_NULL) {
            s = fail_oom(m);
        } else if (!(*out = malloc(n + 1))) {
            s = fail_oom(m);
        } else {
            if (n) memcpy(*out, t, n);
            (*out)[n] = 0;
        }
    } else if (rc == SQLITE_DONE) {
        s = fail(m, NEURONOS_ERR_INTERNAL, "%s: no result", what);
    } else {
        s = fail_sql(m, what);
    }
    sqlite3_finalize(st);
    return s;
}

static neuronos_status exec(neuronos_memory *m, const char *sql, const char *what) {
    if (sqlite3_exec(m->db, sql, NULL, NULL, NULL) != SQLITE_OK) return fail_sql(m, what);
    return NEURONOS_OK;
}

/* One transaction per public call. Nested calls (import uses the store's own checks) join the
 * open one. BEGIN IMMEDIATE takes the write lock up front, so a read-then-write call cannot
 * deadlock against another connection. */
static neuronos_status tx_begin(neuronos_memory *m, bool *started) {
    *started = false;
    if (!sqlite3_get_autocommit(m->db)) return NEURONOS_OK;
    if (sqlite3_exec(m->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) return fail_sql(m, "memory is not writable");
    *started = true;
    return NEURONOS_OK;
}

static neuronos_status tx_end(neuronos_memory *m, bool started, neuronos_status st) {
    if (!started) return st;
    if (st == NEURONOS_OK && sqlite3_exec(m->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        st = fail_sql(m, "memory could not be saved");
    if (st != NEURONOS_OK && !sqlite3_get_autocommit(m->db)) sqlite3_exec(m->db, "ROLLBACK", NULL, NULL, NULL);
    return st;
}

/* ------------------------------------------------------------------ text ------------ */

/* Length of the valid UTF-8 sequence at s[0..n), or 0 if it is not one (overlong forms,
 * surrogates and code points above U+10FFFF are invalid). *cp gets the code point. */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp) {
    const unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t v;
    if (c >= 0xC2 && c <= 0xDF) len = 2, v = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, v = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, v = c & 0x07;
    else return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && v < 0x800) || (len == 4 && v < 0x10000) || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return len;
}

static bool utf8_valid(const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    uint32_t cp;
    for (size_t i = 0; i < n;) {
        const size_t k = utf8_seq(p + i, n - i, &cp);
        if (!k) return false;
        i += k;
    }
    return true;
}

/* An owned copy of s[0..n) with every invalid byte replaced by U+FFFD; NULL for lack of memory. */
static char *utf8_repair(const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    char *out = malloc(n * 3 + 1);
    if (!out) return NULL;
    size_t o = 0;
    uint32_t cp;
    for (size_t i = 0; i < n;) {
        const size_t k = utf8_seq(p + i, n - i, &cp);
        if (k) {
            memcpy(out + o, p + i, k);
            o += k, i += k;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3, i++;
        }
    }
    out[o] = 0;
    return out;
}

static size_t utf8_chars(const char *s) {
    size_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* A text argument, checked and made valid UTF-8. `owned` is freed with text_done. */
typedef struct {
    const char *s;
    char *owned;
} text_arg;

static neuronos_status text_take(neuronos_memory *m, const char *in, const char *what, text_arg *out) {
    out->s = NULL, out->owned = NULL;
    if (!in) return fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "%s is missing", what);
    const size_t n = strnlen(in, (size_t)NEURONOS_MEMORY_MAX_TEXT + 1);
    if (n > NEURONOS_MEMORY_MAX_TEXT)
        return fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "%s is too long (more than %d bytes)", what, NEURONOS_MEMORY_MAX_TEXT);
    if (utf8_valid(in, n)) {
        out->s = in;
        return NEURONOS_OK;
    }
    if (!(out->owned = utf8_repair(in, n))) return fail_oom(m);
    out->s = out->owned;
    return NEURONOS_OK;
}

static void text_done(text_arg *t) {
    free(t->owned);
    t->owned = NULL, t->s = NULL;
}

static bool ascii_alnum(unsigned c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

static neuronos_status check_label(neuronos_memory *m, const char *label) {
    if (!label || !*label) return fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "a core memory block needs a label");
    size_t n = 0;
    for (const char *p = label; *p; p++, n++) {
        const unsigned c = (unsigned char)*p;
        if (n >= NEURONOS_MEMORY_MAX_LABEL || !(ascii_alnum(c) || c == '_' || c == '.' || c == '-'))
            return fail(m, NEURONOS_ERR_INVALID_ARGUMENT,
                        "invalid core memory label: use 1 to %d of the characters A-Z a-z 0-9 _ . -", NEURONOS_MEMORY_MAX_LABEL);
    }
    return NEURONOS_OK;
}

static neuronos_status check_role(neuronos_memory *m, const char *role) {
    size_t n = 0;
    for (const char *p = role ? role : ""; *p; p++, n++) {
        const unsigned c = (unsigned char)*p;
        if (n >= NEURONOS_MEMORY_MAX_ROLE || !(ascii_alnum(c) || c == '_' || c == '-')) {
            n = 0;
            break;
        }
    }
    if (n == 0)
        return fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "invalid role: use 1 to %d of the characters A-Z a-z 0-9 _ -", NEURONOS_MEMORY_MAX_ROLE);
    return NEURONOS_OK;
}

static neuronos_status check_conversation(neuronos_memory *m, const char *id) {
    const size_t n = id ? strnlen(id, NEURONOS_MEMORY_MAX_CONVERSATION_ID + 1) : 0;
    if (n == 0 || n > NEURONOS_MEMORY_MAX_CONVERSATION_ID || !utf8_valid(id, n))
        return fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "invalid conversation id: it must be 1 to %d bytes of UTF-8",
                    NEURONOS_MEMORY_MAX_CONVERSATION_ID);
    return NEURONOS_OK;
}

static int64_t now_ms(void) {
    struct timespec ts;
    if (timespec_get(&ts, TIME_UTC) != TIME_UTC) return 1;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int32_t clamp_limit(int32_t limit, int32_t def) {
    if (limit <= 0) return def;
    return limit > NEURONOS_MEMORY_MAX_RESULTS ? NEURONOS_MEMORY_MAX_RESULTS : limit;
}

/* -------------------------------------------------------------- sanitizer ---------- */

/* Code points above ASCII that separate words for the query: C1 controls, Latin-1 punctuation
 * and symbols, general punctuation and spaces, CJK and full-width punctuation, BOM, U+FFFD.
 * Everything else above ASCII stays in a word, and unicode61 decides about it (symbols such as
 * emoji become phrases with no tokens, which match nothing). */
static bool separator_cp(uint32_t c) {
    if (c >= 0x80 && c <= 0xBF) return c != 0xAA && c != 0xB2 && c != 0xB3 && c != 0xB5 && c != 0xB9 && c != 0xBA;
    return c == 0xD7 || c == 0xF7 || (c >= 0x2000 && c <= 0x206F) || (c >= 0x3000 && c <= 0x3004) ||
           (c >= 0x3008 && c <= 0x3020) || (c >= 0xFF01 && c <= 0xFF0F) || (c >= 0xFF1A && c <= 0xFF20) ||
           (c >= 0xFF3B && c <= 0xFF40) || (c >= 0xFF5B && c <= 0xFF65) || c == 0xFEFF || c == 0xFFFD;
}

static bool same_term(const char *a, size_t an, const char *b, size_t bn) {
    if (an != bn) return false;
    for (size_t i = 0; i < an; i++) {
        unsigned x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z') x += 32;
        if (y >= 'A' && y <= 'Z') y += 32;
        if (x != y) return false;
    }
    return true;
}

neuronos_status neuronos_memory_fts_query(const char *input, char **out) {
    *out = NULL;
    if (!input) input = "";
    size_t n = strnlen(input, NEURONOS_MEMORY_MAX_QUERY);
    n = neuronos_utf8_complete_prefix(input, n); /* the cap may cut a character */
    char *text = utf8_repair(input, n);
    if (!text) return NEURONOS_ERR_OUT_OF_MEMORY;
    const unsigned char *p = (const unsigned char *)text;
    n = strlen(text);
    struct {
        size_t at, len;
    } terms[NEURONOS_MEMORY_MAX_TERMS];
    size_t n_terms = 0, i = 0, start = 0;
    bool in_word = false;
    while (n_terms < NEURONOS_MEMORY_MAX_TERMS) {
        uint32_t cp = 0;
        size_t k = i < n ? utf8_seq(p + i, n - i, &cp) : 0;
        if (i < n && k == 0) cp = 0xFFFD, k = 1; /* cannot happen after repair; stay safe */
        const bool word = i < n && (cp < 0x80 ? ascii_alnum(cp) : !separator_cp(cp));
        if (word && !in_word) start = i, in_word = true;
        if (!word && in_word) {
            in_word = false;
            bool dup = false;
            for (size_t t = 0; t < n_terms && !dup; t++) dup = same_term(text + terms[t].at, terms[t].len, text + start, i - start);
            if (!dup) terms[n_terms].at = start, terms[n_terms].len = i - start, n_terms++;
        }
        if (i >= n) break;
        i += k;
    }
    strbuf b = {0};
    for (size_t t = 0; t < n_terms; t++) {
        if (t) strbuf_puts(&b, " OR ");
        strbuf_putc(&b, '"');
        for (size_t j = 0; j < terms[t].len; j++) { /* an FTS5 string: quotes doubled */
            const char c = text[terms[t].at + j];
            if (c == '"') strbuf_putc(&b, '"');
            strbuf_putc(&b, c);
        }
        strbuf_putc(&b, '"');
    }
    free(text);
    if (b.oom) {
        strbuf_free(&b);
        return NEURONOS_ERR_OUT_OF_MEMORY;
    }
    *out = strbuf_take(&b);
    return *out ? NEURONOS_OK : NEURONOS_ERR_OUT_OF_MEMORY;
}

/* The sanitized query for a search call; *fts is "" when there is nothing to search. */
static neuronos_status search_query(neuronos_memory *m, const char *query, char **fts) {
    if (neuronos_memory_fts_query(query, fts) != NEURONOS_OK) return fail_oom(m);
    return NEURONOS_OK;
}

static neuronos_status empty_array(neuronos_memory *m, char **json_out) {
    if (!(*json_out = malloc(3))) return fail_oom(m);
    memcpy(*json_out, "[]", 3);
    return NEURONOS_OK;
}

/* ---------------------------------------------------------------- open -------------- */

neuronos_memory_params neuronos_memory_default_params(void) {
    neuronos_memory_params p = {NULL, "TRUNCATE", NEURONOS_MEMORY_DEFAULT_CORE_LIMIT, 2000};
    return p;
}

static neuronos_status core_defaults(neuronos_memory *m) {
    sqlite3_stmt *st;
    neuronos_status s = prepare(m, "INSERT INTO core_block(label, text, char_limit, position) VALUES ('persona', '', ?1, 0), ('human', '', ?1, 1)", &st);
    if (s) return s;
    sqlite3_bind_int(st, 1, m->core_limit);
    return run(m, st, "default core blocks");
}

/* Creates the data tables (not meta) and the default core blocks. */
static neuronos_status create_data(neuronos_memory *m, bool with_defaults) {
    neuronos_status s = exec(m, MEMORY_SQL_DATA_SCHEMA, "memory schema");
    if (!s && with_defaults) s = core_defaults(m);
    return s;
}

static neuronos_status drop_data(neuronos_memory *m) { return exec(m, MEMORY_SQL_DROP_DATA, "memory schema"); }

/* Migrations: migrations[v] upgrades schema v to v + 1 (v >= 1). None yet. */
static const char *const migrations[NEURONOS_MEMORY_SCHEMA_VERSION + 1] = {NULL};

/* Reads what the file is, without writing: *version = 0 for a new (empty) database, else its
 * schema version. Refuses files that are not ours and newer schemas. */
static neuronos_status schema_probe(neuronos_memory *m, int64_t *version) {
    *version = 0;
    sqlite3_stmt *st = NULL;
    neuronos_status s = prepare(m,
                                "SELECT (SELECT application_id FROM pragma_application_id()), "
                                "       (SELECT count(*) FROM sqlite_schema), "
                                "       (SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'meta')",
                                &st);
    if (s) return s;
    int64_t app = 0, objects = 0, has_meta = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        app = sqlite3_column_int64(st, 0), objects = sqlite3_column_int64(st, 1), has_meta = sqlite3_column_int64(st, 2);
    } else {
        s = fail_sql(m, "cannot read the memory database");
    }
    sqlite3_finalize(st);
    if (s || (objects == 0 && app == 0)) return s;
    if (app != APPLICATION_ID || !has_meta) return fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "not a NeuronOS memory database (left untouched)");
    if ((s = prepare(m, "SELECT value FROM meta WHERE key = 'schema_version'", &st))) return s;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER) *version = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (*version < 1) return fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "the memory database has no valid schema version (left untouched)");
    if (*version > NEURONOS_MEMORY_SCHEMA_VERSION)
        return fail(m, NEURONOS_ERR_INVALID_ARGUMENT,
                    "the memory database was written by a newer NeuronOS (schema %lld; this build knows up to %d); left untouched",
                    (long long)*version, NEURONOS_MEMORY_SCHEMA_VERSION);
    return NEURONOS_OK;
}

/* Creates or migrates the schema, in one write transaction (probing again inside it). */
static neuronos_status schema_open(neuronos_memory *m) {
    bool started;
    neuronos_status s = tx_begin(m, &started);
    if (s) return s;
    int64_t version = 0;
    s = schema_probe(m, &version);
    sqlite3_stmt *st = NULL;
    if (!s && version == 0) { /* a new database */
        s = exec(m, MEMORY_SQL_META_SCHEMA, "memory schema");
        if (!s) s = create_data(m, true);
        if (!s && !(s = prepare(m, "INSERT INTO meta(key, value) VALUES ('schema_version', ?1), ('created_ms', ?2)", &st))) {
            sqlite3_bind_int(st, 1, NEURONOS_MEMORY_SCHEMA_VERSION);
            sqlite3_bind_int64(st, 2, now_ms());
            s = run(m, st, "memory schema");
        }
        if (!s) {
            char sql[64];
            snprintf(sql, sizeof sql, "PRAGMA application_id = %d", APPLICATION_ID);
            s = exec(m, sql, "memory schema");
        }
        return tx_end(m, started, s);
    }
    for (int64_t v = version; !s && v < NEURONOS_MEMORY_SCHEMA_VERSION; v++) {
        if (migrations[v]) s = exec(m, migrations[v], "memory schema migration");
        if (!s && !(s = prepare(m, "UPDATE meta SET value = ?1 WHERE key = 'schema_version'", &st))) {
            sqlite3_bind_int64(st, 1, v + 1);
            s = run(m, st, "memory schema migration");
        }
    }
    return tx_end(m, started, s);
}

static bool journal_mode_ok(const char *mode) {
    static const char *const ok[] = {"TRUNCATE", "DELETE", "PERSIST"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (sqlite3_stricmp(mode, ok[i]) == 0) return true;
    return false;
}

static void set_why(char *why, size_t why_size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vformat(why, why_size, fmt, ap);
    va_end(ap);
}

neuronos_status neuronos_memory_open(const char *path, const neuronos_memory_params *params, neuronos_memory **out,
                                     char *why, size_t why_size) {
    set_why(why, why_size, "%s", "");
    if (!out) return NEURONOS_ERR_INVALID_ARGUMENT;
    *out = NULL;
    const neuronos_memory_params p = params ? *params : neuronos_memory_default_params();
    const char *journal = p.journal_mode ? p.journal_mode : "TRUNCATE";
    if (!path || !*path) {
        set_why(why, why_size, "the memory database needs a path (or \":memory:\")");
        return NEURONOS_ERR_INVALID_ARGUMENT;
    }
    if (!journal_mode_ok(journal)) {
        set_why(why, why_size, "journal mode must be TRUNCATE, DELETE or PERSIST");
        return NEURONOS_ERR_INVALID_ARGUMENT;
    }
    if (p.core_limit < 0 || p.core_limit > NEURONOS_MEMORY_MAX_CORE_LIMIT) {
        set_why(why, why_size, "core_limit must be 1..%d (0: default)", NEURONOS_MEMORY_MAX_CORE_LIMIT);
        return NEURONOS_ERR_INVALID_ARGUMENT;
    }
    neuronos_memory *m = calloc(1, sizeof *m);
    if (!m) {
        set_why(why, why_size, "out of memory");
        return NEURONOS_ERR_OUT_OF_MEMORY;
    }
    m->core_limit = p.core_limit > 0 ? p.core_limit : NEURONOS_MEMORY_DEFAULT_CORE_LIMIT;
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_EXRESCODE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path, &m->db, flags, p.vfs);
    neuronos_status s = NEURONOS_OK;
    if (rc != SQLITE_OK) {
        const char *hint;
        s = status_of_sqlite(rc, &hint);
        if (s == NEURONOS_ERR_INVALID_ARGUMENT) s = NEURONOS_ERR_INTERNAL;
        fail(m, s, "cannot open the memory database: %s%s", m->db ? sqlite3_errmsg(m->db) : sqlite3_errstr(rc), hint);
    }
    if (!s) {
        sqlite3_busy_timeout(m->db, p.busy_timeout_ms > 0 ? p.busy_timeout_ms : 0);
        sqlite3_db_config(m->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
        sqlite3_db_config(m->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
        sqlite3_db_config(m->db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 1, (int *)NULL);
        s = exec(m,
                 "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;"
                 "PRAGMA secure_delete = ON; PRAGMA cell_size_check = ON;",
                 "cannot configure the memory database");
    }
    if (!s) { /* refuse what is not ours before changing anything (a journal mode can be persistent) */
        int64_t version;
        s = schema_probe(m, &version);
    }
    if (!s) { /* the journal mode is read back: a database that cannot leave WAL is refused */
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA journal_mode = %s", journal);
        char *got = NULL;
        sqlite3_stmt *st;
        if (!(s = prepare(m, sql, &st)) && !(s = take_text(m, st, "cannot set the journal mode", &got))) {
            if (sqlite3_stricmp(got, journal) != 0 && sqlite3_stricmp(got, "memory") != 0)
                s = fail(m, NEURONOS_ERR_INTERNAL, "cannot set journal mode %s (the database stays in %s)", journal, got);
        }
        free(got);
    }
    if (!s) s = schema_open(m);
    if (s) {
        set_why(why, why_size, "%s", m->err);
        neuronos_memory_close(m);
        return s;
    }
    *out = m;
    return NEURONOS_OK;
}

void neuronos_memory_close(neuronos_memory *mem) {
    if (!mem) return;
    sqlite3_close_v2(mem->db);
    free(mem);
}

const char *neuronos_memory_last_error(const neuronos_memory *mem) { return mem ? mem->err : "no memory store"; }

#define CHECK_MEM(m)                                                                   \
    do {                                                                               \
        if (!(m)) return NEURONOS_ERR_INVALID_ARGUMENT;                                \
        (m)->err[0] = 0;                                                               \
    } while (0)

#define CHECK_OUT(m, out)                                                              \
    do {                                                                               \
        if (!(out)) return fail((m), NEURONOS_ERR_INVALID_ARGUMENT, "no output pointer"); \
        *(out) = NULL;                                                                 \
    } while (0)

/* ------------------------------------------------------------------- core ----------- */

typedef struct {
    bool found;
    char *text; /* owned */
    int32_t limit;
} core_row;

static neuronos_status core_fetch(neuronos_memory *m, const char *label, core_row *r) {
    r->found = false, r->text = NULL, r->limit = 0;
    sqlite3_stmt *st;
    neuronos_status s = prepare(m, "SELECT text, char_limit FROM core_block WHERE label = ?1", &st);
    if (s) return s;
    bind_text(st, 1, label);
    const int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const size_t n = (size_t)sqlite3_column_bytes(st, 0);
        const unsigned char *t = sqlite3_column_text(st, 0);
        if (!(r->text = malloc(n + 1))) {
            s = fail_oom(m);
        } else {
            if (t && n) memcpy(r->text, t, n);
            r->text[n] = 0;
            r->found = true;
            r->limit = sqlite3_column_int(st, 1);
        }
    } else if (rc != SQLITE_DONE) {
        s = fail_sql(m, "cannot read core memory");
    }
    sqlite3_finalize(st);
    return s;
}

/* Writes block `label` = `text` (valid UTF-8) with `limit`, creating it at the end if new. */
static neuronos_status core_write(neuronos_memory *m, const char *label, const char *text, int32_t limit, bool exists) {
    const size_t chars = utf8_chars(text);
    if (chars > (size_t)limit)
        return fail(m, NEURONOS_ERR_INVALID_ARGUMENT,
                    "core memory block '%s' would be %zu characters; its limit is %d. Nothing was changed: shorten the text, "
                    "or replace or remove old content first.",
                    label, chars, (int)limit);
    sqlite3_stmt *st;
    neuronos_status s;
    if (!exists) {
        if ((s = prepare(m, "SELECT count(*) FROM core_block", &st))) return s;
        const int n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
        sqlite3_finalize(st);
        if (n >= NEURONOS_MEMORY_MAX_CORE_BLOCKS)
            return fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "cannot create core memory block '%s': there are already %d blocks", label,
                        NEURONOS_MEMORY_MAX_CORE_BLOCKS);
    }
    if ((s = prepare(m,
                     "INSERT INTO core_block(label, text, char_limit, position) "
                     "VALUES (?1, ?2, ?3, (SELECT coalesce(max(position) + 1, 0) FROM core_block)) "
                     "ON CONFLICT(label) DO UPDATE SET text = excluded.text, char_limit = excluded.char_limit",
                     &st)))
        return s;
    bind_text(st, 1, label);
    bind_text(st, 2, text);
    sqlite3_bind_int(st, 3, limit);
    return run(m, st, "cannot write core memory");
}

static neuronos_status check_limit(neuronos_memory *m, int32_t limit) {
    if (limit > NEURONOS_MEMORY_MAX_CORE_LIMIT)
        return fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "a core memory block's limit is at most %d characters", NEURONOS_MEMORY_MAX_CORE_LIMIT);
    return NEURONOS_OK;
}

neuronos_status neuronos_memory_core_define(neuronos_memory *m, const char *label, int32_t limit) {
    CHECK_MEM(m);
    neuronos_status s = check_label(m, label);
    if (!s) s = check_limit(m, limit);
    if (s) return s;
    if (limit <= 0) limit = m->core_limit;
    bool started;
    if ((s = tx_begin(m, &started))) return s;
    core_row r;
    s = core_fetch(m, label, &r);
    if (!s && r.found && utf8_chars(r.text) > (size_t)limit)
        s = fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "core memory block '%s' already holds %zu characters, more than the new limit %d", label,
                 utf8_chars(r.text), (int)limit);
    if (!s && !(r.found && r.limit == limit)) s = core_write(m, label, r.found ? r.text : "", limit, r.found);
    free(r.text);
    return tx_end(m, started, s);
}

/* Sets (append = false) or appends to (append = true) a block, creating it if needed. */
static neuronos_status core_set_or_append(neuronos_memory *m, const char *label, const char *text, bool append) {
    CHECK_MEM(m);
    neuronos_status s = check_label(m, label);
    text_arg t;
    if (s || (s = text_take(m, text, "the text", &t))) return s;
    bool started;
    if ((s = tx_begin(m, &started))) {
        text_done(&t);
        return s;
    }
    core_row r;
    s = core_fetch(m, label, &r);
    if (!s) {
        const int32_t limit = r.found ? r.limit : m->core_limit;
        if (append && r.found && r.text[0]) {
            const size_t a = strlen(r.text), b = strlen(t.s);
            char *joined = malloc(a + b + 2);
            if (!joined) {
                s = fail_oom(m);
            } else {
                memcpy(joined, r.text, a);
                joined[a] = '\n';
                memcpy(joined + a + 1, t.s, b + 1);
                s = core_write(m, label, joined, limit, true);
                free(joined);
            }
        } else {
            s = core_write(m, label, t.s, limit, r.found);
        }
    }
    free(r.text);
    text_done(&t);
    return tx_end(m, started, s);
}

neuronos_status neuronos_memory_core_set(neuronos_memory *m, const char *label, const char *text) {
    return core_set_or_append(m, label, text, false);
}

neuronos_status neuronos_memory_core_append(neuronos_memory *m, const char *label, const char *text) {
    return core_set_or_append(m, label, text, true);
}

neuronos_status neuronos_memory_core_replace(neuronos_memory *m, const char *label, const char *old_text, const char *new_text) {
    CHECK_MEM(m);
    neuronos_status s = check_label(m, label);
    if (s) return s;
    text_arg o, n;
    if ((s = text_take(m, old_text, "the text to replace", &o))) return s;
    if (!o.s[0]) {
        text_done(&o);
        return fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "the text to replace is empty");
    }
    if ((s = text_take(m, new_text, "the new text", &n))) {
        text_done(&o);
        return s;
    }
    bool started;
    core_row r = {0};
    if (!(s = tx_begin(m, &started))) {
        s = core_fetch(m, label, &r);
        if (!s && !r.found) s = fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "there is no core memory block '%s'", label);
        const char *hit = NULL;
        size_t count = 0;
        if (!s) {
            const size_t olen = strlen(o.s);
            for (const char *p = strstr(r.text, o.s); p; p = strstr(p + olen, o.s)) {
                if (!hit) hit = p;
                count++;
            }
            if (count == 0)
                s = fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "the text to replace was not found in core memory block '%s'; nothing was changed", label);
            else if (count > 1)
                s = fail(m, NEURONOS_ERR_INVALID_ARGUMENT,
                         "the text to replace occurs %zu times in core memory block '%s'; include more of the surrounding text so "
                         "it occurs once. Nothing was changed.",
                         count, label);
        }
        if (!s) {
            const size_t before = (size_t)(hit - r.text), olen = strlen(o.s), nlen = strlen(n.s), total = strlen(r.text);
            char *res = malloc(total - olen + nlen + 1);
            if (!res) {
                s = fail_oom(m);
            } else {
                memcpy(res, r.text, before);
                memcpy(res + before, n.s, nlen);
                memcpy(res + before + nlen, hit + olen, total - before - olen + 1);
                s = core_write(m, label, res, r.limit, true);
                free(res);
            }
        }
        s = tx_end(m, started, s);
    }
    free(r.text);
    text_done(&o);
    text_done(&n);
    return s;
}

neuronos_status neuronos_memory_core_get(neuronos_memory *m, const char *label, char **text_out) {
    CHECK_MEM(m);
    CHECK_OUT(m, text_out);
    neuronos_status s = check_label(m, label);
    if (s) return s;
    core_row r;
    if ((s = core_fetch(m, label, &r))) return s;
    if (!r.found) return fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "there is no core memory block '%s'", label);
    *text_out = r.text;
    return NEURONOS_OK;
}

static const char *const SQL_CORE_PAGE =
    "SELECT json_group_array(json_object('label', label, 'text', text, 'limit', char_limit, 'chars', length(text)) "
    "                        ORDER BY position) "
    "FROM (SELECT * FROM core_block ORDER BY position LIMIT ?2 OFFSET ?1)";

neuronos_status neuronos_memory_core_get_all(neuronos_memory *m, char **json_out) {
    CHECK_MEM(m);
    CHECK_OUT(m, json_out);
    sqlite3_stmt *st;
    neuronos_status s = prepare(m, SQL_CORE_PAGE, &st);
    if (s) return s;
    sqlite3_bind_int(st, 1, 0);
    sqlite3_bind_int(st, 2, -1);
    return take_text(m, st, "cannot read core memory", json_out);
}

neuronos_status neuronos_memory_core_delete(neuronos_memory *m, const char *label) {
    CHECK_MEM(m);
    neuronos_status s = check_label(m, label);
    sqlite3_stmt *st;
    if (s || (s = prepare(m, "DELETE FROM core_block WHERE label = ?1", &st))) return s;
    bind_text(st, 1, label);
    if ((s = run(m, st, "cannot delete the core memory block"))) return s;
    if (sqlite3_changes(m->db) == 0) return fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "there is no core memory block '%s'", label);
    return NEURONOS_OK;
}

/* ------------------------------------------------------------------ recall ---------- */

/* Inserts a message. id > 0 keeps that id (import); dedup skips an identical message. */
static neuronos_status recall_insert(neuronos_memory *m, int64_t id, const char *conversation_id, const char *role, const char *content,
                                     int64_t time_ms, bool dedup, int64_t *id_out, bool *skipped) {
    if (id_out) *id_out = 0;
    if (skipped) *skipped = false;
    neuronos_status s = check_conversation(m, conversation_id);
    if (!s) s = check_role(m, role);
    text_arg c;
    if (s || (s = text_take(m, content, "the message content", &c))) return s;
    if (time_ms <= 0) time_ms = now_ms();
    sqlite3_stmt *st;
    s = prepare(m,
                dedup ? "INSERT INTO recall(conversation_id, role, content, time) SELECT ?2, ?3, ?4, ?5 WHERE NOT EXISTS "
                        "(SELECT 1 FROM recall WHERE conversation_id = ?2 AND time = ?5 AND role = ?3 AND content = ?4)"
                      : "INSERT INTO recall(id, conversation_id, role, content, time) VALUES (?1, ?2, ?3, ?4, ?5)",
                &st);
    if (!s) {
        if (id > 0) sqlite3_bind_int64(st, 1, id);
        bind_text(st, 2, conversation_id);
        bind_text(st, 3, role);
        bind_text(st, 4, c.s);
        sqlite3_bind_int64(st, 5, time_ms);
        s = run(m, st, "cannot store the message");
    }
    if (!s) {
        if (sqlite3_changes(m->db) == 0) {
            if (skipped) *skipped = true;
        } else if (id_out) {
            *id_out = sqlite3_last_insert_rowid(m->db);
        }
    }
    text_done(&c);
    return s;
}

neuronos_status neuronos_memory_recall_add(neuronos_memory *m, const char *conversation_id, const char *role, const char *content,
                                           int64_t time_ms, int64_t *id_out) {
    CHECK_MEM(m);
    return recall_insert(m, 0, conversation_id, role, content, time_ms, false, id_out, NULL);
}

#define RECALL_OBJECT "json_object('id', id, 'conversation_id', conversation_id, 'role', role, 'content', content, 'time', time"
#define ARCHIVAL_OBJECT "json_object('id', id, 'text', text, 'tags', json(tags), 'time', time"

neuronos_status neuronos_memory_recall_search(neuronos_memory *m, const char *query, const char *conversation_id, int32_t limit,
                                              char **json_out) {
    CHECK_MEM(m);
    CHECK_OUT(m, json_out);
    char *fts = NULL;
    neuronos_status s = search_query(m, query, &fts);
    if (s) return s;
    if (!fts[0]) {
        free(fts);
        return empty_array(m, json_out);
    }
    sqlite3_stmt *st;
    if (!(s = prepare(m,
                      "SELECT json_group_array(" RECALL_OBJECT ", 'score', score) ORDER BY score DESC, id DESC) FROM ("
                      "  SELECT r.id AS id, r.conversation_id AS conversation_id, r.role AS role, r.content AS content, "
                      "         r.time AS time, -bm25(recall_fts) AS score "
                      "  FROM recall_fts JOIN recall AS r ON r.id = recall_fts.rowid "
                      "  WHERE recall_fts MATCH ?1 AND (?2 IS NULL OR r.conversation_id = ?2) "
                      "  ORDER BY bm25(recall_fts), r.id DESC LIMIT ?3)",
                      &st))) {
        bind_text(st, 1, fts);
        bind_text(st, 2, conversation_id);
        sqlite3_bind_int(st, 3, clamp_limit(limit, 10));
        s = take_text(m, st, "search failed", json_out);
    }
    free(fts);
    return s;
}

neuronos_status neuronos_memory_recall_recent(neuronos_memory *m, const char *conversation_id, int32_t limit, char **json_out) {
    CHECK_MEM(m);
    CHECK_OUT(m, json_out);
    neuronos_status s = check_conversation(m, conversation_id);
    sqlite3_stmt *st;
    if (s || (s = prepare(m,
                          "SELECT json_group_array(" RECALL_OBJECT ") ORDER BY time, id) FROM ("
                          "  SELECT * FROM recall WHERE conversation_id = ?1 ORDER BY time DESC, id DESC LIMIT ?2)",
                          &st)))
        return s;
    bind_text(st, 1, conversation_id);
    sqlite3_bind_int(st, 2, clamp_limit(limit, 20));
    return take_text(m, st, "cannot read recall memory", json_out);
}

neuronos_status neuronos_memory_recall_conversations(neuronos_memory *m, int32_t offset, int32_t limit, char **json_out) {
    CHECK_MEM(m);
    CHECK_OUT(m, json_out);
    sqlite3_stmt *st;
    neuronos_status s = prepare(m,
                                "SELECT json_group_array(json_object('conversation_id', conversation_id, 'messages', n, "
                                "  'first_time', first_time, 'last_time', last_time) ORDER BY last_time DESC, conversation_id) FROM ("
                                "  SELECT conversation_id, count(*) AS n, min(time) AS first_time, max(time) AS last_time "
                                "  FROM recall GROUP BY conversation_id "
                                "  ORDER BY last_time DESC, conversation_id LIMIT ?2 OFFSET ?1)",
                                &st);
    if (s) return s;
    sqlite3_bind_int(st, 1, offset > 0 ? offset : 0);
    sqlite3_bind_int(st, 2, clamp_limit(limit, 50));
    return take_text(m, st, "cannot read recall memory", json_out);
}

neuronos_status neuronos_memory_recall_delete_conversation(neuronos_memory *m, const char *conversation_id, int64_t *n_deleted) {
    CHECK_MEM(m);
    if (n_deleted) *n_deleted = 0;
    neuronos_status s = check_conversation(m, conversation_id);
    sqlite3_stmt *st;
    if (s || (s = prepare(m, "DELETE FROM recall WHERE conversation_id = ?1", &st))) return s;
    bind_text(st, 1, conversation_id);
    bool started;
    if ((s = tx_begin(m, &started))) {
        sqlite3_finalize(st);
        return s;
    }
    s = run(m, st, "cannot delete the conversation");
    if (!s && n_deleted) *n_deleted = sqlite3_changes64(m->db);
    return tx_end(m, started, s);
}

/* ---------------------------------------------------------------- archival ---------- */

/* Normalizes tags (a JSON array of strings, or NULL/"" for none) into canonical JSON (owned). */
static neuronos_status tags_normalize(neuronos_memory *m, const char *tags_json, char **out) {
    *out = NULL;
    text_arg t;
    neuronos_status s = text_take(m, tags_json && *tags_json ? tags_json : "[]", "the tags", &t);
    if (s) return s;
    sqlite3_stmt *st;
    if (!(s = prepare(m,
                      "WITH doc(j) AS (SELECT CASE WHEN json_valid(?1) AND json_type(?1) = 'array' THEN ?1 ELSE NULL END) "
                      "SELECT (SELECT j FROM doc) IS NOT NULL, "
                      "  (SELECT count(*) FROM doc, json_each(doc.j) "
                      "   WHERE type <> 'text' OR length(trim(value)) = 0 OR length(CAST(trim(value) AS BLOB)) > 64), "
                      "  (SELECT json_group_array(tag ORDER BY k) FROM "
                      "     (SELECT trim(value) AS tag, min(key) AS k FROM doc, json_each(doc.j) GROUP BY trim(value)))",
                      &st))) {
        bind_text(st, 1, t.s);
        if (sqlite3_step(st) != SQLITE_ROW) {
            s = fail_sql(m, "cannot read the tags");
        } else if (!sqlite3_column_int(st, 0)) {
            s = fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "tags must be a JSON array of strings, e.g. [\"food\", \"family\"]");
        } else if (sqlite3_column_int(st, 1) > 0) {
            s = fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "every tag must be a non-empty string of at most 64 bytes");
        } else {
            const char *j = (const char *)sqlite3_column_text(st, 2);
            const size_t n = (size_t)sqlite3_column_bytes(st, 2);
            sqlite3_stmt *cnt = NULL;
            int n_tags = 0;
            if (!(s = prepare(m, "SELECT json_array_length(?1)", &cnt))) {
                bind_text(cnt, 1, j);
                n_tags = sqlite3_step(cnt) == SQLITE_ROW ? sqlite3_column_int(cnt, 0) : 0;
                sqlite3_finalize(cnt);
            }
            if (!s && n_tags > NEURONOS_MEMORY_MAX_TAGS)
                s = fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "at most %d tags per entry", NEURONOS_MEMORY_MAX_TAGS);
            if (!s && !j) s = fail_oom(m);
            if (!s && !(*out = malloc(n + 1))) s = fail_oom(m);
            if (!s) memcpy(*out, j, n + 1);
        }
        sqlite3_finalize(st);
    }
    text_done(&t);
    return s;
}

static neuronos_status archival_put(neuronos_memory *m, int64_t id, const char *text, const char *tags_json, int64_t time_ms, bool dedup,
                                    int64_t *id_out, bool *skipped) {
    if (id_out) *id_out = 0;
    if (skipped) *skipped = false;
    text_arg t;
    neuronos_status s = text_take(m, text, "the text", &t);
    if (s) return s;
    char *tags = NULL;
    if ((s = tags_normalize(m, tags_json, &tags))) {
        text_done(&t);
        return s;
    }
    if (time_ms <= 0) time_ms = now_ms();
    sqlite3_stmt *st;
    s = prepare(m,
                dedup ? "INSERT INTO archival(text, tags, time) SELECT ?2, ?3, ?4 WHERE NOT EXISTS "
                        "(SELECT 1 FROM archival WHERE time = ?4 AND text = ?2 AND tags = ?3)"
                      : "INSERT INTO archival(id, text, tags, time) VALUES (?1, ?2, ?3, ?4)",
                &st);
    if (!s) {
        if (id > 0) sqlite3_bind_int64(st, 1, id);
        bind_text(st, 2, t.s);
        bind_text(st, 3, tags);
        sqlite3_bind_int64(st, 4, time_ms);
        s = run(m, st, "cannot store the archival entry");
    }
    if (!s) {
        if (sqlite3_changes(m->db) == 0) {
            if (skipped) *skipped = true;
        } else if (id_out) {
            *id_out = sqlite3_last_insert_rowid(m->db);
        }
    }
    free(tags);
    text_done(&t);
    return s;
}

neuronos_status neuronos_memory_archival_insert(neuronos_memory *m, const char *text, const char *tags_json, int64_t time_ms,
                                                int64_t *id_out) {
    CHECK_MEM(m);
    return archival_put(m, 0, text, tags_json, time_ms, false, id_out, NULL);
}

neuronos_status neuronos_memory_archival_search(neuronos_memory *m, const char *query, int32_t limit, char **json_out) {
    CHECK_MEM(m);
    CHECK_OUT(m, json_out);
    char *fts = NULL;
    neuronos_status s = search_query(m, query, &fts);
    if (s) return s;
    if (!fts[0]) {
        free(fts);
        return empty_array(m, json_out);
    }
    sqlite3_stmt *st;
    if (!(s = prepare(m,
                      "SELECT json_group_array(" ARCHIVAL_OBJECT ", 'score', score, 'snippet', snip) ORDER BY score DESC, id DESC) "
                      "FROM (SELECT a.id AS id, a.text AS text, a.tags AS tags, a.time AS time, -bm25(archival_fts) AS score, "
                      "             snippet(archival_fts, 0, '**', '**', '…', 16) AS snip "
                      "      FROM archival_fts JOIN archival AS a ON a.id = archival_fts.rowid "
                      "      WHERE archival_fts MATCH ?1 ORDER BY bm25(archival_fts), a.id DESC LIMIT ?2)",
                      &st))) {
        bind_text(st, 1, fts);
        sqlite3_bind_int(st, 2, clamp_limit(limit, 10));
        s = take_text(m, st, "search failed", json_out);
    }
    free(fts);
    return s;
}

/* ------------------------------------------------------------- every tier ---------- */

neuronos_status neuronos_memory_list(neuronos_memory *m, neuronos_memory_tier tier, int32_t offset, int32_t limit, char **json_out) {
    CHECK_MEM(m);
    CHECK_OUT(m, json_out);
    const char *sql;
    switch (tier) {
    case NEURONOS_MEMORY_CORE: sql = SQL_CORE_PAGE; break;
    case NEURONOS_MEMORY_RECALL:
        sql = "SELECT json_group_array(" RECALL_OBJECT ") ORDER BY id DESC) "
              "FROM (SELECT * FROM recall ORDER BY id DESC LIMIT ?2 OFFSET ?1)";
        break;
    case NEURONOS_MEMORY_ARCHIVAL:
        sql = "SELECT json_group_array(" ARCHIVAL_OBJECT ") ORDER BY id DESC) "
              "FROM (SELECT * FROM archival ORDER BY id DESC LIMIT ?2 OFFSET ?1)";
        break;
    default: return fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "unknown memory tier %d (0 core, 1 recall, 2 archival)", (int)tier);
    }
    sqlite3_stmt *st;
    neuronos_status s = prepare(m, sql, &st);
    if (s) return s;
    sqlite3_bind_int(st, 1, offset > 0 ? offset : 0);
    sqlite3_bind_int(st, 2, clamp_limit(limit, 50));
    return take_text(m, st, "cannot list memory", json_out);
}

neuronos_status neuronos_memory_delete(neuronos_memory *m, neuronos_memory_tier tier, int64_t id) {
    CHECK_MEM(m);
    const char *sql, *name;
    switch (tier) {
    case NEURONOS_MEMORY_RECALL: sql = "DELETE FROM recall WHERE id = ?1", name = "recall message"; break;
    case NEURONOS_MEMORY_ARCHIVAL: sql = "DELETE FROM archival WHERE id = ?1", name = "archival entry"; break;
    case NEURONOS_MEMORY_CORE:
        return fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "core memory blocks are deleted by label (neuronos_memory_core_delete)");
    default: return fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "unknown memory tier %d (0 core, 1 recall, 2 archival)", (int)tier);
    }
    sqlite3_stmt *st;
    neuronos_status s = prepare(m, sql, &st);
    if (s) return s;
    sqlite3_bind_int64(st, 1, id);
    bool started;
    if ((s = tx_begin(m, &started))) {
        sqlite3_finalize(st);
        return s;
    }
    s = run(m, st, "cannot delete");
    if (!s && sqlite3_changes(m->db) == 0) s = fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "there is no %s with id %lld", name, (long long)id);
    return tx_end(m, started, s);
}

neuronos_status neuronos_memory_export(neuronos_memory *m, char **json_out) {
    CHECK_MEM(m);
    CHECK_OUT(m, json_out);
    sqlite3_stmt *st;
    neuronos_status s = prepare(
        m,
        "SELECT json_object('format', 'neuronos-memory', 'version', ?1, "
        "  'core', json((SELECT json_group_array(json_object('label', label, 'text', text, 'limit', char_limit) ORDER BY position) "
        "                FROM core_block)), "
        "  'recall', json((SELECT json_group_array(" RECALL_OBJECT ") ORDER BY id) FROM recall)), "
        "  'archival', json((SELECT json_group_array(" ARCHIVAL_OBJECT ") ORDER BY id) FROM archival)))",
        &st);
    if (s) return s;
    sqlite3_bind_int(st, 1, NEURONOS_MEMORY_EXPORT_VERSION);
    /* one read transaction, so the three arrays are one consistent snapshot */
    bool started = false;
    if (sqlite3_get_autocommit(m->db)) {
        if (sqlite3_exec(m->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
            sqlite3_finalize(st);
            return fail_sql(m, "cannot read memory");
        }
        started = true;
    }
    s = take_text(m, st, "cannot export memory", json_out);
    return tx_end(m, started, s);
}

/* --- import */

typedef struct {
    int64_t core, recall, archival, skipped;
} import_counts;

/* json_type of an element's field is checked here, so messages can name the element. */
static const char *const SQL_IMPORT_CORE =
    "SELECT key, json_type(value), json_type(value, '$.label'), value ->> '$.label', json_type(value, '$.text'), "
    "       value ->> '$.text', json_type(value, '$.limit'), value ->> '$.limit' "
    "FROM json_each(?1, '$.core') ORDER BY key";
static const char *const SQL_IMPORT_RECALL =
    "SELECT key, json_type(value), json_type(value, '$.conversation_id'), value ->> '$.conversation_id', "
    "       json_type(value, '$.role'), value ->> '$.role', json_type(value, '$.content'), value ->> '$.content', "
    "       json_type(value, '$.time'), value ->> '$.time', json_type(value, '$.id'), value ->> '$.id' "
    "FROM json_each(?1, '$.recall') ORDER BY key";
static const char *const SQL_IMPORT_ARCHIVAL =
    "SELECT key, json_type(value), json_type(value, '$.text'), value ->> '$.text', json_type(value, '$.tags'), "
    "       value -> '$.tags', json_type(value, '$.time'), value ->> '$.time', json_type(value, '$.id'), value ->> '$.id' "
    "FROM json_each(?1, '$.archival') ORDER BY key";

static bool col_is(sqlite3_stmt *st, int col, const char *type) {
    const unsigned char *t = sqlite3_column_text(st, col);
    return t && strcmp((const char *)t, type) == 0;
}

static const char *col_str(sqlite3_stmt *st, int col) { return (const char *)sqlite3_column_text(st, col); }

/* Prefixes the current message with the element's place, e.g. "recall[3]: ". */
static neuronos_status at_element(neuronos_memory *m, neuronos_status s, const char *array, int64_t key) {
    char msg[sizeof m->err];
    memcpy(msg, m->err, sizeof msg);
    return fail(m, s, "%s[%lld]: %s", array, (long long)key, msg);
}

static neuronos_status import_core(neuronos_memory *m, const char *json, import_counts *c) {
    sqlite3_stmt *st;
    neuronos_status s = prepare(m, SQL_IMPORT_CORE, &st);
    if (s) return s;
    bind_text(st, 1, json);
    int rc;
    while (!s && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const int64_t key = sqlite3_column_int64(st, 0);
        if (!col_is(st, 1, "object")) s = fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "must be an object");
        else if (!col_is(st, 2, "text")) s = fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "\"label\" must be a string");
        else if (!col_is(st, 4, "text")) s = fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "\"text\" must be a string");
        else if (sqlite3_column_type(st, 6) != SQLITE_NULL && !col_is(st, 6, "integer"))
            s = fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "\"limit\" must be an integer");
        if (!s) {
            const char *label = col_str(st, 3);
            const int64_t lim64 = sqlite3_column_type(st, 7) == SQLITE_NULL ? m->core_limit : sqlite3_column_int64(st, 7);
            core_row r = {0};
            text_arg t = {0};
            if (lim64 <= 0 || lim64 > NEURONOS_MEMORY_MAX_CORE_LIMIT)
                s = fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "\"limit\" must be 1..%d", NEURONOS_MEMORY_MAX_CORE_LIMIT);
            if (!s) s = check_label(m, label);
            if (!s) s = text_take(m, col_str(st, 5), "the text", &t);
            if (!s) s = core_fetch(m, label, &r);
            if (!s) s = core_write(m, label, t.s, (int32_t)lim64, r.found);
            free(r.text);
            text_done(&t);
            if (!s) c->core++;
        }
        if (s) s = at_element(m, s, "core", key);
    }
    if (!s && rc != SQLITE_DONE) s = fail_sql(m, "cannot read the document");
    sqlite3_finalize(st);
    return s;
}

static int64_t optional_id(sqlite3_stmt *st, int type_col, bool *bad) {
    if (sqlite3_column_type(st, type_col) == SQLITE_NULL) return 0;
    if (!col_is(st, type_col, "integer") || sqlite3_column_int64(st, type_col + 1) <= 0) *bad = true;
    return sqlite3_column_int64(st, type_col + 1);
}

static neuronos_status import_recall(neuronos_memory *m, const char *json, bool merge, import_counts *c) {
    sqlite3_stmt *st;
    neuronos_status s = prepare(m, SQL_IMPORT_RECALL, &st);
    if (s) return s;
    bind_text(st, 1, json);
    int rc;
    while (!s && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const int64_t key = sqlite3_column_int64(st, 0);
        bool bad_id = false;
        const int64_t id = optional_id(st, 10, &bad_id);
        if (!col_is(st, 1, "object")) s = fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "must be an object");
        else if (!col_is(st, 2, "text")) s = fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "\"conversation_id\" must be a string");
        else if (!col_is(st, 4, "text")) s = fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "\"role\" must be a string");
        else if (!col_is(st, 6, "text")) s = fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "\"content\" must be a string");
        else if (!col_is(st, 8, "integer") || sqlite3_column_int64(st, 9) <= 0)
            s = fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "\"time\" must be a positive integer (ms)");
        else if (bad_id) s = fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "\"id\" must be a positive integer");
        if (!s) {
            bool skipped = false;
            s = recall_insert(m, merge ? 0 : id, col_str(st, 3), col_str(st, 5), col_str(st, 7), sqlite3_column_int64(st, 9), merge,
                              NULL, &skipped);
            if (!s) *(skipped ? &c->skipped : &c->recall) += 1;
        }
        if (s) s = at_element(m, s, "recall", key);
    }
    if (!s && rc != SQLITE_DONE) s = fail_sql(m, "cannot read the document");
    sqlite3_finalize(st);
    return s;
}

static neuronos_status import_archival(neuronos_memory *m, const char *json, bool merge, import_counts *c) {
    sqlite3_stmt *st;
    neuronos_status s = prepare(m, SQL_IMPORT_ARCHIVAL, &st);
    if (s) return s;
    bind_text(st, 1, json);
    int rc;
    while (!s && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const int64_t key = sqlite3_column_int64(st, 0);
        bool bad_id = false;
        const int64_t id = optional_id(st, 8, &bad_id);
        if (!col_is(st, 1, "object")) s = fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "must be an object");
        else if (!col_is(st, 2, "text")) s = fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "\"text\" must be a string");
        else if (sqlite3_column_type(st, 4) != SQLITE_NULL && !col_is(st, 4, "array"))
            s = fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "\"tags\" must be an array of strings");
        else if (!col_is(st, 6, "integer") || sqlite3_column_int64(st, 7) <= 0)
            s = fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "\"time\" must be a positive integer (ms)");
        else if (bad_id) s = fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "\"id\" must be a positive integer");
        if (!s) {
            bool skipped = false;
            s = archival_put(m, merge ? 0 : id, col_str(st, 3), col_str(st, 5), sqlite3_column_int64(st, 7), merge, NULL, &skipped);
            if (!s) *(skipped ? &c->skipped : &c->archival) += 1;
        }
        if (s) s = at_element(m, s, "archival", key);
    }
    if (!s && rc != SQLITE_DONE) s = fail_sql(m, "cannot read the document");
    sqlite3_finalize(st);
    return s;
}

/* Checks the document's envelope; *has_core tells whether it carries a "core" array. */
static neuronos_status import_envelope(neuronos_memory *m, const char *json, bool *has_core) {
    sqlite3_stmt *st;
    neuronos_status s = prepare(m,
                                "SELECT CASE WHEN json_valid(?1) THEN json_type(?1) = 'object' ELSE 0 END, "
                                "  CASE WHEN json_valid(?1) THEN ?1 ->> '$.format' END, "
                                "  CASE WHEN json_valid(?1) THEN json_type(?1, '$.version') END, "
                                "  CASE WHEN json_valid(?1) THEN ?1 ->> '$.version' END, "
                                "  CASE WHEN json_valid(?1) THEN json_type(?1, '$.core') END, "
                                "  CASE WHEN json_valid(?1) THEN json_type(?1, '$.recall') END, "
                                "  CASE WHEN json_valid(?1) THEN json_type(?1, '$.archival') END",
                                &st);
    if (s) return s;
    bind_text(st, 1, json);
    if (sqlite3_step(st) != SQLITE_ROW) {
        s = fail_sql(m, "cannot read the document");
    } else if (!sqlite3_column_int(st, 0)) {
        s = fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "not a memory export: expected a JSON object");
    } else if (!col_is(st, 1, "neuronos-memory")) {
        s = fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "not a memory export: \"format\" must be \"neuronos-memory\"");
    } else if (!col_is(st, 2, "integer") || sqlite3_column_int64(st, 3) < 1 ||
               sqlite3_column_int64(st, 3) > NEURONOS_MEMORY_EXPORT_VERSION) {
        s = fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "unsupported memory export version (this build reads version %d)",
                 NEURONOS_MEMORY_EXPORT_VERSION);
    } else {
        static const char *const names[3] = {"core", "recall", "archival"};
        for (int i = 0; i < 3 && !s; i++)
            if (sqlite3_column_type(st, 4 + i) != SQLITE_NULL && !col_is(st, 4 + i, "array"))
                s = fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "\"%s\" must be an array", names[i]);
        *has_core = sqlite3_column_type(st, 4) != SQLITE_NULL;
    }
    sqlite3_finalize(st);
    return s;
}

neuronos_status neuronos_memory_import(neuronos_memory *m, const char *json, neuronos_memory_import_mode mode, char **report_out) {
    CHECK_MEM(m);
    if (report_out) *report_out = NULL;
    if (mode != NEURONOS_MEMORY_IMPORT_REPLACE && mode != NEURONOS_MEMORY_IMPORT_MERGE)
        return fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "import mode must be replace (0) or merge (1)");
    if (!json) return fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "no document to import");
    const bool merge = mode == NEURONOS_MEMORY_IMPORT_MERGE;
    /* the document may be larger than one text; only its UTF-8 is repaired here (each text's
     * size is checked when it is stored) */
    const size_t n = strlen(json);
    char *owned = NULL;
    if (!utf8_valid(json, n)) {
        if (!(owned = utf8_repair(json, n))) return fail_oom(m);
        json = owned;
    }
    bool has_core = false, started = false;
    neuronos_status s = import_envelope(m, json, &has_core);
    import_counts c = {0, 0, 0, 0};
    if (!s) s = tx_begin(m, &started);
    if (!s && !merge) {
        s = drop_data(m);
        if (!s) s = create_data(m, !has_core);
    }
    if (!s) s = import_core(m, json, &c);
    if (!s) s = import_recall(m, json, merge, &c);
    if (!s) s = import_archival(m, json, merge, &c);
    if (!s && report_out) {
        sqlite3_stmt *st;
        if (!(s = prepare(m, "SELECT json_object('core', ?1, 'recall', ?2, 'archival', ?3, 'skipped', ?4)", &st))) {
            sqlite3_bind_int64(st, 1, c.core);
            sqlite3_bind_int64(st, 2, c.recall);
            sqlite3_bind_int64(st, 3, c.archival);
            sqlite3_bind_int64(st, 4, c.skipped);
            s = take_text(m, st, "import report", report_out);
        }
    }
    s = tx_end(m, started, s);
    if (s && report_out) {
        free(*report_out);
        *report_out = NULL;
    }
    free(owned);
    return s;
}

neuronos_status neuronos_memory_clear(neuronos_memory *m) {
    CHECK_MEM(m);
    bool started;
    neuronos_status s = tx_begin(m, &started);
    if (s) return s;
    if (!started) return fail(m, NEURONOS_ERR_BUSY, "cannot clear memory inside another operation");
    s = drop_data(m);
    if (!s) s = create_data(m, true);
    if ((s = tx_end(m, started, s))) return s;
    /* compacts the file: the freed pages (already zeroed by secure_delete) leave it. The clear
     * is committed either way; a failed VACUUM only leaves the file larger. */
    sqlite3_exec(m->db, "VACUUM", NULL, NULL, NULL);
    return NEURONOS_OK;
}

neuronos_status neuronos_memory_stats(neuronos_memory *m, char **json_out) {
    CHECK_MEM(m);
    CHECK_OUT(m, json_out);
    sqlite3_stmt *st;
    neuronos_status s = prepare(m,
                                "SELECT json_object('schema_version', (SELECT value FROM meta WHERE key = 'schema_version'), "
                                "  'core_blocks', (SELECT count(*) FROM core_block), "
                                "  'core_chars', (SELECT coalesce(sum(length(text)), 0) FROM core_block), "
                                "  'recall_messages', (SELECT count(*) FROM recall), "
                                "  'conversations', (SELECT count(DISTINCT conversation_id) FROM recall), "
                                "  'archival_entries', (SELECT count(*) FROM archival), "
                                "  'bytes', (SELECT page_count FROM pragma_page_count()) * (SELECT page_size FROM pragma_page_size()))",
                                &st);
    if (s) return s;
    return take_text(m, st, "cannot read memory", json_out);
}

neuronos_status neuronos_memory_check(neuronos_memory *m) {
    CHECK_MEM(m);
    char *res = NULL;
    sqlite3_stmt *st;
    neuronos_status s = prepare(m, "PRAGMA integrity_check(1)", &st);
    if (!s) s = take_text(m, st, "integrity check failed", &res);
    if (!s && strcmp(res, "ok") != 0) s = fail(m, NEURONOS_ERR_INTERNAL, "the memory database is damaged: %s", res);
    free(res);
    if (!s) s = exec(m, "INSERT INTO recall_fts(recall_fts, rank) VALUES ('integrity-check', 1)", "recall search index is damaged");
    if (!s) s = exec(m, "INSERT INTO archival_fts(archival_fts, rank) VALUES ('integrity-check', 1)", "archival search index is damaged");
    if (s && s != NEURONOS_ERR_OUT_OF_MEMORY && s != NEURONOS_ERR_BUSY) s = NEURONOS_ERR_INTERNAL;
    return s;
}

/* --------------------------------------------------------------- seed API ---------- */

/* "a, b ,c" → ["a","b","c"] (owned), by SQL so the JSON is built by SQLite. */
static neuronos_status tags_from_words(neuronos_memory *m, const char *words, char **out) {
    *out = NULL;
    sqlite3_stmt *st;
    neuronos_status s = prepare(m,
                                "WITH RECURSIVE split(i, tag, rest) AS ("
                                "  SELECT 0, NULL, ?1 || ',' "
                                "  UNION ALL SELECT i + 1, trim(substr(rest, 1, instr(rest, ',') - 1)), substr(rest, instr(rest, ',') + 1) "
                                "  FROM split WHERE rest <> '') "
                                "SELECT json_group_array(tag ORDER BY i) FROM split WHERE tag <> ''",
                                &st);
    if (s) return s;
    bind_text(st, 1, words);
    return take_text(m, st, "cannot read the tags", out);
}

neuronos_status neuronos_memory_store(neuronos_memory *m, neuronos_memory_tier tier, const char *key, const char *value, int64_t *id_out) {
    CHECK_MEM(m);
    if (id_out) *id_out = 0;
    switch (tier) {
    case NEURONOS_MEMORY_CORE: return neuronos_memory_core_set(m, key, value);
    case NEURONOS_MEMORY_RECALL: return neuronos_memory_recall_add(m, "default", key, value, 0, id_out);
    case NEURONOS_MEMORY_ARCHIVAL: {
        if (!key || !*key) return neuronos_memory_archival_insert(m, value, NULL, 0, id_out);
        const char *k = key;
        while (*k == ' ' || *k == '\t' || *k == '\n' || *k == '\r') k++;
        if (*k == '[') return neuronos_memory_archival_insert(m, value, key, 0, id_out);
        text_arg t;
        neuronos_status s = text_take(m, key, "the tags", &t);
        char *tags = NULL;
        if (!s) s = tags_from_words(m, t.s, &tags);
        text_done(&t);
        if (!s) s = neuronos_memory_archival_insert(m, value, tags, 0, id_out);
        free(tags);
        return s;
    }
    default: return fail(m, NEURONOS_ERR_INVALID_ARGUMENT, "unknown memory tier %d (0 core, 1 recall, 2 archival)", (int)tier);
    }
}

neuronos_status neuronos_memory_search(neuronos_memory *m, const char *query, int32_t limit, char **json_out) {
    CHECK_MEM(m);
    CHECK_OUT(m, json_out);
    char *fts = NULL;
    neuronos_status s = search_query(m, query, &fts);
    if (s) return s;
    if (!fts[0]) {
        free(fts);
        return empty_array(m, json_out);
    }
    /* each tier's best `limit`, merged by score (bm25 of two tables: comparable enough to
     * interleave, not exactly); archival first on ties */
    sqlite3_stmt *st;
    if (!(s = prepare(m,
                      "SELECT json_group_array(json(obj) ORDER BY score DESC, tier DESC, id DESC) FROM ("
                      "  SELECT * FROM (SELECT json_object('tier', 'recall', 'id', r.id, 'conversation_id', r.conversation_id, "
                      "      'role', r.role, 'content', r.content, 'time', r.time, 'score', -bm25(recall_fts)) AS obj, "
                      "      -bm25(recall_fts) AS score, 1 AS tier, r.id AS id "
                      "    FROM recall_fts JOIN recall AS r ON r.id = recall_fts.rowid "
                      "    WHERE recall_fts MATCH ?1 ORDER BY bm25(recall_fts), r.id DESC LIMIT ?2) "
                      "  UNION ALL "
                      "  SELECT * FROM (SELECT json_object('tier', 'archival', 'id', a.id, 'text', a.text, 'tags', json(a.tags), "
                      "      'time', a.time, 'score', -bm25(archival_fts)) AS obj, "
                      "      -bm25(archival_fts) AS score, 2 AS tier, a.id AS id "
                      "    FROM archival_fts JOIN archival AS a ON a.id = archival_fts.rowid "
                      "    WHERE archival_fts MATCH ?1 ORDER BY bm25(archival_fts), a.id DESC LIMIT ?2) "
                      "  ORDER BY score DESC, tier DESC, id DESC LIMIT ?2)",
                      &st))) {
        bind_text(st, 1, fts);
        sqlite3_bind_int(st, 2, clamp_limit(limit, 10));
        s = take_text(m, st, "search failed", json_out);
    }
    free(fts);
    return s;
}
