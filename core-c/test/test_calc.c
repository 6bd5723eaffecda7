/* test_calc.c — the calculator tool (core-c/src/calc.c): values, errors, limits, formatting. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "neuronos.h"

/* Relative tolerance for values computed through libm; exact cases use exact decimals. */
static int close_enough(double got, double want) {
    if (got == want) return 1;
    const double scale = fabs(want) > 1 ? fabs(want) : 1;
    return fabs(got - want) <= 1e-12 * scale;
}

typedef struct {
    const char *expr;
    double want;
} calc_case;

static const calc_case VALUES[] = {
    /* numbers */
    {"42", 42},
    {"3.25", 3.25},
    {".5", 0.5},
    {"5.", 5},
    {"1e-3", 0.001},
    {"2.5E+4", 25000},
    {"1e3", 1000},
    {"007", 7},
    /* precedence and associativity */
    {"1 + 2 * 3", 7},
    {"(1 + 2) * 3", 9},
    {"10 - 4 - 3", 3},
    {"100 / 10 / 5", 2},
    {"2 ^ 3 ^ 2", 512},
    {"2 ** 10", 1024},
    {"-2^2", -4},
    {"(-2)^2", 4},
    {"2^-1", 0.5},
    {"-2^-2", -0.25},
    {"2 * -3", -6},
    {"--3", 3},
    {"+-+4", -4},
    {"1 - -1", 2},
    {"2^3*2", 16},
    {"-8^(1/3)", -2},
    {"3 - 2 + 1", 2},
    {"8 / 2 * 4", 16},
    /* modulo: fmod, sign of the dividend, binds like * */
    {"7 % 3", 1},
    {"-7 % 3", -1},
    {"7 % -3", 1},
    {"5.5 % 2", 1.5},
    {"1 + 7 % 4 * 2", 7},
    {"-2 % 3", -2},
    /* Unicode operators, whitespace */
    {"6 \xC3\x97 7", 42},
    {"84 \xC3\xB7 2", 42},
    {"50 \xE2\x88\x92 8", 42},
    {"\xE2\x88\x92" "5", -5},
    {" \t( 1\n+\r2 )\t ", 3},
    /* constants and functions */
    {"pi", 3.14159265358979323846},
    {"\xCF\x80 * 2", 6.28318530717958647692},
    {"e", 2.71828182845904523536},
    {"PI", 3.14159265358979323846},
    {"sqrt(16)", 4},
    {"sqrt(2)", 1.41421356237309504880},
    {"cbrt(-27)", -3},
    {"abs(-3.5)", 3.5},
    {"sin(0)", 0},
    {"sin(pi/2)", 1},
    {"cos(pi)", -1},
    {"tan(pi/4)", 1},
    {"asin(1)", 1.57079632679489661923},
    {"acos(1)", 0},
    {"atan(1) * 4", 3.14159265358979323846},
    {"sinh(0) + cosh(0) + tanh(0)", 1},
    {"exp(1)", 2.71828182845904523536},
    {"ln(e^2)", 2},
    {"log(1000)", 3},
    {"log10(0.01)", -2},
    {"log2(1024)", 10},
    {"round(2.5)", 3},
    {"round(-2.5)", -3},
    {"round(2.4)", 2},
    {"floor(-1.5)", -2},
    {"ceil(-1.5)", -1},
    {"trunc(-1.7)", -1},
    {"min(3, 1, 2)", 1},
    {"max(3, 1, 2, 9.5, -4)", 9.5},
    {"min(7)", 7},
    {"pow(2, 10)", 1024},
    {"hypot(3, 4)", 5},
    {"Sqrt( 9 )", 3},
    {"max(1, min(5, 3)) * (2 + sqrt(hypot(3,4) + 11))", 18},
    {"0.1 + 0.2", 0.30000000000000004},
    {"1e308 / 10", 1e307},
    {"1e-320 / 1e10", 0}, /* underflow to zero is not an error */
    {"(((((((((((1)))))))))))", 1},
    {"0^0", 1},
};

typedef struct {
    const char *expr;
    const char *want; /* substring of the message */
} calc_error;

