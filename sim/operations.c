/*
 * operations.c: a project's operations and how their status follows the
 * real clock.
 *
 * An operation of duration D started at t0 is `scheduling` for D/3 (waiting
 * for a slot), `running` until t0+D, then `finished`. Neon's control plane
 * also fails operations and retries them (docs/neon-api.md, Operations), so
 * a share of new operations, decided when each is made from the faults'
 * op_retry_rate and op_fail_rate and the seeded fault generator, ends
 * otherwise: a retried one is `failed` from t0+D to t0+2D (failures_count 1,
 * retry_at t0+2D), `running` again until t0+3D, then `finished`; one that
 * fails for good does the same and ends in `error` at t0+3D with
 * failures_count 2. An operation that ends in `error` leaves the change it
 * stood for made: the sim applies changes when they are asked for, not when
 * their operations end (docs/sim.md, Known differences).
 *
 * Callers hold s->mu.
 */
#include <string.h>

#include "sim/sim.h"

/* Make room for one more operation: past SIM_OPS_KEPT the oldest finished
 * one goes. Unfinished ones are never dropped, nor the newest half, which
 * may hold the operations of the request being answered. */
static void make_room(sim_project *p, int64_t now_ms)
{
	if (p->nops < SIM_OPS_KEPT)
		return;
	for (size_t i = p->nops; i-- > SIM_OPS_KEPT / 2;) {
		if (p->ops[i].done_ms > now_ms)
			continue;
		memmove(&p->ops[i], &p->ops[i + 1], (p->nops - i - 1) * sizeof(*p->ops));
		p->nops--;
		return;
	}
}

/* The fate of a new operation: one roll of the fault generator, and none
 * when neither rate is set, so runs without them draw the same faults as
 * before these rates existed. */
static uint8_t fate_of(sim_store *s)
{
	double fail = s->faults.op_fail_rate, retry = s->faults.op_retry_rate;
	if (fail <= 0 && retry <= 0)
		return SIM_OP_OK;
	double roll = sim_rand01(&s->fault_rng);
	if (roll < fail) {
		s->stats.ops_errored++;
		return SIM_OP_ERROR;
	}
	if (roll < fail + retry) {
		s->stats.ops_retried++;
		return SIM_OP_RETRIED;
	}
	return SIM_OP_OK;
}

sim_op *sim_op_add_ms(sim_store *s, sim_project *p, const char *action, const char *branch_id,
		      const char *endpoint_id, int64_t delay_ms)
{
	int64_t now_ms = mono_ms();
	make_room(p, now_ms);
	if (p->nops == p->capops)
		p->ops = sim_grow(p->ops, &p->capops, p->nops + 1, sizeof(*p->ops));
	memmove(&p->ops[1], &p->ops[0], p->nops * sizeof(*p->ops));
	p->nops++;
	sim_op *op = &p->ops[0];
	memset(op, 0, sizeof(*op));
	sim_gen_uuid(s, op->id);
	op->action = action;
	if (branch_id)
		str_copy(op->branch_id, branch_id, sizeof(op->branch_id));
	if (endpoint_id)
		str_copy(op->endpoint_id, endpoint_id, sizeof(op->endpoint_id));
	op->created_at = sim_now(s);
	op->start_ms = now_ms;
	op->delay_ms = delay_ms;
	op->fate = fate_of(s);
	/* a failed attempt is followed by a wait for the retry and the retry */
	op->done_ms = now_ms + (op->fate == SIM_OP_OK ? delay_ms : 3 * delay_ms);
	s->stats.ops_total++;
	return op;
}

sim_op *sim_op_add(sim_store *s, sim_project *p, const char *action, const char *branch_id,
		   const char *endpoint_id)
{
	return sim_op_add_ms(s, p, action, branch_id, endpoint_id, s->cfg->op_delay_ms);
}

void sim_op_view_at(const sim_op *op, int64_t now_ms, sim_op_view *out)
{
	int64_t t0 = op->start_ms, d = op->delay_ms;
	memset(out, 0, sizeof(*out));
	if (now_ms < t0 + d / 3) {
		out->status = "scheduling";
		out->changed_ms = t0;
	} else if (now_ms < t0 + d) {
		out->status = "running";
		out->changed_ms = t0 + d / 3;
	} else if (op->fate == SIM_OP_OK) {
		out->status = "finished";
		out->changed_ms = t0 + d;
		out->final = true;
	} else {
		out->failures = 1;
		out->retry_ms = t0 + 2 * d;
		if (now_ms < t0 + 2 * d) {
			out->status = "failed";
			out->changed_ms = t0 + d;
		} else if (now_ms < t0 + 3 * d) {
			out->status = "running";
			out->changed_ms = t0 + 2 * d;
		} else {
			out->final = true;
			out->changed_ms = t0 + 3 * d;
			out->status = op->fate == SIM_OP_RETRIED ? "finished" : "error";
			out->failures = op->fate == SIM_OP_RETRIED ? 1 : 2;
		}
	}
}

const char *sim_op_error(const sim_op *op)
{
	static const struct {
		const char *action, *error;
	} ERRORS[] = {
		{"start_compute", "compute start timed out (injected)"},
		{"suspend_compute", "compute suspend timed out (injected)"},
		{"apply_config", "compute did not apply the configuration in time (injected)"},
		{"create_timeline", "pageserver did not create the timeline in time (injected)"},
		{"create_branch", "pageserver did not create the timeline in time (injected)"},
		{"delete_timeline", "pageserver did not delete the timeline in time (injected)"},
	};
	for (size_t i = 0; i < ARRAY_LEN(ERRORS); i++)
		if (strcmp(op->action, ERRORS[i].action) == 0)
			return ERRORS[i].error;
	return "operation timed out (injected)";
}

bool sim_project_busy(const sim_project *p, int64_t now_ms)
{
	/* operations differ in length (activity's, retried ones), so the
	 * newest is not always the last to end */
	for (size_t i = 0; i < p->nops; i++)
		if (p->ops[i].done_ms > now_ms)
			return true;
	return false;
}
