//! `hearwatch replay`: the engine in-process over a file of events.
//!
//! The file is read whole; each line is decoded as a Kafka message would be, so a line that
//! the processor would dead-letter is reported here with its line number and skipped.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use hearwatch_engine::calendar::Calendar;
use hearwatch_engine::engine::{Engine, Outcome};
use hearwatch_engine::event::decode;
use hearwatch_engine::report::{self, month_key, Format};
use hearwatch_engine::rollup::Rollup;
use hearwatch_engine::rule::RulePacks;
use hearwatch_engine::verdict::Finding;
use serde_json::json;
use tracing::{info, warn};

use crate::cli::{ReplayArgs, ReportFormat};
use crate::config::{load_data, FileConfig};
use crate::output::{for_each_line, open_input, parse_instant, parse_month, write_output};

/// What reading a file of events did.
#[derive(Debug, Default)]
pub struct ReplayStats {
    pub lines: usize,
    pub applied: usize,
    pub duplicates: usize,
    pub rejected: usize,
}

/// Runs every event of `path` through a fresh engine whose clock stands at `as_of`.
pub fn replay_file(
    path: &Path,
    as_of: DateTime<Utc>,
    calendar: Arc<Calendar>,
    packs: Arc<RulePacks>,
) -> Result<(Engine, ReplayStats)> {
    let mut engine = Engine::new(calendar, packs, as_of);
    engine.hold();
    let mut stats = ReplayStats::default();
    let mut input = open_input(path)?;
    for_each_line(&mut *input, |number, bytes| {
        stats.lines += 1;
        let event = match decode(bytes, None) {
            Ok(event) => event,
            Err(e) => {
                stats.rejected += 1;
                warn!("{}:{number}: skipped: {e}", path.display());
                return Ok(());
            }
        };
        match engine.ingest(event).0 {
            Outcome::Applied => stats.applied += 1,
            Outcome::Duplicate => stats.duplicates += 1,
            Outcome::Rejected { reason, detail } => {
                stats.rejected += 1;
                warn!("{}:{number}: skipped: {reason}: {detail}", path.display());
            }
        }
        Ok(())
    })?;
    engine.release();
    Ok((engine, stats))
}

pub fn run(args: &ReplayArgs, file: &FileConfig) -> Result<()> {
    let (calendar, packs) = load_data(&args.data, file)?;
    let as_of = match &args.as_of {
        Some(t) => parse_instant("--as-of", t)?,
        None => Utc::now(),
    };
    let month = parse_month(args.output.month.as_deref(), as_of)?;
    check_destination(args.output.format, args.output.output.as_deref())?;
    let (engine, stats) = replay_file(&args.events, as_of, calendar, packs)?;
    info!(
        lines = stats.lines,
        applied = stats.applied,
        duplicates = stats.duplicates,
        rejected = stats.rejected,
        as_of = %as_of.to_rfc3339(),
        "replayed {}",
        args.events.display()
    );
    let findings = engine.findings();
    let bytes = match args.output.format {
        ReportFormat::Ndjson => violations_ndjson(findings.iter()).into_bytes(),
        other => render_report(&Rollup::from_findings(month, &findings), other)?,
    };
    write_output(args.output.output.as_deref(), &bytes)
}

/// The engine's report formats for the CLI's; `ndjson` and `xlsx` are handled by the caller.
pub fn report_format(format: ReportFormat) -> Format {
    match format {
        ReportFormat::Table | ReportFormat::Ndjson | ReportFormat::Xlsx => Format::Table,
        ReportFormat::Json => Format::Json,
        ReportFormat::Csv => Format::Csv,
        ReportFormat::Markdown => Format::Markdown,
        ReportFormat::Html => Format::Html,
    }
}

/// A month's report in a format other than `ndjson`, as the bytes to write.
pub fn render_report(rollup: &Rollup, format: ReportFormat) -> Result<Vec<u8>> {
    match format {
        ReportFormat::Xlsx => crate::xlsx::workbook(rollup).with_context(|| {
            format!(
                "cannot build the xlsx workbook of {}",
                month_key(rollup.month)
            )
        }),
        other => Ok(report::render(rollup, report_format(other)).into_bytes()),
    }
}

/// Refuses, before any work, a binary format without a file to write it to.
pub fn check_destination(format: ReportFormat, output: Option<&Path>) -> Result<()> {
    if format == ReportFormat::Xlsx && output.is_none() {
        anyhow::bail!(
            "--format xlsx writes a binary workbook, which is not for a terminal or a pipe: \
             give --output FILE, e.g. --output report.xlsx"
        );
    }
    Ok(())
}

/// Every active violation as one JSON object per line, sorted by hearing and rule.
pub fn violations_ndjson<'a>(findings: impl Iterator<Item = &'a Finding>) -> String {
    let mut lines: Vec<String> = findings
        .filter_map(|f| match f {
            Finding::Violation(v) => Some(v),
            Finding::Placement(_) => None,
        })
        .map(|v| {
            let published = v.published.as_ref();
            json!({
                "hearing_id": v.hearing_id,
                "region": v.region.code(),
                "form": v.form.as_str(),
                "rule": v.rule.as_str(),
                "document": v.document.as_str(),
                "channel": v.channel.as_str(),
                "month": month_key(v.month),
                "deadline_on": v.deadline_on,
                "deadline_at": v.deadline_at,
                "hearing_on": v.hearing_on,
                "published_at": published.map(|p| p.published_at),
                "published_on": published.map(|p| p.published_on),
                "declared_on": published.and_then(|p| p.declared_on),
                "url": published.and_then(|p| p.url.clone()),
                "event_id": published.map(|p| p.event_id.clone()),
            })
            .to_string()
        })
        .collect();
    lines.sort();
    let mut out = lines.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    out
}
