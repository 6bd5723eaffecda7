#include "check.h"

void test_agent(void) {
    g_test = "test_agent";
}
