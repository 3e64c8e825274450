//! Scenarios: deterministic sets of events, written as the input contract's JSON.
//!
//! `may-2025` rebuilds the month of the ministry's seed report. Its composition (how many
//! hearings of each kind each region had) is read off the seed's tables; every date,
//! deadline and verdict then comes from the calendar and the rules, so replaying the events
//! reproduces the tables only if the engine applies the rules as the ministry does.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use serde_json::{json, Map, Value};

use crate::calendar::Calendar;
use crate::region::{Channel, Document, Form, Region};

/// How many hearings of a region and form show each trait in the month.
///
/// `announcements` and `protocols` are the hearings whose document first appears on the
/// information system in the month; the other fields count violations, each made by one
/// hearing of those (or, for `protocol_missing_information_system`, by an extra hearing
/// whose protocol appears on the body's website only).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mix {
    pub announcements: u32,
    pub protocols: u32,
    pub section_mismatch: u32,
    pub announcement_missing: u32,
    pub announcement_backdated: u32,
    pub announcement_late: u32,
    pub announcement_short_notice: u32,
    pub announcement_undated: u32,
    pub protocol_backdated: u32,
    pub protocol_undated: u32,
    pub protocol_no_recording: u32,
    pub protocol_missing_mio_website: u32,
    pub protocol_missing_information_system: u32,
    pub protocol_late: u32,
}

