/*
 * driver.c: a main() for fuzz targets where libFuzzer is not available
 * (gcc builds). It replays inputs instead of generating them: every file
 * named on the command line, and every regular file under every directory
 * named (walked recursively, dot-entries skipped), goes once through
 * LLVMFuzzerTestOneInput. Arguments starting with '-' are libFuzzer flags
 * (-runs=0, …) and are ignored, so a test can pass the same command line
 * to either build. With ASan or valgrind underneath, that turns the seed
 * corpus and the golden manifests into memory-safety regression tests.
 *
 * Each input is copied into a heap block of exactly its size, so that a
 * read past its end is caught just as libFuzzer would catch it. The name
 * of each input goes to stderr before it runs: a crash names its file.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/fuzz/fuzz.h"

/* Directory trees deeper than this are not corpora; it also stops a
 * symlink loop. */
#define MAX_DEPTH 32

static int run_file(const char *path, size_t *count)
{
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		fprintf(stderr, "driver: cannot open '%s': %s\n", path, strerror(errno));
		return -1;
	}
	size_t cap = 4096, len = 0;
	unsigned char *data = malloc(cap);
	if (!data)
		abort();
	for (;;) {
		if (len == cap) {
			cap *= 2;
			data = realloc(data, cap);
			if (!data)
				abort();
		}
		size_t n = fread(data + len, 1, cap - len, fp);
		len += n;
		if (n == 0)
			break;
	}
	int failed = ferror(fp);
	fclose(fp);
	if (failed) {
		fprintf(stderr, "driver: cannot read '%s'\n", path);
		free(data);
		return -1;
	}
	/* an exact-size copy, so ASan sees a read past the input's end */
	unsigned char *exact = malloc(len ? len : 1);
	if (!exact)
		abort();
	memcpy(exact, data, len);
	free(data);

	fprintf(stderr, "driver: running %s (%zu bytes)\n", path, len);
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	(*count)++;
	return 0;
}

static int run_path(const char *path, unsigned depth, size_t *count)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		fprintf(stderr, "driver: cannot stat '%s': %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return S_ISREG(st.st_mode) ? run_file(path, count) : 0;
	if (depth > MAX_DEPTH)
		return 0;

	DIR *d = opendir(path);
	if (!d) {
		fprintf(stderr, "driver: cannot open directory '%s': %s\n", path, strerror(errno));
		return -1;
	}
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		size_t n = strlen(path) + 1 + strlen(e->d_name) + 1;
		char *child = malloc(n);
		if (!child)
			abort();
		snprintf(child, n, "%s/%s", path, e->d_name);
		rc = run_path(child, depth + 1, count);
		free(child);
	}
	closedir(d);
	return rc;
}

int main(int argc, char **argv)
{
	size_t count = 0;
	int status = 0;
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-')
			continue;
		if (run_path(argv[i], 0, &count) != 0)
			status = 1;
	}
	fprintf(stderr, "driver: %zu input%s replayed\n", count, count == 1 ? "" : "s");
	return status;
}
