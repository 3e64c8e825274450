"""Every Grafana panel's query, run against the real servers after the may-2025 scenario.

Grafana is not installable on these machines, so this test does what Grafana would: it
reads each panel of `deploy/grafana/dashboards/*.json`, expands the dashboard's template
variables (by running their own queries) and the ClickHouse plugin's macros, and sends
the result to the real Prometheus HTTP API or the real ClickHouse. A query that errors
fails the test, and so does an empty or zero result where the scenario must have put
data; the violation panels must also show the ministry's numbers for May 2025
(`shared/golden/2025-05.json`).

Why a Prometheus of its own: the stack's Prometheus scrapes only 127.0.0.1:19100, where
`make demo` leaves its processor running, so the test processor could not take that port
without stopping someone else's, and its numbers would mix with the demo's. The test
instead starts Debian's `prometheus` on a free loopback port, scraping only the test
processor (on another free port) every second, with the alert rules of
`deploy/prometheus/rules/` loaded, so it also sees the rules evaluate on real series.

The processor runs as it does in production: started first on empty topics, it takes the
scenario's events live, and its clock is started 20 seconds before local midnight of
30 June 2025, so that the deadlines of that midnight fire as timers while Prometheus
watches (the timer-lag panel needs them); from that midnight on, the May tables are final.
"""
import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import time
import uuid
import urllib.parse
import urllib.request

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import ROOT

DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
RULES = ROOT / "deploy" / "prometheus" / "rules"
MONTH = "2025-05-01"
# Local midnight (UTC+5) ending 30 June 2025 is when the scenario's last deadlines of
# June pass; the processor's clock starts this long before it.
MIDNIGHT = 1751310000  # 2025-07-01T00:00:00+05:00
CLOCK_LEAD = 20
# The dashboards' time range for the ClickHouse macros: the scenario's year.
TIME_FROM, TIME_TO = 1735689600, 1767225599  # 2025-01-01T00:00:00Z, 2025-12-31T23:59:59Z
# What Grafana puts for $__rate_interval; wide enough to hold the whole test run.
RATE_INTERVAL = "2m"

BAD_MESSAGES = [
    (b"H-dash-1", b"{not json"),
    (b"H-dash-2", json.dumps({
        "event_id": "55555555-5555-4555-8555-555555555555", "type": "hearing_cancelled",
        "hearing_id": "H-dash-2", "region": "KZ-99", "form": "open_meeting",
        "occurred_at": "2025-05-05T10:00:00+05:00", "source": "e2e"}).encode()),
]
DUPLICATES = 10

# What each panel must show after the run. "positive": some value > 0; "nonempty": at least
# one series or row (zeros and NaN allowed); "ok": the query only has to run. A panel
# missing here fails the test, so a new panel gets a decision.
PROMETHEUS_EXPECTATIONS = {
    "Up": "positive",
    "Event-time clock": "positive",
    "Open hearings": "positive",
    "Pending timers": "nonempty",
    "Waiting for calendar": "nonempty",
    "Version": "positive",
    "Events consumed / s by type": "positive",
    "Dead letters / s by reason": "positive",
    "Duplicates ignored / s": "positive",
    "Consumer lag by partition": "nonempty",
    "Violations emitted and retracted / s": "positive",
    "Violations in force by region": "positive",
    "Violations in force by rule": "positive",
    "Timer lag": "positive",
    "Pending timers and open hearings": "positive",
    "ClickHouse insert latency": "positive",
    "ClickHouse errors / s by kind": "nonempty",
    "Rows written to ClickHouse / s": "positive",
    # The run dead-letters two events live, so HearwatchDeadLetters fires.
    "Firing alerts": "positive",
}
CLICKHOUSE_PANELS = {
    "Violations", "Open meetings", "Public discussions", "Announcements placed",
    "Violations by region, $month", "Violations by rule and channel, $month",
    "Table 1: open meetings, $month", "Table 2: public discussions, $month",
    "Violations per month", "Violations per month by rule", "Violations per month by region",
    "Violations by month",
}


# ---------------------------------------------------------------- dashboards and variables

def load_dashboards():
    return {path.name: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}


def panels_of(dashboard):
    """Every panel with queries, rows' nested panels included."""
    for panel in dashboard["panels"]:
        yield from (p for p in [panel, *panel.get("panels", [])] if p.get("targets"))


def datasource_type(panel, target):
    return (target.get("datasource") or panel.get("datasource") or {}).get("type")


