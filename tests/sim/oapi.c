/*
 * oapi.c: check JSON values against the schemas of an OpenAPI 3.0 document.
 *
 * The document stays a jansson tree; schemas are borrowed pointers into
 * it and $refs are resolved on the fly by JSON pointer. A check walks the
 * schema and the value together, keeping the JSON path of the value in a
 * buffer so that every problem can say where it is. Recursive schemas are
 * safe because a (schema, value) pair already being checked further up is
 * not checked again: only a schema that loops without consuming any of the
 * value (A: allOf [A]) can revisit a pair, and it adds nothing new.
 *
 * Compiled `pattern` regexes are cached in the oapi handle, so a check is
 * not thread-safe against other checks on the same handle.
 */
#include <ctype.h>
#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <string.h>

#include "tests/sim/oapi.h"

/* Frames of schema recursion; a JSON value nested this deep through
 * $ref/allOf layers is not an API response. */
#define MAX_DEPTH 512
/* A loaded document may be this large. */
#define MAX_DOC (64u << 20)
/* A rendered value or enum list inside a message is cut here. */
#define MAX_SHOWN 160
/* Problems of one oneOf/anyOf alternative kept while choosing the closest. */
#define MAX_ALT_ERRORS (64u << 10)

typedef struct re_entry {
	char *pattern;
	regex_t re;
	bool ok;     /* false: regcomp refused it, so the keyword is ignored */
} re_entry;

struct oapi {
	json_t *doc;  /* owned */
	re_entry *res;
	size_t nres, capres;
};

typedef struct frame {
	const json_t *schema, *value;
} frame;

typedef struct check_ctx {
	oapi *o;
	buf *errors;     /* NULL: count only */
	int problems;
	buf path;        /* "$.a.b[3]" of the value being checked */
	int depth;
	bool too_deep;   /* reported once */
	frame stack[MAX_DEPTH];
} check_ctx;

/* ---------------------------------------------------------------- loading */

const char *oapi_default_path(void)
{
	const char *env = getenv("FLOTILLA_OPENAPI");

	return env && *env ? env : OAPI_DEFAULT_PATH;
}

int oapi_load(oapi **out, const char *path)
{
	buf text = BUF_INIT(MAX_DOC);
	json_error_t jerr;
	json_t *doc = NULL;
	const char *version;
	int rc;

	*out = NULL;
	rc = buf_read_file(&text, path);
	if (rc < 0)
		goto done;
	doc = json_loadb(text.data ? text.data : "", text.len, 0, &jerr);
	if (!doc) {
		rc = err_set(ERR_INVALID, "'%s': line %d column %d: %s", path, jerr.line,
			jerr.column, jerr.text);
		goto done;
	}
	version = json_string_value(json_object_get(doc, "openapi"));
	if (!version || !str_has_prefix(version, "3.") ||
	    !json_is_object(json_object_get(doc, "paths"))) {
		rc = err_set(ERR_INVALID, "'%s': not an OpenAPI 3 document", path);
		goto done;
	}
	*out = xcalloc(1, sizeof(**out));
	(*out)->doc = doc;
	doc = NULL;
	rc = 0;
done:
	json_decref(doc);
	buf_release(&text);
	return rc;
}

int oapi_load_default(oapi **out)
{
	const char *path = oapi_default_path();
	char *up;
	int rc;

	rc = oapi_load(out, path);
	if (rc != ERR_IO || path[0] == '/' || strcmp(path, OAPI_DEFAULT_PATH) != 0)
		return rc;
	up = xasprintf("../%s", path);
	rc = oapi_load(out, up);
	free(up);
	return rc;
}

void oapi_free(oapi *o)
{
	size_t i;

	if (!o)
		return;
	for (i = 0; i < o->nres; i++) {
		if (o->res[i].ok)
			regfree(&o->res[i].re);
		free(o->res[i].pattern);
	}
	free(o->res);
	json_decref(o->doc);
	free(o);
}

/* ------------------------------------------------------------ references */

/* One JSON-pointer token, unescaped (~1 → '/', ~0 → '~', %XX → byte). */
static void pointer_token(const char *s, size_t n, buf *out)
{
	size_t i;
	char c;

	buf_reset(out);
	for (i = 0; i < n; i++) {
		c = s[i];
		if (c == '~' && i + 1 < n && (s[i + 1] == '0' || s[i + 1] == '1')) {
			c = s[++i] == '0' ? '~' : '/';
		} else if (c == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
			   isxdigit((unsigned char)s[i + 2])) {
			char hex[3] = { s[i + 1], s[i + 2], 0 };

			c = (char)strtol(hex, NULL, 16);
			i += 2;
		}
		/* the buffer has no maximum: a token is part of the document */
		if (buf_addc(out, c) < 0)
			abort();
	}
}

