"""The analysts' documentation runs: every ```sql example of docs/analysts.md, after the
may-2025 scenario went through the pipeline, on the local ClickHouse 18.16 and on current
ClickHouse embedded through chdb (schema from `hearwatch migrate --print`, rows copied
from 18.16). Results are checked against shared/golden/2025-05.json and between the two
servers, and `hearwatch violations` is checked against the same cells.
"""
import collections
import json
import re
import time

import pytest

from conftest import ROOT

DOC = ROOT / "docs" / "analysts.md"
UTC_INSTANT = re.compile(r"toDateTime\('[^']*', 'UTC'\)")

# Each violation column of the report: the rule and, for the split columns, the channel.
VIOLATION_COLUMNS = {
    "section_mismatch": ("section_mismatch", None),
    "announcement_missing": ("announcement_missing", None),
    "announcement_backdated": ("announcement_backdated", None),
    "announcement_late": ("announcement_late", None),
    "announcement_short_notice": ("announcement_short_notice", None),
    "announcement_undated": ("announcement_undated", None),
    "protocol_backdated": ("protocol_backdated", None),
    "protocol_undated": ("protocol_undated", None),
    "protocol_no_recording": ("protocol_no_recording", None),
    "protocol_missing_mio_website": ("protocol_missing", "mio_website"),
    "protocol_missing_information_system": ("protocol_missing", "information_system"),
    "protocol_late": ("protocol_late", None),
}
FORMS = {"open_meetings": "open_meeting", "public_discussions": "public_discussion"}


def examples():
    """{name: sql} of the documentation's ```sql blocks, each named by `-- example: name`."""
    found = {}
    for block in re.findall(r"```sql\n(.*?)```", DOC.read_text(), re.S):
        m = re.match(r"-- example: (\w+)\n", block)
        assert m, f"an example in {DOC} has no '-- example: name' line:\n{block}"
        found[m.group(1)] = block
    return found


def for_database(sql, database, instant=None):
    sql = sql.replace("hearwatch.", f"{database}.")
    if instant is not None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(instant))
        sql = UTC_INSTANT.sub(f"toDateTime('{stamp}', 'UTC')", sql)
    return sql


def parse_tsv(text):
    """Rows of TabSeparatedWithNames as dicts; a zero date reads the same on every version."""
    lines = text.splitlines()
    if not lines:
        return []
    names = lines[0].split("\t")
    rows = []
    for line in lines[1:]:
        values = [v.replace("0000-00-00", "1970-01-01") for v in line.split("\t")]
        rows.append(dict(zip(names, values)))
    return rows


def on_18(pipeline, sql, instant=None):
    out = pipeline.stack.sql(for_database(sql, pipeline.database, instant) + "\nFORMAT TabSeparatedWithNames")
    return parse_tsv(out)


def golden_table_check(table):
    def check(rows, golden, _pipeline):
        assert len(rows) == 20, f"{len(rows)} rows, want one per region"
        names = {r["row"]: r["name_in_report"] for r in golden["open_meetings"]}
        for have, want in zip(rows, golden[table]):
            assert int(have["row"]) == want["row"] and have["region"] == want["region"]
            assert have["name"] == names[want["row"]]
            for column, value in want.items():
                if column not in ("row", "region", "name_in_report"):
                    assert int(have[column]) == value, f"{want['region']} {column}: {have[column]} != {value}"
    return check


def check_rule_trend(rows, golden, _pipeline):
    may = [r for r in rows if r["month"] == "2025-05-01"]
    sums = golden["column_sums"]["open_meetings"]
    assert len(may) == 1 and int(may[0]["announcement_late"]) == sums["announcement_late"]
    assert int(may[0]["total"]) == sums["total"]
    assert [r["month"] for r in rows] == sorted(r["month"] for r in rows)


def check_rule_trend_by_form(rows, golden, _pipeline):
    may = {r["form"]: int(r["violations"]) for r in rows if r["month"] == "2025-05-01"}
    assert may == {FORMS[t]: golden["column_sums"][t]["protocol_late"] for t in FORMS}


