//! The monthly report rendered for people and programs: the two tables and their text.
//!
//! Every format is drawn from one [`Rollup`], so the text can never disagree with the
//! tables. The text follows the ministry's report: placements and violations per table,
//! then the regions with the most missing documents. The binary formats (xlsx) live in the
//! `hearwatch` crate; they take their layout from here and from [`TableSpec::header_cells`].

use std::fmt::Write as _;

use chrono::{Datelike, NaiveDate};
use serde_json::{json, Map, Value};

use crate::region::{Document, Region};
use crate::rollup::{Count, Rollup, Table, TableSpec, TOTAL, TOTAL_HEADER};

/// The report's output formats that need no extra dependencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Both tables and the text, aligned for a terminal.
    Table,
    /// The design's JSON object.
    Json,
    /// One line per region row of both tables.
    Csv,
    /// Markdown tables and text.
    Markdown,
    /// One self-contained HTML page: both tables laid out like the ministry's, and the text.
    Html,
}

/// Renders a rollup in a format.
pub fn render(rollup: &Rollup, format: Format) -> String {
    match format {
        Format::Table => render_table(rollup),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&to_json(rollup)).expect("JSON of a report");
            s.push('\n');
            s
        }
        Format::Csv => render_csv(rollup),
        Format::Markdown => render_markdown(rollup),
        Format::Html => render_html(rollup),
    }
}

/// The report as the design's JSON object.
pub fn to_json(rollup: &Rollup) -> Value {
    let mut out = Map::new();
    out.insert("month".into(), Value::from(month_key(rollup.month)));
    for table in [&rollup.open_meetings, &rollup.public_discussions] {
        let rows: Vec<Value> = table
            .rows
            .iter()
            .map(|row| {
                let mut obj = Map::new();
                obj.insert("region".into(), row.region.code().into());
                obj.insert("name".into(), row.region.name().into());
                insert_values(&mut obj, table.spec, &row.values);
                Value::Object(obj)
            })
            .collect();
        let mut totals = Map::new();
        insert_values(&mut totals, table.spec, &table.column_sums());
        out.insert(table.spec.name.into(), Value::Array(rows));
        out.insert(format!("{}_total", table.spec.name), Value::Object(totals));
    }
    out.insert("text".into(), text(rollup).into());
    Value::Object(out)
}

fn insert_values(obj: &mut Map<String, Value>, spec: &TableSpec, values: &[u64]) {
    for (column, value) in spec.columns.iter().zip(values) {
        obj.insert(column.name.into(), json!(value));
    }
    let total: u64 = spec
        .columns
        .iter()
        .zip(values)
        .filter(|(c, _)| c.is_violation())
        .map(|(_, v)| v)
        .sum();
    obj.insert(TOTAL.into(), json!(total));
}

/// `YYYY-MM` of a month's first day.
pub fn month_key(month: NaiveDate) -> String {
    format!("{:04}-{:02}", month.year(), month.month())
}

const MONTHS: [&str; 12] = [
    "январь",
    "февраль",
    "март",
    "апрель",
    "май",
    "июнь",
    "июль",
    "август",
    "сентябрь",
    "октябрь",
    "ноябрь",
    "декабрь",
];

/// The Russian month and year, as in "май 2025 года".
pub fn month_words(month: NaiveDate) -> String {
    format!("{} {} года", MONTHS[month.month0() as usize], month.year())
}

/// The label of a table's totals row, as in the seed report: "Итого за май".
pub fn totals_label(month: NaiveDate) -> String {
    format!("{TOTAL_HEADER} за {}", MONTHS[month.month0() as usize])
}

/// The heading of the `n`th table (from 1) for a month.
pub fn table_heading(n: usize, spec: &TableSpec, month: NaiveDate) -> String {
    format!("Таблица {n}. {} за {}", spec.title, month_words(month))
}