/* The node a local reference ("#/components/schemas/Project") names, or
 * NULL. Other documents are not loaded: such a $ref does not resolve. */
static const json_t *resolve_ref(const oapi *o, const char *ref)
{
	const json_t *node = o->doc;
	buf tok = BUF_INIT(0);
	const char *p, *end, *t;

	if (ref[0] != '#')
		return NULL;
	p = ref + 1;
	while (node && *p == '/') {
		p++;
		end = strchr(p, '/');
		if (!end)
			end = p + strlen(p);
		pointer_token(p, (size_t)(end - p), &tok);
		t = tok.data ? tok.data : "";
		if (json_is_object(node)) {
			node = json_object_get(node, t);
		} else if (json_is_array(node)) {
			int64_t idx;

			node = str_to_i64(t, &idx) == 0 && idx >= 0
				? json_array_get(node, (size_t)idx) : NULL;
		} else {
			node = NULL;
		}
		p = end;
	}
	buf_release(&tok);
	return *p ? NULL : node;
}

/* Follow a chain of {"$ref": …} objects (responses, path items) to the
 * node itself; NULL on a dangling or looping chain. */
static const json_t *follow_refs(const oapi *o, const json_t *node)
{
	const char *ref;
	int hops;

	for (hops = 0; hops < 32 && node; hops++) {
		ref = json_string_value(json_object_get(node, "$ref"));
		if (!ref)
			return node;
		node = resolve_ref(o, ref);
	}
	return NULL;
}

const json_t *oapi_component(oapi *o, const char *name)
{
	const json_t *s = json_object_get(
		json_object_get(json_object_get(o->doc, "components"), "schemas"), name);

	if (!s)
		err_set(ERR_NOTFOUND, "no schema '%s' in components/schemas", name);
	return s;
}

/* ------------------------------------------------------------ path lookup */

#define MAX_SEGMENTS 63

/* Split "/a/b/c" into at most MAX_SEGMENTS segments (pointers into `s`,
 * which is modified). Returns the count, or -1 when there are more. */
static int split_path(char *s, char **seg)
{
	int n = 0;
	char *p = s;

	while (*p == '/')
		p++;
	while (*p) {
		if (n == MAX_SEGMENTS)
			return -1;
		seg[n++] = p;
		p = strchr(p, '/');
		if (!p)
			break;
		*p++ = 0;
	}
	return n;
}

static bool is_param(const char *seg)
{
	size_t n = strlen(seg);

	return n >= 2 && seg[0] == '{' && seg[n - 1] == '}';
}

/* The path item whose template matches the concrete `path`. Among several,
 * the one with a literal segment at the first place where they differ
 * wins, so "/projects/shared" beats "/projects/{project_id}". */
static const json_t *match_path(const json_t *paths, const char *path)
{
	char *req = xstrdup(path), *cut;
	char *rseg[MAX_SEGMENTS], *tseg[MAX_SEGMENTS];
	const json_t *best = NULL, *item;
	uint64_t best_score = 0, score;
	const char *tmpl;
	int rn, tn, i;

	cut = strpbrk(req, "?#");
	if (cut)
		*cut = 0;
	if (str_has_prefix(req, "/api/v2") && (req[7] == '/' || req[7] == 0))
		memmove(req, req + 7, strlen(req + 7) + 1);
	rn = split_path(req, rseg);
	if (rn < 0)
		goto done;
	/* the document's own object, only read: jansson's iterator is not const */
	json_object_foreach((json_t *)paths, tmpl, item) {
		char *t = xstrdup(tmpl);

		tn = split_path(t, tseg);
		if (tn != rn) {
			free(t);
			continue;
		}
		score = 1;
		for (i = 0; i < tn && score; i++) {
			if (is_param(tseg[i]))
				score = *rseg[i] ? score << 1 : 0;
			else
				score = strcmp(tseg[i], rseg[i]) == 0 ? (score << 1) | 1 : 0;
		}
		if (score > best_score) {
			best_score = score;
			best = item;
		}
		free(t);
	}
done:
	free(req);
	return best;
}

