#!/usr/bin/env bash
# A minimal Quasar agent in bash: one heartbeat every 10 s that expires after 30 s.
# Usage: REDIS_URL=redis://127.0.0.1:6379 SERVICE=backup-job ./examples/redis-cli-agent.sh [--once]
set -u
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
PREFIX="${QUASAR_PREFIX:-gravito:quasar:}"
SERVICE="${SERVICE:-shell-demo}"
# names must match ^[A-Za-z0-9._-]{1,64}$
NODE_ID="${NODE_ID:-$(printf '%s' "$(hostname)" | tr -c 'A-Za-z0-9._-' '-' | cut -c1-64)}"
PLATFORM=$(uname -s | tr '[:upper:]' '[:lower:]')
CORES=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)

beat() {
  local now payload
  now=$(( $(date +%s) * 1000 ))   # epoch milliseconds
  payload=$(printf '{"id":"%s","service":"%s","language":"other","version":"bash-%s","pid":%d,"hostname":"%s","platform":"%s","cpu":{"system":0,"process":0,"cores":%d},"memory":{"system":{"total":0,"free":0,"used":0},"process":{"rss":0,"heapTotal":0,"heapUsed":0}},"runtime":{"uptime":%d},"timestamp":%d,"protocol":1}' \
    "$NODE_ID" "$SERVICE" "${BASH_VERSINFO[0]}.${BASH_VERSINFO[1]}" "$$" "$NODE_ID" "$PLATFORM" "$CORES" "$SECONDS" "$now")
  # one connection, one MULTI: the heartbeat and its index entry are written together or not at
  # all (the index entry lets the console find this node without SCAN)
  redis-cli -u "$REDIS_URL" >/dev/null <<EOF
MULTI
SET ${PREFIX}node:${SERVICE}:${NODE_ID} '${payload}' EX 30
ZADD ${PREFIX}index:nodes:${SERVICE} ${now} ${NODE_ID}
EXEC
EOF
}

if [ "${1:-}" = "--once" ]; then beat; exit; fi
while true; do
  beat
  sleep 10
done
