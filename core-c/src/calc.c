/* calc.c — the agent's calculator tool: an arithmetic expression evaluator of our own.
 *
 * A recursive-descent parser that evaluates as it parses (no tree, no eval of anything).
 * Grammar, loosest binding first:
 *
 *   expr    := term   { ('+' | '-' | '−') term }
 *   term    := unary  { ('*' | '×' | '/' | '÷' | '%') unary }
 *   unary   := { '+' | '-' | '−' } power           signs apply to the whole power: -2^2 = -4
 *   power   := primary [ ('^' | '**') unary ]      right-associative: 2^3^2 = 2^9; 2^-1 = 0.5
 *   primary := number | constant | name '(' [ expr { ',' expr } ] ')' | '(' expr ')'
 *
 * Numbers: digits with an optional fraction and exponent (12, 3.5, .5, 5., 1e-3, 2.5E+4). There are
 * no digit separators: `1_000` is an error, and `,` only separates function arguments.
 * `%` is the floating-point remainder of C's fmod: the result has the sign of the dividend
 * (-7 % 3 = -1, 7 % -3 = 1, 5.5 % 2 = 1.5); it binds like `*` and `/`. It is not "percent".
 * Names are case-insensitive (pi, PI, Pi; π is accepted for pi).
 *
 * Every intermediate result must be finite: an overflow, a division or remainder by zero, or a
 * domain error (sqrt(-1), ln(0), asin(2), (-8)^(1/3), …) stops evaluation with a message that
 * names the position (1-based, in characters) so the model can fix its input.
 *
 * Bounds: input at most NEURONOS_CALC_MAX_BYTES bytes of valid UTF-8; parentheses, function
 * calls and `^` chains nest at most NEURONOS_CALC_MAX_DEPTH deep (the recursion is bounded by
 * that counter; runs of unary signs are read in a loop, not recursively). */
#include "neuronos.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *s; /* the whole input, valid UTF-8, len bytes */
    size_t len;
    size_t pos; /* byte offset of the next unread byte */
    int depth;
    char *why;
    size_t why_size;
    bool failed;
} calc;

/* ------------------------------------------------------------------ errors ----------- */

/* 1-based character position of byte offset `at` (the input is valid UTF-8 by then). */
static size_t char_pos(const calc *c, size_t at) {
    size_t n = 1;
    for (size_t i = 0; i < at && i < c->len; i++)
        if (((unsigned char)c->s[i] & 0xC0) != 0x80) n++;
    return n;
}

/* Records the first error only; `fmt` is followed by " at position N" when `at` is not SIZE_MAX. */
static bool fail_at(calc *c, size_t at, const char *fmt, ...) {
    if (c->failed) return false;
    c->failed = true;
    if (c->why && c->why_size) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(c->why, c->why_size, fmt, ap);
        va_end(ap);
        if (at != SIZE_MAX && k >= 0 && (size_t)k < c->why_size)
            snprintf(c->why + k, c->why_size - (size_t)k, " at position %zu", char_pos(c, at));
    }
    return false;
}

/* A number for a message (the same text the tool would return). */
typedef struct {
    char s[NEURONOS_CALC_FORMAT_MAX];
} numtext;
static numtext fmtnum(double v) {
    numtext t;
    neuronos_calc_format(v, t.s, sizeof t.s);
    return t;
}

/* ------------------------------------------------------------------ lexing ----------- */

static void skip_ws(calc *c) {
    while (c->pos < c->len) {
        const char ch = c->s[c->pos];
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f') c->pos++;
        else break;
    }
}

static bool at_str(const calc *c, const char *lit) {
    const size_t n = strlen(lit);
    return c->len - c->pos >= n && memcmp(c->s + c->pos, lit, n) == 0;
}

enum { OP_NONE, OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MOD, OP_POW };

/* The operator at the current position (after whitespace) and its length in bytes. */
static int peek_op(calc *c, size_t *op_len) {
    skip_ws(c);
    if (c->pos >= c->len) return OP_NONE;
    *op_len = 1;
    switch (c->s[c->pos]) {
    case '+': return OP_ADD;
    case '-': return OP_SUB;
    case '*':
        if (at_str(c, "**")) {
            *op_len = 2;
            return OP_POW;
        }
        return OP_MUL;
    case '/': return OP_DIV;
    case '%': return OP_MOD;
    case '^': return OP_POW;
    default: break;
    }
    *op_len = 3;
    if (at_str(c, "\xE2\x88\x92")) return OP_SUB; /* U+2212 minus sign */
    *op_len = 2;
    if (at_str(c, "\xC3\x97")) return OP_MUL; /* U+00D7 multiplication sign */
    if (at_str(c, "\xC3\xB7")) return OP_DIV; /* U+00F7 division sign */
    return OP_NONE;
}

static bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }
static bool is_name_start(char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_'; }
static bool is_name_char(char ch) { return is_name_start(ch) || is_digit(ch); }

/* Length in bytes of the UTF-8 character at byte offset i (the input is valid). */
static size_t char_len(const calc *c, size_t i) {
    const unsigned char b = (unsigned char)c->s[i];
    size_t n = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    return n <= c->len - i ? n : c->len - i;
}

/* The error for a character that cannot start or continue anything here: "unexpected character
 * '$' at position 3 (expected an operator)". */
static bool unexpected(calc *c, const char *expected) {
    const size_t at = char_pos(c, c->pos);
    if (c->pos >= c->len)
        return fail_at(c, SIZE_MAX, "unexpected end of expression at position %zu (expected %s)", at, expected);
    const char ch = c->s[c->pos];
    if (ch == ')') {
        if (strcmp(expected, "an operator") == 0) return fail_at(c, c->pos, "unmatched ')'");
        return fail_at(c, SIZE_MAX, "unexpected ')' at position %zu (expected %s)", at, expected);
    }
    if (ch == ',')
        return fail_at(c, SIZE_MAX, "unexpected ',' at position %zu (',' only separates function arguments; numbers "
                                    "take no thousands separators)", at);
    if (ch == '_') return fail_at(c, c->pos, "unexpected '_' (numbers take no digit separators)");
    if ((unsigned char)ch < 0x20 || ch == 0x7F)
        return fail_at(c, SIZE_MAX, "unexpected control character 0x%02X at position %zu (expected %s)",
                       (unsigned)(unsigned char)ch, at, expected);
    return fail_at(c, SIZE_MAX, "unexpected character '%.*s' at position %zu (expected %s)", (int)char_len(c, c->pos),
                   c->s + c->pos, at, expected);
}

/* ------------------------------------------------------------------ functions -------- */

typedef enum { F_SQRT, F_CBRT, F_ABS, F_SIN, F_COS, F_TAN, F_ASIN, F_ACOS, F_ATAN, F_SINH, F_COSH, F_TANH,
               F_EXP, F_LN, F_LOG10, F_LOG2, F_ROUND, F_FLOOR, F_CEIL, F_TRUNC, F_MIN, F_MAX, F_POW,
               F_HYPOT } func_id;

typedef struct {
    const char *name;
    func_id id;
    int min_args, max_args; /* max_args < 0: variadic */
} func_def;

static const func_def FUNCS[] = {
    {"sqrt", F_SQRT, 1, 1},   {"cbrt", F_CBRT, 1, 1},   {"abs", F_ABS, 1, 1},     {"sin", F_SIN, 1, 1},
    {"cos", F_COS, 1, 1},     {"tan", F_TAN, 1, 1},     {"asin", F_ASIN, 1, 1},   {"acos", F_ACOS, 1, 1},
    {"atan", F_ATAN, 1, 1},   {"sinh", F_SINH, 1, 1},   {"cosh", F_COSH, 1, 1},   {"tanh", F_TANH, 1, 1},
    {"exp", F_EXP, 1, 1},     {"ln", F_LN, 1, 1},       {"log", F_LOG10, 1, 1},   {"log10", F_LOG10, 1, 1},
    {"log2", F_LOG2, 1, 1},   {"round", F_ROUND, 1, 1}, {"floor", F_FLOOR, 1, 1}, {"ceil", F_CEIL, 1, 1},
    {"trunc", F_TRUNC, 1, 1}, {"min", F_MIN, 1, -1},    {"max", F_MAX, 1, -1},    {"pow", F_POW, 2, 2},
    {"hypot", F_HYPOT, 2, 2},
};

static bool name_is(const char *name, size_t n, const char *lit) {
    if (strlen(lit) != n) return false;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        if (ch >= 'A' && ch <= 'Z') ch = (char)(ch - 'A' + 'a');
        if (ch != lit[i]) return false;
    }
    return true;
}