static const calc_error ERRORS[] = {
    {"", "empty expression"},
    {"   \t ", "empty expression"},
    {"(1 + 2", "missing ')' for this '(' at position 1"},
    {"((1)", "missing ')'"},
    {"1 + 2)", "unmatched ')' at position 6"},
    {")", "unexpected ')' at position 1 (expected a number"},
    {"1 $ 2", "unexpected character '$' at position 3"},
    {"2 @", "unexpected character '@'"},
    {"1 + \xE2\x82\xAC", "unexpected character '\xE2\x82\xAC' at position 5"},
    {"foo(1)", "unknown function 'foo'"},
    {"x + 1", "unknown name 'x'"},
    {"sqrt", "'sqrt' is a function"},
    {"pi(2)", "constant, not a function"},
    {"sqrt(1, 2)", "sqrt takes 1, got 2"},
    {"pow(2)", "pow takes 2, got 1"},
    {"hypot()", "hypot takes 2, got 0"},
    {"max()", "max takes at least 1, got 0"},
    {"1 / 0", "division by zero at position 3"},
    {"1 / (2 - 2)", "division by zero"},
    {"5 % 0", "modulo by zero at position 3"},
    {"0^-1", "division by zero"},
    {"sqrt(-1)", "domain error: sqrt of a negative number (-1) at position 1"},
    {"ln(0)", "domain error: ln needs a positive argument, got 0"},
    {"log(-10)", "log needs a positive argument"},
    {"log2(0)", "log2 needs a positive argument"},
    {"asin(2)", "asin needs an argument between -1 and 1, got 2"},
    {"acos(-1.5)", "domain error"},
    {"(-8)^(1/3)", "fractional exponent"},
    {"1e308 * 10", "overflow"},
    {"exp(1000)", "overflow"},
    {"10^400", "overflow"},
    {"cosh(1e3)", "overflow"},
    {"1e400", "number too large"},
    {"1_000", "'_'"},
    {"1,000", "unexpected ','"},
    {"1.2.3", "at most one '.'"},
    {"2x", "missing operator"},
    {"2 3", "missing operator before '3' at position 3"},
    {"(1)(2)", "missing operator"},
    {"1 +", "unexpected end of expression"},
    {"* 2", "unexpected character '*'"},
    {"()", "empty parentheses"},
    {"max(1,)", "unexpected ')'"},
    {"min(1 2)", "expected ',' or ')'"},
    {".", "lone '.'"},
    {"1 +\x01 2", "control character 0x01"},
    {"1 + \xC3", "invalid UTF-8 at byte 5"},
    {"\xC0\xAF", "invalid UTF-8"},         /* overlong '/' */
    {"1\xED\xA0\x80", "invalid UTF-8"},    /* surrogate */
    {"\xF4\x90\x80\x80", "invalid UTF-8"}, /* above U+10FFFF */
    {"\x80 1", "invalid UTF-8 at byte 1"},
    {"1 = 1", "unexpected character '='"},
    {"200 * 15%", "not percent"},
    {"pi pi", "missing operator before 'pi' at position 4"},
    {"1 _ 2", "unexpected '_'"},
    {"1 + )", "unexpected ')' at position 5"},
    {"sin x", "'sin' is a function"},
};

static void check_value(const char *expr, double want) {
    double got = NAN;
    char why[256] = "";
    const neuronos_status st = neuronos_calc_eval(expr, &got, why, sizeof why);
    CHECK(st == NEURONOS_OK && close_enough(got, want), "'%s' = %.17g (status %d, %s), want %.17g", expr, got, st, why,
          want);
}

static void check_error(const char *expr, const char *want) {
    double got = 12345;
    char why[256] = "";
    const neuronos_status st = neuronos_calc_eval(expr, &got, why, sizeof why);
    CHECK(st == NEURONOS_ERR_INVALID_ARGUMENT && strstr(why, want) != NULL && got == 12345,
          "'%s': status %d, message '%s', want '%s' (out %g)", expr, st, why, want, got);
}

static void check_format(double v, const char *want) {
    char buf[NEURONOS_CALC_FORMAT_MAX];
    const size_t n = neuronos_calc_format(v, buf, sizeof buf);
    CHECK(strcmp(buf, want) == 0 && n == strlen(want), "format %.17g -> '%s' (%zu), want '%s'", v, buf, n, want);
}

/* "(((…1…)))" with `depth` pairs, or `depth` chained powers "2^2^…^1"; owned. */
static char *nested_parens(int depth) {
    char *s = malloc((size_t)depth * 2 + 2);
    int k = 0;
    for (int i = 0; i < depth; i++) s[k++] = '(';
    s[k++] = '1';
    for (int i = 0; i < depth; i++) s[k++] = ')';
    s[k] = 0;
    return s;
}

