/*
 * test-notify.c: unit tests for the daemon's notifier (serve/notify.c)
 * against a real flotilla-sim on loopback, whose /__sim/notify is a
 * webhook receiver that stores what it gets and can be told to refuse the
 * next posts (sim/CONTRACT.md). Messages are counted at the receiver, and
 * every wait polls for a condition with a generous bound: nothing here
 * asserts on how long anything took. Skipped when FLOTILLA_SIM is not set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/serve.h"
#include "tests/sim/harness.h"

/* The bound on every wait for a condition: far above what it takes, so
 * that only a condition that never comes fails. */
#define WAIT_MS 30000

typedef struct fixture {
	sim_proc *sim;
	notifier *n;    /* stopped by teardown when a test fails first */
	char url[256];  /* the sim's receiver */
} fixture;

/* ----------------------------------------------------------- helpers */

static void sim_post(fixture *f, const char *path, const char *json)
{
	sim_response r;

	assert_int_equal(sim_request(f->sim, "POST", path, json, &r), 0);
	assert_int_equal(r.status, 200);
	sim_response_release(&r);
}

/* GET /__sim/notify: the bodies received (a new reference), and the
 * posts answered. */
static json_t *received(fixture *f, int64_t *attempts)
{
	sim_response r;
	json_t *list;

	assert_int_equal(sim_request(f->sim, "GET", "/__sim/notify", NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(r.json);
	list = json_object_get(r.json, "received");
	assert_true(json_is_array(list));
	assert_int_equal(json_integer_value(json_object_get(r.json, "count")), json_array_size(list));
	if (attempts)
		*attempts = json_integer_value(json_object_get(r.json, "attempts"));
	json_incref(list);
	sim_response_release(&r);
	return list;
}

/* Poll the receiver until it holds `want` bodies; they are returned. */
static json_t *wait_received(fixture *f, size_t want)
{
	int64_t until = mono_ms() + WAIT_MS;

	for (;;) {
		json_t *list = received(f, NULL);

		if (json_array_size(list) >= want)
			return list;
		json_decref(list);
		if (mono_ms() > until)
			fail_msg("the receiver did not get %zu messages", want);
		sim_sleep_ms(10);
	}
}

/* Poll the notifier until sent + failed reaches `done` and nothing is
 * queued. */
static void wait_done(fixture *f, int64_t done, notify_stats *st)
{
	int64_t until = mono_ms() + WAIT_MS;

	for (;;) {
		notifier_stats(f->n, st);
		if (st->sent + st->failed >= done && st->queued == 0)
			return;
		if (mono_ms() > until)
			fail_msg("the notifier did not finish %" PRId64 " messages", done);
		sim_sleep_ms(10);
	}
}

static void start(fixture *f, const notify_opts *o)
{
	assert_int_equal(notifier_start(&f->n, o), 0);
	assert_non_null(f->n);
}

static const char *body_str(json_t *list, size_t i, const char *key)
{
	const char *s = json_string_value(json_object_get(json_array_get(list, i), key));

	assert_non_null(s);
	return s;
}

static json_int_t body_int(json_t *list, size_t i, const char *key)
{
	json_t *v = json_object_get(json_array_get(list, i), key);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

/* Options for the sim's receiver: short waits so retries go fast. */
static notify_opts opts(fixture *f, int64_t min_interval_ms)
{
	notify_opts o = NOTIFY_OPTS_INIT;

	o.url = f->url;
	o.min_interval_ms = min_interval_ms;
	o.retry_base_ms = 20;
	o.timeout_ms = 10000;
	return o;
}

/* ------------------------------------------------------------ fixture */

static int group_setup(void **state)
{
	fixture *f = xcalloc(1, sizeof(*f));

	if (sim_start(&f->sim, NULL) != 0) {
		fprintf(stderr, "cannot start the sim: %s\n", err_msg());
		free(f);
		return -1;
	}
	snprintf(f->url, sizeof(f->url), "%s/__sim/notify", sim_base_url(f->sim));
	*state = f;
	return 0;
}

static int group_teardown(void **state)
{
	fixture *f = *state;
	int rc = sim_stop(f->sim, NULL);

	sim_free(f->sim);
	free(f);
	return rc == 0 ? 0 : -1;
}

static int setup(void **state)
{
	fixture *f = *state;

	f->n = NULL;
	return sim_reset(f->sim) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	fixture *f = *state;

	notifier_stop(f->n, 0);
	f->n = NULL;
	log_setup(LOG_INFO, LOG_HUMAN, stderr);
	return 0;
}

/* -------------------------------------------------------------- tests */

/* One event, one message: Slack's text (its & < > escaped), the kind, the
 * fleet and the event as given. */
static void test_one_event(void **state)
{
	fixture *f = *state;
	notify_opts o = opts(f, 200);
	notify_stats st;
	json_t *list;

	o.fleet = "prod";
	start(f, &o);
	notify_post(f->n, "drift", "tenant 'acme': quota 10GB in git, 20GB live <!channel> & co");
	list = wait_received(f, 1);
	assert_string_equal(body_str(list, 0, "text"),
			    "flotilla (prod): drift found: tenant 'acme': quota 10GB in git, 20GB live "
			    "&lt;!channel&gt; &amp; co");
	assert_string_equal(body_str(list, 0, "kind"), "drift");
	assert_string_equal(body_str(list, 0, "fleet"), "prod");
	assert_int_equal(body_int(list, 0, "count"), 1);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(json_array_get(list, 0), "events"), 0), "text")),
			    "tenant 'acme': quota 10GB in git, 20GB live <!channel> & co");
	json_decref(list);
	wait_done(f, 1, &st);
	assert_int_equal(st.sent, 1);
	assert_int_equal(st.failed, 0);
	assert_int_equal(st.attempts, 1);
	assert_int_equal(st.coalesced, 0);
}

