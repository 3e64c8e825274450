//! Working days of the Kazakh five-day week, from dated data.
//!
//! This module owns one question: which local dates are working days, and which date is
//! the Nth working day after another (the law counts publication deadlines in working
//! days). The answer comes from one TOML file per year, `data/calendar/<year>.toml`,
//! listing that year's statutory holidays and the days moved by its transfer order, each
//! entry with its source. The files are embedded at build time ([`Calendar::builtin`]);
//! an operator adds next year, or corrects a year, from a directory
//! ([`Calendar::with_dir`]) without a release.
//!
//! It does not own time zones or instants: callers pass the local date of the responsible
//! body. It never guesses: a date in a year without a file answers `None`.
//!
//! # The rule
//!
//! A date is a working day when it is Monday to Friday and not a day off, or when the
//! year's transfer order made it a working day (only a Saturday or Sunday can be made
//! one). The days off are the holidays on their own dates; the moved days; and the
//! weekdays the transfer order made days off.
//!
//! Moved days are computed, never listed. Holidays are taken in date order, and each one
//! marked `moves_if_weekend` that falls on a Saturday or Sunday moves to the next *plain
//! weekday*: a day that is not Saturday or Sunday (even one the transfer order made a
//! working day), not a holiday, not an already moved day and not a transferred day off.
//! So 21 and 22 March 2026 (Saturday, Sunday) move to 24 and 25 March, because 23 March
//! is itself a holiday. 7 January and Kurban Ait are marked not to move.
//!
//! A transfer and the shift never share a day. A transfer on a holiday's date is rejected
//! as a duplicate date, a transfer that makes a working day is always a weekend day, which
//! the shift passes over, and a moved day passes over a transferred day off instead of
//! landing on it, so both days off are kept. That collision did not occur in 2023–2026;
//! keeping both days off is the reading that never shortens a body's time to publish.
//! A moved day that would leave the year is rejected, since a year's file only speaks
//! for that year.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::ops::RangeInclusive;
use std::path::Path;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Deserialize;

/// The data files embedded in the binary: the name used in messages, and the text.
///
/// A new year's file in `data/calendar/` needs a line here too; the test
/// `builtin_embeds_every_data_file` fails until it has one.
const BUILTIN: [(&str, &str); 4] = [
    (
        "data/calendar/2023.toml",
        include_str!("../../../data/calendar/2023.toml"),
    ),
    (
        "data/calendar/2024.toml",
        include_str!("../../../data/calendar/2024.toml"),
    ),
    (
        "data/calendar/2025.toml",
        include_str!("../../../data/calendar/2025.toml"),
    ),
    (
        "data/calendar/2026.toml",
        include_str!("../../../data/calendar/2026.toml"),
    ),
];

/// The years a file may describe; anything else is a typo, not a calendar.
const PLAUSIBLE_YEARS: RangeInclusive<i32> = 1900..=9999;

/// The working days of every year that has a data file.
///
/// Each year is precomputed when loaded, so [`Calendar::is_working_day`] is a lookup and
/// [`Calendar::nth_working_day_after`] a binary search, neither allocating.
#[derive(Clone, Debug)]
pub struct Calendar {
    years: BTreeMap<i32, Year>,
}

/// A date and what it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Day {
    /// The local date.
    pub date: NaiveDate,
    /// Working day or day off, and why.
    pub kind: DayKind,
}

/// Whether a date is a working day or a day off, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DayKind {
    /// A working day.
    Working(WorkingReason),
    /// A day off.
    Off(OffReason),
}

/// Why a date is a working day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkingReason {
    /// Monday to Friday, with no holiday, moved day or transfer on it.
    Weekday,
    /// A Saturday or Sunday that the year's transfer order made a working day.
    TransferredWorkingDay {
        /// The transfer entry's source.
        source: String,
    },
}

/// Why a date is a day off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OffReason {
    /// Saturday or Sunday.
    Weekend,
    /// A statutory holiday on its own date (also when that date is a weekend day).
    Holiday {
        /// The holiday's name in the law.
        name: String,
        /// The holiday entry's source.
        source: String,
        /// False when the entry is marked unverified in the data.
        verified: bool,
    },
    /// The day off that a holiday falling on a weekend moved to.
    MovedHoliday {
        /// The holiday's name in the law.
        name: String,
        /// The holiday's own date.
        from: NaiveDate,
    },
    /// A weekday that the year's transfer order made a day off.
    TransferredDayOff {
        /// The transfer entry's source.
        source: String,
    },
}

/// Why calendar data could not be loaded.
///
/// `Read` may pass once the file system is fixed; every other variant is permanent until
/// the data file is corrected.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    /// A directory or file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The directory or file.
        path: String,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The text is not TOML of the calendar's shape (a missing or unknown field, too).
    #[error("{file}: {message}")]
    Syntax {
        /// The file, as named by the caller.
        file: String,
        /// The TOML parser's message, with line and column.
        message: String,
    },
    /// The file as a whole is wrong: its name, its year, or a year given twice.
    #[error("{file}: {problem}")]
    File {
        /// The file, as named by the caller.
        file: String,
        /// What is wrong.
        problem: String,
    },
    /// One entry is wrong.
    #[error("{file}: {entry}: {problem}")]
    Entry {
        /// The file, as named by the caller.
        file: String,
        /// The entry's table and 1-based position in the file, like `holiday 3`.
        entry: String,
        /// What is wrong.
        problem: String,
    },
}

impl DayKind {
    /// True for a working day.
    pub fn is_working(&self) -> bool {
        matches!(self, DayKind::Working(_))
    }
}

impl Calendar {
    /// The calendar of the embedded `data/calendar/*.toml` files.
    pub fn builtin() -> Calendar {
        let files: Vec<(String, String)> = BUILTIN
            .iter()
            .map(|&(file, text)| (file.to_string(), text.to_string()))
            .collect();
        // The test `builtin_loads_2023_to_2026` keeps this from ever failing at run time.
        Calendar::from_files(&files).expect("the embedded calendar data is valid")
    }

