/* test_memory.c — the memory store (memory.c): core / recall / archival tiers, hostile search
 * input, ranking, export/import round trips, persistence of a file-backed database. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "neuronos.h"
#include "sqlite3.h"

/* ------------------------------------------------------------ JSON helpers ---------- */

/* The tests read results with SQLite's JSON functions on their own connection. */
static sqlite3 *tdb(void) {
    static sqlite3 *db = NULL;
    if (!db) sqlite3_open(":memory:", &db);
    return db;
}

/* Owned text of `sql` with ?1 = a (and ?2 = b), or NULL. */
static char *q2(const char *sql, const char *a, const char *b) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(tdb(), sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "test SQL: %s\n", sqlite3_errmsg(tdb()));
        return NULL;
    }
    sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
    if (b) sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
    char *out = NULL;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        out = malloc(strlen(t) + 1);
        strcpy(out, t);
    }
    sqlite3_finalize(st);
    return out;
}

static long long q2int(const char *sql, const char *a, const char *b) {
    char *t = q2(sql, a, b);
    const long long v = t ? atoll(t) : -1;
    free(t);
    return v;
}

static bool is_json_array(const char *json) {
    return json && q2int("SELECT json_valid(?1) AND json_type(?1) = 'array'", json, NULL) == 1;
}
static long long jlen(const char *json) { return json ? q2int("SELECT json_array_length(?1)", json, NULL) : -1; }
/* json_extract(json, path) as owned text ("" never NULL, for easy comparisons) */
static char *jtext(const char *json, const char *path) {
    char *t = json ? q2("SELECT json_extract(?1, ?2)", json, path) : NULL;
    if (!t) {
        t = malloc(7);
        strcpy(t, "(null)");
    }
    return t;
}
static long long jint(const char *json, const char *path) { return json ? q2int("SELECT json_extract(?1, ?2)", json, path) : -1; }
static bool jeq(const char *json, const char *path, const char *want) {
    char *t = jtext(json, path);
    const bool ok = strcmp(t, want) == 0;
    if (!ok) fprintf(stderr, "  %s = '%s', want '%s'\n", path, t, want);
    free(t);
    return ok;
}

static neuronos_memory *open_mem(void) {
    neuronos_memory *m = NULL;
    char why[256];
    const neuronos_status st = neuronos_memory_open(":memory:", NULL, &m, why, sizeof why);
    CHECK(st == NEURONOS_OK && m, "open :memory: (%s)", why);
    return m;
}

static char *tmp_path(const char *name) {
    static char path[512];
    snprintf(path, sizeof path, "/tmp/neuronos-memtest-%d-%s.db", (int)getpid(), name);
    return path;
}

static void remove_db(const char *path) {
    char j[600];
    remove(path);
    snprintf(j, sizeof j, "%s-journal", path);
    remove(j);
}

/* ------------------------------------------------------------- sanitizer ----------- */

static void test_fts_query(void) {
    g_test = "memory fts query";
    struct {
        const char *in, *want;
    } cases[] = {
        {"say \"hi\" NEAR(x* -- 'y')", "\"say\" OR \"hi\" OR \"NEAR\" OR \"x\" OR \"y\""},
        {"", ""},
        {"   \t\n", ""},
        {"*^-:()\"'", ""},
        {"Cat cat CAT dog", "\"Cat\" OR \"dog\""},
        {"col:x", "\"col\" OR \"x\""},
        {"café", "\"café\""},
        {"東京，大阪", "\"東京\" OR \"大阪\""}, /* full-width comma separates */
        {"a\xC2\xA0" "b", "\"a\" OR \"b\""},        /* no-break space separates */
        {"“smart” quotes…", "\"smart\" OR \"quotes\""},
        {"bad\xFF" "byte", "\"bad\" OR \"byte\""}, /* invalid UTF-8 becomes U+FFFD, a separator */
        {"it's", "\"it\" OR \"s\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = NULL;
        CHECK(neuronos_memory_fts_query(cases[i].in, &out) == NEURONOS_OK && out && strcmp(out, cases[i].want) == 0,
              "case %zu: got '%s', want '%s'", i, out ? out : "(null)", cases[i].want);
        free(out);
    }
    char *out = NULL;
    CHECK(neuronos_memory_fts_query(NULL, &out) == NEURONOS_OK && out && !out[0], "NULL gives \"\"");
    free(out);
    /* 40 distinct words: only the first 32 are used */
    char many[512] = "";
    for (int i = 0; i < 40; i++) snprintf(many + strlen(many), sizeof many - strlen(many), "w%d ", i);
    CHECK(neuronos_memory_fts_query(many, &out) == NEURONOS_OK, "many words");
    int terms = 0;
    for (const char *p = out; (p = strstr(p, " OR ")); p += 4) terms++;
    CHECK(terms + 1 == NEURONOS_MEMORY_MAX_TERMS && strstr(out, "\"w31\"") && !strstr(out, "\"w32\""), "32 terms: %s", out);
    free(out);
    /* past NEURONOS_MEMORY_MAX_QUERY bytes nothing is read */
    char *big = malloc(NEURONOS_MEMORY_MAX_QUERY + 64);
    memset(big, ' ', NEURONOS_MEMORY_MAX_QUERY + 63);
    memcpy(big + NEURONOS_MEMORY_MAX_QUERY + 10, "late", 4);
    big[NEURONOS_MEMORY_MAX_QUERY + 63] = 0;
    CHECK(neuronos_memory_fts_query(big, &out) == NEURONOS_OK && out && !out[0], "words past the cap are ignored: '%s'", out);
    free(out);
    free(big);
}

/* ------------------------------------------------------------------ open ------------ */

static void test_open(void) {
    g_test = "memory open";
    neuronos_memory *m = NULL;
    char why[256];
    CHECK(neuronos_memory_open(NULL, NULL, &m, why, sizeof why) == NEURONOS_ERR_INVALID_ARGUMENT && !m, "NULL path");
    neuronos_memory_params p = neuronos_memory_default_params();
    CHECK(p.core_limit == 2000 && strcmp(p.journal_mode, "TRUNCATE") == 0 && p.vfs == NULL, "defaults");
    p.journal_mode = "WAL";
    CHECK(neuronos_memory_open(":memory:", &p, &m, why, sizeof why) == NEURONOS_ERR_INVALID_ARGUMENT && !m, "WAL refused");
    CHECK(strstr(why, "TRUNCATE") != NULL, "message: %s", why);
    p = neuronos_memory_default_params();
    p.vfs = "no-such-vfs";
    CHECK(neuronos_memory_open(":memory:", &p, &m, why, sizeof why) != NEURONOS_OK && !m && why[0], "unknown VFS: %s", why);

    /* a file that is not a database, and a database that is not ours, are refused untouched */
    const char *junk = tmp_path("junk");
    FILE *f = fopen(junk, "wb");
    for (int i = 0; i < 200; i++) fputs("this is not a database. ", f);
    fclose(f);
    CHECK(neuronos_memory_open(junk, NULL, &m, why, sizeof why) != NEURONOS_OK && !m, "junk file refused");
    CHECK(strstr(why, "database") != NULL, "message: %s", why);
    size_t size = 0;
    uint8_t *bytes = read_file(junk, &size);
    CHECK(bytes && size == 200 * 24 && memcmp(bytes, "this is not", 11) == 0, "junk file untouched");
    free(bytes);
    remove_db(junk);

    const char *foreign = tmp_path("foreign");
    remove_db(foreign);
    sqlite3 *db;
    sqlite3_open(foreign, &db);
    sqlite3_exec(db, "PRAGMA journal_mode = WAL; CREATE TABLE notes(x); INSERT INTO notes VALUES ('keep me')", NULL, NULL, NULL);
    sqlite3_close(db);
    CHECK(neuronos_memory_open(foreign, NULL, &m, why, sizeof why) == NEURONOS_ERR_INVALID_ARGUMENT && !m, "foreign db refused");
    CHECK(strstr(why, "not a NeuronOS memory database") != NULL, "message: %s", why);
    sqlite3_open(foreign, &db);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL);
    CHECK(sqlite3_step(st) == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0, "its (persistent) WAL mode untouched");
    sqlite3_finalize(st);
    sqlite3_close(db);
    char side[600];
    snprintf(side, sizeof side, "%s-wal", foreign);
    remove(side);
    snprintf(side, sizeof side, "%s-shm", foreign);
    remove(side);
    remove_db(foreign);

    /* a newer schema is refused and left as it was */
    const char *newer = tmp_path("newer");
    remove_db(newer);
    CHECK(neuronos_memory_open(newer, NULL, &m, why, sizeof why) == NEURONOS_OK, "create: %s", why);
    neuronos_memory_close(m);
    m = NULL;
    sqlite3_open(newer, &db);
    sqlite3_exec(db, "UPDATE meta SET value = 99 WHERE key = 'schema_version'", NULL, NULL, NULL);
    sqlite3_close(db);
    CHECK(neuronos_memory_open(newer, NULL, &m, why, sizeof why) == NEURONOS_ERR_INVALID_ARGUMENT && !m, "newer schema refused");
    CHECK(strstr(why, "newer") != NULL && strstr(why, "99") != NULL, "message: %s", why);
    sqlite3_open(newer, &db);
    sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &st, NULL);
    CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 99, "left untouched");
    sqlite3_finalize(st);
    /* journal mode on disk: not WAL */
    sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL);
    CHECK(sqlite3_step(st) == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0, "not WAL");
    sqlite3_finalize(st);
    sqlite3_close(db);
    remove_db(newer);

    CHECK(strcmp(neuronos_memory_last_error(NULL), "") != 0, "last_error(NULL) is a message");
    neuronos_memory_close(NULL); /* fine */
}

