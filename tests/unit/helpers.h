/*
 * helpers.h: what the unit tests share that no module of flotilla provides:
 * scratch directories made and removed, files written and read whole, a
 * file's mode, and the last error checked. Each helper fails the running
 * cmocka test on an error, so callers need no error paths; include it after
 * <cmocka.h>. Never call them in a forked child (a failure would unwind into
 * the child's copy of the test runner).
 */
#ifndef FLOTILLA_TESTS_UNIT_HELPERS_H
#define FLOTILLA_TESTS_UNIT_HELPERS_H

#include <stddef.h>

/* A new directory $TMPDIR/flotilla-<name>-XXXXXX (/tmp without TMPDIR),
 * mode 0700. The path is heap: free it after ut_rm_rf. */
char *ut_tmpdir(const char *name);

/* Remove path and, for a directory, everything under it (symbolic links
 * are removed, never followed). A path that does not exist is fine;
 * anything that cannot be removed fails the test. */
void ut_rm_rf(const char *path);

/* Create or truncate path (mode 0644 before the umask) to hold `len` bytes
 * of data; ut_write_text writes a string without its NUL. */
void ut_write_file(const char *path, const void *data, size_t len);
void ut_write_text(const char *path, const char *text);

/* A manifest directory DIR/fleet with flotilla.yaml holding fleet_yaml and
 * an empty tenants/ for the test's tenant files. */
void ut_write_fleet(const char *dir, const char *fleet_yaml);

/* The whole file, NUL-terminated (heap, also for an empty file); *len its
 * size when len is not NULL. */
char *ut_read_file(const char *path, size_t *len);

/* The permission bits of path (st_mode & 07777). */
unsigned ut_file_mode(const char *path);

/* The last error (err_msg) contains needle. */
void ut_assert_err_contains(const char *needle);

#endif