    /// Loads years from `(file name, TOML text)` pairs; the name is used in messages and
    /// must be the year (`2025.toml`, in any directory).
    ///
    /// Rejects a year that does not match its file name, a date outside its year, a date
    /// used twice in one file, a transfer on the wrong kind of day, a moved day that would
    /// leave the year, and a year given by two files.
    pub fn from_files(files: &[(String, String)]) -> Result<Calendar, CalendarError> {
        let mut years: BTreeMap<i32, Year> = BTreeMap::new();
        for (file, text) in files {
            let year = Year::parse(file, text)?;
            if let Some(earlier) = years.get(&year.year) {
                let problem = format!("year {} is already loaded from {}", year.year, earlier.file);
                return Err(file_error(file, problem));
            }
            years.insert(year.year, year);
        }
        Ok(Calendar { years })
    }

    /// Adds every `*.toml` file of `dir`, each adding a year or replacing a loaded one.
    ///
    /// Nothing is half applied: on an error, no file of `dir` is used.
    pub fn with_dir(mut self, dir: &Path) -> Result<Calendar, CalendarError> {
        let loaded = Calendar::from_files(&read_toml_files(dir)?)?;
        self.years.extend(loaded.years);
        Ok(self)
    }

    /// The `(file name, TOML text)` of every year, ascending: the input of
    /// [`Calendar::from_files`] that gives this calendar again.
    pub fn files(&self) -> Vec<(String, String)> {
        self.years
            .values()
            .map(|y| (y.file.clone(), y.text.clone()))
            .collect()
    }

    /// The years that have data, ascending.
    pub fn years(&self) -> Vec<i32> {
        self.years.keys().copied().collect()
    }

    /// What `date` is, or `None` when its year has no file.
    pub fn day(&self, date: NaiveDate) -> Option<Day> {
        let year = self.years.get(&date.year())?;
        let kind = year.kind(year.slot(date));
        Some(Day { date, kind })
    }

    /// Whether `date` is a working day, or `None` when its year has no file.
    pub fn is_working_day(&self, date: NaiveDate) -> Option<bool> {
        let year = self.years.get(&date.year())?;
        Some(year.slot(date).is_working())
    }

    /// The `n`th working day strictly after `date` (`n = 0` gives `date` itself).
    ///
    /// `None` when the answer needs a year without a file: the calendar never guesses a
    /// year's holidays. Only the days counted are needed, so from the last day of a year
    /// without a file the count runs in the next year's; `n = 0` needs `date`'s own year.
    pub fn nth_working_day_after(&self, date: NaiveDate, n: u32) -> Option<NaiveDate> {
        if n == 0 {
            return self.years.get(&date.year()).map(|_| date);
        }
        let first = date.succ_opt()?;
        let mut year = self.years.get(&first.year())?;
        let mut skipped = if first.year() == date.year() {
            year.working_up_to(date)
        } else {
            0
        };
        let mut remaining = n as usize;
        loop {
            let available = year.working.len() - skipped;
            if remaining <= available {
                return year.date(year.working[skipped + remaining - 1]);
            }
            remaining -= available;
            year = self.years.get(&(year.year + 1))?;
            skipped = 0;
        }
    }

    /// A stable hash of the loaded data, to notice a calendar change.
    ///
    /// FNV-1a (64 bit) over every entry of every year in date order, fields
    /// length-prefixed: the order of entries in a file and the file names do not count,
    /// any other edit does (a source or a `verified` flag included).
    pub fn fingerprint(&self) -> u64 {
        let mut hash = Fnv1a::new();
        for year in self.years.values() {
            year.hash_into(&mut hash);
        }
        hash.finish()
    }
}

/// One year: its entries as written, and its days precomputed.
#[derive(Clone)]
struct Year {
    year: i32,
    /// The file it came from, for messages.
    file: String,
    /// The file's text, which engine snapshots carry.
    text: String,
    holidays: Vec<Holiday>,
    transfers: Vec<Transfer>,
    dropped: Vec<DroppedHoliday>,
    /// One per day of the year, indexed by the 0-based ordinal.
    slots: Vec<Slot>,
    /// The 0-based ordinals of the working days, ascending.
    working: Vec<u16>,
}

/// What one day of a year is; the index points into the year's entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Weekday,
    Weekend,
    Holiday(usize),
    Moved(usize),
    TransferWorking(usize),
    TransferOff(usize),
}

/// A statutory holiday, checked.
#[derive(Clone, Debug)]
struct Holiday {
    date: NaiveDate,
    name: String,
    moves_if_weekend: bool,
    source: String,
    verified: bool,
}

/// A day moved by a transfer order, checked.
#[derive(Clone, Debug)]
struct Transfer {
    date: NaiveDate,
    working: bool,
    source: String,
    verified: bool,
}

/// A holiday of earlier years that is not one this year, checked. It changes no day.
#[derive(Clone, Debug)]
struct DroppedHoliday {
    date: NaiveDate,
    name: String,
    source: String,
    verified: bool,
}

impl Year {
    /// Parses and checks one file, then precomputes its days.
    fn parse(file: &str, text: &str) -> Result<Year, CalendarError> {
        let raw: RawFile = toml::from_str(text).map_err(|err| CalendarError::Syntax {
            file: file.to_string(),
            message: err.to_string().trim_end().to_string(),
        })?;
        check_year(file, raw.year)?;
        let mut check = Checker {
            file,
            year: raw.year,
            seen: BTreeMap::new(),
        };
        let holidays = numbered(&raw.holiday, |i, raw| check.holiday(i, raw))?;
        let transfers = numbered(&raw.transfer, |i, raw| check.transfer(i, raw))?;
        let dropped = numbered(&raw.dropped_holiday, |i, raw| check.dropped(i, raw))?;
        let slots = build_slots(raw.year, &holidays, &transfers)
            .map_err(|i| check.no_day_to_move_to(i, &holidays[i]))?;
        let working = working_ordinals(&slots);
        let file = file.to_string();
        Ok(Year {
            year: raw.year,
            file,
            text: text.to_string(),
            holidays,
            transfers,
            dropped,
            slots,
            working,
        })
    }

