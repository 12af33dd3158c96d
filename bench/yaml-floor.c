/*
 * yaml-floor.c: the floor for `flotilla validate` (bench/validate.sh).
 *
 * Reads every *.yaml file under DIR and runs libyaml's event parser over
 * it, discarding the events. That is the least work any YAML-based
 * validator must do: walk the tree, read the bytes, tokenize and parse.
 * flotilla validate does the same and then builds nodes, decodes, merges
 * and checks; the ratio of the two says how much its own work costs.
 *
 * Like the loader (spec/fleet.c, spec/source_dir.c) it skips dot-entries,
 * reads a whole file into memory and parses it from the string; unlike
 * it, it keeps nothing. Benchmark code: libyaml is used directly here
 * although STYLE.md keeps it to spec/ in the product.
 *
 * usage: yaml-floor DIR     prints "files N bytes N events N" on stdout
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "bench/floor.h"

typedef floor_totals totals;

static unsigned char *readbuf;
static size_t readcap;

static int parse_file(const char *path, size_t size, totals *t)
{
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		fprintf(stderr, "yaml-floor: cannot open '%s': %s\n", path, strerror(errno));
		return -1;
	}
	if (size + 1 > readcap) {
		readcap = size + 1;
		readbuf = realloc(readbuf, readcap);
		if (!readbuf)
			abort();
	}
	size_t len = fread(readbuf, 1, size, fp);
	fclose(fp);

	floor_parse(readbuf, len, t);
	return 0;
}

static int walk(const char *dir, unsigned depth, totals *t)
{
	if (depth > 64)
		return 0;
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "yaml-floor: cannot open directory '%s': %s\n", dir, strerror(errno));
		return -1;
	}
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		size_t n = strlen(dir) + 1 + strlen(e->d_name) + 1;
		char *path = malloc(n);
		if (!path)
			abort();
		snprintf(path, n, "%s/%s", dir, e->d_name);
		struct stat st;
		if (lstat(path, &st) == 0) {
			size_t len = strlen(e->d_name);
			if (S_ISDIR(st.st_mode))
				rc = walk(path, depth + 1, t);
			else if (S_ISREG(st.st_mode) && len > 5 && strcmp(e->d_name + len - 5, ".yaml") == 0)
				rc = parse_file(path, (size_t)st.st_size, t);
		}
		free(path);
	}
	closedir(d);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: yaml-floor DIR\n");
		return 2;
	}
	totals t = {0};
	int rc = walk(argv[1], 0, &t);
	free(readbuf);
	printf("files %lu bytes %lu events %lu\n", t.files, t.bytes, t.events);
	if (t.errors)
		fprintf(stderr, "yaml-floor: %lu file%s with YAML errors\n", t.errors, t.errors == 1 ? "" : "s");
	return rc == 0 && t.errors == 0 ? 0 : 1;
}
