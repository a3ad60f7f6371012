#!/usr/bin/env bash
# Starts a Kafka-protocol broker for the Kafka log tests: tansu (https://github.com/tansu-io/tansu),
# with its SQLite storage engine in a fresh temporary directory, on loopback.
#
#   eval "$(ci/kafka.sh)"        # prints: export LRS_TEST_KAFKA=127.0.0.1:<port>; KAFKA_PID=...
#   cargo test -p lrs-log --features kafka --test kafka
#   kill "$KAFKA_PID"
#
# tansu is installed once (about 8 minutes) into $TANSU_ROOT (default /var/cache/lrs-ci/tansu),
# outside the repository. Its memory:// engine loses records and it has no transactions, so only
# sqlite:// is used (the Kafka log uses no transactions anyway).
# The outage tests in log/tests/kafka.rs start tansu themselves from the same $TANSU_ROOT (they
# kill, restart and freeze their own broker), so run this script once even for them.
# Environment: TANSU_ROOT, KAFKA_PORT (default 19092).
set -euo pipefail

root="${TANSU_ROOT:-/var/cache/lrs-ci/tansu}"
port="${KAFKA_PORT:-19092}"
tansu="$root/bin/tansu"

if [ ! -x "$tansu" ]; then
  echo "installing tansu into $root" >&2
  cargo install --root "$root" tansu --locked --features libsql >&2
fi

data="$(mktemp -d -t lrs-tansu.XXXXXX)"
# tansu reads the path of a sqlite:// URL relative to its working directory.
(cd "$data" && exec "$tansu" broker \
  --listener-url "tcp://127.0.0.1:$port" \
  --advertised-listener-url "tcp://127.0.0.1:$port" \
  --storage-engine "sqlite://tansu.db" \
  >"$data/tansu.log" 2>&1) &
pid=$!

for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "tansu listening on 127.0.0.1:$port (pid $pid, data and log in $data)" >&2
    echo "export LRS_TEST_KAFKA=127.0.0.1:$port; KAFKA_PID=$pid"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "tansu exited; its log:" >&2
    cat "$data/tansu.log" >&2
    exit 1
  fi
  sleep 0.1
done
echo "tansu did not listen on 127.0.0.1:$port within 10 s; its log is $data/tansu.log" >&2
kill "$pid"
exit 1
