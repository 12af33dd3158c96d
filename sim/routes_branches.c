/*
 * routes_branches.c: placeholder table, filled in by the next commit.
 */
#include "sim/sim.h"

const sim_route SIM_ROUTES_BRANCHES[] = {
	{NULL, NULL, NULL, false},
};
