/*
 * select.c: placeholder; its implementation is being written.
 */
#include "diff/diff.h"
