#include "check.h"

void test_calc(void) {
    g_test = "test_calc";
}