VARIABLE = re.compile(r"\$\{(\w+)(?::(\w+))?\}|\$(\w+)|\[\[(\w+)\]\]")


def expand_variables(text, values, regex_all=None):
    """Grafana's template syntax ($var, ${var}, ${var:format}, [[var]]) for the formats the
    dashboards use. `values[name]` is the list of selected values; `regex_all[name]` is the
    variable's allValue, which Grafana puts as it is when "All" is selected."""
    def replace(match):
        name = match.group(1) or match.group(3) or match.group(4)
        fmt = match.group(2)
        if name.startswith("__") or name not in values:
            return match.group(0)  # a macro, or not a variable: left for the caller
        chosen = values[name]
        if regex_all and name in regex_all:
            return regex_all[name]
        if fmt == "singlequote":
            return ",".join("'" + v.replace("'", "\\'") + "'" for v in chosen)
        if fmt in (None, "raw", "text") and len(chosen) == 1:
            return chosen[0]
        if fmt in (None, "regex"):
            return "(" + "|".join(re.escape(v) for v in chosen) + ")"
        raise AssertionError(f"variable format {fmt!r} of ${name} is not expanded by this test")
    return VARIABLE.sub(replace, text)


def expand_clickhouse_macros(sql, time_from, time_to, interval_s=60):
    """The macros of grafana-clickhouse-datasource v4 (pkg/macros/macros.go), as the plugin
    expands them server-side before the query reaches ClickHouse."""
    def date(t):
        return "toDate('" + time.strftime("%Y-%m-%d", time.gmtime(t)) + "')"

    def datetime(t):
        return f"toDateTime({t})"

    def datetime64(t):
        return f"fromUnixTimestamp64Milli({t * 1000})"

    def between(column, low, high):
        return f"{column} >= {low} AND {column} <= {high}"

    macros = {
        "fromTime": lambda: datetime(time_from),
        "toTime": lambda: datetime(time_to),
        "fromTime_ms": lambda: datetime64(time_from),
        "toTime_ms": lambda: datetime64(time_to),
        "timeFilter": lambda c: between(c, datetime(time_from), datetime(time_to)),
        "timeFilter_ms": lambda c: between(c, datetime64(time_from), datetime64(time_to)),
        "dateFilter": lambda c: between(c, date(time_from), date(time_to)),
        "dateTimeFilter": lambda d, t: f"({between(d, date(time_from), date(time_to))}) AND "
                                       f"({between(t, datetime(time_from), datetime(time_to))})",
        "timeInterval": lambda c: f"toStartOfInterval(toDateTime({c}), INTERVAL {interval_s} second)",
        "interval_s": lambda: str(interval_s),
    }
    macros["dt"] = macros["dateTimeFilter"]

    def replace(match):
        name, args = match.group(1), match.group(3)
        if name not in macros:
            raise AssertionError(f"macro $__{name} is not one the ClickHouse plugin expands")
        arguments = [a.strip() for a in args.split(",")] if args is not None else []
        return macros[name](*arguments)
    return re.sub(r"\$__(\w+)(\(([^)]*)\))?", replace, sql)


def assert_fully_expanded(text, where):
    left = re.findall(r"\$\{?\w+|\[\[\w+\]\]", text)
    assert not left, f"{where}: {left} not expanded in {text}"


def test_template_syntax_and_macros_expand_as_grafana_and_the_plugin_do():
    values = {"region": ["KZ-71", "KZ-75"], "month": ["2025-05-01"]}
    assert expand_variables("IN (${region:singlequote})", values) == "IN ('KZ-71','KZ-75')"
    assert expand_variables("toDate('$month') [[month]]", values) == "toDate('2025-05-01') 2025-05-01"
    assert expand_variables('instance=~"$instance"', {"instance": ["a"]}, {"instance": ".*"}) == \
        'instance=~".*"'
    assert expand_variables("$__rate_interval", values) == "$__rate_interval"
    sql = expand_clickhouse_macros("WHERE $__timeFilter(t) AND d >= toDate($__fromTime)", 0, 86399)
    assert sql == "WHERE t >= toDateTime(0) AND t <= toDateTime(86399) AND d >= toDate(toDateTime(0))"
    assert expand_clickhouse_macros("$__dateFilter(d)", 0, 86399) == \
        "d >= toDate('1970-01-01') AND d <= toDate('1970-01-01')"
    with pytest.raises(AssertionError):
        expand_clickhouse_macros("$__nope", 0, 1)


