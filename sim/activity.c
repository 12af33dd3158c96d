/*
 * activity.c: tenant activity. In a real fleet the tenants' applications
 * wake their computes whenever they like: Neon then runs a start_compute
 * operation, moves the project's updated_at, and when the compute has
 * been idle for its suspend timeout runs a suspend_compute and moves
 * updated_at again. While those operations run the project's mutations get
 * 423, so a reconciler meets locks on projects it never touched.
 *
 * The sim is otherwise lazy (sim.h), but a wake must happen whether or not
 * anyone asks, so activity has a ticker thread of its own. It starts the
 * first time activity is asked for (--activity, the activity_per_minute
 * fault, POST /__sim/wake) and never otherwise, and it works only under
 * the store's mutex, waiting on a condition variable of that mutex so that
 * shutdown and rate changes reach it at once. It wakes
 * activity_per_minute random live projects per minute of the sim clock
 * (fractions carry over), and it watches each compute it woke, in a heap
 * ordered by when the compute goes idle, to add the suspend_compute when it
 * does. The computes are named by id in the heap, never by pointer: the
 * projects may be changed, deleted or dropped meanwhile.
 */
#include <math.h>
#include <string.h>
#include <time.h>

#include "sim/sim.h"

/* The longest the ticker sleeps: a bound, not a poll; changes signal it. */
#define MAX_WAIT_MS 1000
/* Wakes owed past this after a stall are forgiven, not run in one burst. */
#define MAX_OWED 10000.0

/* A compute woken by activity, watched until it goes idle. */
typedef struct watched {
	int64_t due;       /* sim seconds: when it goes idle, as last seen */
	char *endpoint_id; /* owned; also its key in `watching` */
	char *project_id;  /* owned */
} watched;

struct sim_activity {
	pthread_t thread;
	pthread_cond_t cond; /* of s->mu: stop, a new rate, new computes to watch */
	bool running, stop;
	double owed;         /* wakes due, fractions carried */
	int64_t last_ms;     /* real ms of the last tick */
	uint64_t rng;        /* its own, so activity leaves the other draws alone */
	watched *heap;       /* min-heap on due */
	size_t n, cap;
	strmap *watching;    /* endpoint id -> (void *)1: each compute once */
};

/* ------------------------------------------------------------- the heap */

static bool before(const watched *a, const watched *b)
{
	return a->due < b->due;
}

static void push(struct sim_activity *a, watched w)
{
	if (a->n == a->cap)
		a->heap = xgrow(a->heap, &a->cap, a->n + 1, sizeof(*a->heap));
	size_t i = a->n++;
	while (i > 0 && before(&w, &a->heap[(i - 1) / 2])) {
		a->heap[i] = a->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	a->heap[i] = w;
}

static watched pop(struct sim_activity *a)
{
	watched top = a->heap[0], last = a->heap[--a->n];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= a->n)
			break;
		if (c + 1 < a->n && before(&a->heap[c + 1], &a->heap[c]))
			c++;
		if (!before(&a->heap[c], &last))
			break;
		a->heap[i] = a->heap[c];
		i = c;
	}
	if (a->n)
		a->heap[i] = last;
	return top;
}

static void forget(struct sim_activity *a, watched *w)
{
	strmap_del(a->watching, w->endpoint_id);
	free(w->endpoint_id);
	free(w->project_id);
}

static void watch(struct sim_activity *a, const sim_project *p, const sim_endpoint *e)
{
	if (strmap_get(a->watching, e->id))
		return; /* its entry finds the new idle time when it comes due */
	watched w = {sim_endpoint_idle_at(e), xstrdup(e->id), xstrdup(p->id)};
	strmap_put(a->watching, w.endpoint_id, (void *)1);
	push(a, w);
}

static void clear(struct sim_activity *a)
{
	for (size_t i = 0; i < a->n; i++)
		forget(a, &a->heap[i]);
	a->n = 0;
	a->owed = 0;
}

/* ------------------------------------------------------- waking, idling */

/* The compute activity wakes in p: its default branch's read_write one,
 * unless there is none or it is disabled. */
static sim_endpoint *wakeable(sim_project *p)
{
	sim_branch *b = sim_branch_default(p);
	sim_endpoint *e = b ? sim_endpoint_rw(p, b->id) : NULL;
	return e && !e->disabled ? e : NULL;
}

/* A tenant's application connects: an idle compute starts (an operation
 * and a cold start), an active one stays up longer. */
static void wake(sim_store *s, struct sim_activity *a, sim_project *p, sim_endpoint *e)
{
	int64_t now = sim_now(s);
	if (!sim_endpoint_active(s, e, now))
		sim_op_add_ms(s, p, "start_compute", e->branch_id, e->id, s->cfg->activity_op_ms);
	sim_endpoint_connect(s, p, e);
	p->updated_at = now;
	s->stats.activity_wakes++;
	watch(a, p, e);
	if (s->persist)
		sim_persist_save(s, p);
}

/* Wake one random live project; nothing when the draw finds none. */
static void wake_random(sim_store *s, struct sim_activity *a)
{
	/* a few draws: holes and deleted projects are skipped, not hunted */
	for (int tries = 0; tries < 16 && s->live; tries++) {
		sim_project *p = s->projects[sim_rand(&a->rng) % s->nprojects];
		if (!p || p->deleted_at)
			continue;
		sim_endpoint *e = wakeable(p);
		if (e)
			wake(s, a, p, e);
		return;
	}
}

/*
 * Suspend the watched computes whose idle time has come; watch again the
 * ones woken since (their idle time moved) and forget the ones that are
 * gone, suspended or disabled by a client, or never idle. Returns the sim
 * time of the next one due, INT64_MAX when none is watched.
 */
