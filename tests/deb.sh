#!/usr/bin/env bash
# deb.sh: build the Debian packages from the committed source tree and check
# them (docs/install.md). scripts/test.sh runs it once, as its own stage;
# about a minute on 2 cores.
#
#   1. copies the files git tracks (as they are in the work tree; no build
#      directories, no .git) to a temp dir and runs
#      `dpkg-buildpackage -us -uc -b` there;
#   2. lintian on the .changes: any error (E:) fails;
#   3. `dpkg -x` of both packages into a temp root, whose usr/bin/flotilla
#      and usr/bin/flotilla-sim print meson.build's version;
#   4. the split: flotilla-sim holds its binary (and man page), flotilla
#      everything else, neither the other's;
#   5. the systemd unit ships, is neither enabled nor started by the
#      maintainer scripts, and is stopped on removal; every man page, the
#      completion and the docs are in the packages;
#   6. the Dockerfile: its runtime stage installs every library package the
#      packages depend on (dh_shlibdeps' list, the same binaries), and
#      ca-certificates; its build stage the -dev packages of debian/control;
#      a numeric non-root USER; ENTRYPOINT flotilla; the image the
#      Kubernetes examples run is the one the docs build, at meson.build's
#      version.
#
# Prints "ok - ..." per check and exits non-zero when any failed.
# DEB_BUILD_OPTIONS passes through (nocheck skips the package's own tests).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d /tmp/flotilla-deb.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failed=0
ok() { echo "ok - $*"; }
fail() { echo "FAIL - $*" >&2; failed=1; }

version=$(sed -n "s/^  version: '\([^']*\)',$/\1/p" "$root/meson.build")
[ -n "$version" ] || { echo "FAIL - no version in meson.build" >&2; exit 1; }

# 1. the build, from a copy of the tracked files
mkdir "$tmp/src"
(cd "$root" && git ls-files -z | while IFS= read -r -d '' f; do
	[ -e "$f" ] || [ -L "$f" ] && printf '%s\0' "$f"
done) | (cd "$root" && tar --null -T - -cf -) | tar -xf - -C "$tmp/src"
if (cd "$tmp/src" && dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1; then
	ok "dpkg-buildpackage -us -uc -b"
else
	tail -n 40 "$tmp/build.log" >&2
	echo "FAIL - dpkg-buildpackage (the last 40 lines of its log above)" >&2
	exit 1
fi
changes=$(ls "$tmp"/flotilla_*.changes)
debver=$(cd "$tmp/src" && dpkg-parsechangelog -S Version)
[ "$debver" = "$version" ] && ok "debian/changelog's version is meson.build's ($version)" ||
	fail "debian/changelog says $debver, meson.build $version: add a changelog entry (dch -v $version)"
deb_main="$tmp/flotilla_${debver}_$(dpkg --print-architecture).deb"
deb_sim="$tmp/flotilla-sim_${debver}_$(dpkg --print-architecture).deb"
for d in "$deb_main" "$deb_sim"; do
	[ -f "$d" ] || { echo "FAIL - $(basename "$d") was not built" >&2; exit 1; }
done

# 2. lintian: errors fail, warnings are shown
lintian "$changes" >"$tmp/lintian" 2>&1
grep -v 'running with root privileges' "$tmp/lintian" | sed 's/^/  lintian: /'
if grep -q '^E: ' "$tmp/lintian"; then
	fail "lintian reports errors (E: above)"
else
	ok "lintian: no errors"
fi

# 3. the extracted binaries run and print meson.build's version
dpkg -x "$deb_main" "$tmp/root"
dpkg -x "$deb_sim" "$tmp/root"
for b in flotilla flotilla-sim; do
	out=$("$tmp/root/usr/bin/$b" --version 2>&1)
	case $out in
	"$b $version" | "$b $version (git "*) ok "$b --version: $out" ;;
	*) fail "usr/bin/$b --version printed '$out', not '$b $version'" ;;
	esac
done