/// The Russian word for a count: `forms` are the forms for 1, 2–4 and 5+ («одно, два, пять»).
fn plural(n: u64, forms: [&str; 3]) -> &str {
    match (n % 10, n % 100) {
        (1, r) if r != 11 => forms[0],
        (2..=4, r) if !(12..=14).contains(&r) => forms[1],
        _ => forms[2],
    }
}

fn count(n: u64, forms: [&str; 3]) -> String {
    format!("{n} {}", plural(n, forms))
}

const ANNOUNCEMENT_FORMS: [&str; 3] = ["объявление", "объявления", "объявлений"];
const PROTOCOL_FORMS: [&str; 3] = ["протокол", "протокола", "протоколов"];
const VIOLATION_FORMS: [&str; 3] = ["нарушение", "нарушения", "нарушений"];
const MISMATCH_FORMS: [&str; 3] = ["несоответствие", "несоответствия", "несоответствий"];

/// The placements of a document on the information system, over all rows of a table.
fn placed(table: &Table, document: Document) -> u64 {
    let sums = table.column_sums();
    table
        .spec
        .columns
        .iter()
        .zip(&sums)
        .filter(|(c, _)| matches!(c.count, Count::Placements { document: d, .. } if d == document))
        .map(|(_, v)| v)
        .sum()
}

/// The sum of a table's violation columns whose names start with `prefix`, over all rows.
fn sum_with_prefix(table: &Table, prefix: &str) -> u64 {
    let sums = table.column_sums();
    table
        .spec
        .columns
        .iter()
        .zip(&sums)
        .filter(|(c, _)| c.is_violation() && c.name.starts_with(prefix))
        .map(|(_, v)| v)
        .sum()
}

/// Up to five regions with the largest positive value of `value`, ties in report order.
fn leaders(value: impl Fn(Region) -> u64) -> Vec<(Region, u64)> {
    let mut all: Vec<_> = Region::all()
        .map(|r| (r, value(r)))
        .filter(|(_, v)| *v > 0)
        .collect();
    all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.row().cmp(&b.0.row())));
    all.truncate(5);
    all
}

fn leaders_sentence(title: &str, leaders: &[(Region, u64)]) -> String {
    if leaders.is_empty() {
        return format!("{title}: нет.");
    }
    let list: Vec<_> = leaders
        .iter()
        .map(|(r, v)| format!("{} ({v})", r.name()))
        .collect();
    format!("{title}: {}.", list.join(", "))
}

fn missing_protocols(table: &Table, region: Region) -> u64 {
    table.value(region, "protocol_missing_information_system")
        + table.value(region, "protocol_missing_mio_website")
}

/// The report's text, in Russian, from the rollup's numbers alone.
pub fn text(rollup: &Rollup) -> String {
    let om = &rollup.open_meetings;
    let pd = &rollup.public_discussions;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Мониторинг размещения информации об общественных слушаниях за {}.",
        month_words(rollup.month)
    );
    // The breakdown after the colon always adds up to the number before it: every
    // violation column of Table 1 is an announcement, a protocol or a section column.
    let _ = writeln!(
        s,
        "Открытые собрания (таблица 1): размещено {} и {} в информационной системе; выявлено {}: \
         {} по объявлениям, {} по протоколам и {} рубрике «Общественные слушания».",
        count(placed(om, Document::Announcement), ANNOUNCEMENT_FORMS),
        count(placed(om, Document::Protocol), PROTOCOL_FORMS),
        count(om.grand_total(), VIOLATION_FORMS),
        sum_with_prefix(om, "announcement_"),
        sum_with_prefix(om, "protocol_"),
        count(om.value_sum("section_mismatch"), MISMATCH_FORMS),
    );
    let _ = writeln!(
        s,
        "{}",
        leaders_sentence(
            "Больше всего отсутствующих объявлений",
            &leaders(|r| om.value(r, "announcement_missing"))
        )
    );
    let _ = writeln!(
        s,
        "{}",
        leaders_sentence(
            "Больше всего отсутствующих протоколов открытых собраний",
            &leaders(|r| missing_protocols(om, r))
        )
    );
    let _ = writeln!(
        s,
        "Публичные обсуждения (таблица 2): размещено {} и {} в информационной системе; выявлено {}: \
         {} по объявлениям, {} по протоколам.",
        count(placed(pd, Document::Announcement), ANNOUNCEMENT_FORMS),
        count(placed(pd, Document::Protocol), PROTOCOL_FORMS),
        count(pd.grand_total(), VIOLATION_FORMS),
        sum_with_prefix(pd, "announcement_"),
        sum_with_prefix(pd, "protocol_"),
    );
    let _ = writeln!(
        s,
        "{}",
        leaders_sentence(
            "Больше всего отсутствующих протоколов публичных обсуждений",
            &leaders(|r| missing_protocols(pd, r))
        )
    );
    s
}