const json_t *oapi_response_schema(oapi *o, const char *method, const char *path,
	int status)
{
	const json_t *paths = json_object_get(o->doc, "paths");
	const json_t *item, *op, *responses, *resp, *content, *media = NULL, *v;
	char m[16], key[16];
	const char *ct;
	size_t i;

	item = json_object_get(paths, path);
	if (!item)
		item = match_path(paths, path);
	item = item ? follow_refs(o, item) : NULL;
	if (!item) {
		err_set(ERR_NOTFOUND, "no path '%s' in the document", path);
		return NULL;
	}
	for (i = 0; method[i] && i + 1 < sizeof(m); i++)
		m[i] = (char)tolower((unsigned char)method[i]);
	m[i] = 0;
	op = json_object_get(item, m);
	responses = json_object_get(op, "responses");
	if (!responses) {
		err_set(ERR_NOTFOUND, "no operation '%s %s' in the document", method, path);
		return NULL;
	}
	snprintf(key, sizeof(key), "%d", status);
	resp = json_object_get(responses, key);
	if (!resp) {
		snprintf(key, sizeof(key), "%dXX", status / 100);
		resp = json_object_get(responses, key);
	}
	if (!resp && status >= 400)
		resp = json_object_get(responses, "default");
	resp = resp ? follow_refs(o, resp) : NULL;
	if (!resp) {
		err_set(ERR_NOTFOUND, "'%s %s' declares no response %d", method, path, status);
		return NULL;
	}
	content = json_object_get(resp, "content");
	media = json_object_get(content, "application/json");
	if (!media && json_is_object(content)) {
		json_object_foreach((json_t *)content, ct, v) {
			if (strstr(ct, "json")) {
				media = v;
				break;
			}
		}
	}
	v = json_object_get(media, "schema");
	if (!v)
		err_set(ERR_NOTFOUND, "response %d of '%s %s' has no JSON body", status,
			method, path);
	return v;
}

/* ----------------------------------------------------------------- checks */

static void problem(check_ctx *c, const char *fmt, ...) PRINTF(2, 3);

static void problem(check_ctx *c, const char *fmt, ...)
{
	buf line = BUF_INIT(0);
	va_list ap;
	int rc;

	c->problems++;
	if (!c->errors)
		return;
	/* built whole first, so a line that does not fit is dropped, not cut */
	va_start(ap, fmt);
	rc = buf_printf(&line, "%s: ", c->path.data);
	if (rc == 0)
		rc = buf_vprintf(&line, fmt, ap);
	if (rc == 0)
		rc = buf_addc(&line, '\n');
	va_end(ap);
	if (rc == 0 && buf_add(c->errors, line.data, line.len) < 0) {
		/* past errors->max: counted, not shown */
	}
	buf_release(&line);
}

/* Append the JSON path step for object key `key`; returns the length to
 * cut back to. Paths are data of the check, not input: no maximum. */
static size_t path_key(check_ctx *c, const char *key)
{
	size_t len = c->path.len, i;
	bool ident = key[0] && !isdigit((unsigned char)key[0]);
	int rc;

	for (i = 0; key[i] && ident; i++)
		ident = isalnum((unsigned char)key[i]) || key[i] == '_';
	if (ident) {
		rc = buf_printf(&c->path, ".%s", key);
	} else {
		rc = buf_adds(&c->path, "[\"");
		if (rc == 0)
			rc = buf_add_json_str(&c->path, key);
		if (rc == 0)
			rc = buf_adds(&c->path, "\"]");
	}
	if (rc < 0)
		abort();
	return len;
}

static size_t path_index(check_ctx *c, size_t idx)
{
	size_t len = c->path.len;

	if (buf_printf(&c->path, "[%zu]", idx) < 0)
		abort();
	return len;
}

static void path_cut(check_ctx *c, size_t len)
{
	c->path.len = len;
	c->path.data[len] = 0;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "integer";
	case JSON_REAL: return "number";
	case JSON_TRUE:
	case JSON_FALSE: return "boolean";
	case JSON_NULL: return "null";
	}
	return "?";
}

