"""Fixtures for end-to-end tests against the real local stack.

The stack (Kafka, ClickHouse, Prometheus) is started by `make test` through
`deploy/stack.sh up`; these fixtures only read `.stack/env` for its addresses and give
each test a fresh topic pair and a fresh ClickHouse database, removed afterwards.
"""
import json
import os
import pathlib
import subprocess
import urllib.parse
import urllib.request
import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = pathlib.Path(os.environ.get("HEARWATCH_GOLDEN", ROOT / "tests" / "golden" / "2025-05.json"))


def stack_env():
    env_file = ROOT / ".stack" / "env"
    if not env_file.exists():
        pytest.fail(f"{env_file} is missing: start the stack with `bash deploy/stack.sh up`")
    env = {}
    for line in env_file.read_text().splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export "):].partition("=")
            env[key] = value.strip("'\"")
    return env


class Stack:
    """The local stack's addresses and small clients for checking what the binary did."""

    def __init__(self):
        self.env = stack_env()
        self.brokers = self.env["HEARWATCH_KAFKA_BROKERS"]
        self.clickhouse_url = self.env["HEARWATCH_CLICKHOUSE_URL"]
        self.binary = os.environ.get("HEARWATCH_BIN", str(ROOT / "target" / "release" / "hearwatch"))

    def sql(self, query, user="default", password=""):
        params = urllib.parse.urlencode({"user": user, "password": password})
        request = urllib.request.Request(f"{self.clickhouse_url}/?{params}", data=query.encode())
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.read().decode()

    def hearwatch(self, *args, env=None, timeout=600, check=True):
        full_env = {**os.environ, "HEARWATCH_KAFKA_BROKERS": self.brokers,
                    "HEARWATCH_CLICKHOUSE_URL": self.clickhouse_url, **(env or {})}
        result = subprocess.run([self.binary, *args], env=full_env, capture_output=True,
                                timeout=timeout, text=True)
        if check and result.returncode != 0:
            raise AssertionError(f"hearwatch {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    def produce(self, topic, messages):
        """Sends (key, value) pairs as they are, waiting for every acknowledgement."""
        producer = Producer({"bootstrap.servers": self.brokers, "enable.idempotence": True})
        failures = []
        for key, value in messages:
            producer.produce(topic, key=key, value=value,
                             on_delivery=lambda err, _msg: err and failures.append(err))
        producer.flush(30)
        assert not failures, failures

    def read_all(self, topic, partitions=3, timeout=30.0):
        """Every message of a topic, from the beginning to the end offsets of now."""
        consumer = Consumer({"bootstrap.servers": self.brokers, "group.id": f"e2e-reader-{uuid.uuid4()}",
                             "enable.auto.commit": False})
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                for p in range(partitions)}
        consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        messages, remaining = [], sum(ends.values())
        import time
        deadline = time.time() + timeout
        while remaining > 0 and time.time() < deadline:
            message = consumer.poll(1.0)
            if message is None or message.error():
                continue
            messages.append(message)
            remaining -= 1
        consumer.close()
        assert remaining == 0, f"{remaining} messages of {topic} not read"
        return messages


@pytest.fixture(scope="session")
def stack():
    return Stack()


@pytest.fixture
def topics(stack):
    """A fresh input topic and dead-letter topic, 3 partitions each."""
    tag = uuid.uuid4().hex[:8]
    names = (f"e2e.{tag}.events", f"e2e.{tag}.dlq")
    admin = AdminClient({"bootstrap.servers": stack.brokers})
    futures = admin.create_topics([NewTopic(n, num_partitions=3, replication_factor=1,
                                            config={"retention.ms": "-1"}) for n in names])
    for future in futures.values():
        future.result(30)
    yield names
    for future in admin.delete_topics(list(names)).values():
        try:
            future.result(30)
        except Exception:  # a leftover topic only costs disk in the local stack
            pass


@pytest.fixture
def database(stack):
    """A fresh database with hearwatch's schema, dropped afterwards."""
    name = f"hw_e2e_{uuid.uuid4().hex[:8]}"
    stack.hearwatch("migrate", "--clickhouse-database", name, "--clickhouse-user", "default",
                    "--clickhouse-password", "")
    yield name
    stack.sql(f"DROP DATABASE IF EXISTS {name}")


@pytest.fixture(scope="session")
def golden():
    if not GOLDEN.exists():
        pytest.fail(f"the golden tables {GOLDEN} are missing (set HEARWATCH_GOLDEN)")
    return json.loads(GOLDEN.read_text())


def golden_mismatches(report, golden):
    """Every golden row and column sum that the report does not reproduce."""
    bad = []
    for table in ("open_meetings", "public_discussions"):
        rows = {r["region"]: r for r in report[table]}
        for want in golden[table]:
            have = rows.get(want["region"], {})
            for column, value in want.items():
                if column in ("row", "region", "name_in_report"):
                    continue
                if have.get(column) != value:
                    bad.append(f"{table} {want['region']} {column}: got {have.get(column)}, want {value}")
        for column, value in golden["column_sums"][table].items():
            got = report[f"{table}_total"].get(column)
            if got != value:
                bad.append(f"{table} total {column}: got {got}, want {value}")
    return bad


class Pipeline:
    """The may-2025 scenario, run once through Kafka, the processor and ClickHouse."""

    NOW = "2025-07-01T00:00:00+05:00"

    def __init__(self, stack, database, events_file, before, after):
        self.stack = stack
        self.database = database
        self.events_file = events_file
        self.before = before  # a second before the processor wrote anything (epoch seconds)
        self.after = after    # a second after it finished

    def clickhouse_flags(self):
        return ["--clickhouse-database", self.database, "--clickhouse-user", "default",
                "--clickhouse-password", ""]


@pytest.fixture(scope="session")
def may_2025_pipeline(stack, tmp_path_factory):
    """A fresh topic pair and database holding the may-2025 scenario as the processor
    wrote it, shared by the tests that only read it; removed at the end of the session."""
    import time
    tag = uuid.uuid4().hex[:8]
    events_topic, dlq_topic = f"e2e.{tag}.events", f"e2e.{tag}.dlq"
    admin = AdminClient({"bootstrap.servers": stack.brokers})
    for future in admin.create_topics([NewTopic(n, num_partitions=3, replication_factor=1,
                                                config={"retention.ms": "-1"})
                                       for n in (events_topic, dlq_topic)]).values():
        future.result(30)
    database = f"hw_report_{tag}"
    stack.hearwatch("migrate", "--clickhouse-database", database, "--clickhouse-user", "default",
                    "--clickhouse-password", "")
    events_file = tmp_path_factory.mktemp("may-2025") / "may-2025.ndjson"
    stack.hearwatch("simulate", "--scenario", "may-2025", "--output", str(events_file))
    stack.hearwatch("produce", "--events", str(events_file), "--topic", events_topic)
    before = int(time.time()) - 1
    time.sleep(1.1)
    stack.hearwatch("run", "--topic", events_topic, "--dlq-topic", dlq_topic, "--group", f"g-{database}",
                    "--clickhouse-database", database, "--clickhouse-user", "default",
                    "--clickhouse-password", "", "--metrics-addr", "127.0.0.1:0",
                    "--now", Pipeline.NOW, "--exit-when-idle", "3")
    time.sleep(1.1)
    after = int(time.time())
    yield Pipeline(stack, database, events_file, before, after)
    stack.sql(f"DROP DATABASE IF EXISTS {database}")
    for future in admin.delete_topics([events_topic, dlq_topic]).values():
        try:
            future.result(30)
        except Exception:  # a leftover topic only costs disk in the local stack
            pass