/// Table 1 of the seed report, as each region's open-meeting mix, in report order:
/// announcements, protocols, section, announcement missing/backdated/late/short/undated,
/// protocol backdated/undated/no recording/missing on the website/missing on the portal/late.
const MAY_2025_OPEN_MEETINGS: [[u32; 14]; 20] = [
    [4, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    [5, 0, 0, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0],
    [35, 22, 0, 0, 0, 4, 0, 0, 0, 1, 0, 2, 0, 0],
    [17, 15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    [11, 9, 0, 11, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0],
    [25, 13, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0],
    [16, 10, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0],
    [23, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0],
    [23, 15, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    [28, 19, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    [15, 19, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    [11, 25, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0],
    [18, 19, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0],
    [16, 10, 0, 0, 0, 3, 0, 0, 0, 10, 0, 0, 0, 0],
    [5, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    [12, 20, 0, 0, 0, 1, 0, 0, 0, 7, 0, 1, 1, 0],
    [9, 8, 0, 0, 0, 1, 0, 0, 0, 8, 0, 0, 0, 0],
    [9, 11, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0],
    [15, 14, 0, 15, 0, 0, 0, 0, 0, 1, 0, 11, 0, 0],
    [12, 2, 0, 12, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0],
];

/// Table 2 of the seed report, as each region's public-discussion mix, in report order:
/// announcements, protocols on the portal, protocol backdated/undated, missing on the
/// portal, missing on the website, late.
const MAY_2025_PUBLIC_DISCUSSIONS: [[u32; 7]; 20] = [
    [26, 26, 0, 0, 0, 0, 0],
    [22, 22, 0, 0, 0, 0, 22],
    [23, 23, 0, 0, 0, 0, 0],
    [18, 18, 0, 0, 0, 0, 0],
    [30, 5, 0, 0, 25, 30, 1],
    [15, 15, 0, 0, 0, 0, 0],
    [11, 11, 0, 0, 0, 0, 0],
    [2, 2, 0, 0, 0, 0, 0],
    [10, 10, 0, 0, 0, 0, 0],
    [19, 19, 0, 0, 0, 0, 0],
    [17, 17, 0, 0, 0, 0, 0],
    [6, 6, 0, 0, 0, 0, 0],
    [8, 8, 0, 0, 0, 0, 0],
    [8, 8, 0, 0, 0, 0, 0],
    [9, 9, 0, 0, 0, 0, 0],
    [29, 29, 0, 0, 0, 0, 0],
    [13, 13, 0, 0, 0, 0, 0],
    [13, 13, 0, 0, 0, 0, 0],
    [3, 3, 0, 0, 0, 0, 0],
    [14, 14, 0, 0, 0, 14, 1],
];

impl Mix {
    fn open_meeting(m: [u32; 14]) -> Mix {
        Mix {
            announcements: m[0],
            protocols: m[1],
            section_mismatch: m[2],
            announcement_missing: m[3],
            announcement_backdated: m[4],
            announcement_late: m[5],
            announcement_short_notice: m[6],
            announcement_undated: m[7],
            protocol_backdated: m[8],
            protocol_undated: m[9],
            protocol_no_recording: m[10],
            protocol_missing_mio_website: m[11],
            protocol_missing_information_system: m[12],
            protocol_late: m[13],
        }
    }

    fn public_discussion(m: [u32; 7]) -> Mix {
        Mix {
            announcements: m[0],
            protocols: m[1],
            protocol_backdated: m[2],
            protocol_undated: m[3],
            protocol_missing_information_system: m[4],
            protocol_missing_mio_website: m[5],
            protocol_late: m[6],
            ..Mix::default()
        }
    }
}

/// A scenario that cannot be generated.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("unknown scenario {0:?} (known: may-2025, national)")]
    Unknown(String),
    #[error(
        "the may-2025 scenario is fixed by the seed report; --hearings applies to national only"
    )]
    FixedSize,
    #[error("the calendar has no data for {0}: the scenario needs it")]
    Calendar(NaiveDate),
}

/// The names of the scenarios [`generate`] knows.
pub const SCENARIOS: &[&str] = &["may-2025", "national"];

/// Hearings of the `national` scenario when none are asked for: about a year's worth.
pub const NATIONAL_DEFAULT_HEARINGS: u32 = 10_000;

/// The events of a named scenario as NDJSON lines, in the order they occurred.
/// `hearings` sizes the `national` scenario.
pub fn generate(
    name: &str,
    calendar: &Calendar,
    seed: u64,
    hearings: Option<u32>,
) -> Result<Vec<String>, ScenarioError> {
    match (name, hearings) {
        ("may-2025", None) => may_2025(calendar, seed),
        ("may-2025", Some(_)) => Err(ScenarioError::FixedSize),
        ("national", n) => national(calendar, seed, n.unwrap_or(NATIONAL_DEFAULT_HEARINGS)),
        (other, _) => Err(ScenarioError::Unknown(other.to_string())),
    }
}

/// The May 2025 month of the seed report.
pub fn may_2025(calendar: &Calendar, seed: u64) -> Result<Vec<String>, ScenarioError> {
    let month = NaiveDate::from_ymd_opt(2025, 5, 1).expect("a date");
    let horizon = NaiveDate::from_ymd_opt(2025, 6, 30).expect("a date");
    let mut writer = Writer::new(calendar, seed, horizon);
    for (i, region) in Region::all().enumerate() {
        let open = Mix::open_meeting(MAY_2025_OPEN_MEETINGS[i]);
        let discussions = Mix::public_discussion(MAY_2025_PUBLIC_DISCUSSIONS[i]);
        writer.month(region, Form::OpenMeeting, &open, month)?;
        writer.month(region, Form::PublicDiscussion, &discussions, month)?;
    }
    Ok(writer.finish())
}

/// A year (2025) of hearings across the country, for load, fault and benchmark runs.
///
/// Each hearing is a random region and form with a receipt on a working day; most
/// documents appear on time on both channels, and a few are late, missing, undated,
/// backdated, filed in the wrong section or without a recording; some hearings are
/// rescheduled, cancelled or held a day late, and 1% of events arrive twice. About 5.3
/// events per hearing: 190,000 hearings make a million events.
pub fn national(
    calendar: &Calendar,
    seed: u64,
    hearings: u32,
) -> Result<Vec<String>, ScenarioError> {
    let day = |m, d| NaiveDate::from_ymd_opt(2025, m, d).expect("a date");
    let mut writer = Writer::new(calendar, seed, day(12, 31));
    writer.duplicate_percent = 1;
    let mut receipts = Vec::new();
    for d in day(1, 6).iter_days().take_while(|d| *d <= day(11, 28)) {
        if calendar
            .is_working_day(d)
            .ok_or(ScenarioError::Calendar(d))?
        {
            receipts.push(d);
        }
    }
    let regions: Vec<Region> = Region::all().collect();
    for _ in 0..hearings {
        let region = regions[writer.rng.below(regions.len() as u64) as usize];
        let form = if writer.rng.below(2) == 0 {
            Form::OpenMeeting
        } else {
            Form::PublicDiscussion
        };
        let receipt = receipts[writer.rng.below(receipts.len() as u64) as usize];
        writer.national_hearing(region, form, receipt)?;
    }
    Ok(writer.finish())
}

impl Writer<'_> {
    fn chance(&mut self, percent: u64) -> bool {
        self.rng.below(100) < percent
    }

    /// On time, late or missing, with these percentages of late and missing.
    fn fate(&mut self, late: u64, missing: u64) -> Fate {
        match self.rng.below(100) {
            r if r < missing => Fate::Missing,
            r if r < missing + late => Fate::Late,
            _ => Fate::OnTime,
        }
    }

    fn flaws(&mut self, document: Document, form: Form) -> Flaws {
        Flaws {
            undated: self.chance(2),
            backdated: self.chance(1),
            wrong_section: self.chance(1),
            no_recording: document == Document::Protocol
                && form == Form::OpenMeeting
                && self.chance(2),
        }
    }

    /// Publishes a document on both channels: on time by `last`, late after it, or not.
    fn publish_by(&mut self, h: &HearingRef, document: Document, from: NaiveDate, last: NaiveDate) {
        for channel in Channel::ALL {
            let day = match self.fate(4, 3) {
                Fate::Missing => continue,
                Fate::OnTime => from.max(last - Duration::days(self.rng.below(2) as i64)),
                Fate::Late => last + Duration::days(1 + self.rng.below(5) as i64),
            };
            if day > self.horizon {
                continue;
            }
            let when = at(day, 9 + self.rng.below(9) as u32, self.rng.below(60) as u32);
            let flaws = self.flaws(document, h.form);
            self.publish(h, document, *channel, when, flaws);
        }
    }

    fn national_hearing(
        &mut self,
        region: Region,
        form: Form,
        receipt: NaiveDate,
    ) -> Result<(), ScenarioError> {
        let h = self.hearing(region, form);
        let notice = if self.chance(2) {
            20
        } else {
            32 + self.rng.below(30) as i64
        };
        let mut hearing_on = receipt + Duration::days(notice);
        let received = at(
            receipt,
            9 + self.rng.below(8) as u32,
            self.rng.below(60) as u32,
        );
        self.application(&h, received, hearing_on);
        let last = self.nth(receipt, 1)?;
        self.publish_by(&h, Document::Announcement, receipt, last);
        if self.chance(5) {
            hearing_on += Duration::days(7 + self.rng.below(14) as i64);
            self.rescheduled(&h, at(receipt + Duration::days(7), 12, 0), hearing_on);
        }
        if self.chance(2) {
            self.push(
                &h,
                "hearing_cancelled",
                at(receipt + Duration::days(10), 12, 0),
                "ecoportal",
                Map::new(),
            );
            return Ok(());
        }
        let base = if form == Form::OpenMeeting {
            let held_on = hearing_on + Duration::days(self.chance(5) as i64);
            if held_on > self.horizon {
                return Ok(());
            }
            self.held(&h, held_on);
            held_on
        } else {
            hearing_on
        };
        let last = self.nth(base, 4)?;
        let first = self.nth(base, 1)?;
        self.publish_by(&h, Document::Protocol, first, last);
        Ok(())
    }

    fn rescheduled(&mut self, h: &HearingRef, when: NaiveDateTime, hearing_on: NaiveDate) {
        let fields = h.date_fields(hearing_on);
        self.push(h, "hearing_rescheduled", when, "ecoportal", fields);
    }
}

/// A small deterministic generator (SplitMix64), so scenarios need no dependency.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// How a document fares on one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    OnTime,
    Late,
    Missing,
}

/// How a published document is dated and filed.
#[derive(Debug, Clone, Copy, Default)]
struct Flaws {
    backdated: bool,
    undated: bool,
    wrong_section: bool,
    no_recording: bool,
}

/// Collects events as NDJSON lines, each with its instant and id for ordering.
struct Writer<'a> {
    calendar: &'a Calendar,
    rng: SplitMix64,
    events: Vec<(i64, String, String)>,
    /// No event occurs after this local date.
    horizon: NaiveDate,
    serial: u32,
    /// Percent of events sent a second time, later, as a retrying source would.
    duplicate_percent: u64,
}