static void test_limits(void) {
    char why[256];
    double v = 0;

    /* nesting: 64 levels pass, 65 fail (and a deep input never recurses past the limit) */
    char *ok = nested_parens(NEURONOS_CALC_MAX_DEPTH);
    CHECK(neuronos_calc_eval(ok, &v, why, sizeof why) == NEURONOS_OK && v == 1, "64 parens: %s", why);
    free(ok);
    char *deep = nested_parens(NEURONOS_CALC_MAX_DEPTH + 1);
    CHECK(neuronos_calc_eval(deep, &v, why, sizeof why) == NEURONOS_ERR_INVALID_ARGUMENT &&
              strstr(why, "nested deeper than 64") != NULL,
          "65 parens: %s", why);
    free(deep);
    char *very = nested_parens(450); /* 901 bytes: under the length limit, far over the depth */
    CHECK(neuronos_calc_eval(very, &v, why, sizeof why) == NEURONOS_ERR_INVALID_ARGUMENT &&
              strstr(why, "nested deeper") != NULL,
          "450 parens: %s", why);
    free(very);
    /* function calls count as nesting too */
    char calls[1001] = "";
    for (int i = 0; i < 65; i++) strcat(calls, "abs(");
    strcat(calls, "1");
    for (int i = 0; i < 65; i++) strcat(calls, ")");
    CHECK(neuronos_calc_eval(calls, &v, why, sizeof why) == NEURONOS_ERR_INVALID_ARGUMENT &&
              strstr(why, "nested deeper") != NULL,
          "65 calls: %s", why);
    /* a chain of 70 powers of 1 nests 70 deep on the right */
    char pows[1001] = "1";
    for (int i = 0; i < 70; i++) strcat(pows, "^1");
    CHECK(neuronos_calc_eval(pows, &v, why, sizeof why) == NEURONOS_ERR_INVALID_ARGUMENT &&
              strstr(why, "nested deeper") != NULL,
          "70 powers: %s", why);
    /* but a long flat sum is fine, as is a long run of signs (a loop, not recursion) */
    char sum[1001] = "1";
    for (int i = 0; i < 300; i++) strcat(sum, "+1");
    CHECK(neuronos_calc_eval(sum, &v, why, sizeof why) == NEURONOS_OK && v == 301, "flat sum: %s", why);
    char signs[1001] = "";
    for (int i = 0; i < 501; i++) strcat(signs, "-");
    strcat(signs, "1");
    CHECK(neuronos_calc_eval(signs, &v, why, sizeof why) == NEURONOS_OK && v == -1, "501 signs: %s", why);

    /* length: 1000 bytes pass, 1001 fail */
    char *len = malloc(1002);
    memset(len, ' ', 1001);
    len[0] = '7';
    len[1000] = 0;
    CHECK(neuronos_calc_eval(len, &v, why, sizeof why) == NEURONOS_OK && v == 7, "1000 bytes: %s", why);
    len[1000] = ' ';
    len[1001] = 0;
    CHECK(neuronos_calc_eval(len, &v, why, sizeof why) == NEURONOS_ERR_INVALID_ARGUMENT &&
              strstr(why, "longer than 1000 bytes") != NULL,
          "1001 bytes: %s", why);
    free(len);

    /* bad arguments never crash */
    CHECK(neuronos_calc_eval(NULL, &v, why, sizeof why) == NEURONOS_ERR_INVALID_ARGUMENT, "NULL expr");
    CHECK(neuronos_calc_eval("1", NULL, why, sizeof why) == NEURONOS_ERR_INVALID_ARGUMENT, "NULL out");
    CHECK(neuronos_calc_eval("1/0", &v, NULL, 0) == NEURONOS_ERR_INVALID_ARGUMENT, "NULL why");
    char tiny[8];
    CHECK(neuronos_calc_eval("sqrt(-1)", &v, tiny, sizeof tiny) == NEURONOS_ERR_INVALID_ARGUMENT && strlen(tiny) == 7,
          "truncated why: '%s'", tiny);
    CHECK(neuronos_calc_eval("2+2", &v, why, sizeof why) == NEURONOS_OK && why[0] == 0, "why cleared on success");

    /* the position counts characters, not bytes */
    CHECK(neuronos_calc_eval("\xCF\x80\xC3\xB7" "0", &v, why, sizeof why) == NEURONOS_ERR_INVALID_ARGUMENT &&
              strstr(why, "division by zero at position 2") != NULL,
          "char position: %s", why);
}

