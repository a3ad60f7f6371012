#!/usr/bin/env bash
# The issue-2 write benchmark, in one run on this machine:
#   1. baseline: the embedded log's own append benchmark (durable, group-committed appends of the
#      same kind of records, no HTTP, no validation) — the floor the LRS write path stands on;
#   2. `lrs serve` (release, embedded, fresh data dir) driven by `loadtest post` with batches of 100;
#   3. the same with single-statement POSTs.
# Prints each result and the ratio of (2) to (1). Usage: loadtest/bench.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${1:-30}
CONNECTIONS=${2:-32}
PORT=${PORT:-18123}

cargo build --release -q -p lrs -p lrs-loadtest -p lrs-log --examples --bins
BIN=${CARGO_TARGET_DIR:-target}/release

echo "== baseline: embedded log append (records of 100 statements, then single statements)"
BASE_DIR=$(mktemp -d)
cargo run --release -q -p lrs-log --example append_bench -- 2000 40000 "$BASE_DIR" | tee /tmp/lrs-bench-baseline.txt
rm -rf "$BASE_DIR"

run() { # $1 = batch size
  local dir; dir=$(mktemp -d)
  read -r key secret < <("$BIN/lrs" credentials create --data-dir "$dir" --tenant bench --scopes all)
  "$BIN/lrs" serve --listen "127.0.0.1:$PORT" --data-dir "$dir" >"$dir.log" 2>&1 &
  local pid=$!
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null && break; sleep 0.1; done
  echo "== lrs serve, batch $1, $CONNECTIONS connections, ${SECONDS_PER_RUN}s"
  "$BIN/loadtest" post --endpoint "http://127.0.0.1:$PORT/xapi" --key "$key" --secret "$secret" \
    --connections "$CONNECTIONS" --batch "$1" --duration "$SECONDS_PER_RUN" --json "/tmp/lrs-bench-$1.json"
  echo "after the run: $(curl -s "http://127.0.0.1:$PORT/ready")  rss_kb=$(ps -o rss= -p $pid)"
  kill "$pid"; wait "$pid" || true
  rm -rf "$dir" "$dir.log"
}
run 100
run 1
