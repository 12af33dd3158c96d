#!/usr/bin/env bash
# status.sh [N]: the daemon's status page (docs/daemon.md, "Status page")
# at N tenants (default 100000): page views per second and latency
# percentiles of GET / (and of a search, a state filter and /api/status),
# measured with wrk --latency, plus the in-process cost of one render.
#
# Method, printed with the figures: the page reads only the status
# document the daemon publishes, so the server under load is the daemon's
# own HTTP server (serve/httpd.c + serve/status.c, the same code) in
# bench/status-serve, with one document published, and no daemon loop
# beside it. The document is, in order of preference:
#   DOC=FILE     a document as `flotilla status --format json` prints it;
#   STATE=FILE   made here by `flotilla status --format json --state FILE`
#                (e.g. the state file bench/daemon.sh keeps with KEEP=DIR);
#   otherwise    a synthetic one in the producer's shape, N tenants of which
#                NOT_SYNCED (default 8000) are not synced, so that its list
#                is at the producer's cap of 5,000 rows: the page's worst
#                case, whatever N (a page's cost follows the listed rows,
#                not the fleet's size).
# Load: wrk -t2 -c${CONNS:-16} for ${DURATION:-15}s per URL (closed loop:
# as many views as the server gives, which bounds the 100/s target from
# above), then -c1 for the unloaded latency. Both cores are shared between
# wrk and the server, as on a 2-core host. Takes about 2 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

n=${1:-100000}
not_synced=${NOT_SYNCED:-8000}
duration=${DURATION:-15}
conns=${CONNS:-16}
build=${BUILD:-build-bench} # BUILD=DIR: another build directory

for tool in wrk python3 curl; do
	command -v $tool >/dev/null || { echo "status.sh: needs $tool" >&2; exit 1; }
done
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" --buildtype=release -Dtests=false >/dev/null
fi
ninja -C "$build" bench/status-serve reconciler/flotilla >/dev/null
serve=$(pwd)/$build/bench/status-serve
flotilla=$(pwd)/$build/reconciler/flotilla

tmp=$(mktemp -d)
spid=
cleanup() {
	[ -z "$spid" ] || { kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null || true; }
	rm -rf "$tmp"
}
trap cleanup EXIT

doc=$tmp/status.json
if [ -n "${DOC:-}" ]; then
	cp "$DOC" "$doc"
	method="the document $DOC"
elif [ -n "${STATE:-}" ]; then
	"$flotilla" status --format json --state "$STATE" >"$doc"
	method="flotilla status --format json --state $STATE"
else
	python3 - "$n" "$not_synced" >"$doc" <<'EOF'
import json, random, sys, time
n, bad = int(sys.argv[1]), int(sys.argv[2])
now = int(time.time())
rnd = random.Random(n)
kinds = [("failed", 0.02, "PATCH /projects/{id}: 422 autoscaling_limit_max_cu must be at most 8 on the scale plan, got 10 (request 3e056683-16be-4d8b-8518-1729329ecdc0)"),
         ("blocked", 0.01, "region cannot change from 'aws-us-east-2' to 'aws-eu-central-1': recreate the project, or set it back"),
         ("drifted", 0.30, "quota.computeTime: live 7s, git 100h; endpoints[read_write].suspendTimeout: live 1h12m1s, git 5m"),
         ("applying", 0.02, ""),
         ("out-of-sync", 0.65, "2 changes: compute.maxCu, endpoints[read_write].maxCu")]
order = {k: i for i, (k, _, _) in enumerate(kinds)}
names = rnd.sample(range(n), bad)
ts = []
for i, t in enumerate(names):
    r, acc = rnd.random(), 0.0
    for st, p, why in kinds:
        acc += p
        if r <= acc:
            break
    row = {"tenant": "tenant-%06d" % t, "state": st, "reason": why, "since": now - rnd.randrange(86400),
           "project_id": "proud-sun-%08d" % t}
    if st == "drifted":
        row["fields"] = ["quota.computeTime", "endpoints[read_write].suspendTimeout"]
    ts.append(row)
ts.sort(key=lambda x: (order[x["state"]], x["tenant"]))
counts = {k: sum(x["state"] == k for x in ts) for k, _, _ in kinds}
counts["synced"] = n - bad
runs = [{"id": 500 - i, "command": "apply" if i % 3 == 0 else "drift", "started_at": now - 60 * i - 50,
         "finished_at": now - 60 * i, "outcome": "failed" if i % 5 == 0 else "ok",
         "summary": {"created": 0, "updated": 42, "failed": 1, "writes": 84, "requests": 160}} for i in range(20)]
doc = {"version": 1, "generated_at": now, "fleet": "bench-fleet",
       "commit": {"applied": "9d0c1a0" + "3" * 33, "applied_at": now - 300, "fetched": "9d0c1a0" + "3" * 33},
       "counts": counts, "total": n, "tenants": ts[:5000], "tenants_not_synced": bad, "runs": runs,
       "rate": {"limit": 10, "now": 2.4, "drift_share": 0.2},
       "drift": {"policy": "report",
                 "tiers": {"list": {"sweep_seconds": 21.1, "last_at": now - 40},
                           "deep": {"sweep_seconds": 222120, "last_at": now - 3600}},
                 "fields": {"quota": counts["drifted"], "endpoints": counts["drifted"]}}}
json.dump(doc, sys.stdout)
EOF
	method="a synthetic document in the producer's shape: $n tenants, $not_synced not synced, the list at its 5,000 cap"
fi
listed=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["tenants"]), d["total"], d["tenants_not_synced"])' "$doc")
read -r rows total unsynced <<<"$listed"

"$serve" serve "$doc" "$tmp/port" &
spid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
base="http://127.0.0.1:$(cat "$tmp/port")"
curl -sf -o /dev/null "$base/" || { echo "status.sh: the server does not answer" >&2; exit 1; }
page_bytes=$(curl -s "$base/" | wc -c)
doc_bytes=$(wc -c <"$doc")

echo "status.sh: $(nproc) cores, $(uname -m); method: $method"
echo "document: $doc_bytes bytes, total $total tenants, $unsynced not synced, $rows listed; page /: $page_bytes bytes"
"$serve" render "$doc" 2000 | sed 's/^/in-process /'
"$serve" render "$doc" 500 tenant-01 | sed -n 's/^render/in-process search ?q=tenant-01/p'

# load URL CONNS: "views/s p50 p90 p99" from wrk --latency
load() {
	wrk -t"$(($2 < 2 ? $2 : 2))" -c"$2" -d"${duration}s" --latency "$1" >"$tmp/wrk.out" 2>&1
	python3 - "$tmp/wrk.out" <<'EOF'
import re, sys
t = open(sys.argv[1]).read()
rps = re.search(r"Requests/sec:\s*([\d.]+)", t).group(1)
lat = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)", t, re.M))
errs = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
sock = re.search(r"Socket errors: (.*)", t)
print("%10.0f views/s  p50 %-8s p90 %-8s p99 %-8s%s%s" % (float(rps), lat.get("50"), lat.get("90"), lat.get("99"),
      "  non-2xx %s" % errs.group(1) if errs else "", "  socket errors: %s" % sock.group(1) if sock else ""))
EOF
}
printf '%-28s %s\n' "URL (wrk -c$conns, ${duration}s)" "result"
for path in "/" "/?q=tenant-01" "/?state=failed" "/api/status"; do
	printf '%-28s %s\n' "$path" "$(load "$base$path" "$conns")"
done
printf '%-28s %s\n' "/ unloaded (wrk -c1)" "$(load "$base/" 1)"
