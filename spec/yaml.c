/*
 * yaml.c: bytes of one manifest file -> a tree of positioned YAML nodes.
 *
 * libyaml's event parser does the YAML; this file adds the bounds that a
 * manifest needs before anything trusts it: UTF-8 only, no tab
 * indentation, nesting at most SPEC_MAX_DEPTH, and alias expansion of a
 * document at most SPEC_MAX_EXPANDED_NODES, counted as aliases are met so
 * that a "billion laughs" file fails at once instead of after expanding.
 * Aliases share the anchored node rather than copying it, and an anchor is
 * usable only once its node is complete, so the tree has no cycles.
 * All nodes live in the caller's arena.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <yaml.h>

#include "spec/internal.h"

typedef struct builder {
	arena *a;
	const char *file;
	spec_diags *diags;
	/* children of every open container, innermost last */
	ynode **stack;
	size_t nstack, capstack;
	/* open containers and where their children start in stack */
	ynode *open[SPEC_MAX_DEPTH + 1];
	size_t open_base[SPEC_MAX_DEPTH + 1];
	uint64_t open_weight[SPEC_MAX_DEPTH + 1];
	const char *open_anchor[SPEC_MAX_DEPTH + 1];
	size_t depth;
	uint64_t doc_weight;
	strmap *anchors;
	/* weights of anchored nodes, parallel to anchors (kept in the node) */
} builder;

/* The expansion weight of anchored nodes is kept beside the node. */
typedef struct anchored {
	ynode *node;
	uint64_t weight;
} anchored;

static bool has_content(const char *data, size_t len)
{
	bool in_comment = false;
	for (size_t i = 0; i < len; i++) {
		char c = data[i];
		if (c == '\n') {
			in_comment = false;
			continue;
		}
		if (in_comment || c == ' ' || c == '\t' || c == '\r')
			continue;
		if (c == '#') {
			in_comment = true;
			continue;
		}
		return true;
	}
	return false;
}

/* Report the first tab in a line's indentation: YAML forbids it, and
 * libyaml's own message for it ("found character that cannot start any
 * token") does not say what is wrong. */
static bool check_tabs(const char *file, const char *data, size_t len, spec_diags *diags)
{
	unsigned line = 1;
	size_t i = 0;
	while (i < len) {
		size_t col = 0;
		while (i < len && (data[i] == ' ' || data[i] == '\t')) {
			if (data[i] == '\t') {
				spec_diags_add(diags, file, line, (unsigned)col + 1, "(file)",
					       "tab character in indentation: YAML forbids tabs for indentation; use spaces");
				return false;
			}
			i++;
			col++;
		}
		while (i < len && data[i] != '\n')
			i++;
		i++;
		line++;
	}
	return true;
}

static void utf8_position(const char *data, size_t off, unsigned *line, unsigned *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		if (data[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)data[i] & 0xC0) != 0x80) {
			(*col)++;
		}
	}
}

static ynode *node_new(builder *b, ynode_kind kind, const yaml_mark_t *m)
{
	ynode *n = arena_alloc(b->a, sizeof(*n));
	n->kind = (uint8_t)kind;
	n->line = (uint32_t)m->line + 1;
	n->col = (uint32_t)m->column + 1;
	return n;
}

static void push_child(builder *b, ynode *n)
{
	if (b->nstack == b->capstack)
		b->stack = xgrow(b->stack, &b->capstack, b->nstack + 1, sizeof(*b->stack));
	b->stack[b->nstack++] = n;
}

static void remember_anchor(builder *b, const char *anchor, ynode *n, uint64_t weight)
{
	if (!anchor)
		return;
	if (!b->anchors)
		b->anchors = strmap_new();
	anchored *an = arena_alloc(b->a, sizeof(*an));
	an->node = n;
	an->weight = weight;
	strmap_put(b->anchors, anchor, an);
}

/* Account for `weight` more expanded nodes in the current document, the
 * innermost open container, and fail once the document is too large. */