def test_dashboards_use_the_provisioned_datasources_and_stable_uids():
    provisioning = (ROOT / "deploy" / "grafana" / "provisioning" / "datasources" / "datasources.yml").read_text()
    uids = dict(re.findall(r"uid: (\S+)\n\s+type: (\S+)", provisioning))
    assert uids == {"prometheus": "prometheus", "clickhouse": "grafana-clickhouse-datasource"}
    dashboards = load_dashboards()
    assert set(dashboards) == {"pipeline-health.json", "violations.json"}
    seen_uids = set()
    for name, dashboard in dashboards.items():
        assert dashboard["uid"] not in seen_uids
        seen_uids.add(dashboard["uid"])
        sources = [*(v.get("datasource") for v in dashboard["templating"]["list"]),
                   *(t.get("datasource") or p.get("datasource")
                     for p in panels_of(dashboard) for t in p["targets"])]
        for source in sources:
            assert uids.get(source["uid"]) == source["type"], f"{name}: datasource {source}"
    # The stack's Prometheus names the job the dashboards select.
    for config in ("prometheus.yml", "prometheus.compose.yml"):
        assert "job_name: hearwatch\n" in (ROOT / "deploy" / "prometheus" / config).read_text()


# ---------------------------------------------------------------- the servers

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_json(url, data=None, timeout=30):
    with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=timeout) as r:
        return json.loads(r.read().decode())


class Prometheus:
    """Debian's prometheus on a free loopback port, scraping one target every second."""

    def __init__(self, workdir, target):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # YAML is a superset of JSON, so the config needs no YAML library.
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(RULES / "*.yml")],
            "scrape_configs": [{"job_name": "hearwatch", "static_configs": [{"targets": [target]}]}],
        }
        (workdir / "prometheus.yml").write_text(json.dumps(config))
        self.log = workdir / "prometheus.log"
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                ["prometheus", f"--config.file={workdir / 'prometheus.yml'}",
                 f"--storage.tsdb.path={workdir / 'prometheus-data'}",
                 f"--web.listen-address=127.0.0.1:{self.port}", "--storage.tsdb.retention.time=1h"],
                stdout=log, stderr=subprocess.STDOUT)
        wait_for(lambda: self.ready(), 30, "Prometheus to be ready", self.log)

    def ready(self):
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def api(self, path, **params):
        body = http_json(f"{self.url}/api/v1/{path}?{urllib.parse.urlencode(params)}")
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr, at=None):
        return self.api("query", query=expr, **({"time": at} if at else {}))["result"]

    def value(self, expr):
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()


class Processor:
    """`hearwatch run` in the background on the test's topics and database."""

    def __init__(self, stack, topics, database, workdir, now):
        self.metrics_addr = f"127.0.0.1:{free_port()}"
        events, dlq = topics
        env = {**os.environ, "HEARWATCH_KAFKA_BROKERS": stack.brokers,
               "HEARWATCH_CLICKHOUSE_URL": stack.clickhouse_url}
        self.log = workdir / "processor.log"
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [stack.binary, "run", "--topic", events, "--dlq-topic", dlq, "--group", f"g-{database}",
                 "--clickhouse-database", database, "--clickhouse-user", "default",
                 "--clickhouse-password", "", "--metrics-addr", self.metrics_addr, "--now", now],
                env=env, stdout=log, stderr=subprocess.STDOUT)

    def metrics(self):
        """The processor's own /metrics, as {series: value}."""
        with urllib.request.urlopen(f"http://{self.metrics_addr}/metrics", timeout=5) as r:
            text = r.read().decode()
        return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
                for line in text.splitlines() if line and not line.startswith("#")}

    def total(self, name):
        return sum(v for k, v in self.metrics().items() if k == name or k.startswith(name + "{"))

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()


def wait_for(condition, timeout, what, log=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if condition():
                return
        except OSError:
            pass
        time.sleep(0.5)
    tail = "\n".join(log.read_text().splitlines()[-30:]) if log and log.exists() else ""
    pytest.fail(f"gave up waiting for {what} after {timeout} s\n{tail}")


def clickhouse_json(stack, sql):
    """A query as the dashboards' read-only user would run it; its rows as dicts."""
    params = urllib.parse.urlencode({"user": "default", "password": "", "readonly": "1"})
    request = urllib.request.Request(f"{stack.clickhouse_url}/?{params}", data=(sql + " FORMAT JSON").encode())
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read().decode())["data"]
    except urllib.error.HTTPError as e:
        raise AssertionError(f"ClickHouse refused the query: {e.read().decode()[:500]}\n{sql}") from None


