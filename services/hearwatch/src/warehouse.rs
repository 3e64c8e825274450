//! ClickHouse: the schema, the rows hearwatch writes and the queries it reads back.
//!
//! Tables come from `schemas/clickhouse/*.sql`; the views and the rollup queries are
//! generated here from the report's column declarations, so what analysts query and what
//! `hearwatch report` prints are one definition. All SQL runs on ClickHouse 18.16 and on
//! current releases: plain types, `argMax` instead of `FINAL`, values bound client-side.

use std::fmt::Write as _;

use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, Utc};
use clickhouse::{Client, Row};
use hearwatch_engine::region::{Channel, Document, Form, Region};
use hearwatch_engine::rollup::{Count, Rollup, TableSpec, TABLES};
use hearwatch_engine::rule::Rule;
use hearwatch_engine::verdict::{Change, Finding};
use serde::{Deserialize, Serialize};

use crate::config::ClickHouseConfig;

/// The table files, applied in order by `migrate`.
const TABLE_FILES: &[(&str, &str)] = &[
    (
        "001_tables.sql",
        include_str!("../../../schemas/clickhouse/001_tables.sql"),
    ),
    (
        "002_snapshots.sql",
        include_str!("../../../schemas/clickhouse/002_snapshots.sql"),
    ),
];

/// A client for the configured server and database.
pub fn client(config: &ClickHouseConfig) -> Client {
    Client::default()
        .with_url(&config.url)
        .with_user(&config.user)
        .with_password(&config.password)
        .with_database(&config.database)
        .with_validation(false)
        .with_compression(clickhouse::Compression::None)
}

/// Every statement `migrate` runs, in order.
pub fn migration(db: &str) -> Vec<String> {
    let mut statements: Vec<String> = TABLE_FILES
        .iter()
        .flat_map(|(_, sql)| split_statements(sql))
        .map(|s| s.replace("{db}", db))
        .collect();
    statements.push(format!("DROP TABLE IF EXISTS {db}.regions"));
    statements.push(format!(
        "CREATE TABLE {db}.regions (region String, row UInt8, name String, zone String) ENGINE = TinyLog"
    ));
    let values: Vec<_> = Region::all()
        .map(|r| {
            format!(
                "('{}', {}, '{}', '{}')",
                r.code(),
                r.row(),
                r.name(),
                r.zone().name()
            )
        })
        .collect();
    statements.push(format!(
        "INSERT INTO {db}.regions VALUES {}",
        values.join(", ")
    ));
    for (name, body) in views(db) {
        statements.push(format!("DROP TABLE IF EXISTS {db}.{name}"));
        statements.push(format!("CREATE VIEW {db}.{name} AS {body}"));
    }
    statements
}

/// Splits a file into statements at `;` ending a line, dropping comment-only lines.
fn split_statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in sql.lines() {
        let code = line.split("--").next().unwrap_or("").trim_end();
        if code.trim().is_empty() {
            continue;
        }
        current.push_str(code);
        current.push('\n');
        if code.ends_with(';') {
            out.push(current.trim().trim_end_matches(';').to_string());
            current.clear();
        }
    }
    out
}

/// The columns of `findings_log` that identify a finding and never change for it.
const IDENTITY: &str = "finding_id, hearing_id, kind, region, form, rule, document, channel";
/// The columns that can change; readers take each from the row with the highest version.
const STATE: [&str; 15] = [
    "month",
    "active",
    "version",
    "known_at",
    "clock",
    "deadline_on",
    "deadline_at",
    "hearing_on",
    "published_at",
    "published_on",
    "declared_on",
    "section",
    "url",
    "event_id",
    "source_partition",
];

/// The current state of every finding (one row each, retracted ones included), optionally
/// as known at an instant, with the columns of `findings_log` in its order.
pub fn current_findings_sql(db: &str, known_at: Option<DateTime<Utc>>) -> String {
    let condition = known_at.map(|k| format!("known_at <= toDateTime({})", k.timestamp()));
    current_findings_where(db, condition.as_deref())
}

