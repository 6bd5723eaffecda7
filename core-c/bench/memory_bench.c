/* memory_bench.c — speed of the memory store (memory.c), native, for `npm run bench`.
 *
 * A benchmark, not a test: it reports, it asserts nothing (it fails only when a store call
 * fails). Through the public API only, as the agent uses it:
 *
 *   1. archival store throughput: N facts (seeded, deterministic short sentences with tags),
 *      one neuronos_memory_archival_insert each. Every call is its own transaction and returns
 *      only once durable (rollback journal, synchronous=FULL: several fsyncs per call). That is
 *      the real cost of the API and what is reported; there is no batched insert to hide it.
 *   2. the database is closed and reopened (timed), then Q archival searches (seeded, 1–4 words:
 *      common words that hit many rows, words of a stored fact, rare words, absent words), each
 *      timed on its own after a short discarded warm-up; median, p90, max.
 *   3. recall: R messages with neuronos_memory_recall_add (durable too), then the same Q queries
 *      with neuronos_memory_recall_search over all conversations.
 *   4. (unless --no-in-memory) the same N facts and Q queries in a ":memory:" store: the CPU cost
 *      without any file I/O.
 *
 * One JSON object on stdout; progress on stderr. The file database lives in a fresh temporary
 * directory (under --dir, default $TMPDIR or /tmp) that is removed at the end (--keep keeps it).
 *
 *   neuronos_memory_bench [--n 100000] [--queries 200] [--recall 10000] [--limit 10]
 *                         [--seed 1] [--dir /tmp] [--no-in-memory] [--keep]
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "neuronos.h"
#include "sqlite3.h"

/* ------------------------------------------------------------------ helpers --------- */

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("memory_bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void check(neuronos_memory *m, neuronos_status s, const char *what) {
    if (s != NEURONOS_OK) die("%s failed: %s (%s)", what, neuronos_status_code(s), m ? neuronos_memory_last_error(m) : "");
}

/* splitmix64: small, seedable, good enough for test data */
static uint64_t mix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}
typedef struct { uint64_t s; } rng;
static uint64_t rnext(rng *r) { return mix64(r->s++ * 0x2545F4914F6CDD1DULL + 0x1234567ULL); }
static uint32_t rbelow(rng *r, uint32_t n) { return (uint32_t)(rnext(r) % n); }
#define PICK(r, arr) (arr[rbelow(r, (uint32_t)(sizeof arr / sizeof arr[0]))])

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct { double median, p90, p99, max, mean; int n; } summary;

/* nearest-rank percentiles; median of an even count is the mean of the middle two */
static summary summarize(const double *xs, int n) {
    summary s = {0};
    s.n = n;
    if (n <= 0) return s;
    double *v = malloc(sizeof *v * (size_t)n);
    memcpy(v, xs, sizeof *v * (size_t)n);
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
#define RANK(p) v[(int)ceil((p) * n) - 1 < 0 ? 0 : (int)ceil((p) * n) - 1]
    s.p90 = RANK(0.90);
    s.p99 = RANK(0.99);
#undef RANK
    s.max = v[n - 1];
    double sum = 0;
    for (int i = 0; i < n; i++) sum += v[i];
    s.mean = sum / n;
    free(v);
    return s;
}

static void json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        const unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

static void json_summary(FILE *f, const char *key, summary s) {
    fprintf(f, "\"%s\":{\"median\":%.4f,\"p90\":%.4f,\"p99\":%.4f,\"max\":%.4f,\"mean\":%.4f,\"n\":%d}", key, s.median, s.p90,
            s.p99, s.max, s.mean, s.n);
}

/* top-level objects in a result array: every one starts with {"id": (built by json_object) */
static int count_results(const char *json) {
    int n = 0;
    for (const char *p = json; (p = strstr(p, "{\"id\":")); p++) n++;
    return n;
}

static long long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* ------------------------------------------------------------------ the data -------- */
/* Short sentences a personal assistant would keep about its user, from templates. Template
 * words ("the", "user", "in") occur in a large share of the rows; slot words (names, cities,
 * foods) in a few percent; surnames (from 8,000 syllable combinations) and order numbers in a
 * handful of rows each. No generated word contains "zq", which absent query words use. */

static const char *NAMES[] = {"Alice", "Bruno", "Carmen", "Dmitri", "Emma", "Farid", "Greta", "Hiro", "Ines", "Jonas",
                              "Keiko", "Liam", "Maya", "Nadia", "Oscar", "Priya", "Quentin", "Rosa", "Samir", "Tomas",
                              "Ulla", "Victor", "Wanda", "Xavier", "Yusuf", "Zoe", "Amara", "Björn", "Chloé", "Diego",
                              "Elif", "Fatima", "Gustav", "Hannah", "Igor", "José", "Kofi", "Lena", "Mateo", "Noor",
                              "Olga", "Pablo", "Rafael", "Sofia", "Tariq", "Uma", "Valentina", "Wei", "Yara", "Zeynep"};
