/*
 * harness.c: run flotilla-sim as a child process and send it HTTP requests.
 *
 * Starting: fork, then exec $FLOTILLA_SIM on 127.0.0.1:0 with a port file
 * in a private temporary directory; a close-on-exec pipe tells the parent
 * whether the exec itself worked, and the port file (written by rename, so
 * never half) tells it the sim listens. The child's stdout goes to stderr
 * because the test's stdout is a TAP stream. Every wait polls a monotonic
 * clock against a deadline.
 *
 * Requests: one libcurl easy handle per sim, so connections are kept alive
 * between requests the way a real client keeps them. Proxies from the
 * environment are switched off and only http:// is allowed: the harness
 * only ever talks to the loopback address it started the sim on.
 *
 * The file also keeps the one copy of the plain helpers that e2e.c and the
 * e2e tests share and that need no cmocka: the monotonic clock, sleeping,
 * dotted JSON paths and the sim's date-times.
 */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "tests/sim/harness.h"

struct sim_proc {
	pid_t pid;          /* -1 once reaped */
	int status;         /* waitpid status once reaped */
	char *tmpdir;
	char *port_file;
	int port;
	char base_url[64];
	char api_url[80];
	CURL *curl;
	char errbuf[CURL_ERROR_SIZE];
	char *key;          /* NULL: no Authorization */
	char *request_id;   /* NULL: none sent */
	long timeout_ms;
	bool keepalive;
};

/* ------------------------------------------------------------------ time */

void sim_sleep_ms(int64_t ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int sim_time_parse(const char *s, int64_t *out)
{
	struct tm tm;

	*out = 0;
	memset(&tm, 0, sizeof(tm));
	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		&tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return err_set(ERR_INVALID, "not a date-time: '%s'", s ? s : "(null)");
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

void sim_time_format(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ------------------------------------------------------------- processes */

/* How a waitpid status ended, in words. */
static void describe_status(int status, char *out, size_t size)
{
	if (WIFEXITED(status))
		snprintf(out, size, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(out, size, "killed by signal %d (%s)", WTERMSIG(status),
			strsignal(WTERMSIG(status)));
	else
		snprintf(out, size, "ended with wait status %#x", (unsigned)status);
}

/* Reap the child within timeout_ms. true once reaped (s->status set). */
static bool reap(sim_proc *s, int64_t timeout_ms)
{
	int64_t deadline = mono_ms() + timeout_ms;
	pid_t r;

	if (s->pid < 0)
		return true;
	for (;;) {
		r = waitpid(s->pid, &s->status, WNOHANG);
		if (r == s->pid || (r < 0 && errno == ECHILD)) {
			if (r < 0)
				s->status = 0;
			s->pid = -1;
			return true;
		}
		if (r < 0 && errno != EINTR)
			return false;
		if (mono_ms() >= deadline)
			return false;
		sim_sleep_ms(5);
	}
}

/* "--li" is "--listen" to getopt_long, so a prefix of an option counts. */
static bool names_option(const char *arg, const char *opt)
{
	size_t n = strcspn(arg, "=");

	return n >= 3 && n <= strlen(opt) && strncmp(arg, opt, n) == 0;
}

/* The port from a complete port file, 0 while it is not there yet. */
static int read_port(const char *path)
{
	char text[32];
	ssize_t n;
	int64_t port;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0 || text[n - 1] != '\n')
		return 0;
	text[n - 1] = 0;
	if (str_to_i64(text, &port) < 0 || port <= 0 || port > 65535)
		return -1;
	return (int)port;
}

static void remove_tmpdir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char *p;

	if (d) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			p = xasprintf("%s/%s", dir, e->d_name);
			unlink(p);
			free(p);
		}
		closedir(d);
	}
	rmdir(dir);
}

int sim_dir_new(char **out)
{
	const char *tmp = getenv("TMPDIR");
	char *dir = xasprintf("%s/flotilla-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");

	*out = NULL;
	if (!mkdtemp(dir)) {
		int rc = err_set(ERR_IO, "'%s': cannot make a directory: %s", dir, strerror(errno));

		free(dir);
		return rc;
	}
	*out = dir;
	return 0;
}

