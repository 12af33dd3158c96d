/*
 * state-fixture.h: what the unit tests of state/ (test-state-*.c) share: a
 * fixture holding a fresh temporary directory and the state file's path in
 * it, raw SQLite access that only inspects and prepares files (every
 * behaviour under test goes through state.h), and generated projects.
 * state-fixture.c is compiled into each of those executables; include it
 * after <cmocka.h>.
 */
#ifndef FLOTILLA_TESTS_UNIT_STATE_FIXTURE_H
#define FLOTILLA_TESTS_UNIT_STATE_FIXTURE_H

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "state/state.h"
#include "util/util.h"

#include "helpers.h"

/* "FLT1", state/'s application id (state/internal.h, which tests do not
 * include) */
#define APP_ID 0x464c5431
/* projects per list page in the refresh and concurrency tests */
#define PAGE 50
/* state.h's row structs hold `char *` both ways; these literals are only
 * read (bound to statements), never written */
#define S(lit) ((char *)(lit))

typedef struct fixture {
	char *dir;
	char *path;  /* dir/sub/state.db: open must create "sub"; or postgres://…?schema=SCHEMA */
	char *schema; /* PostgreSQL runs: the test's own schema, dropped by the teardown */
	arena *a;    /* strings of generated projects */
	state *s;    /* closed by the teardown */
} fixture;

/* cmocka setup and teardown: a fixture in *st, with a new directory that
 * the teardown removes with everything in it. */
int fx_setup(void **st);
int fx_teardown(void **st);
#define FX(t) cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)

/* FLOTILLA_TEST_STATE=postgres: the tests run against PostgreSQL (the
 * server in FLOTILLA_TEST_PG, tests/pg/pg.sh), each in a schema of its own. */
bool fx_pg(void);
/* Set the schema version a state records (PRAGMA user_version, or
 * PostgreSQL's flotilla_version), as another flotilla would have. */
void set_schema_version(const char *path, int version);
/* Run SQL on a PostgreSQL server (location as in fx->path), in schema
 * (NULL: the location's). */
void pg_exec_raw(const char *location, const char *schema, const char *sql);
/* Run SQL on a connection of its own to a PostgreSQL state location (in
 * its schema) and keep that connection open (a lock it took stays held)
 * until pg_release. */
void *pg_hold(const char *location, const char *sql);
void pg_release(void *conn);

/* state_open of fx->path, or the test fails. */
state *open_ok(fixture *fx);

/* ------------------------------------------------------ raw inspection */

/* A plain SQLite connection to path (created when absent); close it. */
sqlite3 *raw_open(const char *path);
/* The first column of the first row, as an integer. */
int64_t raw_i64(sqlite3 *db, const char *sql);
/* The first column of the first row as a heap string ("(null)" for NULL). */
char *raw_text(sqlite3 *db, const char *sql);
void raw_exec(sqlite3 *db, const char *sql);
/* raw_i64 and raw_exec on a connection of their own; on either backend
 * (a postgres:// path runs the SQL in its schema). */
int64_t file_i64(const char *path, const char *sql);
void file_exec(const char *path, const char *sql);
/* raw_text on a connection of its own; on either backend. */
char *file_text(const char *path, const char *sql);
/* A table's column names, lowercase, comma-separated, on either backend. */
char *columns_of(const char *path, const char *table);
/* PRAGMA integrity_check says ok, and no foreign key is broken. */
void assert_integrity(const char *path);

/* ---------------------------------------------------------- generators */

/* n minimal projects "<prefix>-<from..from+n-1>", regions in rotation
 * (aws-eu-central-1, aws-us-east-2, aws-us-west-2), in fx's arena. */
state_project *make_page(fixture *fx, const char *prefix, int from, int n);
/* A project with every field set to a distinct value. */
state_project full_project(fixture *fx, const char *id);
/* A whole refresh of the given pages (each `per` long); the number of
 * projects it removed as gone. */
size_t refresh_all(state *s, const state_project *items, size_t n, size_t per);
void assert_project_equal(const state_project *got, const state_project *want);

/* ------------------------------------------------------------- walks */

/* Up to 8 strings a walk hands out. */
typedef struct collected {
	char v[8][64];
	size_t n;
} collected;
/* A state_index_fn: collects into a `collected`; a ninth value stops the
 * walk with 7. */
int collect_value(void *arg, const char *value);

/* Collects the rows a walk hands out as words ("id:state" for the
 * journal), and can stop the walk. */
typedef struct jwalk {
	char seen[512];
	int n, stop_at;
	state *s;          /* when set: finish every row handed out, from the callback */
	state *other;      /* when set: another connection writes the file first */
} jwalk;
/* Add a word. */
void jwalk_add(jwalk *w, const char *fmt, ...) PRINTF(2, 3);
/* Check what the walk collected, then clear it for the next walk. */
void expect_seen(jwalk *w, const char *fmt, ...) PRINTF(2, 3);

#endif