/// The current state of the findings whose rows meet `condition` (every row of a finding
/// should, so that its latest row is among them).
fn current_findings_where(db: &str, condition: Option<&str>) -> String {
    // The inner query renames the changing columns, so that the outer aliases, which take
    // the columns' own names, never shadow what the aggregates read.
    let filter = condition.map(|c| format!(" WHERE {c}")).unwrap_or_default();
    let renamed: Vec<String> = STATE.iter().map(|c| format!("{c} AS _{c}")).collect();
    let latest: Vec<String> = STATE
        .iter()
        .map(|c| match *c {
            "version" => "max(_version) AS version".to_string(),
            c => format!("argMax(_{c}, _version) AS {c}"),
        })
        .collect();
    format!(
        "SELECT {IDENTITY}, {} FROM (SELECT {IDENTITY}, {} FROM {db}.findings_log{filter}) GROUP BY {IDENTITY}",
        latest.join(", "),
        renamed.join(", ")
    )
}

/// The SQL condition under which a finding counts in a column.
fn condition(count: Count) -> String {
    match count {
        Count::Placements { document, channel } => {
            format!("kind = 'placement' AND document = '{document}' AND channel = '{channel}'")
        }
        Count::Violations {
            rule,
            channel: None,
        } => format!("kind = 'violation' AND rule = '{rule}'"),
        Count::Violations {
            rule,
            channel: Some(c),
        } => {
            format!("kind = 'violation' AND rule = '{rule}' AND channel = '{c}'")
        }
    }
}

/// A table's monthly rollup as SQL: one row per month and region with findings.
fn rollup_view(db: &str, spec: &TableSpec) -> String {
    let mut sql = String::from("SELECT month, region");
    let mut total = Vec::new();
    for column in spec.columns {
        let count = format!("countIf({})", condition(column.count));
        let _ = write!(sql, ", {count} AS {}", column.name);
        if column.is_violation() {
            total.push(count);
        }
    }
    let _ = write!(
        sql,
        ", {} AS total FROM {db}.findings_current WHERE active = 1 AND form = '{}' GROUP BY month, region",
        total.join(" + "),
        spec.form
    );
    sql
}

/// The analysts' views: name and body.
fn views(db: &str) -> Vec<(String, String)> {
    let mut views = vec![
        (
            "findings_current".to_string(),
            current_findings_sql(db, None),
        ),
        (
            "violations".to_string(),
            format!("SELECT * FROM {db}.findings_current WHERE active = 1 AND kind = 'violation'"),
        ),
        (
            "placements".to_string(),
            format!("SELECT * FROM {db}.findings_current WHERE active = 1 AND kind = 'placement'"),
        ),
    ];
    for spec in TABLES {
        views.push((format!("{}_monthly", spec.name), rollup_view(db, spec)));
    }
    views
}

/// Runs the migration.
pub async fn migrate(client: &Client, db: &str) -> Result<usize> {
    let statements = migration(db);
    for statement in &statements {
        client
            .query(statement)
            .execute()
            .await
            .with_context(|| format!("ClickHouse rejected: {}", first_line(statement)))?;
    }
    Ok(statements.len())
}

fn first_line(sql: &str) -> &str {
    sql.lines().next().unwrap_or(sql)
}

/// One row of `findings_log`, in the table's column order.
#[derive(Debug, Clone, PartialEq, Eq, Row, Serialize, Deserialize)]
pub struct FindingRow {
    pub finding_id: String,
    pub hearing_id: String,
    pub kind: String,
    pub region: String,
    pub form: String,
    pub rule: String,
    pub document: String,
    pub channel: String,
    pub month: u16,
    pub active: u8,
    pub version: u64,
    pub known_at: u32,
    pub clock: u32,
    pub deadline_on: u16,
    pub deadline_at: u32,
    pub hearing_on: u16,
    pub published_at: u32,
    pub published_on: u16,
    pub declared_on: u16,
    pub section: String,
    pub url: String,
    pub event_id: String,
    pub source_partition: i32,
}

/// Days since 1970-01-01, ClickHouse's `Date`; 0 for none.
fn day_number(date: Option<NaiveDate>) -> u16 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("a date");
    date.map_or(0, |d| {
        (d - epoch).num_days().clamp(0, u16::MAX as i64) as u16
    })
}