def in_database(sql, database):
    """The dashboards name database `hearwatch`; the test's data is in its own database."""
    return re.sub(r"\bhearwatch\.(?=[a-z_])", f"{database}.", sql)


# ---------------------------------------------------------------- the run

@pytest.fixture(scope="module")
def pipeline(stack, tmp_path_factory):
    """The may-2025 scenario through a live processor, watched by a Prometheus of its own;
    one run for all the checks below. Like conftest's `topics` and `database` fixtures, but
    for the module: fresh topics and database, removed afterwards."""
    tmp_path = tmp_path_factory.mktemp("dashboards")
    tag = uuid.uuid4().hex[:8]
    topics = (f"e2e.{tag}.events", f"e2e.{tag}.dlq")
    admin = AdminClient({"bootstrap.servers": stack.brokers})
    for future in admin.create_topics([NewTopic(n, num_partitions=3, replication_factor=1,
                                                config={"retention.ms": "-1"}) for n in topics]).values():
        future.result(30)
    database = f"hw_e2e_{tag}"
    stack.hearwatch("migrate", "--clickhouse-database", database, "--clickhouse-user", "default",
                    "--clickhouse-password", "")
    try:
        yield from run_pipeline(stack, topics, database, tmp_path)
    finally:
        stack.sql(f"DROP DATABASE IF EXISTS {database}")
        for future in admin.delete_topics(list(topics)).values():
            try:
                future.result(30)
            except Exception:  # a leftover topic only costs disk in the local stack
                pass


def run_pipeline(stack, topics, database, tmp_path):
    events_file = tmp_path / "may-2025.ndjson"
    stack.hearwatch("simulate", "--scenario", "may-2025", "--output", str(events_file))
    lines = events_file.read_text().splitlines()
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(MIDNIGHT - CLOCK_LEAD))
    started = time.time()
    processor = Processor(stack, topics, database, tmp_path, now)
    prometheus = None
    try:
        prometheus = Prometheus(tmp_path, processor.metrics_addr)
        # Partitions assigned (and, empty, caught up at once) and their zeros scraped, so
        # that every event below is live and every rate starts from a scraped zero.
        wait_for(lambda: sum(k.startswith("hearwatch_consumer_lag_messages{") for k in processor.metrics()) == 3,
                 60, "the processor to take its 3 partitions", processor.log)
        wait_for(lambda: prometheus.value('sum(up{job="hearwatch"})') == 1
                 and prometheus.query("hearwatch_consumer_lag_messages"), 30,
                 "Prometheus to scrape the processor", prometheus.log)

        events_topic = topics[0]
        stack.hearwatch("produce", "--events", str(events_file), "--topic", events_topic)
        repeated = tmp_path / "repeated.ndjson"
        repeated.write_text("\n".join(lines[:DUPLICATES]) + "\n")
        stack.hearwatch("produce", "--events", str(repeated), "--topic", events_topic)
        stack.produce(events_topic, BAD_MESSAGES)
        sent = len(lines) + DUPLICATES + len(BAD_MESSAGES)

        taken = lambda: (processor.total("hearwatch_events_consumed_total")
                         + processor.total("hearwatch_duplicates_ignored_total")
                         + processor.total("hearwatch_events_dead_lettered_total"))
        wait_for(lambda: taken() == sent, 120, f"the processor to take all {sent} messages", processor.log)
        elapsed = processor.total("hearwatch_clock_seconds") - (MIDNIGHT - CLOCK_LEAD)
        assert elapsed < CLOCK_LEAD, (
            f"the events were taken in {elapsed:.0f} s after the processor started: after the "
            f"midnight ({CLOCK_LEAD} s) whose deadlines this test needs to see fire as timers")
        # Midnight passes on the processor's clock: that day's deadlines fire as timers.
        wait_for(lambda: processor.total("hearwatch_timer_lag_seconds_count") > 0, CLOCK_LEAD + 30,
                 "the deadlines of midnight to fire (has the scenario still some then?)", processor.log)
        # Everything written: the findings in ClickHouse stop changing.
        counts = []
        wait_for(lambda: counts.append(stack.sql(f"SELECT count() FROM {database}.findings_log"))
                 or (len(counts) > 2 and counts[-1] == counts[-2] == counts[-3]), 60,
                 "ClickHouse to hold every finding", processor.log)
        # Prometheus has scraped the final numbers and evaluated the rules on them.
        wait_for(lambda: prometheus.value("sum(hearwatch_events_consumed_total) + "
                                          "sum(hearwatch_duplicates_ignored_total) + "
                                          "sum(hearwatch_events_dead_lettered_total)") == sent
                 and prometheus.value("sum(hearwatch_timer_lag_seconds_count)"), 30,
                 "Prometheus to scrape the final counters", prometheus.log)
        time.sleep(3)
        yield {"prometheus": prometheus, "processor": processor, "database": database,
               "started": started}
    finally:
        processor.stop()
        if prometheus:
            prometheus.stop()