static int64_t settle(sim_store *s, struct sim_activity *a)
{
	int64_t now = sim_now(s);
	while (a->n && a->heap[0].due <= now) {
		watched w = pop(a);
		sim_project *p = sim_project_find(s, w.project_id);
		sim_endpoint *e = p ? sim_endpoint_find(p, w.endpoint_id) : NULL;
		int64_t idle = e ? sim_endpoint_idle_at(e) : 0;
		if (idle > now && idle != INT64_MAX) {
			w.due = idle;
			push(a, w);
			continue;
		}
		if (idle && idle != INT64_MAX) {
			sim_op_add_ms(s, p, "suspend_compute", e->branch_id, e->id, s->cfg->activity_op_ms);
			p->updated_at = now;
			s->stats.activity_suspends++;
			if (s->persist)
				sim_persist_save(s, p);
		}
		forget(a, &w);
	}
	return a->n ? a->heap[0].due : INT64_MAX;
}

/* Real ms on the monotonic clock when the sim clock reaches t. */
static int64_t real_ms_at(const sim_store *s, int64_t t)
{
	double ms = ceil((double)(t - s->wall_start) * 1000.0 / s->cfg->time_scale);
	return s->mono_start_ms + (int64_t)ms + 1;
}

/* One tick: the wakes owed since the last, the computes gone idle. Returns
 * how long to sleep, in ms. */
static int64_t tick(sim_store *s, struct sim_activity *a)
{
	int64_t now_ms = mono_ms(), wait = MAX_WAIT_MS;
	double rate = s->faults.activity_per_minute * s->cfg->time_scale / 60000.0; /* wakes per real ms */
	if (rate > 0) {
		a->owed += rate * (double)(now_ms - a->last_ms);
		if (a->owed > MAX_OWED)
			a->owed = MAX_OWED;
		for (; a->owed >= 1; a->owed -= 1)
			wake_random(s, a);
		double next = (1 - a->owed) / rate;
		if (next < (double)wait)
			wait = (int64_t)ceil(next);
	} else {
		a->owed = 0;
	}
	a->last_ms = now_ms;
	int64_t due = settle(s, a);
	if (due != INT64_MAX) {
		int64_t until = real_ms_at(s, due) - mono_ms();
		if (until < wait)
			wait = until;
	}
	return wait < 1 ? 1 : wait;
}

static void *run(void *arg)
{
	sim_store *s = arg;
	pthread_mutex_lock(&s->mu);
	struct sim_activity *a = s->activity;
	while (!a->stop) {
		int64_t wait = tick(s, a);
		struct timespec at;
		clock_gettime(CLOCK_MONOTONIC, &at);
		at.tv_sec += (time_t)(wait / 1000);
		at.tv_nsec += (long)(wait % 1000) * 1000000;
		if (at.tv_nsec >= 1000000000) {
			at.tv_sec++;
			at.tv_nsec -= 1000000000;
		}
		/* wakes on time, on a signal, or spuriously: every case ticks */
		pthread_cond_timedwait(&a->cond, &s->mu, &at);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* The activity state with its ticker running (s->mu held). */
static struct sim_activity *ensure(sim_store *s)
{
	struct sim_activity *a = s->activity;
	if (!a) {
		a = xcalloc(1, sizeof(*a));
		pthread_condattr_t attr;
		pthread_condattr_init(&attr);
		/* the same clock as sim_real_ms: the wall clock may jump */
		pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		pthread_cond_init(&a->cond, &attr);
		pthread_condattr_destroy(&attr);
		a->rng = s->cfg->seed ^ 0xac71u;
		a->watching = strmap_new();
		s->activity = a;
	}
	if (!a->running) {
		a->last_ms = mono_ms();
		if (pthread_create(&a->thread, NULL, run, s) == 0)
			a->running = true;
		else
			log_error("sim: cannot start the activity thread; no activity will happen");
	}
	return a;
}

/* ---------------------------------------------------------------- api */

void sim_activity_kick(sim_store *s)
{
	if (s->faults.activity_per_minute > 0)
		ensure(s);
	if (s->activity)
		pthread_cond_signal(&s->activity->cond);
}

size_t sim_activity_wake(sim_store *s, size_t count)
{
	struct sim_activity *a = ensure(s);
	/* the candidates, then a partial shuffle: `count` distinct ones */
	size_t *pick = xcalloc(s->live + 1, sizeof(*pick)), n = 0;
	for (size_t i = 0; i < s->nprojects; i++) {
		sim_project *p = s->projects[i];
		if (p && !p->deleted_at && wakeable(p))
			pick[n++] = i;
	}
	size_t woken = count < n ? count : n;
	for (size_t i = 0; i < woken; i++) {
		size_t j = i + (size_t)(sim_rand(&a->rng) % (n - i)), t = pick[i];
		pick[i] = pick[j];
		pick[j] = t;
		sim_project *p = s->projects[pick[i]];
		wake(s, a, p, wakeable(p));
	}
	free(pick);
	pthread_cond_signal(&a->cond);
	return woken;
}

void sim_activity_reset(sim_store *s)
{
	if (s->activity)
		clear(s->activity);
}

void sim_activity_stop(sim_store *s)
{
	pthread_mutex_lock(&s->mu);
	struct sim_activity *a = s->activity;
	if (a) {
		a->stop = true;
		pthread_cond_signal(&a->cond);
	}
	pthread_mutex_unlock(&s->mu);
	if (!a)
		return;
	if (a->running)
		pthread_join(a->thread, NULL);
	pthread_mutex_lock(&s->mu);
	s->activity = NULL;
	pthread_mutex_unlock(&s->mu);
	clear(a);
	free(a->heap);
	strmap_free(a->watching);
	pthread_cond_destroy(&a->cond);
	free(a);
}
