#!/usr/bin/env bash
# Seconds from `make run` in a fresh clone, with empty package caches, to the first
# successful `GET /api/health`: what a new developer waits for.
#
#   scripts/measure-cold-start.sh [SOURCE] [PORT]
#
# SOURCE is the repository to clone (default: the one holding this script; its committed
# HEAD is what gets measured), PORT the port `make run` serves on (default 8765). pip and uv
# get caches of their own in a temporary folder, so nothing already downloaded on this
# machine is reused and the machine's own caches are left alone. The clone is removed
# afterwards, unless KEEP=1. Extra variables pass through to make, e.g. INSTALLER=pip.
set -euo pipefail

source_repo=${1:-$(git -C "$(dirname "$0")" rev-parse --show-toplevel)}
port=${2:-8765}
timeout_s=${TIMEOUT:-300}

url="http://127.0.0.1:$port/api/health"
if curl -s -o /dev/null --max-time 1 "$url"; then
  echo "something already answers on port $port; pick another: $0 SOURCE PORT" >&2
  exit 1
fi

work=$(mktemp -d /tmp/cold-start.XXXXXX)
clone="$work/clone"
log="$work/make-run.log"
git clone --quiet "$source_repo" "$clone"

server=""
stop() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    # make's own trap stops the task worker after the server; signal the whole group.
    kill -INT -- "-$server" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$server" 2>/dev/null || true
  fi
  if [ "${KEEP:-0}" = 1 ]; then echo "kept: $work (log: $log)" >&2; else rm -rf "$work"; fi
}
trap stop EXIT

# Each line make prints, with the seconds since `make run` started: where the time goes.
stamp() {
  local line
  while IFS= read -r line; do
    awk -v s="$start" -v now="$EPOCHREALTIME" -v l="$line" 'BEGIN { printf "%6.1f  %s\n", now - s, l }'
  done
}

read -r load _ </proc/loadavg
start=$EPOCHREALTIME
# A process group of its own (setsid), so the server, the worker and make stop together.
(
  cd "$clone"
  exec env XDG_CACHE_HOME="$work/cache" UV_CACHE_DIR="$work/cache/uv" PIP_NO_CACHE_DIR=1 \
    PORT="$port" setsid make run
) > >(stamp >"$log") 2>&1 </dev/null &
server=$!

while :; do
  if curl -sf -o /dev/null --max-time 2 "$url"; then break; fi
  if ! kill -0 "$server" 2>/dev/null; then
    echo "make run stopped before answering; its output:" >&2
    cat "$log" >&2
    exit 1
  fi
  if awk -v s="$start" -v now="$EPOCHREALTIME" -v t="$timeout_s" 'BEGIN { exit !(now - s > t) }'; then
    echo "no answer from $url within ${timeout_s}s; make run's output:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.1
done
end=$EPOCHREALTIME
sed 's/^/  /' "$log" >&2
awk -v s="$start" -v e="$end" -v la="$load" 'BEGIN {
  printf "cold start: %.1f s from `make run` to the first 200 from /api/health", e - s
  printf " (load average %s at the start)\n", la
}'