# 4. the split
dpkg-deb -c "$deb_main" | awk '{print $6}' | sed 's,^\.,,' >"$tmp/main.list"
dpkg-deb -c "$deb_sim" | awk '{print $6}' | sed 's,^\.,,' >"$tmp/sim.list"
grep -qx /usr/bin/flotilla "$tmp/main.list" && ! grep -q 'flotilla-sim' "$tmp/main.list" &&
	ok "flotilla holds usr/bin/flotilla and nothing of flotilla-sim" ||
	fail "flotilla's contents are wrong: $(tr '\n' ' ' <"$tmp/main.list")"
grep -qx /usr/bin/flotilla-sim "$tmp/sim.list" && ! grep -qx /usr/bin/flotilla "$tmp/sim.list" &&
	! grep -v -e '/$' -e '^/usr/share/doc/flotilla-sim/' -e '^/usr/bin/flotilla-sim$' \
		-e '^/usr/share/man/man1/flotilla-sim\.1\.gz$' "$tmp/sim.list" | grep -q . &&
	ok "flotilla-sim holds usr/bin/flotilla-sim, its man page and docs only" ||
	fail "flotilla-sim's contents are wrong: $(tr '\n' ' ' <"$tmp/sim.list")"

# 5. a shipped unit is neither enabled nor started on install
dpkg-deb -e "$deb_main" "$tmp/ctl"
if grep -q '/systemd/system/flotilla\.service$' "$tmp/main.list"; then
	# debhelper's enabling snippet enables on a first install; --no-enable's
	# re-enables only a unit that was installed, and enabled, before
	if grep -q 'deb-systemd-helper enable' "$tmp/ctl/postinst" &&
		! grep -q 'deb-systemd-helper debian-installed' "$tmp/ctl/postinst"; then
		fail "flotilla's postinst enables the unit on install"
	elif grep -qE 'deb-systemd-invoke (start|restart|\$_dh_action)' "$tmp/ctl/postinst"; then
		fail "flotilla's postinst starts the unit"
	else
		ok "flotilla.service: the postinst neither enables nor starts it"
	fi
	grep -q "\"\$1\" = remove.*" "$tmp/ctl/prerm" 2>/dev/null && grep -q 'deb-systemd-invoke stop flotilla.service' "$tmp/ctl/prerm" &&
		ok "flotilla.service: the prerm stops it on removal" ||
		fail "flotilla's prerm does not stop the unit on removal (debian/flotilla.prerm)"
else
	fail "flotilla ships no systemd unit (meson install installs one)"
fi
# what meson install puts in place is in the package: every command's man
# page (the commands flotilla --help lists), the manifest page, completion
# for bash and zsh, the docs
mapfile -t commands < <("$tmp/root/usr/bin/flotilla" --help | sed -n '/^commands:/,/^$/s/^  \([a-z-]*\) .*/\1/p')
want=(/usr/share/man/man1/flotilla.1.gz /usr/share/man/man5/flotilla.yaml.5.gz
	/usr/share/bash-completion/completions/flotilla /usr/share/zsh/vendor-completions/_flotilla)