    fn slot(&self, date: NaiveDate) -> Slot {
        self.slots[date.ordinal0() as usize]
    }

    /// How many working days of this year fall on or before `date` (of this year).
    fn working_up_to(&self, date: NaiveDate) -> usize {
        let ordinal = date.ordinal0() as u16;
        self.working.partition_point(|&day| day <= ordinal)
    }

    fn date(&self, ordinal0: u16) -> Option<NaiveDate> {
        NaiveDate::from_yo_opt(self.year, u32::from(ordinal0) + 1)
    }

    fn kind(&self, slot: Slot) -> DayKind {
        match slot {
            Slot::Weekday => DayKind::Working(WorkingReason::Weekday),
            Slot::TransferWorking(i) => {
                let source = self.transfers[i].source.clone();
                DayKind::Working(WorkingReason::TransferredWorkingDay { source })
            }
            Slot::Weekend => DayKind::Off(OffReason::Weekend),
            Slot::Holiday(i) => {
                let Holiday {
                    name,
                    source,
                    verified,
                    ..
                } = self.holidays[i].clone();
                DayKind::Off(OffReason::Holiday {
                    name,
                    source,
                    verified,
                })
            }
            Slot::Moved(i) => {
                let holiday = &self.holidays[i];
                let (name, from) = (holiday.name.clone(), holiday.date);
                DayKind::Off(OffReason::MovedHoliday { name, from })
            }
            Slot::TransferOff(i) => {
                let source = self.transfers[i].source.clone();
                DayKind::Off(OffReason::TransferredDayOff { source })
            }
        }
    }

    /// Feeds the year's canonical form (entries in date order) to `hash`.
    fn hash_into(&self, hash: &mut Fnv1a) {
        hash.field(b"year");
        hash.field(&self.year.to_le_bytes());
        for holiday in sorted_by_date(&self.holidays, |h| h.date) {
            hash.field(b"holiday");
            hash.date(holiday.date);
            hash.field(holiday.name.as_bytes());
            hash.flag(holiday.moves_if_weekend);
            hash.field(holiday.source.as_bytes());
            hash.flag(holiday.verified);
        }
        for transfer in sorted_by_date(&self.transfers, |t| t.date) {
            hash.field(b"transfer");
            hash.date(transfer.date);
            hash.flag(transfer.working);
            hash.field(transfer.source.as_bytes());
            hash.flag(transfer.verified);
        }
        for dropped in sorted_by_date(&self.dropped, |d| d.date) {
            hash.field(b"dropped_holiday");
            hash.date(dropped.date);
            hash.field(dropped.name.as_bytes());
            hash.field(dropped.source.as_bytes());
            hash.flag(dropped.verified);
        }
    }
}

impl fmt::Debug for Year {
    /// The entries' counts instead of 365 slots.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Year")
            .field("year", &self.year)
            .field("file", &self.file)
            .field("holidays", &self.holidays.len())
            .field("transfers", &self.transfers.len())
            .field("dropped", &self.dropped.len())
            .field("working_days", &self.working.len())
            .finish_non_exhaustive()
    }
}

impl Slot {
    fn is_working(self) -> bool {
        matches!(self, Slot::Weekday | Slot::TransferWorking(_))
    }
}

/// The days of `year`: weekdays and weekends, then transfers, then holidays on their own
/// dates, then the moved days (see the module doc). On failure, the index of the holiday
/// whose moved day would leave the year.
fn build_slots(
    year: i32,
    holidays: &[Holiday],
    transfers: &[Transfer],
) -> Result<Vec<Slot>, usize> {
    let mut slots: Vec<Slot> = days_of(year)
        .map(|date| {
            if is_weekend(date) {
                Slot::Weekend
            } else {
                Slot::Weekday
            }
        })
        .collect();
    for (i, transfer) in transfers.iter().enumerate() {
        let slot = if transfer.working {
            Slot::TransferWorking(i)
        } else {
            Slot::TransferOff(i)
        };
        slots[transfer.date.ordinal0() as usize] = slot;
    }
    for (i, holiday) in holidays.iter().enumerate() {
        slots[holiday.date.ordinal0() as usize] = Slot::Holiday(i);
    }
    let mut order: Vec<usize> = (0..holidays.len()).collect();
    order.sort_by_key(|&i| holidays[i].date);
    for i in order {
        let holiday = &holidays[i];
        if holiday.moves_if_weekend && is_weekend(holiday.date) {
            let after = holiday.date.ordinal0() as usize + 1;
            let target = (after..slots.len())
                .find(|&day| slots[day] == Slot::Weekday)
                .ok_or(i)?;
            slots[target] = Slot::Moved(i);
        }
    }
    Ok(slots)
}

fn working_ordinals(slots: &[Slot]) -> Vec<u16> {
    let working = slots
        .iter()
        .enumerate()
        .filter(|(_, slot)| slot.is_working());
    working.map(|(ordinal0, _)| ordinal0 as u16).collect()
}

