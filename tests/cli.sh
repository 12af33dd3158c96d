#!/bin/sh
# cli.sh FLOTILLA SIM: the command line's own paths: help on every command,
# version (with the commit, in a git checkout such as this one), and clear
# errors (exit 1, a message naming the problem) for an unknown command, an
# unknown option, a missing argument, a bad format and a directory that
# does not exist; and flotilla-sim's --version.
set -u
flotilla=$1
sim=$2
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# expect CODE PATTERN ARGS...: exit code CODE, and PATTERN in stdout+stderr
expect() {
	want=$1 pattern=$2
	shift 2
	"$flotilla" "$@" >"$tmp/out" 2>&1
	code=$?
	if [ "$code" != "$want" ] || ! grep -q -- "$pattern" "$tmp/out"; then
		echo "FAIL: flotilla $*: exit $code (want $want), output:" >&2
		sed 's/^/  /' "$tmp/out" >&2
		echo "  (wanted a line matching '$pattern')" >&2
		fail=1
	fi
}

expect 0 "usage: flotilla COMMAND" --help
expect 0 "validate" help
expect 0 "usage: flotilla validate" validate --help
expect 0 "usage: flotilla explain" explain -h
expect 0 "usage: flotilla explain" help explain
expect 0 "^flotilla [0-9][0-9.]* (git [0-9a-f]\{12\})$" --version
# flotilla-sim says the same version and commit
"$sim" --version >"$tmp/simv" 2>&1
"$flotilla" --version >"$tmp/v" 2>&1
if [ "$(sed 's/^flotilla-sim //' "$tmp/simv")" != "$(sed 's/^flotilla //' "$tmp/v")" ] ||
	! grep -q "^flotilla-sim [0-9]" "$tmp/simv"; then
	echo "FAIL: flotilla-sim --version: '$(cat "$tmp/simv")', flotilla --version: '$(cat "$tmp/v")'" >&2
	fail=1
