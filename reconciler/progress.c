/*
 * progress.c: progress of long work (a refresh of 300,000 projects). On a
 * terminal, one line redrawn in place: done/total, rate and ETA. Otherwise
 * (CI, the daemon), a log line every few seconds, so logs stay readable.
 */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "reconciler/reconciler.h"

#define LOG_EVERY_MS 5000

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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
	char total[32] = "";
	if (p->total > 0)
		snprintf(total, sizeof(total), "/%lld", (long long)p->total);
	if (p->tty) {
		fprintf(stderr, "\r%s: %lld%s, %.0f/s%s%s", p->label, (long long)p->done, total, rate, eta,
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
	int64_t now = mono_ms();
	if (p->tty ? now - p->last_ms >= 100 : now - p->last_ms >= LOG_EVERY_MS)
		render(p, false);
}

void progress_end(progress *p)
{
	if (p->tty || p->done > 0)
		render(p, true);
}
