//! `hearwatch violations`: the hearings behind a cell of the report, with their evidence.
//!
//! The flags are parsed into the engine's types first (region, form, rule or report
//! column), so that only known names reach the SQL; the rows come from ClickHouse's
//! `violations` view (or the current-state SQL as known at an instant) and are listed in
//! report order: region row, form, rule, document, channel, hearing. Instants are shown in
//! the region's own zone, the one whose local dates the rules count in.

use std::fmt::Write as _;

use anyhow::{anyhow, bail, Context, Result};
use chrono::{DateTime, NaiveDate, Utc};
use hearwatch_engine::region::{Channel, Form, Region};
use hearwatch_engine::report::{month_key, month_words};
use hearwatch_engine::rollup::{Count, TABLES};
use hearwatch_engine::rule::Rule;
use serde::Serialize;

use crate::cli::{ListFormat, ViolationsArgs};
use crate::config::{ClickHouseConfig, FileConfig};
use crate::output::{parse_known_at, parse_month, write_output};
use crate::warehouse::{self, FindingRow, ViolationFilter};

/// One violation with its evidence, as listed; `None` where a piece does not apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listed {
    pub hearing_id: String,
    pub region: &'static str,
    pub region_name: &'static str,
    pub form: &'static str,
    pub rule: &'static str,
    pub document: String,
    pub channel: String,
    /// `YYYY-MM`.
    pub month: String,
    /// The last working day of the deadline (deadline rules).
    pub deadline_on: Option<NaiveDate>,
    /// The instant the deadline passed, RFC 3339 in the region's zone.
    pub deadline_at: Option<String>,
    /// The hearing date the rule measured against.
    pub hearing_on: Option<NaiveDate>,
    /// The publication's instant, RFC 3339 in the region's zone.
    pub published_at: Option<String>,
    /// Its local date.
    pub published_on: Option<NaiveDate>,
    /// The placement date printed on it (`None` also when none is printed).
    pub declared_on: Option<NaiveDate>,
    pub section: Option<String>,
    pub url: Option<String>,
    pub event_id: Option<String>,
    /// Sort key: the region's report row.
    #[serde(skip)]
    row: usize,
}

/// The fields of a listed violation, in the order of CSV and table columns.
const FIELDS: [&str; 17] = [
    "hearing_id",
    "region",
    "region_name",
    "form",
    "rule",
    "document",
    "channel",
    "month",
    "deadline_on",
    "deadline_at",
    "hearing_on",
    "published_at",
    "published_on",
    "declared_on",
    "section",
    "url",
    "event_id",
];

/// The filter of a command line, every value checked against the engine's names.
pub fn filter(args: &ViolationsArgs) -> Result<ViolationFilter> {
    let month = parse_month(Some(&args.month), Utc::now())?;
    let region = args
        .region
        .as_deref()
        .map(|r| {
            r.parse::<Region>().map_err(|()| {
                let codes: Vec<_> = Region::all().map(Region::code).collect();
                anyhow!(
                    "--region {r:?} is not a region code (one of {})",
                    codes.join(", ")
                )
            })
        })
        .transpose()?;
    let form = args
        .form
        .as_deref()
        .map(|f| {
            f.parse::<Form>().map_err(|()| {
                anyhow!("--form {f:?} is not a form (open_meeting or public_discussion)")
            })
        })
        .transpose()?;
    let (rule, channel) = match args.rule.as_deref() {
        Some(x) => rule_or_column(x)?,
        None => (None, None),
    };
    Ok(ViolationFilter {
        month,
        region,
        form,
        rule,
        channel,
    })
}

/// A rule code, or a violation column of the report (a rule, on one channel or on any).
fn rule_or_column(x: &str) -> Result<(Option<Rule>, Option<Channel>)> {
    if let Ok(rule) = x.parse::<Rule>() {
        return Ok((Some(rule), None));
    }
    let column = TABLES
        .iter()
        .flat_map(|t| t.columns.iter())
        .find(|c| c.name == x);
    match column.map(|c| c.count) {
        Some(Count::Violations { rule, channel }) => Ok((Some(rule), channel)),
        Some(Count::Placements { .. }) => bail!(
            "--rule {x:?} is a placement column, not a violation; placements are in the \
             `placements` view"
        ),
        None => {
            let rules: Vec<_> = Rule::ALL.iter().map(|r| r.as_str()).collect();
            bail!(
                "--rule {x:?} is neither a rule ({}) nor a violation column of the report \
                 (such as protocol_missing_mio_website)",
                rules.join(", ")
            )
        }
    }
}

fn date(days: u16) -> Option<NaiveDate> {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("a date");
    (days > 0).then(|| epoch + chrono::Days::new(days.into()))
}

