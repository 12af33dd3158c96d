/*
 * db.c: opening and closing the state file, and the small helpers every
 * other file of state/ builds on (errors, statements, transactions, meta).
 *
 * Opening is careful about what it writes. The file is created 0600 by us
 * before SQLite sees it (SQLite would create it 0644 minus the umask, and
 * gives its -wal and -shm files the main file's mode). A file that is not
 * a flotilla state file, or is one from a newer flotilla, is refused
 * before anything is changed: not its mode, not its journal mode. Then a
 * state file that others can read has its group and other bits cleared,
 * it is switched to WAL mode, the connection is configured, and the schema
 * migrated. What of that the user should hear of goes into the caller's
 * state_open_report: state/ never logs.
 */
#include "state/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* How long a connection waits for another process's write lock before a
 * write fails with ERR_LOCKED. A page of a refresh commits in milliseconds,
 * so this only runs out when another writer is stuck. */
#define BUSY_TIMEOUT_MS 5000
/*
 * Per-connection tuning, measured with 300k projects (docs/state.md):
 * - a 16 MiB page cache keeps the upper levels of the projects table and
 *   its indexes in memory through a refresh;
 * - checkpointing every 10,000 WAL pages (~40 MB) instead of 1,000 writes
 *   a page that several list pages touch to the main file once, and costs
 *   fewer fsyncs: the first fill of a 300k cache runs ~50% faster;
 * - journal_size_limit truncates the WAL back to 64 MiB after a
 *   checkpoint, so that one big refresh does not leave a big file.
 */
#define TUNING "PRAGMA cache_size = -16384; PRAGMA wal_autocheckpoint = 10000; " \
	"PRAGMA journal_size_limit = 67108864; PRAGMA temp_store = MEMORY"

/* ---------------------------------------------------------------- errors */

int state__fail(state *s, int rc, const char *what)
{
	int code;

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		code = ERR_LOCKED;
		break;
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
	case SQLITE_PERM:
		code = ERR_IO;
		break;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		code = ERR_INVALID;
		break;
	case SQLITE_CONSTRAINT:
		code = ERR_CONFLICT;
		break;
	default:
		code = ERR_FAIL;
		break;
	}
	if ((rc & 0xff) == SQLITE_BUSY)
		return err_set(code, "state file '%s': %s: another process has held its write lock for %d "
			       "seconds", s->path, what, BUSY_TIMEOUT_MS / 1000);
	/* the extended code tells I/O errors apart (short read, fsync, lock) */
	if ((rc & 0xff) == SQLITE_IOERR && s->db)
		return err_set(code, "state file '%s': %s: %s (sqlite code %d: %s)", s->path, what,
			       sqlite3_errmsg(s->db), rc, strerror(sqlite3_system_errno(s->db)));
	return err_set(code, "state file '%s': %s: %s", s->path, what,
		       s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
}

/* ------------------------------------------------------------ statements */

int state__exec(state *s, const char *sql)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : state__fail(s, rc, "executing a statement");
}

int state__stmt(state *s, const char *sql, sqlite3_stmt **out)
{
	sqlite3_stmt *st = strmap_get(s->stmts, sql);
	int rc;

	*out = NULL;
	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		*out = st;
		return 0;
	}
	rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
	if (rc != SQLITE_OK)
		return state__fail(s, rc, "preparing a statement");
	strmap_put(s->stmts, sql, st);
	*out = st;
	return 0;
}

int state__prepare(state *s, const char *sql, sqlite3_stmt **out)
{
	int rc;

	*out = NULL;
	rc = sqlite3_prepare_v2(s->db, sql, -1, out, NULL);
	return rc == SQLITE_OK ? 0 : state__fail(s, rc, "preparing a statement");
}

void state__reset(sqlite3_stmt *st)
{
	if (st)
		sqlite3_reset(st);
}

int state__step_done(state *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	rc = rc == SQLITE_DONE ? 0 : state__fail(s, rc, what);
	state__reset(st);
	return rc;
}

int state__step_insert(state *s, sqlite3_stmt *st, const char *what, int64_t *id)
{
	int rc = state__step_done(s, st, what);

	if (rc == 0)
		*id = sqlite3_last_insert_rowid(s->db);
	return rc;
}

int state__step_str(state *s, sqlite3_stmt *st, const char *what, char **out)
{
	int rc = sqlite3_step(st);

	*out = rc == SQLITE_ROW ? state__col_str(st, 0) : NULL;
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : state__fail(s, rc, what);
	state__reset(st);
	return rc;
}

int state__step_one(state *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	return rc == SQLITE_ROW ? 0 : state__fail(s, rc, what);
}

