/*
 * budget.c: the one rate budget every request of a client draws from, and
 * the waits between attempts.
 *
 * A token bucket refilled at `rate` per second up to `burst` tokens. The
 * rate reacts to the server (AIMD, as TCP does to loss): a 429 halves it
 * and empties the bucket, since the server's own bucket is empty too; it
 * stays low for a while after the last 429 and then grows back additively.
 * Halving at most once per NEON_CUT_GUARD_MS matters with many requests on
 * the wire: the 429s of one burst are one signal, not eight halvings.
 *
 * Between attempts the wait is full-jitter exponential backoff (AWS
 * architecture blog; @neon/sdk uses the same 250 ms * 2^n, capped), so
 * that clients that failed together do not retry together.
 *
 * Nothing here reads a clock: callers pass the time, tests pass their own.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "neon/internal.h"

uint64_t neon__rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t neon__seed(void)
{
	uint64_t s = 0;
	struct timespec ts;

	if (getrandom(&s, sizeof(s), GRND_NONBLOCK) == (ssize_t)sizeof(s) && s)
		return s;
	/* no entropy yet (early boot): jitter and request ids only need to
	 * differ between processes, not to be secret */
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 16);
}

void neon__budget_init(neon_budget *b, double rate, double burst, int64_t now_ms)
{
	b->base = rate;
	b->rate = rate;
	b->burst = burst < 1.0 ? 1.0 : burst;
	b->tokens = b->burst;
	b->last_ms = now_ms;
	b->hold_until_ms = now_ms;
	b->last_cut_ms = -1;
}

/* Move b to `now`: tokens accrue at the rate of each stretch, and past the
 * hold the rate grows back by base/NEON_RECOVER_S per second. */
static void advance(neon_budget *b, int64_t now)
{
	double dt, grow_s, step;

	if (now <= b->last_ms)
		return;
	dt = (double)(now - b->last_ms) / 1000.0;
	if (b->rate < b->base && now > b->hold_until_ms) {
		/* the part of dt after the hold, at a linearly rising rate:
		 * integrate instead of stepping so the result does not depend
		 * on how often we are called */
		int64_t from = b->last_ms > b->hold_until_ms ? b->last_ms : b->hold_until_ms;
		double flat = (double)(from - b->last_ms) / 1000.0;

		step = b->base / NEON_RECOVER_S;
		grow_s = (double)(now - from) / 1000.0;
		b->tokens += b->rate * flat;
		if (b->rate + step * grow_s >= b->base) {
			double ramp = (b->base - b->rate) / step;

			b->tokens += b->rate * ramp + 0.5 * step * ramp * ramp + b->base * (grow_s - ramp);
			b->rate = b->base;
		} else {
			b->tokens += b->rate * grow_s + 0.5 * step * grow_s * grow_s;
			b->rate += step * grow_s;
		}
	} else {
		b->tokens += b->rate * dt;
	}
	if (b->tokens > b->burst)
		b->tokens = b->burst;
	b->last_ms = now;
}

int64_t neon__budget_take(neon_budget *b, int64_t now_ms)
{
	double ms;

	advance(b, now_ms);
	if (b->tokens >= 1.0) {
		b->tokens -= 1.0;
		return 0;
	}
	ms = ceil((1.0 - b->tokens) * 1000.0 / b->rate);
	return ms < 1.0 ? 1 : (int64_t)ms;
}

void neon__budget_throttled(neon_budget *b, int64_t now_ms)
{
	advance(b, now_ms);
	b->hold_until_ms = now_ms + NEON_HOLD_MS;
	if (b->last_cut_ms >= 0 && now_ms - b->last_cut_ms < NEON_CUT_GUARD_MS)
		return;
	b->last_cut_ms = now_ms;
	b->rate /= 2.0;
	if (b->rate < NEON_RATE_FLOOR)
		b->rate = NEON_RATE_FLOOR;
	/* a floor above the configured rate would raise it */
	if (b->rate > b->base)
		b->rate = b->base;
	if (b->tokens > 0)
		b->tokens = 0;
}

void neon__budget_peek(const neon_budget *b, int64_t now_ms, double *rate, double *tokens)
{
	neon_budget copy = *b;

	advance(&copy, now_ms);
	*rate = copy.rate;
	*tokens = copy.tokens;
}

int64_t neon__backoff_ms(int failures, int64_t cap_ms, uint64_t *rng)
{
	int64_t ceiling = NEON_BACKOFF_BASE_MS;
	int i;

	if (cap_ms <= 0)
		return 0;
	for (i = 1; i < failures && ceiling < cap_ms; i++)
		ceiling *= 2;
	if (ceiling > cap_ms)
		ceiling = cap_ms;
	return (int64_t)(neon__rand(rng) % (uint64_t)(ceiling + 1));
}
