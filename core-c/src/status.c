/* status.c — status codes as the strings the TypeScript side uses (src/errors.ts). */
#include <stdlib.h>

#include "neuronos.h"

static const char *const codes[] = {
    "ok",           "invalid_argument", "model_invalid", "model_too_large", "out_of_memory",
    "no_model",     "context_full",     "aborted",       "busy",            "template_failed",
    "not_implemented", "not_initialized", "internal",
};

const char *neuronos_status_code(int status) {
    if (status < 0 || (size_t)status >= sizeof codes / sizeof codes[0]) return "unknown";
    return codes[status];
}

void neuronos_free_string(char *s) { free(s); }
