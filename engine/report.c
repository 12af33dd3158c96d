/*
 * report.c: the engine's one way out to a person. Engine code calls
 * engine__note, engine__log, engine__json and the engine__progress_*
 * functions; they hand the report to the reporter the command installed
 * (engine_set_reporter), or drop it. Keeping this in one place is what
 * lets the engine run under plan, apply, the daemon and unit tests alike.
 */
#include <stdarg.h>
#include <string.h>

#include "engine/internal.h"

static engine_reporter reporter;

void engine_set_reporter(const engine_reporter *r)
{
	if (r)
		reporter = *r;
	else
		memset(&reporter, 0, sizeof(reporter));
}

void engine__note(const char *fmt, ...)
{
	if (!reporter.event)
		return;
	buf msg = BUF_INIT(0);
	va_list ap;
	va_start(ap, fmt);
	int rc = buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	if (rc == 0) {
		engine_event e = {.kind = ENGINE_NOTE, .level = LOG_INFO, .msg = msg.data};
		reporter.event(reporter.arg, &e);
	}
	buf_release(&msg);
}

void engine__log(log_level lvl, const char *msg, ...)
{
	if (!reporter.event)
		return;
	const char *kv[LOG_FIELDS_LEN];
	va_list ap;
	va_start(ap, msg);
	log_fields_collect(kv, ap);
	va_end(ap);
	engine_event e = {.kind = ENGINE_LOG, .level = lvl, .msg = msg, .fields = kv};
	reporter.event(reporter.arg, &e);
}

void engine__json(const char *line)
{
	if (!reporter.event)
		return;
	engine_event e = {.kind = ENGINE_JSON, .level = LOG_INFO, .msg = line};
	reporter.event(reporter.arg, &e);
}

static void send_progress(engine__progress *p, engine_progress_phase phase)
{
	if (!reporter.progress)
		return;
	engine_progress r = {.phase = phase, .label = p->label, .total = p->total, .done = p->done, .eta_s = p->eta_s};
	reporter.progress(reporter.arg, &r);
}

void engine__progress_start(engine__progress *p, const char *label, int64_t total)
{
	memset(p, 0, sizeof(*p));
	p->label = label;
	p->total = total;
	send_progress(p, ENGINE_PROGRESS_START);
}

void engine__progress_update(engine__progress *p, int64_t done)
{
	p->done = done;
	if (p->label) /* never started: nothing to update (the reporter has no line for it) */
		send_progress(p, ENGINE_PROGRESS_UPDATE);
}

void engine__progress_end(engine__progress *p)
{
	send_progress(p, ENGINE_PROGRESS_END);
}
