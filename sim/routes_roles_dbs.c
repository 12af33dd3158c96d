/*
 * routes_roles_dbs.c: placeholder table, filled in by the next commit.
 */
#include "sim/sim.h"

const sim_route SIM_ROUTES_ROLES_DBS[] = {
	{NULL, NULL, NULL, false},
};