/// Seconds since the epoch, ClickHouse's `DateTime`; 0 for none.
fn seconds(at: Option<DateTime<Utc>>) -> u32 {
    at.map_or(0, |t| t.timestamp().clamp(0, u32::MAX as i64) as u32)
}

impl FindingRow {
    /// The row for a change, stamped with its version and times.
    pub fn new(
        change: &Change,
        version: u64,
        known_at: DateTime<Utc>,
        clock: DateTime<Utc>,
        partition: i32,
    ) -> FindingRow {
        let finding = &change.finding;
        let mut row = FindingRow {
            finding_id: finding.id(),
            hearing_id: finding.hearing_id().to_string(),
            kind: String::new(),
            region: String::new(),
            form: String::new(),
            rule: String::new(),
            document: String::new(),
            channel: String::new(),
            month: 0,
            active: change.active as u8,
            version,
            known_at: seconds(Some(known_at)),
            clock: seconds(Some(clock)),
            deadline_on: 0,
            deadline_at: 0,
            hearing_on: 0,
            published_at: 0,
            published_on: 0,
            declared_on: 0,
            section: String::new(),
            url: String::new(),
            event_id: String::new(),
            source_partition: partition,
        };
        let published = match finding {
            Finding::Violation(v) => {
                row.kind = "violation".into();
                row.rule = v.rule.as_str().into();
                row.identify(v.region, v.form, v.document, v.channel);
                row.month = day_number(Some(v.month));
                row.deadline_on = day_number(v.deadline_on);
                row.deadline_at = seconds(v.deadline_at);
                row.hearing_on = day_number(v.hearing_on);
                v.published.as_ref()
            }
            Finding::Placement(p) => {
                row.kind = "placement".into();
                row.identify(p.region, p.form, p.document, p.channel);
                row.month = day_number(Some(p.month));
                Some(&p.published)
            }
        };
        if let Some(p) = published {
            row.published_at = seconds(Some(p.published_at));
            row.published_on = day_number(Some(p.published_on));
            row.declared_on = day_number(p.declared_on);
            row.section = p.section.to_string();
            row.url = p.url.as_deref().unwrap_or_default().to_string();
            row.event_id = p.event_id.to_string();
        }
        row
    }
}

impl FindingRow {
    /// Whether two rows say the same about a finding, whenever and by whom written.
    pub fn same_finding(&self, other: &FindingRow) -> bool {
        let strip = |r: &FindingRow| FindingRow {
            version: 0,
            known_at: 0,
            clock: 0,
            source_partition: 0,
            ..r.clone()
        };
        strip(self) == strip(other)
    }

    fn identify(&mut self, region: Region, form: Form, document: Document, channel: Channel) {
        self.region = region.code().into();
        self.form = form.as_str().into();
        self.document = document.as_str().into();
        self.channel = channel.as_str().into();
    }
}

/// The findings active in ClickHouse for hearings of one input partition.
pub async fn active_findings(
    client: &Client,
    db: &str,
    partition: i32,
) -> clickhouse::error::Result<Vec<FindingRow>> {
    // Only the findings ever written from this partition are aggregated (all of their
    // rows, so the latest one wins wherever it came from), and a large aggregation spills
    // to disk rather than failing on the per-query memory limit.
    let sql = format!(
        "SELECT * FROM ({}) WHERE active = 1 AND source_partition = {partition}",
        current_findings_where(
            db,
            Some(&format!(
                "finding_id IN \
                 (SELECT finding_id FROM {db}.findings_log WHERE source_partition = {partition})"
            ))
        )
    );
    client
        .query(&sql)
        .with_option("max_bytes_before_external_group_by", "500000000")
        .fetch_all::<FindingRow>()
        .await
}

/// The findings active in ClickHouse for the hearings named, a few thousand names a
/// query (the server limits a query's text to 256 KiB).
pub async fn active_findings_of(
    client: &Client,
    db: &str,
    hearing_ids: &[std::sync::Arc<str>],
) -> clickhouse::error::Result<Vec<FindingRow>> {
    let mut rows = Vec::new();
    for chunk in hearing_ids.chunks(2_000) {
        let names: Vec<String> = chunk.iter().map(|id| string_literal(id)).collect();
        let sql = format!(
            "SELECT * FROM ({}) WHERE active = 1",
            current_findings_where(db, Some(&format!("hearing_id IN ({})", names.join(", "))))
        );
        rows.extend(client.query(&sql).fetch_all::<FindingRow>().await?);
    }
    Ok(rows)
}

