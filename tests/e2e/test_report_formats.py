"""Every report format, out of both `hearwatch replay` and `hearwatch report`, for the
may-2025 scenario that went through Kafka, the processor and ClickHouse.

Each format is read back as its reader would (JSON and CSV as data, the HTML page with an
HTML parser, the workbook with openpyxl, the terminal table and Markdown by their rows)
and compared with `shared/golden/2025-05.json`, never with hearwatch's own output. The
header layouts expected below are the seed report's, typed in by hand.
"""
import html.parser
import json
import re

import openpyxl
import pytest

from conftest import golden_mismatches

FORMATS = ["table", "json", "csv", "markdown", "html", "xlsx"]

# The design's columns, in the report's order.
COLUMNS = {
    "open_meetings": [
        "announcements", "protocols", "section_mismatch", "announcement_missing",
        "announcement_backdated", "announcement_late", "announcement_short_notice",
        "announcement_undated", "protocol_backdated", "protocol_undated", "protocol_no_recording",
        "protocol_missing_mio_website", "protocol_missing_information_system", "protocol_late",
        "total"],
    "public_discussions": [
        "announcements", "protocols_information_system", "protocol_backdated", "protocol_undated",
        "protocol_missing_information_system", "protocol_missing_mio_website", "protocol_late",
        "total"],
}
TABLES = ["open_meetings", "public_discussions"]


@pytest.fixture(scope="module")
def outputs(may_2025_pipeline, tmp_path_factory):
    """{(command, format): bytes} for every format of both commands."""
    p = may_2025_pipeline
    out = tmp_path_factory.mktemp("formats")
    files = {}
    for fmt in FORMATS:
        for command in ("replay", "report"):
            path = out / f"{command}.{fmt}"
            if command == "replay":
                args = ["replay", "--events", str(p.events_file), "--as-of", p.NOW]
            else:
                args = ["report", *p.clickhouse_flags()]
            p.stack.hearwatch(*args, "--month", "2025-05", "--format", fmt, "--output", str(path))
            files[(command, fmt)] = path.read_bytes()
    return files


def by_row(golden):
    """Golden rows of each table keyed by their report row."""
    return {t: {r["row"]: r for r in golden[t]} for t in TABLES}


def report_from_rows(tables, golden):
    """The JSON report's shape from {table: ([(row, name, values)], totals)}, with region
    codes taken from the golden rows by row number; checks each row's name on the way."""
    rows = by_row(golden)
    names = {r["row"]: r["name_in_report"] for r in golden["open_meetings"]}
    report = {}
    for table, (lines, totals) in tables.items():
        assert [row for row, _, _ in lines] == list(range(1, 21)), f"{table}: rows out of order"
        report[table] = []
        for row, name, values in lines:
            assert name == names[row], f"{table} row {row}: name {name!r}, want {names[row]!r}"
            report[table].append({"region": rows[table][row]["region"], **dict(zip(COLUMNS[table], values))})
        report[f"{table}_total"] = dict(zip(COLUMNS[table], totals))
    return report


def test_every_format_comes_out_of_both_commands_with_the_same_bytes(outputs):
    for fmt in FORMATS:
        replayed, reported = outputs[("replay", fmt)], outputs[("report", fmt)]
        assert replayed, f"replay --format {fmt} wrote nothing"
        assert replayed == reported, f"--format {fmt}: replay and report differ"


def test_json_matches_the_golden_tables(outputs, golden):
    report = json.loads(outputs[("report", "json")])
    assert report["month"] == "2025-05"
    bad = golden_mismatches(report, golden)
    assert not bad, "\n".join(bad)


def test_csv_matches_the_golden_tables(outputs, golden):
    tables = {t: ([], None) for t in TABLES}
    for line in outputs[("report", "csv")].decode().splitlines():
        fields = line.split(",")
        if fields[0] == "table":
            assert fields[:5] == ["table", "month", "row", "region", "name"]
            assert fields[5:] in (COLUMNS["open_meetings"], COLUMNS["public_discussions"])
            continue
        table, month, row, region, name, *values = fields
        assert month == "2025-05"
        values = [int(v) for v in values]
        if row == "":
            assert name == "Итого"
            tables[table] = (tables[table][0], values)
        else:
            tables[table][0].append((int(row), name, values))
    bad = golden_mismatches(report_from_rows(tables, golden), golden)
    assert not bad, "\n".join(bad)