impl Table {
    /// A column's sum over all regions, by name.
    pub fn value_sum(&self, column: &str) -> u64 {
        Region::all().map(|r| self.value(r, column)).sum()
    }
}

fn render_table(rollup: &Rollup) -> String {
    let mut s = String::new();
    for (n, table) in [&rollup.open_meetings, &rollup.public_discussions]
        .into_iter()
        .enumerate()
    {
        let _ = writeln!(
            s,
            "Таблица {} — {} ({})",
            n + 1,
            table.spec.title,
            month_words(rollup.month)
        );
        for (i, column) in table.spec.columns.iter().enumerate() {
            let _ = writeln!(s, "  [{:>2}] {}", i + 1, column.label());
        }
        let _ = writeln!(s, "  [{:>2}] {TOTAL_HEADER}", table.spec.columns.len() + 1);
        let width = Region::all()
            .map(|r| r.name().chars().count())
            .max()
            .unwrap_or(10);
        let mut header = format!("{:>3}  {:<width$}", "№", "МИО");
        for i in 0..=table.spec.columns.len() {
            let _ = write!(header, " {:>5}", format!("[{}]", i + 1));
        }
        let _ = writeln!(s, "{header}");
        for row in &table.rows {
            let mut line = format!("{:>3}  {:<width$}", row.region.row(), row.region.name());
            for v in row.values.iter().chain([&row.total(table.spec)]) {
                let _ = write!(line, " {v:>5}");
            }
            let _ = writeln!(s, "{line}");
        }
        let mut line = format!("{:>3}  {:<width$}", "", TOTAL_HEADER);
        for v in table.column_sums().iter().chain([&table.grand_total()]) {
            let _ = write!(line, " {v:>5}");
        }
        let _ = writeln!(s, "{line}\n");
    }
    s.push_str(&text(rollup));
    s
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn render_csv(rollup: &Rollup) -> String {
    let mut s = String::new();
    for table in [&rollup.open_meetings, &rollup.public_discussions] {
        let names: Vec<_> = table.spec.columns.iter().map(|c| c.name).collect();
        let _ = writeln!(s, "table,month,row,region,name,{},{TOTAL}", names.join(","));
        for row in &table.rows {
            let values: Vec<_> = row.values.iter().map(u64::to_string).collect();
            let _ = writeln!(
                s,
                "{},{},{},{},{},{},{}",
                table.spec.name,
                month_key(rollup.month),
                row.region.row(),
                row.region.code(),
                csv_field(row.region.name()),
                values.join(","),
                row.total(table.spec)
            );
        }
        let sums: Vec<_> = table.column_sums().iter().map(u64::to_string).collect();
        let _ = writeln!(
            s,
            "{},{},,,{TOTAL_HEADER},{},{}",
            table.spec.name,
            month_key(rollup.month),
            sums.join(","),
            table.grand_total()
        );
    }
    s
}

fn render_markdown(rollup: &Rollup) -> String {
    let mut s = String::new();
    for (n, table) in [&rollup.open_meetings, &rollup.public_discussions]
        .into_iter()
        .enumerate()
    {
        let _ = writeln!(s, "### Таблица {}. {}\n", n + 1, table.spec.title);
        let headers: Vec<_> = table.spec.columns.iter().map(|c| c.label()).collect();
        let _ = writeln!(s, "| № | МИО | {} | {TOTAL_HEADER} |", headers.join(" | "));
        let _ = writeln!(s, "|---|---|{}---:|", "---:|".repeat(headers.len()));
        for row in &table.rows {
            let values: Vec<_> = row.values.iter().map(u64::to_string).collect();
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                row.region.row(),
                row.region.name(),
                values.join(" | "),
                row.total(table.spec)
            );
        }
        let sums: Vec<_> = table.column_sums().iter().map(u64::to_string).collect();
        let _ = writeln!(
            s,
            "| | **{TOTAL_HEADER}** | {} | {} |\n",
            sums.join(" | "),
            table.grand_total()
        );
    }
    s.push_str(&text(rollup).replace('\n', "\n\n"));
    s
}