static const func_def *find_func(const char *name, size_t n) {
    for (size_t i = 0; i < sizeof FUNCS / sizeof FUNCS[0]; i++)
        if (name_is(name, n, FUNCS[i].name)) return &FUNCS[i];
    return NULL;
}

static bool find_const(const char *name, size_t n, double *v) {
    if (name_is(name, n, "pi")) {
        *v = 3.14159265358979323846;
        return true;
    }
    if (name_is(name, n, "e")) {
        *v = 2.71828182845904523536;
        return true;
    }
    return false;
}

/* a^b with the domain checks; `at` is the position for messages. */
static bool power(calc *c, double a, double b, size_t at, double *out) {
    if (a == 0 && b < 0) return fail_at(c, at, "division by zero: 0 raised to a negative power");
    if (a < 0 && b != floor(b))
        return fail_at(c, at, "domain error: a negative base (%s) with a fractional exponent (%s) has no real value",
                       fmtnum(a).s, fmtnum(b).s);
    *out = pow(a, b);
    return true;
}

static bool apply_func(calc *c, const func_def *f, const double *a, size_t at, double *out) {
    const double x = a[0];
    switch (f->id) {
    case F_SQRT:
        if (x < 0) return fail_at(c, at, "domain error: sqrt of a negative number (%s)", fmtnum(x).s);
        *out = sqrt(x);
        break;
    case F_CBRT: *out = cbrt(x); break;
    case F_ABS: *out = fabs(x); break;
    case F_SIN: *out = sin(x); break;
    case F_COS: *out = cos(x); break;
    case F_TAN: *out = tan(x); break;
    case F_ASIN:
    case F_ACOS:
        if (x < -1 || x > 1)
            return fail_at(c, at, "domain error: %s needs an argument between -1 and 1, got %s", f->name, fmtnum(x).s);
        *out = f->id == F_ASIN ? asin(x) : acos(x);
        break;
    case F_ATAN: *out = atan(x); break;
    case F_SINH: *out = sinh(x); break;
    case F_COSH: *out = cosh(x); break;
    case F_TANH: *out = tanh(x); break;
    case F_EXP: *out = exp(x); break;
    case F_LN:
    case F_LOG10:
    case F_LOG2:
        if (x <= 0) return fail_at(c, at, "domain error: %s needs a positive argument, got %s", f->name, fmtnum(x).s);
        *out = f->id == F_LN ? log(x) : f->id == F_LOG10 ? log10(x) : log2(x);
        break;
    case F_ROUND: *out = round(x); break; /* halves away from zero: round(2.5) = 3, round(-2.5) = -3 */
    case F_FLOOR: *out = floor(x); break;
    case F_CEIL: *out = ceil(x); break;
    case F_TRUNC: *out = trunc(x); break;
    case F_POW: return power(c, a[0], a[1], at, out);
    case F_HYPOT: *out = hypot(a[0], a[1]); break;
    case F_MIN:
    case F_MAX: /* folded while the arguments are read (variadic) */ *out = x; break;
    }
    return true;
}

/* ------------------------------------------------------------------ parser ----------- */

static bool parse_expr(calc *c, double *out);
static bool parse_unary(calc *c, double *out);

/* Checks an intermediate result: finite, or the error names the operation's position. */
static bool finite_or_fail(calc *c, double v, size_t at, const char *what) {
    if (isnan(v)) return fail_at(c, at, "domain error: %s has no real value", what);
    if (isinf(v)) return fail_at(c, at, "overflow: the result of %s is too large", what);
    return true;
}

static bool enter(calc *c, size_t at) {
    if (++c->depth > NEURONOS_CALC_MAX_DEPTH)
        return fail_at(c, at, "expression nested deeper than %d levels", NEURONOS_CALC_MAX_DEPTH);
    return true;
}

