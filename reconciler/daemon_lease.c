/*
 * daemon_lease.c: the daemon's lease as a leader's (docs/daemon.md,
 * "Two daemons, one leader").
 *
 * Any number of daemons may run on one state; the one that holds the
 * state's lease ("fleet") leads: it fetches, plans, applies and heals.
 * The others stand by: they serve /healthz, /metrics and the status page
 * from the state, report flotilla_leader 0, and try for the lease every
 * third of its TTL. A leader's lease is renewed by a thread of its own, on
 * a connection of its own, every third of the TTL, so that a long apply
 * never lets it lapse; a dead leader's lease lapses after one TTL (at once
 * on its own host, where its pid is seen gone) and a standby takes it
 * over. The journal then settles what the dead leader left unfinished
 * (resume.c), as it does after any crash.
 *
 * A leader that cannot renew (the state unreachable) for two thirds of
 * the TTL, or finds the lease taken (unlock --force), stops leading before
 * another can take over: it starts no more tenants, lets the writes in
 * flight finish, and stands by again.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "reconciler/reconciler.h"

struct lease_keeper {
	state *st;           /* the thread's own connection */
	int64_t ttl_s;
	int wake_fd;         /* written when the lease is lost, to wake the loop */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	atomic_bool lost;
	char why[200];       /* why it was lost (under mu) */
};

/* A standby's mark for a webhook it received, if it moved since *seen
 * (which it then becomes): wake the loop to fetch, as the webhook would. */
static void pass_webhook(lease_keeper *k, char **seen)
{
	char *mark = NULL;

	if (state_meta_get(k->st, LEASE_HOOK_MARK, &mark) != 0 || !mark)
		return;
	if (*seen && strcmp(*seen, mark) == 0) {
		free(mark);
		return;
	}
	if (*seen) {
		log_info("daemon: a standby received a webhook; fetching now", "at", mark);
		if (k->wake_fd >= 0 && write(k->wake_fd, "h", 1) < 0) {
			/* the pipe is full: a wake-up is pending anyway */
		}
	}
	free(*seen);
	*seen = mark;
}

static void *keep(void *arg)
{
	lease_keeper *k = arg;
	int64_t every_ms = k->ttl_s * 1000 / 3, last_ok = mono_ms();
	char *hook_seen = NULL;

	/* marks left before this daemon led are not news */
	pass_webhook(k, &hook_seen);
	if (!hook_seen)
		hook_seen = xstrdup("");

	pthread_mutex_lock(&k->mu);
	while (!k->stop) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += every_ms / 1000;
		until.tv_nsec += (every_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&k->cv, &k->mu, &until);
		if (k->stop)
			break;
		pthread_mutex_unlock(&k->mu);
		int rc = state_lease_renew(k->st, "fleet", k->ttl_s);
		const char *msg = rc ? err_msg() : NULL;
		pthread_mutex_lock(&k->mu);
		if (rc == 0) {
			last_ok = mono_ms();
			pthread_mutex_unlock(&k->mu);
			pass_webhook(k, &hook_seen);
			pthread_mutex_lock(&k->mu);
			continue;
		}
		/* taken or removed: another leads; unreachable for 2/3 of the
		 * TTL: another may lead before the next renewal could land */
		if (rc == ERR_LOCKED || rc == ERR_NOTFOUND || mono_ms() - last_ok >= k->ttl_s * 1000 * 2 / 3) {
			str_copy(k->why, msg, sizeof(k->why));
			atomic_store(&k->lost, true);
			if (k->wake_fd >= 0 && write(k->wake_fd, "l", 1) < 0) {
				/* the pipe is full: the loop wakes anyway */
			}
			break;
		}
		log_warn("daemon: cannot renew the lease; trying again", "error", msg);
	}
	pthread_mutex_unlock(&k->mu);
	free(hook_seen);
	return NULL;
}

int lease_keeper_start(lease_keeper **out, const state *st, int64_t ttl_s, int wake_fd)
{
	lease_keeper *k = xcalloc(1, sizeof(*k));

	*out = NULL;
	if (state_open_again(&k->st, st) != 0) {
		free(k);
		return -1;
	}
	/* a renewal waits for nothing: its deadline is the lease's TTL */
	state_set_patience(k->st, 0);
	k->ttl_s = ttl_s;
	k->wake_fd = wake_fd;
	atomic_init(&k->lost, false);
	pthread_mutex_init(&k->mu, NULL);
	pthread_cond_init(&k->cv, NULL);
	if (pthread_create(&k->thread, NULL, keep, k) != 0) {
		err_set(ERR_FAIL, "cannot start the lease's thread");
		state_close(k->st);
		pthread_mutex_destroy(&k->mu);
		pthread_cond_destroy(&k->cv);
		free(k);
		return -1;
	}
	*out = k;
	return 0;
}

bool lease_keeper_lost(lease_keeper *k, char *why, size_t cap)
{
	if (!k || !atomic_load(&k->lost))
		return false;
	if (why) {
		pthread_mutex_lock(&k->mu);
		str_copy(why, k->why, cap);
		pthread_mutex_unlock(&k->mu);
	}
	return true;
}

void lease_keeper_stop(lease_keeper *k)
{
	if (!k)
		return;
	pthread_mutex_lock(&k->mu);
	k->stop = true;
	pthread_cond_signal(&k->cv);
	pthread_mutex_unlock(&k->mu);
	pthread_join(k->thread, NULL);
	state_close(k->st);
	pthread_mutex_destroy(&k->mu);
	pthread_cond_destroy(&k->cv);
	free(k);
}

int lease_stand_by(state *st, int64_t ttl_s, const volatile sig_atomic_t *stop,
		   void (*idle)(void *arg, bool state_ok), void (*wait_ms)(int64_t ms), void *arg)
{
	bool told = false;

	while (!*stop) {
		state_lease held;
		state_lease_takeover took;
		memset(&held, 0, sizeof(held));
		int rc = state_lease_acquire_ex(st, "fleet", ttl_s, &held, &took);
		if (rc == 0) {
			if (took.reason) {
				log_warn("daemon: leading: took the lease over", "from", took.from.holder, "reason", took.reason);
				state_lease_release(&took.from);
			} else {
				log_info("daemon: leading");
			}
			return 0;
		}
		if (rc == ERR_LOCKED && held.holder) {
			if (!told) {
				char until[24];
				snprintf(until, sizeof(until), "%lld", (long long)held.expires_at);
				log_info("daemon: standing by: another daemon leads; taking over if its lease lapses",
					 "holder", held.holder, "expires_at", until);
			}
			told = true;
		} else {
			/* the state unreachable, or its write lock held too long
			 * (ERR_LOCKED without a holder): said every time */
			log_warn("daemon: standing by: cannot read the lease", "error", err_msg());
		}
		bool readable = rc == ERR_LOCKED && held.holder;
		state_lease_release(&held);
		idle(arg, readable);
		wait_ms(ttl_s * 1000 / 3);
	}
	return 1;
}
