/*
 * key.c: the API key, from its file or the environment, kept in memory that
 * stays out of core dumps and swap and is wiped when freed.
 *
 * A key file must be private: one that group or others may read is
 * refused, as ssh refuses a private key with loose modes, because the key
 * is already exposed and using it would hide that. The mode is checked on
 * the open descriptor (fstat), so the file checked is the file read.
 *
 * Secret blocks are their own anonymous mappings: madvise(MADV_DONTDUMP)
 * keeps them out of core files, mlock keeps them out of swap when the
 * RLIMIT_MEMLOCK allows (it is best effort: without it the key is still
 * excluded from dumps), and explicit_bzero wipes them before munmap so the
 * pages never go back to the kernel holding the key. A small header before
 * the returned pointer remembers the mapping's size.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "neon/internal.h"

#define SECRET_MAGIC 0x6e656f6e6b657931ULL /* "neonkey1" */
#define SECRET_HEADER 16
/* A longer "key" is not a Neon key; reading stops there. */
#define KEY_FILE_MAX 4096

char *neon__secret_alloc(size_t n)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t psz = page > 0 ? (size_t)page : 4096;
	size_t total = (n + SECRET_HEADER + psz) / psz * psz;
	unsigned char *m;
	uint64_t hdr[2];

	m = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		fprintf(stderr, "fatal: out of memory (mmap of %zu bytes for a secret)\n", total);
		abort();
	}
#ifdef MADV_DONTDUMP
	(void)madvise(m, total, MADV_DONTDUMP);
#endif
	(void)mlock(m, total);
	hdr[0] = SECRET_MAGIC;
	hdr[1] = (uint64_t)total;
	memcpy(m, hdr, sizeof(hdr));
	return (char *)m + SECRET_HEADER;
}

void neon__secret_free(char *p)
{
	unsigned char *m;
	uint64_t hdr[2];

	if (!p)
		return;
	m = (unsigned char *)p - SECRET_HEADER;
	memcpy(hdr, m, sizeof(hdr));
	if (hdr[0] != SECRET_MAGIC) {
		/* not ours: freeing it as a mapping would corrupt memory */
		fprintf(stderr, "fatal: neon_key_free of memory neon_key_load did not return\n");
		abort();
	}
	explicit_bzero(m, (size_t)hdr[1]);
	(void)munlock(m, (size_t)hdr[1]);
	munmap(m, (size_t)hdr[1]);
}

void neon_key_free(char *key)
{
	neon__secret_free(key);
}

/* The first line of text, spaces and tabs trimmed, moved to the start of
 * the same buffer. Returns its length. */
static size_t first_line_trimmed(char *s, size_t len)
{
	size_t start = 0, end;

	for (end = 0; end < len && s[end] != '\n' && s[end] != '\r'; end++)
		;
	while (start < end && (s[start] == ' ' || s[start] == '\t'))
		start++;
	while (end > start && (s[end - 1] == ' ' || s[end - 1] == '\t'))
		end--;
	memmove(s, s + start, end - start);
	explicit_bzero(s + (end - start), len - (end - start));
	return end - start;
}

int neon_secret_file_load(char **out, const char *file, const char *what)
{
	struct stat st;
	char *key = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, rc;

	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return err_set(ERR_IO, "%s '%s': %s", what, file, strerror(errno));
	if (fstat(fd, &st) != 0) {
		rc = err_set(ERR_IO, "%s '%s': %s", what, file, strerror(errno));
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = err_set(ERR_INVALID, "%s '%s': not a regular file", what, file);
		goto done;
	}
	if (st.st_mode & (S_IRGRP | S_IROTH)) {
		rc = err_set(ERR_INVALID,
			     "%s '%s': readable by %s (mode %04o); make it private: chmod 600 '%s'", what, file,
			     (st.st_mode & S_IROTH) ? "others" : "its group", (unsigned)(st.st_mode & 07777), file);
		goto done;
	}
	key = neon__secret_alloc(KEY_FILE_MAX + 1);
	while (len < KEY_FILE_MAX) {
		n = read(fd, key + len, KEY_FILE_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = err_set(ERR_IO, "%s '%s': %s", what, file, strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len == KEY_FILE_MAX && !memchr(key, '\n', len) && !memchr(key, '\r', len)) {
		/* cutting it would send a different key, and fail later and obscurely */
		rc = err_set(ERR_INVALID, "%s '%s': first line longer than %d bytes", what, file,
			     KEY_FILE_MAX);
		goto done;
	}
	len = first_line_trimmed(key, len);
	if (len == 0) {
		rc = err_set(ERR_INVALID, "%s '%s': empty", what, file);
		goto done;
	}
	*out = key;
	key = NULL;
	rc = 0;
done:
	neon__secret_free(key);
	close(fd);
	return rc;
}

int neon_key_load(char **out, const char *file)
{
	const char *env;
	char *key;
	size_t len;

	*out = NULL;
	if (file && *file)
		return neon_secret_file_load(out, file, "API key file");
	env = getenv("NEON_API_KEY");
	if (!env)
		return err_set(ERR_NOTFOUND, "no API key: NEON_API_KEY is not set and no key file was given");
	len = strlen(env);
	if (len > KEY_FILE_MAX)
		return err_set(ERR_INVALID, "NEON_API_KEY is longer than %d bytes", KEY_FILE_MAX);
	key = neon__secret_alloc(len + 1);
	memcpy(key, env, len);
	len = first_line_trimmed(key, len);
	if (len == 0) {
		neon__secret_free(key);
		return err_set(ERR_INVALID, "NEON_API_KEY is empty");
	}
	*out = key;
	return 0;
}