static bool parse_number(calc *c, double *out) {
    const size_t start = c->pos;
    size_t i = c->pos;
    while (i < c->len && is_digit(c->s[i])) i++;
    size_t int_digits = i - start, frac_digits = 0;
    if (i < c->len && c->s[i] == '.') {
        i++;
        const size_t f = i;
        while (i < c->len && is_digit(c->s[i])) i++;
        frac_digits = i - f;
    }
    if (int_digits + frac_digits == 0) return fail_at(c, start, "a lone '.' is not a number");
    /* exponent only when digits follow: "2e" is 2 then the name e (an error later) */
    if (i < c->len && (c->s[i] == 'e' || c->s[i] == 'E')) {
        size_t j = i + 1;
        if (j < c->len && (c->s[j] == '+' || c->s[j] == '-')) j++;
        if (j < c->len && is_digit(c->s[j])) {
            while (j < c->len && is_digit(c->s[j])) j++;
            i = j;
        }
    }
    if (i < c->len && (c->s[i] == '.' || c->s[i] == '_' || is_name_char(c->s[i]))) {
        c->pos = i;
        if (c->s[i] == '.') return fail_at(c, i, "a number has at most one '.'");
        if (c->s[i] == '_') return unexpected(c, "an operator");
        return fail_at(c, i, "missing operator between a number and '%c' (write 2*x, not 2x)", c->s[i]);
    }
    /* the token holds only digits, '.', e/E and a sign: strtod cannot wander into hex or inf */
    char buf[1024];
    const size_t n = i - start;
    if (n >= sizeof buf) return fail_at(c, start, "number too long");
    memcpy(buf, c->s + start, n);
    buf[n] = 0;
    char *end = NULL;
    const double v = strtod(buf, &end);
    if (end != buf + n) return fail_at(c, start, "malformed number '%s'", buf);
    if (isinf(v)) return fail_at(c, start, "number too large: '%.40s'", buf);
    c->pos = i;
    *out = v;
    return true;
}

/* name '(' args ')' once the name is read; c->pos is at '('. */
static bool parse_call(calc *c, const func_def *f, size_t name_at, double *out) {
    const size_t open = c->pos;
    if (!enter(c, open)) return false;
    c->pos++; /* '(' */
    double args[2] = {0, 0};
    int n = 0;
    skip_ws(c);
    if (c->pos < c->len && c->s[c->pos] == ')') {
        c->pos++;
    } else {
        for (;;) {
            double v;
            if (!parse_expr(c, &v)) return false;
            if (f->max_args < 0) { /* min/max: fold as we go */
                if (n == 0) args[0] = v;
                else args[0] = f->id == F_MIN ? fmin(args[0], v) : fmax(args[0], v);
            } else if (n < 2) {
                args[n] = v;
            }
            n++;
            skip_ws(c);
            if (c->pos < c->len && c->s[c->pos] == ',') {
                c->pos++;
                continue;
            }
            if (c->pos < c->len && c->s[c->pos] == ')') {
                c->pos++;
                break;
            }
            if (c->pos >= c->len) return fail_at(c, open, "missing ')' for this '('");
            return unexpected(c, "',' or ')'");
        }
    }
    c->depth--;
    if (n < f->min_args || (f->max_args >= 0 && n > f->max_args)) {
        if (f->max_args < 0)
            return fail_at(c, name_at, "wrong number of arguments: %s takes at least %d, got %d", f->name, f->min_args, n);
        return fail_at(c, name_at, "wrong number of arguments: %s takes %d, got %d", f->name, f->min_args, n);
    }
    double v;
    if (!apply_func(c, f, args, name_at, &v)) return false;
    char what[64];
    snprintf(what, sizeof what, "%s()", f->name);
    if (!finite_or_fail(c, v, name_at, what)) return false;
    *out = v;
    return true;
}

static bool parse_primary(calc *c, double *out) {
    skip_ws(c);
    if (c->pos >= c->len) return unexpected(c, "a number, a name or '('");
    const char ch = c->s[c->pos];
    if (is_digit(ch) || ch == '.') return parse_number(c, out);
    if (ch == '(') {
        const size_t open = c->pos;
        if (!enter(c, open)) return false;
        c->pos++;
        skip_ws(c);
        if (c->pos < c->len && c->s[c->pos] == ')') return fail_at(c, c->pos, "empty parentheses");
        if (!parse_expr(c, out)) return false;
        skip_ws(c);
        if (c->pos >= c->len) return fail_at(c, open, "missing ')' for this '('");
        if (c->s[c->pos] != ')') return unexpected(c, "an operator or ')'");
        c->pos++;
        c->depth--;
        return true;
    }
    const bool is_pi = at_str(c, "\xCF\x80"); /* U+03C0 π */
    if (is_name_start(ch) || is_pi) {
        const size_t at = c->pos;
        if (is_pi) c->pos += 2;
        else
            while (c->pos < c->len && is_name_char(c->s[c->pos])) c->pos++;
        const char *name = c->s + at;
        const size_t n = is_pi ? 2 : c->pos - at;
        const int shown = n > 40 ? 40 : (int)n;
        skip_ws(c);
        const bool call = c->pos < c->len && c->s[c->pos] == '(';
        const func_def *f = is_pi ? NULL : find_func(name, n);
        double k = 0;
        const bool is_const = is_pi || find_const(name, n, &k);
        if (is_pi) k = 3.14159265358979323846;
        if (call) {
            if (f) return parse_call(c, f, at, out);
            if (is_const) return fail_at(c, at, "'%.*s' is a constant, not a function", shown, name);
            return fail_at(c, at, "unknown function '%.*s' (known: sqrt cbrt abs sin cos tan asin acos atan sinh cosh "
                                  "tanh exp ln log log2 log10 round floor ceil trunc min max pow hypot)", shown, name);
        }
        if (is_const) {
            *out = k;
            return true;
        }
        if (f) return fail_at(c, at, "'%s' is a function: write %s(…)", f->name, f->name);
        return fail_at(c, at, "unknown name '%.*s' (the constants are pi and e)", shown, name);
    }
    return unexpected(c, "a number, a name or '('");
}