def cell_counts(golden, region):
    """{(form, rule, channel or None): count} of a region's golden violation cells."""
    cells = {}
    for table, form in FORMS.items():
        row = next(r for r in golden[table] if r["region"] == region)
        for column, (rule, channel) in VIOLATION_COLUMNS.items():
            if row.get(column):
                cells[(form, rule, channel)] = row[column]
    return cells


def check_region_evidence(rows, golden, _pipeline):
    want = cell_counts(golden, "KZ-19")
    assert len(rows) == sum(want.values())
    for (form, rule, channel), n in want.items():
        matching = [r for r in rows if r["form"] == form and r["rule"] == rule
                    and channel in (None, r["channel"])]
        assert len(matching) == n, f"{form} {rule} {channel}: {len(matching)} rows, want {n}"
    for r in rows:
        if rule_is_deadline := r["rule"].endswith(("_missing", "_late")):
            assert r["deadline_on"] != "1970-01-01" and r["deadline_at"] != "1970-01-01 00:00:00", r
        if r["rule"].endswith("_late"):
            assert r["published_on"] > r["deadline_on"] and r["url"].startswith("https://"), r
        assert rule_is_deadline or r["published_on"] != "1970-01-01", r


def check_known_at(rows, golden, _pipeline):
    want = {r["region"]: r for r in golden["open_meetings"]}
    assert {r["region"] for r in rows} == set(want)
    for r in rows:
        g = want[r["region"]]
        assert (int(r["announcements"]), int(r["protocols"]), int(r["total"])) == \
            (g["announcements"], g["protocols"], g["total"]), r["region"]


CHECKS = {
    "table_1": golden_table_check("open_meetings"),
    "table_2": golden_table_check("public_discussions"),
    "rule_trend": check_rule_trend,
    "rule_trend_by_form": check_rule_trend_by_form,
    "region_evidence": check_region_evidence,
    "known_at": check_known_at,
}


def test_every_example_of_the_documentation_has_a_check():
    assert set(examples()) == set(CHECKS)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_example_runs_on_clickhouse_18_and_gives_the_golden_numbers(name, may_2025_pipeline, golden):
    sql = examples()[name]
    rows = on_18(may_2025_pipeline, sql, instant=may_2025_pipeline.after)
    assert rows, f"example {name} returned nothing"
    CHECKS[name](rows, golden, may_2025_pipeline)


def test_the_known_at_example_before_the_pipeline_wrote_is_empty(may_2025_pipeline):
    rows = on_18(may_2025_pipeline, examples()["known_at"], instant=may_2025_pipeline.before)
    assert rows == []


@pytest.mark.parametrize("region,rule,form", [
    ("KZ-19", "announcement_missing", None),
    ("KZ-19", "protocol_missing_mio_website", "public_discussion"),
    ("KZ-75", "protocol_late", "public_discussion"),
    ("KZ-55", "protocol_undated", None),
])
def test_hearwatch_violations_lists_the_cells_hearings(may_2025_pipeline, golden, region, rule, form):
    p = may_2025_pipeline
    args = ["violations", "--month", "2025-05", "--region", region, "--rule", rule, "--format", "json",
            *p.clickhouse_flags()]
    if form:
        args += ["--form", form]
    listed = json.loads(p.stack.hearwatch(*args).stdout)
    tables = [t for t, f in FORMS.items() if form in (None, f)]
    want = sum(next(r for r in golden[t] if r["region"] == region).get(rule, 0) for t in tables)
    assert len(listed) == want
    assert {v["region"] for v in listed} <= {region} and len({v["hearing_id"] + v["channel"] for v in listed}) == want
    for v in listed:
        assert v["month"] == "2025-05" and v["region_name"]
        if v["rule"].endswith("_missing") or v["rule"].endswith("_late"):
            assert v["deadline_at"].endswith("+05:00") and v["deadline_on"]


def test_hearwatch_violations_without_filters_lists_every_violation_of_the_month(may_2025_pipeline, golden):
    p = may_2025_pipeline
    out = p.stack.hearwatch("violations", "--month", "2025-05", "--format", "csv", *p.clickhouse_flags()).stdout
    lines = out.splitlines()
    header, rows = lines[0].split(","), [l.split(",") for l in lines[1:]]
    total = sum(golden["column_sums"][t]["total"] for t in FORMS)
    assert len(rows) == total
    counts = collections.Counter((r[header.index("region")], r[header.index("form")]) for r in rows)
    for table, form in FORMS.items():
        for g in golden[table]:
            assert counts[(g["region"], form)] == g["total"], (g["region"], form)
    # Report order: regions by row, as the golden rows are.
    order = [g["region"] for g in golden["open_meetings"]]
    regions = [r[header.index("region")] for r in rows]
    assert regions == sorted(regions, key=order.index)


