/*
 * pipeline.c: a bounded ring of files between the loader's main thread and
 * one parser thread.
 *
 * The main thread owns everything that touches libgit2, SQLite and the
 * fleet; the worker only runs spec__yaml_load, which uses nothing but its
 * arguments, the slot's own arena and diagnostics, and the thread-local
 * last error. Slots move through three ranges of a monotonic counter:
 * [head, parsed) are ready for the main thread, [parsed, tail) wait for
 * the worker, the rest are free. Only the main thread moves head and
 * tail, only the worker moves parsed (all under the mutex); so a slot
 * belongs to exactly one thread at a time, and the mutex orders the
 * hand-over.
 *
 * The worker starts with the first slot that needs parsing: a load where
 * every file comes from the parse cache stays on one thread and pays for
 * no wake-ups. Should no thread be had, the main thread parses.
 */
#include <pthread.h>

#include "spec/internal.h"

/* Enough read-ahead that neither thread waits for the other on a run of
 * small or large files; a slot keeps its buffers, so this is also how many
 * arenas a load holds at once. */
#define PIPE_SLOTS 64
/* A waiting worker is woken once this many slots wait for it, or when the
 * main thread itself has to wait: a wake-up per file costs more in
 * context switches than the parse it starts. */
#define PIPE_WAKE (PIPE_SLOTS / 4)

struct parse_pipe {
	pthread_mutex_t mu;
	pthread_cond_t work;  /* the worker waits: tail moved, or stop */
	pthread_cond_t ready; /* the main thread waits: parsed moved */
	bool started, stop;
	bool worker_waits, main_waits;
	size_t head, parsed, tail;
	pthread_t thread;
	parse_slot slots[PIPE_SLOTS];
};

static void slot_parse(parse_slot *s)
{
	s->ndocs = spec__yaml_load(s->scratch, s->path, s->data.data ? s->data.data : "", s->data.len,
			     &s->docs, s->diags);
}

static void *worker(void *arg)
{
	parse_pipe *q = arg;
	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (q->parsed == q->tail && !q->stop) {
			q->worker_waits = true;
			pthread_cond_wait(&q->work, &q->mu);
			q->worker_waits = false;
		}
		if (q->stop)
			break;
		parse_slot *s = &q->slots[q->parsed % PIPE_SLOTS];
		pthread_mutex_unlock(&q->mu);
		if (s->kind == SLOT_PARSE)
			slot_parse(s);
		pthread_mutex_lock(&q->mu);
		q->parsed++;
		if (q->main_waits)
			pthread_cond_signal(&q->ready);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

parse_pipe *spec__parse_pipe_new(void)
{
	parse_pipe *q = xcalloc(1, sizeof(*q));
	if (pthread_mutex_init(&q->mu, NULL) != 0 || pthread_cond_init(&q->work, NULL) != 0 ||
	    pthread_cond_init(&q->ready, NULL) != 0)
		abort(); /* only ENOMEM, and out of memory aborts (STYLE.md rule 9) */
	/* bounds as in fleet.c's loader */
	for (size_t i = 0; i < PIPE_SLOTS; i++) {
		q->slots[i].data = (buf)BUF_INIT(SPEC_MAX_FILE_BYTES);
		q->slots[i].entry = (buf)BUF_INIT(16 * SPEC_MAX_FILE_BYTES);
	}
	return q;
}

void spec__parse_pipe_free(parse_pipe *q)
{
	if (!q)
		return;
	if (q->started) {
		pthread_mutex_lock(&q->mu);
		q->stop = true;
		pthread_cond_signal(&q->work);
		pthread_mutex_unlock(&q->mu);
		pthread_join(q->thread, NULL);
	}
	for (size_t i = 0; i < PIPE_SLOTS; i++) {
		parse_slot *s = &q->slots[i];
		buf_release(&s->data);
		buf_release(&s->entry);
		free(s->err);
		free(s->docs);
		arena_free(s->scratch);
		spec_diags_free(s->diags);
	}
	pthread_cond_destroy(&q->ready);
	pthread_cond_destroy(&q->work);
	pthread_mutex_destroy(&q->mu);
	free(q);
}

parse_slot *spec__parse_pipe_reserve(parse_pipe *q)
{
	if (q->tail - q->head == PIPE_SLOTS)
		return NULL;
	parse_slot *s = &q->slots[q->tail % PIPE_SLOTS];
	/* what the last user of the slot left behind */
	free(s->err);
	s->err = NULL;
	free(s->docs);
	s->docs = NULL;
	s->ndocs = 0;
	s->stale = false;
	s->have_id = false;
	buf_reset(&s->data);
	buf_reset(&s->entry);
	if (s->scratch)
		arena_reset(s->scratch);
	if (s->diags)
		spec__diags_clear(s->diags);
	return s;
}

void spec__parse_pipe_submit(parse_pipe *q)
{
	parse_slot *s = &q->slots[q->tail % PIPE_SLOTS];
	if (s->kind == SLOT_PARSE && !s->scratch) {
		s->scratch = arena_new();
		s->diags = spec_diags_new();
	}
	if (!q->started && s->kind == SLOT_PARSE &&
	    pthread_create(&q->thread, NULL, worker, q) == 0)
		q->started = true;
	if (!q->started) {
		/* no second thread yet (nothing queued so far needed one), or
		 * none to be had: parse here, and the load is merely slower */
		if (s->kind == SLOT_PARSE)
			slot_parse(s);
		q->tail++;
		q->parsed = q->tail;
		return;
	}
	pthread_mutex_lock(&q->mu);
	q->tail++;
	if (q->worker_waits && q->tail - q->parsed >= PIPE_WAKE)
		pthread_cond_signal(&q->work);
	pthread_mutex_unlock(&q->mu);
}

parse_slot *spec__parse_pipe_head(parse_pipe *q)
{
	if (q->head == q->tail)
		return NULL;
	if (!q->started)
		return &q->slots[q->head % PIPE_SLOTS];
	pthread_mutex_lock(&q->mu);
	while (q->parsed == q->head) {
		if (q->worker_waits)
			pthread_cond_signal(&q->work);
		q->main_waits = true;
		pthread_cond_wait(&q->ready, &q->mu);
		q->main_waits = false;
	}
	pthread_mutex_unlock(&q->mu);
	return &q->slots[q->head % PIPE_SLOTS];
}

void spec__parse_pipe_release(parse_pipe *q)
{
	q->head++;
}

parse_slot *spec__parse_pipe_queued(parse_pipe *q, size_t i)
{
	return i < q->tail - q->head ? &q->slots[(q->head + i) % PIPE_SLOTS] : NULL;
}
