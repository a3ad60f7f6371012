#!/usr/bin/env bash
# The issue-4 benchmark, in one run on this machine (docs/distributed.md, "Performance"):
#   1. baseline: `loadtest raw-produce` — the same kind of records (100 generated statements in
#      the log's envelope form) produced straight into the broker with the Kafka log's producer
#      settings (acks=all, idempotent), no HTTP, no validation, no consumer;
#   2. the distributed LRS: api, ingest and query as three `lrs serve` processes (release) over the
#      same broker and PostgreSQL, driven by `loadtest post` (batches of 100) as hard as it goes;
#      then how long ingest takes to apply the backlog, and the CPU each process used;
#   3. visibility lag at a steady load ingest keeps up with: the lag probe (one statement at a
#      time: POST to api, then GET by id from query until found) beside one connection of batches.
# Prints (1), (2), the ratios (2)/(1) and the lag percentiles.
# Usage: loadtest/distributed-bench.sh [SECONDS] [CONNECTIONS]
# Environment: PARTITIONS (3), COMPRESSION (none; tansu unpacks lz4 batches slowly, docs/kafka.md),
# RECORDS for the baseline (1500), KAFKA_PORT (19292), API_PORT (18301; query +1, ingest +2),
# LAG_CONNECTIONS (1) and LAG_BATCH (10) for the steady load of the lag measurement.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-30}
CONNECTIONS=${2:-16}
PARTITIONS=${PARTITIONS:-3}
COMPRESSION=${COMPRESSION:-none}
RECORDS=${RECORDS:-1500}
API_PORT=${API_PORT:-18301}
QUERY_PORT=$((API_PORT + 1))
INGEST_PORT=$((API_PORT + 2))

echo "== building (release, features lrs/distributed, lrs-loadtest/kafka)"
cargo build --release -q -p lrs -p lrs-loadtest --features lrs/distributed,lrs-loadtest/kafka
BIN=${CARGO_TARGET_DIR:-target}/release

echo "== PostgreSQL and tansu"
PG=$(bash ci/postgres.sh)
eval "$(KAFKA_PORT=${KAFKA_PORT:-19292} bash ci/kafka.sh)"
DIR=$(mktemp -d)
PIDS=("$KAFKA_PID")
cleanup() { kill "${PIDS[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT
SCHEMA="bench_$$_$(date +%s)"
psql "$PG" -qc "CREATE SCHEMA $SCHEMA"
STORE_URI="postgres://${LRS_PG_USER:-lrs}:${LRS_PG_PASSWORD:-lrs}@127.0.0.1:${LRS_PG_PORT:-5432}/${LRS_PG_DB:-lrs}?options=-csearch_path%3D$SCHEMA"
TOPIC_PARAMS="partitions=$PARTITIONS&compression=$COMPRESSION"

echo "== baseline: raw produce of $RECORDS records x 100 statements, $CONNECTIONS in flight"
"$BIN/loadtest" raw-produce --uri "kafka://$LRS_TEST_KAFKA/raw-$$?$TOPIC_PARAMS" \
  --records "$RECORDS" --batch 100 --in-flight "$CONNECTIONS" --json "$DIR/raw.json"

echo "== the distributed LRS: api :$API_PORT, query :$QUERY_PORT, ingest :$INGEST_PORT"
read -r KEY SECRET < <("$BIN/lrs" credentials create --data-dir "$DIR" --tenant bench --scopes all)
export LRS__LOG__URI="kafka://$LRS_TEST_KAFKA/lrs-$$?$TOPIC_PARAMS"
export LRS__STORAGE__URI="$STORE_URI"
export LRS__LOGGING__LEVEL=warn
start() { # role port
  "$BIN/lrs" serve --services "$1" --listen "127.0.0.1:$2" --data-dir "$DIR" >"$DIR/$1.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$2/ready" >/dev/null && return; sleep 0.1; done
  echo "$1 did not become ready; its log:"; cat "$DIR/$1.log"; exit 1
}
start api "$API_PORT"
start ingest "$INGEST_PORT"
start query "$QUERY_PORT"
"$BIN/loadtest" post --endpoint "http://127.0.0.1:$API_PORT/xapi" --key="$KEY" --secret="$SECRET" \
  --connections "$CONNECTIONS" --batch 100 --duration "$SECS" \
  --lag-probe --read-endpoint "http://127.0.0.1:$QUERY_PORT/xapi" --json "$DIR/e2e.json"

echo "== waiting for ingest to apply the backlog"
drain_start=$(date +%s.%N)
lag=""
for _ in $(seq 3000); do
  lag=$(curl -s "http://127.0.0.1:$QUERY_PORT/ready" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ingest_lag_records"])')
  [ "$lag" = 0 ] && break
  sleep 0.2
done
drain=$(python3 -c "import time; print(round(time.time() - $drain_start, 1))")
echo "backlog applied ${drain} s after the load stopped (lag now: $lag records)"

echo "== CPU seconds used so far, per process (where the two cores went)"
cpu() { ps -o time= -p "$1" | awk -F'[:-]' '{ s = $NF + 60 * $(NF-1) + 3600 * $(NF-2); print s }'; }
for i in "${!PIDS[@]}"; do
  name=$(ps -o comm= -p "${PIDS[$i]}" 2>/dev/null || true)
  role=$(tr '\0' ' ' < "/proc/${PIDS[$i]}/cmdline" 2>/dev/null | grep -o -- '--services [a-z]*' || echo broker)
  echo "  $name ${role#--services } $(cpu "${PIDS[$i]}") s"
done
echo "  postgres (all backends) $(ps -C postgres -o time= | awk -F'[:-]' '{ s += $NF + 60 * $(NF-1) + 3600 * $(NF-2) } END { print s }') s"

echo "== visibility lag at a steady load ingest keeps up with (${LAG_CONNECTIONS:-1} connection, batches of ${LAG_BATCH:-10})"
"$BIN/loadtest" post --endpoint "http://127.0.0.1:$API_PORT/xapi" --key="$KEY" --secret="$SECRET" \
  --connections "${LAG_CONNECTIONS:-1}" --batch "${LAG_BATCH:-10}" --duration "$SECS" \
  --lag-probe --read-endpoint "http://127.0.0.1:$QUERY_PORT/xapi" --json "$DIR/steady.json"

python3 - "$DIR/raw.json" "$DIR/e2e.json" "$drain" "$DIR/steady.json" <<'EOF'
import json, sys
raw, e2e, drain = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), float(sys.argv[3])
steady = json.load(open(sys.argv[4]))
raw_rate = raw["statements_per_second"]
e2e_rate = e2e["statements_per_second"]
applied_rate = e2e["statements"] / (e2e["seconds"] + drain)
lag = steady.get("visibility_lag_ms", {})
print(f"raw produce         {raw_rate:10.0f} statements/s")
print(f"lrs acknowledged    {e2e_rate:10.0f} statements/s   ratio {e2e_rate / raw_rate:.2f}")
print(f"lrs applied (ingest){applied_rate:10.0f} statements/s   ratio {applied_rate / raw_rate:.2f} (acknowledged statements / (load + drain time))")
print(f"steady load         {steady['statements_per_second']:10.0f} statements/s")
print(f"visibility lag      p50 {lag.get('p50')} ms  p99 {lag.get('p99')} ms  max {lag.get('max')} ms  ({lag.get('samples')} probes, {lag.get('never_seen')} never seen)")
EOF