fn days_of(year: i32) -> impl Iterator<Item = NaiveDate> {
    let first = NaiveDate::from_ymd_opt(year, 1, 1).expect("a plausible year has a 1 January");
    first
        .iter_days()
        .take_while(move |date| date.year() == year)
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

fn sorted_by_date<T>(entries: &[T], date: impl Fn(&T) -> NaiveDate) -> Vec<&T> {
    let mut sorted: Vec<&T> = entries.iter().collect();
    sorted.sort_by_key(|entry| date(entry));
    sorted
}

/// Checks a file's year against its name (`2025.toml`) and the plausible range.
fn check_year(file: &str, year: i32) -> Result<(), CalendarError> {
    if !PLAUSIBLE_YEARS.contains(&year) {
        return Err(file_error(
            file,
            format!("year {year} is outside 1900–9999"),
        ));
    }
    let stem = Path::new(file).file_stem().and_then(|stem| stem.to_str());
    if stem != Some(year.to_string().as_str()) {
        let problem =
            format!("year {year} does not match the file name, which must be {year}.toml");
        return Err(file_error(file, problem));
    }
    Ok(())
}

fn file_error(file: &str, problem: String) -> CalendarError {
    CalendarError::File {
        file: file.to_string(),
        problem,
    }
}

/// Every `*.toml` file of `dir` as `(path, text)`, sorted by path.
fn read_toml_files(dir: &Path) -> Result<Vec<(String, String)>, CalendarError> {
    let read_error = |path: &Path, source| CalendarError::Read {
        path: path.display().to_string(),
        source,
    };
    let mut paths = Vec::new();
    for entry in fs::read_dir(dir).map_err(|err| read_error(dir, err))? {
        let path = entry.map_err(|err| read_error(dir, err))?.path();
        if path.extension().is_some_and(|ext| ext == "toml") && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    let read = |path: &Path| fs::read_to_string(path).map_err(|err| read_error(path, err));
    paths
        .iter()
        .map(|path| Ok((path.display().to_string(), read(path)?)))
        .collect()
}

/// Applies `check` to each entry with its 0-based position.
fn numbered<R, T>(
    raw: &[R],
    mut check: impl FnMut(usize, &R) -> Result<T, CalendarError>,
) -> Result<Vec<T>, CalendarError> {
    raw.iter()
        .enumerate()
        .map(|(i, raw)| check(i, raw))
        .collect()
}

/// Checks the entries of one file, remembering which entry used each date.
struct Checker<'a> {
    file: &'a str,
    year: i32,
    seen: BTreeMap<NaiveDate, String>,
}

impl Checker<'_> {
    fn holiday(&mut self, i: usize, raw: &RawHoliday) -> Result<Holiday, CalendarError> {
        let entry = format!("holiday {}", i + 1);
        Ok(Holiday {
            date: self.date(&entry, &raw.date)?,
            name: self.text(&entry, "name", &raw.name)?,
            moves_if_weekend: raw.moves_if_weekend,
            source: self.text(&entry, "source", &raw.source)?,
            verified: raw.verified,
        })
    }

    fn transfer(&mut self, i: usize, raw: &RawTransfer) -> Result<Transfer, CalendarError> {
        let entry = format!("transfer {}", i + 1);
        let date = self.date(&entry, &raw.date)?;
        if raw.working != is_weekend(date) {
            let needs = if raw.working {
                "working = true needs a Saturday or Sunday"
            } else {
                "working = false needs a weekday"
            };
            let problem = format!("{needs}, but {date} is a {}", date.format("%A"));
            return Err(self.error(&entry, problem));
        }
        Ok(Transfer {
            date,
            working: raw.working,
            source: self.text(&entry, "source", &raw.source)?,
            verified: raw.verified,
        })
    }

    fn dropped(&mut self, i: usize, raw: &RawDropped) -> Result<DroppedHoliday, CalendarError> {
        let entry = format!("dropped_holiday {}", i + 1);
        Ok(DroppedHoliday {
            date: self.date(&entry, &raw.date)?,
            name: self.text(&entry, "name", &raw.name)?,
            source: self.text(&entry, "source", &raw.source)?,
            verified: raw.verified,
        })
    }

    /// Parses a `YYYY-MM-DD` date of this file's year that no earlier entry used.
    fn date(&mut self, entry: &str, text: &str) -> Result<NaiveDate, CalendarError> {
        let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| self.error(entry, format!("date {text} is not a date")))?;
        if date.year() != self.year {
            return Err(self.error(entry, format!("date {text} is outside year {}", self.year)));
        }
        if let Some(other) = self.seen.insert(date, entry.to_string()) {
            return Err(self.error(entry, format!("date {text} is already used by {other}")));
        }
        Ok(date)
    }

    fn text(&self, entry: &str, field: &str, value: &str) -> Result<String, CalendarError> {
        if value.trim().is_empty() {
            return Err(self.error(entry, format!("{field} is empty")));
        }
        Ok(value.to_string())
    }

    /// The error for holiday `i` (0-based, file order) whose moved day would leave the year.
    fn no_day_to_move_to(&self, i: usize, holiday: &Holiday) -> CalendarError {
        let problem = format!(
            "{} falls on a weekend and no weekday is left in {} to move it to",
            holiday.date, self.year
        );
        self.error(&format!("holiday {}", i + 1), problem)
    }

    fn error(&self, entry: &str, problem: String) -> CalendarError {
        let (file, entry) = (self.file.to_string(), entry.to_string());
        CalendarError::Entry {
            file,
            entry,
            problem,
        }
    }
}