/* Whether `v` is of OpenAPI type `t`; an unknown type name matches all. */
static bool type_matches(const char *t, const json_t *v)
{
	if (strcmp(t, "object") == 0)
		return json_is_object(v);
	if (strcmp(t, "array") == 0)
		return json_is_array(v);
	if (strcmp(t, "string") == 0)
		return json_is_string(v);
	if (strcmp(t, "integer") == 0)
		return json_is_integer(v);
	if (strcmp(t, "number") == 0)
		return json_is_number(v);
	if (strcmp(t, "boolean") == 0)
		return json_is_boolean(v);
	if (strcmp(t, "null") == 0)
		return json_is_null(v);
	return true;
}

/* `v` as compact JSON, cut at MAX_SHOWN bytes, into `out`. */
static void show(const json_t *v, char out[MAX_SHOWN + 4])
{
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

	if (!s) {
		str_copy(out, "?", MAX_SHOWN + 4);
		return;
	}
	if (str_copy(out, s, MAX_SHOWN + 1) > MAX_SHOWN)
		str_copy(out + MAX_SHOWN, "...", 4);
	free(s);
}

static bool n_digits(const char *s, int n, int *out)
{
	int i;

	*out = 0;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		*out = *out * 10 + (s[i] - '0');
	}
	return true;
}