void sim_dir_remove(char *dir)
{
	if (!dir)
		return;
	remove_tmpdir(dir);
	free(dir);
}

static bool curl_ready(void)
{
	static bool done, ok;

	/* thread-safe in the libcurl we build against (>= 7.84); tests that
	 * start sims from threads are not supported anyway */
	if (!done) {
		ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
		done = true;
	}
	return ok;
}

static size_t on_body(char *data, size_t size, size_t n, void *ud);
static size_t on_header(char *data, size_t size, size_t n, void *ud);

/* A fresh easy handle with the options every request shares. */
static CURL *make_curl(sim_proc *s)
{
	CURL *c = curl_easy_init();

	if (!c)
		return NULL;
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, s->errbuf);
	/* loopback only: no proxy from the environment, no other scheme */
	curl_easy_setopt(c, CURLOPT_PROXY, "");
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTP);
#endif
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	return c;
}

int sim_start(sim_proc **out, const char *const *extra_args)
{
	const char *bin = getenv("FLOTILLA_SIM");
	const char *tmp = getenv("TMPDIR");
	sim_proc *s = NULL;
	char **argv = NULL;
	char how[128];
	size_t nextra = 0, i, n;
	int pipefd[2] = { -1, -1 };
	int rc, child_errno = 0, port = 0, fd;
	long max_fd;
	int64_t deadline;
	pid_t parent;
	struct pollfd pfd;

	*out = NULL;
	if (!bin || !*bin)
		return err_set(ERR_NOTFOUND, "FLOTILLA_SIM is not set");
	if (access(bin, X_OK) != 0)
		return err_set(ERR_NOTFOUND, "'%s': not executable: %s", bin, strerror(errno));
	for (nextra = 0; extra_args && extra_args[nextra]; nextra++) {
		if (names_option(extra_args[nextra], "--listen") ||
		    names_option(extra_args[nextra], "--port-file"))
			return err_set(ERR_INVALID, "extra argument '%s': the harness owns "
				"--listen and --port-file", extra_args[nextra]);
	}
	if (!curl_ready())
		return err_set(ERR_FAIL, "curl_global_init failed");

	s = xcalloc(1, sizeof(*s));
	s->pid = -1;
	s->timeout_ms = SIM_REQUEST_TIMEOUT_MS;
	s->keepalive = true;
	s->key = xstrdup(SIM_DEFAULT_KEY);
	s->tmpdir = xasprintf("%s/flotilla-sim-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(s->tmpdir)) {
		rc = err_set(ERR_IO, "'%s': cannot make a directory: %s", s->tmpdir, strerror(errno));
		free(s->tmpdir);
		s->tmpdir = NULL;
		goto done;
	}
	s->port_file = xasprintf("%s/port", s->tmpdir);

	/* everything the child needs is built before fork: after it, only
	 * async-signal-safe calls */
	n = 0;
	argv = xcalloc(nextra + 8, sizeof(*argv));
	argv[n++] = (char *)bin;
	argv[n++] = (char *)"--listen";
	argv[n++] = (char *)"127.0.0.1:0";
	argv[n++] = (char *)"--port-file";
	argv[n++] = s->port_file;
	argv[n++] = (char *)"--quiet";
	for (i = 0; i < nextra; i++)
		argv[n++] = (char *)extra_args[i];
	argv[n] = NULL;
	max_fd = sysconf(_SC_OPEN_MAX);
	if (max_fd < 0 || max_fd > 4096)
		max_fd = 4096;
	if (pipe(pipefd) != 0 || fcntl(pipefd[0], F_SETFD, FD_CLOEXEC) != 0 ||
	    fcntl(pipefd[1], F_SETFD, FD_CLOEXEC) != 0) {
		rc = err_set(ERR_IO, "pipe: %s", strerror(errno));
		goto done;
	}
	parent = getpid();
	fflush(NULL);
	s->pid = fork();
	if (s->pid < 0) {
		rc = err_set(ERR_IO, "fork: %s", strerror(errno));
		goto done;
	}
	if (s->pid == 0) {
		int e;

#ifdef __linux__
		/* no sim outlives a test that crashed or was killed by meson */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
		if (getppid() != parent)
			_exit(126);
		fd = open("/dev/null", O_RDONLY);
		if (fd >= 0 && fd != 0) {
			dup2(fd, 0);
			close(fd);
		}
		/* the test's stdout is TAP: whatever the sim prints goes to stderr */
		dup2(2, 1);
		/* no sockets of other sims or curl handles leak into this one */
		for (fd = 3; fd < max_fd; fd++) {
			if (fd != pipefd[1])
				close(fd);
		}
		execv(bin, argv);
		e = errno;
		if (write(pipefd[1], &e, sizeof(e)) < 0) {
			/* nothing left to tell it with */
		}
		_exit(127);
	}
	close(pipefd[1]);
	pipefd[1] = -1;

	/* the pipe closes on a successful exec, or brings the exec's errno */
	deadline = mono_ms() + SIM_START_TIMEOUT_MS;
	pfd.fd = pipefd[0];
	pfd.events = POLLIN;
	for (;;) {
		int64_t left = deadline - mono_ms();
		int pr = poll(&pfd, 1, left > 0 ? (int)left : 0);

		if (pr < 0 && errno == EINTR)
			continue;
		if (pr > 0) {
			ssize_t got = read(pipefd[0], &child_errno, sizeof(child_errno));

			if (got < 0 && errno == EINTR)
				continue;
			if (got != (ssize_t)sizeof(child_errno))
				child_errno = 0;
		}
		break;
	}
	if (child_errno) {
		reap(s, 1000);
		rc = err_set(ERR_FAIL, "cannot run '%s': %s", bin, strerror(child_errno));
		goto done;
	}

	while ((port = read_port(s->port_file)) == 0) {
		if (reap(s, 0)) {
			describe_status(s->status, how, sizeof(how));
			rc = err_set(ERR_FAIL, "flotilla-sim %s before it listened", how);
			goto done;
		}
		if (mono_ms() >= deadline) {
			rc = err_set(ERR_FAIL, "flotilla-sim wrote no port file within %d ms",
				SIM_START_TIMEOUT_MS);
			goto done;
		}
		sim_sleep_ms(10);
	}
	if (port < 0) {
		rc = err_set(ERR_FAIL, "'%s': not a port number", s->port_file);
		goto done;
	}
	s->port = port;
	snprintf(s->base_url, sizeof(s->base_url), "http://127.0.0.1:%d", port);
	snprintf(s->api_url, sizeof(s->api_url), "%s/api/v2", s->base_url);
	s->curl = make_curl(s);
	if (!s->curl) {
		rc = err_set(ERR_FAIL, "curl_easy_init failed");
		goto done;
	}
	*out = s;
	s = NULL;
	rc = 0;
done:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	free(argv);
	sim_free(s);
	return rc;
}