static const char *RELATIONS[] = {"sister", "brother", "mother", "father", "cousin", "colleague", "manager", "neighbour",
                                  "friend", "daughter", "son", "partner", "aunt", "uncle", "landlord", "dentist"};
static const char *SYL1[] = {"Ka", "Mo", "Ri", "Tel", "Bra", "Sun", "Ve", "Lo", "Dar", "Fen",
                             "Gor", "Hal", "Ish", "Jor", "Kel", "Mar", "Nor", "Pel", "Sor", "Tam"};
static const char *SYL2[] = {"ven", "ra", "ti", "lan", "mer", "do", "shi", "ber", "go", "wen",
                             "la", "ric", "to", "bel", "na", "vi", "ko", "ser", "de", "mu"};
static const char *SYL3[] = {"dor", "son", "berg", "ski", "ez", "ani", "off", "ton", "ley", "ard",
                             "ova", "ini", "ssen", "well", "mann", "ovic", "ida", "ura", "lund", "ham"};
static const char *CITIES[] = {"Lisbon", "Berlin", "Osaka", "Nairobi", "Toronto", "Lyon", "Porto", "Seoul", "Krakow", "Lima",
                               "Dublin", "Oslo", "Munich", "Austin", "Melbourne", "Istanbul", "Valencia", "Hanoi", "Bergen",
                               "Montreal", "Cairo", "Bogota", "Tallinn", "Kyoto", "Edinburgh", "Zurich", "Athens", "Quito"};
static const char *JOBS[] = {"nurse", "teacher", "carpenter", "software engineer", "pharmacist", "architect", "chef",
                             "journalist", "lawyer", "pilot", "librarian", "electrician", "photographer", "translator",
                             "veterinarian", "accountant", "gardener", "physiotherapist", "baker", "firefighter"};
static const char *DRINKS[] = {"green tea", "black coffee", "oat milk lattes", "sparkling water", "hot chocolate",
                               "espresso", "chai", "orange juice", "rooibos", "iced tea", "flat whites", "peppermint tea"};
static const char *DAYPARTS[] = {"morning", "afternoon", "evening", "weekend"};
static const char *ALLERGENS[] = {"peanuts", "shellfish", "gluten", "lactose", "sesame", "eggs", "soy", "kiwi", "penicillin",
                                  "cats", "pollen", "strawberries"};
static const char *PROJECTS[] = {"Atlas", "Beacon", "Cobalt", "Delta", "Ember", "Falcon", "Granite", "Harbor", "Iris", "Juniper",
                                 "Keystone", "Lantern", "Meridian", "Nimbus", "Orchid", "Pioneer"};
static const char *WEEKDAYS[] = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
static const char *ITEMS[] = {"bicycle", "laptop", "piano", "camera", "sofa", "car", "guitar", "washing machine", "tent",
                              "phone", "espresso machine", "watch", "kayak", "desk"};
static const char *SHOPS[] = {"a local shop", "a market stall", "an online store", "a second-hand dealer", "a friend",
                              "the department store", "an auction"};
static const char *ADJS[] = {"Silent", "Last", "Hidden", "Golden", "Broken", "Distant", "Quiet", "Burning", "Winter", "Lost",
                             "Paper", "Glass", "Midnight", "Northern"};
static const char *NOUNS[] = {"Garden", "River", "Orchard", "Lighthouse", "Kingdom", "Harvest", "Archive", "Bridge", "Station",
                              "Mountain", "Letters", "Island", "Clockmaker", "Atlas"};
static const char *PRODUCTS[] = {"running shoes", "a desk lamp", "printer ink", "a yoga mat", "coffee beans", "a phone case",
                                 "hiking socks", "a kettle", "headphones", "a backpack", "plant pots", "a rain jacket"};
static const char *LANGUAGES[] = {"Spanish", "Japanese", "German", "Portuguese", "Korean", "Italian", "Swahili", "Turkish",
                                  "Polish", "Arabic", "Dutch", "Greek"};
static const char *MONTHS[] = {"January", "February", "March", "April", "May", "June", "July", "August", "September",
                               "October", "November", "December"};
static const char *HOBBIES[] = {"jazz records", "board games", "rock climbing", "watercolours", "bird watching", "chess",
                                "sourdough baking", "pottery", "crosswords", "vintage cameras", "salsa dancing", "gardening"};
