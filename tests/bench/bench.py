#!/usr/bin/env python3
"""make bench: hearwatch's figures, each against a baseline measured in the same run.

These machines are shared and noisy, so a figure alone says little; each throughput comes
with a baseline measured minutes apart on the same data, and the ratio is what to compare
between runs. The run, on the local stack (`deploy/stack.sh up`), in order:

  engine    `bench_engine` over a seeded `national` file of about 1M events: the replay
            (decode, engine, evaluation at the as-of) against decoding alone, one thread
            each, best of three rounds; both are profiled with perf.
  pipeline  the same events on a fresh topic: Kafka -> `hearwatch run` -> ClickHouse until
            the processor has written everything, against consuming and discarding the
            topic with confluent_kafka (librdkafka, as the processor's rdkafka crate).
  latency   10k events/s into a running processor; every 100th event makes a violation at
            once (an undated announcement); from the broker's append time of each of them
            to its row being visible in ClickHouse. Then timers: hearings whose deadline
            and whose future events fall inside a live run (`run --now` just before them);
            the processor's `hearwatch_timer_lag_seconds` histogram.
  memory    a processor holding 1M open hearings: its resident memory less that of the
            same processor idle on an empty topic, per hearing; and the engine alone
            (`bench_memory`) on the same file.
  recovery  that processor killed with SIGKILL, an event sent, the processor restarted:
            seconds until the event's violation is visible in ClickHouse.

It writes target/bench/summary.json and BENCHMARKS.md at the repository root. A figure that
cannot be measured is null, with the reason in BENCHMARKS.md. Everything it creates is named
bench.* (topics) or hw_bench_* (databases) and is removed at the end; every process it
starts is stopped by its pid.
"""
import argparse
import datetime as dt
import json
import os
import pathlib
import platform
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka import libversion as librdkafka_version
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "target" / "bench"
# The binaries `make bench` builds, wherever cargo puts them.
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release"
BIN = TARGET / "hearwatch"
EXAMPLES = TARGET / "examples"
NOW = "2026-01-01T00:00:00Z"
PARTITIONS = 3

GOALS = {
    "replay_ratio": (">=", 0.5),
    "pipeline_ratio": (">=", 0.5),
    "e2e_p99_ms": ("<=", 1000),
    "timer_lag_p99_ms": ("<=", 1000),
    "bytes_per_open_hearing": ("<=", 512),
    "restart_s": ("<=", 10),
}

STARTED = time.time()


def log(message):
    print(f"[bench {time.time() - STARTED:6.0f}s] {message}", flush=True)


class Skipped(Exception):
    """A phase that cannot be measured here; its figures become null with this reason."""


# ---------------------------------------------------------------- the stack


def stack_env():
    env_file = ROOT / ".stack" / "env"
    if not env_file.exists():
        raise SystemExit(f"{env_file} is missing: start the stack with `bash deploy/stack.sh up`")
    env = {}
    for line in env_file.read_text().splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export "):].partition("=")
            env[key] = value.strip("'\"")
    return env


class Stack:
    """The local stack's addresses, and everything this run creates on it, for cleanup."""

    def __init__(self):
        env = stack_env()
        self.brokers = env["HEARWATCH_KAFKA_BROKERS"]
        self.clickhouse_url = env["HEARWATCH_CLICKHOUSE_URL"]
        for url in (self.brokers, self.clickhouse_url):
            if "127.0.0.1" not in url and "localhost" not in url:
                raise SystemExit(f"the bench runs on loopback only; the stack says {url}")
        self.admin = AdminClient({"bootstrap.servers": self.brokers})
        self.tag = uuid.uuid4().hex[:8]
        self.topics, self.databases, self.processes = [], [], []

    def sql(self, query, timeout=60):
        params = urllib.parse.urlencode({"user": "default", "password": ""})
        request = urllib.request.Request(f"{self.clickhouse_url}/?{params}", data=query.encode())
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read().decode()

    def topic(self, name, config=None):
        """A fresh topic `bench.<tag>.<name>` with the stack's partition count."""
        full = f"bench.{self.tag}.{name}"
        config = {"retention.ms": "-1", **(config or {})}
        futures = self.admin.create_topics(
            [NewTopic(full, num_partitions=PARTITIONS, replication_factor=1, config=config)])
        for future in futures.values():
            future.result(30)
        self.topics.append(full)
        return full

    def database(self, name):
        """A fresh database `hw_bench_<tag>_<name>` with hearwatch's schema."""
        full = f"hw_bench_{self.tag}_{name}".replace("-", "_")
        run([BIN, "migrate", *self.clickhouse_args(full)], timeout=120)
        self.databases.append(full)
        return full

    def clickhouse_args(self, database):
        return ["--clickhouse-url", self.clickhouse_url, "--clickhouse-database", database,
                "--clickhouse-user", "default", "--clickhouse-password", ""]

    def cleanup(self):
        for process in self.processes:
            process.kill()
        if self.topics:
            for name, future in self.admin.delete_topics(self.topics).items():
                try:
                    future.result(60)
                except Exception as e:  # a leftover topic only costs disk on the local stack
                    log(f"could not delete topic {name}: {e}")
        for database in self.databases:
            try:
                self.sql(f"DROP DATABASE IF EXISTS {database}", timeout=120)
            except Exception as e:
                log(f"could not drop database {database}: {e}")


