/* calc.c — (in progress) */
#include "neuronos.h"
