#!/usr/bin/env bash
# baseline-create.sh [N]: the baseline for bench/apply.sh's create phase.
# The same N projects created the way a user without flotilla would: a
# shell script that calls the API per tenant with curl and waits for the
# operations. Against the same sim (--op-delay-ms 100 --rate-per-minute 3000
# --burst-per-route 50, R = 50 requests per second, see bench/apply.sh).
#
# The request bodies are exactly the POST /projects bodies flotilla sends:
# the first call of every create action in `flotilla plan --format json
# --refresh=none` of the same fleet (bench/gen-fleet N, committed to a temp
# git repository as bench/apply.sh does). Same name, region, pg_version,
# history retention, compute and quota settings. Only the project create:
# the extra branches, roles and databases some tenants declare are not made
# (a script would need one more loop per kind); the script's write count is
# exactly N.
#
# The script, per tenant: POST /projects (on 429: sleep Retry-After and
# retry; on 423 or 5xx: sleep 1 s and retry), take the project id and the
# returned operation ids, then every POLL seconds (default 0.5)
# GET /projects/{id}/operations (on 429 sleep Retry-After) until every one
# of those operations is finished. PAR (default 8) such loops run at once,
# each over its share of the tenants (round-robin), as `xargs -P 8` would.
# PAR=1 is a plain sequential loop (at N = 5000 it takes about
# N x (2 requests + POLL) ~ 45 minutes).
#
# Prints: wall time, requests the sim counted, writes, 429s, achieved
# rate / R, polls per project, the largest one-second request count seen.
set -euo pipefail
cd "$(dirname "$0")/.."

n=${1:-5000}
par=${PAR:-8}
poll=${POLL:-0.5}
R=50
build=build-bench

if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" --buildtype=release -Dtests=false >/dev/null
fi
ninja -C "$build" reconciler/flotilla sim/flotilla-sim >/dev/null
flotilla=$(pwd)/$build/reconciler/flotilla
sim=$(pwd)/$build/sim/flotilla-sim
for tool in jq curl; do
	command -v $tool >/dev/null || { echo "baseline-create.sh: needs $tool" >&2; exit 1; }
done

tmp=$(mktemp -d)
sim_pid=
sampler_pid=
cleanup() {
	[ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null
	[ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# the fleet, cached as bench/plan.sh and bench/apply.sh do
src=bench/out/fleet-$n
stamp=$(sha256sum bench/gen-fleet | cut -d' ' -f1)
if [ ! -f "$src/.gen-stamp" ] || [ "$(cat "$src/.gen-stamp")" != "$stamp" ]; then
	echo "baseline-create.sh: generating $src" >&2
	rm -rf "$src" "$src.tmp"
	mkdir -p bench/out
	bench/gen-fleet "$n" "$src.tmp"
	echo "$stamp" >"$src.tmp/.gen-stamp"
	mv "$src.tmp" "$src"
fi
mkdir -p "$tmp/home" "$tmp/repo"
export GIT_CONFIG_NOSYSTEM=1 HOME=$tmp/home
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
cp -r "$src/." "$tmp/repo/"
rm -f "$tmp/repo/.gen-stamp"
git -C "$tmp/repo" init -q -b main
git -C "$tmp/repo" add -A
git -C "$tmp/repo" -c gc.auto=0 commit -q -m "fleet of $n tenants"

"$sim" --listen 127.0.0.1:0 --port-file "$tmp/port" --quiet --op-delay-ms 100 \
	--rate-per-minute $((R * 60)) --burst-per-route $R --api-key bench-key 2>"$tmp/sim.err" &
sim_pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
base=http://127.0.0.1:$(cat "$tmp/port")
api=$base/api/v2
key=bench-key

# The bodies: flotilla's own POST /projects bodies (no API call is made).
NEON_API_HOST=$api NEON_API_KEY=$key "$flotilla" plan --repo "$tmp/repo" --state "$tmp/state.db" \
	--refresh=none --format json >"$tmp/plan.json"
jq -c '.actions[] | select(.kind == "create") | .calls[0] | select(.method == "POST" and .path == "/projects") | .body' \
	"$tmp/plan.json" >"$tmp/bodies"
nbodies=$(wc -l <"$tmp/bodies")
if [ "$nbodies" -ne "$n" ]; then
	echo "baseline-create.sh: the plan has $nbodies project creates, expected $n" >&2
	exit 1
fi
for i in $(seq 0 $((par - 1))); do
	awk -v k="$par" -v i="$i" 'NR % k == i' "$tmp/bodies" >"$tmp/share-$i"
done

# ------------------------------------------------- the user's script
# call METHOD PATH [BODY]: one API call; the body goes to $out, the status
# is printed; 429 sleeps Retry-After and retries, 423 and 5xx sleep 1 s.
call() {
	local method=$1 path=$2 body=${3:-} code wait
	while :; do
		if [ -n "$body" ]; then
			code=$(curl -s -o "$out" -D "$hdr" -w '%{http_code}' -X "$method" \
				-H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
				--data-binary "$body" "$api$path")
		else
			code=$(curl -s -o "$out" -D "$hdr" -w '%{http_code}' -X "$method" \
				-H "Authorization: Bearer $key" "$api$path")
		fi
		case $code in
		429)
			wait=$(tr -d '\r' <"$hdr" | awk -F': ' 'tolower($1) == "retry-after" { print $2 }')
			echo "429" >>"$log"
			sleep "${wait:-1}"
			;;
		423 | 5??) echo "$code" >>"$log"; sleep 1 ;;
		*) echo "$code"; return ;;
		esac
	done
}