def run(args, timeout, **kwargs):
    """Runs a command to completion; its standard output, or an error with its stderr."""
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True,
                            timeout=timeout, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))} failed ({result.returncode}):\n"
                           f"{result.stderr[-3000:]}")
    return result.stdout


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Processor:
    """One `hearwatch run`, its log file and its /metrics."""

    def __init__(self, stack, name, topic, database, group, *extra):
        self.stack, self.name = stack, name
        self.port = free_port()
        self.log_path = OUT / f"processor-{name}.log"
        dlq = topic.replace(".events", ".dlq")
        args = [BIN, "run", "--brokers", stack.brokers, "--topic", topic, "--dlq-topic", dlq,
                "--group", group, *stack.clickhouse_args(database),
                "--metrics-addr", f"127.0.0.1:{self.port}", "--log", "info", *extra]
        self.started = time.time()
        with open(self.log_path, "w") as out:
            self.process = subprocess.Popen([str(a) for a in args], stdout=out,
                                            stderr=subprocess.STDOUT)
        stack.processes.append(self)
        self.pid = self.process.pid

    def metrics(self):
        """Every sample of /metrics, by its name with labels; {} if it does not answer."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=2) as r:
                text = r.read().decode()
        except OSError:
            return {}
        samples = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                try:
                    samples[name] = float(value)
                except ValueError:
                    pass
        return samples

    def last_complaint(self):
        """The processor's last warning or error, to say why it did not get somewhere."""
        lines = [line for line in self.log_text().splitlines()
                 if (" WARN " in line or " ERROR " in line) and "librdkafka" not in line]
        return f"its last warning: {lines[-1][:400]}" if lines else "no warning in its log"

    def log_text(self):
        return self.log_path.read_text(errors="replace")

    def rss_bytes(self):
        for line in pathlib.Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def alive(self):
        return self.process.poll() is None

    def wait_log(self, pattern, count, timeout):
        """Waits until `pattern` occurs `count` times in the log."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if len(re.findall(pattern, self.log_text())) >= count:
                return
            if not self.alive():
                raise RuntimeError(f"processor {self.name} exited; see {self.log_path}")
            time.sleep(0.1)
        raise RuntimeError(f"processor {self.name}: no {count}x {pattern!r} in {timeout}s; "
                           f"see {self.log_path}")

    def stop(self, sig=signal.SIGTERM, timeout=120):
        if self.alive():
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self):
        self.stop(signal.SIGKILL)


def total(samples, name):
    """The sum of a metric over its labels."""
    return sum(v for k, v in samples.items() if k == name or k.startswith(name + "{"))


def events_taken(samples):
    return (total(samples, "hearwatch_events_consumed_total")
            + total(samples, "hearwatch_duplicates_ignored_total")
            + total(samples, "hearwatch_events_dead_lettered_total"))


def topic_size(brokers, topic):
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": f"bench-size-{uuid.uuid4()}"})
    size = sum(h - l for l, h in (consumer.get_watermark_offsets(TopicPartition(topic, p),
                                                                 timeout=10)
                                  for p in range(PARTITIONS)))
    consumer.close()
    return size


def produce_file(stack, topic, path):
    started = time.time()
    run([BIN, "produce", "--events", path, "--topic", topic, "--brokers", stack.brokers,
         "--log", "warn"], timeout=1800)
    return time.time() - started


# ---------------------------------------------------------------- profiles


CATEGORIES = [
    ("decoder", r"event::decode|event::fast|from_utf8|chrono::format|parse_rfc3339|"
                r"NaiveDate::from_ymd|timezone_offset|LocalResult|serde_json::(de|read)"),
    ("JSON writing (snapshots)", r"serde_json::ser|fmt::Write::write_char"),
    ("engine: hearings, timers, evaluation", r"hearwatch_engine::|hashbrown|sip::Hasher|btree|"
                                             r"memcmp|drop_in_place<hearwatch_engine"),
    ("allocator", r"malloc|_int_free|cfree|unlink_chunk|realloc|__libc_free"),
    ("librdkafka", r"rd_kafka|rd_|lz4|LZ4|crc32"),
    ("processor, ClickHouse client, tokio", r"hearwatch::|clickhouse|tokio|hyper|rdkafka::|"
                                            r"clock_gettime"),
    ("copying bytes", r"memmove|memcpy"),
    ("kernel", r"\[k\]"),
]


def perf_available():
    try:
        subprocess.run(["perf", "--version"], capture_output=True, check=True)
        return True
    except (OSError, subprocess.CalledProcessError):
        return False


def perf_summary(data_path, top=12):
    """The hottest symbols of a perf recording and the share of each category."""
    report = subprocess.run(["perf", "report", "-i", str(data_path), "--no-children",
                             "--sort", "dso,sym", "--stdio", "--percent-limit", "0.3"],
                            capture_output=True, text=True).stdout
    rows = []
    for line in report.splitlines():
        m = re.match(r"\s+([\d.]+)%\s+(\S+)\s+(\[[.k]\])\s+(.*)", line)
        if m:
            rows.append((float(m.group(1)), m.group(2), m.group(3), m.group(4).strip()))
    shares = {}
    for pct, dso, kind, sym in rows:
        text = f"{kind} {dso} {sym}"
        name = next((n for n, pattern in CATEGORIES if re.search(pattern, text)), "other")
        shares[name] = shares.get(name, 0.0) + pct
    threads = subprocess.run(["perf", "report", "-i", str(data_path), "--no-children", "--sort",
                              "comm", "--stdio"], capture_output=True, text=True).stdout
    return {"top": [{"percent": p, "where": d, "symbol": s[:110]} for p, d, _, s in rows[:top]],
            "categories": dict(sorted(shares.items(), key=lambda kv: -kv[1])),
            "threads": {m.group(2).strip(): float(m.group(1)) for m in
                        re.finditer(r"^\s+([\d.]+)%\s+(.+)$", threads, re.M)}}


# ---------------------------------------------------------------- engine


def bench_engine(args, results, notes):
    national = OUT / f"national-{args.hearings}.ndjson"
    run([BIN, "simulate", "--scenario", "national", "--hearings", args.hearings, "--seed",
         args.seed, "--output", national], timeout=600)
    events = sum(1 for _ in open(national, "rb"))
    log(f"engine: {events} events in {national.name}; bench_engine, best of 3 rounds")
    figures = json.loads(run([EXAMPLES / "bench_engine", national, NOW, 3], timeout=900))
    results["replay_events_per_s"] = round(figures["replay_events_per_s"])
    results["parse_only_events_per_s"] = round(figures["parse_only_events_per_s"])
    results["replay_ratio"] = figures["replay_ratio"]
    notes["engine"] = {"events": events, "findings": figures["findings"], "file": national.name}
    if perf_available():
        for passes in ("replay", "parse"):
            data = OUT / f"perf-engine-{passes}.data"
            # Three rounds, so that loading the file is a small part of the profile.
            run(["perf", "record", "-F", "499", "-o", data, EXAMPLES / "bench_engine", national,
                 NOW, 3, passes], timeout=900)
            notes[f"profile_{passes}"] = perf_summary(data)
    else:
        notes["profile_replay"] = notes["profile_parse"] = None
    log(f"engine: parse-only {results['parse_only_events_per_s']}/s, "
        f"replay {results['replay_events_per_s']}/s, ratio {results['replay_ratio']}")
    return national


# ---------------------------------------------------------------- pipeline


def consume_only(brokers, topic, expected):
    """Events per second of a consumer that reads the whole topic and discards it."""
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": f"bench-consume-{uuid.uuid4()}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    started, taken = time.time(), 0
    deadline = started + 600
    while taken < expected and time.time() < deadline:
        taken += len(consumer.consume(num_messages=10_000, timeout=1.0))
    elapsed = time.time() - started
    consumer.close()
    if taken < expected:
        raise RuntimeError(f"consume-only read {taken} of {expected} messages in 600 s")
    return taken / elapsed


def bench_pipeline(stack, args, national, results, notes):
    topic = stack.topic("pipeline.events")
    stack.topic("pipeline.dlq")
    produce_s = produce_file(stack, topic, national)
    size = topic_size(stack.brokers, topic)
    log(f"pipeline: {size} events produced in {produce_s:.1f} s; consume-only baseline")
    rounds = [consume_only(stack.brokers, topic, size) for _ in range(2)]
    results["consume_only_events_per_s"] = round(max(rounds))

    database = stack.database("pipeline")
    log("pipeline: hearwatch run over the topic until it has written everything")
    processor = Processor(stack, "pipeline", topic, database, f"bench-{stack.tag}-pipeline",
                          "--now", NOW, "--exit-when-idle", "2")
    perf = None
    if perf_available():
        perf = subprocess.Popen(["perf", "record", "-F", "499", "-o",
                                 str(OUT / "perf-pipeline.data"), "-p", str(processor.pid)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # The end of the work is the last moment anything moved: an event taken or a row
    # written. Polled every 100 ms; the idle wait before the processor exits is not work,
    # nor is the snapshot it writes on its way out, so the profile stops before them.
    last, last_change, peak_rss = None, processor.started, 0
    deadline = time.time() + 900

    def stop_perf():
        nonlocal perf
        if perf is not None:
            perf.send_signal(signal.SIGINT)
            perf.wait(60)
            notes["profile_pipeline"] = perf_summary(OUT / "perf-pipeline.data")
            perf = None

    while processor.alive() and time.time() < deadline:
        samples = processor.metrics()
        if samples:
            state = (events_taken(samples), samples.get("hearwatch_clickhouse_batch_rows_sum"))
            if state != last:
                last, last_change = state, time.time()
            elif state[0] >= size and time.time() - last_change > 1.5:
                stop_perf()
            try:
                peak_rss = max(peak_rss, processor.rss_bytes())
            except (OSError, RuntimeError):  # it exited between the poll and the read
                pass
        time.sleep(0.1)
    stop_perf()
    if processor.alive():
        processor.kill()
        raise RuntimeError(f"the processor did not finish in 900 s; see {processor.log_path}")
    if processor.process.returncode != 0:
        raise RuntimeError(f"the processor failed; see {processor.log_path}")
    if last is None or last[0] < size:
        raise RuntimeError(f"the processor took {last and last[0]} of {size} events")
    elapsed = last_change - processor.started
    results["pipeline_events_per_s"] = round(size / elapsed)
    results["pipeline_ratio"] = round(results["pipeline_events_per_s"]
                                      / results["consume_only_events_per_s"], 3)
    rows = int(stack.sql(f"SELECT count() FROM {database}.findings_log").strip())
    notes["pipeline"] = {"events": size, "seconds": round(elapsed, 2), "rows": rows,
                         "consume_only_rounds": [round(r) for r in rounds],
                         "produce_events_per_s": round(size / produce_s),
                         "peak_rss_bytes": peak_rss}
    log(f"pipeline: {results['pipeline_events_per_s']}/s against consume-only "
        f"{results['consume_only_events_per_s']}/s (ratio {results['pipeline_ratio']})")


# ---------------------------------------------------------------- latency and timers


def marker(hearing_id, event_id, occurred_at):
    """An undated announcement of an open meeting: a violation as soon as it is taken in."""
    return json.dumps({
        "event_id": event_id, "type": "announcement_published", "hearing_id": hearing_id,
        "region": "KZ-71", "form": "open_meeting", "occurred_at": occurred_at,
        "source": "bench", "channel": "information_system", "declared_on": None,
        "section": "public_hearings"}, separators=(",", ":"))


class Watcher(threading.Thread):
    """Polls ClickHouse for violation rows of hearings with a prefix and notes when each
    first shows."""

    def __init__(self, stack, database, rule, prefix, every=0.02):
        super().__init__(daemon=True)
        self.stack, self.every = stack, every
        self.query = (f"SELECT DISTINCT hearing_id FROM {database}.findings_log "
                      f"WHERE region = 'KZ-71' AND rule = '{rule}' AND active = 1 "
                      f"AND hearing_id LIKE '{prefix}%' FORMAT TSV")
        self.seen, self.stopped, self.errors = {}, threading.Event(), 0

    def run(self):
        while not self.stopped.is_set():
            try:
                rows = self.stack.sql(self.query, timeout=10).split()
            except OSError:
                self.errors += 1
                rows = []
            now = time.time()
            for hearing_id in rows:
                self.seen.setdefault(hearing_id, now)
            self.stopped.wait(self.every)


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_latency(stack, args, national, results, notes):
    topic = stack.topic("latency.events", {"message.timestamp.type": "LogAppendTime"})
    stack.topic("latency.dlq")
    database = stack.database("latency")
    processor = Processor(stack, "latency", topic, database, f"bench-{stack.tag}-latency",
                          "--now", NOW)
    processor.wait_log(r"partition caught up", PARTITIONS, 60)
    time.sleep(1)
    watcher = Watcher(stack, database, "announcement_undated", f"LAT-{stack.tag}-")
    watcher.start()

    appended = {}

    def delivered(err, msg):
        if err is None and msg.key().startswith(b"LAT-"):
            appended[msg.key().decode()] = msg.timestamp()[1] / 1000.0

    producer = Producer({"bootstrap.servers": stack.brokers, "enable.idempotence": True,
                         "linger.ms": 5, "compression.type": "lz4"})
    background = open(national, "rb")
    rate, seconds, slot = args.latency_rate, args.latency_seconds, 0.01
    per_slot = int(rate * slot)
    log(f"latency: {rate} events/s for {seconds} s, every 100th a marker")
    started, sent, max_lag = time.time(), 0, 0
    for n in range(int(seconds / slot)):
        for _ in range(per_slot):
            if sent % 100 == 0:
                hearing_id = f"LAT-{stack.tag}-{sent // 100}"
                value = marker(hearing_id, str(uuid.uuid4()), "2025-06-02T10:00:00+05:00")
            else:
                value = background.readline().rstrip(b"\n")
                if not value:
                    background.seek(0)
                    value = background.readline().rstrip(b"\n")
                hearing_id = json.loads(value)["hearing_id"]
            producer.produce(topic, key=hearing_id.encode(), value=value, on_delivery=delivered)
            sent += 1
        producer.poll(0)
        if n % 100 == 0:
            max_lag = max(max_lag, total(processor.metrics(), "hearwatch_consumer_lag_messages"))
        ahead = started + (n + 1) * slot - time.time()
        if ahead > 0:
            time.sleep(ahead)
    producer.flush(60)
    achieved = sent / (time.time() - started)
    markers = sent // 100 + (1 if sent % 100 else 0)
    deadline = time.time() + 30
    while len(watcher.seen) < markers and time.time() < deadline:
        time.sleep(0.1)
    watcher.stopped.set()
    watcher.join()
    processor.stop()
    latencies = [(watcher.seen[h] - appended[h]) * 1000 for h in appended if h in watcher.seen]
    if len(latencies) < markers * 0.99:
        raise RuntimeError(f"only {len(latencies)} of {markers} marker violations appeared")
    results["e2e_p50_ms"] = round(percentile(latencies, 0.50))
    results["e2e_p99_ms"] = round(percentile(latencies, 0.99))
    notes["latency"] = {"events": sent, "events_per_s": round(achieved), "markers": markers,
                        "seen": len(latencies), "max_ms": round(max(latencies)),
                        "max_consumer_lag": max_lag, "poll_ms": watcher.every * 1000}
    log(f"latency: p50 {results['e2e_p50_ms']} ms, p99 {results['e2e_p99_ms']} ms "
        f"({len(latencies)} markers at {achieved:.0f} events/s)")


def deadline_of(probe_file, hearing_id):
    """When the announcement deadline of the probe hearing passes, by the engine itself."""
    out = run([BIN, "replay", "--events", probe_file, "--as-of", NOW, "--format", "ndjson",
               "--log", "warn"], timeout=120)
    for line in out.splitlines():
        v = json.loads(line)
        if v["hearing_id"] == hearing_id and v["rule"] == "announcement_missing":
            return dt.datetime.fromisoformat(v["deadline_at"].replace("Z", "+00:00"))
    raise RuntimeError("the probe hearing has no announcement_missing")


def watermark_probe(stack):
    """Milliseconds for one uncached end-offset query of each partition of an idle topic, from
    a consumer that is fetching it: what the processor's periodic lag check costs its loop."""
    topic = stack.topic("probe.events")
    consumer = Consumer({"bootstrap.servers": stack.brokers,
                         "group.id": f"bench-probe-{uuid.uuid4()}"})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    times = []
    for _ in range(3):
        consumer.poll(0.2)
        started = time.time()
        for p in range(PARTITIONS):
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=5, cached=False)
        times.append((time.time() - started) * 1000)
    consumer.close()
    return round(sorted(times)[1])


