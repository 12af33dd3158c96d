/*
 * progress.c: what a command shows of the engine's work. Progress of long
 * work (a refresh of 300,000 projects): on a terminal, one line redrawn in
 * place: done/total, rate and ETA; otherwise (CI, the daemon), a log line
 * every few seconds, so logs stay readable. And the engine's reporter:
 * notes as "CMD: …" on stderr, log events to the log, apply's JSON events
 * on stdout.
 */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "reconciler/reconciler.h"

#define LOG_EVERY_MS 5000

void progress_start(progress *p, const char *label, int64_t total)
{
	memset(p, 0, sizeof(*p));
	p->label = label;
	p->total = total;
	p->tty = isatty(STDERR_FILENO) == 1;
	p->start_ms = mono_ms();
	p->last_ms = p->start_ms;
}

static void render(progress *p, bool final)
{
	int64_t now = mono_ms();
	double secs = (double)(now - p->start_ms) / 1000.0;
	double rate = secs > 0 ? (double)p->done / secs : 0;
	char eta[32] = "";
	if (!final && p->total > p->done && p->eta_s > 0)
		snprintf(eta, sizeof(eta), ", ETA %.0fs", p->eta_s);
	else if (!final && p->total > p->done && rate > 0)
		snprintf(eta, sizeof(eta), ", ETA %.0fs", (double)(p->total - p->done) / rate);
	char total[48] = "";
	if (p->total > 0)
		snprintf(total, sizeof(total), "/%lld", (long long)p->total);
	if (p->tty) {
		/* for people: "1,200/2,000"; the log line below keeps plain digits */
		char people[48] = "";
		if (p->total > 0)
			snprintf(people, sizeof(people), "/%s", CLI_N(p->total));
		fprintf(stderr, "\r%s: %s%s, %.0f/s%s%s", p->label, CLI_N(p->done), people, rate, eta,
			final ? "\n" : "\033[K");
		fflush(stderr);
	} else {
		char done[32], r[32];
		snprintf(done, sizeof(done), "%lld%s", (long long)p->done, total);
		snprintf(r, sizeof(r), "%.0f", rate);
		log_info(p->label, "done", done, "per_second", r, "eta", eta[0] ? eta + 6 : "-");
	}
	p->last_ms = now;
}

void progress_update(progress *p, int64_t done)
{
	p->done = done;
	if (!p->label) /* an update before any start */
		return;
	int64_t now = mono_ms();
	if (p->tty ? now - p->last_ms >= 100 : now - p->last_ms >= LOG_EVERY_MS)
		render(p, false);
}

void progress_end(progress *p)
{
	if (p->tty || p->done > 0)
		render(p, true);
}

/* ------------------------------------------------------- the reporter */

static struct {
	const char *cmd;
	progress cur;
} rep;

static void on_event(void *arg, const engine_event *e)
{
	(void)arg;
	switch (e->kind) {
	case ENGINE_NOTE:
		fprintf(stderr, "%s: %s\n", rep.cmd, e->msg);
		break;
	case ENGINE_LOG:
		log_eventv(e->level, e->msg, e->fields);
		break;
	case ENGINE_JSON:
		printf("%s\n", e->msg);
		break;
	}
}

static void on_progress(void *arg, const engine_progress *p)
{
	(void)arg;
	switch (p->phase) {
	case ENGINE_PROGRESS_START:
		progress_start(&rep.cur, p->label, p->total);
		break;
	case ENGINE_PROGRESS_UPDATE:
		rep.cur.eta_s = p->eta_s;
		progress_update(&rep.cur, p->done);
		break;
	case ENGINE_PROGRESS_END:
		rep.cur.done = p->done;
		progress_end(&rep.cur);
		break;
	}
}

void cli_report_install(const char *cmd)
{
	rep.cmd = cmd;
	engine_reporter r = {.event = on_event, .progress = on_progress};
	engine_set_reporter(&r);
}
