#!/usr/bin/env bash
# The local hearwatch stack: Kafka (KRaft, one node), ClickHouse and
# Prometheus, each a plain process on 127.0.0.1 with its data under .stack/
# at the repository root. No Docker needed. See deploy/README.md.
#
#   deploy/stack.sh install         install what is missing (apt, Kafka jars)
#   deploy/stack.sh up              start what is not running, wait, write .stack/env
#   deploy/stack.sh down [--purge]  stop all three; --purge also deletes their data
#   deploy/stack.sh purge           the same as down --purge
#   deploy/stack.sh status          one line per component
#   deploy/stack.sh restart-kafka | stop-clickhouse | start-clickhouse
#   deploy/stack.sh topics ARGS...  kafka-topics on the local broker, e.g. topics --list
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEPLOY="$ROOT/deploy"
STACK="$ROOT/.stack"

KAFKA_PORT=19092
KAFKA_CONTROLLER_PORT=19093
CH_HTTP_PORT=18123
CH_TCP_PORT=19000
PROM_PORT=19090
METRICS_ADDR=127.0.0.1:19100

TOPICS=(hearings.events.v1 hearings.events.dlq.v1)
TOPIC_PARTITIONS=3

APT_PACKAGES=(clickhouse-server clickhouse-client prometheus libsasl2-dev libssl-dev docker-compose)

KAFKA_DIR="$STACK/kafka"
KAFKA_LIBS="$KAFKA_DIR/libs"
CH_DIR="$STACK/clickhouse"
PROM_DIR="$STACK/prometheus"

# How long `up` waits for each component before giving up.
START_TIMEOUT=${HEARWATCH_STACK_TIMEOUT:-90}

log() { printf '[stack] %s\n' "$*"; }
warn() { printf '[stack] warning: %s\n' "$*" >&2; }
die() {
    printf '[stack] error: %s\n' "$*" >&2
    exit 1
}

# ---------------------------------------------------------------- helpers

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# The pid in pid file $1 if that process is alive and is one of ours: its
# command line names this stack's folder (guards against a reused pid).
live_pid() {
    local file=$1 pid
    [[ -f $file ]] || return 1
    pid=$(<"$file")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$STACK" || return 1
    printf '%s\n' "$pid"
}

# Starts "$@" detached in its own session, output to $2, pid to $1.
spawn() {
    local pidfile=$1 outfile=$2
    shift 2
    # The inner shell writes its own pid and then becomes the program, so
    # the pid file holds the program's pid even if setsid had to fork.
    # fd 9 is the lock of this script: the program must not inherit it.
    # shellcheck disable=SC2016 # $$ and $@ are the inner shell's
    nohup setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" \
        >>"$outfile" 2>&1 </dev/null 9>&- &
    local _
    for _ in $(seq 50); do
        [[ -s $pidfile ]] && return 0
        sleep 0.1
    done
    die "could not start $1 (no pid written); see $outfile"
}

# Sends SIGTERM to the process in pid file $2, waits up to $3 seconds, then
# SIGKILL. $1 is the name used in messages.
stop_process() {
    local name=$1 pidfile=$2 grace=$3 pid _
    if ! pid=$(live_pid "$pidfile"); then
        log "$name: not running"
        rm -f "$pidfile"
        return 0
    fi
    log "$name: stopping pid $pid (SIGTERM, up to ${grace}s)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq $((grace * 10))); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        warn "$name: pid $pid still running after ${grace}s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.5
    fi
    rm -f "$pidfile"
    log "$name: stopped"
}

# Pids of a system (package-started) $1 process: same command name, not
# started by a stack of any checkout.
system_service_pids() {
    local want=$1 dir comm
    for dir in /proc/[0-9]*; do
        comm=$(cat "$dir/comm" 2>/dev/null) || continue
        [[ $comm == "${want:0:15}" ]] || continue
        tr '\0' ' ' <"$dir/cmdline" 2>/dev/null | grep -qF "/.stack/" && continue
        printf '%s\n' "${dir#/proc/}"
    done
}

