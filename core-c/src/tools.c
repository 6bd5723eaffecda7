/* tools.c — (in progress) */
#include "neuronos.h"