def histogram_quantile(samples, name, q):
    """Prometheus' histogram_quantile over cumulative buckets: linear within a bucket."""
    buckets = sorted((float(re.search(r'le="([^"]+)"', k).group(1)), v)
                     for k, v in samples.items() if k.startswith(name + "_bucket{"))
    count = samples.get(name + "_count", 0)
    if not buckets or count == 0:
        return None, 0
    rank, lower, below = q * count, 0.0, 0.0
    for upper, cumulative in buckets:
        if cumulative >= rank:
            if upper == float("inf"):
                return lower, count
            return lower + (upper - lower) * (rank - below) / max(cumulative - below, 1e-9), count
        lower, below = upper, cumulative
    return buckets[-1][0], count


def bench_timers(stack, args, results, notes):
    """Open meetings received on a working day with no announcement: their deadlines pass
    together at the next local midnight, inside the run; and as many whose announcement
    occurs one by one across the minute around it, each a timer of its own (an event
    stamped ahead of the clock waits for it)."""
    received = "2025-06-10T10:00:00+05:00"
    meeting = "2025-07-21T11:00:00+05:00"

    def application(hearing_id):
        return json.dumps({"event_id": str(uuid.uuid4()), "type": "application_received",
                           "hearing_id": hearing_id, "region": "KZ-71", "form": "open_meeting",
                           "occurred_at": received, "source": "bench", "hearing_at": meeting},
                          separators=(",", ":"))

    probe = OUT / "timer-probe.ndjson"
    probe.write_text(application("PROBE") + "\n")
    deadline = deadline_of(probe, "PROBE")
    clock_start = deadline - dt.timedelta(seconds=args.timer_lead)
    spread = args.timer_spread
    lines, due = [], {}
    for i in range(args.timer_hearings):
        lines.append((f"TMR-{stack.tag}-B{i}", application(f"TMR-{stack.tag}-B{i}")))
    for i in range(args.timer_hearings):
        hearing_id = f"TMR-{stack.tag}-S{i}"
        at = deadline + dt.timedelta(seconds=spread * (i / args.timer_hearings - 0.5))
        due[hearing_id] = at
        lines.append((hearing_id, application(hearing_id)))
        announcement = json.loads(marker(hearing_id, str(uuid.uuid4()), at.isoformat()))
        announcement["declared_on"] = str(at.date())
        lines.append((hearing_id, json.dumps(announcement, separators=(",", ":"))))
    topic = stack.topic("timers.events")
    stack.topic("timers.dlq")
    database = stack.database("timers")
    producer = Producer({"bootstrap.servers": stack.brokers, "enable.idempotence": True,
                         "linger.ms": 5})
    for key, value in lines:
        producer.produce(topic, key=key.encode(), value=value.encode())
        producer.poll(0)
    producer.flush(60)
    now = clock_start.strftime("%Y-%m-%dT%H:%M:%SZ")
    log(f"timers: {len(lines)} events; clock starts at {now}, {args.timer_lead} s before "
        f"{args.timer_hearings} deadlines pass at {deadline:%H:%M:%S}Z and as many events "
        f"occur across the {spread} s around it")
    processor = Processor(stack, "timers", topic, database, f"bench-{stack.tag}-timers",
                          "--now", now)
    processor.wait_log(r"partition caught up", PARTITIONS, args.timer_lead / 2)
    caught_up = time.time() - processor.started
    watcher = Watcher(stack, database, "announcement_missing", f"TMR-{stack.tag}-B", every=0.05)
    # A placement is a finding with no rule: the announcement's first appearance.
    placements = Watcher(stack, database, "", f"TMR-{stack.tag}-S", every=0.05)
    watcher.start()
    placements.start()
    end = processor.started + args.timer_lead + spread / 2 + 3
    while time.time() < end:
        time.sleep(0.2)
    samples = processor.metrics()
    for w in (watcher, placements):
        w.stopped.set()
        w.join()
    processor.stop()
    p99, count = histogram_quantile(samples, "hearwatch_timer_lag_seconds", 0.99)
    if p99 is None:
        raise RuntimeError(f"no timer fired; see {processor.log_path}")
    results["timer_lag_p99_ms"] = round(p99 * 1000)
    # The deadline in wall time, from the processor's own clock line (`clock=` at start).
    m = re.search(r"^(\S+)\s+INFO.*processor starting.*clock=(\S+)", processor.log_text(), re.M)
    visible, spread_visible = None, []
    if m:
        wall = dt.datetime.fromisoformat(m.group(1).replace("Z", "+00:00"))
        clock = dt.datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", m.group(2)))

        def on_wall(instant):
            return (wall + (instant - clock)).timestamp()

        if len(watcher.seen) >= args.timer_hearings:
            visible = round((max(watcher.seen.values()) - on_wall(deadline)) * 1000)
        spread_visible = [(seen - on_wall(due[h])) * 1000 for h, seen in placements.seen.items()]
        (OUT / "timer-spread.json").write_text(json.dumps(sorted(
            (on_wall(due[h]), seen - on_wall(due[h])) for h, seen in placements.seen.items())))
    notes["timers"] = {"fired": count, "caught_up_s": round(caught_up, 2),
                       "watermark_queries_ms": watermark_probe(stack),
                       "histogram": {k: v for k, v in samples.items()
                                     if k.startswith("hearwatch_timer_lag_seconds")},
                       "mean_ms": round(samples.get("hearwatch_timer_lag_seconds_sum", 0)
                                        / max(count, 1) * 1000),
                       "deadline_rows_visible_ms": visible,
                       "spread_visible": {
                           "rows": len(spread_visible),
                           "p50_ms": round(percentile(spread_visible, 0.5)) if spread_visible
                           else None,
                           "p99_ms": round(percentile(spread_visible, 0.99)) if spread_visible
                           else None},
                       "insert": {k: v for k, v in samples.items()
                                  if k.startswith("hearwatch_clickhouse_insert_seconds")},
                       "buckets_s": sorted({float(re.search(r'le="([^"]+)"', k).group(1))
                                            for k in samples
                                            if k.startswith("hearwatch_timer_lag_seconds_bucket")
                                            })}
    log(f"timers: p99 {results['timer_lag_p99_ms']} ms over {count:.0f} firings")