static int days_in_month(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

/* RFC 3339 section 5.6 date-time: "2024-02-29T23:59:60.5+05:30", "…Z".
 * The short-circuit order never reads past the terminating NUL. */
static bool is_date_time(const char *s)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0;
	const char *p;

	if (!n_digits(s, 4, &y) || s[4] != '-' || !n_digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !n_digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
	    !n_digits(s + 11, 2, &h) || s[13] != ':' || !n_digits(s + 14, 2, &mi) ||
	    s[16] != ':' || !n_digits(s + 17, 2, &sec))
		return false;
	p = s + 19;
	if (*p == '.') {
		if (!isdigit((unsigned char)*++p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		if (!n_digits(p + 1, 2, &oh) || p[3] != ':' || !n_digits(p + 4, 2, &om))
			return false;
		p += 6;
	} else {
		return false;
	}
	return *p == 0 && mo >= 1 && mo <= 12 && d >= 1 && d <= days_in_month(y, mo) &&
	       h <= 23 && mi <= 59 && sec <= 60 && oh <= 23 && om <= 59;
}

/* 8-4-4-4-12 hex digits, either case. */
static bool is_uuid(const char *s)
{
	int i;

	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return s[36] == 0;
}

/* Compiled `pattern`, cached per handle; NULL when regcomp refuses it
 * (ECMA-only syntax), which makes the keyword ignored. */
static const regex_t *pattern_re(oapi *o, const char *pattern)
{
	re_entry *e;
	size_t i;

	for (i = 0; i < o->nres; i++) {
		if (strcmp(o->res[i].pattern, pattern) == 0)
			return o->res[i].ok ? &o->res[i].re : NULL;
	}
	o->res = xgrow(o->res, &o->capres, o->nres + 1, sizeof(*o->res));
	e = &o->res[o->nres++];
	e->pattern = xstrdup(pattern);
	e->ok = regcomp(&e->re, pattern, REG_EXTENDED | REG_NOSUB) == 0;
	return e->ok ? &e->re : NULL;
}

static size_t utf8_chars(const char *s, size_t n)
{
	size_t i, count = 0;

	for (i = 0; i < n; i++)
		count += ((unsigned char)s[i] & 0xC0) != 0x80;
	return count;
}

static void check_schema(check_ctx *c, const json_t *schema, const json_t *value);

static void check_string(check_ctx *c, const json_t *schema, const json_t *value)
{
	const char *s = json_string_value(value);
	size_t n = json_string_length(value);
	const char *format = json_string_value(json_object_get(schema, "format"));
	const char *pattern = json_string_value(json_object_get(schema, "pattern"));
	const json_t *lim;
	const regex_t *re;
	char shown[MAX_SHOWN + 4];
	bool nul = strlen(s) != n;

	if (format && strcmp(format, "date-time") == 0 && (nul || !is_date_time(s))) {
		show(value, shown);
		problem(c, "%s is not an RFC 3339 date-time", shown);
	} else if (format && strcmp(format, "uuid") == 0 && (nul || !is_uuid(s))) {
		show(value, shown);
		problem(c, "%s is not a uuid", shown);
	}
	if (pattern && (re = pattern_re(c->o, pattern)) != NULL &&
	    (nul || regexec(re, s, 0, NULL, 0) != 0)) {
		show(value, shown);
		problem(c, "%s does not match the pattern '%s'", shown, pattern);
	}
	lim = json_object_get(schema, "minLength");
	if (json_is_integer(lim) && (json_int_t)utf8_chars(s, n) < json_integer_value(lim))
		problem(c, "string shorter than the minimum length %" JSON_INTEGER_FORMAT,
			json_integer_value(lim));
	lim = json_object_get(schema, "maxLength");
	if (json_is_integer(lim) && (json_int_t)utf8_chars(s, n) > json_integer_value(lim))
		problem(c, "string longer than the maximum length %" JSON_INTEGER_FORMAT,
			json_integer_value(lim));
}

static void check_number(check_ctx *c, const json_t *schema, const json_t *value)
{
	const json_t *min = json_object_get(schema, "minimum");
	const json_t *max = json_object_get(schema, "maximum");
	bool xmin = json_is_true(json_object_get(schema, "exclusiveMinimum"));
	bool xmax = json_is_true(json_object_get(schema, "exclusiveMaximum"));
	double v = json_number_value(value);
	char shown[MAX_SHOWN + 4], bound[MAX_SHOWN + 4];

	/* doubles are exact for every bound and id-sized integer in the document */
	if (json_is_number(min) && (xmin ? v <= json_number_value(min) : v < json_number_value(min))) {
		show(value, shown);
		show(min, bound);
		problem(c, "%s is below the %sminimum %s", shown, xmin ? "exclusive " : "", bound);
	}
	if (json_is_number(max) && (xmax ? v >= json_number_value(max) : v > json_number_value(max))) {
		show(value, shown);
		show(max, bound);
		problem(c, "%s is above the %smaximum %s", shown, xmax ? "exclusive " : "", bound);
	}
}

static void check_object(check_ctx *c, const json_t *schema, const json_t *value)
{
	const json_t *required = json_object_get(schema, "required");
	const json_t *props = json_object_get(schema, "properties");
	const json_t *extra = json_object_get(schema, "additionalProperties");
	const json_t *sub, *v;
	const char *key;
	size_t i, len;

	json_array_foreach(required, i, v) {
		key = json_string_value(v);
		if (key && !json_object_get(value, key))
			problem(c, "missing required property '%s'", key);
	}
	/* the value is only read: jansson's iterator is not const */
	json_object_foreach((json_t *)value, key, v) {
		sub = json_object_get(props, key);
		if (!sub && json_is_object(extra))
			sub = extra;
		if (!sub)
			continue;
		len = path_key(c, key);
		check_schema(c, sub, v);
		path_cut(c, len);
	}
}

static void check_array(check_ctx *c, const json_t *schema, const json_t *value)
{
	const json_t *items = json_object_get(schema, "items");
	const json_t *lim, *v;
	size_t i, len;

	lim = json_object_get(schema, "minItems");
	if (json_is_integer(lim) && (json_int_t)json_array_size(value) < json_integer_value(lim))
		problem(c, "%zu items, fewer than the minimum %" JSON_INTEGER_FORMAT,
			json_array_size(value), json_integer_value(lim));
	lim = json_object_get(schema, "maxItems");
	if (json_is_integer(lim) && (json_int_t)json_array_size(value) > json_integer_value(lim))
		problem(c, "%zu items, more than the maximum %" JSON_INTEGER_FORMAT,
			json_array_size(value), json_integer_value(lim));
	if (!json_is_object(items))
		return;
	json_array_foreach(value, i, v) {
		len = path_index(c, i);
		check_schema(c, items, v);
		path_cut(c, len);
	}
}

/* oneOf/anyOf: at least one alternative must hold. When none does, one
 * problem names the closest alternative and its first complaint. */
static void check_alternatives(check_ctx *c, const char *kw, const json_t *alts,
	const json_t *value)
{
	buf *saved_errors = c->errors;
	int saved_problems = c->problems, best = -1, best_n = INT_MAX;
	buf scratch = BUF_INIT(MAX_ALT_ERRORS), first = BUF_INIT(0);
	const json_t *alt;
	size_t i, n = json_array_size(alts);
	bool ok = false;

	if (n == 0)
		return;
	json_array_foreach(alts, i, alt) {
		buf_reset(&scratch);
		c->errors = &scratch;
		c->problems = 0;
		check_schema(c, alt, value);
		if (c->problems == 0) {
			ok = true;
			break;
		}
		if (c->problems < best_n) {
			const char *nl = scratch.data ? strchr(scratch.data, '\n') : NULL;

			best_n = c->problems;
			best = (int)i;
			buf_reset(&first);
			if (nl && buf_add(&first, scratch.data, (size_t)(nl - scratch.data)) < 0)
				abort();
		}
	}
	c->errors = saved_errors;
	c->problems = saved_problems;
	if (!ok)
		problem(c, "matches none of the %zu %s alternatives (closest is #%d with %d problem%s: %s)",
			n, kw, best, best_n, best_n == 1 ? "" : "s",
			first.data ? first.data : "?");
	buf_release(&first);
	buf_release(&scratch);
}

static void check_enum(check_ctx *c, const json_t *en, const json_t *value)
{
	char shown[MAX_SHOWN + 4], list[MAX_SHOWN + 4];
	const json_t *v;
	size_t i;

	json_array_foreach(en, i, v) {
		if (json_equal(v, value))
			return;
	}
	show(value, shown);
	show(en, list);
	problem(c, "%s is not one of %s", shown, list);
}

static void check_body(check_ctx *c, const json_t *schema, const json_t *value)
{
	const json_t *ref = json_object_get(schema, "$ref");
	const json_t *type = json_object_get(schema, "type");
	const json_t *kw, *sub, *target;
	bool typed = true;
	size_t i;

	if (json_is_null(value) && json_is_true(json_object_get(schema, "nullable")))
		return;
	if (ref) {
		target = json_is_string(ref) ? resolve_ref(c->o, json_string_value(ref)) : NULL;
		if (!target)
			problem(c, "cannot resolve $ref %s", json_is_string(ref)
				? json_string_value(ref) : "(not a string)");
		else
			check_schema(c, target, value);
		return;
	}
	if (json_is_string(type)) {
		typed = type_matches(json_string_value(type), value);
	} else if (json_is_array(type)) {
		typed = json_array_size(type) == 0;
		json_array_foreach(type, i, sub) {
			if (json_is_string(sub) && type_matches(json_string_value(sub), value))
				typed = true;
		}
	}
	if (!typed) {
		char want[MAX_SHOWN + 4];

		if (json_is_string(type))
			str_copy(want, json_string_value(type), sizeof(want));
		else
			show(type, want);
		/* the rest would only repeat this in other words */
		problem(c, "expected %s, got %s", want, type_name(value));
		return;
	}
	kw = json_object_get(schema, "enum");
	if (json_is_array(kw))
		check_enum(c, kw, value);
	if (json_is_string(value))
		check_string(c, schema, value);
	else if (json_is_number(value))
		check_number(c, schema, value);
	else if (json_is_object(value))
		check_object(c, schema, value);
	else if (json_is_array(value))
		check_array(c, schema, value);
	json_array_foreach(json_object_get(schema, "allOf"), i, sub)
		check_schema(c, sub, value);
	kw = json_object_get(schema, "anyOf");
	if (json_is_array(kw))
		check_alternatives(c, "anyOf", kw, value);
	kw = json_object_get(schema, "oneOf");
	if (json_is_array(kw))
		check_alternatives(c, "oneOf", kw, value);
}

static void check_schema(check_ctx *c, const json_t *schema, const json_t *value)
{
	int i;

	if (json_is_false(schema)) {
		problem(c, "no value is allowed here");
		return;
	}
	if (!json_is_object(schema))
		return;
	for (i = 0; i < c->depth; i++) {
		if (c->stack[i].schema == schema && c->stack[i].value == value)
			return;
	}
	if (c->depth == MAX_DEPTH) {
		if (!c->too_deep)
			problem(c, "schema nesting deeper than %d levels", MAX_DEPTH);
		c->too_deep = true;
		return;
	}
	c->stack[c->depth].schema = schema;
	c->stack[c->depth].value = value;
	c->depth++;
	check_body(c, schema, value);
	c->depth--;
}

int oapi_check(oapi *o, const json_t *schema, const json_t *value, buf *errors)
{
	check_ctx *c = xcalloc(1, sizeof(*c));
	int n;

	c->o = o;
	c->errors = errors;
	buf_init(&c->path, 0);
	if (buf_adds(&c->path, "$") < 0)
		abort();
	if (!schema)
		problem(c, "no schema to check against");
	else if (!value)
		problem(c, "no value to check");
	else
		check_schema(c, schema, value);
	n = c->problems;
	buf_release(&c->path);
	free(c);
	return n;
}