/* ------------------------------------------------------------------ core ------------ */

static void test_core(void) {
    g_test = "memory core";
    neuronos_memory *m = open_mem();
    if (!m) return;
    char *json = NULL, *text = NULL;
    CHECK(neuronos_memory_core_get_all(m, &json) == NEURONOS_OK && jlen(json) == 2, "two default blocks: %s", json);
    CHECK(jeq(json, "$[0].label", "persona") && jeq(json, "$[1].label", "human") && jint(json, "$[0].limit") == 2000 &&
              jeq(json, "$[0].text", ""),
          "persona, human, 2000, empty");
    free(json);

    CHECK(neuronos_memory_core_set(m, "human", "Name: Ada.") == NEURONOS_OK, "set: %s", neuronos_memory_last_error(m));
    CHECK(neuronos_memory_core_append(m, "human", "Likes tea.") == NEURONOS_OK, "append");
    CHECK(neuronos_memory_core_get(m, "human", &text) == NEURONOS_OK && strcmp(text, "Name: Ada.\nLikes tea.") == 0, "append on a new line: '%s'", text);
    free(text);
    CHECK(neuronos_memory_core_append(m, "persona", "I am helpful.") == NEURONOS_OK, "append to empty");
    CHECK(neuronos_memory_core_get(m, "persona", &text) == NEURONOS_OK && strcmp(text, "I am helpful.") == 0, "no newline on empty: '%s'", text);
    free(text);

    /* replace: exactly once */
    CHECK(neuronos_memory_core_replace(m, "human", "tea", "coffee") == NEURONOS_OK, "replace: %s", neuronos_memory_last_error(m));
    CHECK(neuronos_memory_core_get(m, "human", &text) == NEURONOS_OK && strcmp(text, "Name: Ada.\nLikes coffee.") == 0, "replaced: '%s'", text);
    free(text);
    CHECK(neuronos_memory_core_replace(m, "human", "tea", "x") == NEURONOS_ERR_INVALID_ARGUMENT, "old text must occur");
    CHECK(strstr(neuronos_memory_last_error(m), "not found") != NULL, "message: %s", neuronos_memory_last_error(m));
    CHECK(neuronos_memory_core_replace(m, "human", "e", "E") == NEURONOS_ERR_INVALID_ARGUMENT, "ambiguous old text");
    CHECK(strstr(neuronos_memory_last_error(m), "times") != NULL, "message: %s", neuronos_memory_last_error(m));
    CHECK(neuronos_memory_core_replace(m, "human", "", "E") == NEURONOS_ERR_INVALID_ARGUMENT, "empty old text");
    CHECK(neuronos_memory_core_replace(m, "nobody", "a", "b") == NEURONOS_ERR_INVALID_ARGUMENT, "unknown block");
    CHECK(neuronos_memory_core_replace(m, "human", " coffee", "") == NEURONOS_OK, "replace with nothing");
    CHECK(neuronos_memory_core_get(m, "human", &text) == NEURONOS_OK && strcmp(text, "Name: Ada.\nLikes.") == 0, "deleted part: '%s'", text);
    free(text);

    /* the limit counts characters, not bytes: 2000 CJK characters (6000 bytes) fit, 2001 do not */
    char *cjk = malloc(3 * 2001 + 1);
    for (int i = 0; i < 2001; i++) memcpy(cjk + 3 * i, "字", 3);
    cjk[3 * 2000] = 0;
    CHECK(neuronos_memory_core_set(m, "persona", cjk) == NEURONOS_OK, "2000 characters fit: %s", neuronos_memory_last_error(m));
    cjk[3 * 2000] = "字"[0];
    cjk[3 * 2001] = 0;
    CHECK(neuronos_memory_core_set(m, "persona", cjk) == NEURONOS_ERR_INVALID_ARGUMENT, "2001 characters do not");
    CHECK(strstr(neuronos_memory_last_error(m), "2001") && strstr(neuronos_memory_last_error(m), "limit is 2000"),
          "readable message: %s", neuronos_memory_last_error(m));
    CHECK(neuronos_memory_core_append(m, "persona", "x") == NEURONOS_ERR_INVALID_ARGUMENT, "append past the limit");
    CHECK(neuronos_memory_core_get(m, "persona", &text) == NEURONOS_OK && strlen(text) == 6000, "unchanged after refusals");
    free(text);
    free(cjk);

    /* site-defined blocks */
    CHECK(neuronos_memory_core_define(m, "site.faq", 50) == NEURONOS_OK, "define");
    CHECK(neuronos_memory_core_define(m, "site.faq", 50) == NEURONOS_OK, "define again (idempotent)");
    CHECK(neuronos_memory_core_set(m, "site.faq", "Opening hours: 9 to 5, Monday to Friday.") == NEURONOS_OK, "set within 50");
    CHECK(neuronos_memory_core_set(m, "site.faq", "Opening hours: 9 to 5, Monday to Friday, and weekends.") == NEURONOS_ERR_INVALID_ARGUMENT,
          "over 50");
    CHECK(neuronos_memory_core_define(m, "site.faq", 10) == NEURONOS_ERR_INVALID_ARGUMENT, "limit below the current text refused");
    CHECK(neuronos_memory_core_define(m, "site.faq", 100) == NEURONOS_OK, "limit raised");
    CHECK(neuronos_memory_core_define(m, "site.faq", NEURONOS_MEMORY_MAX_CORE_LIMIT + 1) == NEURONOS_ERR_INVALID_ARGUMENT, "limit cap");
    CHECK(neuronos_memory_core_set(m, "notes", "made by set") == NEURONOS_OK, "set creates a block");
    CHECK(neuronos_memory_core_get_all(m, &json) == NEURONOS_OK && jlen(json) == 4, "four blocks");
    CHECK(jeq(json, "$[2].label", "site.faq") && jint(json, "$[2].limit") == 100 && jeq(json, "$[3].label", "notes") &&
              jint(json, "$[3].limit") == 2000 && jint(json, "$[0].chars") == 2000,
          "order of creation, limits, chars: %s", json);
    free(json);

    /* labels */
    const char *bad_labels[] = {"", "has space", "ünï", "a/b", "x\"y", NULL};
    for (int i = 0; bad_labels[i]; i++)
        CHECK(neuronos_memory_core_set(m, bad_labels[i], "x") == NEURONOS_ERR_INVALID_ARGUMENT, "label '%s' refused", bad_labels[i]);
    CHECK(neuronos_memory_core_set(m, NULL, "x") == NEURONOS_ERR_INVALID_ARGUMENT, "NULL label");
    CHECK(neuronos_memory_core_set(m, "human", NULL) == NEURONOS_ERR_INVALID_ARGUMENT, "NULL text");
    char long_label[80];
    memset(long_label, 'a', 65);
    long_label[65] = 0;
    CHECK(neuronos_memory_core_define(m, long_label, 0) == NEURONOS_ERR_INVALID_ARGUMENT, "65-byte label");
    long_label[64] = 0;
    CHECK(neuronos_memory_core_define(m, long_label, 0) == NEURONOS_OK, "64-byte label");

    /* get / delete */
    CHECK(neuronos_memory_core_get(m, "nobody", &text) == NEURONOS_ERR_INVALID_ARGUMENT && text == NULL, "get unknown");
    CHECK(neuronos_memory_core_delete(m, "notes") == NEURONOS_OK, "delete");
    CHECK(neuronos_memory_core_delete(m, "notes") == NEURONOS_ERR_INVALID_ARGUMENT, "delete twice");
    CHECK(neuronos_memory_core_get(m, "notes", &text) == NEURONOS_ERR_INVALID_ARGUMENT, "gone");

    /* at most NEURONOS_MEMORY_MAX_CORE_BLOCKS blocks (4 now) */
    int made = 0;
    for (int i = 0; i < NEURONOS_MEMORY_MAX_CORE_BLOCKS + 5; i++) {
        char label[16];
        snprintf(label, sizeof label, "b%d", i);
        made += neuronos_memory_core_define(m, label, 10) == NEURONOS_OK;
    }
    CHECK(made == NEURONOS_MEMORY_MAX_CORE_BLOCKS - 4, "blocks capped: %d made", made);
    CHECK(strstr(neuronos_memory_last_error(m), "already") != NULL, "message: %s", neuronos_memory_last_error(m));

    /* clear brings back exactly the defaults */
    CHECK(neuronos_memory_clear(m) == NEURONOS_OK, "clear");
    CHECK(neuronos_memory_core_get_all(m, &json) == NEURONOS_OK && jlen(json) == 2 && jeq(json, "$[0].text", "") &&
              jeq(json, "$[1].label", "human"),
          "defaults after clear: %s", json);
    free(json);
    neuronos_memory_close(m);
}

