/*
 * test-pcache.c: unit tests of engine/pcache.c, the parse cache as the
 * loader sees it. A whole load's new entries are held in memory and
 * written by pcache_flush from a thread with its own connection to the
 * state file; these tests check that every entry lands, byte for byte,
 * while the caller's connection keeps reading, and that a state file gone
 * or replaced in the meantime is reported and never made again (nor
 * written). A load of
 * a few files writes each entry at once, on the caller's connection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine.h"

#include "state-fixture.h"

#define N_ENTRIES 300

/* A blob id (40 hex digits) and an entry for i, in no particular order. */
static void entry_of(int i, char id[SPEC_BLOB_ID_LEN + 1], char *data, size_t cap)
{
	unsigned h = (unsigned)i * 2654435761u;
	snprintf(id, SPEC_BLOB_ID_LEN + 1, "%08x%032d", h, i);
	snprintf(data, cap, "entry %d of the test, %u", i, h);
}

static void put_all(pcache *c, int n)
{
	const spec_cache *sc = pcache_spec(c);
	for (int i = 0; i < n; i++) {
		char id[SPEC_BLOB_ID_LEN + 1], data[64];
		entry_of(i, id, data, sizeof(data));
		assert_int_equal(sc->put(sc->ctx, id, data, strlen(data) + 1), 0);
	}
}

/* Every entry is in the table, with its bytes, read through a new cache. */
static void assert_all_stored(state *s, int n)
{
	pcache *c = pcache_new(s, true);
	const spec_cache *sc = pcache_spec(c);
	for (int i = 0; i < n; i++) {
		char id[SPEC_BLOB_ID_LEN + 1], data[64];
		entry_of(i, id, data, sizeof(data));
		buf got = BUF_INIT(0);
		assert_int_equal(sc->get(sc->ctx, id, &got), 0);
		assert_int_equal(got.len, strlen(data) + 1);
		assert_memory_equal(got.data, data, got.len);
		buf_release(&got);
	}
	pcache_free(c);
}

static void test_bulk_written_by_flush(void **st)
{
	fixture *fx = *st;
	fx->s = open_ok(fx);
	pcache *c = pcache_new(fx->s, true);
	put_all(c, N_ENTRIES);

	/* before the flush: served from memory, nothing in the table yet */
	const spec_cache *sc = pcache_spec(c);
	char id[SPEC_BLOB_ID_LEN + 1], data[64];
	entry_of(7, id, data, sizeof(data));
	buf got = BUF_INIT(0);
	assert_int_equal(sc->get(sc->ctx, id, &got), 0);
	assert_string_equal(got.data, data);
	buf_release(&got);
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM parse_cache"), 0);

	/* the caller's connection goes on reading while the thread writes */
	assert_int_equal(pcache_flush(c), 0);
	assert_int_equal(state_read_begin(fx->s), 0);
	char *v = NULL;
	assert_int_equal(state_meta_get(fx->s, "no-such-key", &v), 0);
	assert_null(v);
	state_read_end(fx->s);
	assert_int_equal(pcache_wait(c), 0);
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM parse_cache"), N_ENTRIES);
	/* a second flush has nothing left to write */
	assert_int_equal(pcache_flush(c), 0);
	assert_int_equal(pcache_wait(c), 0);
	pcache_free(c);

	assert_all_stored(fx->s, N_ENTRIES);
	assert_integrity(fx->path);
}

static void test_bulk_free_waits(void **st)
{
	fixture *fx = *st;
	fx->s = open_ok(fx);
	pcache *c = pcache_new(fx->s, true);
	put_all(c, N_ENTRIES);
	assert_int_equal(pcache_flush(c), 0);
	pcache_free(c); /* waits for the writer */
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM parse_cache"), N_ENTRIES);
}

static void test_bulk_put_after_flush(void **st)
{
	fixture *fx = *st;
	fx->s = open_ok(fx);
	pcache *c = pcache_new(fx->s, true);
	put_all(c, N_ENTRIES / 2);
	assert_int_equal(pcache_flush(c), 0);
	/* a later put waits for the writer, then is written by the next flush */
	put_all(c, N_ENTRIES);
	assert_int_equal(pcache_flush(c), 0);
	assert_int_equal(pcache_wait(c), 0);
	pcache_free(c);
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM parse_cache"), N_ENTRIES);
	assert_all_stored(fx->s, N_ENTRIES);
}

static void remove_state_file(const char *path)
{
	char side[4096];
	assert_int_equal(unlink(path), 0);
	snprintf(side, sizeof(side), "%s-wal", path);
	(void)unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	(void)unlink(side);
}

static void test_bulk_file_gone(void **st)
{
	fixture *fx = *st;
	fx->s = open_ok(fx);
	pcache *c = pcache_new(fx->s, true);
	put_all(c, 10);
	remove_state_file(fx->path);
	assert_int_equal(pcache_flush(c), 0); /* the thread finds out */
	assert_int_equal(pcache_wait(c), ERR_IO);
	ut_assert_err_contains("cannot open state file");
	/* and did not make a new, empty one in its place */
	assert_int_not_equal(access(fx->path, F_OK), 0);
	pcache_free(c);
}

static void test_bulk_file_replaced(void **st)
{
	fixture *fx = *st;
	fx->s = open_ok(fx);
	pcache *c = pcache_new(fx->s, true);
	put_all(c, 10);
	remove_state_file(fx->path);
	sqlite3 *db = raw_open(fx->path); /* another, empty SQLite file */
	raw_exec(db, "CREATE TABLE t (x)");
	sqlite3_close(db);
	assert_int_equal(pcache_flush(c), 0);
	assert_int_equal(pcache_wait(c), ERR_INVALID);
	ut_assert_err_contains("is not a flotilla state file");
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM sqlite_schema WHERE name = 'parse_cache'"), 0);
	pcache_free(c);
}

static void test_bulk_other_version(void **st)
{
	fixture *fx = *st;
	fx->s = open_ok(fx);
	pcache *c = pcache_new(fx->s, true);
	put_all(c, 10);
	/* as if another flotilla had migrated the file since */
	set_schema_version(fx->path, STATE_SCHEMA_VERSION + 1);
	assert_int_equal(pcache_flush(c), 0);
	assert_int_not_equal(pcache_wait(c), 0);
	ut_assert_err_contains("written by a newer flotilla");
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM parse_cache"), 0);
	pcache_free(c);
}

static void test_single_writes_at_once(void **st)
{
	fixture *fx = *st;
	fx->s = open_ok(fx);
	pcache *c = pcache_new(fx->s, false);
	put_all(c, 5);
	assert_int_equal(file_i64(fx->path, "SELECT count(*) FROM parse_cache"), 5);
	assert_int_equal(pcache_flush(c), 0);
	assert_int_equal(pcache_wait(c), 0);
	pcache_free(c);
	assert_all_stored(fx->s, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FX(test_bulk_written_by_flush),
		FX(test_bulk_free_waits),
		FX(test_bulk_put_after_flush),
		FX(test_bulk_other_version),
		FX(test_single_writes_at_once),
		/* from here, a state file removed or replaced under the writer:
		 * SQLite's alone (FILE_TESTS of them) */
		FX(test_bulk_file_gone),
		FX(test_bulk_file_replaced),
	};
	enum { FILE_TESTS = 2 };
	return _cmocka_run_group_tests("pcache", tests, ARRAY_LEN(tests) - (fx_pg() ? FILE_TESTS : 0), NULL, NULL);
}