def prometheus_values(result):
    values = []
    for series in result:
        samples = series.get("values") or [series["value"]]
        values += [float(v) for _, v in samples]
    return values


def test_every_pipeline_health_panel_query_returns_data_from_prometheus(pipeline):
    prometheus = pipeline["prometheus"]
    dashboard = load_dashboards()["pipeline-health.json"]

    # The dashboard's variable, from its own query: label_values(<selector>, <label>).
    variables, all_values = {}, {}
    for variable in dashboard["templating"]["list"]:
        query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
        selector, label = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", query).groups()
        found = prometheus.api(f"label/{label}/values", **{"match[]": selector})
        assert found, f"variable ${variable['name']} ({query}) has no values"
        variables[variable["name"]] = found
        if variable.get("includeAll") and variable.get("allValue"):
            all_values[variable["name"]] = variable["allValue"]
    assert variables["instance"] == [pipeline["processor"].metrics_addr]

    titles = set()
    now = time.time()
    for panel in panels_of(dashboard):
        title = panel["title"]
        titles.add(title)
        assert title in PROMETHEUS_EXPECTATIONS, f"panel {title!r} has no expectation in this test"
        expected = PROMETHEUS_EXPECTATIONS[title]
        values = []
        for target in panel["targets"]:
            assert datasource_type(panel, target) == "prometheus"
            expr = expand_variables(target["expr"], variables, all_values)
            expr = expr.replace("$__rate_interval", RATE_INTERVAL)
            assert_fully_expanded(expr, title)
            instant = prometheus.query(expr, at=now)
            values += prometheus_values(instant)
            if panel["type"] == "timeseries":
                ranged = prometheus.api("query_range", query=expr, start=pipeline["started"], end=now, step="1")
                if expected != "ok":
                    assert ranged["result"], f"{title}: {expr} has no data over the run"
        if expected in ("nonempty", "positive"):
            assert values, f"panel {title!r}: no data"
        if expected == "positive":
            assert any(v > 0 for v in values), f"panel {title!r}: no value above zero in {values}"
    assert titles == set(PROMETHEUS_EXPECTATIONS)

    # The rules evaluate without error on the real series; the live dead letters of the
    # run made HearwatchDeadLetters fire for their two reasons, and nothing else fires
    # (or is pending) in this healthy run.
    groups = prometheus.api("rules")["groups"]
    assert {r["name"]: r["health"] for g in groups for r in g["rules"] if r["health"] != "ok"} == {}
    alerts = prometheus.query("ALERTS")
    assert {(a["metric"]["alertname"], a["metric"].get("reason"), a["metric"]["alertstate"])
            for a in alerts} == {("HearwatchDeadLetters", "invalid_json", "firing"),
                                 ("HearwatchDeadLetters", "unknown_region", "firing")}


def clickhouse_panels(stack, database):
    """Each ClickHouse panel of the violations dashboard: title and rows of its query."""
    dashboard = load_dashboards()["violations.json"]
    variables = {}
    for variable in dashboard["templating"]["list"]:
        rows = clickhouse_json(stack, in_database(variable["query"], database))
        assert rows, f"variable ${variable['name']} has no values"
        # The plugin's convention: one column is value and text; with two, the first is the value.
        variables[variable["name"]] = [str(next(iter(r.values()))) for r in rows]
    assert MONTH in variables["month"], variables["month"]
    assert len(variables["region"]) == 20
    variables["month"] = [MONTH]

    panels = {}
    for panel in panels_of(dashboard):
        (target,) = panel["targets"]
        assert datasource_type(panel, target) == "grafana-clickhouse-datasource"
        sql = expand_variables(target["rawSql"], variables)
        sql = expand_clickhouse_macros(sql, TIME_FROM, TIME_TO)
        assert_fully_expanded(sql, panel["title"])
        panels[panel["title"]] = clickhouse_json(stack, in_database(sql, database))
    return panels


