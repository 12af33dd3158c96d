/*
 * status_doc.c: the status document the daemon publishes. The daemon
 * builds it (the JSON of `flotilla status --format json`, docs/daemon.md)
 * from its state file after every loop; httpd.c serves it as it is on
 * /api/status and status_page.c renders it as HTML on /.
 *
 * A document is parsed once, when it is published, into a status_doc that
 * is never changed afterwards and so is read by any number of request
 * threads without a lock; a reference count keeps it alive for the pages
 * still rendering it after a newer one replaced it. Publishing also
 * indexes the tenant list (at most 5,000 rows, the producer's cap): each
 * row's strings are borrowed from the parsed JSON, and the text a search
 * looks in (name and reason, lowercased) is made here once, so that a page
 * view is one linear pass over the rows with no allocation per row.
 */
#include <ctype.h>
#include <string.h>

#include "serve/internal.h"

const char *const serve__states[SERVE__STATES] = {"failed", "blocked", "drifted", "applying", "out-of-sync",
						  "synced"};

int serve__state_index(const char *s)
{
	for (size_t i = 0; s && i < SERVE__STATES; i++)
		if (strcmp(s, serve__states[i]) == 0)
			return (int)i;
	return -1;
}

static char *lower_dup(arena *a, const char *s1, const char *s2)
{
	size_t n1 = strlen(s1), n2 = s2 ? strlen(s2) : 0;
	char *out = arena_alloc(a, n1 + n2 + 2), *p = out;

	for (size_t i = 0; i < n1; i++)
		*p++ = (char)tolower((unsigned char)s1[i]);
	*p++ = '\x01'; /* a query never matches across the name and the reason */
	for (size_t i = 0; i < n2; i++)
		*p++ = (char)tolower((unsigned char)s2[i]);
	*p = '\0';
	return out;
}

/* The tenant list into rows; members of the wrong type are read as absent,
 * a row without a tenant name is skipped. */
static void index_rows(status_doc *d)
{
	const json_t *list = json_object_get(d->root, "tenants");
	size_t n = json_array_size(list);

	d->rows = n ? xcalloc(n, sizeof(*d->rows)) : NULL;
	buf_init(&d->html, 0);
	for (size_t i = 0; i < n; i++) {
		const json_t *t = json_array_get(list, i);
		const char *tenant = jstr(t, "tenant"), *state = jstr(t, "state"), *reason = jstr(t, "reason");
		row *r = &d->rows[d->nrows];

		if (!tenant)
			continue;
		r->st = serve__state_index(state);
		if (!jint(t, "since", &r->since) || r->since < 0)
			r->since = -1;
		r->hay = lower_dup(d->a, tenant, reason);
		serve__row_html(d, r, t, tenant, state, reason);
		d->nrows++;
	}
}

int status_doc_new(status_doc **out, const char *json_text, size_t len)
{
	json_error_t jerr;
	json_t *root;
	int64_t version;
	status_doc *d;

	*out = NULL;
	root = json_loadb(json_text, len, JSON_REJECT_DUPLICATES, &jerr); /* new reference: ours */
	if (!root)
		return err_set(ERR_INVALID, "status document: %s at line %d column %d", jerr.text, jerr.line,
			       jerr.column);
	if (!json_is_object(root) || !jint(root, "version", &version) || version != 1) {
		json_decref(root);
		return err_set(ERR_INVALID, "status document: not an object with \"version\": 1");
	}
	d = xcalloc(1, sizeof(*d));
	atomic_init(&d->refs, 1);
	d->text = xmalloc(len + 1);
	memcpy(d->text, json_text, len);
	d->text[len] = '\0';
	d->len = len;
	d->root = root;
	d->a = arena_new();
	index_rows(d);
	*out = d;
	return 0;
}

status_doc *status_doc_ref(status_doc *d)
{
	if (d)
		atomic_fetch_add_explicit(&d->refs, 1, memory_order_relaxed);
	return d;
}

void status_doc_unref(status_doc *d)
{
	if (!d || atomic_fetch_sub_explicit(&d->refs, 1, memory_order_acq_rel) != 1)
		return;
	json_decref(d->root);
	arena_free(d->a);
	buf_release(&d->html);
	free(d->rows);
	free(d->text);
	free(d);
}

const char *status_doc_text(const status_doc *d, size_t *len)
{
	*len = d->len;
	return d->text;
}
