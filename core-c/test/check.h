/* check.h — the tiny test harness shared by the native test files (test_*.c). Every file adds
 * its checks to the same counters; test_main.c prints "N passed, N failed". */
#ifndef NEURONOS_TEST_CHECK_H
#define NEURONOS_TEST_CHECK_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "neuronos.h"

extern int g_pass, g_fail;
extern const char *g_test; /* the running test's name, for failure lines */

#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (cond) {                                                                        \
            g_pass++;                                                                      \
        } else {                                                                           \
            g_fail++;                                                                      \
            fprintf(stderr, "FAIL %s (%s:%d): %s — ", g_test, __FILE__, __LINE__, #cond);  \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fputc('\n', stderr);                                                           \
        }                                                                                  \
    } while (0)

/* Seeded random numbers for the tests (xorshift32). test_seed() is $NEURONOS_TEST_SEED, else a
 * fixed default; failure messages print the seed so that a failing run can be repeated. */
typedef struct {
    uint32_t s;
} test_rng;
static inline uint32_t test_seed(void) {
    const char *env = getenv("NEURONOS_TEST_SEED");
    return env && env[0] ? (uint32_t)strtoul(env, NULL, 10) : 20261126u;
}
static inline test_rng test_rng_new(uint32_t seed) {
    test_rng r = {seed ? seed : 1u}; /* xorshift stays at 0 forever */
    return r;
}
static inline uint32_t test_rng_next(test_rng *r) {
    r->s ^= r->s << 13;
    r->s ^= r->s >> 17;
    r->s ^= r->s << 5;
    return r->s;
}

/* Fixtures: $NEURONOS_FIXTURES_DIR (default .cache/fixtures). */
const char *fixtures_dir(void);
/* Whole file (owned, free()), or NULL; *size its length. */
uint8_t *read_file(const char *path, size_t *size);
/* <fixtures>/<name>.gguf */
uint8_t *read_fixture(const char *name, size_t *size);
/* json_extract(entry, path) of the fixture's manifest entry; owned string or NULL. */
char *manifest_field(const char *fixture, const char *path);
/* Steps a begun generation to its end, per_step tokens a step, and returns its text (owned;
 * "" when nothing came, NULL only when out of memory); *last (if given) gets the final step's
 * result. The caller ends the generation. */
char *drain_generation(neuronos_engine *eng, int per_step, const neuronos_step_result **last);

/* The test files' entry points. */
void test_calc(void);   /* test_calc.c: the calculator tool */
void test_agent(void);  /* test_agent.c: grammar, agent loop */
void test_memory(void); /* test_memory.c: the memory store */
void test_bitnet(void); /* test_bitnet.c: I2_S / BitNet b1.58 */
#endif
