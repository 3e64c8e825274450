//! `hearwatch calendar`: a year's days, working or off, with the reason for each day off.

use std::fmt::Write as _;

use anyhow::{bail, Result};
use chrono::{Datelike, NaiveDate};
use hearwatch_engine::calendar::{DayKind, OffReason, WorkingReason};
use hearwatch_engine::region::Region;

use crate::cli::CalendarArgs;
use crate::config::{load_data, FileConfig};
use crate::output::write_output;

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

pub fn run(args: &CalendarArgs, file: &FileConfig) -> Result<()> {
    let (calendar, _) = load_data(&args.data, file)?;
    let region = match &args.region {
        Some(code) => match code.parse::<Region>() {
            Ok(r) => Some(r),
            Err(()) => bail!("--region {code:?} is not a region code such as KZ-71"),
        },
        None => None,
    };
    let Some(first) = NaiveDate::from_ymd_opt(args.year, 1, 1) else {
        bail!("--year {} is not a year", args.year);
    };
    if calendar.day(first).is_none() {
        bail!(
            "no calendar data for {}: the known years are {:?}; add data/calendar/{}.toml or a file in --calendar-dir",
            args.year,
            calendar.years(),
            args.year
        );
    }
    let mut out = String::new();
    if let Some(r) = region {
        let _ = writeln!(
            out,
            "# {} {} — local dates in {}",
            r.code(),
            r.name(),
            r.zone().name()
        );
    }
    let (mut working, mut off) = (0, 0);
    for date in first.iter_days().take_while(|d| d.year() == args.year) {
        let day = calendar.day(date).expect("the year has data");
        let weekday = WEEKDAYS[date.weekday().num_days_from_monday() as usize];
        let what = match &day.kind {
            DayKind::Working(reason) => {
                working += 1;
                match reason {
                    WorkingReason::Weekday => "working".to_string(),
                    WorkingReason::TransferredWorkingDay { source } => {
                        format!("working   weekend day made a working day ({source})")
                    }
                }
            }
            DayKind::Off(reason) => {
                off += 1;
                format!("off       {}", describe(reason))
            }
        };
        let _ = writeln!(out, "{date} {weekday}  {what}");
    }
    let _ = writeln!(
        out,
        "# {}: {working} working days, {off} days off",
        args.year
    );
    write_output(None, out.as_bytes())
}

fn describe(reason: &OffReason) -> String {
    match reason {
        OffReason::Weekend => "weekend".to_string(),
        OffReason::Holiday {
            name,
            source,
            verified,
        } => {
            let mark = if *verified { "" } else { ", unverified" };
            format!("holiday: {name} ({source}{mark})")
        }
        OffReason::MovedHoliday { name, from } => {
            format!("moved holiday: {name} of {from}, which fell on a weekend")
        }
        OffReason::TransferredDayOff { source } => format!("day off by transfer ({source})"),
    }
}