static const char *PLACES[] = {"office", "cabin", "studio", "flat", "beach house", "gym", "library", "workshop"};
static const char *FURNITURE[] = {"fridge", "front door", "router", "bookshelf", "kitchen window", "coat rack"};
static const char *FEELINGS[] = {"great", "tired", "strong", "slow", "happy", "sore"};
static const char *SUBJECTS[] = {"medicine", "music", "physics", "law", "design", "history", "economics", "biology"};
static const char *DISHES[] = {"lentil soup", "mushroom risotto", "fish tacos", "pad thai", "shakshuka", "ramen", "paella",
                               "pierogi", "falafel", "lasagne", "dumplings", "curry"};
static const char *PRONOUNS[] = {"she", "he", "they"};

#define TEXT_MAX 512
#define TAGS_MAX 128

static void surname(rng *r, char *out, size_t n) {
    snprintf(out, n, "%s%s%s", PICK(r, SYL1), PICK(r, SYL2), PICK(r, SYL3));
}

/* Fact i of the data set (the same for the same seed): its text and tags (a JSON array). */
static void make_fact(uint64_t seed, uint32_t i, char *text, char *tags) {
    rng r = {mix64(seed * 1000003ULL + i)};
    char sur[48], sur2[48];
    surname(&r, sur, sizeof sur);
    surname(&r, sur2, sizeof sur2);
    const char *name = PICK(&r, NAMES);
    switch (rbelow(&r, 14)) {
    case 0:
        snprintf(text, TEXT_MAX, "%s's %s %s %s lives in %s and works as a %s.", name, PICK(&r, RELATIONS), PICK(&r, NAMES), sur,
                 PICK(&r, CITIES), PICK(&r, JOBS));
        snprintf(tags, TAGS_MAX, "[\"family\",\"people\"]");
        break;
    case 1:
        snprintf(text, TEXT_MAX, "The user prefers %s in the %s, never after %d pm.", PICK(&r, DRINKS), PICK(&r, DAYPARTS),
                 3 + (int)rbelow(&r, 6));
        snprintf(tags, TAGS_MAX, "[\"preference\",\"food\"]");
        break;
    case 2:
        snprintf(text, TEXT_MAX, "%s %s is allergic to %s; avoid it when suggesting recipes.", name, sur, PICK(&r, ALLERGENS));
        snprintf(tags, TAGS_MAX, "[\"health\",\"people\"]");
        break;
    case 3:
        snprintf(text, TEXT_MAX, "Meeting with %s %s about the %s project on %s at %d:%02d.", name, sur, PICK(&r, PROJECTS),
                 PICK(&r, WEEKDAYS), 8 + (int)rbelow(&r, 10), 15 * (int)rbelow(&r, 4));
        snprintf(tags, TAGS_MAX, "[\"work\",\"meeting\"]");
        break;
    case 4:
        snprintf(text, TEXT_MAX, "The user's %s was bought in %d from %s for %d euros.", PICK(&r, ITEMS), 1995 + (int)rbelow(&r, 31),
                 PICK(&r, SHOPS), 20 + (int)rbelow(&r, 1980));
        snprintf(tags, TAGS_MAX, "[\"purchase\"]");
        break;
    case 5:
        snprintf(text, TEXT_MAX, "%s recommended the book \"The %s %s\" by %s %s.", name, PICK(&r, ADJS), PICK(&r, NOUNS),
                 PICK(&r, NAMES), sur);
        snprintf(tags, TAGS_MAX, "[\"book\",\"recommendation\"]");
        break;
    case 6:
        snprintf(text, TEXT_MAX, "Order %u for %s ships to %s on %s.", 100000u + (uint32_t)rbelow(&r, 900000), PICK(&r, PRODUCTS),
                 PICK(&r, CITIES), PICK(&r, WEEKDAYS));
        snprintf(tags, TAGS_MAX, "[\"order\",\"shipping\"]");
        break;
    case 7:
        snprintf(text, TEXT_MAX, "The user is learning %s and practises %d minutes every %s.", PICK(&r, LANGUAGES),
                 5 * (1 + (int)rbelow(&r, 12)), PICK(&r, DAYPARTS));
        snprintf(tags, TAGS_MAX, "[\"learning\",\"habit\"]");
        break;
    case 8:
        snprintf(text, TEXT_MAX, "%s's birthday is on %s %d; %s likes %s.", name, PICK(&r, MONTHS), 1 + (int)rbelow(&r, 28),
                 PICK(&r, PRONOUNS), PICK(&r, HOBBIES));
        snprintf(tags, TAGS_MAX, "[\"birthday\",\"people\",\"%s\"]", MONTHS[rbelow(&r, 12)]);
        break;
    case 9:
        snprintf(text, TEXT_MAX, "The wifi password at the %s is on a note by the %s.", PICK(&r, PLACES), PICK(&r, FURNITURE));
        snprintf(tags, TAGS_MAX, "[\"home\"]");
        break;
    case 10:
        snprintf(text, TEXT_MAX, "The user ran %d km in %s on %s and felt %s.", 3 + (int)rbelow(&r, 40), PICK(&r, CITIES),
                 PICK(&r, WEEKDAYS), PICK(&r, FEELINGS));
        snprintf(tags, TAGS_MAX, "[\"sport\",\"health\"]");
        break;
    case 11:
        snprintf(text, TEXT_MAX, "%s %s moved from %s to %s in %d to study %s.", name, sur2, PICK(&r, CITIES), PICK(&r, CITIES),
                 1980 + (int)rbelow(&r, 45), PICK(&r, SUBJECTS));
        snprintf(tags, TAGS_MAX, "[\"people\",\"history\"]");
        break;
    case 12:
        snprintf(text, TEXT_MAX, "The user cooked %s for %s on %s; %s asked for the recipe.", PICK(&r, DISHES), name,
                 PICK(&r, WEEKDAYS), PICK(&r, PRONOUNS));
        snprintf(tags, TAGS_MAX, "[\"food\",\"people\"]");
        break;
    default:
        snprintf(text, TEXT_MAX, "Remind the user to call %s %s about the %s before %s.", name, sur, PICK(&r, ITEMS),
                 PICK(&r, WEEKDAYS));
        snprintf(tags, TAGS_MAX, "[\"reminder\"]");
        break;
    }
}

