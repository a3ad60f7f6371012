#!/usr/bin/env bash
# Issue 5's read-latency and growth targets, in one run on one `lrs serve` (release, embedded):
#   1. write throughput on the empty store (closed loop, batches of 100, RUN seconds);
#   2. fill the store for FILL seconds with the same load, then wait until ingest has applied it;
#   3. write throughput again on the filled store (growth must be flat: step 3 ÷ step 1);
#   4. open loop at half the throughput of step 1, with READ_SHARE of the requests being
#      GET /statements (agent, activity, verb+since or since filter, limit=100, first page only):
#      read latency while ingest runs at half the maximum rate. The reads use a second
#      credential of the same tenant (a dashboard's or analyst's, which waits for nothing); with
#      READ_AS=writer they use the writing credential (which first waits for its own writes).
# Prints statements stored, both throughputs and their ratio, and the read latency percentiles.
# Usage: loadtest/targets.sh [RUN_SECONDS] [FILL_SECONDS] [READ_SHARE]
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${1:-30}
FILL=${2:-300}
READ_SHARE=${3:-0.2}
PORT=${PORT:-18125}

cargo build --release -q -p lrs -p lrs-loadtest --bins
BIN=${CARGO_TARGET_DIR:-target}/release
DIR=$(mktemp -d)
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$DIR"' EXIT
read -r key secret < <("$BIN/lrs" credentials create --data-dir "$DIR" --tenant bench --scopes all)
read -r rkey rsecret < <("$BIN/lrs" credentials create --data-dir "$DIR" --tenant bench --scopes all)
if [[ ${READ_AS:-reader} == writer ]]; then rkey=$key; rsecret=$secret; fi
"$BIN/lrs" serve --listen "127.0.0.1:$PORT" --data-dir "$DIR" >"$DIR.log" 2>&1 &
PID=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null && break; sleep 0.1; done
ENDPOINT="http://127.0.0.1:$PORT/xapi"

post() { # $1 = seconds, $2 = json report, rest = extra flags
  local seconds=$1 json=$2; shift 2
  "$BIN/loadtest" post --endpoint "$ENDPOINT" --key="$key" --secret="$secret" --batch 100 \
    --duration "$seconds" --warmup 0 --json "$json" "$@" | tail -n 8
}
caught_up() {
  until curl -s "http://127.0.0.1:$PORT/ready" | grep -q '"ingest_lag_records":0'; do sleep 0.5; done
}
stored() {
  curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^lrs_statements_accepted_total/ {print $2}'
}
rate() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["statements_per_second"])' "$1"; }

echo "== 1. empty store: batch 100, 32 connections, ${RUN}s"
post "$RUN" "$DIR/empty.json"
caught_up
echo "== 2. filling for ${FILL}s"
post "$FILL" "$DIR/fill.json"
caught_up
echo "stored: $(stored) statements; data dir $(du -sh "$DIR" | cut -f1)"
echo "== 3. filled store: batch 100, 32 connections, ${RUN}s"
post "$RUN" "$DIR/filled.json"
caught_up
EMPTY=$(rate "$DIR/empty.json")
FILLED=$(rate "$DIR/filled.json")
HALF=$(awk -v r="$EMPTY" -v s="$READ_SHARE" 'BEGIN { printf "%.1f", r / 100 / 2 / (1 - s) }')
echo "== 4. open loop: ${HALF} requests/s (writes at half of step 1), read share $READ_SHARE, ${RUN}s, reads as ${READ_AS:-reader}"
post "$RUN" "$DIR/mixed.json" --rate "$HALF" --read-ratio "$READ_SHARE" --read-limit 100 --read-pages 1 \
  --read-key="$rkey" --read-secret="$rsecret"
echo "== summary"
echo "stored at the end: $(stored) statements"
awk -v e="$EMPTY" -v f="$FILLED" 'BEGIN {
  printf "throughput empty %.0f/s, filled %.0f/s: filled ÷ empty = %.2f\n", e, f, f / e }'
echo "peak RSS: $(awk '/VmHWM/ {print $2, $3}' "/proc/$PID/status")"
