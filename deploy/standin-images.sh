#!/usr/bin/env bash
# Local stand-ins for Docker Hub's redis:7 and nginx:stable (compose's `scale` profile), for machines that cannot
# reach Docker Hub (these CI machines): Debian bookworm's redis-server 7.0 and nginx, built from the
# `local/debian:bookworm` image that ../shared/tools/docker-base.sh makes. Elsewhere, `docker pull` the real ones
# (or `docker load` them, docs/deploy.md, "Offline use").
#   deploy/standin-images.sh          then: HOST_CODE=... docker-compose --profile scale up -d nginx
set -euo pipefail
docker image inspect local/debian:bookworm >/dev/null 2>&1 \
  || { echo "standin-images: run ../shared/tools/docker-base.sh first (it makes local/debian:bookworm)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp /etc/apt/sources.list.d/debian.sources "$work/debian.sources"
build() {  # TAG PACKAGE SETUP CMD
  cat >"$work/Dockerfile" <<DOCKERFILE
FROM local/debian:bookworm
COPY debian.sources /etc/apt/sources.list.d/debian.sources
RUN rm -f /etc/apt/sources.list && apt-get update -q && apt-get install -y -q --no-install-recommends $2 \\
 && rm -rf /var/lib/apt/lists/* && $3
CMD $4
DOCKERFILE
  docker build -q -t "$1" "$work" >/dev/null 2>"$work/build.err" || { cat "$work/build.err" >&2; exit 1; }
  echo "standin-images: built $1 (Debian's $2)"
}
build redis:7 redis-server "mkdir -p /data" '["redis-server"]'
build nginx:stable nginx-light \
  "rm -f /etc/nginx/sites-enabled/default && ln -sf /dev/stdout /var/log/nginx/access.log && ln -sf /dev/stderr /var/log/nginx/error.log" \
  '["nginx", "-g", "daemon off;"]'