static bool add_weight(builder *b, uint64_t weight, const yaml_mark_t *m)
{
	b->doc_weight += weight;
	if (b->depth > 0)
		b->open_weight[b->depth - 1] += weight;
	if (b->doc_weight > SPEC_MAX_EXPANDED_NODES) {
		spec_diags_add(b->diags, b->file, (unsigned)m->line + 1, (unsigned)m->column + 1,
			       "(document)",
			       "document expands to more than %u nodes through aliases "
			       "(an alias bomb such as \"billion laughs\"?)",
			       SPEC_MAX_EXPANDED_NODES);
		return false;
	}
	return true;
}

static bool event_anchor(builder *b, const yaml_char_t *anchor, const char **out)
{
	*out = anchor ? arena_strdup(b->a, (const char *)anchor) : NULL;
	return true;
}

/* Handle one event; false stops the parse (a diagnostic was added). */
static bool on_event(builder *b, yaml_event_t *ev, ydoc **docs, size_t *ndocs, size_t *capdocs)
{
	const yaml_mark_t *m = &ev->start_mark;
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		b->doc_weight = 0;
		b->depth = 0;
		b->nstack = 0;
		strmap_free(b->anchors);
		b->anchors = NULL;
		if (*ndocs == *capdocs)
			*docs = xgrow(*docs, capdocs, *ndocs + 1, sizeof(**docs));
		memset(&(*docs)[*ndocs], 0, sizeof(**docs));
		(*docs)[*ndocs].line = (uint32_t)m->line + 1;
		(*docs)[*ndocs].col = (uint32_t)m->column + 1;
		(*ndocs)++;
		return true;
	case YAML_DOCUMENT_END_EVENT:
		return true;
	case YAML_SCALAR_EVENT:
	case YAML_ALIAS_EVENT: {
		ynode *n;
		uint64_t weight = 1;
		if (ev->type == YAML_ALIAS_EVENT) {
			anchored *an = b->anchors ? strmap_get(b->anchors, (const char *)ev->data.alias.anchor) : NULL;
			if (!an) {
				spec_diags_add(b->diags, b->file, (unsigned)m->line + 1, (unsigned)m->column + 1,
					       "(document)", "alias '*%s' names no complete anchor before it",
					       (const char *)ev->data.alias.anchor);
				return false;
			}
			n = an->node;
			weight = an->weight;
		} else {
			n = node_new(b, YN_SCALAR, m);
			n->str = arena_strndup(b->a, (const char *)ev->data.scalar.value, ev->data.scalar.length);
			n->len = ev->data.scalar.length;
			n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
				    (ev->data.scalar.tag && !ev->data.scalar.plain_implicit);
			const char *anchor;
			event_anchor(b, ev->data.scalar.anchor, &anchor);
			remember_anchor(b, anchor, n, 1);
		}
		if (!add_weight(b, weight, m))
			return false;
		if (b->depth == 0)
			(*docs)[*ndocs - 1].root = n;
		else
			push_child(b, n);
		return true;
	}
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: {
		if (b->depth >= SPEC_MAX_DEPTH) {
			spec_diags_add(b->diags, b->file, (unsigned)m->line + 1, (unsigned)m->column + 1,
				       "(document)", "nesting deeper than %d levels", SPEC_MAX_DEPTH);
			return false;
		}
		bool map = ev->type == YAML_MAPPING_START_EVENT;
		ynode *n = node_new(b, map ? YN_MAP : YN_SEQ, m);
		if (!add_weight(b, 1, m))
			return false;
		const yaml_char_t *anchor = map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
		event_anchor(b, anchor, &b->open_anchor[b->depth]);
		b->open[b->depth] = n;
		b->open_base[b->depth] = b->nstack;
		b->open_weight[b->depth] = 1;
		b->depth++;
		return true;
	}
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT: {
		b->depth--;
		ynode *n = b->open[b->depth];
		size_t base = b->open_base[b->depth];
		size_t count = b->nstack - base;
		n->kids = arena_alloc(b->a, (count ? count : 1) * sizeof(*n->kids));
		if (count) /* an empty one may come before anything was pushed: stack NULL */
			memcpy(n->kids, b->stack + base, count * sizeof(*n->kids));
		n->n = n->kind == YN_MAP ? count / 2 : count;
		b->nstack = base;
		uint64_t weight = b->open_weight[b->depth];
		remember_anchor(b, b->open_anchor[b->depth], n, weight);
		if (b->depth == 0) {
			(*docs)[*ndocs - 1].root = n;
		} else {
			/* the parent already counted this node's weight as it grew */
			b->open_weight[b->depth - 1] += weight - 1;
			push_child(b, n);
		}
		return true;
	}
	default:
		return true;
	}
}