/// Escapes text for HTML content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The seed report's title, above the HTML page's text.
const REPORT_TITLE: &str = "Анализ работы Интернет-ресурсов местных исполнительных органов по \
     доступности населения к информации о процессах принятия решений";

/// The page's only style sheet, inline so that the file stands alone.
const HTML_STYLE: &str = "
body { font-family: 'Times New Roman', serif; margin: 2em; color: #000; }
h1 { font-size: 1.25em; text-align: center; }
h2 { font-size: 1.05em; text-align: center; margin-top: 2em; }
p.text { text-align: justify; max-width: 60em; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { border: 1px solid #000; padding: 0.2em 0.35em; }
th { font-weight: normal; vertical-align: middle; text-align: center; }
td { text-align: right; }
td.region { text-align: left; white-space: nowrap; }
tfoot td { font-weight: bold; }
";

/// One self-contained page: title, the text, then both tables with the ministry's grouped
/// headers, regions in report order and a totals row. Every text is escaped.
fn render_html(rollup: &Rollup) -> String {
    let period = format!("за {}", month_words(rollup.month));
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"ru\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{0} {1}</title>\n<style>{HTML_STYLE}</style>\n</head>\n<body>\n\
         <h1>{0}<br>{1}</h1>\n",
        escape_html(REPORT_TITLE),
        escape_html(&period)
    );
    for line in text(rollup).lines() {
        let _ = writeln!(s, "<p class=\"text\">{}</p>", escape_html(line));
    }
    for (n, table) in [&rollup.open_meetings, &rollup.public_discussions]
        .into_iter()
        .enumerate()
    {
        html_table(&mut s, n + 1, table, rollup.month);
    }
    s.push_str("</body>\n</html>\n");
    s
}

fn html_table(s: &mut String, n: usize, table: &Table, month: NaiveDate) {
    let spec = table.spec;
    let _ = writeln!(
        s,
        "<h2>{}</h2>\n<table id=\"{}\">\n<thead>",
        escape_html(&table_heading(n, spec, month)),
        spec.name
    );
    let cells = spec.header_cells();
    for level in 0..spec.header_depth() {
        s.push_str("<tr>");
        for cell in cells.iter().filter(|c| c.row == level) {
            let _ = write!(s, "<th");
            if cell.rows > 1 {
                let _ = write!(s, " rowspan=\"{}\"", cell.rows);
            }
            if cell.cols > 1 {
                let _ = write!(s, " colspan=\"{}\"", cell.cols);
            }
            let _ = write!(s, ">{}</th>", escape_html(cell.text));
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</thead>\n<tbody>\n");
    let names: Vec<_> = spec.columns.iter().map(|c| c.name).chain([TOTAL]).collect();
    for row in &table.rows {
        let _ = write!(
            s,
            "<tr data-region=\"{}\"><td>{}</td><td class=\"region\">{}</td>",
            escape_html(row.region.code()),
            row.region.row(),
            escape_html(row.region.name())
        );
        for (name, v) in names
            .iter()
            .zip(row.values.iter().chain([&row.total(spec)]))
        {
            let _ = write!(s, "<td data-column=\"{name}\">{v}</td>");
        }
        s.push_str("</tr>\n");
    }
    let _ = write!(
        s,
        "</tbody>\n<tfoot>\n<tr><td class=\"region\" colspan=\"2\">{}</td>",
        escape_html(&totals_label(month))
    );
    let sums = table.column_sums();
    for (name, v) in names.iter().zip(sums.iter().chain([&table.grand_total()])) {
        let _ = write!(s, "<td data-column=\"{name}\">{v}</td>");
    }
    s.push_str("</tr>\n</tfoot>\n</table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn russian_plurals_follow_the_last_digits() {
        let forms = VIOLATION_FORMS;
        assert_eq!(count(1, forms), "1 нарушение");
        assert_eq!(count(3, forms), "3 нарушения");
        assert_eq!(count(11, forms), "11 нарушений");
        assert_eq!(count(21, forms), "21 нарушение");
        assert_eq!(count(124, forms), "124 нарушения");
        assert_eq!(count(93, forms), "93 нарушения");
        assert_eq!(count(0, forms), "0 нарушений");
    }

    fn sample() -> Rollup {
        let month = NaiveDate::from_ymd_opt(2025, 5, 1).unwrap();
        let mut rollup = Rollup::empty(month);
        let almaty: Region = "KZ-19".parse().unwrap();
        rollup.open_meetings.add(almaty, "announcements", 11);
        rollup.open_meetings.add(almaty, "announcement_missing", 11);
        rollup
            .open_meetings
            .add(almaty, "protocol_missing_mio_website", 9);
        rollup.public_discussions.add(almaty, "protocol_late", 1);
        rollup
    }

    #[test]
    fn html_escapes_markup_and_quotes() {
        assert_eq!(
            escape_html(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
        assert_eq!(
            escape_html("г. Алматы «Общественные слушания»"),
            "г. Алматы «Общественные слушания»"
        );
    }

    #[test]
    fn the_html_page_stands_alone_with_the_ministrys_tables_and_the_text() {
        let page = render(&sample(), Format::Html);
        assert!(page.starts_with("<!DOCTYPE html>") && page.ends_with("</html>\n"));
        assert!(page.contains("<meta charset=\"utf-8\">"));
        for external in ["src=", "href=", "<link", "@import", "url(", "<script"] {
            assert!(
                !page.contains(external),
                "the page refers outside itself: {external}"
            );
        }
        // Table 1: three header rows, «Нарушения» over its twelve columns; Table 2: four.
        assert!(page.contains("<th colspan=\"12\">Нарушения</th>"));
        assert!(page.contains("<th rowspan=\"3\">№ п/п</th>"));
        assert!(page.contains("<th rowspan=\"4\">№ п/п</th>"));
        assert!(page.contains("<th colspan=\"2\">Отсутствует</th>"));
        // Rows in report order, each with its total; a totals row per table.
        let rows: Vec<_> = page
            .match_indices("<tr data-region=")
            .map(|(i, _)| i)
            .collect();
        assert_eq!(rows.len(), 40);
        let astana = page.find("data-region=\"KZ-71\"").unwrap();
        let ulytau = page.find("data-region=\"KZ-62\"").unwrap();
        assert!(astana < ulytau);
        assert!(page.contains(
            "<td data-column=\"protocol_missing_information_system\">0</td>\
             <td data-column=\"protocol_late\">0</td><td data-column=\"total\">20</td></tr>"
        ));
        assert_eq!(page.matches("Итого за май").count(), 2);
        // The text, escaped: its guillemets are text, its lines are paragraphs.
        assert!(page.contains(
            "<p class=\"text\">Больше всего отсутствующих объявлений: Алматинская (11).</p>"
        ));
    }
}