/* ----------------------------------------------------------------- recall ----------- */

static void test_recall(void) {
    g_test = "memory recall";
    neuronos_memory *m = open_mem();
    if (!m) return;
    int64_t id1 = 0, id2 = 0, id3 = 0, id4 = 0;
    CHECK(neuronos_memory_recall_add(m, "c1", "user", "My cat is called Miso.", 1000, &id1) == NEURONOS_OK, "add: %s", neuronos_memory_last_error(m));
    CHECK(neuronos_memory_recall_add(m, "c1", "assistant", "Miso is a lovely name for a cat!", 2000, &id2) == NEURONOS_OK, "add 2");
    CHECK(neuronos_memory_recall_add(m, "c2", "user", "What is the weather in Paris?", 3000, &id3) == NEURONOS_OK, "add 3");
    CHECK(neuronos_memory_recall_add(m, "c1", "user", "", 0, &id4) == NEURONOS_OK, "empty content, time now");
    CHECK(id1 > 0 && id2 > id1 && id3 > id2 && id4 > id3, "ids increase");

    char *json = NULL;
    CHECK(neuronos_memory_recall_recent(m, "c1", 2, &json) == NEURONOS_OK && jlen(json) == 2, "recent 2: %s", json);
    CHECK(jint(json, "$[0].id") == id2 && jint(json, "$[1].id") == id4 && jint(json, "$[1].time") > 1000000000000LL,
          "oldest first, the last two; 'now' is real time: %s", json);
    free(json);
    CHECK(neuronos_memory_recall_recent(m, "nobody", 10, &json) == NEURONOS_OK && jlen(json) == 0, "unknown conversation: []");
    free(json);

    CHECK(neuronos_memory_recall_search(m, "cat", NULL, 10, &json) == NEURONOS_OK && jlen(json) == 2, "search: %s", json);
    CHECK(jeq(json, "$[0].conversation_id", "c1") && jint(json, "$[0].score") >= 0 && q2int("SELECT json_extract(?1, '$[0].score') > 0", json, NULL) == 1,
          "fields and positive score: %s", json);
    free(json);
    CHECK(neuronos_memory_recall_search(m, "MISO", "c1", 10, &json) == NEURONOS_OK && jlen(json) == 2, "case-insensitive, filtered");
    free(json);
    CHECK(neuronos_memory_recall_search(m, "miso", "c2", 10, &json) == NEURONOS_OK && jlen(json) == 0, "other conversation: none");
    free(json);
    CHECK(neuronos_memory_recall_search(m, "paris weather", NULL, 1, &json) == NEURONOS_OK && jlen(json) == 1 && jint(json, "$[0].id") == id3,
          "limit 1: %s", json);
    free(json);

    CHECK(neuronos_memory_recall_conversations(m, 0, 0, &json) == NEURONOS_OK && jlen(json) == 2, "conversations: %s", json);
    CHECK(jeq(json, "$[0].conversation_id", "c1") && jint(json, "$[0].messages") == 3 && jint(json, "$[0].first_time") == 1000 &&
              jeq(json, "$[1].conversation_id", "c2"),
          "most recent first: %s", json);
    free(json);

    /* bad input */
    CHECK(neuronos_memory_recall_add(m, "c1", "us er", "x", 0, NULL) == NEURONOS_ERR_INVALID_ARGUMENT, "role with a space");
    CHECK(neuronos_memory_recall_add(m, "c1", "", "x", 0, NULL) == NEURONOS_ERR_INVALID_ARGUMENT, "empty role");
    CHECK(neuronos_memory_recall_add(m, "", "user", "x", 0, NULL) == NEURONOS_ERR_INVALID_ARGUMENT, "empty conversation");
    CHECK(neuronos_memory_recall_add(m, "c\xFF", "user", "x", 0, NULL) == NEURONOS_ERR_INVALID_ARGUMENT, "invalid UTF-8 id");
    CHECK(neuronos_memory_recall_add(m, "c1", "user", NULL, 0, NULL) == NEURONOS_ERR_INVALID_ARGUMENT, "NULL content");
    char *huge = malloc(NEURONOS_MEMORY_MAX_TEXT + 2);
    memset(huge, 'a', NEURONOS_MEMORY_MAX_TEXT + 1);
    huge[NEURONOS_MEMORY_MAX_TEXT + 1] = 0;
    CHECK(neuronos_memory_recall_add(m, "c1", "user", huge, 0, NULL) == NEURONOS_ERR_INVALID_ARGUMENT, "over 1 MiB");
    huge[NEURONOS_MEMORY_MAX_TEXT] = 0;
    CHECK(neuronos_memory_recall_add(m, "c9", "user", huge, 0, NULL) == NEURONOS_OK, "exactly 1 MiB");
    free(huge);

    /* invalid UTF-8 content is stored repaired: the export stays valid JSON */
    int64_t idb;
    CHECK(neuronos_memory_recall_add(m, "c3", "tool", "ok \xC3\x28 \xF0\x9F\x98 end", 0, &idb) == NEURONOS_OK, "invalid UTF-8 content");
    CHECK(neuronos_memory_recall_recent(m, "c3", 1, &json) == NEURONOS_OK && jeq(json, "$[0].content", "ok \xEF\xBF\xBD( \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD end"),
          "replaced by U+FFFD: %s", json);
    free(json);

    int64_t n = -1;
    CHECK(neuronos_memory_recall_delete_conversation(m, "c1", &n) == NEURONOS_OK && n == 3, "delete conversation: %lld", (long long)n);
    CHECK(neuronos_memory_recall_search(m, "miso", NULL, 10, &json) == NEURONOS_OK && jlen(json) == 0, "its messages are not found any more");
    free(json);
    CHECK(neuronos_memory_recall_delete_conversation(m, "c1", &n) == NEURONOS_OK && n == 0, "again: 0, not an error");
    CHECK(neuronos_memory_check(m) == NEURONOS_OK, "integrity: %s", neuronos_memory_last_error(m));
    neuronos_memory_close(m);
}