/* The words of a text (runs of letters, digits and non-ASCII bytes), at most `max`. */
static void fact_words(const char *text, char words[][48], int *n, int max) {
    *n = 0;
    const char *p = text;
    while (*p && *n < max) {
        while (*p && !((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || (unsigned char)*p >= 0x80))
            p++;
        const char *b = p;
        while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || (unsigned char)*p >= 0x80) p++;
        if (p > b && p - b < 48) {
            memcpy(words[*n], b, (size_t)(p - b));
            words[*n][p - b] = 0;
            (*n)++;
        }
    }
}

/* Whether `w` is one of the generated surnames (SYL1 + SYL2 + SYL3). */
static bool is_surname(const char *w) {
    for (size_t a = 0; a < sizeof SYL1 / sizeof *SYL1; a++) {
        const size_t la = strlen(SYL1[a]);
        if (strncmp(w, SYL1[a], la) != 0) continue;
        for (size_t b = 0; b < sizeof SYL2 / sizeof *SYL2; b++) {
            const size_t lb = strlen(SYL2[b]);
            if (strncmp(w + la, SYL2[b], lb) != 0) continue;
            for (size_t c = 0; c < sizeof SYL3 / sizeof *SYL3; c++)
                if (strcmp(w + la + lb, SYL3[c]) == 0) return true;
        }
    }
    return false;
}

/* A recall message: alternating user questions and assistant answers. */
static void make_message(uint64_t seed, uint32_t i, char *text) {
    rng r = {mix64(seed * 7919ULL + 0xabcdefULL + i)};
    char sur[48];
    surname(&r, sur, sizeof sur);
    if (i % 2 == 0) {
        switch (rbelow(&r, 5)) {
        case 0: snprintf(text, TEXT_MAX, "When is %s's birthday again?", PICK(&r, NAMES)); break;
        case 1: snprintf(text, TEXT_MAX, "Can you suggest a recipe without %s for dinner?", PICK(&r, ALLERGENS)); break;
        case 2: snprintf(text, TEXT_MAX, "Where does my %s %s live now?", PICK(&r, RELATIONS), sur); break;
        case 3: snprintf(text, TEXT_MAX, "What time is the %s meeting on %s?", PICK(&r, PROJECTS), PICK(&r, WEEKDAYS)); break;
        default: snprintf(text, TEXT_MAX, "Remind me what I ordered for %s last week.", PICK(&r, CITIES)); break;
        }
    } else {
        switch (rbelow(&r, 4)) {
        case 0:
            snprintf(text, TEXT_MAX, "%s's birthday is on %s %d. Maybe get %s something about %s?", PICK(&r, NAMES), PICK(&r, MONTHS),
                     1 + (int)rbelow(&r, 28), PICK(&r, PRONOUNS), PICK(&r, HOBBIES));
            break;
        case 1: snprintf(text, TEXT_MAX, "How about %s? It has no %s in it.", PICK(&r, DISHES), PICK(&r, ALLERGENS)); break;
        case 2:
            snprintf(text, TEXT_MAX, "Your %s %s lives in %s and works as a %s.", PICK(&r, RELATIONS), sur, PICK(&r, CITIES),
                     PICK(&r, JOBS));
            break;
        default:
            snprintf(text, TEXT_MAX, "The %s meeting is on %s at %d:00 with %s.", PICK(&r, PROJECTS), PICK(&r, WEEKDAYS),
                     8 + (int)rbelow(&r, 10), PICK(&r, NAMES));
            break;
        }
    }
}

