//! The monthly report rendered for people and programs: the two tables and their text.
//!
//! Every format is drawn from one [`Rollup`], so the text can never disagree with the
//! tables. The text follows the ministry's report: placements and violations per table,
//! then the regions with the most missing documents.

use std::fmt::Write as _;

use chrono::{Datelike, NaiveDate};
use serde_json::{json, Map, Value};

use crate::region::Region;
use crate::rollup::{Rollup, Table, TableSpec, TOTAL, TOTAL_HEADER};

/// The report's output formats that need no extra dependencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Csv,
    Markdown,
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
fn month_words(month: NaiveDate) -> String {
    format!("{} {} года", MONTHS[month.month0() as usize], month.year())
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
    let sums = om.column_sums();
    let _ = writeln!(
        s,
        "Открытые собрания (таблица 1): размещено {} и {} в информационной системе; выявлено {}: \
         {} по объявлениям, {} по протоколам; несоответствие рубрике «Общественные слушания»: {}.",
        count(sums[0], ANNOUNCEMENT_FORMS),
        count(sums[1], PROTOCOL_FORMS),
        count(om.grand_total(), VIOLATION_FORMS),
        sum_with_prefix(om, "announcement_"),
        sum_with_prefix(om, "protocol_"),
        om.value_sum("section_mismatch"),
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
    let sums = pd.column_sums();
    let _ = writeln!(
        s,
        "Публичные обсуждения (таблица 2): размещено {} и {} в информационной системе; выявлено {}: \
         {} по объявлениям, {} по протоколам.",
        count(sums[0], ANNOUNCEMENT_FORMS),
        count(sums[1], PROTOCOL_FORMS),
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
            let _ = writeln!(s, "  [{:>2}] {} / {}", i + 1, column.group, column.header);
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
        let headers: Vec<_> = table
            .spec
            .columns
            .iter()
            .map(|c| format!("{}: {}", c.group, c.header))
            .collect();
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
}
