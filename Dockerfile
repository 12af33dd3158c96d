# flotilla's container image (docs/install.md, "Container image"):
#
#   docker build -t ghcr.io/acme/flotilla:0.1.0 .
#
# The build stage compiles on debian:bookworm with the -dev libraries of
# debian/control's Build-Depends; the runtime stage is bookworm-slim with
# only their runtime libraries and ca-certificates (HTTPS to Neon and to
# the git host). It runs as uid 10001, which examples/deploy/kubernetes*.yaml
# run as too. tests/dockerfile.sh checks this file.

FROM debian:bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential meson ninja-build pkg-config \
      libcurl4-openssl-dev libgit2-dev libjansson-dev libmicrohttpd-dev \
      libpq-dev libsqlite3-dev libssl-dev libyaml-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# No test suites (they need cmocka and run in CI, scripts/test.sh), no fuzz
# targets; installed under /out/usr.
RUN meson setup /build --prefix=/usr --buildtype=release -Dtests=false -Dfuzz=disabled \
 && ninja -C /build \
 && DESTDIR=/out meson install -C /build --no-rebuild

FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates \
      libcurl4 libgit2-1.5 libjansson4 libmicrohttpd12 \
      libpq5 libsqlite3-0 libssl3 libyaml-0-2 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 flotilla \
 && useradd --uid 10001 --gid 10001 --home-dir /var/lib/flotilla --no-create-home \
      --shell /usr/sbin/nologin flotilla \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/flotilla
COPY --from=build /out/usr/bin/flotilla /out/usr/bin/flotilla-sim /usr/bin/
# The state file and git cache go here (a volume in kubernetes*.yaml);
# HOME too, so nothing is written outside it.
ENV HOME=/var/lib/flotilla
WORKDIR /var/lib/flotilla
# Numeric, so that Kubernetes' runAsNonRoot can check it.
USER 10001:10001
EXPOSE 9464
ENTRYPOINT ["flotilla"]
CMD ["--help"]