/* --------------------------------------------------------------- archival ----------- */

static void test_archival(void) {
    g_test = "memory archival";
    neuronos_memory *m = open_mem();
    if (!m) return;
    int64_t id = 0;
    CHECK(neuronos_memory_archival_insert(m, "Ada's birthday is on 10 December.", "[\"birthday\", \" family \", \"birthday\"]", 5, &id) ==
              NEURONOS_OK && id > 0,
          "insert: %s", neuronos_memory_last_error(m));
    CHECK(neuronos_memory_archival_insert(m, "Ada prefers green tea.", NULL, 6, NULL) == NEURONOS_OK, "no tags");
    CHECK(neuronos_memory_archival_insert(m, "The office moved to Lyon.", "", 7, NULL) == NEURONOS_OK, "empty tags");
    char *json = NULL;
    CHECK(neuronos_memory_list(m, NEURONOS_MEMORY_ARCHIVAL, 0, 0, &json) == NEURONOS_OK && jlen(json) == 3, "list: %s", json);
    CHECK(jeq(json, "$[2].tags", "[\"birthday\",\"family\"]") && jeq(json, "$[0].tags", "[]") && jint(json, "$[2].time") == 5,
          "tags trimmed, deduplicated; newest first: %s", json);
    free(json);

    CHECK(neuronos_memory_archival_search(m, "family", 10, &json) == NEURONOS_OK && jlen(json) == 1 && jint(json, "$[0].id") == id,
          "tags are searchable: %s", json);
    free(json);
    CHECK(neuronos_memory_archival_search(m, "ada tea", 10, &json) == NEURONOS_OK && jlen(json) == 2,
          "search: %s", json);
    CHECK(jeq(json, "$[0].text", "Ada prefers green tea.") && jeq(json, "$[0].snippet", "**Ada** prefers green **tea**."),
          "best first, snippet marks matches: %s", json);
    free(json);

    const char *bad_tags[] = {"{}", "[1]", "[\"\"]", "[\"   \"]", "not json", "[\"a\",", "\"tag\"", NULL};
    for (int i = 0; bad_tags[i]; i++) {
        CHECK(neuronos_memory_archival_insert(m, "x", bad_tags[i], 0, NULL) == NEURONOS_ERR_INVALID_ARGUMENT, "tags %s refused", bad_tags[i]);
    }
    CHECK(strstr(neuronos_memory_last_error(m), "tags") != NULL, "message: %s", neuronos_memory_last_error(m));
    char tags[1024] = "[";
    for (int i = 0; i < NEURONOS_MEMORY_MAX_TAGS + 1; i++) snprintf(tags + strlen(tags), sizeof tags - strlen(tags), "%s\"t%d\"", i ? "," : "", i);
    strcat(tags, "]");
    CHECK(neuronos_memory_archival_insert(m, "x", tags, 0, NULL) == NEURONOS_ERR_INVALID_ARGUMENT, "33 tags refused");
    CHECK(neuronos_memory_archival_insert(m, NULL, NULL, 0, NULL) == NEURONOS_ERR_INVALID_ARGUMENT, "NULL text");
    CHECK(neuronos_memory_list(m, NEURONOS_MEMORY_ARCHIVAL, 0, 0, &json) == NEURONOS_OK && jlen(json) == 3, "refusals stored nothing");
    free(json);

    CHECK(neuronos_memory_delete(m, NEURONOS_MEMORY_ARCHIVAL, id) == NEURONOS_OK, "delete");
    CHECK(neuronos_memory_delete(m, NEURONOS_MEMORY_ARCHIVAL, id) == NEURONOS_ERR_INVALID_ARGUMENT, "delete twice");
    CHECK(neuronos_memory_archival_search(m, "birthday", 10, &json) == NEURONOS_OK && jlen(json) == 0, "deleted: not found");
    free(json);
    int64_t id2 = 0;
    CHECK(neuronos_memory_archival_insert(m, "new", NULL, 0, &id2) == NEURONOS_OK && id2 > id + 2, "ids are not reused");
    CHECK(neuronos_memory_check(m) == NEURONOS_OK, "integrity: %s", neuronos_memory_last_error(m));
    neuronos_memory_close(m);
}

/* --------------------------------------------------------- hostile queries ---------- */

typedef struct {
    const char *name, *query;
    int hits; /* -1: any number; otherwise the exact number of archival hits in the corpus below */
} hostile_query;

static void test_hostile_queries(void) {
    g_test = "memory hostile queries";
    neuronos_memory *m = open_mem();
    if (!m) return;
    const char *corpus[] = {
        "The cat sat on the mat.", "A dog and a cat are friends.", "Ada likes tea, not coffee.", "東京 is the capital of Japan.",
        "Emoji party 🎉 tonight", "Unbalanced (parens are fine here", "col: value pairs NEAR the end", "Café au lait in Paris",
    };
    for (size_t i = 0; i < sizeof corpus / sizeof corpus[0]; i++) {
        CHECK(neuronos_memory_archival_insert(m, corpus[i], "[\"corpus\"]", 0, NULL) == NEURONOS_OK, "corpus %zu", i);
        CHECK(neuronos_memory_recall_add(m, "h", "user", corpus[i], 0, NULL) == NEURONOS_OK, "corpus %zu", i);
    }
    /* 10 KB of text, 10 KB of quotes, 10 KB of parentheses, binary-ish bytes, invalid UTF-8 */
    char *words10k = malloc(10241), *quotes10k = malloc(10241), *parens10k = malloc(10241), *over = malloc(20001);
    for (int i = 0; i < 10240; i++) {
        words10k[i] = "cat dog tea "[i % 12];
        quotes10k[i] = i % 3 ? '"' : '\'';
        parens10k[i] = i % 2 ? '(' : ')';
    }
    words10k[10240] = quotes10k[10240] = parens10k[10240] = 0;
    memset(over, 'x', 20000); /* one 20 KB word: only its first 10 KB is read */
    over[20000] = 0;
    char binary[256];
    for (int i = 0; i < 255; i++) binary[i] = (char)(i + 1);
    binary[255] = 0;

    const hostile_query qs[] = {
        {"double quote", "\"", 0},
        {"single quote", "'", 0},
        {"quoted word", "\"cat\"", 2},
        {"unbalanced quote", "\"cat", 2},
        {"NEAR(", "NEAR(", 1}, /* the word "near" is in the corpus */
        {"NEAR/2", "a NEAR/2 b", 2}, /* "a", "near", "2", "b": "a" and "near" occur */
        {"NEAR group", "NEAR(cat dog, 2)", 3},
        {"star", "*", 0},
        {"prefix star", "ca*", 0},
        {"minus", "-x", 0},
        {"minus word", "-cat", 2},
        {"caret", "^", 0},
        {"caret word", "^cat", 2},
        {"column filter", "col:x", 1},
        {"column set", "{text tags}: cat", 2},
        {"AND", "AND", 1},  /* the word "and" */
        {"OR", "OR", 0},
        {"NOT", "NOT", 1},  /* the word "not" */
        {"cat AND NOT dog", "cat AND NOT dog", 3},
        {"open paren", "(", 0},
        {"close paren", ")", 0},
        {"unbalanced parens", "((cat) dog", 2},
        {"empty", "", 0},
        {"whitespace only", " \t\r\n ", 0},
        {"10 KB of text", words10k, 3},
        {"10 KB of quotes", quotes10k, 0},
        {"10 KB of parens", parens10k, 0},
        {"20 KB word", over, 0},
        {"binary-ish bytes 1..255", binary, -1},
        {"invalid UTF-8", "\xC3\x28\xA0\xA1\xE2\x28\xA1\xF0\x28\x8C\xBC\xFF\xFE", 0},
        {"truncated UTF-8", "caf\xC3", 0},
        {"emoji", "🎉", 0},
        {"emoji and word", "🎉party", 1},
        {"CJK", "東京", 1},
        {"diacritics", "cafe", 1},
        {"SQL injection", "'); DROP TABLE archival; --", 0},
        {"FTS commands", "delete-all integrity-check rebuild", 0},
        {"rank option", "rank:bm25(10.0)", 0},
        {"percent and escapes", "%s %n \\x00 \\\" \\'", -1},
        {"plus and colons", "+++:::", 0},
        {"many operators", "cat OR OR AND NOT NEAR( \" * ^ : - + ( ) { }", 4},
        {"corpus tag", "corpus", 8},
    };
    const size_t nq = sizeof qs / sizeof qs[0];
    CHECK(nq >= 30, "at least 30 hostile queries (%zu)", nq);
    for (size_t i = 0; i < nq; i++) {
        char *a = NULL, *r = NULL, *both = NULL;
        const neuronos_status sa = neuronos_memory_archival_search(m, qs[i].query, 50, &a);
        const neuronos_status sr = neuronos_memory_recall_search(m, qs[i].query, NULL, 50, &r);
        const neuronos_status sb = neuronos_memory_search(m, qs[i].query, 50, &both);
        CHECK(sa == NEURONOS_OK && is_json_array(a), "archival '%s': %s %s", qs[i].name, neuronos_status_code(sa), neuronos_memory_last_error(m));
        CHECK(sr == NEURONOS_OK && is_json_array(r), "recall '%s': %s %s", qs[i].name, neuronos_status_code(sr), neuronos_memory_last_error(m));
        CHECK(sb == NEURONOS_OK && is_json_array(both), "both '%s': %s %s", qs[i].name, neuronos_status_code(sb), neuronos_memory_last_error(m));
        if (qs[i].hits >= 0) {
            CHECK(jlen(a) == qs[i].hits, "'%s': %lld archival hits, want %d", qs[i].name, jlen(a), qs[i].hits);
            /* recall has the same texts without the "corpus" tag */
            const int want_r = strcmp(qs[i].name, "corpus tag") == 0 ? 0 : qs[i].hits;
            CHECK(jlen(r) == want_r, "'%s': %lld recall hits, want %d", qs[i].name, jlen(r), want_r);
            CHECK(jlen(both) == qs[i].hits + want_r, "'%s': %lld combined hits", qs[i].name, jlen(both));
        }
        free(a), free(r), free(both);
    }
    /* the store is intact after all of it */
    char *stats = NULL;
    CHECK(neuronos_memory_stats(m, &stats) == NEURONOS_OK && jint(stats, "$.archival_entries") == 8 && jint(stats, "$.recall_messages") == 8,
          "nothing dropped: %s", stats);
    free(stats);
    CHECK(neuronos_memory_check(m) == NEURONOS_OK, "integrity: %s", neuronos_memory_last_error(m));
    free(words10k), free(quotes10k), free(parens10k), free(over);
    neuronos_memory_close(m);
}

