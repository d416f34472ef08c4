#!/usr/bin/env bash
# TLS scan of the gateway with testssl.sh (Debian package `testssl.sh`, installed here if missing).
# Usage: proxy/gateway/tls-scan.sh [--target HOST:PORT] [--ca FILE] [--out DIR]
# Without --target it scans a private nginx with the gateway's own config (proxy/gateway/tls-scan.js);
# the findings are summarised in docs/operations.md ("TLS scan of the gateway").
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v testssl >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "tls-scan: testssl is missing; install the Debian package: sudo apt-get install testssl.sh" >&2
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends testssl.sh >/dev/null
fi
exec node proxy/gateway/tls-scan.js --testssl "$(command -v testssl)" "$@"