/* The first event goes at once; a burst within the interval after it
 * goes as one message, listing 20 events and "and 5 more". The interval
 * is 1 s so that the burst, 25 calls in a row, surely lands inside it. */
static void test_coalesce(void **state)
{
	fixture *f = *state;
	notify_opts o = opts(f, 1000);
	notify_stats st;
	int64_t attempts;
	json_t *list, *events;
	char text[64];

	start(f, &o);
	notify_post(f->n, "apply_failed", "tenant 'a0': 422 quota exceeded");
	json_decref(wait_received(f, 1));
	for (int i = 1; i <= 25; i++) {
		snprintf(text, sizeof(text), "tenant 'a%d': differs", i);
		notify_post(f->n, i % 2 ? "drift" : "blocked", text);
	}
	list = wait_received(f, 2);
	wait_done(f, 2, &st);
	json_decref(list);
	list = received(f, &attempts);
	assert_int_equal(json_array_size(list), 2);
	assert_int_equal(attempts, 2);
	assert_string_equal(body_str(list, 0, "text"), "flotilla: apply failed: tenant 'a0': 422 quota exceeded");
	assert_int_equal(body_int(list, 1, "count"), 25);
	assert_string_equal(body_str(list, 1, "kind"), "mixed");
	assert_true(str_has_prefix(body_str(list, 1, "text"),
				   "flotilla: 25 events\n\xe2\x80\xa2 drift found: tenant 'a1': differs\n"
				   "\xe2\x80\xa2 tenant blocked: tenant 'a2': differs\n"));
	assert_non_null(strstr(body_str(list, 1, "text"), "tenant 'a20': differs\nand 5 more"));
	assert_null(strstr(body_str(list, 1, "text"), "'a21'"));
	events = json_object_get(json_array_get(list, 1), "events");
	assert_int_equal(json_array_size(events), 20);
	json_decref(list);
	assert_int_equal(st.sent, 2);
	assert_int_equal(st.coalesced, 24);
	assert_int_equal(st.dropped, 0);
}

/* Two 503s, then the third attempt is delivered: one message. */
static void test_retry_5xx(void **state)
{
	fixture *f = *state;
	notify_opts o = opts(f, 200);
	notify_stats st;
	int64_t attempts;

	sim_post(f, "/__sim/notify/fail", "{\"status\": 503, \"count\": 2}");
	start(f, &o);
	notify_post(f->n, "blocked", "tenant 'b': blocked by a failed create");
	json_decref(wait_received(f, 1));
	wait_done(f, 1, &st);
	json_decref(received(f, &attempts));
	assert_int_equal(attempts, 3);
	assert_int_equal(st.sent, 1);
	assert_int_equal(st.failed, 0);
	assert_int_equal(st.attempts, 3);
}