/* ---------------------------------------------------------------- ranking ----------- */

static void test_ranking(void) {
    g_test = "memory bm25 ranking";
    neuronos_memory *m = open_mem();
    if (!m) return;
    const char *docs[] = {
        /* 1 */ "apple pie with cinnamon and sugar",
        /* 2 */ "apple and banana smoothie",
        /* 3 */ "banana bread",
        /* 4 */ "the weather today is sunny",
        /* 5 */ "apple",
        /* 6 */ "the apple",
        /* fillers, so that no word is in half the documents (bm25 gives those no weight) */
        "trains run late on sundays", "music festival in the park", "a quiet evening at home", "reading a long novel",
        "fixing the garden fence", "learning to play chess",
    };
    const int n_docs = (int)(sizeof docs / sizeof docs[0]);
    int64_t ids[16];
    for (int i = 0; i < n_docs; i++) CHECK(neuronos_memory_archival_insert(m, docs[i], NULL, 0, &ids[i]) == NEURONOS_OK, "doc %d", i);
    char *json = NULL;
    /* both words beat one word */
    CHECK(neuronos_memory_archival_search(m, "apple banana", 10, &json) == NEURONOS_OK && jlen(json) == 5, "apple banana: %s", json);
    CHECK(jint(json, "$[0].id") == ids[1], "the doc with both words first: %s", json);
    CHECK(q2int("SELECT count(*) FROM json_each(?1) AS a JOIN json_each(?1) AS b ON b.key = a.key + 1 "
                "WHERE json_extract(a.value, '$.score') < json_extract(b.value, '$.score')",
                json, NULL) == 0,
          "scores never increase down the list");
    free(json);
    /* a short document beats a long one for the same word */
    CHECK(neuronos_memory_archival_search(m, "apple", 10, &json) == NEURONOS_OK && jlen(json) == 4, "apple: %s", json);
    CHECK(jint(json, "$[0].id") == ids[4] && jint(json, "$[3].id") == ids[0], "shortest first, longest last: %s", json);
    free(json);
    /* a rare word outweighs a common one */
    CHECK(neuronos_memory_archival_search(m, "the cinnamon", 10, &json) == NEURONOS_OK && jint(json, "$[0].id") == ids[0],
          "rare word wins: %s", json);
    free(json);
    /* limits */
    CHECK(neuronos_memory_archival_search(m, "apple", 2, &json) == NEURONOS_OK && jlen(json) == 2 && jint(json, "$[0].id") == ids[4], "limit 2");
    free(json);
    CHECK(neuronos_memory_archival_search(m, "apple", -5, &json) == NEURONOS_OK && jlen(json) == 4, "limit <= 0: default");
    free(json);

    /* combined search merges both tiers by score */
    const char *chat[] = {"banana", "hello there", "how are you", "fine thanks", "see you soon"};
    for (int i = 0; i < 5; i++) CHECK(neuronos_memory_recall_add(m, "c", "user", chat[i], 0, NULL) == NEURONOS_OK, "recall doc %d", i);
    CHECK(neuronos_memory_search(m, "banana", 10, &json) == NEURONOS_OK && jlen(json) == 3, "combined: %s", json);
    CHECK(q2int("SELECT count(*) FROM json_each(?1) WHERE value ->> '$.tier' = 'recall' AND value ->> '$.content' = 'banana' "
                "AND value ->> '$.role' = 'user'", json, NULL) == 1 &&
              q2int("SELECT count(*) FROM json_each(?1) WHERE value ->> '$.tier' = 'archival' AND json_type(value, '$.tags') = 'array' "
                    "AND value ->> '$.text' LIKE '%banana%'", json, NULL) == 2,
          "both tiers, with their own fields: %s", json);
    CHECK(q2int("SELECT count(*) FROM json_each(?1) AS a JOIN json_each(?1) AS b ON b.key = a.key + 1 "
                "WHERE json_extract(a.value, '$.score') < json_extract(b.value, '$.score')",
                json, NULL) == 0,
          "best first across tiers: %s", json);
    free(json);
    neuronos_memory_close(m);
}

/* ----------------------------------------------------- list / delete / stats -------- */

