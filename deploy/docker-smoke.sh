#!/usr/bin/env bash
# Docker smoke test: build the image, `compose up`, wait for the healthcheck, run one live WebSocket
# session through the published port (frames arrive, an ε change is confirmed), `compose down`.
# Prints the image size, its own layers' size (the image minus its base, deploy/image-size.sh; fails
# above IMAGE_OWN_LIMIT_MB, default 950) and the cold start time (up -> answering, up -> healthy), runs
# the room page's JSON (/api/room, with a HOST_CODE) against that session, and writes the figures to
# test-artifacts/docker-smoke.json.
#
#   bash deploy/docker-smoke.sh        (make docker-smoke)
#
# Environment: SMOKE_PORT (published port, default 18000), SMOKE_TORCH_INDEX_URL (the image's torch
# index; default empty = pip's default index, which on machines prepared by ../shared/tools/docker-base.sh
# is the local CPU wheel), SMOKE_TIMEOUT (seconds to become healthy, default 180).
# Needs a running Docker engine, Compose v2 (`docker compose`) or v1 (`docker-compose`), the project's
# virtualenv (.venv, from `make install-test`) for the WebSocket client app/server/smoke.py.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

port=${SMOKE_PORT:-18000}
timeout_s=${SMOKE_TIMEOUT:-180}
project=lse-smoke
tag=smoke
image=label-smoothing-explorer:$tag
py=$repo/.venv/bin/python

say() { printf 'docker-smoke: %s\n' "$*"; }
fail() { printf 'docker-smoke: FAIL: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# Preconditions, checked before the slow build.
[ -x "$py" ] || fail "no virtualenv at .venv (run: make install-test)"
[ -f app/server/smoke.py ] || fail "app/server/smoke.py is missing: the WebSocket smoke client (python -m app.server.smoke --url WS_URL) is not written yet"
docker info >/dev/null 2>&1 \
  || fail "the Docker engine is not answering (on machines without Docker Hub run ../shared/tools/docker-base.sh first)"
if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
  compose=(docker-compose)
else
  fail "neither 'docker compose' (v2) nor 'docker-compose' (v1) is installed"
fi
say "compose: $("${compose[@]}" version 2>/dev/null | head -1)"

# What compose.yaml reads: this run's values, not whatever the caller's shell or a .env file holds.
export PORT=$port TAG=$tag TORCH_INDEX_URL=${SMOKE_TORCH_INDEX_URL-}
export ACCESS_CODE="" DEVICE=auto MAX_SESSIONS=60 FPS_CAP=30 IDLE_TIMEOUT=900 HOST_CODE=smoke-room
export WORKERS=${SMOKE_WORKERS:-}
dc() { "${compose[@]}" -p "$project" -f "$repo/compose.yaml" "$@"; }

ok=0 started=0
cleanup() {
  if [ "$ok" != 1 ] && [ "$started" = 1 ]; then
    say "container logs:"
    dc logs --no-color --tail=200 explorer 2>&1 || true
  fi
  dc down -v --remove-orphans >/dev/null 2>&1 || say "warning: '${compose[*]} down' failed"
}
trap cleanup EXIT

say "building $image (TORCH_INDEX_URL='${TORCH_INDEX_URL}')"
t_build=$(now)
docker build --build-arg TORCH_INDEX_URL="$TORCH_INDEX_URL" -t "$image" .
t_built=$(now)
say "built in $(elapsed "$t_build" "$t_built") s"
sizes=$(bash deploy/image-size.sh "$image" Dockerfile) || { printf '%s\n' "$sizes"; fail "the image is too large"; }
say "$(printf '%s\n' "$sizes" | head -1)"
sizes_json=$(printf '%s\n' "$sizes" | tail -1)

dc down -v --remove-orphans >/dev/null 2>&1 || true
say "starting the explorer on port $port"
t_up=$(now)
started=1
dc up -d --no-build explorer
cid=$(dc ps -q explorer)
[ -n "$cid" ] || fail "compose started no container for the service 'explorer'"

t_http="" t_healthy="" status=""
deadline=$(( $(date +%s) + timeout_s ))
while :; do
  if [ -z "$t_http" ] && "$py" - "$port" <<'PY' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=2).read()
PY
  then
    t_http=$(now)
    say "/healthz answers on the published port after $(elapsed "$t_up" "$t_http") s"
  fi
  status=$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}no-healthcheck{{end}}' "$cid")
  state=$(docker inspect -f '{{.State.Status}} restarts={{.RestartCount}}' "$cid")
  case $status in
    healthy) t_healthy=$(now); break ;;
    unhealthy) fail "the container is unhealthy ($state)" ;;
    no-healthcheck) fail "the image has no HEALTHCHECK" ;;
  esac
  case $state in
    exited*|dead*|*restarts=[1-9]*) fail "the container stopped or restarted ($state)" ;;
  esac
  [ "$(date +%s)" -lt "$deadline" ] || fail "not healthy after ${timeout_s} s (status: $status, $state)"
  sleep 0.5
done
[ -n "$t_http" ] || t_http=$t_healthy
cold_http=$(elapsed "$t_up" "$t_http")
cold_healthy=$(elapsed "$t_up" "$t_healthy")
say "healthy after $cold_healthy s (the healthcheck runs every 5 s)"
"$py" -c "import sys, urllib.request; print('docker-smoke: /healthz', urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())" \
  "http://127.0.0.1:$port/healthz"

say "one WebSocket session through the published port"
timeout 120 "$py" -m app.server.smoke --url "ws://127.0.0.1:$port/ws" --room "http://127.0.0.1:$port/api/room" \
  --host-code "$HOST_CODE" || fail "the WebSocket session or the room page failed (exit $?)"

ok=1
mkdir -p test-artifacts
summary=$(printf '%s, "build_s": %s, "cold_start_http_s": %s, "cold_start_healthy_s": %s, "compose": "%s"}' \
  "${sizes_json%\}}" "$(elapsed "$t_build" "$t_built")" "$cold_http" "$cold_healthy" "${compose[*]}")
printf '%s\n' "$summary" >test-artifacts/docker-smoke.json
say "PASS $summary"