# ---------------------------------------------------------------- memory and recovery


def wait_settled(processor, hearings, timeout, stall=60):
    """Waits until the processor holds `hearings`, has no lag and has written everything
    (nothing moved for 3 s). Gives up at `timeout`, or when nothing has moved for `stall`
    seconds without getting there."""
    deadline, last, last_change = time.time() + timeout, None, time.time()
    held = lag = float("nan")
    while time.time() < deadline and time.time() - last_change < stall:
        if not processor.alive():
            raise RuntimeError(f"processor {processor.name} exited; see {processor.log_path}")
        samples = processor.metrics()
        if samples:
            state = (events_taken(samples), samples.get("hearwatch_clickhouse_batch_rows_sum"))
            if state != last:
                last, last_change = state, time.time()
            held = samples.get("hearwatch_open_hearings", 0)
            lag = total(samples, "hearwatch_consumer_lag_messages")
            if held >= hearings and lag == 0 and time.time() - last_change >= 3:
                return samples
        time.sleep(0.5)
    why = "stopped moving" if time.time() < deadline else f"ran out of its {timeout} s"
    raise RuntimeError(f"processor {processor.name} {why} before holding {hearings} hearings "
                       f"with no lag (it held {held:.0f}, {lag:.0f} messages behind, "
                       f"{last and last[0]:.0f} events taken); {processor.last_complaint()}")


def member_of(stack, name):
    """The `--instance-id` of the processor named `name` and of its restart."""
    return ["--instance-id", f"bench-{stack.tag}-{name}"]


def hold_hearings(stack, args, topic, name, hearings, extra):
    """A processor that has taken in every event of `topic` (`hearings` hearings): it, its
    database and group, and its resident memory against the same processor idle."""
    database = stack.database(name)
    group = f"bench-{stack.tag}-{name}"
    idle = Processor(stack, f"{name}-idle", stack.topic(f"{name}-idle.events"), database, group,
                     "--now", NOW, *extra)
    idle.wait_log(r"partition caught up", PARTITIONS, 60)
    time.sleep(3)
    baseline = idle.rss_bytes()
    idle.stop()
    # A stable member name (static group membership), as a deployment gives each
    # processor, so that its restart takes its partitions back at once.
    holder = Processor(stack, name, topic, database, group, "--now", NOW, *extra,
                       *member_of(stack, name))
    started = time.time()
    try:
        samples = wait_settled(holder, hearings, args.memory_timeout)
    except RuntimeError:
        holder.kill()
        raise
    held = int(samples["hearwatch_open_hearings"])
    rss = holder.rss_bytes()
    memory = {"hearings": held, "events": topic_size(stack.brokers, topic), "rss_bytes": rss,
              "baseline_rss_bytes": baseline, "settle_s": round(time.time() - started),
              "flags": extra, "bytes_per_open_hearing": round((rss - baseline) / held)}
    log(f"memory: {held} open hearings, RSS {rss / 2**20:.0f} MiB over an idle "
        f"{baseline / 2**20:.0f} MiB: {memory['bytes_per_open_hearing']} B each")
    return holder, database, group, memory