/// `text` as a ClickHouse string literal.
fn string_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        if matches!(c, '\\' | '\'') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// Writes rows in one insert; ClickHouse has them once this returns.
pub async fn insert_findings(
    client: &Client,
    rows: &[FindingRow],
) -> clickhouse::error::Result<()> {
    let mut insert = client.insert::<FindingRow>("findings_log").await?;
    for row in rows {
        insert.write(row).await?;
    }
    insert.end().await
}

/// The latest clock any processor recorded in `processor_clock`, in seconds since the
/// epoch; 0 when none has.
pub async fn latest_clock(client: &Client, db: &str) -> clickhouse::error::Result<u32> {
    client
        .query(&format!(
            "SELECT toUInt32(max(clock)) FROM {db}.processor_clock"
        ))
        .fetch_one::<u32>()
        .await
}

/// One row of `processor_clock`.
#[derive(Debug, Row, Serialize)]
pub struct ClockRow {
    pub processor: String,
    pub known_at: u32,
    pub clock: u32,
    pub lag: u64,
    pub pending_timers: u64,
}

/// Records the processor's clock.
pub async fn insert_clock(client: &Client, row: &ClockRow) -> clickhouse::error::Result<()> {
    let mut insert = client.insert::<ClockRow>("processor_clock").await?;
    insert.write(row).await?;
    insert.end().await
}

/// Counts of active findings of a month by what the columns look at.
#[derive(Debug, Row, Deserialize)]
struct CountRow {
    region: String,
    form: String,
    kind: String,
    rule: String,
    document: String,
    channel: String,
    n: u64,
}

/// The month's two tables from ClickHouse, as currently known or as known at an instant.
pub async fn rollup(
    client: &Client,
    db: &str,
    month: NaiveDate,
    known_at: Option<DateTime<Utc>>,
) -> Result<Rollup> {
    let sql = format!(
        "SELECT region, form, kind, rule, document, channel, toUInt64(count()) AS n FROM ({}) \
         WHERE active = 1 AND month = toDate('{month}') \
         GROUP BY region, form, kind, rule, document, channel",
        current_findings_sql(db, known_at)
    );
    let rows = client
        .query(&sql)
        .fetch_all::<CountRow>()
        .await
        .context("reading the rollup from ClickHouse")?;
    tracing::debug!(rows = rows.len(), %sql, "rollup counts read");
    let mut rollup = Rollup::empty(month);
    for row in rows {
        let (Ok(region), Ok(form)) = (row.region.parse::<Region>(), row.form.parse::<Form>())
        else {
            anyhow::bail!("ClickHouse holds a finding of unknown region or form: {row:?}");
        };
        let table = match form {
            Form::OpenMeeting => &mut rollup.open_meetings,
            Form::PublicDiscussion => &mut rollup.public_discussions,
        };
        let columns: Vec<_> = table
            .spec
            .columns
            .iter()
            .filter(|c| counts(c.count, &row))
            .map(|c| c.name)
            .collect();
        for column in columns {
            table.add(region, column, row.n);
        }
    }
    Ok(rollup)
}

/// Which violations `hearwatch violations` lists: a month and, to pick a cell of the
/// report, a region, form, rule and channel. Every value is one of the engine's types, so
/// the SQL is built from their wire names, never from what a user typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViolationFilter {
    /// The first day of the month the violations count in.
    pub month: NaiveDate,
    pub region: Option<Region>,
    pub form: Option<Form>,
    pub rule: Option<Rule>,
    pub channel: Option<Channel>,
}