/* Send `sig` unless already reaped; then reap within timeout_ms. */
static bool signal_and_reap(sim_proc *s, int sig, int64_t timeout_ms)
{
	if (s->pid < 0)
		return true;
	if (kill(s->pid, sig) != 0 && errno != ESRCH)
		return false;
	return reap(s, timeout_ms);
}

int sim_stop(sim_proc *s, int *status)
{
	char how[128];

	if (status)
		*status = 0;
	if (!signal_and_reap(s, SIGTERM, SIM_STOP_TIMEOUT_MS)) {
		signal_and_reap(s, SIGKILL, 5000);
		if (status)
			*status = s->status;
		return err_set(ERR_FAIL, "flotilla-sim did not exit within %d ms of SIGTERM; killed",
			SIM_STOP_TIMEOUT_MS);
	}
	if (status)
		*status = s->status;
	if (WIFEXITED(s->status) && WEXITSTATUS(s->status) == 0)
		return 0;
	describe_status(s->status, how, sizeof(how));
	return err_set(ERR_FAIL, "flotilla-sim %s", how);
}

int sim_kill(sim_proc *s, int *status)
{
	bool ok = signal_and_reap(s, SIGKILL, 5000);

	if (status)
		*status = s->status;
	return ok ? 0 : err_set(ERR_FAIL, "flotilla-sim (pid %ld) survived SIGKILL for 5 s",
		(long)s->pid);
}

