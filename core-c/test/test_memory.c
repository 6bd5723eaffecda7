#include "check.h"

void test_memory(void) {
    g_test = "test_memory";
}
