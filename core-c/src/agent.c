/* agent.c — (in progress) */
#include "neuronos.h"