def test_the_terminal_table_and_markdown_match_the_golden_tables(outputs, golden):
    text = json.loads(outputs[("report", "json")])["text"]
    for fmt, row_re, total_re in [
        ("table", r"^\s*(\d+)  (.+?)\s+((?:\d+ +)*\d+)$", r"^\s+Итого\s+((?:\d+ +)*\d+)$"),
        ("markdown", r"^\| (\d+) \| (.+?) \| ((?:\d+ \| )*\d+) \|$", r"^\| \| \*\*Итого\*\* \| ((?:\d+ \| )*\d+) \|$"),
    ]:
        out = outputs[("report", fmt)].decode()
        tables, current = {}, iter(TABLES)
        table = None
        for line in out.splitlines():
            if m := re.match(row_re, line):
                if int(m.group(1)) == 1:
                    table = next(current)
                    tables[table] = ([], None)
                values = [int(v) for v in re.split(r"[ |]+", m.group(3).strip())]
                tables[table][0].append((int(m.group(1)), m.group(2).strip(), values))
            elif m := re.match(total_re, line):
                tables[table] = (tables[table][0], [int(v) for v in re.split(r"[ |]+", m.group(1).strip())])
        bad = golden_mismatches(report_from_rows(tables, golden), golden)
        assert not bad, f"--format {fmt}:\n" + "\n".join(bad)
        for sentence in text.splitlines():
            assert sentence in out, f"--format {fmt} lacks the text's {sentence!r}"


class PageReader(html.parser.HTMLParser):
    """The tables of the HTML page: header cells, region rows and totals, by table id."""

    def __init__(self):
        super().__init__()
        self.tables, self.paragraphs, self.external = {}, [], []
        self.table = self.section = self.cell = None
        self.text = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if any(k in attrs for k in ("src", "href")) or tag in ("link", "script", "img"):
            self.external.append((tag, attrs))
        if tag == "table":
            self.table = self.tables.setdefault(attrs["id"], {"head": [], "rows": [], "totals": []})
        elif tag in ("thead", "tbody", "tfoot"):
            self.section = tag
        elif tag == "tr" and self.table is not None:
            self.row = {"region": attrs.get("data-region"), "cells": []}
        elif tag in ("th", "td", "p"):
            self.cell = (tag, attrs)
            self.text = ""

    def handle_data(self, data):
        if self.cell:
            self.text += data

    def handle_endtag(self, tag):
        if tag in ("th", "td") and self.cell:
            _, attrs = self.cell
            self.row["cells"].append((self.text, int(attrs.get("rowspan", 1)), int(attrs.get("colspan", 1)),
                                      attrs.get("data-column")))
            self.cell = None
        elif tag == "p" and self.cell:
            if self.cell[1].get("class") == "text":
                self.paragraphs.append(self.text)
            self.cell = None
        elif tag == "tr" and self.table is not None:
            {"thead": self.table["head"], "tbody": self.table["rows"], "tfoot": self.table["totals"]}[
                self.section].append(self.row)
        elif tag == "table":
            self.table = None


# The seed report's grouped headers: (text, rowspan, colspan) per header row, as in
# seed/monitoring-report-2025-05.ru.txt (wording of the design's column declarations).
HTML_HEADERS = {
    "open_meetings": [
        [("№ п/п", 3, 1), ("МИО", 3, 1), ("Размещение", 1, 2), ("Нарушения", 1, 12), ("Итого", 3, 1)],
        [("Объявления", 2, 1), ("Протоколы", 2, 1), ("Несоответствие рубрике «Общественные слушания»", 2, 1),
         ("Объявления", 1, 5), ("Протоколы", 1, 6)],
        [("Отсутствует объявление", 1, 1), ("Размещен задним числом", 1, 1),
         ("Размещен со дня получения более 1 раб. дня", 1, 1),
         ("Нарушение сроков (менее 30 календарных дней)", 1, 1), ("Не указана дата размещения", 1, 1),
         ("Размещен задним числом", 1, 1), ("Не указана дата размещения", 1, 1),
         ("Отсутствует видео- и аудиозапись слушаний", 1, 1), ("Отсутствует на сайте МИО", 1, 1),
         ("Отсутствует на информационной системе", 1, 1), ("Нарушение сроков (более 4 рабочих дней)", 1, 1)],
    ],
    "public_discussions": [
        [("№ п/п", 4, 1), ("МИО", 4, 1), ("Размещение", 1, 2), ("Нарушения", 1, 5), ("Итого", 4, 1)],
        [("Объявлений", 3, 1), ("Протокол в Информационной системе", 3, 1),
         ("Протоколы публичных обсуждений", 1, 5)],
        [("Размещен задним числом", 2, 1), ("Не указана дата размещения", 2, 1), ("Отсутствует", 1, 2),
         ("Нарушение сроков (более 4 рабочих дней)", 2, 1)],
        [("Информационная система", 1, 1), ("ИР МИО", 1, 1)],
    ],
}


