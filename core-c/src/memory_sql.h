/* memory_sql.h — the memory store's schema (memory.c). Internal to the core.
 *
 * Version 1. Every table is STRICT. The full-text indexes are FTS5 external-content tables:
 * the text lives once, in recall/archival, and the index is kept in step by triggers (insert,
 * delete, update). unicode61 with remove_diacritics 2 folds case and accents. FTS5's own
 * secure-delete option removes a deleted row's tokens from the index at once (instead of
 * leaving delete markers until a merge), so "delete" really forgets. Ids are AUTOINCREMENT:
 * never reused, so a client that still holds an old id cannot hit a newer row.
 *
 * Changing anything here means a new schema version and a migration in memory.c. */
#ifndef NEURONOS_MEMORY_SQL_H
#define NEURONOS_MEMORY_SQL_H

#define MEMORY_SQL_META_SCHEMA "CREATE TABLE meta(key TEXT PRIMARY KEY NOT NULL, value ANY) STRICT;"

#define MEMORY_SQL_DATA_SCHEMA                                                                               \
    "CREATE TABLE core_block("                                                                               \
    "  label TEXT PRIMARY KEY NOT NULL,"                                                                     \
    "  text TEXT NOT NULL DEFAULT '',"                                                                       \
    "  char_limit INTEGER NOT NULL CHECK (char_limit > 0),"                                                  \
    "  position INTEGER NOT NULL"                                                                            \
    ") STRICT;"                                                                                              \
    "CREATE TABLE recall("                                                                                   \
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"                                                                \
    "  conversation_id TEXT NOT NULL,"                                                                       \
    "  role TEXT NOT NULL,"                                                                                  \
    "  content TEXT NOT NULL,"                                                                               \
    "  time INTEGER NOT NULL"                                                                                \
    ") STRICT;"                                                                                              \
    "CREATE INDEX recall_by_conversation ON recall(conversation_id, time, id);"                              \
    "CREATE VIRTUAL TABLE recall_fts USING fts5(content, content = 'recall', content_rowid = 'id',"          \
    "  tokenize = 'unicode61 remove_diacritics 2');"                                                         \
    "INSERT INTO recall_fts(recall_fts, rank) VALUES ('secure-delete', 1);"                                  \
    "CREATE TRIGGER recall_ai AFTER INSERT ON recall BEGIN"                                                  \
    "  INSERT INTO recall_fts(rowid, content) VALUES (new.id, new.content);"                                 \
    "END;"                                                                                                   \
    "CREATE TRIGGER recall_ad AFTER DELETE ON recall BEGIN"                                                  \
    "  INSERT INTO recall_fts(recall_fts, rowid, content) VALUES ('delete', old.id, old.content);"           \
    "END;"                                                                                                   \
    "CREATE TRIGGER recall_au AFTER UPDATE ON recall BEGIN"                                                  \
    "  INSERT INTO recall_fts(recall_fts, rowid, content) VALUES ('delete', old.id, old.content);"           \
    "  INSERT INTO recall_fts(rowid, content) VALUES (new.id, new.content);"                                 \
    "END;"                                                                                                   \
    "CREATE TABLE archival("                                                                                 \
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"                                                                \
    "  text TEXT NOT NULL,"                                                                                  \
    "  tags TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags) AND json_type(tags) = 'array'),"              \
    "  time INTEGER NOT NULL"                                                                                \
    ") STRICT;"                                                                                              \
    "CREATE INDEX archival_by_time ON archival(time);"                                                       \
    "CREATE VIRTUAL TABLE archival_fts USING fts5(text, tags, content = 'archival', content_rowid = 'id',"   \
    "  tokenize = 'unicode61 remove_diacritics 2');"                                                         \
    "INSERT INTO archival_fts(archival_fts, rank) VALUES ('secure-delete', 1);"                              \
    "CREATE TRIGGER archival_ai AFTER INSERT ON archival BEGIN"                                              \
    "  INSERT INTO archival_fts(rowid, text, tags) VALUES (new.id, new.text, new.tags);"                     \
    "END;"                                                                                                   \
    "CREATE TRIGGER archival_ad AFTER DELETE ON archival BEGIN"                                              \
    "  INSERT INTO archival_fts(archival_fts, rowid, text, tags) VALUES ('delete', old.id, old.text, old.tags);" \
    "END;"                                                                                                   \
    "CREATE TRIGGER archival_au AFTER UPDATE ON archival BEGIN"                                              \
    "  INSERT INTO archival_fts(archival_fts, rowid, text, tags) VALUES ('delete', old.id, old.text, old.tags);" \
    "  INSERT INTO archival_fts(rowid, text, tags) VALUES (new.id, new.text, new.tags);"                     \
    "END;"

/* Dropping a table drops its triggers and indexes; an FTS5 table drops its shadow tables. */
#define MEMORY_SQL_DROP_DATA                                                                                 \
    "DROP TABLE IF EXISTS recall_fts; DROP TABLE IF EXISTS recall;"                                          \
    "DROP TABLE IF EXISTS archival_fts; DROP TABLE IF EXISTS archival;"                                      \
    "DROP TABLE IF EXISTS core_block;"

#endif
