"""Faults the processor must meet with a clear message or by going on: a database without
hearwatch's schema stops it (retrying cannot help), so do a missing input topic and a
metrics address it cannot use, and every class of malformed message reaches the
dead-letter topic with its reason while the valid events are processed."""
import json
import socket
import uuid

from test_pipeline import NOW


def test_a_missing_schema_stops_the_processor_with_a_message(stack, topics):
    events_topic, dlq = topics
    stack.produce(events_topic, [(b"H-1", json.dumps({
        "event_id": str(uuid.uuid4()), "type": "application_received", "hearing_id": "H-1",
        "region": "KZ-71", "form": "public_discussion", "occurred_at": "2025-05-05T10:00:00+05:00",
        "source": "e2e", "discussion_ends_on": "2025-05-20"}).encode())])
    database = f"hw_e2e_missing_{uuid.uuid4().hex[:6]}"
    stack.sql(f"CREATE DATABASE {database}")
    try:
        result = stack.hearwatch(
            "run", "--topic", events_topic, "--dlq-topic", dlq, "--group", f"g-{database}",
            "--clickhouse-database", database, "--clickhouse-user", "default", "--clickhouse-password", "",
            "--metrics-addr", "127.0.0.1:0", "--now", NOW, "--exit-when-idle", "3", check=False, timeout=120)
    finally:
        stack.sql(f"DROP DATABASE IF EXISTS {database}")
    assert result.returncode != 0
    assert "retrying will not help" in result.stderr and "migrate" in result.stderr, result.stderr[-2000:]


def test_a_missing_topic_stops_run_and_produce_naming_it(stack, tmp_path):
    missing = f"hw.e2e.missing.{uuid.uuid4().hex[:8]}"
    run = stack.hearwatch("run", "--topic", missing, "--group", f"g-{missing}",
                          "--metrics-addr", "127.0.0.1:0", "--now", NOW, "--exit-when-idle", "3",
                          check=False, timeout=60)
    assert run.returncode != 0
    assert f"the input topic {missing} does not exist" in run.stderr, run.stderr[-2000:]
    events = tmp_path / "one.ndjson"
    events.write_text(json.dumps(VALID) + "\n")
    produce = stack.hearwatch("produce", "--events", str(events), "--topic", missing,
                              check=False, timeout=60)
    assert produce.returncode != 0
    assert f"the topic {missing} does not exist" in produce.stderr, produce.stderr[-2000:]


def test_a_metrics_address_in_use_stops_run(stack, topics):
    events_topic, dlq = topics
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = "127.0.0.1:%d" % taken.getsockname()[1]
        result = stack.hearwatch("run", "--topic", events_topic, "--dlq-topic", dlq,
                                 "--metrics-addr", address, "--now", NOW,
                                 "--exit-when-idle", "3", check=False, timeout=60)
    assert result.returncode != 0
    assert f"cannot listen on {address} for /metrics" in result.stderr, result.stderr[-2000:]


VALID = {
    "event_id": "55555555-5555-4555-8555-555555555555", "type": "announcement_published",
    "hearing_id": "H-ok", "region": "KZ-71", "form": "open_meeting",
    "occurred_at": "2025-05-05T10:00:00+05:00", "source": "e2e", "channel": "information_system",
    "declared_on": "2025-05-05", "section": "public_hearings",
}


def variant(**changes):
    event = {**VALID, **changes}
    return {k: v for k, v in event.items() if v is not ...}


def test_every_class_of_malformed_message_is_dead_lettered_with_its_reason(stack, topics, database):
    cases = [
        ("invalid_json", b'{"event_id": '),
        ("missing_field", variant(source=...)),
        ("wrong_type", variant(section=42)),
        ("unknown_type", variant(type="poster_published")),
        ("unknown_region", variant(region="KZ-00")),
        ("unknown_form", variant(form="webinar")),
        ("unknown_channel", variant(channel="telegram")),
        ("no_offset", variant(occurred_at="2025-05-05T10:00:00")),
        ("too_large", variant(padding="x" * 70_000)),
        ("field_too_long", variant(url="https://e.kz/" + "u" * 2100)),
        ("not_for_form", variant(type="hearing_held", form="public_discussion", held_on="2025-05-05")),
    ]
    messages = []
    for i, (reason, body) in enumerate(cases):
        if isinstance(body, dict):
            body = json.dumps({**body, "event_id": f"{i:08d}-0000-4000-8000-000000000000"}).encode()
        messages.append((b"H-ok", body))
    # The valid event, then the same id with another payload, and the same hearing as
    # another region: the last two depend on what came before, so they go last.
    messages.append((b"H-ok", json.dumps(VALID).encode()))
    messages.append((b"H-ok", json.dumps({**VALID, "source": "other"}).encode()))
    messages.append((b"H-ok", json.dumps({**VALID, "event_id": str(uuid.uuid4()), "region": "KZ-75"}).encode()))
    expected = [reason for reason, _ in cases] + ["conflicting_duplicate", "conflicting_hearing"]
    events_topic, dlq_topic = topics
    stack.produce(events_topic, messages)
    stack.hearwatch(
        "run", "--topic", events_topic, "--dlq-topic", dlq_topic, "--group", f"g-{database}",
        "--clickhouse-database", database, "--clickhouse-user", "default", "--clickhouse-password", "",
        "--metrics-addr", "127.0.0.1:0", "--now", NOW, "--exit-when-idle", "3", timeout=300)
    letters = stack.read_all(dlq_topic)
    reasons = sorted(dict(m.headers())["hearwatch.reason"].decode() for m in letters)
    assert reasons == sorted(expected)
    # The valid event went through: its placement is in ClickHouse.
    placed = stack.sql(f"SELECT count() FROM {database}.placements WHERE hearing_id = 'H-ok'")
    assert placed.strip() == "1"
