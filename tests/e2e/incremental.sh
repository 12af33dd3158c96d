#!/usr/bin/env bash
# incremental.sh FLOTILLA SRCROOT: `flotilla plan --changed-since` on real
# git repositories and a real state (a file, or a PostgreSQL schema with
# E2E_STATE=postgres: lib.sh's st; no API call: --refresh=none):
#   - a plan writes the manifest index of its commit;
#   - since a commit the index describes, only the changed files are loaded
#     (a partial load), and the tenants considered are those of the changed
#     files plus those the changed files defined before (a removed, mapped
#     tenant is noticed);
#   - the same plan through a full load (index of another commit) lists
#     exactly the same actions;
#   - a changed file defining a tenant that an unchanged file defines is
#     refused as by a full load ("defined twice"), and the index stays;
#   - a profile change considers the profile's tenants, a flotilla.yaml
#     change every tenant;
#   - --changed-since last-applied, and the selector term changed-since=.
set -uo pipefail
flotilla=$(realpath "$1")
src=$(realpath "$2")
# no sim here (no `sim` or `key`)
. "$(dirname "$0")/lib.sh"
git_sandbox
unset NEON_API_KEY NEON_API_HOST

repo=$tmp/repo
state=$(st "$tmp/state.db")
mkrepo "$repo" "$src/examples/fleet"
c1=$(git -C "$repo" rev-parse HEAD)
plan() { "$flotilla" plan --repo "$repo" --state "$state" --refresh=none "$@"; }
# actions FILE: "kind tenant" lines of a JSON plan, sorted
actions() { python3 -c 'import json,sys; [print(a["kind"], a["tenant"]) for a in json.load(open(sys.argv[1]))["actions"]]' "$1" | sort; }
index_commit() { st_sql "$state" "SELECT value FROM meta WHERE key = 'manifest_index_commit'"; }
index_dump() {
	st_sql "$state" "SELECT tenant, path FROM manifest_index ORDER BY tenant" &&
		st_sql "$state" "SELECT path FROM manifest_extra ORDER BY path"
}

# ------------------------------------------------------------ the index
if plan >/dev/null 2>"$tmp/err" && [ "$(index_commit)" = "$c1" ] &&
	[ "$(st_sql "$state" 'SELECT count(*) FROM manifest_index')" = 15 ] &&
	[ "$(st_sql "$state" "SELECT path FROM manifest_index WHERE tenant = 'fabrikam'")" = tenants/us/pro/fabrikam.yaml ] &&
	[ "$(st_sql "$state" 'SELECT path FROM manifest_extra ORDER BY path' | paste -sd,)" = \
		flotilla.yaml,profiles/enterprise.yaml,profiles/free.yaml,profiles/pro.yaml ]; then
	ok "a full plan writes the manifest index of its commit"
else
	fail "index" "$(index_commit); $(cat "$tmp/err")"
fi
index_dump >"$tmp/index-c1"

# ------------------------------------------- modify, add, remove (mapped)
st_sql "$state" "INSERT INTO tenants (tenant, project_id, fleet, source, mapped_at, protect) VALUES
	('blue-yonder', 'proj-by-1', 'acme-saas', 'create', 0, 0),
	('contoso', 'proj-co-1', 'acme-saas', 'create', 0, 0)"
edit "$repo/tenants/us/pro/fabrikam.yaml" "computeTime: 1000h" "computeTime: 1200h"
cat >"$repo/tenants/us/newco.yaml" <<'EOF'
apiVersion: flotilla/v1
kind: Tenant
metadata:
  name: newco