# Stops and disables the system service $1. Without systemd it signals the
# service's own pids: Debian's init script for clickhouse-server would stop
# every clickhouse-server process, a stack's included.
stop_system_service() {
    local service=$1 pid
    warn "a system $service service holds one of our ports: stopping and disabling it"
    if [[ -d /run/systemd/system ]]; then
        systemctl stop "$service" || true
        systemctl disable "$service" || true
    else
        for pid in $(system_service_pids "$service"); do
            kill -TERM "$pid" 2>/dev/null || true
        done
        update-rc.d "$service" disable >/dev/null 2>&1 || true
        for _ in $(seq 100); do
            [[ -z $(system_service_pids "$service") ]] && break
            sleep 0.1
        done
    fi
}

# Fails if port $2 is taken by something that is not our $1. A system
# service of the same program (the Debian package's own) is stopped instead.
check_port_free() {
    local name=$1 port=$2 service=${3:-}
    port_open "$port" || return 0
    if [[ -n $service && -n $(system_service_pids "$service") ]]; then
        stop_system_service "$service"
        port_open "$port" || return 0
    fi
    die "$name: port 127.0.0.1:$port is already in use by another process" \
        "(not ours: no live pid file under .stack/). Stop it, e.g. find it with" \
        "'ss -ltnp | grep :$port', then run 'deploy/stack.sh up' again."
}

# Waits until command "$@" succeeds, at most $START_TIMEOUT seconds, while
# pid file $2 stays alive. $1 names the component, $3 its log file.
wait_for() {
    local name=$1 pidfile=$2 logfile=$3
    shift 3
    local deadline=$((SECONDS + START_TIMEOUT))
    until "$@" >/dev/null 2>&1; do
        if ! live_pid "$pidfile" >/dev/null; then
            die "$name exited during start-up; see $logfile"
        fi
        if ((SECONDS >= deadline)); then
            die "$name did not answer within ${START_TIMEOUT}s; see $logfile"
        fi
        sleep 0.5
    done
}

