//! `hearwatch explain`: one hearing's timeline, deadlines and verdicts, from a file of
//! events.
//!
//! The file is read as `replay` reads it (a line the processor would dead-letter is
//! reported and skipped), keeping only the hearing asked for; the engine's
//! [`explain`](hearwatch_engine::explain::explain) does the reasoning, and this module
//! prints it as text or JSON.

use std::fmt::Write as _;

use anyhow::{bail, Result};
use chrono::{DateTime, Utc};
use hearwatch_engine::engine::Outcome;
use hearwatch_engine::event::decode;
use hearwatch_engine::explain::{
    explain, DeadlineStatus, Explanation, HearingEvents, HistoryChange,
};
use tracing::warn;

use crate::cli::{ExplainArgs, ExplainFormat};
use crate::config::{load_data, FileConfig};
use crate::output::{for_each_line, open_input, parse_instant, write_output};

pub fn run(args: &ExplainArgs, file: &FileConfig) -> Result<()> {
    let (calendar, packs) = load_data(&args.data, file)?;
    let as_of = match &args.as_of {
        Some(t) => parse_instant("--as-of", t)?,
        None => Utc::now(),
    };
    if args.hearing.trim().is_empty() {
        bail!("--hearing is empty; give a hearing id such as KZ-19-OM-2025-0001");
    }
    let mut hearing = HearingEvents::default();
    let path = &args.events;
    let wanted = args.hearing.as_bytes();
    let mut input = open_input(path)?;
    for_each_line(&mut *input, |number, bytes| {
        if !bytes.windows(wanted.len()).any(|w| w == wanted) {
            return Ok(());
        }
        match decode(bytes, None) {
            Ok(event) if *event.hearing_id == *args.hearing => {
                if let Outcome::Rejected { reason, detail } = hearing.add(event) {
                    warn!("{}:{number}: skipped: {reason}: {detail}", path.display());
                }
            }
            Ok(_) => {}
            Err(e) => warn!("{}:{number}: skipped: {e}", path.display()),
        }
        Ok(())
    })?;
    let Some(explanation) = explain(hearing.events(), as_of, &calendar, &packs) else {
        bail!(
            "{} has no valid event of hearing {:?}",
            path.display(),
            args.hearing
        );
    };
    let text = match args.format {
        ExplainFormat::Text => render(&explanation),
        ExplainFormat::Json => serde_json::to_string_pretty(&explanation)? + "\n",
    };
    write_output(None, text.as_bytes())
}

/// The explanation as text for a terminal.
pub fn render(e: &Explanation) -> String {
    let mut out = String::new();
    let form = e.form.as_str().replace('_', " ");
    let _ = writeln!(
        out,
        "Hearing {}: {form}, {} {} (local dates in {})",
        e.hearing_id,
        e.region.code(),
        e.region.name(),
        e.zone
    );
    let local = e.as_of.with_timezone(&e.region.zone());
    let _ = writeln!(
        out,
        "As of {} ({} local)",
        instant(e.as_of),
        local.format("%Y-%m-%d %H:%M:%S %:z")
    );
    if let Some(pack) = &e.rule_pack {
        let _ = writeln!(
            out,
            "Rule pack of {}, {}: {}",
            pack.applies_from, pack.chosen_by, pack.source
        );
    }
    timeline(&mut out, e);
    deadlines(&mut out, e);
    violations(&mut out, e);
    history(&mut out, e);
    if let Some(wake) = e.next_wake {
        let _ = writeln!(out, "\nNext change by itself: {}", instant(wake));
    }
    out
}

fn timeline(out: &mut String, e: &Explanation) {
    let _ = writeln!(out, "\nTimeline (fold order: occurred_at, then event_id)");
    for entry in &e.timeline {
        let mark = if entry.counted { ' ' } else { '·' };
        let _ = writeln!(
            out,
            "{mark} {}  {:<22} {}",
            entry.local_time, entry.kind, entry.event_id
        );
        if !entry.details.is_empty() {
            let _ = writeln!(out, "      {}", entry.details);
        }
        let _ = writeln!(out, "      → {}", entry.effect);
    }
}

fn deadlines(out: &mut String, e: &Explanation) {
    let _ = writeln!(out, "\nDeadlines");
    if e.deadlines.is_empty() {
        let _ = writeln!(out, "  none known yet");
    }
    for d in &e.deadlines {
        let _ = writeln!(
            out,
            "  {}: {} working day(s) after {} ({})",
            d.document, d.working_days, d.base, d.base_from
        );
        for day in &d.days {
            let n = day
                .working_day
                .map_or("   ".to_string(), |n| format!("{n:>2}."));
            let _ = writeln!(out, "    {n} {} {}  {}", day.date, day.weekday, day.why);
        }
        let status = match &d.status {
            DeadlineStatus::Pending => "pending".to_string(),
            DeadlineStatus::Passed => "passed".to_string(),
            DeadlineStatus::RemovedByCancellation { cancelled_at } => {
                format!("removed by the cancellation at {}", instant(*cancelled_at))
            }
            DeadlineStatus::WaitingForCalendar { year } => format!(
                "waiting: the calendar has no data for {year}, so the last day is not guessed"
            ),
        };
        match (d.last_day, d.deadline_at) {
            (Some(last), Some(at)) => {
                let _ = writeln!(
                    out,
                    "    last day {last}; deadline instant {} (the end of that day); {status}",
                    instant(at)
                );
            }
            _ => {
                let _ = writeln!(out, "    {status}");
            }
        }
        for c in &d.channels {
            let published = c
                .first_published_on
                .map_or("not published".to_string(), |p| format!("published {p}"));
            let _ = writeln!(out, "    {:<19} {published}: {}", c.channel, c.outcome);
        }
        for s in &d.superseded {
            let last = s.last_day.map_or("unknown".to_string(), |l| l.to_string());
            let _ = writeln!(
                out,
                "    earlier base {} (last day {last}), replaced at {} by {}: {}",
                s.base,
                instant(s.replaced_at),
                s.replaced_by,
                s.note
            );
        }
    }
}

fn violations(out: &mut String, e: &Explanation) {
    let _ = writeln!(out, "\nViolations");
    if e.violations.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for v in &e.violations {
        let _ = writeln!(
            out,
            "  {} on {} (counted in {}): {}",
            v.rule,
            v.channel,
            v.month.format("%Y-%m"),
            v.why
        );
    }
}

fn history(out: &mut String, e: &Explanation) {
    let _ = writeln!(
        out,
        "\nHistory (the clock running to the as-of instant, each event arriving when it occurred)"
    );
    if e.history.is_empty() {
        let _ = writeln!(out, "  nothing emitted");
    }
    for h in &e.history {
        let change = match h.change {
            HistoryChange::Emitted => "+",
            HistoryChange::Updated => "~",
            HistoryChange::Retracted => "-",
        };
        let _ = writeln!(
            out,
            "  {}  {change} {}  ({})",
            instant(h.at),
            h.finding,
            h.cause
        );
    }
}

fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
