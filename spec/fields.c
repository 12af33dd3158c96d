/*
 * fields.c: the table of tenant-spec fields. Decoding, merging, explain and
 * the plan all walk this one table, so a field added here is known to all
 * of them at once. The `api` column is the member's path in Neon's JSON:
 * for a plain project field, diff/fields.c adds where the state file keeps
 * it, and the cache's copy, the plan's comparison and its PATCH names
 * follow from the two (diff/fields.c says how to add one). Built-in
 * defaults are Neon's own where Neon has one (docs/neon-api.md: pg_version
 * 17, history_retention_seconds 86400, suspend 300 s, quotas unlimited,
 * default branch main with neondb/neondb_owner).
 */
#include <inttypes.h>
#include <string.h>

#include "spec/internal.h"

static const spec_field_info FIELDS[SF__COUNT] = {
	[SF_PROFILE] = {"profile", SPEC_T_STRING, NULL},
	[SF_REGION] = {"region", SPEC_T_STRING, "project.region_id"},
	[SF_PG_VERSION] = {"pgVersion", SPEC_T_INT, "project.pg_version"},
	[SF_HISTORY_RETENTION] = {"historyRetention", SPEC_T_DURATION, "project.history_retention_seconds"},
	[SF_QUOTA_ACTIVE_TIME] = {"quota.activeTime", SPEC_T_QUOTA_TIME, "project.settings.quota.active_time_seconds"},
	[SF_QUOTA_COMPUTE_TIME] = {"quota.computeTime", SPEC_T_QUOTA_TIME, "project.settings.quota.compute_time_seconds"},
	[SF_QUOTA_WRITTEN_DATA] = {"quota.writtenData", SPEC_T_SIZE, "project.settings.quota.written_data_bytes"},
	[SF_QUOTA_DATA_TRANSFER] = {"quota.dataTransfer", SPEC_T_SIZE, "project.settings.quota.data_transfer_bytes"},
	[SF_QUOTA_LOGICAL_SIZE] = {"quota.logicalSize", SPEC_T_SIZE, "project.settings.quota.logical_size_bytes"},
	[SF_COMPUTE_MIN_CU] = {"compute.minCu", SPEC_T_CU, "project.default_endpoint_settings.autoscaling_limit_min_cu"},
	[SF_COMPUTE_MAX_CU] = {"compute.maxCu", SPEC_T_CU, "project.default_endpoint_settings.autoscaling_limit_max_cu"},
	[SF_COMPUTE_SUSPEND_TIMEOUT] = {"compute.suspendTimeout", SPEC_T_DURATION_NEVER, "project.default_endpoint_settings.suspend_timeout_seconds"},
	[SF_COMPUTE_PG_SETTINGS] = {"compute.pgSettings", SPEC_T_MAP, "project.default_endpoint_settings.pg_settings"},
	[SF_READ_REPLICAS] = {"readReplicas", SPEC_T_INT, "endpoint.type=read_only on the default branch"},
	[SF_SETTINGS_ALLOWED_IPS] = {"settings.allowedIps", SPEC_T_STRLIST, "project.settings.allowed_ips.ips"},
	[SF_SETTINGS_PROTECTED_BRANCHES_ONLY] = {"settings.protectedBranchesOnly", SPEC_T_BOOL, "project.settings.allowed_ips.protected_branches_only"},
	[SF_SETTINGS_LOGICAL_REPLICATION] = {"settings.logicalReplication", SPEC_T_BOOL, "project.settings.enable_logical_replication"},
	[SF_SETTINGS_BLOCK_PUBLIC_CONNECTIONS] = {"settings.blockPublicConnections", SPEC_T_BOOL, "project.settings.block_public_connections"},
	[SF_SETTINGS_MW_WEEKDAYS] = {"settings.maintenanceWindow.weekdays", SPEC_T_INTLIST, "project.settings.maintenance_window.weekdays"},
	[SF_SETTINGS_MW_START_TIME] = {"settings.maintenanceWindow.startTime", SPEC_T_TIME_OF_DAY, "project.settings.maintenance_window.start_time"},
	[SF_SETTINGS_MW_END_TIME] = {"settings.maintenanceWindow.endTime", SPEC_T_TIME_OF_DAY, "project.settings.maintenance_window.end_time"},
	[SF_BRANCHES] = {"branches", SPEC_T_BRANCHES, "project.branch + branches/databases/roles"},
	[SF_PROTECT] = {"protect", SPEC_T_BOOL, NULL},
	[SF_BACKUP_SCHEDULE] = {"backups.schedule", SPEC_T_SCHEDULE, "backup_schedule.schedule of the default branch"},
};

const spec_field_info *spec_field_get(spec_field f)
{
	return (unsigned)f < SF__COUNT ? &FIELDS[f] : NULL;
}

static spec_val builtin_int(int64_t i)
{
	spec_val v;
	memset(&v, 0, sizeof(v));
	v.i = i;
	v.o.layer = SPEC_LAYER_BUILTIN;
	v.o.set = 1;
	return v;
}

