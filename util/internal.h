/*
 * internal.h: what the files of util/ share and nothing outside util/
 * sees. Only util/'s .c files include it.
 */
#ifndef FLOTILLA_UTIL_INTERNAL_H
#define FLOTILLA_UTIL_INTERNAL_H

#include "util/util.h"

/*
 * The bytes `fmt` formats to with `ap`, its NUL included, for the
 * printf-into-new-memory functions (xvasprintf, arena_printf), which then
 * format into memory of that size. ap is read through a copy and is left
 * for the caller's vsnprintf. A format vsnprintf refuses (an encoding
 * error in a %ls argument) is a programming mistake, not a runtime
 * condition: it prints "flotilla: <who>: invalid format '<fmt>'" and
 * aborts.
 */
size_t util__format_size(const char *who, const char *fmt, va_list ap) PRINTF(2, 0);

#endif