void sim_free(sim_proc *s)
{
	if (!s)
		return;
	signal_and_reap(s, SIGKILL, 5000);
	if (s->curl)
		curl_easy_cleanup(s->curl);
	if (s->tmpdir)
		remove_tmpdir(s->tmpdir);
	free(s->tmpdir);
	free(s->port_file);
	free(s->key);
	free(s->request_id);
	free(s);
}

const char *sim_base_url(const sim_proc *s)
{
	return s->base_url;
}

const char *sim_api_url(const sim_proc *s)
{
	return s->api_url;
}

int sim_port(const sim_proc *s)
{
	return s->port;
}

long sim_pid(const sim_proc *s)
{
	return (long)s->pid;
}

const char *sim_tmpdir(const sim_proc *s)
{
	return s->tmpdir;
}

void sim_set_key(sim_proc *s, const char *key)
{
	free(s->key);
	s->key = key ? xstrdup(key) : NULL;
}

void sim_set_request_id(sim_proc *s, const char *id)
{
	free(s->request_id);
	s->request_id = id ? xstrdup(id) : NULL;
}

void sim_set_timeout_ms(sim_proc *s, long ms)
{
	s->timeout_ms = ms > 0 ? ms : SIM_REQUEST_TIMEOUT_MS;
}

void sim_set_keepalive(sim_proc *s, bool on)
{
	s->keepalive = on;
}

/* -------------------------------------------------------------- requests */

void sim_response_release(sim_response *r)
{
	buf_release(&r->body);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
	r->retry_after_s = -1;
	buf_init(&r->body, SIM_MAX_BODY);
}

typedef struct xfer {
	sim_response *out;
	bool toobig;
} xfer;

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
	xfer *x = ud;

	if (buf_add(&x->out->body, data, size * n) < 0) {
		x->toobig = true;
		return 0;   /* makes libcurl stop with CURLE_WRITE_ERROR */
	}
	return size * n;
}

/* When the header line is "name: value", copy the trimmed value. */
static void header_value(const char *line, size_t len, const char *name, char *out,
	size_t size)
{
	size_t nl = strlen(name), end;
	const char *v;

	if (len <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
		return;
	v = line + nl + 1;
	end = len - nl - 1;
	while (end && (*v == ' ' || *v == '\t')) {
		v++;
		end--;
	}
	while (end && (v[end - 1] == '\r' || v[end - 1] == '\n' || v[end - 1] == ' '))
		end--;
	if (end >= size)
		end = size - 1;
	memcpy(out, v, end);
	out[end] = 0;
}

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
	xfer *x = ud;
	sim_response *r = x->out;
	size_t len = size * n;

	if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		/* a new response (after a 1xx): forget the last one's headers */
		r->request_id[0] = r->retry_after[0] = r->content_type[0] = 0;
		return len;
	}
	header_value(data, len, "X-Request-Id", r->request_id, sizeof(r->request_id));
	header_value(data, len, "Retry-After", r->retry_after, sizeof(r->retry_after));
	header_value(data, len, "Content-Type", r->content_type, sizeof(r->content_type));
	return len;
}

/* "application/json", "application/problem+json; charset=utf-8", … */
static bool is_json_type(const char *ct)
{
	for (; *ct; ct++) {
		if (strncasecmp(ct, "json", 4) == 0)
			return true;
	}
	return false;
}

static void parse_body(sim_response *r)
{
	json_error_t jerr;
	bool json_type = is_json_type(r->content_type);
	int64_t secs;

	if (r->retry_after[0] && str_to_i64(r->retry_after, &secs) == 0 && secs >= 0)
		r->retry_after_s = (long)secs;
	if (!json_type && (r->content_type[0] || r->body.len == 0))
		return;
	if (r->body.len == 0) {
		str_copy(r->json_error, "empty body", sizeof(r->json_error));
		return;
	}
	r->json = json_loadb(r->body.data, r->body.len,
		JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!r->json)
		snprintf(r->json_error, sizeof(r->json_error), "line %d column %d: %s",
			jerr.line, jerr.column, jerr.text);
}