static void test_format(void) {
    check_format(0, "0");
    check_format(-0.0, "0");
    check_format(42, "42");
    check_format(-7, "-7");
    check_format(1000000, "1000000");
    check_format(0.1, "0.1");
    check_format(0.30000000000000004, "0.30000000000000004");
    check_format(1.0 / 3, "0.3333333333333333");
    check_format(2.5, "2.5");
    check_format(1e21, "1e21");
    check_format(1.5e-7, "1.5e-7");
    check_format(-1.25e300, "-1.25e300");
    check_format(123456789012345.0, "123456789012345");
    check_format(3.14159265358979323846, "3.141592653589793");
    check_format(NAN, "null");
    check_format(INFINITY, "null");
    char small[4];
    const size_t n = neuronos_calc_format(123456, small, sizeof small);
    CHECK(n == 6 && strcmp(small, "123") == 0, "truncated: %zu '%s'", n, small);
    CHECK(neuronos_calc_format(3.5, NULL, 0) == 3, "length only");

    /* every table value round-trips through its text */
    int exact = 0, total = 0;
    for (size_t i = 0; i < sizeof VALUES / sizeof VALUES[0]; i++) {
        double v;
        char why[256];
        if (neuronos_calc_eval(VALUES[i].expr, &v, why, sizeof why) != NEURONOS_OK) continue;
        char buf[NEURONOS_CALC_FORMAT_MAX];
        neuronos_calc_format(v, buf, sizeof buf);
        total++;
        exact += strtod(buf, NULL) == v || (v == 0 && strcmp(buf, "0") == 0);
    }
    CHECK(total > 0 && exact == total, "round trip %d of %d", exact, total);
}

/* Random token soup (seeded: NEURONOS_TEST_SEED): every input ends in OK with a finite value or
 * in INVALID_ARGUMENT with a message; ASan/UBSan watch for anything worse. */
static void test_fuzz(void) {
    static const char *const TOKENS[] = {"1", "0", "2.5", "1e308", "-", "+", "*", "/", "%", "^", "(", ")", ",", " ",
                                         "pi", "e", "sqrt(", "min(", "pow(", "ln(", "\xE2\x88\x92", "\xC3\x97",
                                         "\xC3", "\x80", ".", "x", "**", "9e-320"};
    const uint32_t seed = test_seed();
    test_rng r = test_rng_new(seed);
    int ok = 0, refused = 0, bad = 0;
    for (int round = 0; round < 20000; round++) {
        char buf[1100];
        size_t len = 0;
        const int n = 1 + (int)(test_rng_next(&r) % 40);
        for (int i = 0; i < n; i++) {
            const char *t = TOKENS[test_rng_next(&r) % (sizeof TOKENS / sizeof TOKENS[0])];
            const size_t tl = strlen(t);
            if (len + tl >= sizeof buf) break;
            memcpy(buf + len, t, tl);
            len += tl;
        }
        buf[len] = 0;
        double v = 0;
        char why[256] = "";
        const neuronos_status st = neuronos_calc_eval(buf, &v, why, sizeof why);
        if (st == NEURONOS_OK && isfinite(v) && why[0] == 0) ok++;
        else if (st == NEURONOS_ERR_INVALID_ARGUMENT && why[0] != 0) refused++;
        else if (bad++ < 3) fprintf(stderr, "fuzz: '%s' -> status %d, '%s'\n", buf, st, why);
    }
    CHECK(bad == 0 && ok > 100 && refused > 100, "fuzz (seed %u): %d ok, %d refused, %d bad", seed, ok, refused, bad);
}

void test_calc(void) {
    g_test = "calc values";
    for (size_t i = 0; i < sizeof VALUES / sizeof VALUES[0]; i++) check_value(VALUES[i].expr, VALUES[i].want);
    g_test = "calc errors";
    for (size_t i = 0; i < sizeof ERRORS / sizeof ERRORS[0]; i++) check_error(ERRORS[i].expr, ERRORS[i].want);
    g_test = "calc limits";
    test_limits();
    g_test = "calc format";
    test_format();
    g_test = "calc fuzz";
    test_fuzz();
    g_test = "test_calc";
}