/* ------------------------------------------------------- syntax hints */

/* Line `line` (0-based) of data: its start and length, without "\n". */
static bool line_at(const char *data, size_t len, size_t line, const char **start, size_t *n)
{
	size_t i = 0;
	for (size_t l = 0; l < line; l++) {
		const char *nl = memchr(data + i, '\n', len - i);
		if (!nl)
			return false;
		i = (size_t)(nl - data) + 1;
	}
	const char *nl = memchr(data + i, '\n', len - i);
	*start = data + i;
	*n = nl ? (size_t)(nl - (data + i)) : len - i;
	if (*n && (*start)[*n - 1] == '\r')
		(*n)--;
	return true;
}

static size_t indent_of(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && s[i] == ' ')
		i++;
	return i;
}

/* The nearest line above `line` with content (not blank, not only a
 * comment): its number (0-based) and indentation; false when none is. */
static bool line_above(const char *data, size_t len, size_t line, size_t *above, size_t *indent)
{
	for (size_t l = line; l-- > 0;) {
		const char *s;
		size_t n;
		if (!line_at(data, len, l, &s, &n))
			return false;
		size_t i = indent_of(s, n);
		if (i < n && s[i] != '#') {
			*above = l;
			*indent = i;
			return true;
		}
	}
	return false;
}

/*
 * What a libyaml error most likely means, for the few errors whose usual
 * cause can be told from the text: "" when none is likely. The line
 * numbers it names count from 1, as the diagnostic's do.
 */
static void syntax_hint(const yaml_parser_t *p, const char *data, size_t len, buf *out)
{
	const char *problem = p->problem ? p->problem : "", *context = p->context ? p->context : "";
	size_t line = p->problem_mark.line, col = p->problem_mark.column;
	size_t cline = p->context_mark.line, ccol = p->context_mark.column;
	const char *s = NULL;
	size_t n = 0, above = 0, up = 0;
	bool have = line_at(data, len, line, &s, &n);
	int rc = 0;
	if (strstr(context, "quoted scalar") && strstr(problem, "unexpected end")) {
		rc = buf_printf(out, "the quote at line %zu, column %zu is never closed", cline + 1, ccol + 1);
	} else if (strstr(context, "flow sequence") || strstr(context, "flow mapping")) {
		/* a bracket left open swallows the lines after it; on its own
		 * line the cause may be a missing comma instead: no hint */
		char open = strstr(context, "sequence") ? '[' : '{';
		if (line > cline)
			rc = buf_printf(out, "the '%c' at line %zu, column %zu is never closed: close it with '%c'", open,
					cline + 1, ccol + 1, open == '[' ? ']' : '}');
	} else if (strstr(problem, "did not find expected key") || strstr(problem, "expected '-' indicator")) {
		rc = buf_printf(out, "check this line's indentation against the line%s above: the %s that starts at "
				     "line %zu has its %s at column %zu", line > cline + 1 ? "s" : "",
				strstr(problem, "key") ? "map" : "list", cline + 1,
				strstr(problem, "key") ? "keys" : "'-' items", ccol + 1);
	} else if (strstr(problem, "mapping values are not allowed") && have && col < n) {
		size_t key = indent_of(s, n);
		const char *first = memchr(s + key, ':', col - key);
		if (first && (size_t)(first - s) < col) {
			rc = buf_printf(out, "a value that holds ': ' must be quoted (key: \"a: b\")");
		} else if (line_above(data, len, line, &above, &up)) {
			if (key > up)
				rc = buf_printf(out, "this line is indented more than line %zu above it (%zu spaces, not "
						     "%zu): keys of one map line up", above + 1, key, up);
			else if (line_at(data, len, above, &s, &n) && !memchr(s, ':', n))
				rc = buf_printf(out, "line %zu above has no ':' after its key, so this line reads as "
						     "the rest of its value", above + 1);
		}
	} else if (strstr(problem, "could not find expected ':'") && strstr(context, "simple key")) {
		rc = buf_printf(out, "line %zu has no ':' after its key", cline + 1);
	} else if (strstr(problem, "cannot start any token") && have && col < n && strchr("@`", s[col])) {
		rc = buf_printf(out, "'%c' cannot start a plain value: quote the value", s[col]);
	}
	if (rc != 0)
		abort(); /* unbounded buffer: cannot fail */
}

