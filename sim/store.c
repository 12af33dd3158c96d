/*
 * store.c: the simulator's in-memory fleet: projects and what they hold,
 * ids that look like Neon's, and computes that go idle after their suspend
 * timeout on the (scaled) sim clock, accruing consumption while active
 * (operations, whose status follows the real clock: operations.c).
 *
 * Callers hold s->mu. Projects live in an array in creation order (the
 * list order; a project's seq is its cursor), indexed by id.
 */
#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "sim/sim.h"

const sim_region SIM_REGIONS[] = {
	{"aws-us-east-1", "AWS US East (N. Virginia)", "38.9940541", "-77.4524237"},
	{"aws-us-east-2", "AWS US East (Ohio)", "39.9612", "-82.9988"},
	{"aws-us-west-2", "AWS US West (Oregon)", "45.5152", "-122.6784"},
	{"aws-eu-central-1", "AWS Europe (Frankfurt)", "50.1109", "8.6821"},
	{"aws-eu-west-2", "AWS Europe (London)", "51.5072", "-0.1276"},
	{"aws-ap-southeast-1", "AWS Asia Pacific (Singapore)", "1.3521", "103.8198"},
	{"aws-ap-southeast-2", "AWS Asia Pacific (Sydney)", "-33.8688", "151.2093"},
	{"aws-sa-east-1", "AWS South America (São Paulo)", "-23.5558", "-46.6396"},
	{"azure-eastus2", "Azure East US 2 (Virginia)", "36.6681", "-78.3889"},
	{"azure-westus3", "Azure West US 3 (Arizona)", "33.4484", "-112.0740"},
	{"azure-gwc", "Azure Germany West Central (Frankfurt)", "50.1109", "8.6821"},
};
const size_t SIM_NREGIONS = ARRAY_LEN(SIM_REGIONS);

bool sim_region_exists(const char *id)
{
	for (size_t i = 0; i < SIM_NREGIONS; i++)
		if (strcmp(SIM_REGIONS[i].id, id) == 0)
			return true;
	return false;
}

/* ------------------------------------------------------------------ time */

int64_t sim_now(const sim_store *s)
{
	double elapsed = (double)(mono_ms() - s->mono_start_ms) / 1000.0;
	return s->wall_start + (int64_t)floor(elapsed * s->cfg->time_scale);
}

