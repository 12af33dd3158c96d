/*
 * copy.c: a whole state copied into an empty one, from either backend to
 * either (`flotilla state copy FROM TO`), and verified.
 *
 * Every table is walked in its key order in one read transaction of the
 * source (one snapshot), and written in one write transaction of the
 * destination, so the copy is all or nothing. Leases are not copied: they
 * belong to running processes, not to the fleet (the copy itself holds
 * the source's). Then both are read again, table by table, and each
 * table's rows are counted and hashed in key order, in a text form that
 * does not depend on the backend (numbers as numbers, text as bytes): a
 * copy is verified when every table has the same count and hash on both
 * sides.
 */
#include "state/internal.h"

#include <string.h>

/* A column's kind: T text, I integer, R real, B blob. */
typedef struct copy_table {
	const char *name;
	const char *columns; /* "name:K,…", in the table's order */
	const char *order;   /* the key */
} copy_table;

static const copy_table tables[] = {
	{"meta", "key:T,value:T", "key"},
	{"projects", "id:T,name:T,region_id:T,org_id:T,pg_version:I,history_retention_seconds:I,created_at:T,"
		     "updated_at:T,quota_active_time:I,quota_compute_time:I,quota_written_data:I,"
		     "quota_data_transfer:I,quota_logical_size:I,min_cu:R,max_cu:R,suspend_timeout_seconds:I,"
		     "pg_settings_json:T,allowed_ips_json:T,protected_branches_only:I,logical_replication:I,"
		     "block_public_connections:I,maintenance_window_json:T,listed_at:I,refresh_gen:I,deep_at:I,"
		     "deep_updated_at:T,fingerprint:T,deep_fingerprint:T,compute_last_active_at:T,"
		     "synthetic_storage_size:I,active_time:I", "id"},
	{"branches", "project_id:T,id:T,name:T,parent_id:T,is_default:I,protected:I,annotations_json:T,"
		     "created_at:T,updated_at:T", "project_id, id"},
	{"endpoints", "project_id:T,id:T,branch_id:T,read_write:I,min_cu:R,max_cu:R,suspend_timeout_seconds:I,"
		      "disabled:I,current_state:T,last_active:T,name:T", "project_id, id"},
	{"databases", "project_id:T,branch_id:T,name:T,owner:T", "project_id, branch_id, name"},
	{"roles", "project_id:T,branch_id:T,name:T", "project_id, branch_id, name"},
	{"tenants", "tenant:T,project_id:T,fleet:T,source:T,mapped_at:I,protect:I", "tenant"},
	{"tenant_sync", "tenant:T,state:T,reason:T,fields:T,since:I,updated_at:I", "tenant"},
	{"runs", "id:I,command:T,pid:I,host:T,started_at:I,finished_at:I,outcome:T,summary_json:T", "id"},
	{"journal", "id:I,run_id:I,tenant:T,project_id:T,action:T,intent_json:T,state:T,resource_id:T,"
		    "operation_ids_json:T,request_id:T,error:T,created_at:I,updated_at:I", "id"},
	{"parse_cache", "blob_id:T,data:B,used_at:I", "blob_id"},
	{"manifest_index", "tenant:T,path:T", "tenant"},
	{"manifest_extra", "path:T", "path"},
	{"forgotten", "project_id:T,tenant:T,fleet:T,forgotten_at:I,run_id:I", "project_id"},
	{"tenant_usage", "tenant:T,period_start:I,period_end:I,project_id:T,compute_unit_seconds:I,active_seconds:I,"
			 "storage_bytes_month:I,storage_bytes:I,transfer_bytes:I,updated_at:I", "tenant, period_start"},
	{"backup_schedules", "project_id:T,branch_id:T,schedule_json:T,read_at:I,refused:T", "project_id"},
};

/* The parsed column list of a table. */
typedef struct cols {
	size_t n;
	char names[32][40];
	char kind[32];
} cols;

