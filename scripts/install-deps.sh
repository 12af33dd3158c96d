#!/usr/bin/env bash
# install-deps.sh: install every Debian package flotilla needs to build, test,
# fuzz and benchmark (chromium: tests/e2e/status-page.sh loads the status
# page in it, headless; postgresql: the tests start throw-away servers of
# it for the PostgreSQL state backend, tests/pg/pg.sh; scdoc, man-db,
# bash-completion and zsh: the man pages and completion scripts `meson
# install` puts in place, and the test that checks them; debhelper, dpkg-dev,
# fakeroot and lintian: the Debian packages and their test). Idempotent: packages already present are skipped,
# and apt-get runs only when something is missing.
set -euo pipefail

PACKAGES=(
  build-essential pkg-config meson ninja-build clang llvm libclang-rt-14-dev
  valgrind git ca-certificates
  libyaml-dev libgit2-dev libcurl4-openssl-dev libjansson-dev libsqlite3-dev
  libmicrohttpd-dev libcmocka-dev libssl-dev libpq-dev
  sqlite3 curl python3 time wrk bc
  chromium
  postgresql
  scdoc man-db groff-base bash-completion zsh
  debhelper dpkg-dev fakeroot lintian
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