impl<'a> Writer<'a> {
    fn new(calendar: &'a Calendar, seed: u64, horizon: NaiveDate) -> Writer<'a> {
        Writer {
            calendar,
            rng: SplitMix64(seed),
            events: Vec::new(),
            horizon,
            serial: 0,
            duplicate_percent: 0,
        }
    }

    /// The lines in the order the events occurred (ties by event id).
    fn finish(mut self) -> Vec<String> {
        self.events
            .sort_unstable_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        self.events.into_iter().map(|(_, _, line)| line).collect()
    }

    /// The hearings of one region and form for a month: those announced in it, and those
    /// whose protocols are due in it.
    fn month(
        &mut self,
        region: Region,
        form: Form,
        mix: &Mix,
        month: NaiveDate,
    ) -> Result<(), ScenarioError> {
        let receipts = self.working_days(month, 2, 27)?;
        for i in 0..mix.announcements {
            let receipt = receipts[i as usize % receipts.len()];
            self.announced_in_month(region, form, mix, i, receipt)?;
        }
        let bases = self.working_days(month, 2, 21)?;
        let hearings = mix.protocols + mix.protocol_missing_information_system;
        let fates = protocol_fates(mix);
        for j in 0..hearings {
            let base = bases[j as usize % bases.len()];
            self.protocol_in_month(region, form, base, fates[j as usize])?;
        }
        Ok(())
    }

    /// A hearing whose application arrives in the month and whose announcement follows.
    fn announced_in_month(
        &mut self,
        region: Region,
        form: Form,
        mix: &Mix,
        i: u32,
        receipt: NaiveDate,
    ) -> Result<(), ScenarioError> {
        let h = self.hearing(region, form);
        let short = i < mix.announcement_short_notice;
        let hearing_on = receipt
            + Duration::days(if short {
                21
            } else {
                35 + self.rng.below(10) as i64
            });
        let received = at(receipt, 9, self.rng.below(60) as u32);
        self.application(&h, received, hearing_on);
        let deadline = self.nth(receipt, 1)?;
        let portal = Flaws {
            backdated: i < mix.announcement_backdated,
            undated: i >= mix.announcement_backdated
                && i < mix.announcement_backdated + mix.announcement_undated,
            wrong_section: i < mix.section_mismatch,
            no_recording: false,
        };
        self.publish(
            &h,
            Document::Announcement,
            Channel::InformationSystem,
            at(receipt, 11, 0),
            portal,
        );
        let website = if i < mix.announcement_missing {
            Fate::Missing
        } else if i < mix.announcement_missing + mix.announcement_late {
            Fate::Late
        } else {
            Fate::OnTime
        };
        match website {
            Fate::Missing => {}
            Fate::Late => self.publish(
                &h,
                Document::Announcement,
                Channel::MioWebsite,
                at(deadline + Duration::days(1), 10, 30),
                Flaws::default(),
            ),
            Fate::OnTime => {
                let when = at(receipt, 15, self.rng.below(60) as u32);
                self.publish(
                    &h,
                    Document::Announcement,
                    Channel::MioWebsite,
                    when,
                    Flaws::default(),
                )
            }
        }
        self.protocols_on_their_last_day(&h, hearing_on)
    }

    /// Publishes both protocols of a hearing on the last day allowed, if that day falls
    /// before the scenario's horizon.
    fn protocols_on_their_last_day(
        &mut self,
        h: &HearingRef,
        hearing_on: NaiveDate,
    ) -> Result<(), ScenarioError> {
        let last = self.nth(hearing_on, 4)?;
        if last > self.horizon {
            return Ok(());
        }
        if h.form == Form::OpenMeeting {
            self.held(h, hearing_on);
        }
        for channel in Channel::ALL {
            self.publish(
                h,
                Document::Protocol,
                *channel,
                at(last, 12, 0),
                Flaws::default(),
            );
        }
        Ok(())
    }

    /// A hearing announced earlier whose protocol deadline falls in the month.
    fn protocol_in_month(
        &mut self,
        region: Region,
        form: Form,
        base: NaiveDate,
        fate: ProtocolFate,
    ) -> Result<(), ScenarioError> {
        let h = self.hearing(region, form);
        let receipt = self.previous_working_day(base - Duration::days(45))?;
        self.application(&h, at(receipt, 10, 0), base);
        for channel in Channel::ALL {
            self.publish(
                &h,
                Document::Announcement,
                *channel,
                at(receipt, 16, 0),
                Flaws::default(),
            );
        }
        if form == Form::OpenMeeting {
            self.held(&h, base);
        }
        let on_time = self.nth(base, 1)?;
        let late = self.nth(base, 4)? + Duration::days(1);
        for (channel, channel_fate, flaws) in [
            (Channel::InformationSystem, fate.portal, fate.flaws),
            (Channel::MioWebsite, fate.website, Flaws::default()),
        ] {
            let day = match channel_fate {
                Fate::Missing => continue,
                Fate::OnTime => on_time,
                Fate::Late => late,
            };
            let when = at(day, 14, self.rng.below(60) as u32);
            self.publish(&h, Document::Protocol, channel, when, flaws);
        }
        Ok(())
    }

    fn hearing(&mut self, region: Region, form: Form) -> HearingRef {
        self.serial += 1;
        let tag = match form {
            Form::OpenMeeting => "OM",
            Form::PublicDiscussion => "PD",
        };
        HearingRef {
            id: format!("{}-{tag}-2025-{:04}", region.code(), self.serial),
            region,
            form,
        }
    }

    fn application(&mut self, h: &HearingRef, received: NaiveDateTime, hearing_on: NaiveDate) {
        let fields = h.date_fields(hearing_on);
        self.push(h, "application_received", received, "ecoportal", fields);
    }

    fn held(&mut self, h: &HearingRef, held_on: NaiveDate) {
        let mut fields = Map::new();
        fields.insert("held_on".into(), held_on.to_string().into());
        self.push(h, "hearing_held", at(held_on, 18, 0), "ecoportal", fields);
    }

    fn publish(
        &mut self,
        h: &HearingRef,
        document: Document,
        channel: Channel,
        when: NaiveDateTime,
        flaws: Flaws,
    ) {
        let published_on = when.date();
        let declared_on = if flaws.undated {
            Value::Null
        } else if flaws.backdated {
            (published_on - Duration::days(3)).to_string().into()
        } else {
            published_on.to_string().into()
        };
        let section = if flaws.wrong_section {
            "news"
        } else {
            "public_hearings"
        };
        let (source, host) = match channel {
            Channel::InformationSystem => ("ecoportal", "ecoportal.kz".to_string()),
            Channel::MioWebsite => (
                "mio-crawler",
                format!("{}.gov.kz", h.region.code().to_lowercase()),
            ),
        };
        let mut fields = Map::new();
        fields.insert("channel".into(), channel.as_str().into());
        fields.insert("declared_on".into(), declared_on);
        fields.insert("section".into(), section.into());
        fields.insert(
            "url".into(),
            format!("https://{host}/hearings/{}/{document}", h.id).into(),
        );
        if document == Document::Protocol && h.form == Form::OpenMeeting {
            fields.insert("has_recording".into(), (!flaws.no_recording).into());
        }
        let type_name = match document {
            Document::Announcement => "announcement_published",
            Document::Protocol => "protocol_published",
        };
        self.push(h, type_name, when, source, fields);
    }

    fn push(
        &mut self,
        h: &HearingRef,
        type_name: &str,
        when: NaiveDateTime,
        source: &str,
        fields: Map<String, Value>,
    ) {
        let event_id = uuid(&mut self.rng);
        let occurred_at = stamp(h.region, when);
        let mut event = json!({
            "event_id": event_id,
            "type": type_name,
            "hearing_id": h.id,
            "region": h.region.code(),
            "form": h.form.as_str(),
            "occurred_at": occurred_at,
            "source": source,
        });
        event.as_object_mut().expect("an object").extend(fields);
        let utc = h
            .region
            .zone()
            .from_local_datetime(&when)
            .earliest()
            .expect("a local time");
        let line = event.to_string();
        if self.duplicate_percent > 0 && self.rng.below(100) < self.duplicate_percent {
            let later = utc.timestamp() + 60 * (1 + self.rng.below(48 * 60)) as i64;
            self.events.push((later, event_id.clone(), line.clone()));
        }
        self.events.push((utc.timestamp(), event_id, line));
    }

    fn nth(&self, date: NaiveDate, n: u32) -> Result<NaiveDate, ScenarioError> {
        self.calendar
            .nth_working_day_after(date, n)
            .ok_or(ScenarioError::Calendar(date))
    }

    /// The working days of a month between two days of it, inclusive.
    fn working_days(
        &self,
        month: NaiveDate,
        from: u32,
        to: u32,
    ) -> Result<Vec<NaiveDate>, ScenarioError> {
        let mut days = Vec::new();
        for d in from..=to {
            let day = month + Duration::days(d as i64 - 1);
            if self
                .calendar
                .is_working_day(day)
                .ok_or(ScenarioError::Calendar(day))?
            {
                days.push(day);
            }
        }
        Ok(days)
    }

    fn previous_working_day(&self, mut day: NaiveDate) -> Result<NaiveDate, ScenarioError> {
        while !self
            .calendar
            .is_working_day(day)
            .ok_or(ScenarioError::Calendar(day))?
        {
            day -= Duration::days(1);
        }
        Ok(day)
    }
}

/// A hearing being written.
struct HearingRef {
    id: String,
    region: Region,
    form: Form,
}

impl HearingRef {
    /// The field that sets the hearing's date, by form: an open meeting's `hearing_at`
    /// (11:00 local on the day), a discussion's `discussion_ends_on`.
    fn date_fields(&self, hearing_on: NaiveDate) -> Map<String, Value> {
        let mut fields = Map::new();
        match self.form {
            Form::OpenMeeting => {
                let at = stamp(self.region, at(hearing_on, 11, 0));
                fields.insert("hearing_at".into(), at.into());
            }
            Form::PublicDiscussion => {
                fields.insert("discussion_ends_on".into(), hearing_on.to_string().into());
            }
        }
        fields
    }
}

/// How the protocol of a hearing fares on each channel.
#[derive(Debug, Clone, Copy)]
struct ProtocolFate {
    portal: Fate,
    website: Fate,
    flaws: Flaws,
}

/// Spreads a mix's protocol traits over its hearings: first those missing on the portal,
/// then the rest; website misses from the first hearing on; lates on the website where the
/// protocol is there, else on the portal; dating flaws on portal copies.
fn protocol_fates(mix: &Mix) -> Vec<ProtocolFate> {
    let n = (mix.protocols + mix.protocol_missing_information_system) as usize;
    let mut fates: Vec<_> = (0..n)
        .map(|j| ProtocolFate {
            portal: if j < mix.protocol_missing_information_system as usize {
                Fate::Missing
            } else {
                Fate::OnTime
            },
            website: if j < mix.protocol_missing_mio_website as usize {
                Fate::Missing
            } else {
                Fate::OnTime
            },
            flaws: Flaws::default(),
        })
        .collect();
    let mut lates = mix.protocol_late;
    for fate in fates.iter_mut().filter(|f| f.website == Fate::OnTime) {
        if lates == 0 {
            break;
        }
        fate.website = Fate::Late;
        lates -= 1;
    }
    for fate in fates.iter_mut().filter(|f| f.portal == Fate::OnTime) {
        if lates == 0 {
            break;
        }
        fate.portal = Fate::Late;
        lates -= 1;
    }
    let mut portal: Vec<_> = fates
        .iter_mut()
        .filter(|f| f.portal != Fate::Missing)
        .collect();
    let mut flaw = |count: u32, set: fn(&mut Flaws)| {
        for fate in portal.iter_mut().take(count as usize) {
            set(&mut fate.flaws);
        }
    };
    flaw(mix.protocol_undated, |f| f.undated = true);
    flaw(mix.protocol_no_recording, |f| f.no_recording = true);
    let mut portal: Vec<_> = fates
        .iter_mut()
        .filter(|f| f.portal != Fate::Missing && !f.flaws.undated)
        .collect();
    for fate in portal.iter_mut().take(mix.protocol_backdated as usize) {
        fate.flaws.backdated = true;
    }
    fates
}

fn at(day: NaiveDate, hour: u32, minute: u32) -> NaiveDateTime {
    day.and_time(NaiveTime::from_hms_opt(hour, minute, 0).expect("a time"))
}

/// An RFC 3339 timestamp of a local time, with the region's offset at that time.
fn stamp(region: Region, local: NaiveDateTime) -> String {
    let t = region
        .zone()
        .from_local_datetime(&local)
        .earliest()
        .expect("a local time");
    t.fixed_offset().to_rfc3339()
}

fn uuid(rng: &mut SplitMix64) -> String {
    let (a, b) = (rng.next(), rng.next());
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0x0fff,
        (b >> 48) & 0x3fff | 0x8000,
        b & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::decode;

    #[test]
    fn the_national_scenario_is_valid_input_with_some_repeats() {
        let calendar = Calendar::builtin();
        let lines = generate("national", &calendar, 7, Some(300)).unwrap();
        let again = generate("national", &calendar, 7, Some(300)).unwrap();
        assert_eq!(lines, again, "the same seed gives the same events");
        let mut ids = std::collections::HashSet::new();
        let mut repeats = 0;
        for line in &lines {
            let event = decode(line.as_bytes(), None).unwrap_or_else(|e| panic!("{e}: {line}"));
            if !ids.insert((event.hearing_id.clone(), event.event_id.clone())) {
                repeats += 1;
            }
        }
        // 1% of events repeat: with about 1,600 events, a handful.
        assert!(
            repeats > 0 && repeats < lines.len() / 20,
            "{repeats} repeats of {}",
            lines.len()
        );
        assert!(lines.iter().all(|l| l.contains("\"occurred_at\":\"2025-")));
    }

    #[test]
    fn may_2025_takes_no_size() {
        let calendar = Calendar::builtin();
        assert!(matches!(
            generate("may-2025", &calendar, 1, Some(5)),
            Err(ScenarioError::FixedSize)
        ));
        assert!(matches!(
            generate("june", &calendar, 1, None),
            Err(ScenarioError::Unknown(_))
        ));
    }
}