fi
expect 1 "unknown command 'frobnicate'" frobnicate
expect 1 "usage: flotilla COMMAND"
expect 1 "unknown option '--bogus'" validate --bogus
# a near miss gets a hint; a word near nothing gets none
expect 1 "unknown command 'paln'; did you mean 'plan'?" paln
expect 1 "unknown option '--fromat=json'; did you mean '--format'?" validate --fromat=json
expect 1 "unknown option '--repoo'; did you mean '--repo'?" explain --repoo x
expect 1 "unknown option '--Format'; did you mean '--format'?" status --Format json
expect 1 "unknown option '--lease-tll'; did you mean '--lease-ttl'?" daemon --lease-tll 3s
expect 1 "unknown option '--zzzzzz' (see flotilla plan --help)" plan --zzzzzz
# a known option without its value says so, not "unknown"
expect 1 "option '--format' needs a value (see flotilla status --help)" status --format
expect 1 "option '--format' needs a value (see flotilla validate --help)" validate --format
expect 1 "option '--state' needs a value (see flotilla state list --help)" state list --state
expect 1 "unknown format 'yaml'" validate --format yaml
expect 1 "'$tmp/nowhere' is not a directory" validate --dir "$tmp/nowhere"
expect 1 "which tenant?" explain
expect 1 "unexpected argument 'extra'" explain a extra
expect 0 "usage: flotilla refresh" refresh --help
expect 0 "usage: flotilla status" status --help
expect 0 "usage: flotilla plan" plan --help
expect 1 "--refresh must be auto, full or none, not 'sometimes'" plan --refresh sometimes
expect 1 "unknown format 'yaml': use text, json or markdown" plan --format yaml
expect 1 "is not a git repository" plan --repo "$tmp" --refresh none
expect 1 "rate wants requests per second" plan --rate -1
expect 1 "no state file at '$tmp/none.db'" status --state "$tmp/none.db"
expect 0 "usage: flotilla state list" state --help
expect 0 "flotilla state copy FROM TO" state --help
expect 0 "flotilla state forget TENANT" state forget --help
expect 1 "usage: flotilla state list" state
expect 1 "unknown subcommand 'move'" state move a b
expect 1 "unknown subcommand 'lsit'; did you mean 'list'?" state lsit
expect 1 "give a TENANT" state show
expect 1 "give a TENANT" state forget
expect 1 "unknown format 'yaml': use text or json" state list --format yaml
expect 1 "no state file at '$tmp/none.db'" state list --state "$tmp/none.db"
expect 1 "no state file at '$tmp/none.db'" state forget acme --state "$tmp/none.db"
expect 0 "usage: flotilla connection-string TENANT" connection-string --help
expect 0 "connection-string  *print a tenant's database connection URI" --help
expect 1 "give a TENANT" connection-string
expect 1 "no state file at '$tmp/none.db'" connection-string acme --state "$tmp/none.db"
expect 1 "give FROM and TO" state copy "$tmp/only.db"
expect 1 "no state file at '$tmp/none.db'" state copy "$tmp/none.db" "$tmp/to.db"
[ -e "$tmp/none.db" ] || [ -e "$tmp/to.db" ] && { echo "FAIL: state copy made a file" >&2; fail=1; }
# a copy between two files (unlock made an empty state), and one into a
# state that holds something, refused
expect 1 "nobody holds the lease" unlock --force --state "$tmp/from.db"
expect 0 "16 tables verified the same" state copy "$tmp/from.db" "$tmp/to.db"
expect 0 "16 tables verified the same" state copy "$tmp/to.db" "$tmp/again.db"
sqlite3 "$tmp/to.db" "INSERT INTO meta VALUES ('fleet', 'other')"
expect 1 "state '$tmp/to.db' is not empty (table meta has 1 rows)" state copy "$tmp/from.db" "$tmp/to.db"
expect 1 "rate wants requests per second" refresh --rate 0
expect 1 "--repo and --dir cannot be used together" validate --repo "$tmp" --dir "$tmp"
expect 1 "--ref needs --repo" validate --ref main
expect 1 "--repo and --dir cannot be used together" explain acme --repo "$tmp" --dir "$tmp"
expect 1 "'$tmp' is not a git repository" validate --repo "$tmp"
expect 0 "usage: flotilla adopt" adopt --help
expect 1 "which tenant?" adopt
expect 1 "give a TENANT or --all-matching, not both" adopt acme --all-matching
expect 1 "--select goes with --all-matching" adopt acme --select name=a
expect 1 "--match is --select name=PATTERN" adopt --match 'a*' --select name=b
expect 1 "unexpected argument 'extra'" adopt acme p-1 extra
expect 1 "cannot ask; pass --auto-approve" adopt --match 'a*' </dev/null

# --repo reads a commit, not the working tree (with git, in a clean config)
if command -v git >/dev/null 2>&1; then
	repo=$tmp/repo
	g() { HOME=$tmp GIT_CONFIG_NOSYSTEM=1 git -C "$repo" -c user.name=t -c user.email=t@example.com "$@" >/dev/null 2>&1; }
	mkdir -p "$repo"
	g init -q -b main
	printf 'apiVersion: flotilla/v1\nkind: Fleet\nmetadata:\n  name: cli\n' >"$repo/flotilla.yaml"
	g add -A
	g commit -q -m one
	sha=$(HOME=$tmp git -C "$repo" rev-parse --short=7 HEAD)
	echo 'not: [valid' >"$repo/flotilla.yaml"   # uncommitted: ignored
	expect 0 "at commit $sha" validate --repo "$repo"
	expect 0 "fleet 'cli' is valid" validate --repo "$repo" --ref main
	expect 1 "ref 'nosuch' not found in '$repo'" validate --repo "$repo" --ref nosuch
	expect 1 "problem" validate --dir "$repo"
	expect 1 "no tenant named 'acme' in $repo at commit $sha" explain acme --repo "$repo"
fi
[ -e "$tmp/none.db" ] && { echo "FAIL: status created a state file" >&2; fail=1; }
exit $fail
