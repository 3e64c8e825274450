#!/usr/bin/env bash
# The demo: the may-2025 scenario through Kafka, the processor and ClickHouse, and the
# ministry's two tables read back from ClickHouse. Expects the local stack to be up
# (`make demo` starts it) and the release binary to be built.
#
#   deploy/demo.sh        run the demo and leave the processor running for Prometheus
#   deploy/demo.sh stop   stop the demo's processor
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$ROOT/target/release/hearwatch
DEMO=$ROOT/.stack/demo
PIDFILE=$DEMO/processor.pid
NOW=2025-07-01T00:00:00+05:00

say() { printf '\n== %s\n' "$*"; }

stop_processor() {
    if [[ -f $PIDFILE ]] && kill -0 "$(<"$PIDFILE")" 2>/dev/null; then
        kill -TERM "$(<"$PIDFILE")"
        for _ in $(seq 1 30); do kill -0 "$(<"$PIDFILE")" 2>/dev/null || break; sleep 0.5; done
        echo "demo processor stopped"
    fi
    rm -f "$PIDFILE"
}

if [[ ${1:-} == stop ]]; then
    stop_processor
    exit 0
fi

[[ -x $BIN ]] || { echo "demo: $BIN is missing; run 'make build' first" >&2; exit 1; }
[[ -f $ROOT/.stack/env ]] || { echo "demo: the stack is not up; run 'make stack' first" >&2; exit 1; }
# shellcheck source=/dev/null
source "$ROOT/.stack/env"
mkdir -p "$DEMO"
stop_processor

say "Creating or upgrading the ClickHouse schema (database $HEARWATCH_CLICKHOUSE_DATABASE)"
HEARWATCH_CLICKHOUSE_USER=default HEARWATCH_CLICKHOUSE_PASSWORD= "$BIN" migrate

say "Writing the may-2025 scenario"
"$BIN" simulate --scenario may-2025 --output "$DEMO/may-2025.ndjson"
echo "$(wc -l <"$DEMO/may-2025.ndjson") events in $DEMO/may-2025.ndjson"

# The processor that takes the events is the one left running, so that Prometheus shows
# the work it did (its counters start from zero with every process).
say "Starting the processor with its clock at $NOW (log: $DEMO/processor.log)"
nohup "$BIN" run --now "$NOW" >"$DEMO/processor.log" 2>&1 &
echo $! >"$PIDFILE"

say "Producing it to Kafka (topic hearings.events.v1; repeated events are ignored by the processor)"
"$BIN" produce --events "$DEMO/may-2025.ndjson"

# Sum of a metric's series on the processor's /metrics (0 while it does not answer).
metric() {
    curl -fs "http://$HEARWATCH_METRICS_ADDR/metrics" 2>/dev/null |
        awk -v name="$1" '$1 == name || index($1, name "{") == 1 { s += $2 } END { print s + 0 }'
}
say "Waiting until the processor has taken every event and written its findings"
sent=$(wc -l <"$DEMO/may-2025.ndjson")
for _ in $(seq 1 240); do
    kill -0 "$(<"$PIDFILE")" 2>/dev/null || { tail -20 "$DEMO/processor.log" >&2; exit 1; }
    taken=$(($(metric hearwatch_events_consumed_total) + $(metric hearwatch_duplicates_ignored_total) \
        + $(metric hearwatch_events_dead_lettered_total)))
    ((taken >= sent)) && (($(metric hearwatch_consumer_lag_messages) == 0)) && break
    sleep 0.5
done
((taken >= sent)) || { echo "demo: the processor took $taken of $sent events in 2 minutes" >&2; exit 1; }
sleep 2 # a flush (every 0.5 s) writes what the last events changed
echo "$(metric hearwatch_events_consumed_total) events consumed, $(metric hearwatch_duplicates_ignored_total) repeats ignored"

say "The May 2025 report, read back from ClickHouse as the analyst user"
HEARWATCH_CLICKHOUSE_USER=$HEARWATCH_ANALYST_USER HEARWATCH_CLICKHOUSE_PASSWORD=$HEARWATCH_ANALYST_PASSWORD \
    "$BIN" report --month 2025-05 --format table

say "The processor keeps running for Prometheus (log: $DEMO/processor.log)"
cat <<INFO
Where to look:
  metrics      http://$HEARWATCH_METRICS_ADDR/metrics
  Prometheus   $HEARWATCH_PROMETHEUS_URL  (try: sum by (region) (hearwatch_active_violations),
               sum by (type) (hearwatch_events_consumed_total); alerts: $HEARWATCH_PROMETHEUS_URL/alerts)
  ClickHouse   $HEARWATCH_CLICKHOUSE_URL  database $HEARWATCH_CLICKHOUSE_DATABASE, views open_meetings_monthly,
               public_discussions_monthly, violations (credentials in .stack/secrets.env)
  Grafana      not installable here. With Docker, after \`make down\` (the ports are the same):
               docker-compose up -d, then http://127.0.0.1:3000, dashboards "hearwatch pipeline
               health" and "hearwatch violations" (deploy/grafana); they show the compose stack's data
  Stop         make down
INFO