def restart(stack, args, holder, topic, database, group, extra):
    """Kills the holder, sends one new event and restarts the processor: seconds from the
    restart until that event's violation is in ClickHouse, and what the restart did.
    The holder is killed once every partition has a snapshot, as a processor that has run
    for a while has (`--snapshot-every`, a minute by default)."""
    holder.wait_log(r"snapshot written", PARTITIONS, args.restart_timeout)
    holder.kill()
    hearing_id = f"RST-{stack.tag}-{holder.name}"
    producer = Producer({"bootstrap.servers": stack.brokers, "enable.idempotence": True})
    producer.produce(topic, key=hearing_id.encode(),
                     value=marker(hearing_id, str(uuid.uuid4()), "2025-06-02T10:00:00+05:00"))
    producer.flush(30)
    watcher = Watcher(stack, database, "announcement_undated", hearing_id, every=0.1)
    restarted = Processor(stack, f"{holder.name}-restart", topic, database, group, "--now", NOW,
                          *extra, *member_of(stack, holder.name))
    watcher.start()
    deadline = time.time() + args.restart_timeout
    while hearing_id not in watcher.seen and time.time() < deadline and restarted.alive():
        time.sleep(0.05)
    watcher.stopped.set()
    watcher.join()
    log_text = restarted.log_text()
    complaint = restarted.last_complaint()
    restarted.kill()
    if hearing_id not in watcher.seen:
        raise RuntimeError(f"the restarted processor did not show the new event's violation "
                           f"in {args.restart_timeout} s; {complaint}")

    def after(pattern, last=False):
        """Seconds from the restart to the first (or last) log line matching `pattern`."""
        stamps = re.findall(r"^(\S+)\s.*" + pattern, log_text, re.M)
        if not stamps:
            return None
        stamp = dt.datetime.fromisoformat(stamps[-1 if last else 0].replace("Z", "+00:00"))
        return round(stamp.timestamp() - restarted.started, 1)

    seconds = round(watcher.seen[hearing_id] - restarted.started, 1)
    log(f"recovery: the new event's violation showed {seconds} s after the restart")
    return {"restart_s": seconds, "flags": extra,
            "reads": [{"partition": int(p), "from": int(f), "to": int(t)}
                      for p, f, t in re.findall(r"reading partition (\d+) from offset (\d+) up "
                                                r"to (\d+)", log_text)],
            "assigned_s": after("partitions assigned"),
            "caught_up_s": after("partition caught up", last=True),
            "reconciled_s": after("reconciled with ClickHouse", last=True)}


def bench_memory_and_recovery(stack, args, results, notes):
    big = OUT / f"national-{args.memory_hearings}.ndjson"
    log(f"memory: simulating {args.memory_hearings} hearings")
    run([BIN, "simulate", "--scenario", "national", "--hearings", args.memory_hearings, "--seed",
         args.seed, "--output", big], timeout=900)
    engine = json.loads(run([EXAMPLES / "bench_memory", big, NOW], timeout=900))
    notes["engine_memory"] = engine
    # The engine alone in a replay process is the figure until the processor gives its own.
    results["bytes_per_open_hearing"] = engine["bytes_per_open_hearing"]
    log(f"memory: the engine alone holds {engine['hearings']} hearings in "
        f"{engine['bytes_per_open_hearing']} B each")

    topic = stack.topic("memory.events")
    stack.topic("memory.dlq")
    produce_s = produce_file(stack, topic, big)
    log(f"memory: {topic_size(stack.brokers, topic)} events produced in {produce_s:.0f} s")
    attempts = [("default", [])]
    if args.memory_fallback:
        # Without a snapshot a restart rebuilds from the beginning, the processor's behaviour
        # before snapshots; it is measured only when the default configuration fails.
        attempts.append(("without snapshots", ["--snapshot-every", "100000000"]))
    for n, (configuration, extra) in enumerate(attempts):
        log(f"memory: the processor ({configuration}) takes them in")
        try:
            holder, database, group, memory = hold_hearings(
                stack, args, topic, f"memory{n}", engine["hearings"], extra)
        except RuntimeError as e:
            notes.setdefault("memory_failures", []).append(f"{configuration}: {e}")
            log(f"memory: {configuration}: {e}")
            continue
        memory["configuration"] = configuration
        notes["memory"] = memory
        results["bytes_per_open_hearing"] = memory["bytes_per_open_hearing"]
        notes["recovery"] = restart(stack, args, holder, topic, database, group, extra)
        results["restart_s"] = notes["recovery"]["restart_s"]
        return
    if big.stat().st_size > 1 << 30:
        big.unlink()  # the disk it takes is better free for what follows
    # The processor cannot hold the million hearings here: the same two measurements with
    # fewer, so that at least their size is known. Not the figures; they stay as they are.
    small = OUT / f"national-{args.memory_small_hearings}.ndjson"
    run([BIN, "simulate", "--scenario", "national", "--hearings", args.memory_small_hearings,
         "--seed", args.seed, "--output", small], timeout=900)
    topic = stack.topic("memory-small.events")
    stack.topic("memory-small.dlq")
    produce_file(stack, topic, small)
    log(f"memory: {args.memory_small_hearings} hearings instead, with the defaults")
    holder, database, group, memory = hold_hearings(
        stack, args, topic, "memory-small", args.memory_small_hearings, [])
    notes["memory_small"] = memory
    notes["recovery_small"] = restart(stack, args, holder, topic, database, group, [])
    raise RuntimeError(f"the processor could not hold the {engine['hearings']:,} hearings on this "
                       f"stack, with or without snapshots (see Memory)")


# ---------------------------------------------------------------- the report


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())
    mem_kb = next(int(line.split()[1]) for line in open("/proc/meminfo")
                  if line.startswith("MemTotal"))
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    lock = (ROOT / "Cargo.lock").read_text()
    sys_version = re.search(r'name = "rdkafka-sys"\nversion = "([^"]+)"', lock)
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory_gib": round(mem_kb / 2**20, 1),
            "kernel": platform.release(), "rustc": rustc,
            "commit": commit + (" with uncommitted changes" if dirty else ""),
            "rdkafka_sys": sys_version.group(1) if sys_version else "?",
            "librdkafka_python": librdkafka_version()[0],
            "load_at_start": os.getloadavg()}


def met(key, value):
    if key not in GOALS:
        return ""
    op, goal = GOALS[key]
    if value is None:
        return f"not measured ({op} {goal})"
    ok = value >= goal if op == ">=" else value <= goal
    return f"{'met' if ok else 'missed'} ({op} {goal})"


def profile_table(profile):
    if not profile:
        return "(perf was not available: no profile)\n"
    lines = ["| share of samples | where |", "| ---: | --- |"]
    lines += [f"| {pct:.1f}% | {name} |" for name, pct in profile["categories"].items()]
    lines += ["", "Hottest symbols:", "", "| self | object | symbol |", "| ---: | --- | --- |"]
    lines += [f"| {t['percent']:.1f}% | {t['where']} | `{t['symbol']}` |" for t in profile["top"]]
    return "\n".join(lines) + "\n"


def fmt(value, unit=""):
    if value is None:
        return "null"
    if isinstance(value, float):
        return f"{value:,.1f}{unit}" if unit == " s" else f"{value:,.3f}{unit}"
    return f"{value:,}{unit}"


def share(profile, category):
    return (profile or {}).get("categories", {}).get(category, 0.0)