int sim_request(sim_proc *s, const char *method, const char *path,
	const char *json_body, sim_response *out)
{
	struct curl_slist *headers = NULL;
	char *url = NULL, *h;
	xfer x = { out, false };
	CURL *c = s->curl;
	CURLcode cc;
	int rc;

	memset(out, 0, sizeof(*out));
	out->retry_after_s = -1;
	buf_init(&out->body, SIM_MAX_BODY);
	if (!path || path[0] != '/')
		return err_set(ERR_INVALID, "path '%s' does not start with '/'", path ? path : "");

	url = xasprintf("%s%s", s->base_url, path);
	headers = curl_slist_append(headers, "Accept: application/json");
	/* no "Expect: 100-continue" round trip for larger bodies */
	headers = curl_slist_append(headers, "Expect:");
	if (json_body)
		headers = curl_slist_append(headers, "Content-Type: application/json");
	if (s->key) {
		h = xasprintf("Authorization: Bearer %s", s->key);
		headers = curl_slist_append(headers, h);
		free(h);
	}
	if (s->request_id) {
		h = xasprintf("X-Request-Id: %s", s->request_id);
		headers = curl_slist_append(headers, h);
		free(h);
	}
	if (!headers) {
		rc = err_set(ERR_FAIL, "curl_slist_append failed");
		goto done;
	}

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, s->timeout_ms);
	curl_easy_setopt(c, CURLOPT_FORBID_REUSE, s->keepalive ? 0L : 1L);
	curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, s->keepalive ? 0L : 1L);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
	/* back to a plain GET first: the handle remembers the last request */
	curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
	curl_easy_setopt(c, CURLOPT_NOBODY, 0L);
	if (json_body || strcmp(method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, json_body ? json_body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, json_body ? (long)strlen(json_body) : 0L);
		if (strcmp(method, "POST") != 0)
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	} else if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}

	s->errbuf[0] = 0;
	cc = curl_easy_perform(c);
	if (x.toobig) {
		rc = err_set(ERR_TOOBIG, "%s %s: the response body is larger than %u bytes",
			method, path, SIM_MAX_BODY);
		goto done;
	}
	if (cc != CURLE_OK) {
		out->curl_code = (int)cc;
		str_copy(out->error, s->errbuf[0] ? s->errbuf : curl_easy_strerror(cc),
			sizeof(out->error));
		rc = err_set(ERR_IO, "%s %s: %s (curl error %d)", method, path, out->error, (int)cc);
		goto done;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	parse_body(out);
	rc = 0;
done:
	/* the handle must not keep pointers into this call's memory */
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, NULL);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, NULL);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
	curl_slist_free_all(headers);
	free(url);
	return rc;
}

/* ---------------------------------------------------------------- helpers */

/* Whether op has yet to end; with `failed_too`, a failed operation (which
 * Neon retries) has not ended either. */
static bool op_unfinished(const json_t *op, bool failed_too)
{
	const char *st = json_string_value(json_object_get(op, "status"));

	return st && (strcmp(st, "scheduling") == 0 || strcmp(st, "running") == 0 ||
		      strcmp(st, "cancelling") == 0 || (failed_too && strcmp(st, "failed") == 0));
}