# ---------------------------------------------------------------- current ClickHouse (chdb)

DATE_TYPES = {"Date": "toUInt16", "DateTime": "toUInt32"}


@pytest.fixture(scope="module")
def current_clickhouse(may_2025_pipeline):
    """An embedded current ClickHouse with hearwatch's schema and the pipeline's rows.

    Yields (session, failures): the statements of `migrate --print` it refused."""
    chdb_session = pytest.importorskip("chdb.session", reason="chdb is in tests/requirements.txt")
    p = may_2025_pipeline
    schema = p.stack.hearwatch("migrate", "--print", "--clickhouse-database", p.database).stdout
    session = chdb_session.Session()
    failures = []
    for statement in [s.strip() for s in schema.split(";\n") if s.strip()]:
        try:
            session.query(statement)
        except Exception as e:  # chdb raises its own error type with the server's message
            failures.append(f"{statement.splitlines()[0][:120]}\n    {str(e).splitlines()[0][:300]}")
    # Copy the rows: dates and instants as numbers, so no zone or zero-date text differs.
    for table in ("findings_log", "processor_clock"):
        columns = [line.split("\t")[:2] for line in
                   p.stack.sql(f"DESCRIBE TABLE {p.database}.{table}").splitlines()]
        select = ", ".join(f"{DATE_TYPES[t]}({c}) AS {c}" if t in DATE_TYPES else c for c, t in columns)
        rows = p.stack.sql(f"SELECT {select} FROM {p.database}.{table} FORMAT JSONEachRow")
        if rows.strip():
            session.query(f"INSERT INTO {p.database}.{table} FORMAT JSONEachRow\n{rows}")
    yield session, failures
    session.cleanup()


def on_current(session, pipeline, sql, instant=None):
    out = session.query(for_database(sql, pipeline.database, instant), "TabSeparatedWithNames")
    return parse_tsv(out.bytes().decode("utf-8"))


def test_the_schema_runs_on_current_clickhouse(current_clickhouse, may_2025_pipeline):
    session, failures = current_clickhouse
    assert not failures, "current ClickHouse refused:\n" + "\n".join(failures)
    version = session.query("SELECT version()", "TabSeparated").bytes().decode().strip()
    assert int(version.split(".")[0]) >= 24, f"chdb embeds ClickHouse {version}, not a current one"
    n = session.query(f"SELECT count() FROM {may_2025_pipeline.database}.findings_log", "TabSeparated")
    assert int(n.bytes()) == int(may_2025_pipeline.stack.sql(
        f"SELECT count() FROM {may_2025_pipeline.database}.findings_log"))


@pytest.mark.parametrize("view", ["findings_current", "violations", "placements", "open_meetings_monthly",
                                  "public_discussions_monthly", "regions"])
def test_the_views_say_the_same_on_both_versions(current_clickhouse, may_2025_pipeline, view):
    session, _ = current_clickhouse
    p = may_2025_pipeline
    columns = [line.split("\t")[0] for line in p.stack.sql(f"DESCRIBE TABLE {p.database}.{view}").splitlines()]
    sql = f"SELECT * FROM hearwatch.{view} ORDER BY {', '.join(columns)}"
    old, new = on_18(p, sql), on_current(session, p, sql)
    assert old, f"{view} is empty"
    assert new == old


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_example_runs_on_current_clickhouse_with_the_same_result(name, current_clickhouse, may_2025_pipeline, golden):
    session, _ = current_clickhouse
    sql = examples()[name]
    new = on_current(session, may_2025_pipeline, sql, instant=may_2025_pipeline.after)
    assert new, f"example {name} returned nothing on current ClickHouse"
    CHECKS[name](new, golden, may_2025_pipeline)
    assert new == on_18(may_2025_pipeline, sql, instant=may_2025_pipeline.after)