/* ------------------------------------------------------------------ queries --------- */

enum { Q_COMMON, Q_FACT, Q_RARE, Q_ABSENT, Q_KINDS };
static const char *KIND_NAMES[Q_KINDS] = {"common", "fact", "rare", "absent"};
/* words in a large share of the rows (template words and tags) */
static const char *COMMON[] = {"the", "user", "in", "on", "and", "people", "is", "to", "for", "about", "health", "food",
                               "meeting", "birthday", "order", "lives", "works", "prefers", "project", "recipes"};
static const char *QUESTION[] = {"what", "when", "where", "who", "does", "my", "remember", "which"};

static bool is_stop(const char *w) {
    static const char *STOP[] = {"the", "The", "with", "from", "when", "never", "after", "about", "every", "before", "user",
                                 "user's", "works", "lives", "likes", "asked"};
    for (size_t i = 0; i < sizeof STOP / sizeof *STOP; i++)
        if (strcmp(w, STOP[i]) == 0) return true;
    return false;
}

typedef struct {
    int kind;
    char text[256];
    double ms;         /* archival search, file */
    double ms_memory;  /* archival search, :memory: */
    double recall_ms;  /* recall search, file */
    int returned;      /* archival results returned (<= limit) */
    long long matches; /* archival rows matching the query (counted afterwards) */
} query;

/* Q queries: 30% common (1–2 common words), 30% fact (2–4 words of a stored fact, sometimes with
 * a question word), 20% rare (a stored fact's surname or order number, sometimes with a name),
 * 20% absent (1–3 words no fact contains). */
static query *make_queries(uint64_t seed, int q, uint32_t n_facts) {
    query *qs = calloc((size_t)q, sizeof *qs);
    rng r = {mix64(seed ^ 0x51ed270b27ULL)};
    char text[TEXT_MAX], tags[TAGS_MAX], words[64][48];
    for (int i = 0; i < q; i++) {
        query *x = &qs[i];
        const int slot = i % 10;
        x->kind = slot < 3 ? Q_COMMON : slot < 6 ? Q_FACT : slot < 8 ? Q_RARE : Q_ABSENT;
        char *o = x->text;
        const size_t cap = sizeof x->text;
        int nw;
        switch (x->kind) {
        case Q_COMMON: {
            const uint32_t n_common = sizeof COMMON / sizeof *COMMON;
            const uint32_t a = rbelow(&r, n_common);
            if (rbelow(&r, 2)) snprintf(o, cap, "%s", COMMON[a]);
            else snprintf(o, cap, "%s %s", COMMON[a], COMMON[(a + 1 + rbelow(&r, n_common - 1)) % n_common]);
            break;
        }
        case Q_FACT: {
            /* content words of a stored fact (no stop words, no repeats), as a model would ask */
            make_fact(seed, rbelow(&r, n_facts), text, tags);
            fact_words(text, words, &nw, 64);
            int keep = 0;
            for (int j = 0; j < nw; j++) {
                bool ok = strlen(words[j]) > 3 && !is_stop(words[j]);
                for (int k = 0; ok && k < keep; k++) ok = strcmp(words[k], words[j]) != 0;
                if (ok) memmove(words[keep++], words[j], 48);
            }
            const int k = 2 + (int)rbelow(&r, 3);
            int j = 0;
            if (rbelow(&r, 2)) snprintf(o, cap, "%s", PICK(&r, QUESTION)), j++;
            for (int used = 0; j < k && used < keep; j++, used++) {
                const uint32_t pick = rbelow(&r, (uint32_t)(keep - used)) + (uint32_t)used; /* partial shuffle */
                char tmp[48];
                memcpy(tmp, words[used], 48), memcpy(words[used], words[pick], 48), memcpy(words[pick], tmp, 48);
                snprintf(o + strlen(o), cap - strlen(o), "%s%s", j ? " " : "", words[used]);
            }
            break;
        }
        case Q_RARE: {
            /* a surname or an order number of a stored fact that has one, sometimes with a name */
            int best = -1;
            for (int tries = 0; best < 0 && tries < 1000; tries++) {
                make_fact(seed, rbelow(&r, n_facts), text, tags);
                fact_words(text, words, &nw, 64);
                for (int j = 0; j < nw && best < 0; j++)
                    if (is_surname(words[j]) || (strlen(words[j]) == 6 && strspn(words[j], "0123456789") == 6)) best = j;
            }
            if (best < 0) die("no fact with a rare word among %u", n_facts);
            if (rbelow(&r, 3) == 0) snprintf(o, cap, "%s %s", PICK(&r, NAMES), words[best]);
            else snprintf(o, cap, "%s", words[best]);
            break;
        }
        default: {
            const int k = 1 + (int)rbelow(&r, 3);
            for (int j = 0; j < k; j++) {
                char w[16] = "zq";
                const int len = 3 + (int)rbelow(&r, 5);
                for (int c = 0; c < len; c++) w[2 + c] = (char)('a' + rbelow(&r, 26));
                w[2 + len] = 0;
                snprintf(o + strlen(o), cap - strlen(o), "%s%s", j ? " " : "", w);
            }
            break;
        }
        }
    }
    return qs;
}

