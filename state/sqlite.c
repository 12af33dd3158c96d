/*
 * sqlite.c: the SQLite backend, a state file (the default): its driver
 * (internal.h, db_driver) and opening the file.
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
#include <limits.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

_Static_assert(DB_ROW == SQLITE_ROW && DB_DONE == SQLITE_DONE, "db_step's codes are SQLite's");

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

typedef struct lite_stmt {
	db_stmt base;
	sqlite3_stmt *st;
} lite_stmt;

static sqlite3 *conn(state *s)
{
	return s->db;
}

static sqlite3_stmt *raw(db_stmt *st)
{
	return ((lite_stmt *)st)->st;
}

/* ---------------------------------------------------------------- errors */

static int lite_fail(state *s, int rc, const char *what)
{
	sqlite3 *db = conn(s);
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
	if ((rc & 0xff) == SQLITE_IOERR && db)
		return err_set(code, "state file '%s': %s: %s (sqlite code %d: %s)", s->path, what,
			       sqlite3_errmsg(db), rc, strerror(sqlite3_system_errno(db)));
	return err_set(code, "state file '%s': %s: %s", s->path, what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

/* ---------------------------------------------------------------- driver */

static int lite_prepare(state *s, const char *sql, bool persistent, db_stmt **out)
{
	lite_stmt *st = xcalloc(1, sizeof(*st));
	int rc = sqlite3_prepare_v3(conn(s), sql, -1, persistent ? SQLITE_PREPARE_PERSISTENT : 0, &st->st, NULL);

	if (rc != SQLITE_OK) {
		free(st);
		*out = NULL;
		return lite_fail(s, rc, "preparing a statement");
	}
	*out = &st->base;
	return 0;
}

static void lite_finalize(db_stmt *st)
{
	sqlite3_finalize(raw(st));
	free(st);
}

static void lite_reset(db_stmt *st)
{
	sqlite3_reset(raw(st));
}

static void lite_clear(db_stmt *st)
{
	sqlite3_clear_bindings(raw(st));
}

static int lite_bind_null(db_stmt *st, int i)
{
	return sqlite3_bind_null(raw(st), i);
}

static int lite_bind_i64(db_stmt *st, int i, int64_t v)
{
	return sqlite3_bind_int64(raw(st), i, v);
}

static int lite_bind_double(db_stmt *st, int i, double v)
{
	return sqlite3_bind_double(raw(st), i, v);
}

static int lite_bind_text(db_stmt *st, int i, const char *v, bool copy)
{
	return sqlite3_bind_text(raw(st), i, v, -1, copy ? SQLITE_TRANSIENT : SQLITE_STATIC);
}

static int lite_bind_blob(db_stmt *st, int i, const void *v, size_t len, bool copy)
{
	if (len > INT_MAX)
		return SQLITE_TOOBIG;
	return sqlite3_bind_blob(raw(st), i, v, (int)len, copy ? SQLITE_TRANSIENT : SQLITE_STATIC);
}

static int lite_param_count(db_stmt *st)
{
	return sqlite3_bind_parameter_count(raw(st));
}

static int lite_step(db_stmt *st)
{
	return sqlite3_step(raw(st));
}

static int lite_run_batch(db_stmt *st, size_t n, int (*bind)(db_stmt *st, size_t i, void *arg), void *arg)
{
	for (size_t i = 0; i < n; i++) {
		int rc = bind(st, i, arg);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(raw(st));
		sqlite3_reset(raw(st));
		if (rc != SQLITE_OK && rc != SQLITE_DONE)
			return rc;
	}
	return 0;
}

static bool lite_col_null(db_stmt *st, int i)
{
	return sqlite3_column_type(raw(st), i) == SQLITE_NULL;
}

static int64_t lite_col_i64(db_stmt *st, int i)
{
	return sqlite3_column_int64(raw(st), i);
}

static double lite_col_double(db_stmt *st, int i)
{
	return sqlite3_column_double(raw(st), i);
}

static const char *lite_col_text(db_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(raw(st), i);
}

static const void *lite_col_blob(db_stmt *st, int i, size_t *len)
{
	const void *v = sqlite3_column_blob(raw(st), i);

	*len = (size_t)sqlite3_column_bytes(raw(st), i);
	return v;
}

static int64_t lite_changes(state *s)
{
	return sqlite3_changes64(conn(s));
}

static int lite_exec(state *s, const char *sql)
{
	return sqlite3_exec(conn(s), sql, NULL, NULL, NULL);
}

static bool lite_idle(state *s)
{
	return sqlite3_get_autocommit(conn(s)) != 0;
}

static int lite_begin(state *s, bool write, int depth)
{
	const char *sql = depth ? "SAVEPOINT nest" : write ? "BEGIN IMMEDIATE" : "BEGIN";
	int rc = sqlite3_exec(conn(s), sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0
			       : lite_fail(s, rc, write ? "starting a write transaction" : "starting a read transaction");
}

static int lite_end(state *s, bool commit, int depth)
{
	const char *sql = depth > 1 ? (commit ? "RELEASE nest" : "ROLLBACK TO nest; RELEASE nest")
				    : (commit ? "COMMIT" : "ROLLBACK");

	return sqlite3_exec(conn(s), sql, NULL, NULL, NULL);
}

static void lite_close(state *s)
{
	if (s->version == STATE_SCHEMA_VERSION)
		(void)sqlite3_exec(conn(s), "PRAGMA optimize", NULL, NULL, NULL);
	sqlite3_close(conn(s));
	s->db = NULL;
}

const db_driver state__sqlite = {
	.name = "sqlite",
	.prepare = lite_prepare,
	.finalize = lite_finalize,
	.reset = lite_reset,
	.clear = lite_clear,
	.bind_null = lite_bind_null,
	.bind_i64 = lite_bind_i64,
	.bind_double = lite_bind_double,
	.bind_text = lite_bind_text,
	.bind_blob = lite_bind_blob,
	.param_count = lite_param_count,
	.step = lite_step,
	.run_batch = lite_run_batch,
	.col_null = lite_col_null,
	.col_i64 = lite_col_i64,
	.col_double = lite_col_double,
	.col_text = lite_col_text,
	.col_blob = lite_col_blob,
	.changes = lite_changes,
	.exec = lite_exec,
	.fail = lite_fail,
	.idle = lite_idle,
	.begin = lite_begin,
	.end = lite_end,
	.close = lite_close,
};

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
	rc = sqlite3_prepare_v2(conn(s), sql, -1, &st, NULL);
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
		return lite_fail(s, rc, "reading the journal mode");
	while (strcmp(mode, "wal") != 0) {
		rc = journal_mode(s, "PRAGMA journal_mode = WAL", mode);
		if ((rc & 0xff) == SQLITE_BUSY && waited < BUSY_TIMEOUT_MS) {
			struct timespec ts = { 0, 10 * 1000 * 1000 };
			nanosleep(&ts, NULL);
			waited += 10;
			continue;
		}
		if (rc != SQLITE_OK)
			return lite_fail(s, rc, "switching to WAL mode");
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
 * state__sqlite_open makes the file first, with its mode). */
static int open_db(state *s)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(s->path, &db, SQLITE_OPEN_READWRITE, NULL);

	s->db = db;
	if (rc != SQLITE_OK)
		return err_set(ERR_IO, "cannot open state file '%s': %s", s->path,
			       db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
	return 0;
}

/* A second connection: the file must still be there, and be at our
 * schema version; nothing is created or migrated. */
static int open_again(state *s)
{
	int rc, version = 0;

	/* open_db never creates: a file removed since is not made again */
	if ((rc = open_db(s)) != 0 || (rc = state__identify(s, &version)) != 0)
		return rc;
	if (version != STATE_SCHEMA_VERSION)
		/* another file in its place (a new one is version 0) */
		return err_set(ERR_INVALID, "state file '%s' changed since it was opened (schema version %d)",
			       s->path, version);
	s->version = version;
	return state__exec(s, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; " TUNING);
}

int state__sqlite_open(state *s, bool again, state_open_report *report)
{
	int rc, version, from = 0;

	if (again)
		return open_again(s);
	if ((rc = make_parent(s->path)) != 0 || (rc = create_file(s->path)) != 0)
		return rc;
	if ((rc = open_db(s)) != 0)
		return rc;
	/* refuse foreign and newer files before changing anything, even their
	 * mode; then narrow the mode before WAL mode creates -wal and -shm,
	 * which SQLite gives the main file's mode */
	if ((rc = state__identify(s, &version)) != 0)
		return rc;
	fix_modes(s->path, report);
	if ((rc = configure(s, report)) != 0 || (rc = state__migrate(s, version, &from)) != 0)
		return rc;
	if (from > 0 && from < STATE_SCHEMA_VERSION) {
		report->migrated_from = from;
		report->migrated_to = STATE_SCHEMA_VERSION;
	}
	return 0;
}
