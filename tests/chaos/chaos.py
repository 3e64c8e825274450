#!/usr/bin/env python3
"""Fault run of the whole pipeline on the local stack: nothing lost, nothing counted twice.

It writes the `national` scenario, feeds it to a fresh topic in the background, and
meanwhile runs the processor while it kills it with SIGKILL at random points, restarts the
Kafka broker once, stops ClickHouse once, and runs a second processor in the same group
once (a rebalance). Then it lets a last processor finish and compares the active
violations in ClickHouse with a replay of the same events (the engine in-process, no
services), finding by finding. The last line is

  chaos: kills=N broker_restarts=N clickhouse_outage_s=N rebalances=N expected=X got=Y lost=L duplicated=D

and the exit status is non-zero unless lost and duplicated are 0 and got equals expected.
Defaults are the full run (`make chaos`, about 1M events); `--quick` is the short run
that `make test` includes.
"""
import argparse
import json
import os
import pathlib
import random
import signal
import subprocess
import sys
import threading
import time
import uuid

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "e2e"))
from conftest import ROOT, Stack  # noqa: E402

from confluent_kafka import Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

NOW = "2026-01-01T00:00:00Z"


def log(message):
    print(f"[chaos {time.strftime('%H:%M:%S')}] {message}", flush=True)


def stack_cmd(*args):
    subprocess.run(["bash", str(ROOT / "deploy" / "stack.sh"), *args], check=True,
                   stdout=subprocess.DEVNULL)


class Feeder(threading.Thread):
    """Sends the events to the topic at a steady rate, keyed by hearing, retrying through
    a broker restart (the idempotent producer keeps each message once)."""

    def __init__(self, brokers, topic, lines, seconds):
        super().__init__(daemon=True)
        self.producer = Producer({"bootstrap.servers": brokers, "enable.idempotence": True, "log_level": 2,
                                  "linger.ms": 20, "message.timeout.ms": 600000})
        self.topic, self.lines, self.seconds = topic, lines, seconds
        self.failures = []

    def run(self):
        started = time.time()
        for i, line in enumerate(self.lines):
            key = json.loads(line)["hearing_id"].encode()
            while True:
                try:
                    self.producer.produce(self.topic, key=key, value=line.encode(),
                                          on_delivery=self.delivered)
                    break
                except BufferError:
                    self.producer.poll(0.1)
            if i % 1000 == 0:
                self.producer.poll(0)
                ahead = started + self.seconds * i / len(self.lines) - time.time()
                if ahead > 0:
                    time.sleep(ahead)
        self.producer.flush(600)

    def delivered(self, err, _msg):
        if err is not None:
            self.failures.append(str(err))


class Processors:
    """The processors this run started, so each can be killed or waited for."""

    def __init__(self, stack, topics, database, group, logs, snapshot_every):
        self.stack, self.topics, self.database, self.group, self.logs = stack, topics, database, group, logs
        self.snapshot_every = snapshot_every
        self.serial = 0

    def start(self, *extra):
        self.serial += 1
        events, dlq = self.topics
        out = open(self.logs / f"processor-{self.serial:02d}.log", "w")
        env = {**os.environ, "HEARWATCH_KAFKA_BROKERS": self.stack.brokers,
               "HEARWATCH_CLICKHOUSE_URL": self.stack.clickhouse_url}
        return subprocess.Popen(
            [self.stack.binary, "run", "--topic", events, "--dlq-topic", dlq, "--group", self.group,
             "--clickhouse-database", self.database, "--clickhouse-user", "default",
             "--clickhouse-password", "", "--metrics-addr", "127.0.0.1:0", "--now", NOW,
             "--snapshot-every", str(self.snapshot_every), *extra],
            stdout=out, stderr=subprocess.STDOUT, env=env)