int state__bind_text(sqlite3_stmt *st, int i, const char *v)
{
	return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

char *state__col_text(sqlite3_stmt *st, int i, bool copy)
{
	const char *v = (const char *)sqlite3_column_text(st, i);

	if (!v || !copy)
		return (char *)v; /* borrowed: valid until the next step or reset */
	return xstrdup(v);
}

char *state__col_str(sqlite3_stmt *st, int i)
{
	return state__col_text(st, i, true);
}

int state__query_i64(state *s, const char *sql, int64_t *out)
{
	sqlite3_stmt *st;
	int rc;

	*out = 0;
	if ((rc = state__stmt(s, sql, &st)) != 0)
		return rc;
	if ((rc = state__step_one(s, st, "reading a count")) == 0)
		*out = sqlite3_column_int64(st, 0);
	state__reset(st);
	return rc;
}

int64_t db_now(void)
{
	return (int64_t)time(NULL);
}

/* ---------------------------------------------------------- transactions */

/* SQLite ends a transaction by itself after some errors (a full disk, an
 * I/O error): forget our levels then, so that the next begin is a BEGIN. */
static void sync_depth(state *s)
{
	if (s->depth && sqlite3_get_autocommit(s->db))
		s->depth = 0;
}

int state__begin(state *s, bool write)
{
	const char *sql;
	int rc;

	sync_depth(s);
	sql = s->depth ? "SAVEPOINT nest" : write ? "BEGIN IMMEDIATE" : "BEGIN";
	rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return state__fail(s, rc, write ? "starting a write transaction" : "starting a read transaction");
	s->depth++;
	return 0;
}

int state__commit(state *s)
{
	int rc;

	sync_depth(s);
	if (s->depth == 0)
		return err_set(ERR_FAIL, "state file '%s': the transaction was rolled back", s->path);
	rc = sqlite3_exec(s->db, s->depth > 1 ? "RELEASE nest" : "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		/* a failed commit leaves the transaction open: end it here, so that
		 * callers handle one outcome (nothing of it was written) */
		rc = state__fail(s, rc, "committing");
		state__rollback(s);
		return rc;
	}
	s->depth--;
	return 0;
}

void state__rollback(state *s)
{
	sync_depth(s);
	if (s->depth == 0)
		return;
	/* errors here are ignored on purpose: the caller is already failing
	 * and its message is the one worth keeping */
	if (s->depth > 1)
		(void)sqlite3_exec(s->db, "ROLLBACK TO nest; RELEASE nest", NULL, NULL, NULL);
	else
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->depth--;
	sync_depth(s);
}

/* ------------------------------------------------------------------ meta */

int state__meta_get(state *s, const char *key, char **out)
{
	sqlite3_stmt *st;
	int rc;

	*out = NULL;
	if ((rc = state__stmt(s, "SELECT value FROM meta WHERE key = ?1", &st)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	return state__step_str(s, st, "reading meta", out);
}

int state_generation(state *s, int64_t *out)
{
	char *v = NULL;
	int rc = state__meta_get(s, "generation", &v);
	*out = 0;
	if (rc == 0 && v && (str_to_i64(v, out) != 0 || *out < 0))
		rc = err_set(ERR_INVALID, "state file '%s': meta generation is not a number: '%s'", s->path, v);
	free(v);
	return rc;
}

int state_generation_bump(state *s, int64_t *out)
{
	int64_t g = 0;
	char num[24];
	int rc;

	/* read and write in one write transaction: two processes never take
	 * the same generation */
	if ((rc = state__begin(s, true)) != 0)
		return rc;
	if ((rc = state_generation(s, &g)) == 0) {
		snprintf(num, sizeof(num), "%lld", (long long)(g + 1));
		rc = state__meta_set(s, "generation", num);
	}
	if (rc != 0) {
		state__rollback(s);
		return rc;
	}
	if ((rc = state__commit(s)) == 0 && out)
		*out = g + 1;
	return rc;
}

int state__meta_set(state *s, const char *key, const char *value)
{
	sqlite3_stmt *st;
	int rc;

	if (value)
		rc = state__stmt(s, "INSERT INTO meta(key, value) VALUES (?1, ?2) "
			     "ON CONFLICT(key) DO UPDATE SET value = excluded.value", &st);
	else
		rc = state__stmt(s, "DELETE FROM meta WHERE key = ?1", &st);
	if (rc != 0)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (value)
		sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	return state__step_done(s, st, "writing meta");
}

int state_meta_get(state *s, const char *key, char **out)
{
	*out = NULL;
	if (!key)
		return err_set(ERR_INVALID, "state: meta key is missing");
	return state__meta_get(s, key, out);
}

int state_meta_set(state *s, const char *key, const char *value)
{
	if (!key)
		return err_set(ERR_INVALID, "state: meta key is missing");
	/* one statement: SQLite makes it its own transaction */
	return state__meta_set(s, key, value);
}

/* ----------------------------------------------------------- file system */

/* mkdir -p of the directory part of path; new directories are 0700 (the
 * umask can only narrow that). */
static int make_parent(const char *path)
{
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	char *p;
	int rc = 0;

	if (!slash || slash == dir)
		goto done;
	*slash = '\0';
	for (p = dir + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			rc = err_set(ERR_IO, "cannot create directory '%s': %s", dir, strerror(errno));
			goto done;
		}
		*p = saved;
		if (saved == '\0')
			break;
	}
done:
	free(dir);
	return rc;
}

/* Create the file 0600 when absent. fchmod because the umask may have
 * taken bits that we need (the owner's write bit, under umask 0277). */
static int create_file(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0) {
		if (errno == EEXIST)
			return 0;
		return err_set(ERR_IO, "cannot create state file '%s': %s", path, strerror(errno));
	}
	if (fchmod(fd, 0600) != 0) {
		int e = errno;
		close(fd);
		return err_set(ERR_IO, "cannot set the mode of state file '%s': %s", path, strerror(e));
	}
	close(fd);
	return 0;
}

/* A state file (or its -wal/-shm) that others can read is narrowed to its
 * owner's bits: it holds the fleet's layout. Not an error when it cannot
 * be done (someone else's file opened with read access): the report says
 * so, and the caller warns. */
static void fix_mode(const char *path, const char *suffix, state_open_report *rep)
{
	char *file = xasprintf("%s%s", path, suffix);
	struct stat st;

	if (stat(file, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) != 0 &&
	    rep->nmode_fixes < ARRAY_LEN(rep->mode_fixes)) {
		state_mode_fix *f = &rep->mode_fixes[rep->nmode_fixes++];
		f->suffix = suffix;
		f->mode = (unsigned)(st.st_mode & 0777);
		f->error = chmod(file, st.st_mode & 0700) != 0 ? errno : 0;
	}
	free(file);
}

static void fix_modes(const char *path, state_open_report *rep)
{
	fix_mode(path, "", rep);
	fix_mode(path, "-wal", rep);
	fix_mode(path, "-shm", rep);
}

/* ------------------------------------------------------------ open/close */

/* Run a journal_mode pragma; its result (lowercase) into mode[16].
 * Returns an SQLite result code. */
static int journal_mode(state *s, const char *sql, char mode[16])
{
	sqlite3_stmt *st = NULL;
	int rc;

	mode[0] = '\0';
	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		str_copy(mode, (const char *)sqlite3_column_text(st, 0), 16);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

/*
 * Switch a file to WAL mode (stored in the file: done once per file).
 * Switching needs the file to itself, and SQLite does not wait for that
 * through the busy handler, so a few processes opening a new file at
 * once retry here for up to the busy timeout.
 */
static int use_wal(state *s, state_open_report *rep)
{
	char mode[16];
	int rc, waited = 0;

	if ((rc = journal_mode(s, "PRAGMA journal_mode", mode)) != SQLITE_OK)
		return state__fail(s, rc, "reading the journal mode");
	while (strcmp(mode, "wal") != 0) {
		rc = journal_mode(s, "PRAGMA journal_mode = WAL", mode);
		if ((rc & 0xff) == SQLITE_BUSY && waited < BUSY_TIMEOUT_MS) {
			struct timespec ts = { 0, 10 * 1000 * 1000 };
			nanosleep(&ts, NULL);
			waited += 10;
			continue;
		}
		if (rc != SQLITE_OK)
			return state__fail(s, rc, "switching to WAL mode");
		/* a file system without shared memory (some network mounts)
		 * keeps the old mode: still correct, only readers then wait
		 * for writers (the caller warns) */
		if (strcmp(mode, "wal") != 0) {
			rep->not_wal = true;
			str_copy(rep->journal_mode, mode, sizeof(rep->journal_mode));
		}
		break;
	}
	return 0;
}

/* Connection settings: WAL, then the per-connection ones, which must be
 * set outside a transaction. */
static int configure(state *s, state_open_report *rep)
{
	int rc;

	if ((rc = use_wal(s, rep)) != 0)
		return rc;
	/* synchronous NORMAL: in WAL mode a commit is durable against a crash
	 * of the process, and is only lost (never half written) when the
	 * machine loses power before the next checkpoint's fsync */
	return state__exec(s, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; " TUNING);
}

/* Open s->path, which must exist (SQLITE_OPEN_CREATE is never passed:
 * state_open_ex makes the file first, with its mode). */
static int open_db(state *s)
{
	int rc = sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE, NULL);
	if (rc != SQLITE_OK)
		return err_set(ERR_IO, "cannot open state file '%s': %s", s->path,
			       s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
	return 0;
}

int state_open(state **out, const char *path)
{
	return state_open_ex(out, path, NULL);
}

int state_open_ex(state **out, const char *path, state_open_report *report)
{
	state_open_report scratch;
	state *s = NULL;
	int rc, version, from = 0;

	*out = NULL;
	if (!report)
		report = &scratch;
	memset(report, 0, sizeof(*report));
	if (!path || !*path)
		return err_set(ERR_INVALID, "state file path is empty");
	s = xcalloc(1, sizeof(*s));
	s->path = xstrdup(path);
	s->stmts = strmap_new();
	if (gethostname(s->host, sizeof(s->host) - 1) != 0 || !s->host[0])
		str_copy(s->host, "localhost", sizeof(s->host));

	if ((rc = make_parent(path)) != 0 || (rc = create_file(path)) != 0)
		goto done;
	if ((rc = open_db(s)) != 0)
		goto done;

	/* refuse foreign and newer files before changing anything, even their
	 * mode; then narrow the mode before WAL mode creates -wal and -shm,
	 * which SQLite gives the main file's mode */
	if ((rc = state__identify(s, &version)) != 0)
		goto done;
	fix_modes(path, report);
	if ((rc = configure(s, report)) != 0 || (rc = state__migrate(s, version, &from)) != 0)
		goto done;
	if (from > 0 && from < STATE_SCHEMA_VERSION) {
		report->migrated_from = from;
		report->migrated_to = STATE_SCHEMA_VERSION;
	}
	*out = s;
	s = NULL;
done:
	state_close(s);
	return rc;
}

int state_open_again(state **out, const state *of)
{
	*out = NULL;
	state *s = xcalloc(1, sizeof(*s));
	int rc, version = 0;
	s->path = xstrdup(of->path);
	s->stmts = strmap_new();
	str_copy(s->host, of->host, sizeof(s->host));
	/* open_db never creates: a file removed since is not made again */
	if ((rc = open_db(s)) != 0 || (rc = state__identify(s, &version)) != 0)
		goto done;
	if (version != STATE_SCHEMA_VERSION) {
		/* another file in its place (a new one is version 0) */
		rc = err_set(ERR_INVALID, "state file '%s' changed since it was opened (schema version %d)", s->path,
			     version);
		goto done;
	}
	s->version = version;
	if ((rc = state__exec(s, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; " TUNING)) != 0)
		goto done;
	*out = s;
	s = NULL;
done:
	state_close(s);
	return rc;
}

void state_close(state *s)
{
	sqlite3_stmt *st;

	if (!s)
		return;
	if (s->db) {
		sync_depth(s);
		while (s->depth)
			state__rollback(s);
		/* the cache, and the statements of refreshes left open (they are
		 * detached first, so that a late abort only frees memory) */
		state__detach_refreshes(s);
		while ((st = sqlite3_next_stmt(s->db, NULL)) != NULL)
			sqlite3_finalize(st);
		if (s->version == STATE_SCHEMA_VERSION)
			(void)sqlite3_exec(s->db, "PRAGMA optimize", NULL, NULL, NULL);
		sqlite3_close(s->db);
	}
	strmap_free(s->stmts);
	free(s->path);
	free(s);
}

int state_schema_version(state *s)
{
	return s->version;
}

int state_batch_begin(state *s)
{
	return state__begin(s, true);
}

int state_batch_commit(state *s)
{
	return state__commit(s);
}

void state_batch_rollback(state *s)
{
	state__rollback(s);
}

int state_read_begin(state *s)
{
	return state__begin(s, false);
}

void state_read_end(state *s)
{
	state__rollback(s); /* nothing was written: ending it is all there is */
}

int state__foreach(state *s, const char *sql, const char *what, int (*row)(sqlite3_stmt *st, void *arg), void *arg)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = state__begin(s, false)) != 0)
		return rc;
	if ((rc = state__prepare(s, sql, &st)) != 0)
		goto done;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((rc = row(st, arg)) != 0)
			goto done;
	}
	rc = rc == SQLITE_DONE ? 0 : state__fail(s, rc, what);
done:
	sqlite3_finalize(st);
	if (rc == 0)
		rc = state__commit(s);
	else
		state__rollback(s);
	return rc;
}