fn local_instant(seconds: u32, region: Region) -> Option<String> {
    let at = DateTime::<Utc>::from_timestamp(seconds.into(), 0).filter(|_| seconds > 0)?;
    Some(at.with_timezone(&region.zone()).to_rfc3339())
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

impl Listed {
    /// A row read from ClickHouse; its names must be the engine's.
    pub fn from_row(row: &FindingRow) -> Result<Listed> {
        let unknown = |what: &str, value: &str| {
            anyhow!(
                "ClickHouse holds violation {} with an unknown {what} {value:?}",
                row.finding_id
            )
        };
        let region: Region = row
            .region
            .parse()
            .map_err(|()| unknown("region", &row.region))?;
        let form: Form = row.form.parse().map_err(|()| unknown("form", &row.form))?;
        let rule: Rule = row.rule.parse().map_err(|()| unknown("rule", &row.rule))?;
        let month = date(row.month).ok_or_else(|| unknown("month", "0"))?;
        Ok(Listed {
            hearing_id: row.hearing_id.clone(),
            region: region.code(),
            region_name: region.name(),
            form: form.as_str(),
            rule: rule.as_str(),
            document: row.document.clone(),
            channel: row.channel.clone(),
            month: month_key(month),
            deadline_on: date(row.deadline_on),
            deadline_at: local_instant(row.deadline_at, region),
            hearing_on: date(row.hearing_on),
            published_at: local_instant(row.published_at, region),
            published_on: date(row.published_on),
            declared_on: date(row.declared_on),
            section: non_empty(&row.section),
            url: non_empty(&row.url),
            event_id: non_empty(&row.event_id),
            row: region.row(),
        })
    }

    /// The fields of [`FIELDS`] as text; empty where none.
    fn values(&self) -> [String; 17] {
        let d = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        let s = |s: &Option<String>| s.clone().unwrap_or_default();
        [
            self.hearing_id.clone(),
            self.region.to_string(),
            self.region_name.to_string(),
            self.form.to_string(),
            self.rule.to_string(),
            self.document.clone(),
            self.channel.clone(),
            self.month.clone(),
            d(self.deadline_on),
            s(&self.deadline_at),
            d(self.hearing_on),
            s(&self.published_at),
            d(self.published_on),
            d(self.declared_on),
            s(&self.section),
            s(&self.url),
            s(&self.event_id),
        ]
    }
}

/// Sorts violations in report order.
pub fn sort(listed: &mut [Listed]) {
    listed.sort_by(|a, b| {
        (
            a.row,
            a.form,
            a.rule,
            &a.document,
            &a.channel,
            &a.hearing_id,
        )
            .cmp(&(
                b.row,
                b.form,
                b.rule,
                &b.document,
                &b.channel,
                &b.hearing_id,
            ))
    });
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// A header line, then one line per violation.
pub fn render_csv(listed: &[Listed]) -> String {
    let mut s = FIELDS.join(",");
    s.push('\n');
    for v in listed {
        let values: Vec<_> = v.values().iter().map(|x| csv_field(x)).collect();
        s.push_str(&values.join(","));
        s.push('\n');
    }
    s
}

/// Aligned columns under a heading that says what was asked and how many were found.
pub fn render_table(listed: &[Listed], filter: &ViolationFilter) -> String {
    let mut s = format!("Нарушения за {}", month_words(filter.month));
    let mut asked = Vec::new();
    if let Some(r) = filter.region {
        asked.push(format!("{} {}", r.code(), r.name()));
    }
    asked.extend(filter.form.map(|f| f.as_str().to_string()));
    asked.extend(filter.rule.map(|r| r.as_str().to_string()));
    asked.extend(filter.channel.map(|c| c.as_str().to_string()));
    if !asked.is_empty() {
        let _ = write!(s, " ({})", asked.join(", "));
    }
    let _ = writeln!(s, ": {}", listed.len());
    if listed.is_empty() {
        return s;
    }
    // The month is in the heading and the region's name is its code's; the rest are shown.
    let shown: Vec<usize> = (0..FIELDS.len())
        .filter(|&i| !matches!(FIELDS[i], "region_name" | "month" | "section" | "event_id"))
        .collect();
    let rows: Vec<[String; 17]> = listed.iter().map(Listed::values).collect();
    let widths: Vec<usize> = shown
        .iter()
        .map(|&i| {
            rows.iter()
                .map(|r| r[i].chars().count().max(1))
                .chain([FIELDS[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_string()
    };
    let _ = writeln!(s, "{}", line(shown.iter().map(|&i| FIELDS[i]).collect()));
    for r in &rows {
        let cells = shown
            .iter()
            .map(|&i| if r[i].is_empty() { "-" } else { r[i].as_str() })
            .collect();
        let _ = writeln!(s, "{}", line(cells));
    }
    s
}

/// Runs `hearwatch violations`.
pub async fn run(args: &ViolationsArgs, file: &FileConfig) -> Result<()> {
    let filter = filter(args)?;
    let known_at = args.known_at.as_deref().map(parse_known_at).transpose()?;
    let config = ClickHouseConfig::resolve(&args.clickhouse, file)?;
    let client = warehouse::client(&config);
    let rows = warehouse::violations(&client, &config.database, &filter, known_at)
        .await
        .with_context(|| format!("reading violations from {}", config.describe()))?;
    let mut listed = rows
        .iter()
        .map(Listed::from_row)
        .collect::<Result<Vec<_>>>()?;
    sort(&mut listed);
    let text = match args.format {
        ListFormat::Table => render_table(&listed, &filter),
        ListFormat::Json => serde_json::to_string_pretty(&listed)? + "\n",
        ListFormat::Csv => render_csv(&listed),
    };
    write_output(args.output.as_deref(), text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(extra: &[&str]) -> Result<ViolationFilter> {
        let mut argv = vec!["hearwatch", "violations", "--month", "2025-05"];
        argv.extend(extra);
        let cli = crate::cli::Cli::try_parse_from(argv).expect("flags parse");
        match cli.command {
            crate::cli::Command::Violations(a) => filter(&a),
            other => panic!("not violations: {other:?}"),
        }
    }

    #[test]
    fn a_report_column_is_a_rule_on_a_channel() {
        let f = args(&[
            "--rule",
            "protocol_missing_mio_website",
            "--region",
            "KZ-19",
        ])
        .unwrap();
        assert_eq!(f.rule, Some(Rule::ProtocolMissing));
        assert_eq!(f.channel, Some(Channel::MioWebsite));
        assert_eq!(f.region, "KZ-19".parse().ok());
        let f = args(&["--rule", "announcement_late", "--form", "open_meeting"]).unwrap();
        assert_eq!((f.rule, f.channel), (Some(Rule::AnnouncementLate), None));
        assert_eq!(f.form, Some(Form::OpenMeeting));
    }

    #[test]
    fn unknown_names_are_refused_before_any_sql() {
        let e = args(&["--region", "KZ-19' OR 1=1 --"])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--region \"KZ-19' OR 1=1 --\" is not a region code"),
            "{e}"
        );
        let e = args(&["--rule", "x'; DROP TABLE y"])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--rule \"x'; DROP TABLE y\" is neither a rule"),
            "{e}"
        );
        let e = args(&["--rule", "announcements"]).unwrap_err().to_string();
        assert!(e.contains("placement column"), "{e}");
        let e = args(&["--form", "meeting"]).unwrap_err().to_string();
        assert!(e.contains("--form \"meeting\" is not a form"), "{e}");
    }

    fn row() -> FindingRow {
        FindingRow {
            finding_id: "H-1/announcement_missing/announcement/mio_website".into(),
            hearing_id: "H-1".into(),
            kind: "violation".into(),
            region: "KZ-19".into(),
            form: "open_meeting".into(),
            rule: "announcement_missing".into(),
            document: "announcement".into(),
            channel: "mio_website".into(),
            // 2025-05-01 is day 20209 (see warehouse's test); 2025-05-06 is 20214.
            month: 20209,
            active: 1,
            version: 1,
            known_at: 0,
            clock: 0,
            deadline_on: 20214,
            // 2025-05-06 19:00 UTC is local midnight (UTC+5) ending 6 May.
            deadline_at: 1_746_558_000,
            hearing_on: 0,
            published_at: 0,
            published_on: 0,
            declared_on: 0,
            section: String::new(),
            url: String::new(),
            event_id: String::new(),
            source_partition: 0,
        }
    }

    #[test]
    fn evidence_is_shown_in_local_dates_and_the_regions_zone() {
        let v = Listed::from_row(&row()).unwrap();
        assert_eq!(v.month, "2025-05");
        assert_eq!(v.deadline_on, NaiveDate::from_ymd_opt(2025, 5, 6));
        assert_eq!(v.deadline_at.as_deref(), Some("2025-05-07T00:00:00+05:00"));
        assert_eq!((v.published_at.clone(), v.url.clone()), (None, None));
        let csv = render_csv(&[v]);
        assert_eq!(
            csv.lines().nth(1).unwrap(),
            "H-1,KZ-19,Алматинская,open_meeting,announcement_missing,announcement,\
             mio_website,2025-05,2025-05-06,2025-05-07T00:00:00+05:00,,,,,,,"
        );
    }

    #[test]
    fn a_row_of_an_unknown_region_is_an_error_naming_it() {
        let mut bad = row();
        bad.region = "KZ-99".into();
        let e = Listed::from_row(&bad).unwrap_err().to_string();
        assert!(e.contains("unknown region \"KZ-99\""), "{e}");
    }
}
