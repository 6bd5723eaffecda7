/* memory.c — (in progress) */
#include "neuronos.h"