pkg_installed() {
    [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

# Renders template $1 into $2, replacing each @KEY@ given as KEY=VALUE.
render() {
    local src=$1 dst=$2 expr=() kv
    shift 2
    for kv in "$@"; do
        # values are paths and hex digests: escape sed's delimiter and &
        local v=${kv#*=}
        v=${v//\\/\\\\}
        v=${v//|/\\|}
        v=${v//&/\\&}
        expr+=(-e "s|@${kv%%=*}@|$v|g")
    done
    sed "${expr[@]}" "$src" >"$dst.tmp"
    mv "$dst.tmp" "$dst"
}

java_opts_tool() {
    printf '%s\n' -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
        "-Dlog4j2.configurationFile=$DEPLOY/kafka/tools-log4j2.xml"
}

# Runs a Kafka tool main class with the stack's jars.
kafka_tool() {
    local opts
    mapfile -t opts < <(java_opts_tool)
    java "${opts[@]}" -cp "$KAFKA_LIBS/*" "$@"
}

# ---------------------------------------------------------------- install

pom_digest() {
    sha256sum "$DEPLOY/kafka/pom.xml" | cut -d' ' -f1
}

kafka_libs_current() {
    [[ -f $KAFKA_LIBS/.pom.sha256 && $(<"$KAFKA_LIBS/.pom.sha256") == "$(pom_digest)" ]]
}

missing_packages() {
    local p
    for p in "${APT_PACKAGES[@]}"; do
        pkg_installed "$p" || printf '%s\n' "$p"
    done
}

install_apt() {
    local missing
    mapfile -t missing < <(missing_packages)
    if ((${#missing[@]} == 0)); then
        log "apt: all packages present (${APT_PACKAGES[*]})"
        return 0
    fi
    ((EUID == 0)) || die "apt: missing ${missing[*]}; installing needs root: run 'sudo deploy/stack.sh install'"
    command -v apt-get >/dev/null || die "apt: apt-get not found; this script expects Debian 12"

    # Debian's clickhouse-server and prometheus packages start a system
    # service from their postinst. Ours runs on its own ports from its own
    # config, so a policy-rc.d that refuses service starts keeps the system
    # ones from running at all during this install (the standard Debian way).
    local policy=/usr/sbin/policy-rc.d made_policy=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\n# temporary, from hearwatch deploy/stack.sh install\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        made_policy=1
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
        log "apt: service starts disabled during the install ($policy, removed afterwards)"
    fi

    log "apt: missing ${missing[*]}; running apt-get update"
    if ! apt-get update; then
        die "apt: 'apt-get update' failed; check the network and /etc/apt/sources.list, then run 'deploy/stack.sh install' again"
    fi
    log "apt: apt-get install -y --no-install-recommends ${missing[*]}"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"; then
        die "apt: installing ${missing[*]} failed (see apt's output above); fix that and run 'deploy/stack.sh install' again"
    fi
    if ((made_policy)); then
        rm -f "$policy"
        trap - EXIT
    fi
    mapfile -t missing < <(missing_packages)
    ((${#missing[@]} == 0)) || die "apt: still missing after install: ${missing[*]}"
    log "apt: installed"
}

# A system clickhouse-server or prometheus (from the packages' own init
# scripts) does not use our ports, so it can stay: say so. `up` stops it only
# if it holds one of our ports (check_port_free).
check_system_services() {
    local service pid
    for service in clickhouse-server prometheus; do
        for pid in $(system_service_pids "$service"); do
            log "note: a system $service (pid $pid) is running on its own ports;" \
                "ours is separate and does not use it"
        done
    done
}

java_major() {
    java -XshowSettings:properties -version 2>&1 |
        awk -F' = ' '/java.specification.version/ { split($2, v, "."); print v[1] }'
}

install_kafka() {
    command -v java >/dev/null || die "kafka: java not found; install Java 17 ('apt-get install openjdk-17-jre-headless')"
    local major
    major=$(java_major)
    ((${major:-0} >= 17)) || die "kafka: Kafka 4 needs Java 17 or later, found '${major:-unknown}'; install openjdk-17-jre-headless"
    if kafka_libs_current; then
        log "kafka: jars present ($(find "$KAFKA_LIBS" -name '*.jar' | wc -l) in .stack/kafka/libs)"
        return 0
    fi
    command -v mvn >/dev/null || die "kafka: mvn not found; install Maven ('apt-get install maven')"
    log "kafka: fetching jars with Maven from deploy/kafka/pom.xml into .stack/kafka/libs"
    rm -rf "$KAFKA_LIBS"
    mkdir -p "$KAFKA_LIBS"
    local out
    # Maven's output is shown only when it fails (quiet mode still prints
    # terminal escape codes).
    if ! out=$(mvn -q -B -Dstyle.color=never -f "$DEPLOY/kafka/pom.xml" \
        dependency:copy-dependencies -DoutputDirectory="$KAFKA_LIBS" -DincludeScope=runtime 2>&1); then
        printf '%s\n' "$out" >&2
        rm -rf "$KAFKA_LIBS"
        die "kafka: Maven could not fetch the jars (see its output above). Check that Maven Central" \
            "is reachable (mirrors and proxies go in ~/.m2/settings.xml), then run 'deploy/stack.sh install' again"
    fi
    pom_digest >"$KAFKA_LIBS/.pom.sha256"
    log "kafka: $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars in .stack/kafka/libs"
}

installed() {
    [[ -z $(missing_packages) ]] && kafka_libs_current
}

cmd_install() {
    mkdir -p "$STACK"
    install_apt
    check_system_services
    install_kafka
    log "install: done"
}

# ---------------------------------------------------------------- secrets and env

random_password() {
    od -An -N16 -tx1 /dev/urandom | tr -d ' \n'
}

# Creates .stack/secrets.env once (mode 600) and loads it.
load_secrets() {
    local file="$STACK/secrets.env"
    if [[ ! -s $file ]]; then
        log "secrets: generating ClickHouse passwords into .stack/secrets.env"
        (
            umask 077
            {
                echo "# generated by deploy/stack.sh; never commit"
                echo "HEARWATCH_CLICKHOUSE_PASSWORD=$(random_password)"
                echo "HEARWATCH_ANALYST_PASSWORD=$(random_password)"
            } >"$file.tmp"
            mv "$file.tmp" "$file"
        )
    fi
    chmod 600 "$file"
    # shellcheck disable=SC1090
    source "$file"
    [[ -n ${HEARWATCH_CLICKHOUSE_PASSWORD:-} && -n ${HEARWATCH_ANALYST_PASSWORD:-} ]] ||
        die "secrets: $file lacks a password; delete it and run 'deploy/stack.sh up' again"
}

write_env() {
    local file="$STACK/env"
    (
        umask 077
        cat >"$file.tmp" <<EOF
# hearwatch local stack, written by deploy/stack.sh up. Use: source .stack/env
export HEARWATCH_KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT
export HEARWATCH_CLICKHOUSE_URL=http://127.0.0.1:$CH_HTTP_PORT
export HEARWATCH_CLICKHOUSE_DATABASE=hearwatch
export HEARWATCH_CLICKHOUSE_USER=hearwatch_writer
export HEARWATCH_CLICKHOUSE_PASSWORD=$HEARWATCH_CLICKHOUSE_PASSWORD
export HEARWATCH_ANALYST_USER=hearwatch_analyst
export HEARWATCH_ANALYST_PASSWORD=$HEARWATCH_ANALYST_PASSWORD
export HEARWATCH_METRICS_ADDR=$METRICS_ADDR
export HEARWATCH_PROMETHEUS_URL=http://127.0.0.1:$PROM_PORT
EOF
        mv "$file.tmp" "$file"
    )
    chmod 600 "$file"
}

# ---------------------------------------------------------------- kafka

kafka_start() {
    local pidfile="$KAFKA_DIR/kafka.pid" pid
    if pid=$(live_pid "$pidfile"); then
        log "kafka: already running (pid $pid)"
        return 0
    fi
    check_port_free kafka "$KAFKA_PORT"
    check_port_free "kafka controller" "$KAFKA_CONTROLLER_PORT"
    mkdir -p "$KAFKA_DIR/data"
    render "$DEPLOY/kafka/server.properties" "$KAFKA_DIR/server.properties" \
        "DATA_DIR=$KAFKA_DIR/data"

    if [[ ! -f $KAFKA_DIR/data/meta.properties ]]; then
        if [[ ! -s $KAFKA_DIR/cluster.id ]]; then
            kafka_tool kafka.tools.StorageTool random-uuid >"$KAFKA_DIR/cluster.id.tmp"
            mv "$KAFKA_DIR/cluster.id.tmp" "$KAFKA_DIR/cluster.id"
        fi
        log "kafka: formatting storage in .stack/kafka/data (cluster id $(<"$KAFKA_DIR/cluster.id"))"
        kafka_tool kafka.tools.StorageTool format --ignore-formatted \
            -t "$(<"$KAFKA_DIR/cluster.id")" -c "$KAFKA_DIR/server.properties" >/dev/null ||
            die "kafka: formatting the storage failed (see above)"
    fi

    log "kafka: starting on 127.0.0.1:$KAFKA_PORT (controller $KAFKA_CONTROLLER_PORT), log .stack/kafka/kafka.log"
    spawn "$pidfile" "$KAFKA_DIR/kafka.out" \
        java -Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
        -XX:InitiatingHeapOccupancyPercent=35 -Djava.awt.headless=true \
        "-Dkafka.logs.dir=$KAFKA_DIR" \
        "-Dlog4j2.configurationFile=$DEPLOY/kafka/log4j2.xml" \
        -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_DIR/server.properties"
}

kafka_list_topics() {
    kafka_tool org.apache.kafka.tools.TopicCommand \
        --bootstrap-server "127.0.0.1:$KAFKA_PORT" --list
}

kafka_wait() {
    local pidfile="$KAFKA_DIR/kafka.pid" logs=".stack/kafka/kafka.log and .stack/kafka/kafka.out"
    wait_for kafka "$pidfile" "$logs" port_open "$KAFKA_PORT"
    local deadline=$((SECONDS + START_TIMEOUT)) existing
    until existing=$(kafka_list_topics 2>"$KAFKA_DIR/tool.err"); do
        live_pid "$pidfile" >/dev/null || die "kafka exited during start-up; see $logs"
        ((SECONDS < deadline)) ||
            die "kafka did not list topics within ${START_TIMEOUT}s; see $logs and .stack/kafka/tool.err"
        sleep 1
    done
    log "kafka: ready"

    local topic
    for topic in "${TOPICS[@]}"; do
        if grep -qxF "$topic" <<<"$existing"; then
            continue
        fi
        log "kafka: creating topic $topic ($TOPIC_PARTITIONS partitions, retention.ms=-1)"
        kafka_tool org.apache.kafka.tools.TopicCommand \
            --bootstrap-server "127.0.0.1:$KAFKA_PORT" --create --if-not-exists \
            --topic "$topic" --partitions "$TOPIC_PARTITIONS" --replication-factor 1 \
            --config retention.ms=-1 >/dev/null ||
            die "kafka: creating topic $topic failed (see above)"
    done
}

kafka_stop() {
    stop_process kafka "$KAFKA_DIR/kafka.pid" 30
}

# ---------------------------------------------------------------- clickhouse

clickhouse_bin() {
    if command -v clickhouse-server >/dev/null; then
        command -v clickhouse-server
    else
        die "clickhouse: clickhouse-server not found; run 'deploy/stack.sh install'"
    fi
}

clickhouse_render() {
    mkdir -p "$CH_DIR"/{data,tmp,log,user_files,format_schemas}
    render "$DEPLOY/clickhouse/config.xml" "$CH_DIR/config.xml" "DIR=$CH_DIR" \
        "HTTP_PORT=$CH_HTTP_PORT" "TCP_PORT=$CH_TCP_PORT"
    local writer analyst
    writer=$(printf '%s' "$HEARWATCH_CLICKHOUSE_PASSWORD" | sha256sum | cut -d' ' -f1)
    analyst=$(printf '%s' "$HEARWATCH_ANALYST_PASSWORD" | sha256sum | cut -d' ' -f1)
    (
        umask 077
        render "$DEPLOY/clickhouse/users.xml" "$CH_DIR/users.xml" \
            "WRITER_PASSWORD_SHA256=$writer" "ANALYST_PASSWORD_SHA256=$analyst"
    )
}

clickhouse_start() {
    local pidfile="$CH_DIR/clickhouse.pid" pid
    # Rendered even when running: ClickHouse rereads users.xml by itself.
    clickhouse_render
    if pid=$(live_pid "$pidfile"); then
        log "clickhouse: already running (pid $pid)"
        return 0
    fi
    check_port_free clickhouse "$CH_HTTP_PORT" clickhouse-server
    check_port_free clickhouse "$CH_TCP_PORT" clickhouse-server
    log "clickhouse: starting on 127.0.0.1:$CH_HTTP_PORT (HTTP), $CH_TCP_PORT (native), log .stack/clickhouse/log/"
    spawn "$pidfile" "$CH_DIR/log/stdout.log" \
        "$(clickhouse_bin)" --config-file="$CH_DIR/config.xml"
}

clickhouse_ping() {
    curl -sf "http://127.0.0.1:$CH_HTTP_PORT/ping"
}

clickhouse_wait() {
    wait_for clickhouse "$CH_DIR/clickhouse.pid" \
        ".stack/clickhouse/log/clickhouse-server.err.log" clickhouse_ping
    # The writer's database exists from the start; the migration fills it.
    curl -sf "http://127.0.0.1:$CH_HTTP_PORT/" \
        --data-binary 'CREATE DATABASE IF NOT EXISTS hearwatch' >/dev/null ||
        die "clickhouse: could not create database hearwatch; see .stack/clickhouse/log/clickhouse-server.err.log"
    log "clickhouse: ready"
}

clickhouse_stop() {
    stop_process clickhouse "$CH_DIR/clickhouse.pid" 30
}

# ---------------------------------------------------------------- prometheus

prometheus_start() {
    local pidfile="$PROM_DIR/prometheus.pid" pid
    if pid=$(live_pid "$pidfile"); then
        log "prometheus: already running (pid $pid)"
        return 0
    fi
    command -v prometheus >/dev/null || die "prometheus: not found; run 'deploy/stack.sh install'"
    check_port_free prometheus "$PROM_PORT" prometheus
    mkdir -p "$PROM_DIR/data"
    log "prometheus: starting on 127.0.0.1:$PROM_PORT, log .stack/prometheus/prometheus.log"
    spawn "$pidfile" "$PROM_DIR/prometheus.log" \
        prometheus \
        --config.file="$DEPLOY/prometheus/prometheus.yml" \
        --storage.tsdb.path="$PROM_DIR/data" \
        --storage.tsdb.retention.time=7d \
        --web.listen-address="127.0.0.1:$PROM_PORT" \
        --web.enable-lifecycle
}

prometheus_ready() {
    curl -sf "http://127.0.0.1:$PROM_PORT/-/ready"
}

prometheus_wait() {
    wait_for prometheus "$PROM_DIR/prometheus.pid" ".stack/prometheus/prometheus.log" prometheus_ready
    log "prometheus: ready"
}

prometheus_stop() {
    stop_process prometheus "$PROM_DIR/prometheus.pid" 15
}

# ---------------------------------------------------------------- commands

# One `up`, `down` or fault command at a time.
take_lock() {
    mkdir -p "$STACK"
    exec 9>"$STACK/.lock"
    flock -w 300 9 || die "another deploy/stack.sh is still running (lock .stack/.lock)"
}

cmd_up() {
    local started=$SECONDS
    take_lock
    if ! installed; then
        log "up: something is not installed yet; running install first"
        cmd_install
    fi
    load_secrets
    # Start all three, then wait: their start-ups overlap.
    kafka_start
    clickhouse_start
    prometheus_start
    clickhouse_wait
    prometheus_wait
    kafka_wait
    write_env
    log "up: all running in $((SECONDS - started))s; environment in .stack/env (source .stack/env)"
}

cmd_down() {
    case ${1:-} in
    "" | --purge) ;;
    *) die "down: unknown option '$1' (only --purge)" ;;
    esac
    take_lock
    prometheus_stop
    clickhouse_stop
    kafka_stop
    if [[ ${1:-} == --purge ]]; then
        log "purge: removing .stack/kafka/data, .stack/clickhouse/data, .stack/prometheus/data"
        rm -rf "$KAFKA_DIR/data" "$CH_DIR/data" "$CH_DIR/tmp" "$PROM_DIR/data"
    fi
}

# Prints one status line; true when the component runs and answers.
status_line() {
    local name=$1 pidfile=$2 ports=$3 port=$4 pid
    if ! pid=$(live_pid "$pidfile"); then
        printf '%-11s stopped   %-12s %s\n' "$name" "-" "$ports"
        return 1
    fi
    if ! port_open "$port"; then
        printf '%-11s starting  pid %-8s %s (not answering yet)\n' "$name" "$pid" "$ports"
        return 1
    fi
    printf '%-11s running   pid %-8s %s\n' "$name" "$pid" "$ports"
}

# Exit code 3 unless all three run (like an init script's status).
cmd_status() {
    local ok=0
    status_line kafka "$KAFKA_DIR/kafka.pid" \
        "127.0.0.1:$KAFKA_PORT (controller 127.0.0.1:$KAFKA_CONTROLLER_PORT)" "$KAFKA_PORT" || ok=3
    status_line clickhouse "$CH_DIR/clickhouse.pid" \
        "127.0.0.1:$CH_HTTP_PORT (http), 127.0.0.1:$CH_TCP_PORT (native)" "$CH_HTTP_PORT" || ok=3
    status_line prometheus "$PROM_DIR/prometheus.pid" "127.0.0.1:$PROM_PORT" "$PROM_PORT" || ok=3
    return "$ok"
}

require_installed() {
    installed || die "not installed; run 'deploy/stack.sh install' first"
}

cmd_restart_kafka() {
    take_lock
    require_installed
    kafka_stop
    kafka_start
    kafka_wait
}

cmd_stop_clickhouse() {
    take_lock
    clickhouse_stop
}

cmd_start_clickhouse() {
    take_lock
    require_installed
    load_secrets
    clickhouse_start
    clickhouse_wait
}

# kafka-topics (TopicCommand) against the local broker, with the stack's jars.
cmd_topics() {
    require_installed
    kafka_tool org.apache.kafka.tools.TopicCommand \
        --bootstrap-server "127.0.0.1:$KAFKA_PORT" "$@"
}

usage() {
    # the comment block at the top of this file
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
}

main() {
    local cmd=${1:-}
    shift || true
    case $cmd in
    install) cmd_install ;;
    up) cmd_up ;;
    down) cmd_down "$@" ;;
    purge) cmd_down --purge ;;
    status) cmd_status ;;
    restart-kafka) cmd_restart_kafka ;;
    stop-clickhouse) cmd_stop_clickhouse ;;
    start-clickhouse) cmd_start_clickhouse ;;
    topics) cmd_topics "$@" ;;
    -h | --help | help) usage ;;
    *)
        usage >&2
        exit 2
        ;;
    esac
}

main "$@"