/* A 429 is retried after its Retry-After; messages keep their order. */
static void test_retry_after(void **state)
{
	fixture *f = *state;
	notify_opts o = opts(f, 200);
	notify_stats st;
	int64_t attempts;
	json_t *list;

	sim_post(f, "/__sim/notify/fail", "{\"status\": 429, \"count\": 1, \"retry_after\": 1}");
	start(f, &o);
	notify_post(f->n, "drift", "first");
	json_decref(wait_received(f, 1));
	notify_post(f->n, "drift", "second");
	list = wait_received(f, 2);
	wait_done(f, 2, &st);
	assert_string_equal(body_str(list, 0, "text"), "flotilla: drift found: first");
	assert_string_equal(body_str(list, 1, "text"), "flotilla: drift found: second");
	json_decref(list);
	json_decref(received(f, &attempts));
	assert_int_equal(attempts, 3);
	assert_int_equal(st.sent, 2);
	assert_int_equal(st.attempts, 3);
}

/* A 400 is final: one attempt, counted failed, logged once with the
 * origin only (the query and path are the secret). */
static void test_400_not_retried(void **state)
{
	fixture *f = *state;
	notify_opts o = opts(f, 200);
	notify_stats st;
	int64_t attempts;
	char url[300], origin[64], *log;
	FILE *lf = tmpfile();

	assert_non_null(lf);
	log_setup(LOG_DEBUG, LOG_JSON, lf);
	snprintf(url, sizeof(url), "%s?token=SECRET123", f->url);
	snprintf(origin, sizeof(origin), "http://127.0.0.1:%d", sim_port(f->sim));
	o.url = url;
	sim_post(f, "/__sim/notify/fail", "{\"status\": 400, \"count\": 3}");
	start(f, &o);
	notify_post(f->n, "apply_failed", "tenant 'c': 500 internal error");
	wait_done(f, 1, &st);
	assert_int_equal(st.sent, 0);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.attempts, 1);
	json_decref(received(f, &attempts));
	assert_int_equal(attempts, 1);
	notifier_stop(f->n, 1000);
	f->n = NULL;
	log_setup(LOG_INFO, LOG_HUMAN, stderr);

	log = xcalloc(1, 65536);
	rewind(lf);
	size_t got = fread(log, 1, 65535, lf);
	assert_true(got > 0);
	fclose(lf);
	assert_non_null(strstr(log, "notification not delivered"));
	assert_non_null(strstr(log, origin));
	assert_non_null(strstr(log, "\"status\":\"400\""));
	assert_null(strstr(log, "SECRET123"));
	assert_null(strstr(log, "__sim"));
	assert_null(strstr(strstr(log, "notification not delivered") + 1, "notification not delivered"));
	free(log);
}

/* 503 every time: max_attempts attempts, then failed. */
static void test_attempts_run_out(void **state)
{
	fixture *f = *state;
	notify_opts o = opts(f, 200);
	notify_stats st;
	int64_t attempts;

	o.max_attempts = 3;
	sim_post(f, "/__sim/notify/fail", "{\"status\": 503, \"count\": 100}");
	start(f, &o);
	notify_post(f->n, "drift", "x");
	wait_done(f, 1, &st);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.attempts, 3);
	json_decref(received(f, &attempts));
	assert_int_equal(attempts, 3);
}

/* Nothing listens: transport errors are retried, then it fails. */
static void test_transport_error(void **state)
{
	fixture *f = *state;
	notify_opts o = opts(f, 200);
	notify_stats st;

	o.url = "http://127.0.0.1:1/hook";
	o.max_attempts = 2;
	start(f, &o);
	notify_post(f->n, "drift", "x");
	wait_done(f, 1, &st);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.attempts, 2);
}

/* URLs that are not http(s)://host…: ERR_INVALID, and the message never
 * repeats the URL. */