def test_the_html_page_has_the_ministrys_tables_and_the_text(outputs, golden):
    page = outputs[("report", "html")].decode("utf-8")
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    reader = PageReader()
    reader.feed(page)
    assert not reader.external, f"the page refers to other files: {reader.external}"
    assert "<style>" in page
    tables = {}
    for table in TABLES:
        t = reader.tables[table]
        assert [[c[:3] for c in r["cells"]] for r in t["head"]] == HTML_HEADERS[table]
        lines = []
        for row in t["rows"]:
            number, name, *values = row["cells"]
            assert [c[3] for c in values] == COLUMNS[table]
            lines.append((int(number[0]), name[0], [int(c[0]) for c in values]))
        (totals,) = t["totals"]
        label, *values = totals["cells"]
        assert label[0] == "Итого за май" and label[2] == 2
        tables[table] = (lines, [int(c[0]) for c in values])
    bad = golden_mismatches(report_from_rows(tables, golden), golden)
    assert not bad, "\n".join(bad)
    text = json.loads(outputs[("report", "json")])["text"]
    assert reader.paragraphs == text.splitlines()


# The merged header cells of the seed's layout, in spreadsheet notation: the title on
# row 1, the header from row 3.
XLSX_MERGES = {
    "Таблица 1": {"A1:Q1", "A3:A5", "B3:B5", "C3:D3", "E3:P3", "Q3:Q5", "C4:C5", "D4:D5", "E4:E5",
                  "F4:J4", "K4:P4", "A26:B26"},
    "Таблица 2": {"A1:J1", "A3:A6", "B3:B6", "C3:D3", "E3:I3", "J3:J6", "C4:C6", "D4:D6", "E4:I4",
                  "E5:E6", "F5:F6", "G5:H5", "I5:I6", "A27:B27"},
}


def test_the_workbook_reads_back_as_the_golden_tables(outputs, golden, tmp_path):
    path = tmp_path / "may.xlsx"
    path.write_bytes(outputs[("report", "xlsx")])
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Таблица 1", "Таблица 2", "Текст"]
    tables = {}
    for sheet_name, table in zip(book.sheetnames, TABLES):
        sheet = book[sheet_name]
        assert {str(r) for r in sheet.merged_cells.ranges} == XLSX_MERGES[sheet_name]
        assert sheet["A1"].value.startswith(f"{sheet_name}. Количество выявленных нарушений")
        assert sheet["C3"].value == "Размещение" and sheet["E3"].value == "Нарушения"
        lines, totals = [], None
        for row in sheet.iter_rows(min_row=4, values_only=True):
            if isinstance(row[0], int):
                lines.append((row[0], row[1], list(row[2:])))
            elif row[0] == "Итого за май":
                totals = list(row[2:])
        assert all(isinstance(v, int) for _, _, values in lines for v in values)
        tables[table] = (lines, totals)
    bad = golden_mismatches(report_from_rows(tables, golden), golden)
    assert not bad, "\n".join(bad)
    text = json.loads(outputs[("report", "json")])["text"]
    assert [c.value for c in book["Текст"]["A"]] == text.splitlines()


def test_xlsx_without_an_output_file_is_refused_with_a_reason(may_2025_pipeline):
    p = may_2025_pipeline
    for args in (["replay", "--events", str(p.events_file), "--as-of", p.NOW],
                 ["report", *p.clickhouse_flags()]):
        result = p.stack.hearwatch(*args, "--month", "2025-05", "--format", "xlsx", check=False)
        assert result.returncode != 0 and result.stdout == ""
        assert "--format xlsx" in result.stderr and "--output FILE" in result.stderr

