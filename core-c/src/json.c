/* json.c — JSON parsing through SQLite's JSON1 functions on a private in-memory database. */
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite3.h"

sqlite3 *neuronos_json_db(void) {
    static sqlite3 *db = NULL;
    if (!db && sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_MEMORY, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        db = NULL;
    }
    return db;
}

neuronos_status neuronos_json_parse_messages(const char *json, neuronos_chat_message **msgs_out, size_t *n_out,
                                             char *why, size_t why_size) {
    *msgs_out = NULL;
    *n_out = 0;
    sqlite3 *db = neuronos_json_db();
    if (!db) {
        snprintf(why, why_size, "out of memory");
        return NEURONOS_ERR_OUT_OF_MEMORY;
    }
    if (!json) {
        snprintf(why, why_size, "messages missing");
        return NEURONOS_ERR_INVALID_ARGUMENT;
    }
    /* one row per message; a NULL type column marks a row that is not a proper message */
    static const char *sql =
        "SELECT json_valid(?1) AND json_type(?1) = 'array', key, "
        "  json_type(value, '$.role') = 'text' AND json_type(value, '$.content') = 'text', "
        "  json_extract(value, '$.role'), json_extract(value, '$.content') "
        "FROM (SELECT 1) LEFT JOIN json_each(CASE WHEN json_valid(?1) AND json_type(?1) = 'array' THEN ?1 ELSE '[]' END) "
        "ORDER BY key";
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        snprintf(why, why_size, "JSON parser unavailable: %s", sqlite3_errmsg(db));
        return NEURONOS_ERR_INTERNAL;
    }
    sqlite3_bind_text(st, 1, json, -1, SQLITE_STATIC);
    /* two passes over the rows: first sizes, then copies */
    size_t n = 0, bytes = 0;
    neuronos_status rc = NEURONOS_OK;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (!sqlite3_column_int(st, 0)) {
            snprintf(why, why_size, "messages must be a JSON array of {\"role\", \"content\"} objects");
            rc = NEURONOS_ERR_INVALID_ARGUMENT;
            break;
        }
        if (sqlite3_column_type(st, 1) == SQLITE_NULL) break; /* empty array */
        if (!sqlite3_column_int(st, 2)) {
            snprintf(why, why_size, "message %d needs a text \"role\" and a text \"content\"", sqlite3_column_int(st, 1));
            rc = NEURONOS_ERR_INVALID_ARGUMENT;
            break;
        }
        bytes += (size_t)sqlite3_column_bytes(st, 3) + (size_t)sqlite3_column_bytes(st, 4) + 2;
        n++;
    }
    if (rc == NEURONOS_OK && r != SQLITE_DONE && r != SQLITE_ROW) {
        snprintf(why, why_size, "invalid JSON: %s", sqlite3_errmsg(db));
        rc = NEURONOS_ERR_INVALID_ARGUMENT;
    }
    if (rc == NEURONOS_OK && n == 0) {
        snprintf(why, why_size, "no messages");
        rc = NEURONOS_ERR_INVALID_ARGUMENT;
    }
    neuronos_chat_message *msgs = NULL;
    if (rc == NEURONOS_OK) {
        msgs = malloc(n * sizeof *msgs + bytes);
        if (!msgs) {
            snprintf(why, why_size, "out of memory");
            rc = NEURONOS_ERR_OUT_OF_MEMORY;
        }
    }
    if (rc == NEURONOS_OK) {
        sqlite3_reset(st);
        char *p = (char *)(msgs + n);
        size_t i = 0;
        while (i < n && sqlite3_step(st) == SQLITE_ROW) {
            for (int col = 3; col <= 4; col++) {
                const size_t len = (size_t)sqlite3_column_bytes(st, col);
                memcpy(p, sqlite3_column_text(st, col), len);
                p[len] = 0;
                if (col == 3) msgs[i].role = p;
                else msgs[i].content = p;
                p += len + 1;
            }
            i++;
        }
        *msgs_out = msgs;
        *n_out = n;
    }
    sqlite3_finalize(st);
    return rc;
}
