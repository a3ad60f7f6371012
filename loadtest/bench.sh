#!/usr/bin/env bash
# The write benchmark of issue 5, in one run on this machine:
#   1. the floor (lrs/examples/floor.rs): the same request bodies parsed with simd-json, appended
#      durably to the embedded log and written to the embedded store, with no HTTP, no validation
#      and no pipeline — batches of 100, then single statements;
#   2. `lrs serve` (release, embedded, fresh data dir) driven by `loadtest post`, batches of 100;
#   3. the same with single-statement POSTs.
# For each LRS run it prints the acknowledged rate, the time ingest needed afterwards to apply
# the backlog, the rate at which statements were applied end to end, peak RSS (VmHWM), and the
# ratios to the floor measured in this run.
# With COMPARE_BORROWED=1 each LRS run is done twice, first with the borrowed parse off
# (`LRS__SERVER__BORROWED_PARSE=false`: the serde_json::Value path only), then on, and the
# borrowed/Value ratios of the same run are printed too (issue 12).
# Usage: [COMPARE_BORROWED=1] loadtest/bench.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${1:-60}
CONNECTIONS=${2:-32}
PORT=${PORT:-18123}

cargo build --release -q -p lrs -p lrs-loadtest --bins --examples
BIN=${CARGO_TARGET_DIR:-target}/release
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

"$BIN/loadtest" generate --count 20000 >"$WORK/statements.json"
echo "== floor (simd-json parse + durable log append + store write, no HTTP), ${SECONDS_PER_RUN}s each"
"$BIN/examples/floor" "$WORK/statements.json" 100 "$SECONDS_PER_RUN" "$WORK" | tee "$WORK/floor-100.txt"
"$BIN/examples/floor" "$WORK/statements.json" 1 "$SECONDS_PER_RUN" "$WORK" | tee "$WORK/floor-1.txt"

run() { # $1 = batch size, $2 = borrowed parse (true/false), $3 = suffix of the result files
  local dir="$WORK/lrs-$1$3"
  mkdir -p "$dir"
  read -r key secret < <("$BIN/lrs" credentials create --data-dir "$dir" --tenant bench --scopes all)
  LRS__SERVER__BORROWED_PARSE=$2 "$BIN/lrs" serve --listen "127.0.0.1:$PORT" --data-dir "$dir" >"$dir.log" 2>&1 &
  local pid=$!
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null && break; sleep 0.1; done
  echo "== lrs serve, batch $1, $CONNECTIONS connections, ${SECONDS_PER_RUN}s, borrowed parse $2"
  local started; started=$(date +%s.%N)
  "$BIN/loadtest" post --endpoint "http://127.0.0.1:$PORT/xapi" --key="$key" --secret="$secret" \
    --connections "$CONNECTIONS" --batch "$1" --duration "$SECONDS_PER_RUN" --warmup 0 \
    --json "$WORK/lrs-$1$3.json" | tail -n 12
  local load_ended; load_ended=$(date +%s.%N)
  echo "at the end of the load: $(curl -s "http://127.0.0.1:$PORT/ready")"
  until curl -s "http://127.0.0.1:$PORT/ready" | grep -q '"ingest_lag_records":0'; do sleep 0.2; done
  local caught_up; caught_up=$(date +%s.%N)
  local accepted
  accepted=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^lrs_statements_accepted_total/ {print $2}')
  awk -v a="$accepted" -v s="$started" -v e="$load_ended" -v c="$caught_up" 'BEGIN {
    printf "applied end to end: %d statements in %.1f s = %.0f statements/s (ingest needed %.1f s after the load)\n",
      a, c - s, a / (c - s), c - e }' | tee "$WORK/applied-$1$3.txt"
  echo "peak RSS: $(awk '/VmHWM/ {print $2, $3}' "/proc/$pid/status")"
  kill "$pid"; wait "$pid" || true
}
if [ "${COMPARE_BORROWED:-0}" = 1 ]; then
  run 100 false -value
  run 100 true ""
  run 1 false -value
  run 1 true ""
else
  run 100 true ""
  run 1 true ""
fi

ratio() { # $1 = batch size
  local floor lrs applied
  floor=$(sed -E 's/.*: ([0-9]+) statements\/s written.*/\1/' "$WORK/floor-$1.txt")
  lrs=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["statements_per_second"])' "$WORK/lrs-$1.json")
  applied=$(sed -E 's/.*= ([0-9]+) statements\/s.*/\1/' "$WORK/applied-$1.txt")
  awk -v f="$floor" -v l="$lrs" -v a="$applied" -v b="$1" 'BEGIN {
    printf "batch %s: floor %.0f/s; lrs acknowledged %.0f/s (ratio %.2f), applied end to end %.0f/s (ratio %.2f)\n",
      b, f, l, l / f, a, a / f }'
}
echo "== ratios to the floor (same run)"
ratio 100
ratio 1
if [ "${COMPARE_BORROWED:-0}" = 1 ]; then
  borrowed() { # $1 = batch size
    local on off on_applied off_applied
    on=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["statements_per_second"])' "$WORK/lrs-$1.json")
    off=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["statements_per_second"])' "$WORK/lrs-$1-value.json")
    on_applied=$(sed -E 's/.*= ([0-9]+) statements\/s.*/\1/' "$WORK/applied-$1.txt")
    off_applied=$(sed -E 's/.*= ([0-9]+) statements\/s.*/\1/' "$WORK/applied-$1-value.txt")
    awk -v on="$on" -v off="$off" -v ona="$on_applied" -v offa="$off_applied" -v b="$1" 'BEGIN {
      printf "batch %s: borrowed parse / Value path: acknowledged %.0f / %.0f = %.2f, applied %.0f / %.0f = %.2f\n",
        b, on, off, on / off, ona, offa, ona / offa }'
  }
  echo "== borrowed parse against the Value path (same run)"
  borrowed 100
  borrowed 1
fi