static spec_val builtin_str(const char *s)
{
	spec_val v = builtin_int(0);
	v.s = s;
	return v;
}

void spec__builtin_defaults(arena *a, spec_values *out)
{
	memset(out, 0, sizeof(*out));
	for (int f = 0; f < SF__COUNT; f++)
		out->v[f] = builtin_int(0);
	out->v[SF_PROFILE] = builtin_str(NULL);
	out->v[SF_REGION] = builtin_str("aws-us-east-2");
	out->v[SF_PG_VERSION] = builtin_int(17);
	out->v[SF_HISTORY_RETENTION] = builtin_int(86400);
	out->v[SF_COMPUTE_MIN_CU] = builtin_int(1);
	out->v[SF_COMPUTE_MAX_CU] = builtin_int(1);
	out->v[SF_COMPUTE_SUSPEND_TIMEOUT] = builtin_int(300);
	out->v[SF_COMPUTE_PG_SETTINGS].map = arena_alloc(a, sizeof(spec_map));
	out->v[SF_SETTINGS_ALLOWED_IPS].list = arena_alloc(a, sizeof(spec_list));
	out->v[SF_SETTINGS_MW_WEEKDAYS].list = NULL; /* no window */
	out->v[SF_BACKUP_SCHEDULE].list = arena_alloc(a, sizeof(spec_list)); /* none */
	out->v[SF_SETTINGS_MW_START_TIME] = builtin_str(NULL);
	out->v[SF_SETTINGS_MW_END_TIME] = builtin_str(NULL);

	/* Neon's own default: branch main, database neondb owned by neondb_owner */
	spec_branches *br = arena_alloc(a, sizeof(*br));
	br->n = 1;
	br->items = arena_alloc(a, sizeof(spec_branch));
	spec_branch *b = &br->items[0];
	b->o = out->v[SF_PROFILE].o;
	b->name = builtin_str("main");
	b->is_default = builtin_int(1);
	b->parent = builtin_str(NULL);
	b->parent.o.set = 0;
	b->protect = builtin_int(0);
	b->nroles = 1;
	b->roles = arena_alloc(a, sizeof(spec_role));
	b->roles[0].name = builtin_str("neondb_owner");
	b->roles[0].no_login = builtin_int(0);
	b->ndatabases = 1;
	b->databases = arena_alloc(a, sizeof(spec_database));
	b->databases[0].name = builtin_str("neondb");
	b->databases[0].owner = builtin_str("neondb_owner");
	out->v[SF_BRANCHES].br = br;
}

void spec__val_format(spec_field f, const spec_val *v, char *out, size_t size)
{
	char tmp[32];
	out[0] = 0;
	switch (FIELDS[f].type) {
	case SPEC_T_STRING:
	case SPEC_T_TIME_OF_DAY:
		str_copy(out, v->s ? v->s : "(none)", size);
		break;
	case SPEC_T_INT:
		snprintf(out, size, "%" PRId64, v->i);
		break;
	case SPEC_T_BOOL:
		str_copy(out, v->i ? "true" : "false", size);
		break;
	case SPEC_T_DURATION:
	case SPEC_T_DURATION_NEVER:
		unit_duration_format(v->i, tmp);
		str_copy(out, tmp, size);
		break;
	case SPEC_T_QUOTA_TIME:
		if (v->i == 0) {
			str_copy(out, "unlimited", size);
		} else {
			unit_duration_format(v->i, tmp);
			str_copy(out, tmp, size);
		}
		break;
	case SPEC_T_SIZE:
		unit_size_format(v->i, tmp);
		str_copy(out, tmp, size);
		break;
	case SPEC_T_CU: {
		char cu[16];
		unit_cu_format((int32_t)v->i, cu);
		str_copy(out, cu, size);
		break;
	}
	case SPEC_T_SCHEDULE:
		spec_schedule_format(v->list, out, size);
		break;
	case SPEC_T_STRLIST:
	case SPEC_T_INTLIST: {
		if (!v->list) {
			str_copy(out, "(none)", size);
			break;
		}
		size_t used = 0;
		used += (size_t)snprintf(out + used, size - used, "[");
		for (size_t i = 0; i < v->list->n && used < size; i++) {
			const spec_val *it = &v->list->items[i];
			if (FIELDS[f].type == SPEC_T_STRLIST)
				used += (size_t)snprintf(out + used, size - used, "%s%s", i ? ", " : "", it->s);
			else
				used += (size_t)snprintf(out + used, size - used, "%s%" PRId64, i ? ", " : "", it->i);
		}
		if (used < size)
			snprintf(out + used, size - used, "]");
		break;
	}
	case SPEC_T_MAP:
		snprintf(out, size, "(%zu keys)", v->map ? v->map->n : 0);
		break;
	case SPEC_T_BRANCHES:
		snprintf(out, size, "(%zu branches)", v->br ? v->br->n : 0);
		break;
	}
}