spec: {}
EOF
git -C "$repo" rm -q tenants/ap/pro/blue-yonder.yaml
commit "$repo" "edit fabrikam, add newco, remove blue-yonder"
c2=$(git -C "$repo" rev-parse HEAD)
want=$'create fabrikam\ncreate newco\norphan blue-yonder'
if plan --changed-since "$c1" --verbose --format json >"$tmp/p2.json" 2>"$tmp/err" &&
	grep -q "3 paths changed since ${c1:0:12}; 3 tenants considered (partial load)" "$tmp/err" &&
	grep -q "^plan: 6 manifest files, 2 parsed, 4 from the parse cache" "$tmp/err" &&
	[ "$(actions "$tmp/p2.json")" = "$want" ] && [ "$(index_commit)" = "$c2" ] &&
	[ "$(st_sql "$state" "SELECT count(*) FROM manifest_index WHERE tenant = 'blue-yonder'")" = 0 ] &&
	[ "$(st_sql "$state" "SELECT path FROM manifest_index WHERE tenant = 'newco'")" = tenants/us/newco.yaml ]; then
	ok "since an indexed commit: a partial load of 6 files, the 3 tenants changed (the removed one orphaned)"
else
	fail "partial" "$(cat "$tmp/err"; actions "$tmp/p2.json" 2>&1; index_commit)"
fi

# a full plan of c1 moves the index back by the files changed between c2
# and c1: the same index as written whole at c1
plan --ref "$c1" >/dev/null 2>&1
if [ "$(index_commit)" = "$c1" ] && [ "$(index_dump)" = "$(cat "$tmp/index-c1")" ]; then
	ok "a full plan of another commit moves the index by the changed files alone, to the same index"
else
	fail "index moved" "$(index_commit); $(diff <(index_dump) "$tmp/index-c1")"
fi
# the same plan through a full load: an index of no known commit
st_sql "$state" "UPDATE meta SET value = 'elsewhere' WHERE key = 'manifest_index_commit'"
if plan --changed-since "$c1" --verbose --format json >"$tmp/p2full.json" 2>"$tmp/err" &&
	grep -q "3 tenants considered (full load)" "$tmp/err" &&
	[ "$(actions "$tmp/p2full.json")" = "$want" ] && [ "$(index_commit)" = "$c2" ]; then
	ok "the same changes through a full load plan the same actions"
else
	fail "full" "$(cat "$tmp/err"; actions "$tmp/p2full.json" 2>&1)"
fi

# ------------------------------------------------ defined twice: refused
cat >"$repo/tenants/eu/dup.yaml" <<'EOF'
apiVersion: flotilla/v1
kind: Tenant
metadata:
  name: proseware
spec: {}
EOF
commit "$repo" "proseware again"
if plan --changed-since "$c2" >"$tmp/out" 2>"$tmp/err"; then
	fail "twice" "planned: $(cat "$tmp/out")"
elif grep -q "defined twice" "$tmp/err" && grep -q "tenants/eu/dup.yaml" "$tmp/err" && [ "$(index_commit)" = "$c2" ]; then
	ok "a tenant defined again in an unchanged file is refused as by a full load; the index stays"
else
	fail "twice" "$(cat "$tmp/err"; index_commit)"
fi
git -C "$repo" reset -q --hard "$c2"

# ----------------------------------------------------- a profile changed
sed -i 's/^\(  *\)maxCu: \(.*\)$/\1maxCu: \2 # touched/' "$repo/profiles/pro.yaml"
git -C "$repo" commit -qam "touch the pro profile"
want=$(python3 - "$repo" <<'EOF'
import os, re, sys
names = []
for d, _, fs in os.walk(os.path.join(sys.argv[1], "tenants")):
    for f in fs:
        for doc in open(os.path.join(d, f)).read().split("\n---"):
            m = re.search(r"^  name: (\S+)", doc, re.M)
            if m and re.search(r"^  profile: pro\b", doc, re.M):
                names.append("create " + m.group(1))
print("\n".join(sorted(names)))
EOF
)
if plan --changed-since "$c2" --verbose --format json >"$tmp/p3.json" 2>"$tmp/err" &&
	grep -q "(full load)" "$tmp/err" && [ -n "$want" ] && [ "$(actions "$tmp/p3.json")" = "$want" ]; then
	ok "a profile change considers the profile's $(echo "$want" | wc -l) tenants"
else
	fail "profile" "want [$want] got [$(actions "$tmp/p3.json" 2>&1)] $(cat "$tmp/err")"
fi
c3=$(git -C "$repo" rev-parse HEAD)

