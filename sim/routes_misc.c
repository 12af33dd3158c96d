/*
 * routes_misc.c: placeholder table, filled in by the next commit.
 */
#include "sim/sim.h"

const sim_route SIM_ROUTES_MISC[] = {
	{NULL, NULL, NULL, false},
};
