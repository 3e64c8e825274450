//! Reading inputs and writing outputs: NDJSON lines, times and months from flags, and
//! files written whole or not at all.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};

/// Opens a file for reading, or standard input for `-`.
pub fn open_input(path: &Path) -> Result<Box<dyn BufRead>> {
    if path == Path::new("-") {
        return Ok(Box::new(BufReader::new(std::io::stdin())));
    }
    if path.is_dir() {
        bail!("{} is a directory, not a file of events", path.display());
    }
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    Ok(Box::new(BufReader::with_capacity(1 << 20, file)))
}

/// Calls `each(line_number, bytes)` for every non-blank line of an input.
pub fn for_each_line(
    input: &mut dyn BufRead,
    mut each: impl FnMut(usize, &[u8]) -> Result<()>,
) -> Result<()> {
    let mut line = Vec::new();
    let mut number = 0;
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        number += 1;
        let trimmed = line.trim_ascii();
        if !trimmed.is_empty() {
            each(number, trimmed)?;
        }
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename, or to standard output.
pub fn write_output(path: Option<&Path>, bytes: &[u8]) -> Result<()> {
    let Some(path) = path else {
        let mut out = std::io::stdout().lock();
        out.write_all(bytes)?;
        return Ok(out.flush()?);
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file name", path.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}

/// An RFC 3339 instant from a flag.
pub fn parse_instant(flag: &str, value: &str) -> Result<DateTime<Utc>> {
    match DateTime::parse_from_rfc3339(value) {
        Ok(t) => Ok(t.with_timezone(&Utc)),
        Err(e) => bail!("{flag} {value:?} is not an RFC 3339 instant with an offset ({e}), e.g. 2025-07-01T00:00:00+05:00"),
    }
}

/// A `--known-at` instant: ClickHouse's `DateTime` holds 1970-01-01 to 2106-02-07 (UTC),
/// and an instant outside would wrap around silently, so it is refused.
pub fn parse_known_at(value: &str) -> Result<DateTime<Utc>> {
    parse_recordable("--known-at", value)
}

/// An instant from `flag` that ClickHouse's `DateTime` can record (1970-01-01 to
/// 2106-02-07, UTC); anything else would wrap around silently, so it is refused.
pub fn parse_recordable(flag: &str, value: &str) -> Result<DateTime<Utc>> {
    let at = parse_instant(flag, value)?;
    if !(0..=i64::from(u32::MAX)).contains(&at.timestamp()) {
        bail!("{flag} {value:?} is outside what ClickHouse records (1970-01-01T00:00:00Z to 2106-02-07T06:28:15Z)");
    }
    Ok(at)
}

/// The first day of a `YYYY-MM` month from a flag, or of the month before `now`'s.
pub fn parse_month(value: Option<&str>, now: DateTime<Utc>) -> Result<NaiveDate> {
    match value {
        Some(v) => NaiveDate::parse_from_str(&format!("{v}-01"), "%Y-%m-%d")
            .ok()
            .filter(|_| v.len() == 7)
            .with_context(|| format!("--month {v:?} is not a month like 2025-05"))
            .and_then(|month| {
                if (1970..=2105).contains(&month.year()) {
                    Ok(month)
                } else {
                    bail!("--month {v:?} is outside what ClickHouse records (1970-01 to 2105-12)")
                }
            }),
        None => {
            let this = now.date_naive().with_day(1).expect("day 1");
            Ok(this
                .checked_sub_months(Months::new(1))
                .expect("a previous month"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_at_clickhouse_cannot_record_is_refused() {
        assert!(parse_known_at("2025-07-01T00:00:00+05:00").is_ok());
        assert!(parse_known_at("2106-02-07T06:28:15Z").is_ok());
        for outside in [
            "2106-02-07T06:28:16Z",
            "1969-12-31T23:59:59Z",
            "0001-01-01T00:00:00Z",
        ] {
            let err = parse_known_at(outside).unwrap_err().to_string();
            assert!(
                err.contains("outside what ClickHouse records"),
                "{outside}: {err}"
            );
        }
    }
}
