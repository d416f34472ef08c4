#!/usr/bin/env bash
# Prepares this machine for the local stack and the test suites, from a fresh clone or an existing
# checkout: nginx installed, dependencies installed, Postgres and Redis up, everything built.
# Idempotent: each step checks first and says what it does or why it skips.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '[setup] %s\n' "$*"; }
run() {
  log "+ $*"
  "$@"
}

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo); else log "not root and no sudo: package installs and service starts may fail"; fi
fi

# --- nginx (the gateway; /usr/sbin is often missing from a non-root PATH) ---
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
  log "nginx present: $( (command -v nginx || echo /usr/sbin/nginx) | head -n1)"
else
  run "${SUDO[@]}" apt-get update
  run "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y nginx
fi

# --- docker-compose and kubectl: test/deploy validates docker-compose.yml and k8s/ with the real tools
# (`docker-compose config`, `kubectl kustomize`); a missing one fails the suite, so install them here.
if command -v docker-compose >/dev/null 2>&1; then
  log "docker-compose present: $(docker-compose version --short 2>/dev/null || echo unknown)"
else
  run "${SUDO[@]}" apt-get update
  run "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y docker-compose
fi
if command -v kubectl >/dev/null 2>&1; then
  log "kubectl present: $(kubectl version --client 2>/dev/null | tr '\n' ' ')"
else
  # The Kubernetes apt repository's package where it is configured; Debian's kubernetes-client otherwise
  # (its kustomize is too old for components, which test/deploy then reports by name).
  run "${SUDO[@]}" apt-get update
  run "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y kubectl ||
    run "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y kubernetes-client
fi

# --- node dependencies ---
# npm ci rewrites node_modules/.package-lock.json, so it is newer than package-lock.json after a good install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  run npm ci --no-audit --no-fund
else
  log "node_modules up to date with package-lock.json"
fi

need() { # command, what provides it
  if ! command -v "$1" >/dev/null 2>&1; then
    log "missing $1: install $2 (e.g. apt-get install -y $2)"
    exit 1
  fi
}

# --- Postgres ---
wait_for() { # description, attempts, command...
  local what=$1 attempts=$2
  shift 2
  for ((i = 1; i <= attempts; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  log "$what did not come up after ${attempts} s"
  return 1
}

need pg_isready postgresql-client
if pg_isready -h 127.0.0.1 -p 5432 -q; then
  log "Postgres is accepting connections on 127.0.0.1:5432"
else
  need pg_ctlcluster postgresql
  run "${SUDO[@]}" pg_ctlcluster --skip-systemctl-redirect 15 main start
  wait_for Postgres 30 pg_isready -h 127.0.0.1 -p 5432 -q
  log "Postgres is up"
fi

# --- Redis (no persistence: the services re-seed it from Postgres, DESIGN.md section 4) ---
need redis-cli redis-tools
if [ "$(redis-cli -h 127.0.0.1 ping 2>/dev/null || true)" = "PONG" ]; then
  log "Redis answers on 127.0.0.1:6379"
else
  need redis-server redis-server
  run redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no
  wait_for Redis 30 sh -c '[ "$(redis-cli -h 127.0.0.1 ping)" = PONG ]'
  log "Redis is up"
fi

# --- build (tsc -b is incremental, so a second run is quick) ---
run npm run build
log "done"