size_t spec__yaml_load(arena *a, const char *file, const char *data, size_t len,
		 ydoc **out, spec_diags *diags)
{
	*out = NULL;
	/* A UTF-8 byte order mark is allowed (YAML 1.2, 5.2), and Windows
	 * editors write one; it is not content. */
	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
		data += 3;
		len -= 3;
	}
	size_t bad;
	if (!utf8_valid(data, len, &bad)) {
		unsigned line, col;
		utf8_position(data, bad, &line, &col);
		spec_diags_add(diags, file, line, col, "(file)",
			       "file is not valid UTF-8 (byte 0x%02x at offset %zu)",
			       (unsigned char)data[bad], bad);
		return 0;
	}
	if (!has_content(data, len)) {
		spec_diags_add(diags, file, 1, 1, "(file)",
			       "file is empty: expected at least one YAML document");
		return 0;
	}
	if (!check_tabs(file, data, len, diags))
		return 0;

	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser))
		abort();
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);

	builder b = {.a = a, .file = file, .diags = diags};
	ydoc *docs = NULL;
	size_t ndocs = 0, capdocs = 0;
	bool ok = true;
	for (;;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&parser, &ev)) {
			const char *ctx = parser.context ? parser.context : NULL;
			buf hint = BUF_INIT(0);
			syntax_hint(&parser, data, len, &hint);
			spec_diags_add(diags, file, (unsigned)parser.problem_mark.line + 1,
				       (unsigned)parser.problem_mark.column + 1, "(file)",
				       "YAML syntax error: %s%s%s%s%s",
				       parser.problem ? parser.problem : "unknown problem",
				       ctx ? " " : "", ctx ? ctx : "", hint.len ? "; " : "", hint.len ? hint.data : "");
			buf_release(&hint);
			ok = false;
			break;
		}
		bool done = ev.type == YAML_STREAM_END_EVENT;
		bool go = on_event(&b, &ev, &docs, &ndocs, &capdocs);
		yaml_event_delete(&ev);
		if (!go) {
			ok = false;
			break;
		}
		if (done)
			break;
	}
	yaml_parser_delete(&parser);
	free(b.stack);
	strmap_free(b.anchors);
	if (!ok) {
		free(docs);
		return 0;
	}
	/* Empty documents (a stray `---`) carry nothing; drop them. */
	size_t kept = 0;
	for (size_t i = 0; i < ndocs; i++) {
		if (docs[i].root && !(docs[i].root->kind == YN_SCALAR && spec__ynode_is_null(docs[i].root)))
			docs[kept++] = docs[i];
	}
	if (kept == 0) {
		free(docs);
		spec_diags_add(diags, file, 1, 1, "(file)",
			       "file is empty: expected at least one YAML document");
		return 0;
	}
	*out = docs;
	return kept;
}

bool spec__ynode_is_null(const ynode *n)
{
	if (n->kind != YN_SCALAR || n->quoted)
		return false;
	return n->len == 0 || strcmp(n->str, "~") == 0 || strcmp(n->str, "null") == 0 ||
	       strcmp(n->str, "Null") == 0 || strcmp(n->str, "NULL") == 0;
}

const char *spec__ynode_describe(const ynode *n)
{
	switch (n->kind) {
	case YN_MAP:
		return "a map";
	case YN_SEQ:
		return "a list";
	default:
		break;
	}
	if (spec__ynode_is_null(n))
		return "nothing (null)";
	if (n->quoted)
		return "a quoted string";
	int64_t i;
	if (str_to_i64(n->str, &i) == 0)
		return "a number";
	char *end;
	errno = 0;
	(void)strtod(n->str, &end);
	if (end != n->str && *end == 0 && isdigit((unsigned char)n->str[n->len - 1]))
		return "a decimal number";
	if (strcmp(n->str, "true") == 0 || strcmp(n->str, "false") == 0)
		return "a boolean";
	return "a string";
}
