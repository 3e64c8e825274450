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

say "Producing it to Kafka (topic hearings.events.v1; repeated events are ignored by the processor)"
"$BIN" produce --events "$DEMO/may-2025.ndjson"

say "Running the processor with its clock at $NOW until it is idle"
"$BIN" run --now "$NOW" --exit-when-idle 3 2>&1 | tee "$DEMO/processor-first.log" | grep -E 'caught up|idle|ERROR' || true

say "The May 2025 report, read back from ClickHouse as the analyst user"
HEARWATCH_CLICKHOUSE_USER=$HEARWATCH_ANALYST_USER HEARWATCH_CLICKHOUSE_PASSWORD=$HEARWATCH_ANALYST_PASSWORD \
    "$BIN" report --month 2025-05 --format table

say "Leaving the processor running for Prometheus (log: $DEMO/processor.log)"
nohup "$BIN" run --now "$NOW" >"$DEMO/processor.log" 2>&1 &
echo $! >"$PIDFILE"
cat <<INFO
Where to look:
  metrics      http://$HEARWATCH_METRICS_ADDR/metrics
  Prometheus   $HEARWATCH_PROMETHEUS_URL  (try: sum by (rule) (hearwatch_violations_emitted_total))
  ClickHouse   $HEARWATCH_CLICKHOUSE_URL  database $HEARWATCH_CLICKHOUSE_DATABASE, views open_meetings_monthly,
               public_discussions_monthly, violations (credentials in .stack/secrets.env)
  Grafana      not installable here; with Docker: docker-compose up grafana (dashboards in deploy/grafana)
  Stop         make down
INFO