/* ------------------------------------------------------------------ phases ---------- */

typedef struct {
    double total_ms;
    summary lat; /* per call, ms */
    double first_tenth_per_s, last_tenth_per_s;
} insert_result;

static insert_result insert_facts(neuronos_memory *m, uint64_t seed, uint32_t n, const char *label) {
    insert_result res = {0};
    double *lat = malloc(sizeof *lat * (n ? n : 1));
    char text[TEXT_MAX], tags[TAGS_MAX];
    const uint32_t tenth = n / 10 ? n / 10 : 1;
    double first_tenth_ms = 0, last_tenth_start = 0;
    const double t0 = now_ms();
    for (uint32_t i = 0; i < n; i++) {
        make_fact(seed, i, text, tags);
        const double a = now_ms();
        check(m, neuronos_memory_archival_insert(m, text, tags, 0, NULL), "archival_insert");
        const double b = now_ms();
        lat[i] = b - a;
        if (i + 1 == tenth) first_tenth_ms = b - t0;
        if (i == n - tenth) last_tenth_start = a;
        if (n >= 10 && (i + 1) % tenth == 0)
            fprintf(stderr, "  %s: %u/%u facts, %.0f/s so far\n", label, i + 1, n, (i + 1) / ((b - t0) / 1e3));
    }
    res.total_ms = now_ms() - t0;
    res.lat = summarize(lat, (int)n);
    res.first_tenth_per_s = first_tenth_ms > 0 ? tenth / (first_tenth_ms / 1e3) : 0;
    res.last_tenth_per_s = n ? tenth / ((now_ms() - last_tenth_start) / 1e3) : 0;
    free(lat);
    return res;
}

/* times every query; `which` 0: archival on file, 1: archival in memory, 2: recall on file */
static void run_queries(neuronos_memory *m, query *qs, int q, int limit, int which, int warmup, uint64_t seed, uint32_t n_facts) {
    char *json = NULL;
    /* warm-up: different queries of the same kinds, not measured */
    query *w = make_queries(seed + 99, warmup, n_facts);
    for (int i = 0; i < warmup; i++) {
        check(m, which == 2 ? neuronos_memory_recall_search(m, w[i].text, NULL, limit, &json) : neuronos_memory_archival_search(m, w[i].text, limit, &json),
              "search (warm-up)");
        neuronos_free_string(json);
    }
    free(w);
    for (int i = 0; i < q; i++) {
        const double a = now_ms();
        check(m, which == 2 ? neuronos_memory_recall_search(m, qs[i].text, NULL, limit, &json) : neuronos_memory_archival_search(m, qs[i].text, limit, &json),
              "search");
        const double b = now_ms();
        if (which == 0) qs[i].ms = b - a, qs[i].returned = count_results(json);
        else if (which == 1) qs[i].ms_memory = b - a;
        else qs[i].recall_ms = b - a;
        neuronos_free_string(json);
    }
}

static summary query_summary(const query *qs, int q, int kind, int which) {
    double *v = malloc(sizeof *v * (size_t)(q ? q : 1));
    int n = 0;
    for (int i = 0; i < q; i++)
        if (kind < 0 || qs[i].kind == kind) v[n++] = which == 0 ? qs[i].ms : which == 1 ? qs[i].ms_memory : qs[i].recall_ms;
    summary s = summarize(v, n);
    free(v);
    return s;
}

