/*
 * test-report.c: the engine's progress reports (engine/report.c): a start,
 * its updates and its end reach the reporter with the label; an update of
 * progress never started reaches nothing (the daemon's usage tier once
 * sent such updates, and the reporter drew a line without a label: a
 * crash in the daemon's log).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "engine/internal.h"

typedef struct seen {
	int n;
	engine_progress_phase phase[8];
	const char *label[8];
	int64_t done[8];
} seen;

static void on_progress(void *arg, const engine_progress *p)
{
	seen *s = arg;
	if (s->n < 8) {
		s->phase[s->n] = p->phase;
		s->label[s->n] = p->label;
		s->done[s->n] = p->done;
	}
	s->n++;
}

static void test_update_without_start(void **st)
{
	(void)st;
	seen s = {0};
	engine_reporter r = {.progress = on_progress, .arg = &s};
	engine_set_reporter(&r);
	engine__progress never = {0};
	engine__progress_update(&never, 100);
	assert_int_equal(s.n, 0);

	engine__progress p;
	engine__progress_start(&p, "usage", 300);
	engine__progress_update(&p, 100);
	engine__progress_end(&p);
	engine_set_reporter(&(engine_reporter){0});
	assert_int_equal(s.n, 3);
	assert_int_equal(s.phase[0], ENGINE_PROGRESS_START);
	assert_int_equal(s.phase[1], ENGINE_PROGRESS_UPDATE);
	assert_int_equal(s.phase[2], ENGINE_PROGRESS_END);
	for (int i = 0; i < 3; i++)
		assert_string_equal(s.label[i], "usage");
	assert_int_equal(s.done[1], 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_update_without_start),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