def write_report(results, notes, errors, args):
    m = notes["machine"]
    r = results
    out = ["# hearwatch benchmarks", "",
           "Written by `make bench` (`tests/bench/bench.py`); do not edit by hand. Each figure is",
           "measured against a baseline in the same run, on the same data, because these",
           "machines are shared: compare ratios between runs, not raw rates.", "",
           "## Machine", "",
           "| | |", "| --- | --- |",
           f"| CPUs (`nproc`) | {m['nproc']} |",
           f"| CPU model | {m['cpu']} |",
           f"| memory | {m['memory_gib']} GiB |",
           f"| kernel | {m['kernel']} |",
           f"| load average at start, end (1, 5, 15 min) | "
           f"{', '.join(f'{x:.2f}' for x in m['load_at_start'])}; "
           f"{', '.join(f'{x:.2f}' for x in m['load_at_end'])} |",
           f"| run | {m['date']}, {m['duration_s']} s, commit {m['commit']} |",
           f"| toolchain | {m['rustc']}; rdkafka-sys {m['rdkafka_sys']} (processor), "
           f"librdkafka {m['librdkafka_python']} (Python baseline) |", "",
           "## Figures", "",
           "| figure | value | baseline | ratio | goal |", "| --- | ---: | ---: | ---: | --- |",
           f"| engine replay, events/s (1 thread) | {fmt(r['replay_events_per_s'])} | "
           f"parse-only {fmt(r['parse_only_events_per_s'])} | {fmt(r['replay_ratio'])} | "
           f"{met('replay_ratio', r['replay_ratio'])}; 1M events/s: "
           f"{'met' if (r['replay_events_per_s'] or 0) >= 1e6 else 'missed'} |",
           f"| pipeline Kafka → run → ClickHouse, events/s | {fmt(r['pipeline_events_per_s'])} | "
           f"consume-only {fmt(r['consume_only_events_per_s'])} | {fmt(r['pipeline_ratio'])} | "
           f"{met('pipeline_ratio', r['pipeline_ratio'])} |",
           f"| append → violation visible, p50 / p99 | {fmt(r['e2e_p50_ms'], ' ms')} / "
           f"{fmt(r['e2e_p99_ms'], ' ms')} | | | {met('e2e_p99_ms', r['e2e_p99_ms'])} |",
           f"| timer firing lag p99 | {fmt(r['timer_lag_p99_ms'], ' ms')} | | | "
           f"{met('timer_lag_p99_ms', r['timer_lag_p99_ms'])} |",
           f"| resident bytes per open hearing"
           f"{' (the engine alone, in a replay process)' if notes.get('memory') is None else ''} | "
           f"{fmt(r['bytes_per_open_hearing'], ' B')} | | | "
           f"{met('bytes_per_open_hearing', r['bytes_per_open_hearing'])} |",
           f"| restart to new events processed | {fmt(r['restart_s'], ' s')} | | | "
           f"{met('restart_s', r['restart_s'])} |", ""]
    if errors:
        out += ["## Not measured in this run", ""]
        out += [f"- **{phase}**: {reason}" for phase, reason in errors.items()]
        out += [""]
    out += method_and_bounds(results, notes, args)
    out += HISTORY
    (ROOT / "BENCHMARKS.md").write_text("\n".join(out) + "\n")


# Measured by hand when the change was made, not by this run: the same engine, the same
# file, `bench_engine` built once with each decoder and run alternately.
HISTORY = [
    "## History (not measured by this run)", "",
    "Issue 7, the decoder's fast path, 2026-12-04, on this machine: `bench_engine` over the "
    "190,000-hearing file (1,007,926 events), the same engine built with the old decoder "
    "(`serde_json::Value` for every message) and with the new one, run alternately, two "
    "runs each:", "",
    "| | old decoder | new decoder |", "| --- | ---: | ---: |",
    "| parse-only, events/s | 545,113; 506,518 | 2,163,752; 1,819,721 |",
    "| replay, events/s | 259,535; 276,477 | 489,102; 406,849 |",
    "| replay_ratio | 0.476; 0.546 | 0.226; 0.224 |",
    "| engine alone, bytes per hearing (`bench_memory`) | 3,689 | 3,256 |", "",
    "The ratio fell because its baseline is the decoder: parse-only became about four times "
    "as fast, the replay 1.7 times, and what remains of the replay is the engine's. The "
    "bytes per hearing fell because `source` and `section` are now shared, not allocated per "
    "event.", "",
    "Issue 7, the compact engine (a byte log per hearing, findings evaluated again instead "
    "of stored, binary snapshots), 2026-12-04, same file and machine, `bench_engine` and "
    "`bench_memory` (settled after the findings are freed) before and after:", "",
    "| | before | after |", "| --- | ---: | ---: |",
    "| replay, events/s | 448,000 | 532,112; 616,095 |",
    "| replay_ratio | 0.215 | 0.249; 0.290 |",
    "| engine alone, bytes per hearing, 190,000 hearings | 3,309 | 406 |",
    "| engine alone, bytes per hearing, 1,000,000 hearings | not measured | 420 |", "",
    "The run of 2026-12-04 19:35 UTC found the processor unable to catch up with 1,000,000 "
    "hearings: the query reading a partition's active findings back from ClickHouse "
    "aggregated every finding of every partition and hit the 2 GB per-query limit. It now "
    "aggregates only the findings written from that partition and lets ClickHouse spill a "
    "large aggregation to disk. The same run restarted its 200,000-hearing processor before any snapshot "
    "existed, so it timed a rebuild from the beginning; the harness now waits for every "
    "partition's snapshot before the kill.", "",
    "The runs after that fix, the same day: the processor held the 1,000,000 hearings "
    "(935 B each) but its restart took 76 s, because a restored snapshot's clock (its "
    "`--now` plus the minute it ran) was later than the restarted run's and the processor "
    "rebuilt from the beginning rather than keep verdicts of a later clock, and because the "
    "catch-up compared every finding with ClickHouse. The engine now records the latest "
    "instant its verdicts depend on, so the restored clock goes back when nothing depends "
    "on the time between; after a restore only the hearings read again or with a timer due "
    "are compared; and the processor takes a stable member name (`--instance-id`), so the "
    "group does not wait for the killed member's session. Restart: 5.9 s. Asking the broker "
    "for end offsets moved off the processor's loop: timer lag p99 from 2,188 to 485 ms. "
    "Then a full reconcile (after a rebuild) evaluated and wrote a chunk of 20,000 hearings "
    "at a time instead of holding every finding of the partition at once, and the "
    "processor's resident memory at 1,000,000 hearings went from 935 to 472 B per hearing. "
    "Last, entries written with their length in place and a plain scan for the hearing id "
    "in URLs: replay ratio 0.278-0.297 before, 0.307 in this run.", ""]