static void test_list_delete_stats(void) {
    g_test = "memory list delete stats";
    neuronos_memory *m = open_mem();
    if (!m) return;
    int64_t ids[12];
    for (int i = 0; i < 12; i++) {
        char text[32];
        snprintf(text, sizeof text, "message %d", i);
        CHECK(neuronos_memory_recall_add(m, i < 6 ? "a" : "b", i % 2 ? "assistant" : "user", text, 1000 + i, &ids[i]) == NEURONOS_OK, "add %d", i);
    }
    char *json = NULL;
    CHECK(neuronos_memory_list(m, NEURONOS_MEMORY_RECALL, 0, 5, &json) == NEURONOS_OK && jlen(json) == 5 && jint(json, "$[0].id") == ids[11] &&
              jint(json, "$[4].id") == ids[7],
          "first page, newest first: %s", json);
    free(json);
    CHECK(neuronos_memory_list(m, NEURONOS_MEMORY_RECALL, 10, 5, &json) == NEURONOS_OK && jlen(json) == 2 && jint(json, "$[1].id") == ids[0],
          "last page: %s", json);
    free(json);
    CHECK(neuronos_memory_list(m, NEURONOS_MEMORY_RECALL, 50, 5, &json) == NEURONOS_OK && jlen(json) == 0, "past the end: []");
    free(json);
    CHECK(neuronos_memory_list(m, NEURONOS_MEMORY_CORE, 1, 1, &json) == NEURONOS_OK && jlen(json) == 1 && jeq(json, "$[0].label", "human"),
          "core page: %s", json);
    free(json);
    CHECK(neuronos_memory_list(m, (neuronos_memory_tier)7, 0, 5, &json) == NEURONOS_ERR_INVALID_ARGUMENT && json == NULL, "unknown tier");

    CHECK(neuronos_memory_delete(m, NEURONOS_MEMORY_RECALL, ids[3]) == NEURONOS_OK, "delete message");
    CHECK(neuronos_memory_delete(m, NEURONOS_MEMORY_RECALL, ids[3]) == NEURONOS_ERR_INVALID_ARGUMENT, "delete it again");
    CHECK(strstr(neuronos_memory_last_error(m), "no recall message") != NULL, "message: %s", neuronos_memory_last_error(m));
    CHECK(neuronos_memory_delete(m, NEURONOS_MEMORY_CORE, 1) == NEURONOS_ERR_INVALID_ARGUMENT, "core by id refused");
    CHECK(neuronos_memory_delete(m, NEURONOS_MEMORY_RECALL, -1) == NEURONOS_ERR_INVALID_ARGUMENT, "negative id");
    CHECK(neuronos_memory_recall_search(m, "message", NULL, 100, &json) == NEURONOS_OK && jlen(json) == 11, "11 left: %lld", jlen(json));
    free(json);

    CHECK(neuronos_memory_archival_insert(m, "fact one", "[\"x\"]", 0, NULL) == NEURONOS_OK, "fact");
    CHECK(neuronos_memory_core_set(m, "human", "12345") == NEURONOS_OK, "core text");
    char *stats = NULL;
    CHECK(neuronos_memory_stats(m, &stats) == NEURONOS_OK, "stats");
    CHECK(jint(stats, "$.schema_version") == NEURONOS_MEMORY_SCHEMA_VERSION && jint(stats, "$.core_blocks") == 2 &&
              jint(stats, "$.core_chars") == 5 && jint(stats, "$.recall_messages") == 11 && jint(stats, "$.conversations") == 2 &&
              jint(stats, "$.archival_entries") == 1 && jint(stats, "$.bytes") > 0,
          "counts: %s", stats);
    free(stats);

    /* the seed's simple API */
    int64_t id = 0;
    CHECK(neuronos_memory_store(m, NEURONOS_MEMORY_CORE, "persona", "I am Neuron.", &id) == NEURONOS_OK && id == 0, "store core");
    CHECK(neuronos_memory_store(m, NEURONOS_MEMORY_RECALL, "user", "seed message about zebras", &id) == NEURONOS_OK && id > 0, "store recall");
    CHECK(neuronos_memory_recall_recent(m, "default", 5, &json) == NEURONOS_OK && jlen(json) == 1 && jeq(json, "$[0].role", "user"),
          "in conversation 'default': %s", json);
    free(json);
    CHECK(neuronos_memory_store(m, NEURONOS_MEMORY_ARCHIVAL, "animals, stripes ,, ", "zebras have stripes", &id) == NEURONOS_OK && id > 0,
          "store archival with comma tags: %s", neuronos_memory_last_error(m));
    CHECK(neuronos_memory_store(m, NEURONOS_MEMORY_ARCHIVAL, "[\"json\"]", "tagged by JSON", NULL) == NEURONOS_OK, "store with JSON tags");
    CHECK(neuronos_memory_store(m, NEURONOS_MEMORY_ARCHIVAL, "", "untagged", NULL) == NEURONOS_OK, "store without tags");
    CHECK(neuronos_memory_store(m, (neuronos_memory_tier)3, "k", "v", NULL) == NEURONOS_ERR_INVALID_ARGUMENT, "unknown tier");
    CHECK(neuronos_memory_list(m, NEURONOS_MEMORY_ARCHIVAL, 0, 3, &json) == NEURONOS_OK && jeq(json, "$[2].tags", "[\"animals\",\"stripes\"]") &&
              jeq(json, "$[1].tags", "[\"json\"]") && jeq(json, "$[0].tags", "[]"),
          "tags: %s", json);
    free(json);
    CHECK(neuronos_memory_search(m, "zebras", 10, &json) == NEURONOS_OK && jlen(json) == 2, "search across tiers: %s", json);
    free(json);
    CHECK(neuronos_memory_core_get(m, "persona", &json) == NEURONOS_OK && strcmp(json, "I am Neuron.") == 0, "core stored");
    free(json);
    CHECK(neuronos_memory_check(m) == NEURONOS_OK, "integrity: %s", neuronos_memory_last_error(m));
    neuronos_memory_close(m);
}

/* --------------------------------------------------------- export / import ---------- */

static void fill(neuronos_memory *m) {
    CHECK(neuronos_memory_core_set(m, "persona", "I am \"Neuron\", a helper.\nTabs\there; emoji 🎉; CJK 字.") == NEURONOS_OK, "fill persona");
    CHECK(neuronos_memory_core_set(m, "human", "Ada, likes tea.") == NEURONOS_OK, "fill human");
    CHECK(neuronos_memory_core_define(m, "site", 300) == NEURONOS_OK, "fill site");
    CHECK(neuronos_memory_core_set(m, "site", "Shop hours 9-5.") == NEURONOS_OK, "fill site text");
    for (int i = 0; i < 20; i++) {
        char text[64], conv[16];
        snprintf(text, sizeof text, "message %d with \\backslash and \x01 control", i);
        snprintf(conv, sizeof conv, "conv-%d", i % 3);
        CHECK(neuronos_memory_recall_add(m, conv, i % 2 ? "assistant" : "user", text, 1700000000000LL + i, NULL) == NEURONOS_OK, "fill recall");
    }
    CHECK(neuronos_memory_archival_insert(m, "Ada's cat is Miso.", "[\"pets\",\"ada\"]", 1700000000100LL, NULL) == NEURONOS_OK, "fill archival");
    CHECK(neuronos_memory_archival_insert(m, "Café opens at 8.", NULL, 1700000000200LL, NULL) == NEURONOS_OK, "fill archival 2");
}

