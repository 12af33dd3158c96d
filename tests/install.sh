#!/bin/bash
# install.sh MESON BUILDDIR SRCROOT MAN: `meson install` of the build under
# test into a temporary DESTDIR holds what issue 16 promises, and it is true
# to the binaries:
#  - both binaries, the bash and zsh completion, the systemd unit (the example
#    unit, its ExecStart pointed at the installed flotilla), and README.md,
#    docs/*.md and the examples under share/doc/flotilla;
#  - with MAN=man (scdoc found): flotilla(1), flotilla-sim(1),
#    flotilla.yaml(5) and a page for every command `flotilla --help` lists,
#    each rendered by man without a warning, and naming every option the
#    command's --help prints;
#  - every such option is in both completion scripts; the bash completion
#    completes 'flotilla pl' to exactly 'plan', option values and
#    directories; zsh parses _flotilla.
# Only --help and --version run, so it holds under the sanitizer builds too.
# Prints one ok/FAIL line per check; exits 1 when any failed.
set -u
meson=${1:?usage: install.sh MESON BUILDDIR SRCROOT man|noman}
build=${2:?} src=${3:?} man=${4:?}
failed=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failed=1; }
check() { # what, then a command that must succeed
	local what=$1
	shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest
if ! out=$("$meson" install -C "$build" --no-rebuild --quiet --destdir "$dest" 2>&1); then
	fail "meson install --destdir: $out"
	exit 1
fi

# Where things went: the build's own directory options.
eval "$(python3 - "$meson" "$build" <<'PY'
import json, subprocess, sys
opts = {o["name"]: o["value"] for o in json.loads(subprocess.check_output(
    [sys.argv[1], "introspect", "--buildoptions", sys.argv[2]]))}
for k in ("prefix", "bindir", "datadir", "mandir", "systemdsystemunitdir"):
    v = str(opts[k])
    if k not in ("prefix", "systemdsystemunitdir") and not v.startswith("/"):
        v = opts["prefix"].rstrip("/") + "/" + v
    print("%s='%s'" % (k, v))
PY
)" || { fail "meson introspect --buildoptions"; exit 1; }

root=$dest$prefix
flotilla=$dest$bindir/flotilla
sim=$dest$bindir/flotilla-sim
bashc=$dest$datadir/bash-completion/completions/flotilla
zshc=$dest$datadir/zsh/vendor-completions/_flotilla
doc=$dest$datadir/doc/flotilla

for f in "$flotilla" "$sim"; do
	check "installed and runs: ${f#"$dest"} --version" eval '"$f" --version >/dev/null' 
done
[ -x "$flotilla" ] || exit 1

# The commands, from the binary's own list.
mapfile -t commands < <("$flotilla" --help | sed -n '/^commands:/,/^$/s/^  \([a-z-]*\) .*/\1/p')
check "flotilla --help lists commands (${#commands[@]})" test "${#commands[@]}" -ge 10

for f in "$bashc" "$zshc" "$doc/README.md" "$doc/examples/deploy/flotilla.service" \
	"$doc/examples/deploy/flotilla.env" "$doc/examples/fleet/flotilla.yaml" "$doc/examples/ci/README.md"; do
	check "installed: ${f#"$dest"}" test -s "$f"
