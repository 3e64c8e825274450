"""The analyst user reads the database `hearwatch` and does nothing else.

The local stack gives it (`.stack/env`: HEARWATCH_ANALYST_USER and _PASSWORD) a read-only
profile and the one database; these tests try what an analyst could try by mistake or on
purpose, over ClickHouse's HTTP interface as any client would. The probe tables they need
are created and dropped by the default user, so nothing the pipeline writes is touched
even if a refusal were missing.
"""
import urllib.error
import uuid

import pytest

DATABASE = "hearwatch"
VIEWS = ["findings_current", "violations", "placements", "open_meetings_monthly",
         "public_discussions_monthly", "regions", "findings_log", "processor_clock"]


@pytest.fixture(scope="module")
def analyst(stack):
    env = stack.env
    if "HEARWATCH_ANALYST_USER" not in env:
        pytest.fail(".stack/env has no HEARWATCH_ANALYST_USER: restart the stack with deploy/stack.sh up")
    # The database exists once `hearwatch migrate` ran on it; migrating again changes nothing.
    stack.hearwatch("migrate", "--clickhouse-database", DATABASE, "--clickhouse-user", "default",
                    "--clickhouse-password", "")
    return env["HEARWATCH_ANALYST_USER"], env["HEARWATCH_ANALYST_PASSWORD"]


def as_analyst(stack, analyst, query):
    """(True, body) when ClickHouse ran the query as the analyst, (False, error) when not."""
    user, password = analyst
    try:
        return True, stack.sql(query, user=user, password=password)
    except urllib.error.HTTPError as e:
        return False, e.read().decode(errors="replace")


@pytest.fixture
def probe(stack):
    """A scratch table in `hearwatch`, made and removed by the default user."""
    name = f"{DATABASE}.hw_report_probe_{uuid.uuid4().hex[:8]}"
    stack.sql(f"CREATE TABLE {name} (x UInt8) ENGINE = Memory")
    yield name
    stack.sql(f"DROP TABLE IF EXISTS {name}")


@pytest.mark.parametrize("view", VIEWS)
def test_the_analyst_reads_every_view_and_table(stack, analyst, view):
    ok, body = as_analyst(stack, analyst, f"SELECT count() FROM {DATABASE}.{view}")
    assert ok, body
    assert body.strip().isdigit()


def test_the_analyst_runs_the_report_and_the_drill_down(stack, analyst):
    user, password = analyst
    env = {"HEARWATCH_CLICKHOUSE_USER": user, "HEARWATCH_CLICKHOUSE_PASSWORD": password,
           "HEARWATCH_CLICKHOUSE_DATABASE": DATABASE}
    stack.hearwatch("report", "--month", "2025-05", "--format", "json", env=env)
    stack.hearwatch("violations", "--month", "2025-05", "--format", "csv", env=env)


def test_the_analyst_cannot_insert(stack, analyst, probe):
    ok, body = as_analyst(stack, analyst, f"INSERT INTO {probe} VALUES (1)")
    assert not ok and "readonly" in body.lower(), body
    assert stack.sql(f"SELECT count() FROM {probe}").strip() == "0"


def test_the_analyst_cannot_create_drop_or_alter(stack, analyst, probe):
    created = f"{DATABASE}.hw_report_created_{uuid.uuid4().hex[:8]}"
    other_db = f"hw_report_created_{uuid.uuid4().hex[:8]}"
    try:
        for query in [f"CREATE TABLE {created} (x UInt8) ENGINE = Memory",
                      f"CREATE VIEW {created} AS SELECT 1",
                      f"CREATE DATABASE {other_db}",
                      f"DROP TABLE {probe}",
                      f"ALTER TABLE {probe} ADD COLUMN y UInt8",
                      f"TRUNCATE TABLE {probe}"]:
            ok, body = as_analyst(stack, analyst, query)
            assert not ok, f"the analyst ran: {query}"
        assert stack.sql(f"EXISTS TABLE {created}").strip() == "0"
        assert stack.sql(f"EXISTS TABLE {probe}").strip() == "1"
        assert other_db not in stack.sql("SHOW DATABASES").split()
    finally:
        stack.sql(f"DROP TABLE IF EXISTS {created}")
        stack.sql(f"DROP DATABASE IF EXISTS {other_db}")


def test_the_analyst_cannot_lift_read_only(stack, analyst, probe):
    for query in [f"INSERT INTO {probe} SETTINGS readonly = 0 VALUES (1)",
                  "SET readonly = 0"]:
        ok, body = as_analyst(stack, analyst, query)
        assert not ok, f"the analyst ran: {query}"
    assert stack.sql(f"SELECT count() FROM {probe}").strip() == "0"


def test_the_analyst_reads_no_other_database(stack, analyst):
    other = f"hw_report_other_{uuid.uuid4().hex[:8]}"
    stack.sql(f"CREATE DATABASE {other}")
    try:
        stack.sql(f"CREATE TABLE {other}.t (x UInt8) ENGINE = Memory")
        ok, body = as_analyst(stack, analyst, f"SELECT count() FROM {other}.t")
        assert not ok and other in body, body
    finally:
        stack.sql(f"DROP DATABASE IF EXISTS {other}")