worker() {
	local share=$1 body id ops code pending
	trap - EXIT
	out=$share.out hdr=$share.hdr log=$share.log
	: >"$log"
	while IFS= read -r body; do
		code=$(call POST /projects "$body")
		if [ "$code" != 201 ]; then
			echo "create failed: $code $(cat "$out")" >>"$log"
			continue
		fi
		id=$(jq -r .project.id "$out")
		ops=$(jq -c '[.operations[].id]' "$out")
		while :; do
			sleep "$poll"
			code=$(call GET "/projects/$id/operations")
			echo "poll" >>"$log"
			[ "$code" = 200 ] || continue
			pending=$(jq --argjson ops "$ops" '[.operations[] | select(.id as $i | $ops | index($i)) | select(.status != "finished")] | length' "$out")
			[ "$pending" = 0 ] && break
		done
	done <"$share"
}

sample() {
	trap - EXIT
	while :; do
		printf '%s %s\n' "$(date +%s.%N)" "$(curl -sf "$base/__sim/stats" | jq .requests_total)" >>"$1"
		sleep 1
	done
}

s0=$(curl -sf "$base/__sim/stats")
sample "$tmp/samples" &
sampler_pid=$!
start=$(date +%s%N)
pids=()
for i in $(seq 0 $((par - 1))); do
	worker "$tmp/share-$i" &
	pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
end=$(date +%s%N)
kill "$sampler_pid" 2>/dev/null
wait "$sampler_pid" 2>/dev/null || true
sampler_pid=
s1=$(curl -sf "$base/__sim/stats")

secs=$(awk -v ns=$((end - start)) 'BEGIN { printf "%.3f", ns / 1e9 }')
polls=$(cat "$tmp"/share-*.log | grep -c '^poll$' || true)
failed=$(cat "$tmp"/share-*.log | grep -c '^create failed' || true)
seen429=$(cat "$tmp"/share-*.log | grep -c '^429$' || true)
peak=$(awk 'NR > 1 && $1 - t > 0.5 { r = ($2 - c) / ($1 - t); if (r > m) m = r } { t = $1; c = $2 } END { printf "%.0f", m }' "$tmp/samples")
jq -n -r --argjson s0 "$s0" --argjson s1 "$s1" --argjson secs "$secs" --argjson polls "$polls" \
	--argjson n "$n" --argjson par "$par" --arg poll "$poll" --argjson R $R --argjson peak "${peak:-0}" \
	--argjson failed "$failed" --argjson seen "$seen429" '
	($s1.requests_total - $s0.requests_total) as $req |
	"baseline: \($n) projects by a curl loop, \($par) at once, polling every \($poll) s; sim as bench/apply.sh (R = \($R) req/s)",
	"  wall s        \($secs)",
	"  requests      \($req) (achieved rate / R \(($req / $secs / $R) * 100 | round / 100); peak \($peak)/s)",
	"  writes        \($s1.writes_total - $s0.writes_total) (creates failed: \($failed))",
	"  polls/project \(($polls / $n) * 100 | round / 100) (\($polls) polls)",
	"  429s          \($s1.rate_limited - $s0.rate_limited) (the script saw \($seen))",
	"  projects      \($s1.projects)"'
exit 0