/// The query behind [`violations`]: the `violations` view, or the current-state SQL as
/// known at an instant, with the columns of [`FindingRow`] in its order.
pub fn violations_sql(
    db: &str,
    filter: &ViolationFilter,
    known_at: Option<DateTime<Utc>>,
) -> String {
    let source = match known_at {
        None => format!("{db}.violations"),
        Some(k) => format!(
            "(SELECT * FROM ({}) WHERE active = 1 AND kind = 'violation')",
            current_findings_sql(db, Some(k))
        ),
    };
    let mut conditions = vec![format!("month = toDate('{}')", filter.month)];
    if let Some(r) = filter.region {
        conditions.push(format!("region = '{}'", r.code()));
    }
    if let Some(f) = filter.form {
        conditions.push(format!("form = '{}'", f.as_str()));
    }
    if let Some(r) = filter.rule {
        conditions.push(format!("rule = '{}'", r.as_str()));
    }
    if let Some(c) = filter.channel {
        conditions.push(format!("channel = '{}'", c.as_str()));
    }
    format!(
        "SELECT {IDENTITY}, {} FROM {source} WHERE {}",
        STATE.join(", "),
        conditions.join(" AND ")
    )
}

/// The active violations that match a filter, with their evidence, as currently known
/// or as known at an instant.
pub async fn violations(
    client: &Client,
    db: &str,
    filter: &ViolationFilter,
    known_at: Option<DateTime<Utc>>,
) -> Result<Vec<FindingRow>> {
    let sql = violations_sql(db, filter, known_at);
    client
        .query(&sql)
        .fetch_all::<FindingRow>()
        .await
        .with_context(|| {
            format!(
                "reading the violations of {} from database {db}",
                filter.month
            )
        })
}

/// Whether a count row belongs in a column; the Rust twin of [`condition`].
fn counts(count: Count, row: &CountRow) -> bool {
    match count {
        Count::Placements { document, channel } => {
            row.kind == "placement"
                && row.document == document.as_str()
                && row.channel == channel.as_str()
        }
        Count::Violations { rule, channel } => {
            row.kind == "violation"
                && row.rule == rule.as_str()
                && channel.is_none_or(|c| row.channel == c.as_str())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_literals_escape_quotes_and_backslashes() {
        assert_eq!(string_literal("KZ-19-OM-2025-0001"), "'KZ-19-OM-2025-0001'");
        assert_eq!(string_literal("a'b\\c"), "'a\\'b\\\\c'");
    }

    #[test]
    fn the_table_file_splits_into_its_statements() {
        let statements = split_statements(TABLE_FILES[0].1);
        assert_eq!(statements.len(), 3);
        assert!(statements[1].starts_with("CREATE TABLE IF NOT EXISTS {db}.findings_log"));
        assert!(statements
            .iter()
            .all(|s| !s.contains("--") && !s.ends_with(';')));
    }

    #[test]
    fn the_violations_query_filters_by_the_engines_names() {
        let filter = ViolationFilter {
            month: NaiveDate::from_ymd_opt(2025, 5, 1).unwrap(),
            region: "KZ-19".parse().ok(),
            form: Some(Form::PublicDiscussion),
            rule: Some(Rule::ProtocolMissing),
            channel: Some(Channel::MioWebsite),
        };
        let sql = violations_sql("hw", &filter, None);
        assert!(sql.starts_with("SELECT finding_id, hearing_id, kind,"));
        assert!(sql.ends_with(
            "FROM hw.violations WHERE month = toDate('2025-05-01') AND region = 'KZ-19' \
             AND form = 'public_discussion' AND rule = 'protocol_missing' \
             AND channel = 'mio_website'"
        ));
        let known_at = DateTime::from_timestamp(1_750_000_000, 0);
        let sql = violations_sql("hw", &filter, known_at);
        assert!(sql.contains("WHERE known_at <= toDateTime(1750000000)"));
        assert!(sql.contains("WHERE active = 1 AND kind = 'violation')"));
    }

    #[test]
    fn dates_and_instants_use_clickhouse_numbers() {
        assert_eq!(day_number(NaiveDate::from_ymd_opt(1970, 1, 2)), 1);
        assert_eq!(day_number(None), 0);
        // 2025-05-01 is 20209 days after 1970-01-01: 55 years of 365 days plus 14 leap days
        // (1972..=2024) is 20089, plus 120 days of January to April 2025.
        assert_eq!(day_number(NaiveDate::from_ymd_opt(2025, 5, 1)), 20209);
    }
}