/* power := primary [ '^' unary ] */
static bool parse_power(calc *c, double *out) {
    double base;
    if (!parse_primary(c, &base)) return false;
    size_t n;
    if (peek_op(c, &n) != OP_POW) {
        *out = base;
        return true;
    }
    const size_t at = c->pos;
    c->pos += n;
    if (!enter(c, at)) return false;
    double ex;
    if (!parse_unary(c, &ex)) return false;
    c->depth--;
    double v;
    if (!power(c, base, ex, at, &v)) return false;
    if (!finite_or_fail(c, v, at, "'^'")) return false;
    *out = v;
    return true;
}

/* unary := { sign } power — a loop, so a run of signs costs no stack */
static bool parse_unary(calc *c, double *out) {
    bool negate = false;
    for (;;) {
        size_t n;
        const int op = peek_op(c, &n);
        if (op == OP_SUB) negate = !negate;
        else if (op != OP_ADD) break;
        c->pos += n;
    }
    double v;
    if (!parse_power(c, &v)) return false;
    *out = negate ? -v : v;
    return true;
}

static bool parse_term(calc *c, double *out) {
    double acc;
    if (!parse_unary(c, &acc)) return false;
    for (;;) {
        size_t n;
        const int op = peek_op(c, &n);
        if (op != OP_MUL && op != OP_DIV && op != OP_MOD) break;
        const size_t at = c->pos;
        c->pos += n;
        skip_ws(c);
        if (op == OP_MOD && (c->pos >= c->len || c->s[c->pos] == ')' || c->s[c->pos] == ','))
            return fail_at(c, at, "'%%' is the remainder operator (7 %% 3 = 1), not percent: for 15%% write 15/100");
        double r;
        if (!parse_unary(c, &r)) return false;
        if (op == OP_DIV && r == 0) return fail_at(c, at, "division by zero");
        if (op == OP_MOD && r == 0) return fail_at(c, at, "modulo by zero");
        acc = op == OP_MUL ? acc * r : op == OP_DIV ? acc / r : fmod(acc, r);
        if (!finite_or_fail(c, acc, at, op == OP_MUL ? "'*'" : op == OP_DIV ? "'/'" : "'%'")) return false;
    }
    *out = acc;
    return true;
}

static bool parse_expr(calc *c, double *out) {
    double acc;
    if (!parse_term(c, &acc)) return false;
    for (;;) {
        size_t n;
        const int op = peek_op(c, &n);
        if (op != OP_ADD && op != OP_SUB) break;
        const size_t at = c->pos;
        c->pos += n;
        double r;
        if (!parse_term(c, &r)) return false;
        acc = op == OP_ADD ? acc + r : acc - r;
        if (!finite_or_fail(c, acc, at, op == OP_ADD ? "'+'" : "'-'")) return false;
    }
    *out = acc;
    return true;
}

/* Strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF); offset of the first bad
 * byte, or SIZE_MAX when valid. */
