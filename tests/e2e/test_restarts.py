"""Restarts with another clock or other calendar data. Processors in tests, backfills and
demos run with `--now`, so a restart can come with an earlier clock than a run before it,
or with other calendar data. Whatever a run before it wrote, ClickHouse must then show
what the restarted run's clock and data show.

The expected numbers are by hand from the rule pack of 2021-08-03 (the announcement is due
1 working day after the receipt, on each of the 2 channels, for open meetings) and the
2025 calendar (6-7 October 2025 are plain working days): an open meeting received on
Monday 6 October 2025 with no announcement has its deadline at the end of Tuesday 7
October in Astana, 2025-10-08T00:00:00+05:00, and then 2 `announcement_missing`
violations; before that instant it has none.
"""
import json
import os
import subprocess
import time
import uuid

from conftest import ROOT

BEFORE = "2025-10-07T23:58:00+05:00"   # two minutes before the deadline
AFTER = "2025-10-08T00:00:30+05:00"    # thirty seconds after it
DEADLINE_EPOCH = 1759863600             # 2025-10-08T00:00:00+05:00 = 2025-10-07T19:00:00Z


def run(stack, topics, database, group, now, *extra):
    events, dlq = topics
    return stack.hearwatch(
        "run", "--topic", events, "--dlq-topic", dlq, "--group", group,
        "--clickhouse-database", database, "--clickhouse-user", "default",
        "--clickhouse-password", "", "--metrics-addr", "127.0.0.1:0", "--now", now,
        "--snapshot-every", "1", "--exit-when-idle", "3", *extra, timeout=120)


def active_missing(stack, database, hearing):
    return int(stack.sql(
        f"SELECT count() FROM {database}.violations "
        f"WHERE hearing_id = '{hearing}' AND rule = 'announcement_missing'").strip())


def unannounced_meeting(stack, topics):
    """Sends the one event of a new hearing: an open meeting in Astana received on Monday
    6 October 2025, never announced. Returns its id."""
    hearing = f"KZ-71-OM-2025-{uuid.uuid4().hex[:6]}"
    stack.produce(topics[0], [(hearing.encode(), json.dumps({
        "event_id": str(uuid.uuid4()), "type": "application_received", "hearing_id": hearing,
        "region": "KZ-71", "form": "open_meeting", "occurred_at": "2025-10-06T10:00:00+05:00",
        "source": "e2e", "hearing_at": "2025-11-20T11:00:00+05:00"}).encode())])
    return hearing


def test_a_restart_with_an_earlier_clock_takes_back_what_a_later_clock_fired(
        stack, topics, database):
    hearing = unannounced_meeting(stack, topics)
    group = f"g-{database}"

    # Before the deadline: nothing due; this run leaves a snapshot behind.
    first = run(stack, topics, database, group, BEFORE)
    assert "snapshot written" in first.stderr, first.stderr[-2000:]
    assert active_missing(stack, database, hearing) == 0

    # After it: the restored hearing's timer fires and writes the two violations.
    run(stack, topics, database, group, AFTER)
    assert active_missing(stack, database, hearing) == 2

    # Before it again: whichever snapshot the restart finds (the later run's, whose
    # verdicts need the later clock, or an older one, if the later run had died before
    # writing its own), the later run's verdicts are taken back.
    again = run(stack, topics, database, group, BEFORE)
    assert "retracted=2" in again.stderr, again.stderr[-2000:]
    assert active_missing(stack, database, hearing) == 0


def test_a_calendar_correction_and_its_undoing_both_reach_clickhouse(
        stack, topics, database, tmp_path):
    # With the shipped calendar the deadline passed at 2025-10-08T00:00+05:00, so at noon
    # on 8 October there are 2 violations. A corrected calendar making Tuesday 7 October a
    # day off moves the deadline to the end of 8 October: none yet. Going back to the
    # shipped calendar brings the 2 back. Each run restores the one before's snapshot.
    hearing = unannounced_meeting(stack, topics)
    corrected = tmp_path / "calendar"
    corrected.mkdir()
    shipped = (ROOT / "data" / "calendar" / "2025.toml").read_text()
    (corrected / "2025.toml").write_text(shipped + (
        '\n[[transfer]]\ndate = "2025-10-07"\nworking = false\n'
        'source = "e2e: a correction"\nverified = false\n'))
    group, noon = f"g-{database}", "2025-10-08T12:00:00+05:00"

    run(stack, topics, database, group, noon)
    assert active_missing(stack, database, hearing) == 2
    run(stack, topics, database, group, noon, "--calendar-dir", str(corrected))
    assert active_missing(stack, database, hearing) == 0
    back = run(stack, topics, database, group, noon)
    assert "state restored from the snapshot" in back.stderr, back.stderr[-2000:]
    assert active_missing(stack, database, hearing) == 2


def test_a_restart_from_an_older_snapshot_takes_back_what_a_killed_later_run_wrote(
        stack, topics, database):
    # As above, but the later run is killed before it writes a snapshot of its own, so the
    # restart finds the first run's: nothing in that snapshot says a later clock fired
    # timers, and the processors' recorded clocks must tell it which hearings to compare.
    hearing = unannounced_meeting(stack, topics)
    group = f"g-{database}"
    run(stack, topics, database, group, BEFORE)

    events, dlq = topics
    later = subprocess.Popen(
        [stack.binary, "run", "--topic", events, "--dlq-topic", dlq, "--group", group,
         "--clickhouse-database", database, "--clickhouse-user", "default",
         "--clickhouse-password", "", "--metrics-addr", "127.0.0.1:0", "--now", AFTER,
         "--snapshot-every", "600"],
        env={**os.environ, "HEARWATCH_KAFKA_BROKERS": stack.brokers,
             "HEARWATCH_CLICKHOUSE_URL": stack.clickhouse_url},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # Killed once its violations and its clock (written just after them) are in.
        def clock_recorded():
            return int(stack.sql(f"SELECT toUInt32(max(clock)) FROM {database}.processor_clock")
                       .strip()) >= DEADLINE_EPOCH

        deadline = time.time() + 60
        while time.time() < deadline and not (
                active_missing(stack, database, hearing) == 2 and clock_recorded()):
            time.sleep(0.2)
        assert active_missing(stack, database, hearing) == 2 and clock_recorded()
    finally:
        later.kill()
        later.wait()

    again = run(stack, topics, database, group, BEFORE)
    assert "state restored from the snapshot" in again.stderr, again.stderr[-2000:]
    assert active_missing(stack, database, hearing) == 0
