#!/usr/bin/env bash
# npm run demo: the collector's main job, end to end, on this machine, with nothing but Node and npm
# to start from:
#   1. setup: the image's Node major, system packages, node_modules (librdkafka compiled), the test
#      broker's jars, dist/
#   2. a local Kafka broker (the test harness's single-node KRaft broker, data in a temp dir)
#   3. a topic `market_data` with 3 partitions and sample market data of the seed's shape, over two
#      UTC days, with a few undecodable messages among it
#   4. the collector in one-shot mode (the seed's "one-time run") into ./demo-output, then
#      `compact`: yesterday becomes demo-output/YYYY/MM/DD/market_data.parquet, today stays in parts
#   5. the file tree and DuckDB queries over the files, checked against what was produced
# The broker is stopped and its data deleted on exit, whatever happens.
#
# Settings (environment):
#   BOOTSTRAP_SERVERS        use this broker instead of starting one (e.g. localhost:19092 for the
#                            compose stack's Redpanda), as the collector reads it; the topic is
#                            appended to if it exists. KAFKA_BOOTSTRAP_SERVERS (the test harness's
#                            name) works too.
#   DEMO_OUTPUT_DIR          output directory, emptied first (default demo-output)
#   DEMO_TOPIC               topic name (default market_data)
#   DEMO_MESSAGES            messages to produce (default 20000)
#   DEMO_BATCH_SIZE          the collector's BATCH_SIZE, rows per file (default 4000, to show several files)
#   LOG_LEVEL                the collector's log level (default info)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly OUTPUT=${DEMO_OUTPUT_DIR:-demo-output}
readonly TOPIC=${DEMO_TOPIC:-market_data}
readonly MESSAGES=${DEMO_MESSAGES:-20000}
readonly BATCH=${DEMO_BATCH_SIZE:-4000}
readonly BUILD_DIR=.cache/demo

if [[ -t 1 && -z ${NO_COLOR:-} ]]; then bold=$'\e[1m' reset=$'\e[0m'; else bold='' reset=''; fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$reset"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

# Refuse an output dir that is not ours to empty (an absolute path like / or the repo itself).
case $OUTPUT in
  '' | / | . | .. | /* | ../*) die "DEMO_OUTPUT_DIR must be a relative path inside the repository, got '$OUTPUT'" ;;
esac

broker_pid=''
broker_log=''
cleanup() {
  local status=$?
  if [[ -n $broker_pid ]] && kill -0 "$broker_pid" 2>/dev/null; then
    step "Stopping the broker"
    # The launcher stops the JVM (SIGTERM, then SIGKILL after 20 s) and deletes its data dir.
    kill -TERM "$broker_pid" 2>/dev/null || true
    wait "$broker_pid" 2>/dev/null || true
  fi
  [[ -n $broker_log ]] && rm -f "$broker_log"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step "1/5 Setup (the image's Node major, system packages, npm ci, broker jars, build; quick when already done)"
bash scripts/setup.sh
# The rest runs on the Node the tests run on: this machine's, or the one setup installed in .cache/.
PATH=$(bash scripts/with-node.sh printenv PATH)

step "2/5 Compiling the demo helpers"
node_modules/.bin/tsc -p scripts/demo/tsconfig.json

step "3/5 Kafka broker"
if [[ -n ${BOOTSTRAP_SERVERS:-${KAFKA_BOOTSTRAP_SERVERS:-}} ]]; then
  bootstrap=${BOOTSTRAP_SERVERS:-$KAFKA_BOOTSTRAP_SERVERS}
  echo "using the broker at $bootstrap"
else
  broker_log=$(mktemp -t demo-broker.XXXXXX)
  node "$BUILD_DIR/test/harness/broker-cli.js" >"$broker_log" 2>&1 &
  broker_pid=$!
  echo "starting a single-node Kafka (KRaft) broker, pid $broker_pid; this takes 10-60 s..."
  bootstrap=''
  for _ in $(seq 1 240); do
    bootstrap=$(sed -n 's/^KAFKA_BOOTSTRAP_SERVERS=//p' "$broker_log")
    [[ -n $bootstrap ]] && break
    kill -0 "$broker_pid" 2>/dev/null || { cat "$broker_log" >&2; broker_pid=''; die "the broker did not start (output above)"; }
    sleep 0.5
  done
  [[ -n $bootstrap ]] || { cat "$broker_log" >&2; die "the broker was not ready after 120 s"; }
  echo "broker ready on $bootstrap ($(sed -n 's/^# broker log: //p' "$broker_log"))"
fi

step "4/5 Producing $MESSAGES messages to $TOPIC"
summary="$BUILD_DIR/produced.json"
node "$BUILD_DIR/scripts/demo/produce-sample.js" --bootstrap "$bootstrap" --topic "$TOPIC" --partitions 3 \
  --messages "$MESSAGES" --summary "$summary"

step "5/5 Running the collector once: bin/redpanda-parquet-collector --once (OUTPUT_DIR=$OUTPUT)"
rm -rf -- "$OUTPUT"
# A fresh group, so the run starts from the beginning of the topic even on a reused broker.
# HTTP on a free loopback port: 8080 may be taken on this machine.
BOOTSTRAP_SERVERS=$bootstrap \
  TOPICS=$TOPIC \
  GROUP_ID="demo-$(date +%s)" \
  OUTPUT_DIR=$OUTPUT \
  BATCH_SIZE=$BATCH \
  MAX_WORKERS=1 \
  HTTP_HOST=127.0.0.1 \
  HTTP_PORT=0 \
  LOG_LEVEL=${LOG_LEVEL:-info} \
  bin/redpanda-parquet-collector --once
echo "collector exited 0"

step "Compacting the closed day: bin/redpanda-parquet-collector compact"
# Yesterday is over: its parts become OUTPUT_DIR/YYYY/MM/DD/$TOPIC.parquet, the seed's path. No grace
# period here, so the demo shows it even just after midnight UTC; today stays open, in parts.
OUTPUT_DIR=$OUTPUT COMPACTION_GRACE_MS=0 LOG_LEVEL=${LOG_LEVEL:-info} bin/redpanda-parquet-collector compact

node "$BUILD_DIR/scripts/demo/show-output.js" "$OUTPUT" --summary "$summary"

step "Done"
cat <<EOF
The Parquet files are in ./$OUTPUT (removed by the next run). Query them with any Parquet reader, e.g.
  duckdb -c "SELECT symbol, count(*) FROM read_parquet('$OUTPUT/*/*/*/$TOPIC.parquet') GROUP BY 1"      # closed days
  duckdb -c "SELECT count(*) FROM read_parquet('$OUTPUT/*/*/*/$TOPIC/*.parquet', union_by_name = true)"  # the open day
  python -c "import polars as pl; print(pl.read_parquet('$OUTPUT/*/*/*/$TOPIC.parquet'))"
EOF
