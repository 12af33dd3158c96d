/*
 * floor.h: the shared parse of the floor benchmarks (bench/floor.c).
 */
#ifndef FLOTILLA_BENCH_FLOOR_H
#define FLOTILLA_BENCH_FLOOR_H

#include <stddef.h>

typedef struct floor_totals {
	unsigned long files, bytes, events, errors;
} floor_totals;

/* Parse one file's bytes with libyaml's event parser, discarding events. */
void floor_parse(const unsigned char *data, size_t len, floor_totals *t);

#endif
