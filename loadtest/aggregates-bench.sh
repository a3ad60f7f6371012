#!/usr/bin/env bash
# The study-log aggregates benchmark of issue 11 (docs/performance.md), in one run:
#   1. the cost of facts: `lrs serve` (release, embedded, fresh data dir each time) with
#      [studylog] enabled=false and =true, alternately (off, on, off, on), each fed by
#      `loadtest post` for RUN seconds (batches of 100, 32 connections) and timed until ingest
#      has applied everything; prints each applied rate and the ratio on/off of the means;
#   2. one LRS with facts on loaded to STATEMENTS statements about a BOARDS-board population
#      (1,800 learners a board; `loadtest roster` imported first), then
#      `loadtest/aggregates_probe.py`: the dashboard questions' latency, the re-attribution of
#      one transferred learner, and (while `loadtest post` runs at half the rate of the last
#      loading round) the delay from acknowledgement to presence in the aggregates.
# Usage: loadtest/aggregates-bench.sh [STATEMENTS] [BOARDS] [RUN_SECONDS]   (STATEMENTS 0: part 1 only)
# Each part-1 run starts with empty dictionaries: its first seconds record every learner's and
# activity's text (a cold-start cost); longer runs weigh it less.
# Disk: about 2.2–2.8 KB a statement in the data dir (log + store); WORK_DIR picks where (default
# a temporary directory, removed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
STATEMENTS=${1:-3000000}
BOARDS=${2:-56}
RUN=${3:-40}
PORT=${PORT:-18124}
CONNECTIONS=32

cargo build --release -q -p lrs -p lrs-loadtest --bins
BIN=${CARGO_TARGET_DIR:-target}/release
WORK=${WORK_DIR:-$(mktemp -d)}
mkdir -p "$WORK"
PID=
# The LRS under test stops with the script, however it ends.
trap 'if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; fi; [ -n "${WORK_DIR:-}" ] || rm -rf "$WORK"' EXIT
ROOT="http://127.0.0.1:$PORT"
POPULATION=(--boards "$BOARDS" --templates 500)

"$BIN/loadtest" roster --out "$WORK/roster" --boards "$BOARDS"
(cd "$WORK/roster" && python3 -m zipfile -c ../roster.zip ./*.csv)

start() { # $1 = data dir, $2 = studylog enabled; sets KEY SECRET PID
  rm -rf "$1"; mkdir -p "$1"
  read -r KEY SECRET < <("$BIN/lrs" credentials create --data-dir "$1" --tenant bench --scopes all)
  LRS__STUDYLOG__ENABLED=$2 "$BIN/lrs" serve --listen "127.0.0.1:$PORT" --data-dir "$1" >"$1.log" 2>&1 &
  PID=$!
  for _ in $(seq 100); do curl -sf "$ROOT/ready" >/dev/null && break; sleep 0.1; done
  "$BIN/lrs" roster import --endpoint "$ROOT" --key="$KEY" --secret="$SECRET" "$WORK/roster.zip" >/dev/null
}
stop() { kill "$PID"; wait "$PID" || true; PID=; }
accepted() { curl -s "$ROOT/metrics" | awk '/^lrs_statements_accepted_total/ {print $2}'; }
caught_up() { until curl -s "$ROOT/ready" | grep -q '"ingest_lag_records":0'; do sleep 0.2; done; }

echo "== 1. the cost of facts: applied statements/s with [studylog] enabled off and on, ${RUN}s each"
for round in 1 2; do
  for enabled in false true; do
    start "$WORK/cost-$enabled" "$enabled"
    started=$(date +%s.%N)
    "$BIN/loadtest" post --endpoint "$ROOT/xapi" --key="$KEY" --secret="$SECRET" \
      --connections "$CONNECTIONS" --batch 100 --duration "$RUN" --warmup 0 "${POPULATION[@]}" \
      >"$WORK/cost-$enabled-$round.txt" 2>&1
    caught_up
    ended=$(date +%s.%N)
    count=$(accepted)
    rate=$(awk -v a="$count" -v s="$started" -v e="$ended" 'BEGIN { printf "%.0f", a / (e - s) }')
    echo "round $round, studylog enabled=$enabled: $count statements applied at $rate statements/s"
    echo "$rate" >>"$WORK/rates-$enabled"
    stop
    rm -rf "$WORK/cost-$enabled"
  done
done
awk 'FNR == 1 { file++ } { sum[file] += $1; n[file]++ }
  END { off = sum[1] / n[1]; on = sum[2] / n[2];
        printf "facts off %.0f/s, on %.0f/s: ratio on/off %.2f (target >= 0.90)\n", off, on, on / off }' \
  "$WORK/rates-false" "$WORK/rates-true"

if [ "$STATEMENTS" -eq 0 ]; then exit 0; fi

echo "== 2. aggregates at $STATEMENTS statements, $BOARDS boards ($((BOARDS * 1800)) learners)"
start "$WORK/big" true
loaded=$(date +%s)
last_rate=0
while [ "$(accepted)" -lt "$STATEMENTS" ]; do
  before=$(accepted)
  "$BIN/loadtest" post --endpoint "$ROOT/xapi" --key="$KEY" --secret="$SECRET" \
    --connections "$CONNECTIONS" --batch 100 --duration 30 --warmup 0 "${POPULATION[@]}" \
    >/dev/null 2>&1
  last_rate=$(( ($(accepted) - before) / 30 ))
  echo "loaded $(accepted) of $STATEMENTS statements ($(( $(date +%s) - loaded )) s, $(du -sh "$WORK/big" | cut -f1) on disk)"
done
caught_up
echo "peak RSS while loading: $(awk '/VmHWM/ {print $2, $3}' "/proc/$PID/status")"
python3 loadtest/aggregates_probe.py "$ROOT" "$KEY" "$SECRET" "$WORK/roster" 200 0 | tee "$WORK/probe.txt"
# Half the rate the last loading round was accepted at (the store's rate at this size).
half=$(( last_rate / 200 > 0 ? last_rate / 200 : 1 ))
echo "== ack -> aggregates while loadtest posts at half the last loading round's rate ($((half * 100)) statements/s)"
"$BIN/loadtest" post --endpoint "$ROOT/xapi" --key="$KEY" --secret="$SECRET" \
  --connections "$CONNECTIONS" --batch 100 --rate "$half" --duration 60 --warmup 0 "${POPULATION[@]}" \
  >"$WORK/half-rate.txt" 2>&1 &
load=$!
sleep 5
python3 loadtest/aggregates_probe.py "$ROOT" "$KEY" "$SECRET" "$WORK/roster" 0 100
wait "$load" || true
tail -n 3 "$WORK/half-rate.txt"
echo "peak RSS: $(awk '/VmHWM/ {print $2, $3}' "/proc/$PID/status")"
stop
