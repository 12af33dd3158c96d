/*
 * status-serve.c: the daemon's HTTP server (serve/httpd.c) with one status
 * document published, for bench/status.sh: the page's cost without a
 * daemon's loop beside it, on the same code the daemon runs.
 *
 *   status-serve serve DOC.json PORT-FILE   serve 127.0.0.1:0 (the port
 *                                            written to PORT-FILE) until
 *                                            SIGTERM or SIGINT
 *   status-serve render DOC.json N [Q [STATE]]
 *                                            render / N times in-process;
 *                                            prints the page size and the
 *                                            mean microseconds per page
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "serve/serve.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int serve(const char *text, const char *port_file)
{
	httpd_opts o = {.listen = "127.0.0.1:0"};
	struct sigaction sa;
	httpd *h = NULL;
	FILE *f;
	int port = 0;

	if (httpd_start(&h, &o, &port) != 0 || httpd_set_status(h, text) != 0) {
		fprintf(stderr, "status-serve: %s\n", err_msg());
		httpd_stop(h);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (!(f = fopen(port_file, "w")) || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0) {
		fprintf(stderr, "status-serve: cannot write '%s'\n", port_file);
		httpd_stop(h);
		return 1;
	}
	while (!stop)
		pause();
	httpd_stop(h);
	return 0;
}

static int render(const char *text, size_t len, long n, const char *q, const char *state)
{
	status_doc *d = NULL;
	buf page = BUF_INIT(64 * 1024 * 1024);
	int64_t t0, t1, now = (int64_t)time(NULL);
	size_t bytes = 0;

	t0 = mono_ms();
	if (status_doc_new(&d, text, len) != 0) {
		fprintf(stderr, "status-serve: %s\n", err_msg());
		return 1;
	}
	t1 = mono_ms();
	printf("parse+index: %lld ms (%zu bytes)\n", (long long)(t1 - t0), len);
	t0 = mono_ms();
	for (long i = 0; i < n; i++) {
		buf_reset(&page);
		if (status_page_render(&page, d, q, state, now) != 0) {
			fprintf(stderr, "status-serve: %s\n", err_msg());
			status_doc_unref(d);
			buf_release(&page);
			return 1;
		}
		bytes = page.len;
	}
	t1 = mono_ms();
	printf("render: %ld pages, %zu bytes each, %.1f us per page\n", n, bytes,
	       n > 0 ? (double)(t1 - t0) * 1000.0 / (double)n : 0.0);
	status_doc_unref(d);
	buf_release(&page);
	return 0;
}

int main(int argc, char **argv)
{
	buf doc = BUF_INIT(256 * 1024 * 1024);
	int rc;

	if (argc < 4 || (strcmp(argv[1], "serve") != 0 && strcmp(argv[1], "render") != 0)) {
		fprintf(stderr, "usage: status-serve serve DOC.json PORT-FILE\n"
				"       status-serve render DOC.json N [Q [STATE]]\n");
		return 2;
	}
	if (buf_read_file(&doc, argv[2]) != 0) {
		fprintf(stderr, "status-serve: %s\n", err_msg());
		return 1;
	}
	if (strcmp(argv[1], "serve") == 0)
		rc = serve(doc.data, argv[3]);
	else
		rc = render(doc.data, doc.len, strtol(argv[3], NULL, 10), argc > 4 ? argv[4] : NULL,
			    argc > 5 ? argv[5] : NULL);
	buf_release(&doc);
	return rc;
}