for c in "${commands[@]}"; do want+=("/usr/share/man/man1/flotilla-$c.1.gz"); done
absent=()
for f in "${want[@]}"; do grep -qx "$f" "$tmp/main.list" || absent+=("$f"); done
grep -q '^/usr/share/doc/flotilla/README\.md' "$tmp/main.list" || absent+=(/usr/share/doc/flotilla/README.md)
grep -qx /usr/share/man/man1/flotilla-sim.1.gz "$tmp/sim.list" || absent+=("flotilla-sim's /usr/share/man/man1/flotilla-sim.1.gz")
[ "${#commands[@]}" -ge 10 ] && [ ${#absent[@]} = 0 ] &&
	ok "the packages hold the man pages of ${#commands[@]} commands, flotilla(1), flotilla.yaml(5), flotilla-sim(1), the completion and the docs" ||
	fail "missing from the packages: ${absent[*]} (${#commands[@]} commands listed)"

# 6. the Dockerfile, statically
dockerfile="$root/Dockerfile"
# the apt-get install list of stage N (1: build, 2: runtime): its line
# and the continued lines after it, up to the next "&& command"
stage_packages() {
	awk -v want="$1" '
		/^FROM / { n++ }
		n == want && /apt-get install/ { on = 1; print; next }
		on && /^[ \t]*&&/ { on = 0 }
		on { print; if ($0 !~ /\\$/) on = 0 }' "$dockerfile" |
		tr ' \\' '\n\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' | grep -v -x -e apt-get -e install
}
stage_packages 1 | sort -u >"$tmp/docker-build"
stage_packages 2 | sort -u >"$tmp/docker-run"
sed -n 's/^FROM //p' "$dockerfile" >"$tmp/froms"
[ "$(sed -n 1p "$tmp/froms")" = "debian:bookworm AS build" ] && [ "$(sed -n 2p "$tmp/froms")" = debian:bookworm-slim ] &&
	[ "$(wc -l <"$tmp/froms")" -eq 2 ] && ok "Dockerfile: build on debian:bookworm, run on debian:bookworm-slim" ||
	fail "Dockerfile stages are not 'debian:bookworm AS build' then 'debian:bookworm-slim': $(tr '\n' ';' <"$tmp/froms")"
# the runtime libraries: what dh_shlibdeps found the binaries need, but libc
dpkg-deb -f "$deb_main" Depends >"$tmp/deps"
dpkg-deb -f "$deb_sim" Depends >>"$tmp/deps"
tr ',' '\n' <"$tmp/deps" | sed 's/(.*//; s/ //g' | grep -v -x -e '' -e libc6 | sort -u >"$tmp/libs"
missing=$(comm -23 "$tmp/libs" "$tmp/docker-run" | tr '\n' ' ')
[ -z "$missing" ] && [ -s "$tmp/libs" ] && ok "Dockerfile runtime stage installs $(tr '\n' ' ' <"$tmp/libs")" ||
	fail "Dockerfile runtime stage lacks: $missing(the packages' Depends: $(tr '\n' ' ' <"$tmp/libs"))"
extra=$(comm -13 "$tmp/libs" "$tmp/docker-run" | grep -v -x ca-certificates | tr '\n' ' ')
grep -qx ca-certificates "$tmp/docker-run" && [ -z "$extra" ] &&
	ok "Dockerfile runtime stage: ca-certificates and the libraries only" ||
	fail "Dockerfile runtime stage: ca-certificates missing, or more than the libraries: $extra"
sed -n '/^Build-Depends:/,/^[A-Z]/p' "$root/debian/control" | tr ',' '\n' | grep -v '<!nocheck>' |
	grep -o 'lib[a-z0-9.+-]*-dev' | sort -u >"$tmp/devs"
missing=$(comm -23 "$tmp/devs" "$tmp/docker-build" | tr '\n' ' ')
[ -z "$missing" ] && ok "Dockerfile build stage installs debian/control's -dev packages" ||
	fail "Dockerfile build stage lacks: $missing"
user=$(sed -n 's/^USER //p' "$dockerfile" | tail -n 1)
case $user in
0 | 0:* | root | root:* | "") fail "Dockerfile: the image runs as root (USER '$user')" ;;
[1-9]*) ok "Dockerfile: USER $user (numeric, not root)" ;;
*) fail "Dockerfile: USER $user is not numeric (Kubernetes' runAsNonRoot cannot check a name)" ;;
esac
grep -qx 'ENTRYPOINT \["flotilla"\]' "$dockerfile" && ok 'Dockerfile: ENTRYPOINT ["flotilla"]' ||
	fail 'Dockerfile: ENTRYPOINT is not ["flotilla"]'
image="ghcr.io/acme/flotilla:$version"
for f in examples/deploy/kubernetes.yaml examples/deploy/kubernetes-sqlite.yaml; do
	grep -q "image: ghcr.io/acme/flotilla:" "$root/$f" || { fail "$f runs no ghcr.io/acme/flotilla image"; continue; }
	grep -q "image: $image\$" "$root/$f" && ok "$f runs $image" ||
		fail "$f runs $(grep -o 'image: ghcr.io/acme/flotilla:.*' "$root/$f"), not meson.build's $image"
done
for f in docs/install.md examples/deploy/README.md; do
	grep -q "docker build -t $image \." "$root/$f" && ok "$f builds $image" ||
		fail "$f has no 'docker build -t $image .'"
done

[ "$failed" = 0 ]