def method_and_bounds(r, notes, args):
    """How each figure was taken and, from this run's profiles, what bounds it."""
    out = ["## How each figure was taken, and what bounds it now", ""]
    engine = notes.get("engine")
    if engine:
        replay, parse = notes.get("profile_replay"), notes.get("profile_parse")
        out += ["### Engine", "",
                f"`bench_engine` over `{engine['file']}` ({engine['events']:,} events, "
                f"`simulate --scenario national --hearings {args.hearings} --seed {args.seed}`), "
                f"as of {NOW}, best of 3 rounds each; {engine['findings']:,} findings.", "",
                f"The parse-only baseline is the decoder: a fast path that reads a regular "
                f"message in one pass without a JSON tree and falls back to the precise "
                f"`serde_json::Value` path for anything irregular. In its profile "
                f"{share(parse, 'decoder'):.0f}% of the samples are the decoder itself and "
                f"{share(parse, 'allocator'):.0f}% the allocator (each event owns its id, "
                f"hearing id and url as `Arc<str>`); what remains is reading the file and the "
                f"page faults of loading it. The replay is bounded by the engine, not the "
                f"decoder: decoding is {share(replay, 'decoder'):.0f}% of the replay profile, "
                f"the engine {share(replay, 'engine: hearings, timers, evaluation'):.0f}% and "
                f"the allocator {share(replay, 'allocator'):.0f}%. Taking an event in finds its "
                f"hearing (a hash map keyed by the hearing id), reads the hearing's compact "
                f"event log to find duplicates and the event's place in fold order "
                f"(`store::plan`, `Entries::next`), and writes the entry (parsing the UUID, a "
                f"payload fingerprint, interning section and URL parts); releasing evaluates "
                f"each hearing once and builds its findings, whose evidence needs the event id "
                f"and URL as text again. The work per event is small but touches a different "
                f"hearing each time, so most samples land in the hash map, `memcmp`, the "
                f"allocator and page faults as the state grows (this VM exposes no hardware "
                f"counters to show the cache misses likely behind them). `replay_ratio` is "
                f"the engine's cost relative to the decoder's: making the decoder faster "
                f"lowers it, and only a cheaper engine raises it.", "",
                "Replay profile (three rounds and loading the file, `perf record -F 499`):", "", profile_table(replay),
                "Parse-only profile:", "", profile_table(parse)]
    pipeline = notes.get("pipeline")
    if pipeline:
        prof = notes.get("profile_pipeline")
        out += ["### Pipeline", "",
                f"The same {pipeline['events']:,} events produced to a fresh topic "
                f"({PARTITIONS} partitions; `hearwatch produce` ran at "
                f"{pipeline['produce_events_per_s']:,} events/s). Baseline: a confluent_kafka "
                f"consumer (Python, librdkafka) reading the whole topic and discarding it, "
                f"best of {len(pipeline['consume_only_rounds'])} rounds "
                f"({', '.join(f'{x:,}' for x in pipeline['consume_only_rounds'])} events/s). "
                f"Then `hearwatch run --now {NOW} --exit-when-idle 2` on the topic with a fresh "
                f"database: events divided by the time from its start to the last moment an "
                f"event was taken or a row written (its /metrics, polled every 100 ms); it "
                f"wrote {pipeline['rows']:,} rows and peaked at "
                f"{pipeline['peak_rss_bytes'] / 2**20:.0f} MiB resident.", "",
                f"What bounds it: the processor takes messages, decodes them, runs the engine "
                f"and builds rows on one thread (`hearwatch` below), and that thread has "
                f"{(prof or {}).get('threads', {}).get('hearwatch', 0):.0f}% of the samples; "
                f"librdkafka fetches on its own threads and the ClickHouse client runs on a "
                f"tokio worker. Of all samples the engine is "
                f"{share(prof, 'engine: hearings, timers, evaluation'):.0f}%, copying bytes "
                f"{share(prof, 'copying bytes'):.0f}% (among them each message's payload and key, "
                f"copied out of librdkafka's buffer before decoding), the processor's own code "
                f"with the ClickHouse client {share(prof, 'processor, ClickHouse client, tokio'):.0f}% "
                f"(reading the clock for every message and row is part of it), the allocator "
                f"{share(prof, 'allocator'):.0f}%, the decoder {share(prof, 'decoder'):.0f}%. The consume-only baseline does none of that "
                f"work, so the ratio is about how much the one processing thread costs per "
                f"event beyond fetching; more partitions per processor would not help, since "
                f"they share that thread.", "",
                f"Profile of the processor while it worked (`perf record -F 499 -p`, stopped "
                f"before its exit):", "", profile_table(prof),
                "Threads: " + ", ".join(f"{name} {pct:.0f}%" for name, pct in
                                        (prof or {}).get("threads", {}).items()), ""]
    latency = notes.get("latency")
    if latency:
        out += ["### Latency", "",
                f"A processor (`run --now {NOW}`) caught up on an empty topic created with "
                f"`message.timestamp.type=LogAppendTime`; {latency['events']:,} events at "
                f"{latency['events_per_s']:,} events/s (national events, and every 100th an "
                f"undated announcement of a new open meeting, which is a violation at once). For "
                f"each of the {latency['markers']:,} markers: the broker's append time (from the "
                f"delivery report) to the first poll of ClickHouse (every "
                f"{latency['poll_ms']:.0f} ms) that shows its `announcement_undated` row; "
                f"{latency['seen']:,} seen, the slowest in {latency['max_ms']} ms, the consumer "
                f"lag never above {latency['max_consumer_lag']:.0f} messages. The processor "
                f"writes to ClickHouse on a 500 ms tick (or at 20,000 rows), so a violation "
                f"waits for the next tick: half a tick on average, a whole one at worst, plus the "
                f"insert and the poll.", ""]
    timers = notes.get("timers")
    if timers:
        spread = timers["spread_visible"]
        out += ["### Timers", "",
                f"{args.timer_hearings:,} open meetings received on 2025-06-10 without an "
                f"announcement, whose deadlines all pass at the same local midnight, and "
                f"{args.timer_hearings:,} more whose announcements occur one by one across the "
                f"{args.timer_spread} s around it (an event stamped ahead of the clock waits on "
                f"a timer); `run --now` starts the clock {args.timer_lead} s before the deadline. "
                f"The figure is the p99 of `hearwatch_timer_lag_seconds` over "
                f"{timers['fired']:,.0f} firings, interpolated within its buckets as Prometheus' "
                f"`histogram_quantile` does; the buckets are "
                f"{', '.join(f'{b:g}' for b in timers['buckets_s'][:6])}, ... s, so a p99 "
                f"between 0.64 and 2.56 s is only known to lie in that bucket. Mean "
                f"{timers['mean_ms']} ms. Finer, from ClickHouse: the announcements' placements "
                f"were visible {spread['p50_ms']} ms (p50) and {spread['p99_ms']} ms (p99) after "
                f"their instants ({spread['rows']} rows), and the last row of the midnight burst "
                f"{fmt(timers['deadline_rows_visible_ms'], ' ms')} after the deadline.", "",
                f"What bounds it: the processor fires due timers at the start of a flush, on a "
                f"500 ms tick, which gives the sawtooth of 0–0.6 s; and every 5 s its loop "
                f"refreshes the lag gauge with an uncached end-offset query of each partition "
                f"(`fetch_watermarks`), which waits behind the consumer's own fetch long-poll "
                f"(`fetch.wait.max.ms`, 500 ms) when the topic is quiet. In this run three such "
                f"queries took {timers['watermark_queries_ms']} ms on an idle topic; for that "
                f"long nothing fires and nothing is written, so the timers due in that window "
                f"fire up to about two seconds late. ClickHouse inserts are not the bound (mean "
                f"{1000 * timers['insert'].get('hearwatch_clickhouse_insert_seconds_sum', 0) / max(timers['insert'].get('hearwatch_clickhouse_insert_seconds_count', 1), 1):.0f} ms "
                f"in this phase). Reading the cached watermarks (`get_watermarks`) or querying "
                f"them off the loop would leave the tick as the bound.", ""]
    memory, engine_memory = notes.get("memory"), notes.get("engine_memory")
    if engine_memory:
        out += ["### Memory", ""]
        for failure in notes.get("memory_failures", []):
            out += [f"The processor could not hold the {args.memory_hearings:,} hearings. "
                    f"{failure[0].upper()}{failure[1:]}.", ""]
        failures = " ".join(notes.get("memory_failures", []))
        if "Memory limit" in failures:
            causes = []
            if re.search(r"WARN \S+: [^,]*snapshot", failures):
                causes.append("the snapshot of a partition (a third of the hearings), which the "
                              "processor writes in one insert")
            if "active findings" in failures:
                causes.append("the query that reads back a partition's active findings (over a "
                              "million) to compare with when it catches up")
            out += ["On this stack ClickHouse limits a query to 2 GB (`max_memory_usage` in "
                    "`deploy/clickhouse/users.xml`); " + ", and ".join(causes) + " needed more, "
                    "and the processor retries the failed call from its main loop without end, "
                    "so it stops taking in events for every partition.", ""]
        if memory and memory["configuration"] != "default":
            out += [f"So the processor's figures below (memory and recovery) are with "
                    f"`{' '.join(memory['flags'])}`: snapshots off, as before they existed.", ""]
        if not memory:
            out += [f"So `bytes_per_open_hearing` is the engine's alone, in a replay process "
                    f"holding the {engine_memory['hearings']:,} hearings (below), and `restart_s` "
                    f"is null.", ""]
        if memory:
            out += [f"`hearwatch run` took in {memory['events']:,} events of "
                    f"{memory['hearings']:,} hearings (`simulate --scenario national --hearings "
                    f"{args.memory_hearings}`) from a fresh topic; once it held them all, had no "
                    f"lag and had written everything, its resident set was "
                    f"{memory['rss_bytes'] / 2**20:,.0f} MiB, against "
                    f"{memory['baseline_rss_bytes'] / 2**20:,.0f} MiB for the same processor "
                    f"idle on an empty topic: {memory['bytes_per_open_hearing']:,} B per "
                    f"hearing.", ""]
        out += [f"The engine alone (`bench_memory`, reading the same file a line at a time) "
                f"holds the {engine_memory['hearings']:,} hearings in "
                f"{engine_memory['bytes_per_open_hearing']:,} B each once evaluated, "
                f"{(engine_memory['held_rss_bytes'] - engine_memory['baseline_rss_bytes']) / engine_memory['hearings']:,.0f} "
                f"B each before evaluation, that is with their events only; the "
                f"{engine_memory.get('findings', 0):,} findings of the evaluation took the "
                f"process to {engine_memory.get('peak_rss_bytes', 0) / 2**20:,.0f} MiB until "
                f"they were written out and freed. What bounds it is the engine's "
                f"representation: per hearing an entry in a `HashMap` keyed by the hearing id, "
                f"a record (id, region, form, next wake) and one byte log of its events, about "
                f"30-40 B per event (a 16-byte UUID, an 8-byte payload fingerprint, the "
                f"instant, the dates, interned section and URL parts); a publication that is "
                f"not its document's first on its channel keeps only its id and fingerprint, "
                f"and findings are not kept at all (they are evaluated again when needed). "
                f"The simulated URLs contain the hearing id and are stored as the interned "
                f"text around it; a URL that does not would cost its length again.", ""]
        for held in (memory, notes.get("memory_small")):
            if held:
                out += [f"With {held['hearings']:,} hearings the processor's figure "
                        f"({held['bytes_per_open_hearing']:,} B) is "
                        f"{held['bytes_per_open_hearing'] - engine_memory['bytes_per_open_hearing']:,} B "
                        f"per hearing above the engine's. That is what it holds besides the "
                        f"engine (librdkafka's queue of prefetched messages, 64 MiB by default, "
                        f"the rows on their way to ClickHouse, the findings read back from "
                        f"ClickHouse when a partition catches up) and what the allocator keeps "
                        f"after freeing them; this run does not break it down further.", ""]
    small = notes.get("recovery_small")
    recovery = notes.get("recovery") or small
    if recovery:
        reads = ", ".join(f"partition {x['partition']} from offset {x['from']:,} to {x['to']:,}"
                          for x in recovery["reads"]) or "no log line"
        restored = any(x["from"] > 0 for x in recovery["reads"])
        held = notes.get("memory") or notes.get("memory_small")
        out += ["### Recovery", ""]
        if recovery is small:
            out += [f"Not measured at {args.memory_hearings:,} hearings (see Memory). With "
                    f"{held['hearings']:,} hearings and the defaults, the same measurement gave "
                    f"{recovery['restart_s']} s; it is not the figure, only what it is at "
                    f"{held['hearings'] / args.memory_hearings:.0%} of the size.", ""]
        out += [f"The processor holding {held['hearings']:,} hearings was killed with SIGKILL; "
                f"one new event (an undated announcement) was sent; the processor was restarted "
                f"with the same group and the same `--instance-id` (static membership)"
                + (f" and `{' '.join(recovery['flags'])}`" if recovery["flags"] else "")
                + f". The time is from its start to that event's violation visible in "
                f"ClickHouse. Its log shows the partitions assigned after "
                f"{fmt(recovery['assigned_s'], ' s')} (without a stable member name the group "
                f"would first wait for the killed member's session to time out, "
                f"`session.timeout.ms` 10 s), every partition caught up "
                f"after {fmt(recovery['caught_up_s'], ' s')} and compared with ClickHouse after "
                f"{fmt(recovery['reconciled_s'], ' s')}. It read {reads}: "
                + ("it started from a snapshot's offset, so the time is restoring the snapshot "
                   "and reading on from it." if restored else
                   "it rebuilt every hearing by reading its partitions from the beginning, "
                   "so the time is that rebuild (taking in every event again, evaluating every "
                   "hearing, comparing every finding with ClickHouse) before the new event's "
                   "violation can be written."), ""]
    return out