void sim_time_format(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int64_t sim_month_start(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	tm.tm_mday = 1;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	return (int64_t)timegm(&tm);
}

int64_t sim_months_add(int64_t t, int n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	tm.tm_mon += n;
	return (int64_t)timegm(&tm);
}

/* Exactly n decimal digits at s, as a number; -1 when they are not. */
static int digits(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int sim_time_parse(const char *s, int64_t *out)
{
	/* YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM) */
	if (!s || strlen(s) < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':')
		return -1;
	int year = digits(s, 4), mon = digits(s + 5, 2), day = digits(s + 8, 2);
	int hour = digits(s + 11, 2), min = digits(s + 14, 2), sec = digits(s + 17, 2);
	if (year < 0 || mon < 1 || mon > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 || min < 0 ||
	    min > 59 || sec < 0 || sec > 60)
		return -1;
	const char *p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	int64_t offset = 0;
	if ((*p == 'Z' || *p == 'z') && p[1] == 0) {
		offset = 0;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
		int oh = digits(p + 1, 2), om = digits(p + 4, 2);
		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return -1;
		offset = (*p == '+' ? 1 : -1) * (int64_t)(oh * 3600 + om * 60);
	} else {
		return -1;
	}
	time_t t = (time_t)unit_utc_seconds(year, mon, day, hour, min, sec);
	/* timegm normalises: 2026-02-30 comes back as March */
	struct tm back;
	gmtime_r(&t, &back);
	if (back.tm_mday != day && sec != 60)
		return -1;
	*out = (int64_t)t - offset;
	return 0;
}

/* ------------------------------------------------------------------- ids */

uint64_t sim_rand(uint64_t *state)
{
	/* splitmix64: small, fast, and the same sequence for the same seed */
	uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

double sim_rand01(uint64_t *state)
{
	return (double)(sim_rand(state) >> 11) / 9007199254740992.0;
}

static const char *const ADJ[] = {"hidden", "autumn", "broad", "calm", "cool", "crimson", "damp", "dawn",
				  "floral", "frosty", "gentle", "holy", "icy", "lively", "misty", "muddy",
				  "noisy", "odd", "patient", "plain", "quiet", "rapid", "round", "shiny",
				  "silent", "small", "snowy", "solitary", "steep", "still", "twilight", "wispy"};
static const char *const NOUN[] = {"river", "band", "bird", "breeze", "brook", "bush", "cake", "cloud",
				   "darkness", "dew", "dream", "dust", "field", "fire", "flower", "fog",
				   "forest", "frog", "glade", "grass", "haze", "hill", "lake", "leaf",
				   "meadow", "moon", "morning", "mountain", "night", "pond", "rain", "sea"};

/* Reserve a generated id: true when it was new. */
static bool claim(sim_store *s, char *id)
{
	if (strmap_get(s->ids, id))
		return false;
	if (s->nidkeys == s->capidkeys)
		s->idkeys = xgrow(s->idkeys, &s->capidkeys, s->nidkeys + 1, sizeof(*s->idkeys));
	char *key = xstrdup(id);
	s->idkeys[s->nidkeys++] = key;
	strmap_put(s->ids, key, (void *)1);
	return true;
}

void *sim_grow(void *p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return p;
	size_t ncap = *cap ? *cap : 1;
	while (ncap < need)
		ncap *= 2;
	*cap = ncap;
	return xrealloc(p, ncap * size);
}

void sim_id_claim(sim_store *s, const char *id)
{
	char tmp[64];
	str_copy(tmp, id, sizeof(tmp));
	claim(s, tmp);
}

void sim_gen_project_id(sim_store *s, char out[64])
{
	do {
		uint64_t r = sim_rand(&s->rng);
		snprintf(out, 64, "%s-%s-%08" PRIu64, ADJ[r % ARRAY_LEN(ADJ)], NOUN[(r >> 8) % ARRAY_LEN(NOUN)],
			 (r >> 16) % 100000000);
	} while (!claim(s, out));
}

void sim_gen_id(sim_store *s, const char *prefix, char out[64])
{
	do {
		uint64_t r = sim_rand(&s->rng);
		snprintf(out, 64, "%s-%s-%s-%08" PRIx64, prefix, ADJ[r % ARRAY_LEN(ADJ)],
			 NOUN[(r >> 8) % ARRAY_LEN(NOUN)], (uint64_t)((r >> 16) & 0xffffffffu));
	} while (!claim(s, out));
}

void sim_gen_uuid(sim_store *s, char out[37])
{
	uint64_t a = sim_rand(&s->rng), b = sim_rand(&s->rng);
	a = (a & 0xffffffffffff0fffull) | 0x4000ull;         /* version 4 */
	b = (b & 0x3fffffffffffffffull) | 0x8000000000000000ull; /* variant 10 */
	snprintf(out, 37, "%08" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%012" PRIx64, a >> 32,
		 (a >> 16) & 0xffff, a & 0xffff, b >> 48, (uint64_t)(b & 0xffffffffffffull));
}

void sim_gen_password(sim_store *s, char out[17])
{
	static const char alphabet[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	for (int i = 0; i < 16; i++)
		out[i] = alphabet[sim_rand(&s->rng) % (sizeof(alphabet) - 1)];
	out[16] = 0;
}

/* aws-us-east-2 -> us-east-2.aws.neon.tech; azure-gwc -> gwc.azure.neon.tech */
void sim_region_proxy_host(const char *region_id, char *out, size_t size)
{
	const char *dash = strchr(region_id, '-');
	if (!dash) {
		snprintf(out, size, "%s.neon.tech", region_id);
		return;
	}
	snprintf(out, size, "%s.%.*s.neon.tech", dash + 1, (int)(dash - region_id), region_id);
}

void sim_endpoint_host(const sim_endpoint *e, const char *region_id, bool pooler, char *out, size_t size)
{
	char proxy[128];
	sim_region_proxy_host(region_id, proxy, sizeof(proxy));
	snprintf(out, size, "%s%s.%s", e->id, pooler ? "-pooler" : "", proxy);
}

/* ----------------------------------------------------------------- store */

int sim_store_init(sim_store *s, const sim_config *cfg)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	s->cfg = cfg;
	s->by_id = strmap_new();
	s->by_name_count = strmap_new();
	s->endpoints = strmap_new();
	s->ids = strmap_new();
	s->rng = cfg->seed;
	s->fault_rng = cfg->seed ^ 0x5eed;
	s->stats.requests = json_object();
	sim_faults_from_config(&s->faults, cfg);
	s->next_seq = 1;
	s->wall_start = (int64_t)time(NULL);
	s->mono_start_ms = mono_ms();
	return 0;
}

static void free_branch(sim_branch *b)
{
	for (size_t i = 0; i < b->nroles; i++) {
		free(b->roles[i].name);
		free(b->roles[i].password);
	}
	for (size_t i = 0; i < b->ndbs; i++) {
		free(b->dbs[i].name);
		free(b->dbs[i].owner);
	}
	free(b->roles);
	free(b->dbs);
	free(b->id);
	free(b->name);
	free(b->parent_id);
	free(b->parent_lsn);
	free(b->parent_timestamp);
	free(b->init_source);
	free(b->restored_from);
	free(b->restored_as);
	free(b->writes);
	json_decref(b->annotations);
	json_decref(b->backup_schedule);
}

static void free_endpoint(sim_endpoint *e)
{
	free(e->id);
	free(e->branch_id);
	free(e->name);
	json_decref(e->settings);
}

static void free_project(sim_project *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nbranches; i++)
		free_branch(&p->branches[i]);
	for (size_t i = 0; i < p->nendpoints; i++)
		free_endpoint(&p->endpoints[i]);
	for (size_t i = 0; i < p->nsnaps; i++) {
		free(p->snaps[i].id);
		free(p->snaps[i].name);
		free(p->snaps[i].source_branch_id);
	}
	free(p->snaps);
	free(p->branches);
	free(p->endpoints);
	free(p->ops);
	free(p->usage);
	free(p->id);
	free(p->name);
	free(p->region_id);
	free(p->org_id);
	json_decref(p->settings);
	json_decref(p->default_endpoint_settings);
	free(p);
}

/* How many projects (live or recoverable) carry a name: the map's key is
 * the entry's own copy, so renames and frees never leave it dangling. */
typedef struct name_count {
	char *name;
	intptr_t n;
} name_count;

static void free_name_counts(sim_store *s)
{
	for (size_t i = 0; i < s->nprojects; i++) {
		sim_project *p = s->projects[i];
		name_count *nc = p ? strmap_del(s->by_name_count, p->name) : NULL;
		if (nc) {
			free(nc->name);
			free(nc);
		}
	}
}

static void free_id_keys(sim_store *s)
{
	for (size_t i = 0; i < s->nidkeys; i++)
		free(s->idkeys[i]);
	free(s->idkeys);
	s->idkeys = NULL;
	s->nidkeys = s->capidkeys = 0;
}

static void clear(sim_store *s)
{
	free_name_counts(s);
	for (size_t i = 0; i < s->nprojects; i++)
		free_project(s->projects[i]);
	free(s->projects);
	s->projects = NULL;
	s->nprojects = s->capprojects = 0;
	s->live = s->deleted = 0;
	strmap_free(s->by_id);
	strmap_free(s->by_name_count);
	strmap_free(s->endpoints);
	strmap_free(s->ids);
	free_id_keys(s);
	s->by_id = strmap_new();
	s->by_name_count = strmap_new();
	s->endpoints = strmap_new();
	s->ids = strmap_new();
}

void sim_store_reset(sim_store *s)
{
	clear(s);
	json_decref(s->stats.requests);
	memset(&s->stats, 0, sizeof(s->stats));
	s->stats.requests = json_object();
	sim_faults_from_config(&s->faults, s->cfg);
	sim_activity_reset(s);
	sim_notify_clear(s);
	s->rng = s->cfg->seed;
	s->fault_rng = s->cfg->seed ^ 0x5eed;
	s->next_seq = 1;
	s->db_seq = 0;
	if (s->persist)
		sim_persist_clear(s);
}

void sim_store_release(sim_store *s)
{
	clear(s);
	strmap_free(s->by_id);
	strmap_free(s->by_name_count);
	strmap_free(s->endpoints);
	strmap_free(s->ids);
	free_id_keys(s);
	json_decref(s->stats.requests);
	sim_notify_clear(s);
	pthread_mutex_destroy(&s->mu);
}

/* -------------------------------------------------------------- projects */

void sim_name_count_add(sim_store *s, const char *name, intptr_t delta)
{
	name_count *nc = strmap_get(s->by_name_count, name);
	if (!nc) {
		if (delta <= 0)
			return;
		nc = xcalloc(1, sizeof(*nc));
		nc->name = xstrdup(name);
		strmap_put(s->by_name_count, nc->name, nc);
	}
	nc->n += delta;
	if (nc->n <= 0) {
		strmap_del(s->by_name_count, name);
		free(nc->name);
		free(nc);
	}
}

intptr_t sim_name_count(sim_store *s, const char *name)
{
	name_count *nc = strmap_get(s->by_name_count, name);
	return nc ? nc->n : 0;
}

sim_project *sim_project_find_any(sim_store *s, const char *id)
{
	return strmap_get(s->by_id, id);
}

sim_project *sim_project_find(sim_store *s, const char *id)
{
	sim_project *p = strmap_get(s->by_id, id);
	return p && !p->deleted_at ? p : NULL;
}

sim_project *sim_project_new(sim_store *s, const char *name)
{
	sim_project *p = xcalloc(1, sizeof(*p));
	char id[64];
	sim_gen_project_id(s, id);
	p->seq = s->next_seq++;
	p->id = xstrdup(id);
	p->name = xstrdup(name && *name ? name : id);
	p->pg_version = 17;
	p->history_retention = sim_default_retention(s->cfg);
	p->store_passwords = true;
	p->settings = json_object();
	p->default_endpoint_settings = json_object();
	p->created_at = p->updated_at = sim_now(s);
	if (s->nprojects == s->capprojects)
		s->projects = xgrow(s->projects, &s->capprojects, s->nprojects + 1, sizeof(*s->projects));
	s->projects[s->nprojects++] = p;
	strmap_put(s->by_id, p->id, p);
	sim_name_count_add(s, p->name, 1);
	s->live++;
	return p;
}

void sim_project_adopt(sim_store *s, sim_project *p)
{
	if (s->nprojects == s->capprojects)
		s->projects = xgrow(s->projects, &s->capprojects, s->nprojects + 1, sizeof(*s->projects));
	s->projects[s->nprojects++] = p;
	if (p->seq >= s->next_seq)
		s->next_seq = p->seq + 1;
	sim_id_claim(s, p->id);
	strmap_put(s->by_id, p->id, p);
	sim_name_count_add(s, p->name, 1);
	for (size_t i = 0; i < p->nbranches; i++)
		sim_id_claim(s, p->branches[i].id);
	for (size_t i = 0; i < p->nsnaps; i++)
		sim_id_claim(s, p->snaps[i].id);
	for (size_t i = 0; i < p->nendpoints; i++) {
		sim_id_claim(s, p->endpoints[i].id);
		strmap_put(s->endpoints, p->endpoints[i].id, p);
	}
	for (size_t i = 0; i < p->nbranches; i++)
		for (size_t k = 0; k < p->branches[i].ndbs; k++)
			if (p->branches[i].dbs[k].id - 1000000 > s->db_seq)
				s->db_seq = p->branches[i].dbs[k].id - 1000000;
	if (p->deleted_at)
		s->deleted++;
	else
		s->live++;
}

void sim_project_delete(sim_store *s, sim_project *p)
{
	int64_t now = sim_now(s);
	sim_project_accrue(s, p, now);
	p->deleted_at = now;
	s->live--;
	s->deleted++;
}

void sim_project_recover(sim_store *s, sim_project *p)
{
	p->deleted_at = 0;
	p->updated_at = sim_now(s);
	s->live++;
	s->deleted--;
}

/* Remove p from every index and free it; its array slot becomes a hole. */
static void drop(sim_store *s, size_t index)
{
	sim_project *p = s->projects[index];
	for (size_t i = 0; i < p->nendpoints; i++)
		strmap_del(s->endpoints, p->endpoints[i].id);
	strmap_del(s->by_id, p->id);
	sim_name_count_add(s, p->name, -1);
	if (s->persist)
		sim_persist_remove(s, p->id);
	if (p->deleted_at)
		s->deleted--;
	else
		s->live--;
	free_project(p);
	s->projects[index] = NULL;
}

void sim_store_expire(sim_store *s)
{
	if (!s->deleted)
		return;
	int64_t now = sim_now(s);
	size_t kept = 0;
	for (size_t i = 0; i < s->nprojects; i++) {
		sim_project *p = s->projects[i];
		if (p && p->deleted_at && now - p->deleted_at >= s->cfg->recover_window_s)
			drop(s, i);
		if (s->projects[i])
			s->projects[kept++] = s->projects[i];
	}
	s->nprojects = kept;
}

/* -------------------------------------------------------------- branches */

sim_branch *sim_branch_find(sim_project *p, const char *id)
{
	for (size_t i = 0; i < p->nbranches; i++)
		if (strcmp(p->branches[i].id, id) == 0)
			return &p->branches[i];
	return NULL;
}

sim_branch *sim_branch_find_name(sim_project *p, const char *name)
{
	for (size_t i = 0; i < p->nbranches; i++)
		if (strcmp(p->branches[i].name, name) == 0)
			return &p->branches[i];
	return NULL;
}

sim_branch *sim_branch_default(sim_project *p)
{
	for (size_t i = 0; i < p->nbranches; i++)
		if (p->branches[i].is_default)
			return &p->branches[i];
	return p->nbranches ? &p->branches[0] : NULL;
}

sim_branch *sim_branch_add(sim_store *s, sim_project *p, const char *name)
{
	if (p->nbranches == p->capbranches)
		p->branches = sim_grow(p->branches, &p->capbranches, p->nbranches + 1, sizeof(*p->branches));
	sim_branch *b = &p->branches[p->nbranches++];
	memset(b, 0, sizeof(*b));
	char id[64];
	sim_gen_id(s, "br", id);
	b->id = xstrdup(id);
	b->name = xstrdup(name);
	b->created_at = b->updated_at = sim_now(s);
	return b;
}

void sim_branch_remove(sim_project *p, sim_branch *b)
{
	size_t i = (size_t)(b - p->branches);
	free_branch(b);
	memmove(&p->branches[i], &p->branches[i + 1], (p->nbranches - i - 1) * sizeof(*b));
	p->nbranches--;
}

/* ------------------------------------------------------------- endpoints */

sim_endpoint *sim_endpoint_find(sim_project *p, const char *id)
{
	for (size_t i = 0; i < p->nendpoints; i++)
		if (strcmp(p->endpoints[i].id, id) == 0)
			return &p->endpoints[i];
	return NULL;
}

sim_endpoint *sim_endpoint_add(sim_store *s, sim_project *p, const char *branch_id, bool read_write)
{
	if (p->nendpoints == p->capendpoints) {
		/* the index points at projects, not endpoints, so growing is safe */
		p->endpoints = sim_grow(p->endpoints, &p->capendpoints, p->nendpoints + 1, sizeof(*p->endpoints));
	}
	sim_endpoint *e = &p->endpoints[p->nendpoints++];
	memset(e, 0, sizeof(*e));
	char id[64];
	sim_gen_id(s, "ep", id);
	e->id = xstrdup(id);
	e->branch_id = xstrdup(branch_id);
	e->read_write = read_write;
	e->min_cu = e->max_cu = 0.25;
	e->created_at = e->updated_at = sim_now(s);
	strmap_put(s->endpoints, e->id, p);
	return e;
}

sim_endpoint *sim_endpoint_rw(sim_project *p, const char *branch_id)
{
	for (size_t i = 0; i < p->nendpoints; i++)
		if (p->endpoints[i].read_write && strcmp(p->endpoints[i].branch_id, branch_id) == 0)
			return &p->endpoints[i];
	return NULL;
}

void sim_endpoint_remove(sim_store *s, sim_project *p, sim_endpoint *e)
{
	sim_project_accrue(s, p, sim_now(s));
	strmap_del(s->endpoints, e->id);
	size_t i = (size_t)(e - p->endpoints);
	free_endpoint(e);
	memmove(&p->endpoints[i], &p->endpoints[i + 1], (p->nendpoints - i - 1) * sizeof(*e));
	p->nendpoints--;
}

/* ------------------------------------------------------ roles, databases */

sim_role *sim_role_find(sim_branch *b, const char *name)
{
	for (size_t i = 0; i < b->nroles; i++)
		if (strcmp(b->roles[i].name, name) == 0)
			return &b->roles[i];
	return NULL;
}

sim_role *sim_role_add(sim_store *s, sim_project *p, sim_branch *b, const char *name, bool no_login)
{
	(void)p;
	if (b->nroles == b->caproles)
		b->roles = sim_grow(b->roles, &b->caproles, b->nroles + 1, sizeof(*b->roles));
	sim_role *r = &b->roles[b->nroles++];
	memset(r, 0, sizeof(*r));
	char pw[17];
	sim_gen_password(s, pw);
	r->name = xstrdup(name);
	r->password = no_login ? NULL : xstrdup(pw);
	r->no_login = no_login;
	r->created_at = r->updated_at = sim_now(s);
	return r;
}

void sim_role_remove(sim_branch *b, sim_role *r)
{
	size_t i = (size_t)(r - b->roles);
	free(r->name);
	free(r->password);
	memmove(&b->roles[i], &b->roles[i + 1], (b->nroles - i - 1) * sizeof(*r));
	b->nroles--;
}

sim_database *sim_db_find(sim_branch *b, const char *name)
{
	for (size_t i = 0; i < b->ndbs; i++)
		if (strcmp(b->dbs[i].name, name) == 0)
			return &b->dbs[i];
	return NULL;
}

sim_database *sim_db_add(sim_store *s, sim_project *p, sim_branch *b, const char *name, const char *owner)
{
	if (b->ndbs == b->capdbs)
		b->dbs = sim_grow(b->dbs, &b->capdbs, b->ndbs + 1, sizeof(*b->dbs));
	sim_database *d = &b->dbs[b->ndbs++];
	memset(d, 0, sizeof(*d));
	(void)p;
	d->id = ++s->db_seq + 1000000;
	d->name = xstrdup(name);
	d->owner = xstrdup(owner);
	d->created_at = d->updated_at = sim_now(s);
	return d;
}

void sim_db_remove(sim_branch *b, sim_database *d)
{
	size_t i = (size_t)(d - b->dbs);
	free(d->name);
	free(d->owner);
	memmove(&b->dbs[i], &b->dbs[i + 1], (b->ndbs - i - 1) * sizeof(*d));
	b->ndbs--;
}

/* --------------------------------------------------- scale to zero, usage */

static int64_t timeout_of(const sim_endpoint *e)
{
	return e->suspend_timeout == 0 ? 300 : e->suspend_timeout;
}

int64_t sim_endpoint_idle_at(const sim_endpoint *e)
{
	if (e->suspended || e->disabled || !e->last_active)
		return 0;
	int64_t t = timeout_of(e);
	return t < 0 ? INT64_MAX : e->last_active + t;
}

bool sim_endpoint_active(const sim_store *s, const sim_endpoint *e, int64_t now)
{
	(void)s;
	int64_t until = sim_endpoint_idle_at(e);
	return until && now < until;
}

static void usage_add(sim_project *p, int64_t hour, int64_t active, int64_t compute)
{
	for (size_t i = 0; i < p->nusage; i++)
		if (p->usage[i].hour == hour) {
			p->usage[i].active_seconds += active;
			p->usage[i].compute_seconds += compute;
			return;
		}
	if (p->nusage == p->capusage)
		p->usage = sim_grow(p->usage, &p->capusage, p->nusage + 1, sizeof(*p->usage));
	p->usage[p->nusage].hour = hour;
	p->usage[p->nusage].active_seconds = active;
	p->usage[p->nusage].compute_seconds = compute;
	p->nusage++;
}

/*
 * Account e's active time between e->accrued_to and now, split by hour.
 * compute_time_seconds is CPU seconds: active seconds times the compute's
 * size, taken at its minimum (the sim runs no load that would scale it up).
 */
static void accrue(sim_project *p, sim_endpoint *e, int64_t now)
{
	int64_t until = sim_endpoint_idle_at(e);
	int64_t from = e->accrued_to > e->started_at ? e->accrued_to : e->started_at;
	int64_t to = until && until < now ? until : now;
	if (!until || to <= from) {
		e->accrued_to = now;
		return;
	}
	while (from < to) {
		int64_t hour = from - from % 3600;
		int64_t end = hour + 3600 < to ? hour + 3600 : to;
		int64_t secs = end - from;
		int64_t cpu = (int64_t)llround((double)secs * e->min_cu);
		usage_add(p, hour, secs, cpu);
		p->active_seconds += secs;
		p->compute_seconds += cpu;
		from = end;
	}
	e->accrued_to = now;
}

void sim_project_accrue(sim_store *s, sim_project *p, int64_t now)
{
	(void)s;
	if (p->deleted_at)
		return;
	for (size_t i = 0; i < p->nendpoints; i++)
		accrue(p, &p->endpoints[i], now);
}

void sim_endpoint_start(sim_store *s, sim_project *p, sim_endpoint *e)
{
	int64_t now = sim_now(s);
	accrue(p, e, now);
	if (!sim_endpoint_active(s, e, now))
		e->started_at = now;
	e->suspended = false;
	e->last_active = now;
	e->accrued_to = now;
}

void sim_endpoint_connect(sim_store *s, sim_project *p, sim_endpoint *e)
{
	if (!sim_endpoint_active(s, e, sim_now(s)))
		s->stats.cold_starts++;
	sim_endpoint_start(s, p, e);
}

void sim_endpoint_suspend(sim_store *s, sim_project *p, sim_endpoint *e)
{
	int64_t now = sim_now(s);
	accrue(p, e, now);
	if (sim_endpoint_active(s, e, now))
		e->last_active = now;
	e->suspended = true;
}