static int wait_ops(sim_proc *s, const char *project_id, int timeout_ms, bool failed_too)
{
	int64_t deadline = mono_ms() + (timeout_ms > 0 ? timeout_ms : 0), left, wait;
	long saved_timeout = s->timeout_ms;
	char *escaped = curl_easy_escape(s->curl, project_id, 0);
	char *path = NULL;
	char last[320] = "no answer yet";
	sim_response r = { 0 };
	int rc, interval = 10;
	size_t i, unfinished;
	const json_t *op;

	if (!escaped)
		return err_set(ERR_FAIL, "curl_easy_escape failed");
	path = xasprintf("/api/v2/projects/%s/operations?limit=1000", escaped);
	buf_init(&r.body, SIM_MAX_BODY);
	for (;;) {
		sim_response_release(&r);
		left = deadline - mono_ms();
		/* the poll itself stays inside the deadline too */
		s->timeout_ms = left > 50 ? (long)left : 50;
		rc = sim_request(s, "GET", path, NULL, &r);
		wait = interval;
		if (rc == ERR_IO) {
			snprintf(last, sizeof(last), "%s", r.error);
		} else if (rc < 0) {
			snprintf(last, sizeof(last), "%s", err_msg());
		} else if (r.status == 200 && json_is_object(r.json)) {
			unfinished = 0;
			json_array_foreach(json_object_get(r.json, "operations"), i, op)
				unfinished += op_unfinished(op, failed_too);
			if (!json_is_array(json_object_get(r.json, "operations"))) {
				snprintf(last, sizeof(last), "200 without an operations array");
			} else if (unfinished == 0) {
				rc = 0;
				goto done;
			} else {
				snprintf(last, sizeof(last), "%zu operation%s unfinished", unfinished,
					unfinished == 1 ? "" : "s");
			}
		} else if (r.status == 404) {
			rc = err_set(ERR_NOTFOUND, "GET %s: 404: %.200s", path,
				json_string_value(json_object_get(r.json, "message"))
				? json_string_value(json_object_get(r.json, "message")) : "not found");
			goto done;
		} else if (r.status >= 400 && r.status < 500 && r.status != 423 && r.status != 429) {
			rc = err_set(ERR_FAIL, "GET %s: status %ld: %.200s", path, r.status,
				r.body.data ? r.body.data : "");
			goto done;
		} else {
			if (r.status == 429 && r.retry_after_s >= 0 && r.retry_after_s * 1000 > wait)
				wait = (int64_t)r.retry_after_s * 1000;
			snprintf(last, sizeof(last), "status %ld%s%s", r.status,
				r.json_error[0] ? ": " : "", r.json_error);
		}
		left = deadline - mono_ms();
		if (left <= 0) {
			rc = err_set(ERR_FAIL, "project '%s': operations not done within %d ms: %s",
				project_id, timeout_ms, last);
			goto done;
		}
		sim_sleep_ms(wait < left ? wait : left);
		if (interval < 100)
			interval *= 2;
	}
done:
	s->timeout_ms = saved_timeout;
	sim_response_release(&r);
	curl_free(escaped);
	free(path);
	return rc;
}

int sim_wait_ops(sim_proc *s, const char *project_id, int timeout_ms)
{
	return wait_ops(s, project_id, timeout_ms, false);
}

int sim_wait_ops_ended(sim_proc *s, const char *project_id, int timeout_ms)
{
	return wait_ops(s, project_id, timeout_ms, true);
}

json_t *sim_json_get(json_t *root, const char *path)
{
	char key[160];
	json_t *cur = root;

	while (cur && *path) {
		size_t n = strcspn(path, ".");

		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = 0;
		if (json_is_array(cur)) {
			char *end;
			unsigned long i = strtoul(key, &end, 10);

			cur = *end ? NULL : json_array_get(cur, i);
		} else {
			cur = json_object_get(cur, key);
		}
		path += n;
		if (*path == '.')
			path++;
	}
	return cur;
}

/* A control-plane call that wants 200; the response is left in `r`. */
static int control(sim_proc *s, const char *method, const char *path, const char *body,
	sim_response *r)
{
	int rc = sim_request(s, method, path, body, r);

	if (rc < 0)
		return rc;
	if (r->status != 200)
		return err_set(ERR_FAIL, "%s %s: status %ld: %.200s", method, path, r->status,
			r->body.data ? r->body.data : "");
	return 0;
}

int sim_stats(sim_proc *s, json_t **out)
{
	sim_response r;
	int rc;

	*out = NULL;
	rc = control(s, "GET", "/__sim/stats", NULL, &r);
	if (rc == 0 && !json_is_object(r.json))
		rc = err_set(ERR_FAIL, "GET /__sim/stats: not a JSON object: %s",
			r.json_error[0] ? r.json_error : "wrong type");
	if (rc == 0) {
		*out = r.json;
		r.json = NULL;
	}
	sim_response_release(&r);
	return rc;
}

int sim_set_faults(sim_proc *s, const char *json)
{
	sim_response r;
	int rc = control(s, "POST", "/__sim/faults", json, &r);

	sim_response_release(&r);
	return rc;
}

int sim_reset(sim_proc *s)
{
	sim_response r;
	int rc = control(s, "POST", "/__sim/reset", NULL, &r);

	sim_response_release(&r);
	return rc;
}