# ---------------------------------------------------------------- main


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hearings", type=int, default=190_000,
                        help="national hearings of the engine and pipeline runs (~5.3 events each)")
    parser.add_argument("--memory-hearings", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--latency-rate", type=int, default=10_000)
    parser.add_argument("--latency-seconds", type=int, default=40)
    parser.add_argument("--timer-hearings", type=int, default=2000)
    parser.add_argument("--timer-lead", type=int, default=25)
    parser.add_argument("--timer-spread", type=int, default=20)
    parser.add_argument("--memory-timeout", type=int, default=480)
    parser.add_argument("--restart-timeout", type=int, default=300)
    parser.add_argument("--memory-small-hearings", type=int, default=200_000,
                        help="hearings of the smaller run made when the processor cannot hold "
                             "--memory-hearings")
    parser.add_argument("--no-memory-fallback", dest="memory_fallback", action="store_false",
                        help="if the processor cannot take in the million hearings with its "
                             "defaults, do not try again without snapshots")
    parser.add_argument("--only", help="comma-separated phases: engine,pipeline,latency,timers,"
                                       "memory (for development; the report lists the others "
                                       "as not measured)")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes, for developing the bench itself")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite BENCHMARKS.md from the last run's target/bench files, "
                             "measuring nothing")
    args = parser.parse_args()
    if args.report_only:
        details = json.loads((OUT / "details.json").read_text())
        results = json.loads((OUT / "summary.json").read_text())
        write_report(results, details["notes"], details["not_measured"],
                     argparse.Namespace(**details["args"]))
        return 0
    if args.quick:
        args.hearings, args.memory_hearings, args.latency_seconds = 20_000, 30_000, 10
        args.timer_hearings = 300
    OUT.mkdir(parents=True, exist_ok=True)
    for needed in (BIN, EXAMPLES / "bench_engine", EXAMPLES / "bench_memory"):
        if not needed.exists():
            raise SystemExit(f"{needed} is missing: `make bench` builds it")
    phases = set((args.only or "engine,pipeline,latency,timers,memory").split(","))

    stack = Stack()
    results = {key: None for key in (
        "replay_events_per_s", "parse_only_events_per_s", "replay_ratio",
        "pipeline_events_per_s", "consume_only_events_per_s", "pipeline_ratio",
        "e2e_p50_ms", "e2e_p99_ms", "timer_lag_p99_ms", "bytes_per_open_hearing", "restart_s")}
    notes, errors = {"machine": machine()}, {}
    national = OUT / f"national-{args.hearings}.ndjson"

    def phase(name, function, *extra):
        if name not in phases:
            errors[name] = "not run (`--only`)"
            return None
        try:
            return function(*extra)
        except Exception as e:  # a phase that fails leaves its figures null, with the reason
            errors[name] = f"{type(e).__name__}: {e}".replace("\n", " ")[:600]
            log(f"{name}: not measured: {errors[name]}")
            return None

    try:
        national = phase("engine", bench_engine, args, results, notes) or national
        if not national.exists() and phases & {"pipeline", "latency"}:
            run([BIN, "simulate", "--scenario", "national", "--hearings", args.hearings,
                 "--seed", args.seed, "--output", national], timeout=600)
        phase("pipeline", bench_pipeline, stack, args, national, results, notes)
        phase("latency", bench_latency, stack, args, national, results, notes)
        phase("timers", bench_timers, stack, args, results, notes)
        phase("memory", bench_memory_and_recovery, stack, args, results, notes)
    finally:
        stack.cleanup()
        for path in OUT.glob("national-*.ndjson"):
            if path.stat().st_size > 1 << 30:
                path.unlink()  # a million hearings are gigabytes; the small file is kept
    notes["machine"]["load_at_end"] = os.getloadavg()
    notes["machine"]["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(STARTED))
    notes["machine"]["duration_s"] = round(time.time() - STARTED)
    (OUT / "summary.json").write_text(json.dumps(results, indent=2) + "\n")
    (OUT / "details.json").write_text(json.dumps({"notes": notes, "not_measured": errors,
                                                  "args": vars(args)},
                                                 indent=2, default=str) + "\n")
    write_report(results, notes, errors, args)
    log(f"wrote {OUT / 'summary.json'} and BENCHMARKS.md in {time.time() - STARTED:.0f} s")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