static void test_export_import(void) {
    g_test = "memory export import";
    neuronos_memory *m = open_mem();
    if (!m) return;
    fill(m);
    /* a gap in the ids, which the round trip must keep */
    CHECK(neuronos_memory_delete(m, NEURONOS_MEMORY_RECALL, 5) == NEURONOS_OK, "gap");
    char *a = NULL, *b = NULL, *c = NULL, *report = NULL;
    CHECK(neuronos_memory_export(m, &a) == NEURONOS_OK && a, "export: %s", neuronos_memory_last_error(m));
    CHECK(jeq(a, "$.format", "neuronos-memory") && jint(a, "$.version") == NEURONOS_MEMORY_EXPORT_VERSION,
          "envelope");
    CHECK(q2int("SELECT json_array_length(?1, '$.core')", a, NULL) == 3 && q2int("SELECT json_array_length(?1, '$.recall')", a, NULL) == 19 &&
              q2int("SELECT json_array_length(?1, '$.archival')", a, NULL) == 2,
          "3 blocks, 19 messages, 2 entries");
    CHECK(jeq(a, "$.core[0].text", "I am \"Neuron\", a helper.\nTabs\there; emoji 🎉; CJK 字.") && jint(a, "$.core[2].limit") == 300 &&
              jeq(a, "$.archival[0].tags", "[\"pets\",\"ada\"]") && jint(a, "$.recall[4].id") == 6,
          "contents exact");

    CHECK(neuronos_memory_clear(m) == NEURONOS_OK, "clear");
    CHECK(neuronos_memory_export(m, &b) == NEURONOS_OK && strcmp(a, b) != 0, "cleared export differs");
    CHECK(q2int("SELECT json_array_length(?1, '$.recall') + json_array_length(?1, '$.archival')", b, NULL) == 0 &&
              q2int("SELECT json_array_length(?1, '$.core')", b, NULL) == 2,
          "cleared: defaults only: %s", b);
    free(b);
    b = NULL;
    char *json = NULL;
    CHECK(neuronos_memory_archival_search(m, "miso", 10, &json) == NEURONOS_OK && jlen(json) == 0, "cleared index");
    free(json);

    CHECK(neuronos_memory_import(m, a, NEURONOS_MEMORY_IMPORT_REPLACE, &report) == NEURONOS_OK, "import: %s", neuronos_memory_last_error(m));
    CHECK(jint(report, "$.core") == 3 && jint(report, "$.recall") == 19 && jint(report, "$.archival") == 2 && jint(report, "$.skipped") == 0,
          "report: %s", report);
    free(report);
    CHECK(neuronos_memory_export(m, &b) == NEURONOS_OK && strcmp(a, b) == 0, "export → clear → import gives the same export\n%s\n%s", a, b);
    free(b);
    CHECK(neuronos_memory_archival_search(m, "miso", 10, &json) == NEURONOS_OK && jlen(json) == 1, "imported text is searchable");
    free(json);
    CHECK(neuronos_memory_check(m) == NEURONOS_OK, "integrity after import: %s", neuronos_memory_last_error(m));

    /* merge of the same document: every element is a duplicate, nothing changes */
    CHECK(neuronos_memory_import(m, a, NEURONOS_MEMORY_IMPORT_MERGE, &report) == NEURONOS_OK, "merge: %s", neuronos_memory_last_error(m));
    CHECK(jint(report, "$.skipped") == 21 && jint(report, "$.recall") == 0 && jint(report, "$.core") == 3, "all skipped: %s", report);
    free(report);
    CHECK(neuronos_memory_export(m, &b) == NEURONOS_OK && strcmp(a, b) == 0, "merge twice adds nothing");
    free(b);

    /* merge into another store: contents added, core overwritten, new ids */
    neuronos_memory *m2 = open_mem();
    if (m2) {
        CHECK(neuronos_memory_recall_add(m2, "mine", "user", "already here", 5, NULL) == NEURONOS_OK, "m2 own message");
        CHECK(neuronos_memory_import(m2, a, NEURONOS_MEMORY_IMPORT_MERGE, NULL) == NEURONOS_OK, "merge into m2: %s", neuronos_memory_last_error(m2));
        char *stats = NULL;
        CHECK(neuronos_memory_stats(m2, &stats) == NEURONOS_OK && jint(stats, "$.recall_messages") == 20 && jint(stats, "$.archival_entries") == 2 &&
                  jint(stats, "$.core_blocks") == 3,
              "merged counts: %s", stats);
        free(stats);
        CHECK(neuronos_memory_core_get(m2, "human", &json) == NEURONOS_OK && strcmp(json, "Ada, likes tea.") == 0, "core merged");
        free(json);
        CHECK(neuronos_memory_check(m2) == NEURONOS_OK, "integrity after merge: %s", neuronos_memory_last_error(m2));
        neuronos_memory_close(m2);
    }

    /* bad documents are refused whole, nothing changes */
    const struct {
        const char *doc, *msg;
        int replace_only; /* merge ignores ids, so duplicate ids are fine there */
    } bad[] = {
        {"", "JSON object", 0},
        {"not json", "JSON object", 0},
        {"[]", "JSON object", 0},
        {"{\"format\":\"other\",\"version\":1}", "format", 0},
        {"{\"format\":\"neuronos-memory\",\"version\":2}", "version", 0},
        {"{\"format\":\"neuronos-memory\",\"version\":\"1\"}", "version", 0},
        {"{\"format\":\"neuronos-memory\",\"version\":1,\"recall\":{}}", "\"recall\" must be an array", 0},
        {"{\"format\":\"neuronos-memory\",\"version\":1,\"recall\":[{\"conversation_id\":\"c\",\"role\":\"user\",\"content\":\"x\",\"time\":1},"
         "{\"conversation_id\":\"c\",\"role\":\"bad role\",\"content\":\"x\",\"time\":1}]}",
         "recall[1]: invalid role", 0},
        {"{\"format\":\"neuronos-memory\",\"version\":1,\"recall\":[{\"conversation_id\":\"c\",\"role\":\"user\",\"content\":\"x\"}]}",
         "recall[0]: \"time\"", 0},
        {"{\"format\":\"neuronos-memory\",\"version\":1,\"recall\":[{\"id\":1,\"conversation_id\":\"c\",\"role\":\"user\",\"content\":\"x\",\"time\":1},"
         "{\"id\":1,\"conversation_id\":\"c\",\"role\":\"user\",\"content\":\"y\",\"time\":2}]}",
         "recall[1]", 1},
        {"{\"format\":\"neuronos-memory\",\"version\":1,\"core\":[{\"label\":\"persona\",\"text\":\"toolong\",\"limit\":3}]}", "core[0]: core memory block", 0},
        {"{\"format\":\"neuronos-memory\",\"version\":1,\"core\":[7]}", "core[0]: must be an object", 0},
        {"{\"format\":\"neuronos-memory\",\"version\":1,\"archival\":[{\"text\":\"x\",\"tags\":[1],\"time\":1}]}", "archival[0]: every tag", 0},
        {"{\"format\":\"neuronos-memory\",\"version\":1,\"archival\":[{\"text\":5,\"time\":1}]}", "archival[0]: \"text\"", 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        for (int mode = 0; mode < (bad[i].replace_only ? 1 : 2); mode++) {
            report = (char *)"x";
            CHECK(neuronos_memory_import(m, bad[i].doc, (neuronos_memory_import_mode)mode, &report) == NEURONOS_ERR_INVALID_ARGUMENT &&
                      report == NULL,
                  "bad document %zu (mode %d) refused", i, mode);
            CHECK(strstr(neuronos_memory_last_error(m), bad[i].msg) != NULL, "doc %zu: message '%s' should contain '%s'", i,
                  neuronos_memory_last_error(m), bad[i].msg);
        }
    }
    CHECK(neuronos_memory_import(m, NULL, NEURONOS_MEMORY_IMPORT_REPLACE, NULL) == NEURONOS_ERR_INVALID_ARGUMENT, "NULL document");
    CHECK(neuronos_memory_import(m, a, (neuronos_memory_import_mode)5, NULL) == NEURONOS_ERR_INVALID_ARGUMENT, "bad mode");
    CHECK(neuronos_memory_export(m, &b) == NEURONOS_OK && strcmp(a, b) == 0, "refused imports changed nothing");
    free(b);

    /* a minimal hand-written document: arrays optional, ids optional, core defaults kept */
    CHECK(neuronos_memory_import(m, "{\"format\":\"neuronos-memory\",\"version\":1,\"archival\":[{\"text\":\"only fact\",\"time\":3}]}",
                                 NEURONOS_MEMORY_IMPORT_REPLACE, &report) == NEURONOS_OK,
          "minimal: %s", neuronos_memory_last_error(m));
    free(report);
    CHECK(neuronos_memory_export(m, &c) == NEURONOS_OK && q2int("SELECT json_array_length(?1, '$.core')", c, NULL) == 2 &&
              q2int("SELECT json_array_length(?1, '$.recall')", c, NULL) == 0 && jeq(c, "$.archival[0].text", "only fact") &&
              jeq(c, "$.archival[0].tags", "[]"),
          "minimal import: %s", c);
    free(c);
    free(a);
    neuronos_memory_close(m);
}

/* -------------------------------------------------------------- persistence --------- */

static bool file_contains(const char *path, const char *needle) {
    size_t size = 0;
    uint8_t *bytes = read_file(path, &size);
    if (!bytes) return false;
    const size_t n = strlen(needle);
    bool found = false;
    for (size_t i = 0; i + n <= size && !found; i++) found = memcmp(bytes + i, needle, n) == 0;
    free(bytes);
    return found;
}

static void test_persistence(void) {
    g_test = "memory persistence";
    const char *path = tmp_path("persist");
    remove_db(path);
    char why[256];
    neuronos_memory *m = NULL;
    CHECK(neuronos_memory_open(path, NULL, &m, why, sizeof why) == NEURONOS_OK, "create file: %s", why);
    if (!m) return;
    fill(m);
    int64_t secret_id = 0;
    CHECK(neuronos_memory_archival_insert(m, "Zqxsecretword is the password", "[\"Zqxsecrettag\"]", 0, &secret_id) == NEURONOS_OK, "secret");
    char *a = NULL, *b = NULL;
    CHECK(neuronos_memory_delete(m, NEURONOS_MEMORY_ARCHIVAL, secret_id) == NEURONOS_OK, "forget the secret");
    CHECK(neuronos_memory_export(m, &a) == NEURONOS_OK, "export");
    neuronos_memory_close(m);

    /* rollback journal, not WAL: no -wal file; in TRUNCATE mode the journal is left empty */
    char side[600];
    snprintf(side, sizeof side, "%s-wal", path);
    CHECK(access(side, F_OK) != 0, "no WAL file");
    snprintf(side, sizeof side, "%s-journal", path);
    size_t jsize = 1;
    uint8_t *j = read_file(side, &jsize);
    CHECK(j == NULL || jsize == 0, "journal empty between transactions (%zu bytes)", jsize);
    free(j);
    /* deleted text is gone from the file, from the rows and from the index */
    CHECK(!file_contains(path, "Zqxsecret") && !file_contains(path, "zqxsecret"), "deleted text is not in the file");
    CHECK(file_contains(path, "Ada's cat is Miso."), "kept text is (the scan works)");

    m = NULL;
    CHECK(neuronos_memory_open(path, NULL, &m, why, sizeof why) == NEURONOS_OK, "reopen: %s", why);
    if (m) {
        CHECK(neuronos_memory_export(m, &b) == NEURONOS_OK && a && b && strcmp(a, b) == 0, "closed and reopened: everything kept");
        free(b);
        char *json = NULL;
        CHECK(neuronos_memory_search(m, "miso", 10, &json) == NEURONOS_OK && jlen(json) == 1, "index kept: %s", json);
        free(json);
        CHECK(neuronos_memory_check(m) == NEURONOS_OK, "integrity: %s", neuronos_memory_last_error(m));
        /* a second connection (another tab) while this one writes: busy, not a hang or damage */
        neuronos_memory_params p = neuronos_memory_default_params();
        p.busy_timeout_ms = 50;
        neuronos_memory *other = NULL;
        CHECK(neuronos_memory_open(path, &p, &other, why, sizeof why) == NEURONOS_OK, "second connection: %s", why);
        sqlite3 *locker;
        sqlite3_open(path, &locker);
        sqlite3_exec(locker, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        if (other) {
            CHECK(neuronos_memory_recall_add(other, "x", "user", "blocked", 0, NULL) == NEURONOS_ERR_BUSY, "busy: %s", neuronos_memory_last_error(other));
            neuronos_memory_close(other);
        }
        sqlite3_exec(locker, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_close(locker);

        /* clear, close, reopen: still cleared; the file shrank */
        char *chunk = malloc(4001);
        memset(chunk, 0, 4001);
        for (int i = 0; i < 4000; i++) chunk[i] = "lorem ipsum dolor sit amet "[i % 27];
        for (int i = 0; i < 100; i++) CHECK(neuronos_memory_archival_insert(m, chunk, NULL, 0, NULL) == NEURONOS_OK, "bulk %d", i);
        free(chunk);
        size_t before = 0, after = 0;
        free(read_file(path, &before));
        CHECK(neuronos_memory_clear(m) == NEURONOS_OK, "clear");
        neuronos_memory_close(m);
        free(read_file(path, &after));
        CHECK(after < before, "clear compacts the file (%zu → %zu bytes)", before, after);
        CHECK(!file_contains(path, "Ada's cat is Miso."), "cleared text is not in the file");
        m = NULL;
        CHECK(neuronos_memory_open(path, NULL, &m, why, sizeof why) == NEURONOS_OK, "reopen after clear");
        char *stats = NULL;
        CHECK(m && neuronos_memory_stats(m, &stats) == NEURONOS_OK && jint(stats, "$.recall_messages") == 0 && jint(stats, "$.core_blocks") == 2,
              "cleared for good: %s", stats);
        free(stats);
        CHECK(m && neuronos_memory_import(m, a, NEURONOS_MEMORY_IMPORT_REPLACE, NULL) == NEURONOS_OK, "import into the file");
        neuronos_memory_close(m);
        m = NULL;
        CHECK(neuronos_memory_open(path, NULL, &m, why, sizeof why) == NEURONOS_OK, "reopen after import");
        CHECK(m && neuronos_memory_export(m, &b) == NEURONOS_OK && strcmp(a, b) == 0, "import persisted");
        free(b);
        neuronos_memory_close(m);
    }
    free(a);
    remove_db(path);
}

/* A process killed right after a store call returned, and one killed halfway through a write
 * that had already spilled pages into the file (a hot journal). (Power loss cannot be simulated
 * here; synchronous=FULL is what covers it.) */
static void test_crash(void) {
    g_test = "memory crash";
#ifdef __EMSCRIPTEN__
    return; /* no processes to kill */
#endif
    const char *path = tmp_path("crash");
    remove_db(path);
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid < 0) return;
    if (pid == 0) {
        neuronos_memory *m = NULL;
        if (neuronos_memory_open(path, NULL, &m, NULL, 0) != NEURONOS_OK) _exit(3);
        if (neuronos_memory_recall_add(m, "c", "user", "durable message about otters", 0, NULL) != NEURONOS_OK) _exit(4);
        if (neuronos_memory_core_set(m, "human", "Likes otters.") != NEURONOS_OK) _exit(5);
        raise(SIGKILL); /* no close */
        _exit(6);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child killed after its calls (status %d)", status);

    fflush(NULL);
    pid = fork();
    if (pid == 0) { /* a raw connection writes through the schema's triggers, then dies mid-transaction */
        sqlite3 *db;
        if (sqlite3_open(path, &db) != SQLITE_OK) _exit(3);
        sqlite3_exec(db, "PRAGMA cache_size = 1; BEGIN", NULL, NULL, NULL);
        for (int i = 0; i < 300; i++)
            if (sqlite3_exec(db, "INSERT INTO recall(conversation_id, role, content, time) VALUES ('lost', 'user', "
                                 "'uncommitted walrus ' || hex(randomblob(400)), 1)", NULL, NULL, NULL) != SQLITE_OK)
                _exit(4);
        raise(SIGKILL);
        _exit(6);
    }
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "second child killed mid-transaction (status %d)", status);
    char side[600];
    snprintf(side, sizeof side, "%s-journal", path);
    size_t jsize = 0;
    uint8_t *j = read_file(side, &jsize);
    CHECK(j && jsize > 0, "a hot journal was left behind (%zu bytes)", jsize);
    free(j);

    neuronos_memory *m = NULL;
    char why[256];
    CHECK(neuronos_memory_open(path, NULL, &m, why, sizeof why) == NEURONOS_OK, "reopen after the crashes: %s", why);
    if (m) {
        char *json = NULL;
        CHECK(neuronos_memory_recall_search(m, "otters", NULL, 10, &json) == NEURONOS_OK && jlen(json) == 1, "the stored message survived: %s", json);
        free(json);
        CHECK(neuronos_memory_core_get(m, "human", &json) == NEURONOS_OK && strcmp(json, "Likes otters.") == 0, "the core block survived");
        free(json);
        CHECK(neuronos_memory_recall_search(m, "walrus", NULL, 10, &json) == NEURONOS_OK && jlen(json) == 0, "the interrupted write is gone: %s", json);
        free(json);
        CHECK(neuronos_memory_recall_conversations(m, 0, 0, &json) == NEURONOS_OK && jlen(json) == 1, "one conversation: %s", json);
        free(json);
        CHECK(neuronos_memory_check(m) == NEURONOS_OK, "database and indexes intact: %s", neuronos_memory_last_error(m));
        neuronos_memory_close(m);
    }
    remove_db(path);
}

void test_memory(void) {
    test_fts_query();
    test_open();
    test_core();
    test_recall();
    test_archival();
    test_hostile_queries();
    test_ranking();
    test_list_delete_stats();
    test_export_import();
    test_persistence();
    test_crash();
}