# ------------------------------------------------- flotilla.yaml changed
sed -i 's/^  maxDeletesPerRun: .*/  maxDeletesPerRun: 7/' "$repo/flotilla.yaml"
git -C "$repo" commit -qam "fleet setting"
n=$(plan --changed-since "$c3" --format json 2>"$tmp/err" | python3 -c 'import json,sys; p=json.load(sys.stdin); print(len(p["actions"]))')
if [ "$n" = 16 ]; then # 15 - blue-yonder + newco = 15 creates, and blue-yonder orphaned
	ok "a flotilla.yaml change considers every tenant"
else
	fail "fleet file" "$n actions; $(cat "$tmp/err")"
fi
c4=$(git -C "$repo" rev-parse HEAD)

# ------------------------------------------------ last-applied, selector
if plan --changed-since last-applied >"$tmp/out" 2>"$tmp/err"; then
	fail "last-applied" "planned without an applied commit"
elif grep -q "nothing has been applied from this state yet" "$tmp/err"; then
	ok "--changed-since last-applied without an apply says so"
else
	fail "last-applied" "$(cat "$tmp/err")"
fi
st_sql "$state" "INSERT INTO meta (key, value) VALUES ('last_applied_commit', '$c4')"
edit "$repo/tenants/us/pro/fabrikam.yaml" "computeTime: 1200h" "computeTime: 1300h"
git -C "$repo" commit -qam "fabrikam again"
if plan --changed-since last-applied --verbose --format json >"$tmp/p4.json" 2>"$tmp/err" &&
	grep -q "1 path changed since ${c4:0:12}; 1 tenant considered (partial load)" "$tmp/err" &&
	[ "$(actions "$tmp/p4.json")" = "create fabrikam" ]; then
	ok "--changed-since last-applied plans since the commit apply recorded"
else
	fail "last-applied" "$(cat "$tmp/err"; actions "$tmp/p4.json" 2>&1)"
fi
if plan --select "changed-since=$c4,name=fab*" --format json >"$tmp/p5.json" 2>"$tmp/err" &&
	[ "$(actions "$tmp/p5.json")" = "create fabrikam" ] &&
	plan --select "changed-since=$c4,name=other*" --format json >"$tmp/p6.json" 2>"$tmp/err" &&
	[ -z "$(actions "$tmp/p6.json")" ]; then
	ok "the selector term changed-since= combines with name="
else
	fail "selector" "$(cat "$tmp/err")"
fi
if plan --select "changed-since=$c4" --changed-since "$c4" >"$tmp/out" 2>"$tmp/err"; then
	fail "both" "accepted"
elif grep -q "both given" "$tmp/err"; then
	ok "--changed-since and the selector term together are refused"
else
	fail "both" "$(cat "$tmp/err")"
fi
# ------------------------------- a parse cache that cannot be written
# every insert fails (a trigger): the plan is the same, with a warning, and
# the next plan parses again (nothing half-written is ever read back)
st_sql "$state" "DELETE FROM parse_cache"
if st_pg; then
	st_sql "$state" "CREATE FUNCTION no_cache() RETURNS trigger LANGUAGE plpgsql AS
		\$\$BEGIN RAISE EXCEPTION 'disk says no'; END\$\$;
		CREATE TRIGGER no_cache BEFORE INSERT ON parse_cache FOR EACH ROW EXECUTE FUNCTION no_cache()"
else
	st_sql "$state" "CREATE TRIGGER no_cache BEFORE INSERT ON parse_cache
		BEGIN SELECT RAISE(ABORT, 'disk says no'); END"
fi
if plan --format json --verbose >"$tmp/p7.json" 2>"$tmp/err" && grep -q "cannot save the parse cache" "$tmp/err" &&
	grep -q "disk says no" "$tmp/err" && [ "$(st_sql "$state" 'SELECT count(*) FROM parse_cache')" = 0 ] &&
	[ "$(actions "$tmp/p7.json" | wc -l)" = 16 ] &&
	plan --verbose >/dev/null 2>"$tmp/err2" && grep -q "^plan: 13 manifest files, 13 parsed, 0 from the parse cache" "$tmp/err2"; then
	ok "a parse cache that cannot be written: the plan still succeeds, with a warning"
else
	fail "cache write" "$(cat "$tmp/err" "$tmp/err2")"
fi
finish