def expected_violations(stack, events_file):
    out = stack.hearwatch("replay", "--events", str(events_file), "--as-of", NOW, "--format", "ndjson",
                          timeout=1800)
    ids = set()
    for line in out.stdout.splitlines():
        v = json.loads(line)
        ids.add(f"{v['hearing_id']}/{v['rule']}/{v['document']}/{v['channel']}")
    return ids


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hearings", type=int, default=190_000, help="national scenario size (~5.3 events each)")
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--outage", type=int, default=60, help="seconds ClickHouse is stopped")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--snapshot-every", type=int, default=15,
                        help="seconds between snapshots, short so that kills land between them")
    parser.add_argument("--quick", action="store_true", help="the short run of make test")
    args = parser.parse_args()
    if args.quick:
        args.hearings, args.kills, args.outage, args.snapshot_every = 6_000, 4, 8, 3
    rng = random.Random(args.seed)
    stack = Stack()
    run_dir = ROOT / ".stack" / "chaos" / time.strftime("%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True)
    log(f"seed {args.seed}, {args.hearings} hearings, {args.kills} kills; logs in {run_dir}")

    events_file = run_dir / "national.ndjson"
    stack.hearwatch("simulate", "--scenario", "national", "--hearings", str(args.hearings),
                    "--seed", str(args.seed), "--output", str(events_file), timeout=1800)
    lines = events_file.read_text().splitlines()
    log(f"{len(lines)} events written")

    tag = uuid.uuid4().hex[:8]
    topics = (f"chaos.{tag}.events", f"chaos.{tag}.dlq")
    admin = AdminClient({"bootstrap.servers": stack.brokers, "log_level": 2})
    for f in admin.create_topics([NewTopic(t, num_partitions=3, replication_factor=1,
                                           config={"retention.ms": "-1"}) for t in topics]).values():
        f.result(30)
    database = f"hw_chaos_{tag}"
    stack.hearwatch("migrate", "--clickhouse-database", database, "--clickhouse-user", "default",
                    "--clickhouse-password", "")

    # The processors' lives: random lengths; the faults fall on chosen kills.
    lives = [rng.uniform(4, 14) for _ in range(args.kills)]
    broker_at, outage_at, rebalance_at = rng.sample(range(1, args.kills), 3) if args.kills > 3 else (1, 2, 3)
    feeder = Feeder(stack.brokers, topics[0], lines, seconds=0.7 * sum(lives))
    feeder.start()
    processors = Processors(stack, topics, database, f"chaos-{tag}", run_dir, args.snapshot_every)
    kills = broker_restarts = outage_s = rebalances = 0
    for i, life in enumerate(lives):
        first = processors.start()
        second = None
        time.sleep(life / 2)
        if i == broker_at:
            log("restarting the Kafka broker")
            stack_cmd("restart-kafka")
            broker_restarts += 1
        if i == outage_at:
            log(f"stopping ClickHouse for {args.outage} s")
            stack_cmd("stop-clickhouse")
            time.sleep(args.outage)
            stack_cmd("start-clickhouse")
            outage_s += args.outage
        if i == rebalance_at:
            log("starting a second processor in the same group")
            second = processors.start()
            rebalances += 1
            time.sleep(life)
        time.sleep(life / 2)
        for p in (first, second):
            if p is not None:
                if p.poll() is not None:
                    log(f"processor {p.pid} had already exited with {p.returncode}; see its log")
                p.send_signal(signal.SIGKILL)
                p.wait()
                kills += 1
        log(f"kill {kills}: {i + 1}/{len(lives)} lives, feeder at {'done' if not feeder.is_alive() else 'work'}")
    feeder.join()
    if feeder.failures:
        log(f"the feeder lost {len(feeder.failures)} messages: {feeder.failures[:3]}")
        return 2

    log("letting a last processor finish")
    last = processors.start("--exit-when-idle", "5")
    if last.wait(timeout=1800) != 0:
        log(f"the last processor failed ({last.returncode}); see {run_dir}")
        return 2

    expected = expected_violations(stack, events_file)
    got_rows = stack.sql(f"SELECT finding_id FROM {database}.violations FORMAT TSV").split()
    got = set(got_rows)
    lost = len(expected - got)
    duplicated = (len(got_rows) - len(got)) + len(got - expected)
    print(f"chaos: kills={kills} broker_restarts={broker_restarts} clickhouse_outage_s={outage_s} "
          f"rebalances={rebalances} expected={len(expected)} got={len(got_rows)} lost={lost} "
          f"duplicated={duplicated}", flush=True)
    if lost or duplicated or len(got_rows) != len(expected):
        for fid in sorted(expected - got)[:5]:
            log(f"lost: {fid}")
        for fid in sorted(got - expected)[:5]:
            log(f"extra: {fid}")
        return 1
    stack.sql(f"DROP DATABASE IF EXISTS {database}")
    for f in admin.delete_topics(list(topics)).values():
        f.result(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
