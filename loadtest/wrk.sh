#!/usr/bin/env bash
# A wrk run from outside the project's own driver (issue 12): a fresh `lrs serve` (release,
# embedded), wrk POSTing the same batch of BATCH generated statements (their ids removed: each
# request stores new ones) from CONNECTIONS connections for SECONDS, then the time ingest needs to apply
# the backlog. Prints wrk's answer counts, the acknowledged and applied rates and peak RSS.
# Usage: loadtest/wrk.sh [SECONDS] [CONNECTIONS] [BATCH]   (needs wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${1:-30}
CONNECTIONS=${2:-32}
BATCH=${3:-100}
PORT=${PORT:-18127}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }

cargo build --release -q -p lrs -p lrs-loadtest --bins
BIN=${CARGO_TARGET_DIR:-target}/release
DIR=$(mktemp -d)
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$DIR"' EXIT
read -r key secret < <("$BIN/lrs" credentials create --data-dir "$DIR/data" --tenant bench --scopes all)
"$BIN/loadtest" generate --count "$BATCH" | python3 -c 'import json,sys; b=json.load(sys.stdin); [s.pop("id") for s in b]; sys.stdout.write(json.dumps(b, ensure_ascii=False, separators=(",", ":")))' >"$DIR/batch.json"
"$BIN/lrs" serve --listen "127.0.0.1:$PORT" --data-dir "$DIR/data" >"$DIR.log" 2>&1 &
PID=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null && break; sleep 0.1; done
accepted() { curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^lrs_statements_accepted_total/ {print $2}'; }
echo "== wrk: batch $BATCH ($(wc -c <"$DIR/batch.json") bytes), $CONNECTIONS connections, ${SECONDS_PER_RUN}s"
started=$(date +%s.%N)
WRK_BODY="$DIR/batch.json" WRK_AUTH=$(printf '%s:%s' "$key" "$secret" | base64 -w0) WRK_BATCH=$BATCH \
  wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency -s loadtest/wrk-post.lua \
  "http://127.0.0.1:$PORT/xapi/statements" | grep '^wrk:'
until curl -s "http://127.0.0.1:$PORT/ready" | grep -q '"ingest_lag_records":0'; do sleep 0.2; done
ended=$(date +%s.%N)
stored=$(accepted)
awk -v n="$stored" -v a="$started" -v b="$ended" 'BEGIN { printf "applied: %d statements in %.1f s = %.0f statements/s end to end\n", n, b - a, n / (b - a) }'
echo "peak RSS: $(awk '/VmHWM/ {printf "%d MB", $2 / 1024}' "/proc/$PID/status")"