static void parse_cols(const char *spec, cols *c)
{
	memset(c, 0, sizeof(*c));
	for (const char *p = spec; *p && c->n < 32;) {
		const char *colon = strchr(p, ':');
		size_t len = (size_t)(colon - p);
		memcpy(c->names[c->n], p, len < 39 ? len : 39);
		c->kind[c->n] = colon[1];
		c->n++;
		p = colon[2] == ',' ? colon + 3 : colon + 2;
	}
}

static char *select_sql(const copy_table *t, const cols *c)
{
	buf b = BUF_INIT(0);
	int rc = buf_adds(&b, "SELECT ");

	for (size_t i = 0; i < c->n && rc == 0; i++)
		rc = buf_printf(&b, "%s%s", i ? ", " : "", c->names[i]);
	if (rc == 0)
		rc = buf_printf(&b, " FROM %s ORDER BY %s", t->name, t->order);
	if (rc != 0)
		abort(); /* no maximum: only out of memory, which aborts first */
	return buf_detach(&b, NULL);
}

static char *insert_sql(const copy_table *t, const cols *c)
{
	buf b = BUF_INIT(0);
	int rc = buf_printf(&b, "INSERT INTO %s (", t->name);

	for (size_t i = 0; i < c->n && rc == 0; i++)
		rc = buf_printf(&b, "%s%s", i ? ", " : "", c->names[i]);
	if (rc == 0)
		rc = buf_adds(&b, ") VALUES (");
	for (size_t i = 0; i < c->n && rc == 0; i++)
		rc = buf_printf(&b, "%s?%zu", i ? ", " : "", i + 1);
	if (rc == 0)
		rc = buf_addc(&b, ')');
	if (rc != 0)
		abort();
	return buf_detach(&b, NULL);
}

/* One row's canonical text into the table's hash. */
static void hash_row(sha256_ctx *h, db_stmt *st, const cols *c)
{
	for (size_t i = 0; i < c->n; i++) {
		char num[40];
		if (db_col_null(st, (int)i)) {
			sha256_update(h, "\x01N", 2);
			continue;
		}
		switch (c->kind[i]) {
		case 'I':
			snprintf(num, sizeof(num), "\x01I%lld", (long long)db_col_i64(st, (int)i));
			sha256_update(h, num, strlen(num));
			break;
		case 'R':
			snprintf(num, sizeof(num), "\x01R%.17g", db_col_double(st, (int)i));
			sha256_update(h, num, strlen(num));
			break;
		case 'B': {
			size_t len;
			const void *v = db_col_blob(st, (int)i, &len);
			snprintf(num, sizeof(num), "\x01" "B%zu:", len);
			sha256_update(h, num, strlen(num));
			sha256_update(h, v ? v : "", len);
			break;
		}
		default: {
			const char *v = state__col_text(st, (int)i, false);
			snprintf(num, sizeof(num), "\x01T%zu:", strlen(v));
			sha256_update(h, num, strlen(num));
			sha256_update(h, v, strlen(v));
			break;
		}
		}
	}
}

/* Bind the current row of `from` (a SELECT of c's columns) to `ins`. */
static int bind_row(db_stmt *ins, db_stmt *from, const cols *c)
{
	int rc = 0;

	for (size_t i = 0; i < c->n && rc == 0; i++) {
		int k = (int)i, at = k + 1;
		if (db_col_null(from, k)) {
			rc = db_bind_null(ins, at);
			continue;
		}
		switch (c->kind[i]) {
		case 'I': rc = db_bind_i64(ins, at, db_col_i64(from, k)); break;
		case 'R': rc = db_bind_double(ins, at, db_col_double(from, k)); break;
		case 'B': {
			size_t len;
			const void *v = db_col_blob(from, k, &len);
			rc = ins->drv->bind_blob(ins, at, v ? v : "", len, true);
			break;
		}
		default: rc = db_bind_text_copy(ins, at, state__col_text(from, k, false)); break;
		}
	}
	return rc;
}

typedef struct digest_walk {
	const cols *c;
	sha256_ctx *h;
	int64_t n;
} digest_walk;

static int digest_row(db_stmt *st, void *arg)
{
	digest_walk *w = arg;

	hash_row(w->h, st, w->c);
	w->n++;
	return 0;
}