done
for f in "$src"/docs/*.md; do
	check "installed: ${doc#"$dest"}/docs/${f##*/}" cmp -s "$f" "$doc/docs/${f##*/}"
done

# The unit: the example itself, ExecStart naming the installed binary.
if [ "$systemdsystemunitdir" = no ]; then
	echo "skip the unit: -Dsystemdsystemunitdir=no"
else
	unit=$(find "$dest" -path '*/systemd/system/flotilla.service' | head -1)
	if [ -z "$unit" ]; then
		fail "installed: systemd/system/flotilla.service"
	else
		ok "installed: ${unit#"$dest"}"
		check "the unit's ExecStart is $bindir/flotilla" grep -qx "ExecStart=$bindir/flotilla daemon \\\\" "$unit"
		check "the unit is examples/deploy/flotilla.service but for its ExecStart" \
			cmp -s <(grep -v '^ExecStart=' "$unit") <(grep -v '^ExecStart=' "$src/examples/deploy/flotilla.service")
	fi
fi

# has FILE OPTION: FILE names OPTION, and not only as a part of a longer one.
has() { grep -qE -- "(^|[^a-z-])$2([^a-z-]|$)" "$1"; }
# the options of a --help: its usage lines and its options section (not the prose between)
options() { "$@" --help | sed -n '1,/^$/p; /^options:/,/^$/p' | grep -oE -- '--[a-z][a-z-]*[a-z]' | sort -u; }

if [ "$man" = man ]; then
	pages=("$dest$mandir/man1/flotilla.1" "$dest$mandir/man1/flotilla-sim.1" "$dest$mandir/man5/flotilla.yaml.5")
	for c in "${commands[@]}"; do
		pages+=("$dest$mandir/man1/flotilla-$c.1")
	done
	for p in "${pages[@]}"; do
		if [ ! -s "$p" ]; then
			fail "man page installed: ${p#"$dest"}"
			continue
		fi
		w=$(MANWIDTH=80 man --warnings -l "$p" 2>&1 >/dev/null)
		check "man -l ${p##*/}: no warnings${w:+: $w}" test -z "$w"
	done
	# A line that starts with . or ' (after the tabs scdoc indents with) is a
	# request to troff, which eats it.
	bad=$(grep -nP "^\t*[.']" "$src"/man/*.scd)
	check "man/*.scd: no line starts with . or '${bad:+: $bad}" test -z "$bad"
	for c in "${commands[@]}"; do
		page=$dest$mandir/man1/flotilla-$c.1
		[ -s "$page" ] || continue
		missing=()
		for o in $(options "$flotilla" "$c"); do has "$page" "$o" || missing+=("$o"); done
		check "flotilla-$c(1) names every option of flotilla $c --help${missing[*]:+: missing ${missing[*]}}" \
			test ${#missing[@]} = 0
	done
	missing=()
	for o in $(options "$sim"); do has "$dest$mandir/man1/flotilla-sim.1" "$o" || missing+=("$o"); done
	check "flotilla-sim(1) names every option of its --help${missing[*]:+: missing ${missing[*]}}" test ${#missing[@]} = 0
else
	echo "skip the man pages: scdoc was not found (-Dman=auto)"
fi

# The completion scripts: every command and option.
for script in "$bashc" "$zshc"; do
	missing=()
	for c in "${commands[@]}"; do
		has "$script" "$c" || missing+=("$c")
		for o in $(options "$flotilla" "$c"); do has "$script" "$o" || missing+=("$c $o"); done
	done
	check "${script##*/}: every command and option of flotilla's --help${missing[*]:+: missing ${missing[*]}}" \
		test ${#missing[@]} = 0
done
check "zsh -n _flotilla" zsh -n "$zshc"

# The bash completion, sourced as bash-completion would: complete WORDS...
# prints COMPREPLY, sorted, on one line.
mkdir -p "$tmp/work/adir" "$tmp/work/bdir" && : >"$tmp/work/afile"
complete_words() {
	(cd "$tmp/work" && bash --norc --noprofile -c '
		source /usr/share/bash-completion/bash_completion || exit 1
		source "$1" || exit 1
		shift
		COMP_WORDS=("$@") COMP_CWORD=$(($# - 1)) COMP_LINE="$*" COMP_POINT=${#COMP_LINE}
		_flotilla flotilla "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"
		printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' sh "$bashc" "$@")
}
if [ ! -f /usr/share/bash-completion/bash_completion ]; then
	fail "bash-completion is not installed (scripts/install-deps.sh)"
else
	expect() { # WANT WORDS...: completing WORDS gives exactly WANT
		local want=$1
		shift
		local got
		got=$(complete_words "$@")
		check "bash: complete '$*' -> '$want'" test "$got" = "$want"
		[ "$got" = "$want" ] || echo "     got '$got'"
	}
	expect "plan " flotilla pl
	expect "markdown " flotilla plan --format m
	expect "json text " flotilla status --format ""
	expect "forget " flotilla state fo
	expect "--lock-timeout " flotilla state forget --lo
	expect "adir " flotilla validate --dir a
	expect "adir afile " flotilla refresh --state a
	expect "adir afile " flotilla apply a
	expect "--pooled " flotilla connection-string acme --po
fi

exit "$failed"
