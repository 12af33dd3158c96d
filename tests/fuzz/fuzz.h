/*
 * fuzz.h: the libFuzzer entry point, declared once for the fuzz targets
 * and for driver.c, the replay main() used where libFuzzer is not
 * available (gcc builds).
 */
#ifndef FLOTILLA_FUZZ_H
#define FLOTILLA_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Run one input; must not leak, crash or touch global state that the next
 * input could see. Returns 0 (libFuzzer reserves other values). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