/* A table's rows counted and hashed in key order. */
static int digest(state *s, const copy_table *t, int64_t *n, char hex[SHA256_HEX_LEN + 1])
{
	cols c;
	char *sql;
	digest_walk w;
	int rc;

	parse_cols(t->columns, &c);
	sql = select_sql(t, &c);
	w = (digest_walk){&c, sha256_new(), 0};
	rc = state__foreach(s, sql, "reading a table to verify it", digest_row, &w);
	sha256_final_hex(w.h, hex);
	*n = w.n;
	free(sql);
	return rc;
}

typedef struct copy_walk {
	state *to;
	db_stmt *ins;
	const cols *c;
	int64_t n;
} copy_walk;

static int copy_row(db_stmt *st, void *arg)
{
	copy_walk *w = arg;
	int rc = bind_row(w->ins, st, w->c);

	if (rc != 0)
		return state__fail(w->to, rc, "binding a row");
	if ((rc = state__step_done(w->to, w->ins, "writing a row")) == 0)
		w->n++;
	return rc;
}

static int copy_table_rows(state *from, state *to, const copy_table *t, int64_t *n)
{
	cols c;
	char *sel, *ins_sql;
	copy_walk w = {to, NULL, &c, 0};
	int rc;

	parse_cols(t->columns, &c);
	sel = select_sql(t, &c);
	ins_sql = insert_sql(t, &c);
	if ((rc = state__prepare(to, ins_sql, &w.ins)) == 0)
		rc = state__foreach(from, sel, "reading a table to copy it", copy_row, &w);
	db_finalize(w.ins);
	free(sel);
	free(ins_sql);
	*n = w.n;
	return rc;
}

/* The destination holds nothing yet (a new file or schema). */
static int check_empty(state *to)
{
	for (size_t i = 0; i < ARRAY_LEN(tables); i++) {
		char sql[96];
		int64_t n = 0;
		int rc;
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", tables[i].name);
		if ((rc = state__query_i64(to, sql, &n)) != 0)
			return rc;
		if (n > 0)
			return err_set(ERR_CONFLICT, "state '%s' is not empty (table %s has %lld rows): a copy goes "
						     "into a new state only", to->path, tables[i].name, (long long)n);
	}
	return 0;
}

int state_copy(state *from, state *to, state_copy_report *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = check_empty(to)) != 0)
		return rc;
	if ((rc = state__begin(from, false)) != 0)
		return rc;
	if ((rc = state__begin(to, true)) != 0) {
		state__rollback(from);
		return rc;
	}
	for (size_t i = 0; i < ARRAY_LEN(tables) && rc == 0; i++) {
		int64_t n = 0;
		rc = copy_table_rows(from, to, &tables[i], &n);
		out->rows += n;
	}
	/* ids are copied as they were: the destination's next ones follow them */
	if (rc == 0 && to->drv->after_copy && (rc = to->drv->exec(to, to->drv->after_copy)) != 0)
		rc = state__fail(to, rc, "moving the id sequences past the copied rows");
	state__rollback(from);
	if (rc != 0) {
		state__rollback(to);
		return rc;
	}
	if ((rc = state__commit(to)) != 0)
		return rc;
	return state_verify_same(from, to, out);
}

int state_verify_same(state *a, state *b, state_copy_report *out)
{
	int rc = 0;

	out->tables = 0;
	for (size_t i = 0; i < ARRAY_LEN(tables) && rc == 0; i++) {
		char ha[SHA256_HEX_LEN + 1], hb[SHA256_HEX_LEN + 1];
		int64_t na = 0, nb = 0;
		if ((rc = digest(a, &tables[i], &na, ha)) != 0 || (rc = digest(b, &tables[i], &nb, hb)) != 0)
			break;
		if (na != nb || strcmp(ha, hb) != 0)
			return err_set(ERR_FAIL, "table %s differs: %lld rows in '%s', %lld in '%s'%s", tables[i].name,
				       (long long)na, a->path, (long long)nb, b->path, na == nb ? " (same count, other rows)" : "");
		out->tables++;
	}
	return rc;
}