/* rows each query matches, on a separate read-only connection, after the timing */
static void count_matches(const char *path, query *qs, int q) {
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) die("cannot open %s: %s", path, sqlite3_errmsg(db));
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM archival_fts WHERE archival_fts MATCH ?1", -1, &st, NULL) != SQLITE_OK)
        die("count: %s", sqlite3_errmsg(db));
    for (int i = 0; i < q; i++) {
        char *fts = NULL;
        if (neuronos_memory_fts_query(qs[i].text, &fts) != NEURONOS_OK) die("fts_query failed");
        qs[i].matches = 0;
        if (fts[0]) {
            sqlite3_bind_text(st, 1, fts, -1, SQLITE_TRANSIENT);
            if (sqlite3_step(st) == SQLITE_ROW) qs[i].matches = sqlite3_column_int64(st, 0);
            sqlite3_reset(st);
        }
        neuronos_free_string(fts);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void json_insert(FILE *f, const char *key, uint32_t n, insert_result r) {
    fprintf(f, "\"%s\":{\"count\":%u,\"total_ms\":%.1f,\"per_s\":%.1f,\"first_tenth_per_s\":%.1f,\"last_tenth_per_s\":%.1f,", key, n,
            r.total_ms, r.total_ms > 0 ? n / (r.total_ms / 1e3) : 0, r.first_tenth_per_s, r.last_tenth_per_s);
    json_summary(f, "latency_ms", r.lat);
    fputc('}', f);
}

static void json_search(FILE *f, const char *key, const query *qs, int q, int which) {
    fprintf(f, "\"%s\":{", key);
    json_summary(f, "latency_ms", query_summary(qs, q, -1, which));
    fprintf(f, ",\"by_kind\":{");
    for (int k = 0; k < Q_KINDS; k++) {
        fprintf(f, "%s", k ? "," : "");
        json_summary(f, KIND_NAMES[k], query_summary(qs, q, k, which));
    }
    fprintf(f, "}}");
}

/* ------------------------------------------------------------------ main ------------ */

static void usage(void) {
    fputs("usage: neuronos_memory_bench [--n 100000] [--queries 200] [--recall 10000] [--limit 10] [--seed 1]\n"
          "                             [--dir DIR] [--no-in-memory] [--keep]\n",
          stderr);
    exit(2);
}

int main(int argc, char **argv) {
    long n_arg = 100000, q_arg = 200, recall_arg = 10000, limit = 10;
    uint64_t seed = 1;
    const char *base = getenv("TMPDIR");
    if (!base || !*base) base = "/tmp";
    bool in_memory = true, keep = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const bool has_val = i + 1 < argc;
        if (!strcmp(a, "--n") && has_val) n_arg = atol(argv[++i]);
        else if (!strcmp(a, "--queries") && has_val) q_arg = atol(argv[++i]);
        else if (!strcmp(a, "--recall") && has_val) recall_arg = atol(argv[++i]);
        else if (!strcmp(a, "--limit") && has_val) limit = atol(argv[++i]);
        else if (!strcmp(a, "--seed") && has_val) seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--dir") && has_val) base = argv[++i];
        else if (!strcmp(a, "--no-in-memory")) in_memory = false;
        else if (!strcmp(a, "--keep")) keep = true;
        else usage();
    }
    if (n_arg < 1 || n_arg > 100000000 || q_arg < 1 || q_arg > 1000000 || recall_arg < 0 || recall_arg > 100000000 || limit < 1 ||
        limit > NEURONOS_MEMORY_MAX_RESULTS)
        usage();
    const uint32_t n = (uint32_t)n_arg, recall_n = (uint32_t)recall_arg;
    const int q = (int)q_arg;
    const int warmup = q < 20 ? q : 20;

    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/neuronos-membench-XXXXXX", base);
    if (!mkdtemp(dir)) die("cannot create a directory in %s", base);
    snprintf(path, sizeof path, "%s/memory.db", dir);
    char why[256] = "";
    neuronos_memory *m = NULL;
    query *qs = make_queries(seed, q, n);

    /* 1. archival inserts, file */
    fprintf(stderr, "memory_bench: %u archival facts into %s (each insert a durable transaction) ...\n", n, path);
    if (neuronos_memory_open(path, NULL, &m, why, sizeof why) != NEURONOS_OK) die("open %s: %s", path, why);
    const insert_result ins = insert_facts(m, seed, n, "file");
    neuronos_memory_close(m);
    const long long archival_bytes = file_size(path);

    /* 2. reopen, archival searches */
    const double o0 = now_ms();
    if (neuronos_memory_open(path, NULL, &m, why, sizeof why) != NEURONOS_OK) die("reopen %s: %s", path, why);
    const double reopen_ms = now_ms() - o0;
    fprintf(stderr, "memory_bench: %d archival searches (+%d warm-up) ...\n", q, warmup);
    run_queries(m, qs, q, (int)limit, 0, warmup, seed, n);

    /* 3. recall */
    insert_result rec = {0};
    if (recall_n) {
        fprintf(stderr, "memory_bench: %u recall messages (each a durable transaction) ...\n", recall_n);
        double *lat = malloc(sizeof *lat * recall_n);
        char text[TEXT_MAX], conv[32];
        const uint32_t tenth = recall_n / 10 ? recall_n / 10 : 1;
        double first_tenth_ms = 0, last_start = 0;
        const double t0 = now_ms();
        for (uint32_t i = 0; i < recall_n; i++) {
            make_message(seed, i, text);
            snprintf(conv, sizeof conv, "conversation-%04u", i / 20);
            const double a = now_ms();
            check(m, neuronos_memory_recall_add(m, conv, i % 2 ? "assistant" : "user", text, 0, NULL), "recall_add");
            const double b = now_ms();
            lat[i] = b - a;
            if (i + 1 == tenth) first_tenth_ms = b - t0;
            if (i == recall_n - tenth) last_start = a;
        }
        rec.total_ms = now_ms() - t0;
        rec.lat = summarize(lat, (int)recall_n);
        rec.first_tenth_per_s = first_tenth_ms > 0 ? tenth / (first_tenth_ms / 1e3) : 0;
        rec.last_tenth_per_s = tenth / ((now_ms() - last_start) / 1e3);
        free(lat);
        fprintf(stderr, "memory_bench: %d recall searches ...\n", q);
        run_queries(m, qs, q, (int)limit, 2, warmup, seed, n);
    }
    neuronos_memory_close(m);
    const long long final_bytes = file_size(path);
    count_matches(path, qs, q);

    /* 4. the same in memory */
    insert_result mem_ins = {0};
    if (in_memory) {
        fprintf(stderr, "memory_bench: the same %u facts and %d searches in :memory: ...\n", n, q);
        if (neuronos_memory_open(":memory:", NULL, &m, why, sizeof why) != NEURONOS_OK) die("open :memory:: %s", why);
        mem_ins = insert_facts(m, seed, n, ":memory:");
        run_queries(m, qs, q, (int)limit, 1, warmup, seed, n);
        neuronos_memory_close(m);
    }

    if (!keep) {
        char j[4300];
        unlink(path);
        snprintf(j, sizeof j, "%s-journal", path);
        unlink(j);
        rmdir(dir);
    }

    /* the report */
    FILE *f = stdout;
    fprintf(f, "{\"schema\":1,\"sqlite\":\"%s\",\"seed\":%llu,\"facts\":%u,\"queries\":%d,\"warmup_queries\":%d,\"limit\":%ld,", sqlite3_libversion(),
            (unsigned long long)seed, n, q, warmup, limit);
    fprintf(f, "\"db\":{\"path\":");
    json_str(f, path);
    fprintf(f, ",\"kept\":%s,\"journal_mode\":\"TRUNCATE\",\"synchronous\":\"FULL\",\"archival_bytes\":%lld,\"final_bytes\":%lld,"
               "\"bytes_per_fact\":%.1f,\"reopen_ms\":%.3f},",
            keep ? "true" : "false", archival_bytes, final_bytes, n ? (double)archival_bytes / n : 0, reopen_ms);
    fprintf(f, "\"file\":{");
    json_insert(f, "archival_insert", n, ins);
    fputc(',', f);
    json_search(f, "archival_search", qs, q, 0);
    if (recall_n) {
        fputc(',', f);
        json_insert(f, "recall_add", recall_n, rec);
        fputc(',', f);
        json_search(f, "recall_search", qs, q, 2);
    }
    fputc('}', f);
    if (in_memory) {
        fprintf(f, ",\"in_memory\":{");
        json_insert(f, "archival_insert", n, mem_ins);
        fputc(',', f);
        json_search(f, "archival_search", qs, q, 1);
        fputc('}', f);
    }
    /* median rows matched per kind (the work a search does before ranking) */
    fprintf(f, ",\"matches_by_kind\":{");
    for (int k = 0; k < Q_KINDS; k++) {
        double *v = malloc(sizeof *v * (size_t)q);
        int c = 0;
        for (int i = 0; i < q; i++)
            if (qs[i].kind == k) v[c++] = (double)qs[i].matches;
        summary s = summarize(v, c);
        fprintf(f, "%s\"%s\":{\"median\":%.0f,\"max\":%.0f,\"n\":%d}", k ? "," : "", KIND_NAMES[k], s.median, s.max, c);
        free(v);
    }
    fprintf(f, "},\"query_list\":[");
    for (int i = 0; i < q; i++) {
        fprintf(f, "%s{\"kind\":\"%s\",\"q\":", i ? "," : "", KIND_NAMES[qs[i].kind]);
        json_str(f, qs[i].text);
        fprintf(f, ",\"matches\":%lld,\"returned\":%d,\"ms\":%.4f", qs[i].matches, qs[i].returned, qs[i].ms);
        if (in_memory) fprintf(f, ",\"ms_memory\":%.4f", qs[i].ms_memory);
        if (recall_n) fprintf(f, ",\"recall_ms\":%.4f", qs[i].recall_ms);
        fputc('}', f);
    }
    fprintf(f, "]}\n");
    free(qs);
    return 0;
}
