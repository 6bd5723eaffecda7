/* json.h — JSON input parsed with SQLite's JSON1 (the one real parser in the binary). */
#ifndef NEURONOS_JSON_H
#define NEURONOS_JSON_H
#include "neuronos.h"

/* Parses [{"role": "...", "content": "..."}, ...]. On success *msgs_out is ONE owned block
 * (free() it) holding the array and its strings. `why` gets a message on failure. */
neuronos_status neuronos_json_parse_messages(const char *json, neuronos_chat_message **msgs_out, size_t *n_out,
                                             char *why, size_t why_size);

/* The private in-memory database whose JSON1 functions parse JSON everywhere in the core
 * (borrowed; lives for the process; NULL when out of memory). Single-threaded use. */
struct sqlite3;
struct sqlite3 *neuronos_json_db(void);
#endif
