/*
 * internal.h: what serve/'s status page files share (never included from
 * another folder).
 *   status_doc.c   a published status document: parsed once, its tenant
 *                  list indexed, shared by reference between request threads
 *   status_page.c  the HTML page rendered from a document, and each listed
 *                  tenant's row (rendered once, when the document is indexed)
 */
#ifndef FLOTILLA_SERVE_INTERNAL_H
#define FLOTILLA_SERVE_INTERNAL_H

#include <jansson.h>
#include <stdatomic.h>

#include "serve/serve.h"

/* The states of issue 14, worst first: the order of the cards and of the
 * state filter's options. */
#define SERVE__STATES 6
extern const char *const serve__states[SERVE__STATES];

/* s's index in serve__states; -1 for NULL or a state the page does not know. */
int serve__state_index(const char *s);

/*
 * A listed tenant, its table row rendered once when the document is
 * published: a page writes html[pre, pre + pre_len), the "ago" words of
 * since (the one part that changes with the clock), then html[post, post +
 * post_len).
 */
typedef struct row {
	int st;        /* index in serve__states, -1 for a state this page does not know */
	int64_t since; /* -1: absent */
	const char *hay; /* lowercase "tenant\x01reason", what ?q= searches; in the arena */
	size_t pre, pre_len, post, post_len;
} row;

struct status_doc {
	atomic_int refs;
	char *text; /* the published bytes, NUL-terminated */
	size_t len;
	json_t *root;
	row *rows;
	size_t nrows;
	buf html; /* the rows' fixed parts */
	arena *a;
};

/* One row's fixed parts appended to d->html, r's offsets set. */
void serve__row_html(status_doc *d, row *r, const json_t *t, const char *tenant, const char *state,
		     const char *reason);

/* ---------------------------------------------------------- reading the document */

static inline const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key)); /* borrowed */
}

/* An integer member (a whole real too); false when absent or not a number. */
static inline bool jint(const json_t *o, const char *key, int64_t *v)
{
	const json_t *x = json_object_get(o, key);

	if (json_is_integer(x)) {
		*v = (int64_t)json_integer_value(x);
		return true;
	}
	if (json_is_real(x)) {
		*v = (int64_t)json_real_value(x);
		return true;
	}
	return false;
}

static inline bool jnum(const json_t *o, const char *key, double *v)
{
	const json_t *x = json_object_get(o, key);

	if (!json_is_number(x))
		return false;
	*v = json_number_value(x);
	return true;
}

#endif
