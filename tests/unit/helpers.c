/*
 * helpers.c: the unit tests' shared helpers (helpers.h), linked into every
 * test executable that uses them. They assert instead of returning errors:
 * a scratch file that cannot be written is the test's failure, not a case
 * to handle.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"

#include "helpers.h"

char *ut_tmpdir(const char *name)
{
	const char *tmp = getenv("TMPDIR");
	char *dir = xasprintf("%s/flotilla-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", name);

	if (!mkdtemp(dir))
		fail_msg("cannot make a temporary directory '%s'", dir);
	return dir;
}

void ut_rm_rf(const char *path)
{
	struct stat st;
	struct dirent *e;
	DIR *d;

	if (lstat(path, &st) != 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) != 0)
			fail_msg("cannot remove '%s'", path);
		return;
	}
	if ((d = opendir(path)) == NULL)
		fail_msg("cannot read directory '%s'", path);
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char *child = xasprintf("%s/%s", path, e->d_name);
		ut_rm_rf(child);
		free(child);
	}
	closedir(d);
	if (rmdir(path) != 0)
		fail_msg("cannot remove directory '%s'", path);
}

void ut_write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		fail_msg("cannot create '%s'", path);
	if (len)
		assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

void ut_write_text(const char *path, const char *text)
{
	ut_write_file(path, text, strlen(text));
}

void ut_write_fleet(const char *dir, const char *fleet_yaml)
{
	char *path = xasprintf("%s/fleet", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	free(path);
	path = xasprintf("%s/fleet/tenants", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	free(path);
	path = xasprintf("%s/fleet/flotilla.yaml", dir);
	ut_write_text(path, fleet_yaml);
	free(path);
}

char *ut_read_file(const char *path, size_t *len)
{
	buf b = BUF_INIT(0);

	if (buf_read_file(&b, path) != 0)
		fail_msg("cannot read '%s': %s", path, err_msg());
	return buf_detach(&b, len); /* "" for an empty file */
}

unsigned ut_file_mode(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		fail_msg("cannot stat '%s'", path);
	return (unsigned)(st.st_mode & 07777);
}

void ut_assert_err_contains(const char *needle)
{
	if (!strstr(err_msg(), needle))
		fail_msg("error message '%s' lacks '%s'", err_msg(), needle);
}