static void test_bad_url(void **state)
{
	static const char *const BAD[] = {
		"", "ftp://hooks.example/SECRET1", "hooks.example/SECRET1", "http://", "http:///SECRET1",
		"https://hooks.example/SECRET1 x", "http://[::1/SECRET1", "javascript:SECRET1",
	};
	notify_opts o = NOTIFY_OPTS_INIT;
	notifier *n = (notifier *)1;

	(void)state;
	assert_int_equal(notifier_start(&n, &o), ERR_INVALID); /* NULL */
	assert_null(n);
	for (size_t i = 0; i < ARRAY_LEN(BAD); i++) {
		o.url = BAD[i];
		assert_int_equal(notifier_start(&n, &o), ERR_INVALID);
		assert_null(n);
		assert_null(strstr(err_msg(), "SECRET1"));
	}
	o.url = "https://hooks.example/services/T0/B0/X";
	o.max_attempts = 21;
	assert_int_equal(notifier_start(&n, &o), ERR_INVALID);
	o.max_attempts = 0;
	o.min_interval_ms = -1;
	assert_int_equal(notifier_start(&n, &o), ERR_INVALID);
}

/* The stop sends what the rate limit held back, at once. */
static void test_stop_flushes(void **state)
{
	fixture *f = *state;
	notify_opts o = opts(f, 60000);
	notify_stats st;
	json_t *list;

	start(f, &o);
	notify_post(f->n, "drift", "one");
	json_decref(wait_received(f, 1));
	wait_done(f, 1, &st);
	notify_post(f->n, "blocked", "two");
	notify_post(f->n, "blocked", "three");
	notifier_stats(f->n, &st);
	assert_int_equal(st.queued, 2);
	notifier_stop(f->n, 10000);
	f->n = NULL;
	list = received(f, NULL);
	assert_int_equal(json_array_size(list), 2);
	assert_int_equal(body_int(list, 1, "count"), 2);
	assert_string_equal(body_str(list, 1, "kind"), "blocked");
	assert_string_equal(body_str(list, 1, "text"),
			    "flotilla: 2 events\n\xe2\x80\xa2 tenant blocked: two\n\xe2\x80\xa2 tenant blocked: three");
	json_decref(list);
}

/* A stop without grace sends nothing more. */
static void test_stop_no_grace(void **state)
{
	fixture *f = *state;
	notify_opts o = opts(f, 60000);
	notify_stats st;
	int64_t attempts;
	json_t *list;

	start(f, &o);
	notify_post(f->n, "drift", "one");
	wait_done(f, 1, &st);
	notify_post(f->n, "drift", "two");
	notifier_stop(f->n, 0);
	f->n = NULL;
	list = received(f, &attempts);
	assert_int_equal(json_array_size(list), 1);
	assert_int_equal(attempts, 1);
	json_decref(list);
}

/* A full queue drops its oldest event. */
static void test_queue_overflow(void **state)
{
	fixture *f = *state;
	notify_opts o = opts(f, 60000);
	notify_stats st;
	json_t *list, *events;

	o.max_queue = 3;
	start(f, &o);
	notify_post(f->n, "drift", "a");
	wait_done(f, 1, &st);
	notify_post(f->n, "drift", "b");
	notify_post(f->n, "drift", "c");
	notify_post(f->n, "drift", "d");
	notify_post(f->n, "drift", "e");
	notifier_stats(f->n, &st);
	assert_int_equal(st.dropped, 1);
	assert_int_equal(st.queued, 3);
	notifier_stop(f->n, 10000);
	f->n = NULL;
	list = received(f, NULL);
	assert_int_equal(json_array_size(list), 2);
	events = json_object_get(json_array_get(list, 1), "events");
	assert_int_equal(json_array_size(events), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(events, 0), "text")), "c");
	assert_string_equal(json_string_value(json_object_get(json_array_get(events, 2), "text")), "e");
	json_decref(list);
}

/* Without --notify-url the daemon holds NULL: every call is a no-op. */
static void test_null(void **state)
{
	notify_stats st;

	(void)state;
	notify_post(NULL, "drift", "x");
	notifier_stats(NULL, &st);
	assert_int_equal(st.sent + st.failed + st.attempts + st.dropped, 0);
	notifier_stop(NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_one_event, setup, teardown),
		cmocka_unit_test_setup_teardown(test_coalesce, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_5xx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_after, setup, teardown),
		cmocka_unit_test_setup_teardown(test_400_not_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attempts_run_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transport_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_url, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_flushes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_no_grace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_null, setup, teardown),
	};
	const char *sim = getenv("FLOTILLA_SIM");

	if (!sim || !*sim) {
		/* TAP: a plan of zero with a reason is a skip */
		printf("1..0 # SKIP FLOTILLA_SIM is not set\n");
		return 0;
	}
	return cmocka_run_group_tests_name("notify", tests, group_setup, group_teardown);
}