static size_t utf8_invalid_at(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        const unsigned char b = s[i];
        size_t need;
        unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
        if (b < 0x80) {
            i++;
            continue;
        } else if (b >= 0xC2 && b <= 0xDF) {
            need = 1;
        } else if (b >= 0xE0 && b <= 0xEF) {
            need = 2;
            if (b == 0xE0) lo = 0xA0;      /* overlong */
            else if (b == 0xED) hi = 0x9F; /* surrogates */
        } else if (b >= 0xF0 && b <= 0xF4) {
            need = 3;
            if (b == 0xF0) lo = 0x90;      /* overlong */
            else if (b == 0xF4) hi = 0x8F; /* above U+10FFFF */
        } else {
            return i;
        }
        if (n - i <= need) return i;
        if (s[i + 1] < lo || s[i + 1] > hi) return i;
        for (size_t k = 2; k <= need; k++)
            if ((s[i + k] & 0xC0) != 0x80) return i;
        i += need + 1;
    }
    return SIZE_MAX;
}

neuronos_status neuronos_calc_eval(const char *expr, double *out, char *why, size_t why_size) {
    calc c = {.why = why, .why_size = why_size};
    if (why && why_size) why[0] = 0;
    if (!expr || !out) {
        fail_at(&c, SIZE_MAX, "no expression");
        return NEURONOS_ERR_INVALID_ARGUMENT;
    }
    size_t len = 0; /* strnlen is POSIX, not C11 */
    while (len <= NEURONOS_CALC_MAX_BYTES && expr[len]) len++;
    if (len > NEURONOS_CALC_MAX_BYTES) {
        fail_at(&c, SIZE_MAX, "expression longer than %d bytes", NEURONOS_CALC_MAX_BYTES);
        return NEURONOS_ERR_INVALID_ARGUMENT;
    }
    const size_t bad = utf8_invalid_at((const unsigned char *)expr, len);
    if (bad != SIZE_MAX) {
        fail_at(&c, SIZE_MAX, "invalid UTF-8 at byte %zu", bad + 1);
        return NEURONOS_ERR_INVALID_ARGUMENT;
    }
    c.s = expr;
    c.len = len;
    skip_ws(&c);
    if (c.pos >= c.len) {
        fail_at(&c, SIZE_MAX, "empty expression");
        return NEURONOS_ERR_INVALID_ARGUMENT;
    }
    double v;
    if (!parse_expr(&c, &v)) return NEURONOS_ERR_INVALID_ARGUMENT;
    skip_ws(&c);
    if (c.pos < c.len) {
        const char ch = c.s[c.pos];
        if (is_digit(ch) || ch == '.' || ch == '(' || (is_name_start(ch) && ch != '_') || at_str(&c, "\xCF\x80")) {
            size_t n = char_len(&c, c.pos); /* the whole number or name, up to 24 bytes */
            if (ch != '(')
                while (n < 24 && c.pos + n < c.len && (is_name_char(c.s[c.pos + n]) || c.s[c.pos + n] == '.')) n++;
            fail_at(&c, c.pos, "missing operator before '%.*s'", (int)n, c.s + c.pos);
        } else {
            unexpected(&c, "an operator");
        }
        return NEURONOS_ERR_INVALID_ARGUMENT;
    }
    *out = v;
    return NEURONOS_OK;
}

/* ------------------------------------------------------------------ formatting ------- */

/* Drops the '+' and leading zeros of a printf exponent: "1e+06" -> "1e6", "1e-07" -> "1e-7". */
static void tidy_exponent(char *s) {
    char *e = strchr(s, 'e');
    if (!e) return;
    char *src = e + 1, *dst = e + 1;
    if (*src == '+') src++;
    else if (*src == '-') *dst++ = *src++;
    while (*src == '0' && src[1]) src++;
    memmove(dst, src, strlen(src) + 1);
}

size_t neuronos_calc_format(double v, char *buf, size_t n) {
    char tmp[NEURONOS_CALC_FORMAT_MAX];
    if (!isfinite(v)) {
        snprintf(tmp, sizeof tmp, "null");
    } else if (v == 0) {
        snprintf(tmp, sizeof tmp, "0"); /* also -0 */
    } else if (v == trunc(v) && fabs(v) < 1e15) {
        snprintf(tmp, sizeof tmp, "%.0f", v); /* integers in full, not 1e+06 */
    } else {
        /* the fewest significant digits that read back as the same double */
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(tmp, sizeof tmp, "%.*g", prec, v);
            if (strtod(tmp, NULL) == v) break;
        }
        tidy_exponent(tmp);
    }
    const size_t len = strlen(tmp);
    if (buf && n) {
        const size_t k = len < n - 1 ? len : n - 1;
        memcpy(buf, tmp, k);
        buf[k] = 0;
    }
    return len;
}
