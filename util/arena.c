/*
 * arena.c: bump allocation for data that lives exactly as long as one run
 * (parsed manifests, plan nodes). Allocating is a pointer increment inside
 * a 64 KiB block, and everything is released with one arena_free, so the
 * code that builds those structures needs no per-node free paths at all.
 *
 * Blocks form a list, newest first. An allocation too big to share a block
 * gets a block of its own, linked behind the current one so that the free
 * space left in the current block keeps serving small allocations. The
 * default-size block made by arena_new is the one arena_reset keeps.
 */
#include "util/internal.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK_SIZE (64 * 1024)
/* Enough for any scalar type, including long double and SSE vectors. */
#define ARENA_ALIGN 16
/* Above this an allocation gets its own block: putting it in a shared one
 * would throw away the rest of the current block. */
#define ARENA_BIG (ARENA_BLOCK_SIZE / 4)

struct block {
	struct block *next;
	size_t size;          /* usable bytes in data[] */
	size_t used;
	unsigned char data[]; /* aligned by hand in alloc_in, not by malloc */
};

struct arena {
	struct block *head;   /* current block, where small allocations go */
	struct block *first;  /* the block arena_new made; kept by arena_reset */
	size_t handed_out;
};

static void arena_oom(size_t n) __attribute__((noreturn));
static void arena_oom(size_t n)
{
	fprintf(stderr, "flotilla: out of memory allocating %zu bytes from an arena\n", n);
	abort();
}

/* The block's usable size includes ARENA_ALIGN - 1 bytes of slack, so an
 * n-byte allocation always fits a fresh block of size n whatever alignment
 * malloc gave us. */
static struct block *block_new(size_t n)
{
	struct block *blk;

	if (n > SIZE_MAX - sizeof(*blk) - (ARENA_ALIGN - 1))
		arena_oom(n);
	n += ARENA_ALIGN - 1;
	blk = xmalloc(sizeof(*blk) + n);
	blk->next = NULL;
	blk->size = n;
	blk->used = 0;
	return blk;
}

/* Carve n bytes from blk, aligned on the real address; NULL when it does
 * not fit. */
static void *alloc_in(struct block *blk, size_t n)
{
	uintptr_t base = (uintptr_t)blk->data;
	uintptr_t p = base + blk->used;
	size_t pad = (size_t)((ARENA_ALIGN - p % ARENA_ALIGN) % ARENA_ALIGN);

	if (pad > blk->size - blk->used || n > blk->size - blk->used - pad)
		return NULL;
	blk->used += pad + n;
	return blk->data + (blk->used - n);
}

arena *arena_new(void)
{
	arena *a = xmalloc(sizeof(*a));

	a->head = block_new(ARENA_BLOCK_SIZE);
	a->first = a->head;
	a->handed_out = 0;
	return a;
}

void arena_free(arena *a)
{
	struct block *blk, *next;

	if (!a)
		return;
	for (blk = a->head; blk; blk = next) {
		next = blk->next;
		free(blk);
	}
	free(a);
}

void arena_reset(arena *a)
{
	struct block *blk, *next;

	for (blk = a->head; blk; blk = next) {
		next = blk->next;
		if (blk != a->first)
			free(blk);
	}
	a->first->next = NULL;
	a->first->used = 0;
	a->head = a->first;
	a->handed_out = 0;
}

/*
 * n bytes of zeroed memory aligned to 16, valid until arena_reset or
 * arena_free. n of 0 still returns a distinct valid pointer.
 */
void *arena_alloc(arena *a, size_t n)
{
	size_t want = n ? n : 1;
	void *p;

	if (want > ARENA_BIG) {
		struct block *blk = block_new(want);

		blk->next = a->head->next;
		a->head->next = blk;
		p = alloc_in(blk, want);
	} else {
		p = alloc_in(a->head, want);
		if (!p) {
			struct block *blk = block_new(ARENA_BLOCK_SIZE);

			blk->next = a->head;
			a->head = blk;
			p = alloc_in(blk, want);
		}
	}
	/* Blocks come from malloc and are reused after a reset, so zero here
	 * rather than when the block is made. */
	memset(p, 0, want);
	a->handed_out += n;
	return p;
}

char *arena_strdup(arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

/* Copy at most n bytes of s, stopping early at a NUL; always terminated. */
char *arena_strndup(arena *a, const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p;

	if (len == SIZE_MAX)
		arena_oom(len);
	p = arena_alloc(a, len + 1);
	memcpy(p, s, len);
	return p;
}

char *arena_printf(arena *a, const char *fmt, ...)
{
	va_list ap;
	size_t n;
	char *p;

	va_start(ap, fmt);
	n = util__format_size("arena_printf", fmt, ap);
	p = arena_alloc(a, n);
	vsnprintf(p, n, fmt, ap);
	va_end(ap);
	return p;
}

size_t arena_used(const arena *a)
{
	return a->handed_out;
}