def test_every_violations_panel_query_runs_on_clickhouse_and_shows_the_golden_may(pipeline, stack, golden):
    panels = clickhouse_panels(stack, pipeline["database"])
    assert set(panels) == CLICKHOUSE_PANELS
    for title, rows in panels.items():
        assert rows, f"panel {title!r}: no rows for {MONTH}"

    om_total = golden["column_sums"]["open_meetings"]["total"]
    pd_total = golden["column_sums"]["public_discussions"]["total"]
    number = lambda title: float(next(iter(panels[title][0].values())))
    assert number("Violations") == om_total + pd_total
    assert number("Open meetings") == om_total
    assert number("Public discussions") == pd_total
    assert number("Announcements placed") == (golden["column_sums"]["open_meetings"]["announcements"]
                                              + golden["column_sums"]["public_discussions"]["announcements"])

    # By region: every region in the report's order, with the golden totals of both tables.
    by_region = panels["Violations by region, $month"]
    assert [r["region_name"] for r in by_region] == [g["name_in_report"] for g in golden["open_meetings"]]
    for row, om, pd in zip(by_region, golden["open_meetings"], golden["public_discussions"]):
        assert (int(row["open_meetings"]), int(row["public_discussions"])) == (om["total"], pd["total"]), row

    # The two tables, cell by cell.
    for title, table in (("Table 1: open meetings, $month", "open_meetings"),
                         ("Table 2: public discussions, $month", "public_discussions")):
        rows = {r["region"]: r for r in panels[title]}
        for want in golden[table]:
            have = rows[want["region"]]
            for column, value in want.items():
                if column not in ("row", "region", "name_in_report"):
                    assert int(have[column]) == value, f"{title} {want['region']} {column}"

    # By rule, and over months: the same violations, counted other ways.
    assert sum(int(r["total"]) for r in panels["Violations by rule and channel, $month"]) == om_total + pd_total
    may = [r for r in panels["Violations per month"] if r["time"].startswith("2025-05-01")]
    assert [(int(r["open_meetings"]), int(r["public_discussions"])) for r in may] == [(om_total, pd_total)]
    for title in ("Violations per month by rule", "Violations per month by region"):
        assert sum(int(r["violations"]) for r in panels[title]
                   if r["time"].startswith("2025-05-01")) == om_total + pd_total, title
    by_month = {r["report_month"]: int(r["violations"]) for r in panels["Violations by month"]}
    assert by_month[MONTH] == om_total + pd_total


def test_violations_panel_queries_give_the_same_rows_on_current_clickhouse(pipeline, stack, tmp_path):
    """Production runs current ClickHouse, the local stack 18.16: the panels must mean the
    same on both. chdb embeds a current ClickHouse; the schema comes from `hearwatch migrate
    --print` and the data from the 18.16 server."""
    import chdb.session as chdb_session  # tests/requirements.txt; large, so imported here only
    database = pipeline["database"]
    old = clickhouse_panels(stack, database)

    session = chdb_session.Session(str(tmp_path / "chdb"))
    schema = stack.hearwatch("migrate", "--print", "--clickhouse-database", database).stdout
    for statement in filter(str.strip, schema.split(";\n")):
        session.query(statement)
    rows = stack.sql(f"SELECT * FROM {database}.findings_log FORMAT TSV")
    (tmp_path / "findings.tsv").write_text(rows)
    columns = [line.split("\t")[:2] for line in
               stack.sql(f"DESCRIBE TABLE {database}.findings_log").splitlines()]
    structure = ", ".join(f"{name} {kind}" for name, kind in columns)
    session.query(f"INSERT INTO {database}.findings_log SELECT * FROM "
                  f"file('{tmp_path / 'findings.tsv'}', 'TSV', '{structure}')")
    assert int(session.query(f"SELECT count() FROM {database}.findings_log", "CSV").data().strip()) == \
        len(rows.splitlines())

    dashboard = load_dashboards()["violations.json"]
    variables = {"month": [MONTH], "region": [r["region"] for r in clickhouse_json(
        stack, f"SELECT region FROM {database}.regions ORDER BY row")]}
    for panel in panels_of(dashboard):
        sql = expand_clickhouse_macros(expand_variables(panel["targets"][0]["rawSql"], variables),
                                       TIME_FROM, TIME_TO)
        new = json.loads(session.query(in_database(sql, database), "JSON").data())["data"]
        normal = lambda rows: [{k: str(v) for k, v in r.items()} for r in rows]
        assert normal(new) == normal(old[panel["title"]]), panel["title"]
    session.close()
