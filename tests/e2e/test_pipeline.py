"""The May 2025 report end to end: events through the real Kafka broker, the processor
and the real ClickHouse, read back with `hearwatch report`.

Expected numbers come from `shared/golden/2025-05.json` (the ministry's tables typed in
as data), never from hearwatch itself; the dead-letter reasons are the design's.
"""
import datetime
import json
import time

from conftest import golden_mismatches

NOW = "2025-07-01T00:00:00+05:00"


def run_processor(stack, topics, database, group, *extra):
    events, dlq = topics
    return stack.hearwatch(
        "run", "--topic", events, "--dlq-topic", dlq, "--group", group,
        "--clickhouse-database", database, "--clickhouse-user", "default", "--clickhouse-password", "",
        "--metrics-addr", "127.0.0.1:0", "--now", NOW, "--exit-when-idle", "3", *extra, timeout=600)


def report(stack, database, *extra):
    out = stack.hearwatch("report", "--month", "2025-05", "--format", "json",
                          "--clickhouse-database", database, "--clickhouse-user", "default",
                          "--clickhouse-password", "", *extra)
    return json.loads(out.stdout)


def scenario(stack, tmp_path):
    path = tmp_path / "may-2025.ndjson"
    stack.hearwatch("simulate", "--scenario", "may-2025", "--output", str(path))
    return path


BAD_MESSAGES = [
    # (key, value, expected reason)
    (b"H-bad-1", b"{this is not json", "invalid_json"),
    (b"H-bad-2", json.dumps({
        "event_id": "11111111-1111-4111-8111-111111111111", "type": "hearing_cancelled",
        "hearing_id": "H-bad-2", "region": "KZ-99", "form": "open_meeting",
        "occurred_at": "2025-05-05T10:00:00+05:00", "source": "e2e"}).encode(), "unknown_region"),
    (b"H-bad-3", json.dumps({
        "event_id": "22222222-2222-4222-8222-222222222222", "type": "hearing_cancelled",
        "hearing_id": "H-bad-3", "region": "KZ-71", "form": "open_meeting",
        "occurred_at": "2025-05-05T10:00:00", "source": "e2e"}).encode(), "no_offset"),
    (b"H-other", json.dumps({
        "event_id": "33333333-3333-4333-8333-333333333333", "type": "hearing_cancelled",
        "hearing_id": "H-bad-4", "region": "KZ-71", "form": "open_meeting",
        "occurred_at": "2025-05-05T10:00:00+05:00", "source": "e2e"}).encode(), "key_mismatch"),
]


def test_may_2025_through_kafka_and_clickhouse_matches_the_golden_tables(stack, topics, database, golden, tmp_path):
    events_file = scenario(stack, tmp_path)
    events_topic, dlq_topic = topics
    stack.hearwatch("produce", "--events", str(events_file), "--topic", events_topic)
    stack.produce(events_topic, [(k, v) for k, v, _ in BAD_MESSAGES])
    before_run = time.time()
    time.sleep(1.1)

    run_processor(stack, topics, database, f"g-{database}")

    bad = golden_mismatches(report(stack, database), golden)
    assert not bad, "\n".join(bad)

    # Every malformed message is in the dead-letter topic with its reason, bytes and origin.
    letters = stack.read_all(dlq_topic)
    by_key = {m.key(): m for m in letters}
    assert len(letters) == len(BAD_MESSAGES)
    for key, value, reason in BAD_MESSAGES:
        headers = dict(by_key[key].headers())
        assert headers["hearwatch.reason"].decode() == reason
        assert by_key[key].value() == value
        assert headers["hearwatch.source.topic"].decode() == events_topic
        assert int(headers["hearwatch.source.offset"]) >= 0

    # The report as known before the processor ran is empty: knowledge time.
    early = report(stack, database, "--known-at", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(before_run)))
    assert early["open_meetings_total"]["total"] == 0 and early["open_meetings_total"]["announcements"] == 0


def test_a_restart_rebuilds_without_double_counting_and_a_late_event_is_known_from_its_time(
        stack, topics, database, golden, tmp_path):
    events_file = scenario(stack, tmp_path)
    events_topic, _ = topics
    stack.hearwatch("produce", "--events", str(events_file), "--topic", events_topic)
    run_processor(stack, topics, database, f"g1-{database}")
    first = report(stack, database)
    assert not golden_mismatches(first, golden)

    # Find, through replay, one Almaty-region hearing whose announcement is missing on the
    # body's website, and publish it the day after its deadline: missing turns into late.
    # (Any later and the notice before the hearing could fall under 30 days, a second
    # violation this test is not about.)
    out = stack.hearwatch("replay", "--events", str(events_file), "--as-of", NOW, "--format", "ndjson")
    missing = next(json.loads(l) for l in out.stdout.splitlines()
                   if '"announcement_missing"' in l and '"KZ-19"' in l and '"mio_website"' in l)
    next_day = (datetime.date.fromisoformat(missing["deadline_on"]) + datetime.timedelta(days=1)).isoformat()
    late = {
        "event_id": "44444444-4444-4444-8444-444444444444", "type": "announcement_published",
        "hearing_id": missing["hearing_id"], "region": "KZ-19", "form": "open_meeting",
        "occurred_at": f"{next_day}T10:00:00+05:00", "source": "e2e", "channel": "mio_website",
        "declared_on": next_day, "section": "public_hearings",
    }
    time.sleep(1.1)
    between = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    time.sleep(1.1)
    stack.produce(events_topic, [(missing["hearing_id"].encode(), json.dumps(late).encode())])

    # A second processor run (a restart: the state is rebuilt from the topic) takes it in.
    run_processor(stack, topics, database, f"g1-{database}")
    second = report(stack, database)
    row = lambda r: next(x for x in r["open_meetings"] if x["region"] == "KZ-19")
    assert row(second)["announcement_missing"] == row(first)["announcement_missing"] - 1
    assert row(second)["announcement_late"] == row(first)["announcement_late"] + 1
    assert row(second)["total"] == row(first)["total"]
    for region in golden["open_meetings"]:
        if region["region"] != "KZ-19":
            assert next(x for x in second["open_meetings"] if x["region"] == region["region"]) == \
                next(x for x in first["open_meetings"] if x["region"] == region["region"])
    assert second["public_discussions"] == first["public_discussions"]

    # The report as known between the runs is the first one, exactly.
    assert report(stack, database, "--known-at", between) == first

    # And the current report equals a replay of all events as of the processor's clock.
    all_events = tmp_path / "all.ndjson"
    all_events.write_text(events_file.read_text() + json.dumps(late) + "\n")
    replayed = stack.hearwatch("replay", "--events", str(all_events), "--as-of", NOW, "--month", "2025-05",
                               "--format", "json")
    assert json.loads(replayed.stdout)["open_meetings"] == second["open_meetings"]