/// A year's file as written (see the comment at the top of each data file).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    year: i32,
    holiday: Vec<RawHoliday>,
    #[serde(default)]
    transfer: Vec<RawTransfer>,
    #[serde(default)]
    dropped_holiday: Vec<RawDropped>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHoliday {
    date: String,
    name: String,
    moves_if_weekend: bool,
    source: String,
    verified: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTransfer {
    date: String,
    working: bool,
    source: String,
    verified: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDropped {
    date: String,
    name: String,
    source: String,
    verified: bool,
}

/// FNV-1a, 64 bit: simple, and the same on every platform and release.
struct Fnv1a(u64);

impl Fnv1a {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    fn new() -> Fnv1a {
        Fnv1a(Self::OFFSET_BASIS)
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
    }

    /// A length-prefixed field, so that no two different entries hash the same stream.
    fn field(&mut self, bytes: &[u8]) {
        self.bytes(&(bytes.len() as u64).to_le_bytes());
        self.bytes(bytes);
    }

    fn date(&mut self, date: NaiveDate) {
        self.field(date.format("%Y-%m-%d").to_string().as_bytes());
    }

    fn flag(&mut self, flag: bool) {
        self.bytes(&[u8::from(flag)]);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::OnceLock;

    use proptest::prelude::*;

    use super::*;

    fn cal() -> &'static Calendar {
        static CALENDAR: OnceLock<Calendar> = OnceLock::new();
        CALENDAR.get_or_init(Calendar::builtin)
    }

    fn d(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).expect("a test date exists")
    }

    fn kind(date: NaiveDate) -> DayKind {
        cal().day(date).expect("the year has a file").kind
    }

    fn assert_moved(to: NaiveDate, from: NaiveDate, name: &str) {
        let expected = DayKind::Off(OffReason::MovedHoliday {
            name: name.to_string(),
            from,
        });
        assert_eq!(kind(to), expected, "{from} should move to {to}");
    }

    fn assert_holiday(date: NaiveDate, name: &str) {
        match kind(date) {
            DayKind::Off(OffReason::Holiday { name: found, .. }) => assert_eq!(found, name),
            other => panic!("{date} should be the holiday {name}, is {other:?}"),
        }
    }

    fn holiday_toml(date: &str, moves_if_weekend: bool) -> String {
        format!(
            "[[holiday]]\ndate = \"{date}\"\nname = \"test holiday\"\n\
             moves_if_weekend = {moves_if_weekend}\nsource = \"test\"\nverified = true\n"
        )
    }

    fn transfer_toml(date: &str, working: bool) -> String {
        format!("[[transfer]]\ndate = \"{date}\"\nworking = {working}\nsource = \"test\"\nverified = true\n")
    }

    fn file(name: &str, text: String) -> (String, String) {
        (name.to_string(), text)
    }

    fn load_error(files: &[(String, String)]) -> String {
        Calendar::from_files(files)
            .expect_err("the data is invalid")
            .to_string()
    }

    /// A fresh directory under the system's temporary directory, removed by the caller.
    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("hearwatch-calendar-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("the temporary directory can be created");
        dir
    }

    #[test]
    fn builtin_loads_2023_to_2026() {
        assert_eq!(cal().years(), vec![2023, 2024, 2025, 2026]);
    }

    #[test]
    fn builtin_embeds_every_data_file() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/calendar");
        let mut on_disk: Vec<String> = fs::read_dir(dir)
            .expect("data/calendar exists")
            .map(|entry| {
                entry
                    .expect("a directory entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|name| name.ends_with(".toml"))
            .map(|name| format!("data/calendar/{name}"))
            .collect();
        on_disk.sort();
        let embedded: Vec<String> = BUILTIN.iter().map(|(name, _)| name.to_string()).collect();
        assert_eq!(embedded, on_disk);
    }

    #[test]
    fn weekend_holiday_moves_to_the_next_weekday() {
        // Each holiday falls on a Saturday or Sunday and the following Monday is free:
        // Sun 7 May 2023 → Mon 8 May; Sat 16 Dec 2023 → Mon 18 Dec;
        // Sat 6 Jul 2024 → Mon 8 Jul; Sat 8 Mar 2025 → Mon 10 Mar; Sun 6 Jul 2025 → Mon 7 Jul;
        // Sat 30 Aug 2025 → Mon 1 Sep; Sat 25 Oct 2025 → Mon 27 Oct; Sun 8 Mar 2026 → Mon 9 Mar;
        // Sat 9 May 2026 → Mon 11 May; Sun 25 Oct 2026 → Mon 26 Oct.
        let cases = [
            (d(2023, 5, 7), d(2023, 5, 8), "День защитника Отечества"),
            (d(2023, 12, 16), d(2023, 12, 18), "День Независимости"),
            (d(2024, 7, 6), d(2024, 7, 8), "День Столицы"),
            (d(2025, 3, 8), d(2025, 3, 10), "Международный женский день"),
            (d(2025, 7, 6), d(2025, 7, 7), "День Столицы"),
            (
                d(2025, 8, 30),
                d(2025, 9, 1),
                "День Конституции Республики Казахстан",
            ),
            (d(2025, 10, 25), d(2025, 10, 27), "День Республики"),
            (d(2026, 3, 8), d(2026, 3, 9), "Международный женский день"),
            (d(2026, 5, 9), d(2026, 5, 11), "День Победы"),
            (d(2026, 10, 25), d(2026, 10, 26), "День Республики"),
        ];
        for (from, to, name) in cases {
            assert_holiday(from, name);
            assert_moved(to, from, name);
        }
    }

    #[test]
    fn moved_holiday_skips_holidays_and_earlier_moved_days() {
        // Sun 1 Jan 2023: Mon 2 Jan is itself a holiday → Tue 3 Jan.
        assert_moved(d(2023, 1, 3), d(2023, 1, 1), "Новый год");
        // Sat 23 Mar 2024: Sun 24 is a weekend day → Mon 25 Mar.
        assert_moved(d(2024, 3, 25), d(2024, 3, 23), "Наурыз мейрамы");
        // Sat 22 Mar 2025 → Mon 24; Sun 23 Mar 2025: Mon 24 already moved → Tue 25.
        assert_moved(d(2025, 3, 24), d(2025, 3, 22), "Наурыз мейрамы");
        assert_moved(d(2025, 3, 25), d(2025, 3, 23), "Наурыз мейрамы");
        // Sat 21 Mar 2026: Sun 22 weekend, Mon 23 holiday → Tue 24;
        // Sun 22 Mar 2026: Mon 23 holiday, Tue 24 already moved → Wed 25.
        assert_holiday(d(2026, 3, 23), "Наурыз мейрамы");
        assert_moved(d(2026, 3, 24), d(2026, 3, 21), "Наурыз мейрамы");
        assert_moved(d(2026, 3, 25), d(2026, 3, 22), "Наурыз мейрамы");
        assert_eq!(cal().is_working_day(d(2026, 3, 26)), Some(true));
    }

    #[test]
    fn christmas_and_kurban_ait_never_move() {
        // Sun 7 Jan 2024 and Sun 16 Jun 2024 stay where they are; the Mondays after work.
        assert_holiday(d(2024, 1, 7), "Православное Рождество");
        assert_holiday(d(2024, 6, 16), "Курбан айт (первый день)");
        assert_eq!(
            kind(d(2024, 1, 8)),
            DayKind::Working(WorkingReason::Weekday)
        );
        assert_eq!(
            kind(d(2024, 6, 17)),
            DayKind::Working(WorkingReason::Weekday)
        );
        // Sat 7 Jan 2023 does not move either: Mon 9 Jan 2023 works.
        assert_eq!(cal().is_working_day(d(2023, 1, 9)), Some(true));
    }

    #[test]
    fn kurban_ait_falls_on_the_reported_dates() {
        for date in [
            d(2023, 6, 28),
            d(2024, 6, 16),
            d(2025, 6, 6),
            d(2026, 5, 27),
        ] {
            assert_holiday(date, "Курбан айт (первый день)");
        }
    }

    #[test]
    fn transfer_makes_a_weekend_day_working() {
        // Sat 1 Jul 2023, Sat 4 May 2024, Sun 5 Jan 2025.
        for date in [d(2023, 7, 1), d(2024, 5, 4), d(2025, 1, 5)] {
            assert!(
                matches!(
                    kind(date),
                    DayKind::Working(WorkingReason::TransferredWorkingDay { .. })
                ),
                "{date} should be a transferred working day"
            );
        }
    }

    #[test]
    fn transfer_makes_a_weekday_a_day_off() {
        // Fri 7 Jul 2023, Wed 8 May 2024, Fri 3 Jan 2025.
        for date in [d(2023, 7, 7), d(2024, 5, 8), d(2025, 1, 3)] {
            assert!(
                matches!(
                    kind(date),
                    DayKind::Off(OffReason::TransferredDayOff { .. })
                ),
                "{date} should be a transferred day off"
            );
        }
    }

    #[test]
    fn august_30_is_no_holiday_from_2026() {
        // Sun 30 Aug 2026 is an ordinary weekend day, so Mon 31 Aug 2026 works.
        assert_eq!(kind(d(2026, 8, 30)), DayKind::Off(OffReason::Weekend));
        assert_eq!(
            kind(d(2026, 8, 31)),
            DayKind::Working(WorkingReason::Weekday)
        );
        assert_holiday(d(2025, 8, 30), "День Конституции Республики Казахстан");
    }

    #[test]
    fn working_days_per_year_match_a_hand_count() {
        // 2023: 260 weekdays; off on weekdays: 11 holidays (2 Jan, 8 Mar, 21–23 Mar, 1 May,
        //   9 May, 28 Jun, 6 Jul, 30 Aug, 25 Oct), 3 moved (3 Jan, 8 May, 18 Dec), 1
        //   transferred (7 Jul); plus Sat 1 Jul: 260 − 15 + 1 = 246.
        // 2024: 262 weekdays; 11 holidays (1–2 Jan, 8 Mar, 21–22 Mar, 1, 7, 9 May, 30 Aug,
        //   25 Oct, 16 Dec), 2 moved (25 Mar, 8 Jul), 1 transferred (8 May); plus Sat 4 May:
        //   262 − 14 + 1 = 249.
        // 2025: 261 weekdays; 9 holidays (1–2 Jan, 7 Jan, 21 Mar, 1, 7, 9 May, 6 Jun, 16 Dec),
        //   6 moved (10, 24, 25 Mar, 7 Jul, 1 Sep, 27 Oct), 1 transferred (3 Jan); plus
        //   Sun 5 Jan: 261 − 16 + 1 = 246.
        // 2026: 261 weekdays; 9 holidays (1–2 Jan, 7 Jan, 23 Mar, 1, 7 May, 27 May, 6 Jul,
        //   16 Dec), 5 moved (9, 24, 25 Mar, 11 May, 26 Oct): 261 − 14 = 247.
        for (year, expected) in [(2023, 246), (2024, 249), (2025, 246), (2026, 247)] {
            let working = days_of(year).filter(|&date| cal().is_working_day(date) == Some(true));
            assert_eq!(working.count(), expected, "working days in {year}");
        }
    }

    #[test]
    fn nth_working_day_crosses_a_month_boundary() {
        // Thu 30 Jan 2025: Fri 31 Jan (1), Sat–Sun, Mon 3 Feb (2).
        assert_eq!(
            cal().nth_working_day_after(d(2025, 1, 30), 2),
            Some(d(2025, 2, 3))
        );
        // Fri 28 Feb 2025: Sat 1–Sun 2 Mar, Mon 3 Mar (1).
        assert_eq!(
            cal().nth_working_day_after(d(2025, 2, 28), 1),
            Some(d(2025, 3, 3))
        );
    }

    #[test]
    fn nth_working_day_skips_a_holiday_block() {
        // Wed 30 Apr 2025: Thu 1 May holiday, Fri 2 May (1).
        assert_eq!(
            cal().nth_working_day_after(d(2025, 4, 30), 1),
            Some(d(2025, 5, 2))
        );
        // Tue 6 May 2025: 7 May holiday, Thu 8 May (1), 9 May holiday, 10–11 weekend,
        // Mon 12 (2), Tue 13 (3), Wed 14 (4).
        assert_eq!(
            cal().nth_working_day_after(d(2025, 5, 6), 4),
            Some(d(2025, 5, 14))
        );
        // Fri 20 Mar 2026: 21–22 weekend, 23 holiday, 24–25 moved, Thu 26 Mar (1).
        assert_eq!(
            cal().nth_working_day_after(d(2026, 3, 20), 1),
            Some(d(2026, 3, 26))
        );
    }

    #[test]
    fn nth_working_day_crosses_into_the_next_year() {
        // Wed 31 Dec 2025: 1–2 Jan 2026 holidays, 3–4 weekend, Mon 5 Jan (1), Tue 6 Jan (2),
        // 7 Jan holiday, Thu 8 Jan (3).
        assert_eq!(
            cal().nth_working_day_after(d(2025, 12, 31), 1),
            Some(d(2026, 1, 5))
        );
        assert_eq!(
            cal().nth_working_day_after(d(2025, 12, 31), 3),
            Some(d(2026, 1, 8))
        );
        // Fri 29 Dec 2023: 30–31 Dec weekend, 1–2 Jan 2024 holidays, Wed 3 Jan (1).
        assert_eq!(
            cal().nth_working_day_after(d(2023, 12, 29), 1),
            Some(d(2024, 1, 3))
        );
    }

    #[test]
    fn nth_working_day_needing_a_year_without_file_is_none() {
        // Wed 30 Dec 2026: Thu 31 Dec (1); the 2nd would be in 2027, which has no file.
        assert_eq!(
            cal().nth_working_day_after(d(2026, 12, 30), 1),
            Some(d(2026, 12, 31))
        );
        assert_eq!(cal().nth_working_day_after(d(2026, 12, 30), 2), None);
        assert_eq!(cal().nth_working_day_after(d(2022, 12, 30), 1), None);
        // Sat 31 Dec 2022 needs no day of 2022: Sun 1 Jan 2023 and Mon 2 Jan are holidays,
        // Tue 3 Jan the day 1 January moved to; Wed 4 Jan is the 1st working day.
        assert_eq!(
            cal().nth_working_day_after(d(2022, 12, 31), 1),
            Some(d(2023, 1, 4))
        );
        assert_eq!(cal().is_working_day(d(2027, 1, 4)), None);
        assert_eq!(cal().day(d(2022, 6, 1)), None);
    }

    #[test]
    fn zero_working_days_after_a_date_is_the_date_itself() {
        assert_eq!(
            cal().nth_working_day_after(d(2025, 5, 9), 0),
            Some(d(2025, 5, 9))
        );
        assert_eq!(cal().nth_working_day_after(d(2027, 5, 9), 0), None);
    }

    #[test]
    fn bad_date_names_the_file_and_the_entry() {
        let text = format!(
            "year = 2025\n{}{}{}",
            holiday_toml("2025-01-01", true),
            holiday_toml("2025-01-02", true),
            holiday_toml("2025-02-30", true)
        );
        assert_eq!(
            load_error(&[file("data/calendar/2025.toml", text)]),
            "data/calendar/2025.toml: holiday 3: date 2025-02-30 is not a date"
        );
    }

    #[test]
    fn date_outside_the_year_is_rejected() {
        let text = format!("year = 2025\n{}", holiday_toml("2024-03-08", true));
        assert_eq!(
            load_error(&[file("2025.toml", text)]),
            "2025.toml: holiday 1: date 2024-03-08 is outside year 2025"
        );
    }

    #[test]
    fn date_used_twice_is_rejected() {
        let text = format!(
            "year = 2025\n{}{}",
            holiday_toml("2025-03-21", true),
            transfer_toml("2025-03-21", false)
        );
        assert_eq!(
            load_error(&[file("2025.toml", text)]),
            "2025.toml: transfer 1: date 2025-03-21 is already used by holiday 1"
        );
    }

    #[test]
    fn year_must_match_the_file_name() {
        let text = format!("year = 2024\n{}", holiday_toml("2024-03-08", true));
        assert_eq!(
            load_error(&[file("data/calendar/2025.toml", text)]),
            "data/calendar/2025.toml: year 2024 does not match the file name, which must be 2024.toml"
        );
    }

    #[test]
    fn same_year_from_two_files_is_rejected() {
        let text = format!("year = 2025\n{}", holiday_toml("2025-03-08", true));
        let files = [file("a/2025.toml", text.clone()), file("b/2025.toml", text)];
        assert_eq!(
            load_error(&files),
            "b/2025.toml: year 2025 is already loaded from a/2025.toml"
        );
    }

    #[test]
    fn transfer_turns_only_a_weekend_into_work_and_only_a_weekday_into_rest() {
        // Mon 6 Jan 2025 cannot be made a working day; Sun 5 Jan 2025 cannot be made a day off.
        let working_monday = format!(
            "year = 2025\nholiday = []\n{}",
            transfer_toml("2025-01-06", true)
        );
        assert_eq!(
            load_error(&[file("2025.toml", working_monday)]),
            "2025.toml: transfer 1: working = true needs a Saturday or Sunday, \
             but 2025-01-06 is a Monday"
        );
        let resting_sunday = format!(
            "year = 2025\nholiday = []\n{}",
            transfer_toml("2025-01-05", false)
        );
        assert_eq!(
            load_error(&[file("2025.toml", resting_sunday)]),
            "2025.toml: transfer 1: working = false needs a weekday, but 2025-01-05 is a Sunday"
        );
    }

    #[test]
    fn unknown_field_is_rejected_with_the_file_name() {
        let text = "year = 2025\n[[holiday]]\ndate = \"2025-03-08\"\nname = \"x\"\n\
                    moves_if_weekened = true\nsource = \"test\"\nverified = true\n";
        let message = load_error(&[file("2025.toml", text.to_string())]);
        assert!(message.starts_with("2025.toml: "), "{message}");
        assert!(message.contains("moves_if_weekened"), "{message}");
    }

    #[test]
    fn weekend_holiday_without_a_weekday_left_in_the_year_is_rejected() {
        // Sun 31 Dec 2023 would move to Mon 1 Jan 2024, outside the file's year.
        let text = format!("year = 2023\n{}", holiday_toml("2023-12-31", true));
        assert_eq!(
            load_error(&[file("2023.toml", text)]),
            "2023.toml: holiday 1: 2023-12-31 falls on a weekend and no weekday is left in 2023 \
             to move it to"
        );
    }

    #[test]
    fn moved_holiday_skips_a_transferred_day_off_and_a_working_weekend_day() {
        // Sat 8 Mar 2025 moves; Sun 9 Mar is made a working day (not a plain weekday) and
        // Mon 10 Mar a day off by transfer, so the moved day is Tue 11 Mar and both days
        // off are kept.
        let text = format!(
            "year = 2025\n{}{}{}",
            holiday_toml("2025-03-08", true),
            transfer_toml("2025-03-09", true),
            transfer_toml("2025-03-10", false)
        );
        let calendar = Calendar::from_files(&[file("2025.toml", text)]).expect("valid data");
        let moved = OffReason::MovedHoliday {
            name: "test holiday".to_string(),
            from: d(2025, 3, 8),
        };
        assert_eq!(
            calendar.day(d(2025, 3, 11)).map(|day| day.kind),
            Some(DayKind::Off(moved))
        );
        assert_eq!(calendar.is_working_day(d(2025, 3, 9)), Some(true));
        assert_eq!(calendar.is_working_day(d(2025, 3, 10)), Some(false));
    }

    #[test]
    fn with_dir_adds_a_year() {
        let dir = temp_dir("adds");
        let text = "year = 2027\n[[holiday]]\ndate = \"2027-03-15\"\nname = \"15 March (reported)\"\n\
                    moves_if_weekend = true\nsource = \"taspanews.kz (March 2026)\"\nverified = false\n";
        fs::write(dir.join("2027.toml"), text).expect("the fixture can be written");
        fs::write(dir.join("notes.txt"), "not a calendar").expect("the fixture can be written");
        let calendar = Calendar::builtin().with_dir(&dir);
        fs::remove_dir_all(&dir).expect("the fixture can be removed");
        let calendar = calendar.expect("the directory loads");

        assert_eq!(calendar.years(), vec![2023, 2024, 2025, 2026, 2027]);
        // Wed 30 Dec 2026: Thu 31 Dec (1), Fri 1 Jan 2027 (2): the 2027 file has no New Year.
        assert_eq!(
            calendar.nth_working_day_after(d(2026, 12, 30), 2),
            Some(d(2027, 1, 1))
        );
        let holiday = DayKind::Off(OffReason::Holiday {
            name: "15 March (reported)".to_string(),
            source: "taspanews.kz (March 2026)".to_string(),
            verified: false,
        });
        assert_eq!(
            calendar.day(d(2027, 3, 15)).map(|day| day.kind),
            Some(holiday)
        );
    }

    #[test]
    fn with_dir_replaces_a_builtin_year() {
        // A corrected 2026 where 30 August is a holiday again: Sun 30 Aug → Mon 31 Aug.
        let dir = temp_dir("replaces");
        let text = format!("year = 2026\n{}", holiday_toml("2026-08-30", true));
        fs::write(dir.join("2026.toml"), text).expect("the fixture can be written");
        let calendar = Calendar::builtin().with_dir(&dir);
        fs::remove_dir_all(&dir).expect("the fixture can be removed");
        let calendar = calendar.expect("the directory loads");

        assert_eq!(calendar.is_working_day(d(2026, 8, 31)), Some(false));
        assert_eq!(
            calendar.is_working_day(d(2026, 1, 1)),
            Some(true),
            "the file replaces 2026"
        );
        assert_ne!(calendar.fingerprint(), Calendar::builtin().fingerprint());
    }

    #[test]
    fn with_dir_reports_a_missing_directory() {
        let dir = std::env::temp_dir().join("hearwatch-calendar-no-such-directory");
        let error = Calendar::builtin()
            .with_dir(&dir)
            .expect_err("the directory is missing");
        assert!(matches!(error, CalendarError::Read { .. }), "{error}");
    }

    #[test]
    fn fingerprint_ignores_entry_order_and_notices_edits() {
        let (a, b) = (
            holiday_toml("2025-03-08", true),
            holiday_toml("2025-05-01", true),
        );
        let load = |text: String| Calendar::from_files(&[file("2025.toml", text)]).expect("valid");
        let one_order = load(format!("year = 2025\n{a}{b}")).fingerprint();
        let other_order = load(format!("year = 2025\n{b}{a}")).fingerprint();
        let edited = load(format!(
            "year = 2025\n{a}{}",
            b.replace("verified = true", "verified = false")
        ));
        assert_eq!(one_order, other_order);
        assert_ne!(one_order, edited.fingerprint());
        assert_eq!(Calendar::builtin().fingerprint(), cal().fingerprint());
    }

    #[test]
    fn fingerprint_hash_is_fnv1a_64() {
        // Published FNV-1a 64 test vectors.
        for (input, expected) in [
            ("", 0xcbf2_9ce4_8422_2325_u64),
            ("a", 0xaf63_dc4c_8601_ec8c),
            ("foobar", 0x8594_4171_f739_67e8),
        ] {
            let mut hash = Fnv1a::new();
            hash.bytes(input.as_bytes());
            assert_eq!(hash.finish(), expected, "{input:?}");
        }
    }

    #[test]
    fn calendar_is_clone_debug_send_sync() {
        fn check<T: Clone + fmt::Debug + Send + Sync>() {}
        check::<Calendar>();
    }

    /// The n-th working day after `date` found by walking day by day, or `None` when the
    /// walk reaches a year without a file first.
    fn walk(calendar: &Calendar, date: NaiveDate, n: u32) -> Option<NaiveDate> {
        let (mut day, mut found) = (date, 0);
        while found < n {
            day = day.succ_opt()?;
            found += u32::from(calendar.is_working_day(day)?);
        }
        Some(day)
    }

    proptest! {
        #[test]
        fn nth_working_day_after_agrees_with_a_day_by_day_walk(offset in 0u64..1461, n in 1u32..10) {
            let date = d(2023, 1, 1) + chrono::Days::new(offset);
            let found = cal().nth_working_day_after(date, n);
            prop_assert_eq!(found, walk(cal(), date, n));
            if let Some(found) = found {
                prop_assert!(found > date);
                prop_assert_eq!(cal().is_working_day(found), Some(true));
                let between = date.iter_days().skip(1).take_while(|&day| day < found);
                let working = between.filter(|&day| cal().is_working_day(day) == Some(true));
                prop_assert_eq!(working.count(), n as usize - 1);
            }
        }
    }
}
